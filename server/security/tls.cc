#include "server/security/tls.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace server::security {
namespace {

// The file's problem as libssl saw it; the error queue is cleared for the thread's next call.
fhir::Error InvalidTls(std::string text) {
  if (const unsigned long code = ERR_peek_last_error(); code != 0) {
    char reason[256];
    ERR_error_string_n(code, reason, sizeof reason);
    text += " (" + std::string(reason) + ")";
  }
  ERR_clear_error();
  return fhir::Error::Invalid("security.invalid-tls", std::move(text));
}

std::string NameText(const X509_NAME* name) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return "";
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string text(data, static_cast<std::size_t>(size > 0 ? size : 0));
  BIO_free(bio);
  return text;
}

PeerCertificate Describe(X509* certificate) {
  PeerCertificate peer;
  peer.subject = NameText(X509_get_subject_name(certificate));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (X509_digest(certificate, EVP_sha256(), digest, &size) == 1) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < size; ++i) {
      peer.fingerprint_sha256 += kHex[digest[i] >> 4];
      peer.fingerprint_sha256 += kHex[digest[i] & 0xf];
    }
  }
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  if (names != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
      if (name->type != GEN_DNS && name->type != GEN_URI) continue;
      const ASN1_IA5STRING* text =
          name->type == GEN_DNS ? name->d.dNSName : name->d.uniformResourceIdentifier;
      std::string value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                        static_cast<std::size_t>(ASN1_STRING_length(text)));
      (name->type == GEN_DNS ? peer.dns_names : peer.uris).push_back(std::move(value));
    }
    GENERAL_NAMES_free(names);
  }
  return peer;
}

// Why an operation failed: libssl's reason, the certificate check's verdict when it failed, or the
// socket's error. Read before the error queue is cleared.
std::string FailureText(const SSL* ssl, int error, int saved_errno) {
  std::string text;
  if (const unsigned long code = ERR_peek_last_error(); code != 0) {
    const char* reason = ERR_reason_error_string(code);
    text = reason != nullptr ? reason : "error " + std::to_string(code);
  }
  if (const long verified = SSL_get_verify_result(ssl); verified != X509_V_OK) {
    text += (text.empty() ? "" : ": ") + std::string(X509_verify_cert_error_string(verified));
  }
  if (text.empty() && error == SSL_ERROR_SYSCALL) {
    text = saved_errno != 0 ? std::strerror(saved_errno) : "the connection was closed";
  }
  return text.empty() ? "TLS protocol error" : text;
}

// What servers and clients share: TLS 1.2 at least, OpenSSL's default ciphers (under the
// system's security level), no renegotiation (a peer-driven way to spend the other side's CPU). A
// peer that closes without close_notify ends the stream like one that sends it: HTTP and MLLP
// frame their own messages.
void ApplyPolicy(SSL_CTX* ctx) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

fhir::Result<void> UseCertificate(SSL_CTX* ctx, const std::filesystem::path& certificate,
                                  const std::filesystem::path& private_key) {
  if (SSL_CTX_use_certificate_chain_file(ctx, certificate.c_str()) != 1) {
    return InvalidTls("cannot read the TLS certificate " + certificate.string());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, private_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return InvalidTls("cannot read the TLS private key " + private_key.string());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return InvalidTls("the TLS private key does not belong to the certificate");
  }
  return {};
}

bool IsIpAddress(const std::string& name) {
  unsigned char address[sizeof(in6_addr)];
  return inet_pton(AF_INET, name.c_str(), address) == 1 ||
         inet_pton(AF_INET6, name.c_str(), address) == 1;
}

}  // namespace

TlsConnection::~TlsConnection() { SSL_free(ssl_); }

TlsConnection::Io TlsConnection::Result(int returned) {
  const int saved_errno = errno;
  const int error = SSL_get_error(ssl_, returned);
  Io io{Status::kFailed, 0};
  switch (error) {
    case SSL_ERROR_WANT_READ:
      io.status = Status::kWantRead;
      break;
    case SSL_ERROR_WANT_WRITE:
      io.status = Status::kWantWrite;
      break;
    case SSL_ERROR_ZERO_RETURN:
      io.status = Status::kClosed;
      break;
    default:
      failure_ = FailureText(ssl_, error, saved_errno);
  }
  ERR_clear_error();
  return io;
}

TlsConnection::Io TlsConnection::Handshake() {
  if (handshake_done_) return {};
  ERR_clear_error();
  const int returned = SSL_do_handshake(ssl_);
  if (returned != 1) return Result(returned);
  handshake_done_ = true;
  // The context asks for and checks the peer's certificate as configured; one that is here
  // verified.
  if (X509* certificate = SSL_get0_peer_certificate(ssl_);
      certificate != nullptr && SSL_get_verify_result(ssl_) == X509_V_OK) {
    peer_ = Describe(certificate);
  }
  return {};
}

