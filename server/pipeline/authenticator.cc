#include "server/pipeline/authenticator.h"

#include <string>
#include <utility>

namespace server::pipeline {

namespace {

constexpr std::int64_t kRememberSeconds = 60;
constexpr size_t kRememberedTokens = 10000;

// The first value of a claim, or "".
std::string First(const auth::Claims& claims, std::string_view name) {
  auto found = claims.find(name);
  return found == claims.end() || found->second.empty() ? std::string() : found->second.front();
}

}  // namespace

TokenAuthenticator::TokenAuthenticator(Keys keys, security::JwtOptions options,
                                       auth::RoleMapping roles, std::function<std::int64_t()> now)
    : keys_(std::move(keys)),
      options_(std::move(options)),
      roles_(std::move(roles)),
      now_(std::move(now)) {}

fhir::Result<rest::Principal> TokenAuthenticator::Authenticate(
    const rest::FhirRequest& request) const {
  std::optional<std::string_view> header = request.Header("authorization");
  if (!header) {
    return fhir::Error::Unauthorized(
        "auth.missing-token", "This server needs a bearer token (Authorization: Bearer ...)");
  }
  std::string_view value = *header;
  constexpr std::string_view kBearer = "bearer ";
  if (value.size() <= kBearer.size() ||
      !std::equal(kBearer.begin(), kBearer.end(), value.begin(), [](char a, char b) {
        return a == std::tolower(static_cast<unsigned char>(b));
      })) {
    return fhir::Error::Unauthorized("auth.missing-token",
                                     "The Authorization header must carry a bearer token");
  }
  value.remove_prefix(kBearer.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  const std::int64_t now = now_();
  {
    std::lock_guard lock(mutex_);
    auto found = verified_.find(std::string(value));
    if (found != verified_.end()) {
      const Verified& known = found->second;
      const std::int64_t skew = options_.clock_skew_seconds;
      if (now - known.remembered < kRememberSeconds && now <= known.expires + skew &&
          now + skew >= known.not_before) {
        return known.principal;
      }
      verified_.erase(found);
    }
  }
  return Verify(value, now);
}

fhir::Result<rest::Principal> TokenAuthenticator::Verify(std::string_view value,
                                                         std::int64_t now) const {
  std::shared_ptr<const security::KeySet> keys = keys_(security::JwtKeyId(value));
  auto claims = security::VerifyJwt(value, *keys, options_, now);
  if (!claims.ok()) return std::move(claims).error();
  rest::Principal principal;
  principal.method = "token";
  principal.subject = claims->subject;
  principal.issuer = claims->issuer;
  principal.client_id = claims->client_id;
  principal.token_id = claims->token_id;
  principal.fhir_user = claims->fhir_user;
  principal.scope = claims->scope;
  if (!claims->patient.empty()) principal.patient = claims->patient;
  principal.roles = roles_.RolesFrom(claims->strings);
  principal.organization = First(claims->strings, roles_.organization_claim());
  if (auto purposes = claims->strings.find(roles_.purpose_claim());
      purposes != claims->strings.end()) {
    principal.purpose_of_use = purposes->second;
  }
  // Only tokens that expire are remembered, and never past their expiry.
  if (claims->expires > 0) {
    std::lock_guard lock(mutex_);
    if (verified_.size() >= kRememberedTokens) verified_.clear();
    verified_[std::string(value)] = {principal, claims->expires, claims->not_before, now};
  }
  return principal;
}

fhir::Result<rest::Principal> CertificateAuthenticator::Authenticate(
    const rest::FhirRequest& request) const {
  if (request.Header("authorization") || !request.client_certificate) {
    return next_->Authenticate(request);
  }
  if (auto principal = clients_.Find(*request.client_certificate)) return *std::move(principal);
  return fhir::Error::Unauthorized(
      "auth.unknown-certificate",
      "The client certificate verified but is not one this server's operator has named; send a "
      "bearer token or ask for the certificate to be registered");
}

fhir::Result<rest::Principal> OpenAuthenticator::Authenticate(const rest::FhirRequest&) const {
  rest::Principal principal;
  principal.method = "none";
  principal.subject = "anonymous";
  principal.roles = {rest::Role::kAdministrator};
  principal.scope = "system/*.cruds user/*.cruds";
  return principal;
}

}  // namespace server::pipeline
