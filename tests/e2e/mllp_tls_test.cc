// End-to-end: HL7 v2 over MLLP with TLS and mutual TLS, against the real binary. Certificates are
// made by the openssl command line once per suite: a CA, the listener's certificate (for the name
// localhost only, so that its address is a name it does not hold), senders' certificates from that
// CA and from another one. A sender that trusts the CA gets its messages acknowledged and stored;
// one that does not trust it, or speaks plain TCP to the TLS port, gets no acknowledgement and the
// listener carries on; with a client CA, only senders with a certificate from it are served.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "connectors/mllp/mllp_client.h"
#include "mappings/hl7v2/er7.h"
#include "server/security/tls.h"
#include "tests/support/http_client.h"
#include "tests/support/mllp_messages.h"
#include "tests/support/server_process.h"
#include "tests/support/test_certificates.h"
#include "tests/support/test_definitions.h"

namespace {

using connectors::mllp::MllpClient;
using server::security::TlsClientOptions;
using server::security::TlsContext;
using testing_support::AckCode;
using testing_support::Adt;
using testing_support::Answer;
using testing_support::Call;
using testing_support::Count;
using testing_support::IssueTestCertificate;
using testing_support::MakeTestAuthorities;
using testing_support::RunCommand;
using testing_support::ServerProcess;
using namespace std::chrono_literals;

class MllpTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char pattern[] = "/tmp/fhirhub-mllp-tls-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    const std::string client = "extendedKeyUsage=clientAuth\n";
    ASSERT_EQ(MakeTestAuthorities(dir_), "");
    ASSERT_EQ(IssueTestCertificate(dir_, "server", "/CN=localhost", "ca",
                                   "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n"),
              "");
    ASSERT_EQ(
        IssueTestCertificate(dir_, "lab", "/C=CN/O=County Hospital/CN=county-lis", "ca", client),
        "");
    ASSERT_EQ(IssueTestCertificate(dir_, "forged", "/C=CN/O=County Hospital/CN=county-lis",
                                   "other-ca", client),
              "");
    std::ofstream(dir_ + "/adt-1.hl7") << Adt("TLS-1", "PAT-TLS-1");
    std::ofstream(dir_ + "/adt-2.hl7") << Adt("TLS-2", "PAT-TLS-2");
  }

  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }

  static std::vector<std::string> ServerArgs(bool client_ca) {
    std::vector<std::string> args = {
        "--fhir-package",
        testing_support::PackageDir().string(),
        "--mappings",
        std::string(FHIRHUB_SOURCE_DIR) + "/mappings/hl7v2/conceptmaps",
        "--mllp-port",
        "0",
        "--mllp-tls-certificate",
        dir_ + "/server.pem",
        "--mllp-tls-private-key",
        dir_ + "/server.key"};
    if (client_ca) args.insert(args.end(), {"--mllp-tls-client-ca", dir_ + "/ca.pem"});
    return args;
  }

  // `fhirhub hl7 send` to the listener at `host` with `options`, sending `file`; returns its exit
  // status.
  static int Send(const ServerProcess& server, const std::string& options, const std::string& file,
                  std::string& output, const std::string& host = "localhost") {
    return RunCommand(std::string(FHIRHUB_BINARY) + " hl7 send --host " + host + " --port " +
                          std::to_string(server.mllp_port()) + " --timeout 10 " + options + " " +
                          dir_ + "/" + file,
                      output);
  }

  static std::string Trust(const std::string& ca) { return "--tls --tls-ca " + dir_ + "/" + ca; }
  static std::string As(const std::string& client) {
    return " --tls-certificate " + dir_ + "/" + client + ".pem --tls-private-key " + dir_ + "/" +
           client + ".key";
  }

  static std::shared_ptr<const TlsContext> ClientTls(const std::string& client = "") {
    TlsClientOptions options{.ca = dir_ + "/ca.pem"};
    if (!client.empty()) {
      options.certificate = dir_ + "/" + client + ".pem";
      options.private_key = dir_ + "/" + client + ".key";
    }
    auto context = TlsContext::Client(options);
    EXPECT_TRUE(context.ok()) << context.error().text();
    return context.ok() ? *context : nullptr;
  }

  static inline std::string dir_;
};

