#include "server/main/jwks_source.h"

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/security/keys.h"

namespace server::main {
namespace {

namespace fs = std::filesystem;
using security::KeyAlgorithm;
using security::PrivateKey;
using ::testing::HasSubstr;

std::string Jwks(const std::vector<std::pair<std::string, const PrivateKey*>>& keys) {
  std::string out = R"({"keys":[)";
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i != 0) out += ',';
    out += keys[i].second->Public().Jwk(keys[i].first);
  }
  return out + "]}";
}

// A clock the test moves by hand.
struct FakeClock {
  std::atomic<std::int64_t> seconds{1000};
  JwksSource::Clock AsClock() {
    return [this] {
      return std::chrono::steady_clock::time_point(std::chrono::seconds(seconds.load()));
    };
  }
};

class JwksSourceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    a_ = new PrivateKey(std::move(*PrivateKey::Generate(KeyAlgorithm::kEcP256)));
    b_ = new PrivateKey(std::move(*PrivateKey::Generate(KeyAlgorithm::kEcP256)));
  }
  static void TearDownTestSuite() {
    delete a_;
    delete b_;
  }

  JwksSource::Options Options() {
    JwksSource::Options options;
    options.clock = clock_.AsClock();
    return options;
  }

  static inline PrivateKey* a_ = nullptr;
  static inline PrivateKey* b_ = nullptr;
  FakeClock clock_;
};

// A self-signed certificate for localhost and 127.0.0.1, valid until 2126, and its key:
//   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days 36500 -nodes
//     -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1"
constexpr char kTlsKey[] = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg7qpnq63RDfcd2sno
xg4YOHlvTNOZ2xZmNeeoftwDGUmhRANCAAReBbCfLSI5aX5DZeYwuXMxvDwOe0Z7
RdRO+LgFrnqlkPgXwOuhN3XEfUkBqefGX4+H3SCV0CgSb+HvwLu8Mt2c
-----END PRIVATE KEY-----
)";
constexpr char kTlsCertificate[] = R"(-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIUcdU5Ygzme3/Zpml4ZHCjiyOdG+cwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyMjIxNTcwM1oYDzIxMjYxMDI5
MjE1NzAzWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAReBbCfLSI5aX5DZeYwuXMxvDwOe0Z7RdRO+LgFrnqlkPgXwOuhN3XE
fUkBqefGX4+H3SCV0CgSb+HvwLu8Mt2co28wbTAdBgNVHQ4EFgQUhwND/6QB1UZN
KsxWVyz0ij3us34wHwYDVR0jBBgwFoAUhwND/6QB1UZNKsxWVyz0ij3us34wDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCgYIKoZI
zj0EAwIDSAAwRQIgCm6mUvFmg75lVj4wPdCN/1Fkds4OJFVa+4trPfKohX8CIQCH
MB/0NEe9HUnkAGVC253eAsCFuBPunvritbYw+ibcCA==
-----END CERTIFICATE-----
)";

