// TLS between a server and a client context over a socket pair: the handshake, the client's
// checks of the server's certificate (chain and name) and the server's of the client's, and the
// reasons given when they fail.
#include "server/security/tls.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

namespace server::security {
namespace {

using ::testing::HasSubstr;

// A CA, a server certificate for localhost and 127.0.0.1 and a client certificate from it, all
// P-256 and valid for a hundred years (`openssl req -x509 -days 36500`, `openssl x509 -req`).
constexpr std::string_view kCaPem = R"(-----BEGIN CERTIFICATE-----
MIIBkzCCATugAwIBAgIUOpnDzR49L6EFyeEyTAP4Hb+RPCYwCgYIKoZIzj0EAwIw
HzEdMBsGA1UEAwwUZmhpcmh1YiB1bml0IHRlc3QgQ0EwIBcNMjYxMTIzMDMxNjIz
WhgPMjEyNjEwMzAwMzE2MjNaMB8xHTAbBgNVBAMMFGZoaXJodWIgdW5pdCB0ZXN0
IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEufnRfZFIF7E9KOtG2XQ9YXxC
FcAoG/WLGI8yKNkytJRlvbuz+HWClXLvbZNdyVfAoBIBarIJpTyxefdShx7yIqNT
MFEwHQYDVR0OBBYEFJ8gYKpC0dAzu6xW5tv9gu4bt4ltMB8GA1UdIwQYMBaAFJ8g
YKpC0dAzu6xW5tv9gu4bt4ltMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwID
RgAwQwIfeIjB9fX3eg/j1jlTHXU06cTd62LpUbcMrNtGfZhTlwIgM7Dcm0o8Oouq
vMYKZCuQILKBnFaTqUZmhBBvj+eQEmU=
-----END CERTIFICATE-----
)";

constexpr std::string_view kServerPem = R"(-----BEGIN CERTIFICATE-----
MIIBqDCCAVCgAwIBAgIUONgKl3JqZ/q3bc5DKSLpwr1+Yv4wCgYIKoZIzj0EAwIw
HzEdMBsGA1UEAwwUZmhpcmh1YiB1bml0IHRlc3QgQ0EwIBcNMjYxMTIzMDMxNjIz
WhgPMjEyNjEwMzAwMzE2MjNaMBQxEjAQBgNVBAMMCWxvY2FsaG9zdDBZMBMGByqG
SM49AgEGCCqGSM49AwEHA0IABPgq07N/lwANYVjMT6cuLmTWJAcQZDpcdhSk29eo
kR1T8T94kKj63pDMlBlK5TJbwCM1XNXzqz58uLOsn9mo9O6jczBxMBoGA1UdEQQT
MBGCCWxvY2FsaG9zdIcEfwAAATATBgNVHSUEDDAKBggrBgEFBQcDATAdBgNVHQ4E
FgQUmqM7Y2G4oIj+gGLfWvzkczyRVtIwHwYDVR0jBBgwFoAUnyBgqkLR0DO7rFbm
2/2C7hu3iW0wCgYIKoZIzj0EAwIDRgAwQwIgWS3gYlW4pGOO/5GRhKbUX7ben3/H
48lNKJOXfHZdrZgCH17WXKUTVlUIWvqAs5OvD+GI594t0eZk4A+rmFslRRc=
-----END CERTIFICATE-----
)";

constexpr std::string_view kServerKey = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgJ/jPDRE3P83/amnx
fvHYHnxhay6lHNkKACDEnJIhRo2hRANCAAT4KtOzf5cADWFYzE+nLi5k1iQHEGQ6
XHYUpNvXqJEdU/E/eJCo+t6QzJQZSuUyW8AjNVzV86s+fLizrJ/ZqPTu
-----END PRIVATE KEY-----
)";

