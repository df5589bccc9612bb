// The listener and the client over loopback with TLS: certificates from the openssl command line
// (a CA, the listener's certificate for 127.0.0.1, a sender's certificate), made once for the
// suite. A TLS sender is served, large answers included; a connection whose handshake does not
// complete in time or is not TLS is closed without holding up others; TLS options that cannot
// work are refused when the listener starts.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "connectors/mllp/mllp_client.h"
#include "connectors/mllp/mllp_listener.h"
#include "server/security/tls.h"

namespace connectors::mllp {
namespace {

using namespace std::chrono_literals;
using server::security::TlsContext;

class EchoHandler : public MessageHandler {
 public:
  std::string Handle(const FrameDecoder::Frame& frame, std::string_view) override {
    return frame.content;
  }
};

class MllpListenerTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char pattern[] = "/tmp/fhirhub-mllp-listener-tls-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    std::ofstream(dir_ + "/server.ext") << "subjectAltName=IP:127.0.0.1\n";
    std::ofstream(dir_ + "/client.ext") << "extendedKeyUsage=clientAuth\n";
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    auto run = [](const std::string& command) {
      ASSERT_EQ(std::system(("cd " + dir_ + " && " + command + " >/dev/null 2>&1").c_str()), 0)
          << command;
    };
    run("openssl req -x509" + ec + " -keyout ca.key -out ca.pem -days 2 -subj '/CN=test ca'");
    for (const std::string name : {"server", "client"}) {
      run("openssl req" + ec + " -keyout " + name + ".key -out " + name +
          ".csr -subj '/CN=" + name + "'");
      run("openssl x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial " +
          "-days 2 -out " + name + ".pem -extfile " + name + ".ext");
    }
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }

  fhir::Result<void> Start(ListenerOptions options) {
    options.port = 0;
    listener_ = std::make_unique<MllpListener>(std::move(options), handler_);
    return listener_->Start();
  }
  static ListenerOptions Tls(bool client_ca = false) {
    return {.message_timeout = 1s,
            .tls_certificate = dir_ + "/server.pem",
            .tls_private_key = dir_ + "/server.key",
            .tls_client_ca = client_ca ? dir_ + "/ca.pem" : ""};
  }
  static std::shared_ptr<const TlsContext> ClientTls(bool with_certificate) {
    server::security::TlsClientOptions options{.ca = dir_ + "/ca.pem"};
    if (with_certificate) {
      options.certificate = dir_ + "/client.pem";
      options.private_key = dir_ + "/client.key";
    }
    auto context = TlsContext::Client(options);
    EXPECT_TRUE(context.ok()) << context.error().text();
    return context.ok() ? *context : nullptr;
  }
  fhir::Result<std::unique_ptr<MllpClient>> Connect(std::shared_ptr<const TlsContext> tls) {
    return MllpClient::Connect("127.0.0.1", listener_->port(), 5000ms, std::move(tls));
  }

  static inline std::string dir_;
  EchoHandler handler_;
  std::unique_ptr<MllpListener> listener_;
};

TEST_F(MllpListenerTlsTest, ServesTlsSenders) {
  ASSERT_TRUE(Start(Tls()).ok());
  auto client = Connect(ClientTls(false));
  ASSERT_TRUE(client.ok()) << client.error().text();
  auto answer = (*client)->Exchange("MSH|1\r");
  ASSERT_TRUE(answer.ok()) << answer.error().text();
  EXPECT_EQ(*answer, "MSH|1\r");
  // Larger than a TLS record (16 KiB) and than the listener's read buffer, both ways.
  const std::string large = "MSH|" + std::string(200 * 1024, 'x') + "\r";
  answer = (*client)->Exchange(large);
  ASSERT_TRUE(answer.ok()) << answer.error().text();
  EXPECT_EQ(*answer, large);
}

TEST_F(MllpListenerTlsTest, ClosesHandshakesThatDoNotCompleteOrAreNotTls) {
  ASSERT_TRUE(Start(Tls()).ok());
  auto silent = Connect(nullptr);
  ASSERT_TRUE(silent.ok());
  auto plain = Connect(nullptr);
  ASSERT_TRUE(plain.ok());
  auto refused = (*plain)->Exchange("MSH|1\r");
  EXPECT_FALSE(refused.ok());
  // The silent connection holds no one up, and is closed after the message timeout.
  auto served = Connect(ClientTls(false));
  ASSERT_TRUE(served.ok()) << served.error().text();
  EXPECT_TRUE((*served)->Exchange("MSH|2\r").ok());
  auto closed = (*silent)->Receive();
  ASSERT_FALSE(closed.ok());
  EXPECT_EQ(closed.error().message_id(), "connectors.mllp-closed");
}

TEST_F(MllpListenerTlsTest, WithAClientCaServesOnlySendersWithItsCertificates) {
  ASSERT_TRUE(Start(Tls(/*client_ca=*/true)).ok());
  auto anonymous = Connect(ClientTls(false));
  // TLS 1.3 completes the sender's side of the handshake before the listener checks it.
  if (anonymous.ok()) {
    auto answer = (*anonymous)->Exchange("MSH|1\r");
    ASSERT_FALSE(answer.ok());
    EXPECT_EQ(answer.error().message_id(), "connectors.mllp-tls") << answer.error().text();
  } else {
    EXPECT_EQ(anonymous.error().message_id(), "connectors.mllp-tls");
  }
  auto known = Connect(ClientTls(true));
  ASSERT_TRUE(known.ok()) << known.error().text();
  EXPECT_TRUE((*known)->Exchange("MSH|2\r").ok());
}

TEST_F(MllpListenerTlsTest, ATlsSenderGetsNowhereWithAListenerWithoutTls) {
  ASSERT_TRUE(Start({}).ok());
  auto client = MllpClient::Connect("127.0.0.1", listener_->port(), 1000ms, ClientTls(false));
  ASSERT_FALSE(client.ok());
  EXPECT_TRUE(client.error().message_id() == "connectors.mllp-timeout" ||
              client.error().message_id() == "connectors.mllp-tls")
      << client.error().text();
}

TEST_F(MllpListenerTlsTest, RefusesTlsOptionsThatCannotWork) {
  ListenerOptions no_key = Tls();
  no_key.tls_private_key.clear();
  ListenerOptions wrong_key = Tls();
  wrong_key.tls_private_key = dir_ + "/client.key";
  ListenerOptions no_tls = Tls(/*client_ca=*/true);
  no_tls.tls_certificate.clear();
  no_tls.tls_private_key.clear();
  ListenerOptions missing_ca = Tls();
  missing_ca.tls_client_ca = dir_ + "/nonexistent.pem";
  for (const ListenerOptions& options : {no_key, wrong_key, no_tls, missing_ca}) {
    auto started = Start(options);
    ASSERT_FALSE(started.ok());
    EXPECT_EQ(started.error().message_id(), "connectors.mllp-options") << started.error().text();
  }
}

}  // namespace
}  // namespace connectors::mllp