// Writes `text` to a file in the test's temporary folder and returns its path.
std::string WriteTemp(const std::string& name, const std::string& text) {
  const fs::path path = fs::path(::testing::TempDir()) / name;
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

Poco::Net::Context::Ptr ServerTlsContext() {
  Poco::Net::initializeSSL();
  return new Poco::Net::Context(
      Poco::Net::Context::TLS_SERVER_USE, WriteTemp("jwks_source_tls.key", kTlsKey),
      WriteTemp("jwks_source_tls.crt", kTlsCertificate), "", Poco::Net::Context::VERIFY_NONE);
}

// Serves one document at /jwks (404 elsewhere) on a free port, over TLS when given a context,
// and counts the requests.
class JwksServer {
 public:
  explicit JwksServer(Poco::Net::Context::Ptr tls = nullptr)
      : tls_(!tls.isNull()),
        socket_(tls_ ? Poco::Net::ServerSocket(Poco::Net::SecureServerSocket(0, 64, tls))
                     : Poco::Net::ServerSocket(0)),
        server_(new Factory(this), socket_, new Poco::Net::HTTPServerParams) {
    server_.start();
  }
  ~JwksServer() { server_.stopAll(true); }

  std::string url(const std::string& path = "/jwks", const std::string& host = "127.0.0.1") const {
    return std::string(tls_ ? "https" : "http") + "://" + host + ":" +
           std::to_string(socket_.address().port()) + path;
  }
  void Serve(std::string document) {
    std::lock_guard lock(mutex_);
    document_ = std::move(document);
  }
  int requests() const { return requests_; }

 private:
  class Handler : public Poco::Net::HTTPRequestHandler {
   public:
    explicit Handler(JwksServer* server) : server_(server) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
      ++server_->requests_;
      if (request.getURI() != "/jwks") {
        response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_NOT_FOUND);
        response.send();
        return;
      }
      std::string body;
      {
        std::lock_guard lock(server_->mutex_);
        body = server_->document_;
      }
      response.setContentType("application/jwk-set+json");
      response.sendBuffer(body.data(), body.size());
    }

   private:
    JwksServer* server_;
  };
  class Factory : public Poco::Net::HTTPRequestHandlerFactory {
   public:
    explicit Factory(JwksServer* server) : server_(server) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
      return new Handler(server_);
    }

   private:
    JwksServer* server_;
  };

  bool tls_;
  Poco::Net::ServerSocket socket_;
  Poco::Net::HTTPServer server_;
  std::mutex mutex_;
  std::string document_;
  std::atomic<int> requests_{0};
};

TEST_F(JwksSourceTest, LoadsAFileAndReadsItAgainForAnUnknownKidOncePerInterval) {
  const fs::path file = fs::path(::testing::TempDir()) / "jwks_source_test.json";
  std::ofstream(file) << Jwks({{"a", a_}});
  auto source = JwksSource::Open(file.string(), Options());
  ASSERT_TRUE(source.ok()) << source.error().text();
  EXPECT_TRUE((*source)->Keys()->Contains("a"));
  EXPECT_TRUE((*source)->KeysFor("a")->Contains("a"));

  std::ofstream(file) << Jwks({{"a", a_}, {"b", b_}});
  // Within a minute of the last read the file is not read again.
  clock_.seconds += 59;
  EXPECT_FALSE((*source)->KeysFor("b")->Contains("b"));
  clock_.seconds += 1;
  EXPECT_TRUE((*source)->KeysFor("b")->Contains("b"));
  EXPECT_EQ((*source)->Keys()->size(), 2u);

  // A document that no longer parses leaves the cached set in place.
  std::ofstream(file) << "{";
  clock_.seconds += 60;
  EXPECT_TRUE((*source)->KeysFor("c")->Contains("b"));
  auto reload = (*source)->Reload();
  ASSERT_FALSE(reload.ok());
  EXPECT_EQ(reload.error().message_id(), "security.invalid-jwks");
  EXPECT_EQ((*source)->Keys()->size(), 2u);
  fs::remove(file);
}

TEST_F(JwksSourceTest, FileUrlsAndFailures) {
  const fs::path file = fs::path(::testing::TempDir()) / "jwks_source_file_url.json";
  std::ofstream(file) << Jwks({{"a", a_}});
  auto source = JwksSource::Open("file://" + file.string(), Options());
  ASSERT_TRUE(source.ok()) << source.error().text();
  EXPECT_EQ((*source)->Keys()->size(), 1u);

  std::ofstream(file) << R"({"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]})";
  auto invalid = JwksSource::Open(file.string(), Options());
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.error().message_id(), "security.invalid-jwks");
  fs::remove(file);

  auto missing = JwksSource::Open(file.string(), Options());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message_id(), "jwks.unavailable");
  EXPECT_EQ(missing.error().http_status(), 503);

  JwksSource::Options small = Options();
  small.max_bytes = 10;
  std::ofstream(file) << Jwks({{"a", a_}});
  auto large = JwksSource::Open(file.string(), small);
  ASSERT_FALSE(large.ok());
  EXPECT_THAT(large.error().text(), HasSubstr("too large"));
  fs::remove(file);
}