constexpr std::string_view kClientPem = R"(-----BEGIN CERTIFICATE-----
MIIBqTCCAU+gAwIBAgIUONgKl3JqZ/q3bc5DKSLpwr1+Yv8wCgYIKoZIzj0EAwIw
HzEdMBsGA1UEAwwUZmhpcmh1YiB1bml0IHRlc3QgQ0EwIBcNMjYxMTIzMDMxNjIz
WhgPMjEyNjEwMzAwMzE2MjNaMC8xGDAWBgNVBAoMD0NvdW50eSBIb3NwaXRhbDET
MBEGA1UEAwwKY291bnR5LWxpczBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABHtE
aD4WkdgMsBPzcxJgUN+Ft0//mBVuVAtU4bZ9PXVqYOSb6rbAk6pnIdD1fbw+k4Md
MVGIxOIQOsIzIIECnxmjVzBVMBMGA1UdJQQMMAoGCCsGAQUFBwMCMB0GA1UdDgQW
BBQ3A17IJYsl6QIXAeAT253stVfmPzAfBgNVHSMEGDAWgBSfIGCqQtHQM7usVubb
/YLuG7eJbTAKBggqhkjOPQQDAgNIADBFAiAM13fHutWD0XSJ0BMJk8tBxCQoEe5B
WUlkNVHAz6ZdpQIhAN57+KsUnn6W62wrSEaJgoTpCqRIPkHLgPtj7CDRbwaJ
-----END CERTIFICATE-----
)";

constexpr std::string_view kClientKey = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgUOgsShE+4pTI2BXL
M3pC1IPlPD+VHf1DZQ1nwqWNvD2hRANCAAR7RGg+FpHYDLAT83MSYFDfhbdP/5gV
blQLVOG2fT11amDkm+q2wJOqZyHQ9X28PpODHTFRiMTiEDrCMyCBAp8Z
-----END PRIVATE KEY-----
)";

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char pattern[] = "/tmp/fhirhub-tls-unit-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    for (const auto& [name, text] : {std::pair{"ca.pem", kCaPem},
                                     {"server.pem", kServerPem},
                                     {"server.key", kServerKey},
                                     {"client.pem", kClientPem},
                                     {"client.key", kClientKey}}) {
      std::ofstream(dir_ / name) << text;
    }
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }

  void SetUp() override { ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds_), 0); }
  void TearDown() override {
    close(fds_[0]);
    close(fds_[1]);
  }

  static std::shared_ptr<const TlsContext> Server(ClientCertificates clients) {
    TlsServerOptions options{.certificate = dir_ / "server.pem",
                             .private_key = dir_ / "server.key"};
    if (clients != ClientCertificates::kNone) options.client_ca = dir_ / "ca.pem";
    options.clients = clients;
    auto context = TlsContext::Server(options);
    EXPECT_TRUE(context.ok()) << context.error().text();
    return context.ok() ? *context : nullptr;
  }
  static std::shared_ptr<const TlsContext> Client(bool trust_ca, bool with_certificate) {
    TlsClientOptions options;
    // The server's own certificate as the only trusted one: not a CA, so nothing chains to it.
    options.ca = dir_ / (trust_ca ? "ca.pem" : "server.pem");
    if (with_certificate) {
      options.certificate = dir_ / "client.pem";
      options.private_key = dir_ / "client.key";
    }
    auto context = TlsContext::Client(options);
    EXPECT_TRUE(context.ok()) << context.error().text();
    return context.ok() ? *context : nullptr;
  }

  // Runs both handshakes until neither can make progress; the statuses they end with.
  static std::pair<TlsConnection::Status, TlsConnection::Status> Handshake(TlsConnection& server,
                                                                           TlsConnection& client) {
    TlsConnection::Io s, c;
    for (int round = 0; round < 20; ++round) {
      c = client.Handshake();
      s = server.Handshake();
      const auto waiting = [](const TlsConnection::Io& io) {
        return io.status == TlsConnection::Status::kWantRead ||
               io.status == TlsConnection::Status::kWantWrite;
      };
      if (!waiting(s) && !waiting(c)) break;
    }
    return {s.status, c.status};
  }

  static inline std::filesystem::path dir_;
  int fds_[2] = {-1, -1};
};

TEST_F(TlsTest, MutualTlsCarriesDataAndNamesTheClient) {
  auto server_context = Server(ClientCertificates::kRequired);
  auto client_context = Client(/*trust_ca=*/true, /*with_certificate=*/true);
  ASSERT_TRUE(server_context && client_context);
  auto server = server_context->Accept(fds_[0]);
  auto client = client_context->Connect(fds_[1], "localhost");
  ASSERT_TRUE(server && client);
  const auto [s, c] = Handshake(*server, *client);
  ASSERT_EQ(c, TlsConnection::Status::kDone) << client->failure();
  ASSERT_EQ(s, TlsConnection::Status::kDone) << server->failure();
  ASSERT_TRUE(server->peer().has_value());
  EXPECT_EQ(server->peer()->subject, "CN=county-lis,O=County Hospital");
  ASSERT_TRUE(client->peer().has_value());
  EXPECT_EQ(client->peer()->dns_names, std::vector<std::string>{"localhost"});

  const std::string message = "MSH|^~\\&|\r";
  ASSERT_EQ(client->Write(message.data(), static_cast<int>(message.size())).status,
            TlsConnection::Status::kDone);
  char buffer[64];
  const TlsConnection::Io read = server->Read(buffer, sizeof buffer);
  ASSERT_EQ(read.status, TlsConnection::Status::kDone);
  EXPECT_EQ(std::string(buffer, static_cast<std::size_t>(read.bytes)), message);
}

