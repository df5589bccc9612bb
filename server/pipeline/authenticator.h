// Authentication: who sent a request. A bearer token (a JWT verified against the configured keys,
// server/security/jwt.h) becomes a Principal: its subject, client, user, organization, roles
// (mapped by auth::RoleMapping), scopes, patient context and purposes of use. Without
// authentication (`--auth off`, for local development only) every request is an administrator's
// with every scope.
#ifndef SERVER_PIPELINE_AUTHENTICATOR_H_
#define SERVER_PIPELINE_AUTHENTICATOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "fhir/result.h"
#include "server/pipeline/auth/certificate_clients.h"
#include "server/pipeline/auth/roles.h"
#include "server/rest/fhir_request.h"
#include "server/rest/principal.h"
#include "server/security/jwt.h"

namespace server::pipeline {

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // The principal of `request`; 401 (auth.missing-token, or the token's fault) when it has none.
  // Thread-safe.
  virtual fhir::Result<rest::Principal> Authenticate(const rest::FhirRequest& request) const = 0;
};

// Accepts bearer tokens signed by a key of the set that `keys` returns for the token's key id (it
// may change while the server runs: a JWKS URL fetched again for a key it does not hold yet).
// `now` gives the time in seconds since the epoch.
//
// A client sends the same token with many requests, and checking a signature costs more than
// answering a read: a verified token's principal is remembered for up to a minute (never past
// its expiry, which is checked on every use), for at most 10,000 tokens.
class TokenAuthenticator : public Authenticator {
 public:
  using Keys = std::function<std::shared_ptr<const security::KeySet>(std::string_view kid)>;
  TokenAuthenticator(Keys keys, security::JwtOptions options, auth::RoleMapping roles,
                     std::function<std::int64_t()> now);
  fhir::Result<rest::Principal> Authenticate(const rest::FhirRequest& request) const override;

 private:
  struct Verified {
    rest::Principal principal;
    std::int64_t expires = 0;     // exp
    std::int64_t not_before = 0;  // nbf
    std::int64_t remembered = 0;  // when it was verified
  };
  fhir::Result<rest::Principal> Verify(std::string_view token, std::int64_t now) const;

  Keys keys_;
  security::JwtOptions options_;
  auth::RoleMapping roles_;
  std::function<std::int64_t()> now_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<std::string, Verified> verified_;  // by token
};

// Mutual TLS beside bearer tokens: a request that carries no Authorization header and came over a
// connection with a verified client certificate is that certificate's client, as the operator's
// file names it (auth::CertificateClients; 401 auth.unknown-certificate for one it does not
// name). Every other request goes to `next`.
class CertificateAuthenticator : public Authenticator {
 public:
  CertificateAuthenticator(auth::CertificateClients clients, std::unique_ptr<Authenticator> next)
      : clients_(std::move(clients)), next_(std::move(next)) {}
  fhir::Result<rest::Principal> Authenticate(const rest::FhirRequest& request) const override;

 private:
  const auth::CertificateClients clients_;
  const std::unique_ptr<Authenticator> next_;
};

// No authentication: every request is an administrator's with `system/*.cruds user/*.cruds`.
class OpenAuthenticator : public Authenticator {
 public:
  fhir::Result<rest::Principal> Authenticate(const rest::FhirRequest& request) const override;
};

}  // namespace server::pipeline

#endif  // SERVER_PIPELINE_AUTHENTICATOR_H_