TEST_F(JwksSourceTest, FetchesOverHttpAndRefetchesForAnUnknownKidAtMostOncePerMinute) {
  JwksServer server;
  server.Serve(Jwks({{"a", a_}}));
  auto source = JwksSource::Open(server.url(), Options());
  ASSERT_TRUE(source.ok()) << source.error().text();
  EXPECT_EQ(server.requests(), 1);
  EXPECT_TRUE((*source)->KeysFor("a")->Contains("a"));
  EXPECT_EQ(server.requests(), 1);

  // The issuer rotates its keys.
  server.Serve(Jwks({{"b", b_}}));
  for (int i = 0; i < 10; ++i) EXPECT_FALSE((*source)->KeysFor("b")->Contains("b"));
  EXPECT_EQ(server.requests(), 1);
  clock_.seconds += 60;
  // Many threads at once with the new kid, and others with made-up ones: one fetch.
  std::vector<std::thread> threads;
  std::atomic<int> found{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      if (i % 2 == 0) {
        found += (*source)->KeysFor("b")->Contains("b") ? 1 : 0;
      } else {
        (void)(*source)->KeysFor("made-up-" + std::to_string(i));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(server.requests(), 2);
  EXPECT_EQ(found.load(), 4);  // every thread asking for b gets it
  EXPECT_TRUE((*source)->Keys()->Contains("b"));
  EXPECT_FALSE((*source)->Keys()->Contains("a"));
  for (int i = 0; i < 10; ++i) (void)(*source)->KeysFor("made-up");
  EXPECT_EQ(server.requests(), 2);

  // Reload fetches whatever the interval.
  ASSERT_TRUE((*source)->Reload().ok());
  EXPECT_EQ(server.requests(), 3);
}

TEST_F(JwksSourceTest, HttpFailures) {
  JwksServer server;
  auto not_found = JwksSource::Open(server.url("/other"), Options());
  ASSERT_FALSE(not_found.ok());
  EXPECT_EQ(not_found.error().message_id(), "jwks.unavailable");
  EXPECT_THAT(not_found.error().text(), HasSubstr("404"));

  // An empty answer is not a key set.
  auto empty = JwksSource::Open(server.url(), Options());
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().message_id(), "security.invalid-jwks");

  // Nothing listens on port 1.
  auto refused = JwksSource::Open("http://127.0.0.1:1/jwks", Options());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message_id(), "jwks.unavailable");
}

TEST_F(JwksSourceTest, FetchesOverHttpsFromAServerTheCaFileVouchesFor) {
  JwksServer server(ServerTlsContext());
  server.Serve(Jwks({{"a", a_}}));
  JwksSource::Options options = Options();
  options.ca_file = WriteTemp("jwks_source_ca.crt", kTlsCertificate);
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    auto source = JwksSource::Open(server.url("/jwks", host), options);
    ASSERT_TRUE(source.ok()) << host << ": " << source.error().text();
    EXPECT_TRUE((*source)->Keys()->Contains("a"));
  }
}

TEST_F(JwksSourceTest, RefusesAnHttpsServerNoTrustedCaVouchesFor) {
  JwksServer server(ServerTlsContext());
  server.Serve(Jwks({{"a", a_}}));
  // The system's CA store does not hold the self-signed certificate.
  auto source = JwksSource::Open(server.url(), Options());
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.error().message_id(), "jwks.unavailable");
  EXPECT_EQ(server.requests(), 0);
  // A trusted certificate for another host name is refused too (127.0.0.2 is loopback as well).
  JwksSource::Options trusting = Options();
  trusting.ca_file = WriteTemp("jwks_source_ca.crt", kTlsCertificate);
  source = JwksSource::Open(server.url("/jwks", "127.0.0.2"), trusting);
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.error().message_id(), "jwks.unavailable");
  EXPECT_THAT(source.error().text(), HasSubstr("certificate"));
  // Nor does a CA file that cannot be read help.
  JwksSource::Options options = Options();
  options.ca_file = "/nonexistent/ca.crt";
  source = JwksSource::Open(server.url(), options);
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.error().message_id(), "jwks.unavailable");
}

}  // namespace
}  // namespace server::main