TEST_F(TlsTest, TheClientChecksTheServersAddressAgainstItsCertificate) {
  auto server_context = Server(ClientCertificates::kNone);
  auto client_context = Client(/*trust_ca=*/true, /*with_certificate=*/false);
  ASSERT_TRUE(server_context && client_context);
  auto server = server_context->Accept(fds_[0]);
  auto client = client_context->Connect(fds_[1], "127.0.0.1");
  ASSERT_TRUE(server && client);
  EXPECT_EQ(Handshake(*server, *client).second, TlsConnection::Status::kDone) << client->failure();
}

TEST_F(TlsTest, TheClientRefusesAServerUnderAnotherName) {
  auto server_context = Server(ClientCertificates::kNone);
  auto client_context = Client(/*trust_ca=*/true, /*with_certificate=*/false);
  ASSERT_TRUE(server_context && client_context);
  for (const std::string name : {"his.county.example", "127.0.0.2"}) {
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    auto server = server_context->Accept(fds[0]);
    auto client = client_context->Connect(fds[1], name);
    ASSERT_TRUE(server && client);
    EXPECT_EQ(Handshake(*server, *client).second, TlsConnection::Status::kFailed) << name;
    EXPECT_THAT(client->failure(), HasSubstr("certificate verify failed")) << name;
    EXPECT_THAT(client->failure(), HasSubstr("mismatch")) << name;
    close(fds[0]);
    close(fds[1]);
  }
}

TEST_F(TlsTest, TheClientRefusesAServerItDoesNotTrust) {
  auto server_context = Server(ClientCertificates::kNone);
  auto client_context = Client(/*trust_ca=*/false, /*with_certificate=*/false);
  ASSERT_TRUE(server_context && client_context);
  auto server = server_context->Accept(fds_[0]);
  auto client = client_context->Connect(fds_[1], "localhost");
  ASSERT_TRUE(server && client);
  const auto [s, c] = Handshake(*server, *client);
  EXPECT_EQ(c, TlsConnection::Status::kFailed);
  EXPECT_THAT(client->failure(), HasSubstr("certificate verify failed"));
  // The server learns it from the client's alert.
  EXPECT_EQ(s, TlsConnection::Status::kFailed);
  EXPECT_THAT(server->failure(), HasSubstr("alert"));
}

TEST_F(TlsTest, TheServerRefusesAClientWithoutACertificateWhenOneIsRequired) {
  auto server_context = Server(ClientCertificates::kRequired);
  auto client_context = Client(/*trust_ca=*/true, /*with_certificate=*/false);
  ASSERT_TRUE(server_context && client_context);
  auto server = server_context->Accept(fds_[0]);
  auto client = client_context->Connect(fds_[1], "localhost");
  ASSERT_TRUE(server && client);
  EXPECT_EQ(Handshake(*server, *client).first, TlsConnection::Status::kFailed);
  EXPECT_THAT(server->failure(), HasSubstr("peer did not return a certificate"));
}

TEST_F(TlsTest, ClientOptionsThatCannotWorkAreRefused) {
  auto missing_ca = TlsContext::Client({.ca = dir_ / "nonexistent.pem"});
  ASSERT_FALSE(missing_ca.ok());
  EXPECT_EQ(missing_ca.error().message_id(), "security.invalid-tls");
  EXPECT_THAT(missing_ca.error().text(), HasSubstr("nonexistent.pem"));
  auto no_key = TlsContext::Client({.certificate = dir_ / "client.pem"});
  ASSERT_FALSE(no_key.ok());
  EXPECT_EQ(no_key.error().message_id(), "security.invalid-tls");
  auto wrong_key =
      TlsContext::Client({.certificate = dir_ / "client.pem", .private_key = dir_ / "server.key"});
  ASSERT_FALSE(wrong_key.ok());
  EXPECT_THAT(wrong_key.error().text(), HasSubstr("key values mismatch"));
  // The system's trust store.
  EXPECT_TRUE(TlsContext::Client({}).ok());
}

}  // namespace
}  // namespace server::security