TlsConnection::Io TlsConnection::Read(void* buffer, int length) {
  if (!handshake_done_) {
    if (Io done = Handshake(); done.status != Status::kDone) return done;
  }
  ERR_clear_error();
  const int returned = SSL_read(ssl_, buffer, length);
  if (returned > 0) return {Status::kDone, returned};
  return Result(returned);
}

TlsConnection::Io TlsConnection::Write(const void* buffer, int length) {
  if (!handshake_done_) {
    if (Io done = Handshake(); done.status != Status::kDone) return done;
  }
  ERR_clear_error();
  const int returned = SSL_write(ssl_, buffer, length);
  if (returned > 0) return {Status::kDone, returned};
  return Result(returned);
}

bool TlsConnection::Pending() const { return SSL_pending(ssl_) > 0; }

void TlsConnection::Shutdown() {
  if (!handshake_done_) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

fhir::Result<std::shared_ptr<const TlsContext>> TlsContext::Server(
    const TlsServerOptions& options) {
  ERR_clear_error();
  SSL_CTX* raw = SSL_CTX_new(TLS_server_method());
  if (raw == nullptr) return InvalidTls("libssl could not create a TLS context");
  std::shared_ptr<const TlsContext> context(new TlsContext(raw));
  ApplyPolicy(raw);
  SSL_CTX_set_options(raw, SSL_OP_CIPHER_SERVER_PREFERENCE);
  static constexpr unsigned char kSessionContext[] = "fhirhub";
  SSL_CTX_set_session_id_context(raw, kSessionContext, sizeof kSessionContext - 1);
  if (auto used = UseCertificate(raw, options.certificate, options.private_key); !used.ok()) {
    return std::move(used).error();
  }
  if (options.clients != ClientCertificates::kNone) {
    if (!options.client_ca) return InvalidTls("client certificates need the CAs that issue them");
    const std::string ca = options.client_ca->string();
    if (SSL_CTX_load_verify_locations(raw, ca.c_str(), nullptr) != 1) {
      return InvalidTls("cannot read the client CA file " + ca);
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(ca.c_str());
    if (names == nullptr) return InvalidTls("no CA certificate in " + ca);
    SSL_CTX_set_client_CA_list(raw, names);
    int mode = SSL_VERIFY_PEER;
    if (options.clients == ClientCertificates::kRequired) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(raw, mode, nullptr);
  }
  return context;
}

fhir::Result<std::shared_ptr<const TlsContext>> TlsContext::Client(
    const TlsClientOptions& options) {
  ERR_clear_error();
  SSL_CTX* raw = SSL_CTX_new(TLS_client_method());
  if (raw == nullptr) return InvalidTls("libssl could not create a TLS context");
  std::shared_ptr<const TlsContext> context(new TlsContext(raw));
  ApplyPolicy(raw);
  if (options.ca) {
    const std::string ca = options.ca->string();
    if (SSL_CTX_load_verify_locations(raw, ca.c_str(), nullptr) != 1) {
      return InvalidTls("cannot read the CA file " + ca);
    }
  } else if (SSL_CTX_set_default_verify_paths(raw) != 1) {
    return InvalidTls("cannot read the system's trusted CAs");
  }
  SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
  if (options.certificate.has_value() != options.private_key.has_value()) {
    return InvalidTls("a client certificate and its private key go together");
  }
  if (options.certificate) {
    if (auto used = UseCertificate(raw, *options.certificate, *options.private_key); !used.ok()) {
      return std::move(used).error();
    }
  }
  return context;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

std::unique_ptr<TlsConnection> TlsContext::Accept(int fd) const {
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) {
    ERR_clear_error();
    return nullptr;
  }
  if (SSL_set_fd(ssl, fd) != 1) {
    ERR_clear_error();
    SSL_free(ssl);
    return nullptr;
  }
  SSL_set_accept_state(ssl);
  return std::unique_ptr<TlsConnection>(new TlsConnection(ssl));
}

std::unique_ptr<TlsConnection> TlsContext::Connect(int fd, const std::string& server_name) const {
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) {
    ERR_clear_error();
    return nullptr;
  }
  // SSL_set1_host checks an IP address against the certificate's IP addresses and a DNS name
  // against its DNS names; a wildcard stands for a whole label only.
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  const bool ready =
      SSL_set_fd(ssl, fd) == 1 && SSL_set1_host(ssl, server_name.c_str()) == 1 &&
      (IsIpAddress(server_name) || SSL_set_tlsext_host_name(ssl, server_name.c_str()) == 1);
  if (!ready) {
    ERR_clear_error();
    SSL_free(ssl);
    return nullptr;
  }
  SSL_set_connect_state(ssl);
  return std::unique_ptr<TlsConnection>(new TlsConnection(ssl));
}

}  // namespace server::security