// One server for all that a TLS listener without a client CA does: a server start takes seconds.
TEST_F(MllpTlsTest, ServesSendersThatTrustItAndNoOneElse) {
  ServerProcess server(FHIRHUB_BINARY, ServerArgs(/*client_ca=*/false));
  ASSERT_TRUE(server.ok());
  ASSERT_NE(server.mllp_port(), 0);
  const auto port = static_cast<std::uint16_t>(server.mllp_port());
  std::string output;

  // Plain MLLP on the TLS port gets no acknowledgement.
  {
    auto plain = MllpClient::Connect("localhost", port, 10s);
    ASSERT_TRUE(plain.ok()) << plain.error().text();
    auto ack = (*plain)->Exchange(Adt("PLAIN-1", "PAT-PLAIN-1"));
    EXPECT_FALSE(ack.ok()) << *ack;
  }
  EXPECT_EQ(Send(server, "", "adt-1.hl7", output), 3) << output;
  EXPECT_EQ(output.find("AA"), std::string::npos) << output;

  // A certificate from a CA the sender does not know.
  EXPECT_EQ(Send(server, Trust("other-ca.pem"), "adt-1.hl7", output), 3) << output;
  EXPECT_NE(output.find("TLS handshake with localhost:"), std::string::npos) << output;
  EXPECT_NE(output.find("certificate verify failed"), std::string::npos) << output;
  // The system's trust store does not hold the test CA either.
  EXPECT_EQ(Send(server, "--tls", "adt-1.hl7", output), 3) << output;
  EXPECT_NE(output.find("certificate verify failed"), std::string::npos) << output;
  // The listener's address is not a name its certificate holds.
  EXPECT_EQ(Send(server, Trust("ca.pem"), "adt-1.hl7", output, "127.0.0.1"), 3) << output;
  EXPECT_NE(output.find("IP address mismatch"), std::string::npos) << output;
  auto misnamed = MllpClient::Connect("127.0.0.1", port, 10s, ClientTls());
  ASSERT_FALSE(misnamed.ok());
  EXPECT_EQ(misnamed.error().message_id(), "connectors.mllp-tls");

  // Options that do not go together, or files that cannot be used, are usage errors.
  for (const std::string& options :
       {"--tls-ca " + dir_ + "/ca.pem", "--tls --tls-certificate " + dir_ + "/lab.pem",
        std::string("--tls --tls-ca /nonexistent.pem"),
        "--tls --tls-certificate " + dir_ + "/lab.pem --tls-private-key " + dir_ + "/server.key"}) {
    EXPECT_EQ(Send(server, options, "adt-1.hl7", output), 2) << options << ": " << output;
  }
  EXPECT_EQ(Count(server.port(), "Patient?identifier=PAT-PLAIN-1"), 0);
  EXPECT_EQ(Count(server.port(), "Patient?identifier=PAT-TLS-1"), 0);

  // A sender that connects and says nothing holds no one up.
  auto silent = MllpClient::Connect("localhost", port, 10s);
  ASSERT_TRUE(silent.ok());

  // A sender that trusts the CA and names the listener as its certificate does.
  EXPECT_EQ(Send(server, Trust("ca.pem"), "adt-1.hl7", output), 0) << output;
  EXPECT_NE(output.find("#1: AA"), std::string::npos) << output;
  EXPECT_NE(output.find("MSA|AA|TLS-1"), std::string::npos) << output;
  EXPECT_EQ(Count(server.port(), "Patient?identifier=PAT-TLS-1"), 1);
  auto client = MllpClient::Connect("localhost", port, 10s, ClientTls());
  ASSERT_TRUE(client.ok()) << client.error().text();
  auto ack = (*client)->Exchange(Adt("TLS-2", "PAT-TLS-2"));
  ASSERT_TRUE(ack.ok()) << ack.error().text();
  EXPECT_EQ(AckCode(*ack), "AA") << *ack;
  EXPECT_EQ(Count(server.port(), "Patient?identifier=PAT-TLS-2"), 1);
}

TEST_F(MllpTlsTest, WithAClientCaOnlySendersWithItsCertificatesAreServed) {
  ServerProcess server(FHIRHUB_BINARY, ServerArgs(/*client_ca=*/true));
  ASSERT_TRUE(server.ok());
  std::string output;
  // No certificate, and one from another CA: no acknowledgement, nothing stored.
  for (const std::string& options : {Trust("ca.pem"), Trust("ca.pem") + As("forged")}) {
    EXPECT_EQ(Send(server, options, "adt-1.hl7", output), 3) << options << ": " << output;
    EXPECT_EQ(output.find("AA"), std::string::npos) << output;
    EXPECT_NE(output.find("TLS"), std::string::npos) << output;
  }
  EXPECT_EQ(Count(server.port(), "Patient?identifier=PAT-TLS-1"), 0);

  EXPECT_EQ(Send(server, Trust("ca.pem") + As("lab"), "adt-1.hl7", output), 0) << output;
  EXPECT_NE(output.find("MSA|AA|TLS-1"), std::string::npos) << output;
  auto client = MllpClient::Connect("localhost", static_cast<std::uint16_t>(server.mllp_port()),
                                    10s, ClientTls("lab"));
  ASSERT_TRUE(client.ok()) << client.error().text();
  auto ack = (*client)->Exchange(Adt("TLS-2", "PAT-TLS-2"));
  ASSERT_TRUE(ack.ok()) << ack.error().text();
  EXPECT_EQ(AckCode(*ack), "AA") << *ack;
  EXPECT_EQ(Count(server.port(), "Patient?identifier=PAT-TLS-1"), 1);
  EXPECT_EQ(Count(server.port(), "Patient?identifier=PAT-TLS-2"), 1);
}

TEST_F(MllpTlsTest, TlsFilesThatCannotWorkStopTheServerNamingTheOption) {
  struct Case {
    std::string args;
    std::string option;
  };
  const std::string listener = " --mllp-tls-certificate " + dir_ + "/server.pem";
  for (const Case& c : std::vector<Case>{
           {"--mllp-tls-certificate /nonexistent.pem --mllp-tls-private-key " + dir_ +
                "/server.key",
            "--mllp-tls-certificate"},
           {listener + " --mllp-tls-private-key " + dir_ + "/lab.key", "--mllp-tls-certificate"},
           {listener + " --mllp-tls-private-key " + dir_ + "/server.key" +
                " --mllp-tls-client-ca /nonexistent.pem",
            "--mllp-tls-client-ca"},
       }) {
    std::string output;
    const int status = RunCommand(
        std::string(FHIRHUB_BINARY) + " serve --auth off --port 0 --mllp-port 0 " + c.args, output);
    EXPECT_EQ(status, 2) << c.args << ": " << output;
    EXPECT_NE(output.find(c.option), std::string::npos) << c.args << ": " << output;
  }
}

}  // namespace
