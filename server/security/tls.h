// TLS for the server's listeners and for its command-line clients (OpenSSL libssl), over sockets
// the caller owns and polls: a server context holds the server's certificate and key and, for
// mutual TLS, the CAs whose client certificates it accepts; a client context the CAs it trusts
// servers by and, for mutual TLS, its own certificate and key. A TlsConnection runs one socket's
// TLS non-blocking, telling the caller which readiness to wait for, so the caller's deadlines
// (request and send timeouts) apply to TLS as to plain TCP.
//
// One policy on both sides: TLS 1.2 and 1.3 only, OpenSSL's default ciphers under the system's
// security level, no renegotiation. A TlsContext is immutable and thread-safe once built; a
// TlsConnection is used by one thread at a time.
#ifndef SERVER_SECURITY_TLS_H_
#define SERVER_SECURITY_TLS_H_

#include <openssl/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fhir/result.h"

namespace server::security {

enum class ClientCertificates {
  kNone,      // not asked for
  kOptional,  // asked for; a client without one may connect, one that sends one must be valid
  kRequired,  // the handshake fails without a valid one
};

struct TlsServerOptions {
  std::filesystem::path certificate;  // PEM: the server's certificate, then its chain
  std::filesystem::path private_key;  // PEM, unencrypted
  // PEM bundle of the CAs that issue client certificates; needed unless `clients` is kNone.
  std::optional<std::filesystem::path> client_ca;
  ClientCertificates clients = ClientCertificates::kNone;
};

struct TlsClientOptions {
  // PEM bundle of the CAs the server's certificate must chain to; nullopt: the system's trust
  // store.
  std::optional<std::filesystem::path> ca;
  // For mutual TLS: the client's certificate (then its chain) and unencrypted key, both or
  // neither.
  std::optional<std::filesystem::path> certificate;
  std::optional<std::filesystem::path> private_key;
};

// A client certificate that verified against the client CAs.
struct PeerCertificate {
  std::string subject;             // RFC 2253, e.g. "CN=his-gateway,O=County Hospital,C=CN"
  std::string fingerprint_sha256;  // lower-case hex of the DER certificate's SHA-256
  std::vector<std::string> dns_names;
  std::vector<std::string> uris;
};

class TlsConnection {
 public:
  enum class Status {
    kDone,       // the operation completed (`bytes` of data for Read and Write)
    kWantRead,   // wait until the socket is readable, then call again
    kWantWrite,  // wait until the socket is writable, then call again
    kClosed,     // the peer closed the connection (Read: end of stream)
    kFailed,     // a protocol or handshake error, or the socket failed: close the connection
  };
  struct Io {
    Status status = Status::kDone;
    int bytes = 0;
  };

  ~TlsConnection();
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  bool handshake_done() const { return handshake_done_; }
  // Runs the handshake as far as the socket allows.
  Io Handshake();
  // Each runs the handshake first when it is not done.
  Io Read(void* buffer, int length);
  Io Write(const void* buffer, int length);
  // Decrypted bytes waiting to be read: the socket may not become readable for them.
  bool Pending() const;
  // Sends close_notify, without waiting for the peer's.
  void Shutdown();
  // The verified certificate of the peer (the client's on a server connection), once the
  // handshake is done; nullopt without one.
  const std::optional<PeerCertificate>& peer() const { return peer_; }
  // Why the last operation returned kFailed, as libssl tells it ("certificate verify failed:
  // unable to get local issuer certificate", "tlsv13 alert certificate required"); holds no
  // data of the connection.
  const std::string& failure() const { return failure_; }

 private:
  friend class TlsContext;
  explicit TlsConnection(SSL* ssl) : ssl_(ssl) {}
  Io Result(int returned);

  SSL* ssl_;
  bool handshake_done_ = false;
  std::optional<PeerCertificate> peer_;
  std::string failure_;
};

class TlsContext {
 public:
  // Errors: 400 security.invalid-tls for files that cannot be read or do not match.
  static fhir::Result<std::shared_ptr<const TlsContext>> Server(const TlsServerOptions& options);
  // The same errors; a context whose connections verify the server's certificate chain and name.
  static fhir::Result<std::shared_ptr<const TlsContext>> Client(const TlsClientOptions& options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // A server-side TLS connection over `fd`, which must be non-blocking; nothing is sent yet.
  // Null when libssl cannot allocate one.
  std::unique_ptr<TlsConnection> Accept(int fd) const;
  // A client-side TLS connection over `fd` (non-blocking) of a client context, to the server
  // `server_name` (a DNS name or an IP address), which its certificate must name; the name is
  // sent as SNI when it is a DNS name. Null when libssl cannot allocate one.
  std::unique_ptr<TlsConnection> Connect(int fd, const std::string& server_name) const;

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

}  // namespace server::security

#endif  // SERVER_SECURITY_TLS_H_
