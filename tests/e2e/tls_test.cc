// TLS and mutual TLS against the real binary: certificates made by the openssl command line (a CA,
// the server's certificate, client certificates from that CA and from another one), a Poco HTTPS
// client. A system client known by its certificate is served without a token; a certificate the
// operator did not name, or one from another CA, is refused; plain HTTP on the TLS port gets
// nowhere and does not disturb the server.
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "tests/support/server_process.h"
#include "tests/support/test_certificates.h"

namespace {

using testing_support::IssueTestCertificate;
using testing_support::MakeTestAuthorities;
using testing_support::RunCommand;
using testing_support::ServerProcess;

struct Answer {
  int status = 0;
  std::string body;
};

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Poco::Net::initializeSSL();
    char pattern[] = "/tmp/fhirhub-tls-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    const std::string client = "extendedKeyUsage=clientAuth\n";
    ASSERT_EQ(MakeTestAuthorities(dir_), "");
    ASSERT_EQ(IssueTestCertificate(dir_, "server", "/CN=localhost", "ca",
                                   "subjectAltName=IP:127.0.0.1,DNS:localhost\n"),
              "");
    ASSERT_EQ(
        IssueTestCertificate(dir_, "his", "/C=CN/O=County Hospital/CN=county-his", "ca", client),
        "");
    ASSERT_EQ(IssueTestCertificate(dir_, "stranger", "/C=CN/O=Elsewhere/CN=stranger", "ca", client),
              "");
    ASSERT_EQ(IssueTestCertificate(dir_, "forged", "/C=CN/O=County Hospital/CN=county-his",
                                   "other-ca", client),
              "");
    std::ofstream(dir_ + "/clients.json") << R"({"clients": [
      {"subject": "CN=county-his,O=County Hospital,C=CN", "client_id": "county-his",
       "roles": ["connector"], "organization": "Organization/county-hospital"}]})";
  }

  static void TearDownTestSuite() {
    std::filesystem::remove_all(dir_);
    Poco::Net::uninitializeSSL();
  }

  static std::vector<std::string> TlsArgs() {
    return {"--tls-certificate",
            dir_ + "/server.pem",
            "--tls-private-key",
            dir_ + "/server.key",
            "--tls-client-ca",
            dir_ + "/ca.pem",
            "--certificate-clients",
            dir_ + "/clients.json",
            "--auth",
            "dev"};
  }

  // A request over HTTPS that trusts the test CA, with the named client certificate or none.
  static Answer Send(const ServerProcess& server, const std::string& method,
                     const std::string& path, const std::string& client = "",
                     const std::string& body = "",
                     const std::map<std::string, std::string>& headers = {}) {
    Poco::Net::Context::Ptr context = new Poco::Net::Context(
        Poco::Net::Context::TLS_CLIENT_USE, client.empty() ? "" : dir_ + "/" + client + ".key",
        client.empty() ? "" : dir_ + "/" + client + ".pem", dir_ + "/ca.pem",
        Poco::Net::Context::VERIFY_STRICT);
    Poco::Net::HTTPSClientSession session("127.0.0.1", static_cast<Poco::UInt16>(server.port()),
                                          context);
    Poco::Net::HTTPRequest request(method, "/fhir/" + path, Poco::Net::HTTPMessage::HTTP_1_1);
    request.set("Accept", "application/fhir+json");
    for (const auto& [name, value] : headers) request.set(name, value);
    if (!body.empty()) {
      request.setContentType("application/fhir+json");
      request.setContentLength(static_cast<std::streamsize>(body.size()));
    }
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    Answer answer;
    answer.status = static_cast<int>(response.getStatus());
    Poco::StreamCopier::copyToString(in, answer.body);
    return answer;
  }

  static inline std::string dir_;
};

