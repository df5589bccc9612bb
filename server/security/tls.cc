#include "server/security/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

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

}  // namespace

TlsConnection::~TlsConnection() { SSL_free(ssl_); }

TlsConnection::Io TlsConnection::Result(int returned) {
  const int error = SSL_get_error(ssl_, returned);
  ERR_clear_error();
  switch (error) {
    case SSL_ERROR_WANT_READ:
      return {Status::kWantRead, 0};
    case SSL_ERROR_WANT_WRITE:
      return {Status::kWantWrite, 0};
    case SSL_ERROR_ZERO_RETURN:
      return {Status::kClosed, 0};
    default:
      return {Status::kFailed, 0};
  }
}

TlsConnection::Io TlsConnection::Handshake() {
  if (handshake_done_) return {};
  ERR_clear_error();
  const int returned = SSL_do_handshake(ssl_);
  if (returned != 1) return Result(returned);
  handshake_done_ = true;
  // The context asks for and checks client certificates as configured; one that is here verified.
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
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  // No renegotiation (a client-driven way to spend the server's CPU); a peer that closes without
  // close_notify ends the stream like one that sends it (HTTP frames its own messages).
  SSL_CTX_set_options(raw, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                               SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_mode(raw, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  static constexpr unsigned char kSessionContext[] = "fhirhub";
  SSL_CTX_set_session_id_context(raw, kSessionContext, sizeof kSessionContext - 1);
  if (SSL_CTX_use_certificate_chain_file(raw, options.certificate.c_str()) != 1) {
    return InvalidTls("cannot read the TLS certificate " + options.certificate.string());
  }
  if (SSL_CTX_use_PrivateKey_file(raw, options.private_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return InvalidTls("cannot read the TLS private key " + options.private_key.string());
  }
  if (SSL_CTX_check_private_key(raw) != 1) {
    return InvalidTls("the TLS private key does not belong to the certificate");
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

}  // namespace server::security