TEST_F(TlsTest, ServesHttpsAndKnowsSystemClientsByTheirCertificates) {
  ServerProcess server(FHIRHUB_BINARY, TlsArgs());
  ASSERT_TRUE(server.ok());
  EXPECT_EQ(server.base_url().rfind("https://", 0), 0u) << server.base_url();

  // Open to anyone, over TLS.
  EXPECT_EQ(Send(server, "GET", "metadata").status, 200);
  // No token and no certificate.
  Answer anonymous = Send(server, "GET", "Patient");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_NE(anonymous.body.find("auth.missing-token"), std::string::npos);

  // The county HIS, known by its certificate, writes and reads as a connector.
  Answer created = Send(server, "POST", "Patient", "his",
                        R"({"resourceType":"Patient","name":[{"text":"王芳"}]})");
  EXPECT_EQ(created.status, 201) << created.body;
  Answer found = Send(server, "GET", "Patient", "his");
  EXPECT_EQ(found.status, 200);
  EXPECT_NE(found.body.find("王芳"), std::string::npos);
  // A connector's role does not reach the audit log.
  EXPECT_EQ(Send(server, "GET", "AuditEvent", "his").status, 403);

  // A certificate of the CA that the operator did not name.
  Answer stranger = Send(server, "GET", "Patient", "stranger");
  EXPECT_EQ(stranger.status, 401);
  EXPECT_NE(stranger.body.find("auth.unknown-certificate"), std::string::npos);

  // The same subject from another CA fails the handshake.
  EXPECT_THROW(Send(server, "GET", "Patient", "forged"), Poco::Exception);
  EXPECT_EQ(Send(server, "GET", "metadata").status, 200);
}

TEST_F(TlsTest, HeadLimitsHoldOverTls) {
  ServerProcess server(FHIRHUB_BINARY, TlsArgs());
  ASSERT_TRUE(server.ok());
  for (const std::string& value : {std::string(9000, 'a'), std::string(100000, 'a')}) {
    Answer answer = Send(server, "GET", "metadata", "", "", {{"X-Padding", value}});
    EXPECT_EQ(answer.status, 431);
    EXPECT_NE(answer.body.find("http.headers-too-large"), std::string::npos) << answer.body;
  }
  std::map<std::string, std::string> fields;
  for (int i = 0; i < 90; ++i) fields["X-F" + std::to_string(i)] = std::string(190, 'b');
  EXPECT_EQ(Send(server, "GET", "metadata", "", "", fields).status, 431);
  EXPECT_EQ(Send(server, "GET", "metadata", "", "", {{"X-Padding", std::string(8192, 'a')}}).status,
            200);
}

TEST_F(TlsTest, PlainHttpOnTheTlsPortGetsNowhere) {
  ServerProcess server(FHIRHUB_BINARY, TlsArgs());
  ASSERT_TRUE(server.ok());
  {
    Poco::Net::StreamSocket plain(
        Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(server.port())));
    plain.setReceiveTimeout(Poco::Timespan(10, 0));
    const std::string request = "GET /fhir/metadata HTTP/1.1\r\nHost: x\r\n\r\n";
    plain.sendBytes(request.data(), static_cast<int>(request.size()));
    char buffer[512];
    int received = 0;
    try {
      received = plain.receiveBytes(buffer, sizeof buffer);
    } catch (const Poco::Exception&) {
      received = 0;  // reset by the server
    }
    // Whatever comes back (a TLS alert at most) is not an HTTP answer.
    EXPECT_EQ(std::string(buffer, static_cast<std::size_t>(std::max(received, 0))).find("HTTP/"),
              std::string::npos);
  }
  EXPECT_EQ(Send(server, "GET", "metadata").status, 200);
}

TEST_F(TlsTest, TlsSettingsThatCannotWorkAreRefusedNamingTheOption) {
  struct Case {
    std::string args;
    std::string option;
  };
  for (const Case& c : std::vector<Case>{
           {"--tls-certificate " + dir_ + "/server.pem", "--tls-private-key"},
           {"--tls-certificate " + dir_ + "/server.pem --tls-private-key " + dir_ + "/his.key",
            "--tls-certificate"},
           {"--tls-certificate /nonexistent.pem --tls-private-key " + dir_ + "/server.key",
            "--tls-certificate"},
           {"--tls-client-ca " + dir_ + "/ca.pem", "--tls-client-ca"},
           {"--tls-certificate " + dir_ + "/server.pem --tls-private-key " + dir_ +
                "/server.key --tls-client-certificates always",
            "--tls-client-certificates"},
           {"--auth dev --certificate-clients " + dir_ + "/clients.json", "--certificate-clients"},
       }) {
    std::string output;
    const int status =
        RunCommand(std::string(FHIRHUB_BINARY) + " serve --port 0 " + c.args, output);
    EXPECT_EQ(status, 2) << c.args << ": " << output;
    EXPECT_NE(output.find(c.option), std::string::npos) << c.args << ": " << output;
  }
}

}  // namespace
