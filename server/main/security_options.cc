#include "server/main/security_options.h"

#include <algorithm>
#include <utility>

#include "server/audit/audit_retention.h"
#include "server/main/http_options.h"

namespace server::main {

namespace {

fhir::Error InvalidOption(std::string_view name, std::string text) {
  const std::string option = "--" + std::string(name);
  return fhir::Error::Invalid("cli.invalid-option", option + " " + text, option);
}

}  // namespace

const std::set<std::string, std::less<>>& SecurityOptionNames() {
  static const std::set<std::string, std::less<>> names = {
      "auth",
      "jwks",
      "token-issuer",
      "token-audience",
      "token-clock-skew",
      "role-mapping",
      "certificate-clients",
      "rate-limit",
      "rate-limit-burst",
      "consent-default",
      "withheld-reads",
      "audit-hash",
      "audit-signing-key",
      "audit-checkpoint-seconds",
      "audit-retention-days",
      "consent",
      "audit",
  };
  return names;
}

fhir::Result<SecurityOptions> ParseSecurityOptions(const CommandLine& cl) {
  SecurityOptions options;
  const std::string auth = cl.GetOrEnv("auth").value_or("on");
  if (auth == "on") {
    options.auth = AuthMode::kOn;
  } else if (auth == "dev") {
    options.auth = AuthMode::kDev;
  } else if (auth == "off") {
    options.auth = AuthMode::kOff;
  } else {
    return InvalidOption("auth", "is on, dev or off");
  }
  options.jwks = cl.GetOrEnv("jwks").value_or("");
  if (options.auth == AuthMode::kOn && options.jwks.empty()) {
    return InvalidOption("jwks",
                         "must name the keys that sign tokens (a JWKS file or URL) when --auth is "
                         "on; --auth dev or --auth off are for development only");
  }
  options.jwt.issuers = cl.GetAll("token-issuer");
  if (options.jwt.issuers.empty()) {
    if (auto issuer = cl.GetOrEnv("token-issuer")) options.jwt.issuers.push_back(*issuer);
  }
  options.jwt.audience = cl.GetOrEnv("token-audience").value_or("");
  auto skew = ParseNumber(cl, "token-clock-skew", 0, 3600, options.jwt.clock_skew_seconds);
  if (!skew.ok()) return std::move(skew).error();
  options.jwt.clock_skew_seconds = *skew;

  if (auto file = cl.GetOrEnv("role-mapping")) {
    std::optional<std::string> text = ReadFileText(*file);
    if (!text) return InvalidOption("role-mapping", "names a file that cannot be read: " + *file);
    auto mapping = auth::RoleMapping::FromJson(*text);
    if (!mapping.ok()) return std::move(mapping).error();
    options.roles = std::move(mapping).value();
  }

  if (auto file = cl.GetOrEnv("certificate-clients")) {
    if (options.auth == AuthMode::kOff) {
      return InvalidOption("certificate-clients", "has no effect with --auth off");
    }
    if (!cl.GetOrEnv("tls-client-ca")) {
      return InvalidOption("certificate-clients",
                           "needs TLS with client certificates (--tls-client-ca)");
    }
    std::optional<std::string> text = ReadFileText(*file);
    if (!text) {
      return InvalidOption("certificate-clients", "names a file that cannot be read: " + *file);
    }
    auto clients = auth::CertificateClients::FromJson(*text);
    if (!clients.ok()) return std::move(clients).error();
    options.certificate_clients = std::move(clients).value();
  }

  auto rate = ParseNumber(cl, "rate-limit", 0, 1000000, 0);
  if (!rate.ok()) return std::move(rate).error();
  auto burst = ParseNumber(cl, "rate-limit-burst", 1, 10000000, std::max<long long>(1, 2 * *rate));
  if (!burst.ok()) return std::move(burst).error();
  if (*rate == 0 && cl.GetOrEnv("rate-limit-burst")) {
    return InvalidOption("rate-limit-burst", "needs --rate-limit");
  }
  options.rate_limit.per_second = static_cast<double>(*rate);
  options.rate_limit.burst = static_cast<double>(*burst);

  for (const char* name : {"consent", "audit"}) {
    const std::string value = cl.GetOrEnv(name).value_or("on");
    if (value != "on" && value != "off") return InvalidOption(name, "is on or off");
    if (value == "off" && options.auth != AuthMode::kOff) {
      return InvalidOption(name, "can be off only with --auth off");
    }
    (std::string_view(name) == "consent" ? options.gate.consent : options.audit) = value == "on";
  }
  const std::string consent = cl.GetOrEnv("consent-default").value_or("opt-out");
  if (consent == "opt-out") {
    options.gate.consent_default = consent::DefaultPolicy::kOptOut;
  } else if (consent == "opt-in") {
    options.gate.consent_default = consent::DefaultPolicy::kOptIn;
  } else {
    return InvalidOption("consent-default", "is opt-out or opt-in");
  }
  const std::string withheld = cl.GetOrEnv("withheld-reads").value_or("403");
  if (withheld != "403" && withheld != "404")
    return InvalidOption("withheld-reads", "is 403 or 404");
  options.gate.hide_withheld = withheld == "404";

  const std::string hash = cl.GetOrEnv("audit-hash").value_or("sha256");
  auto algorithm = security::ParseHashAlgorithm(hash);
  if (!algorithm) return InvalidOption("audit-hash", "is sha256 or sm3");
  options.audit_hash = *algorithm;
  if (auto key = cl.GetOrEnv("audit-signing-key")) options.audit_signing_key = *key;
  auto every =
      ParseNumber(cl, "audit-checkpoint-seconds", 10, 86400, options.audit_checkpoint_seconds);
  if (!every.ok()) return std::move(every).error();
  options.audit_checkpoint_seconds = static_cast<int>(*every);
  if (cl.GetOrEnv("audit-retention-days")) {
    const long long floor = audit::kRetentionFloor.count();
    auto days = ParseNumber(cl, "audit-retention-days", floor, 36500, floor);
    if (!days.ok()) return std::move(days).error();
    if (!options.audit_signing_key) {
      return InvalidOption("audit-retention-days",
                           "needs --audit-signing-key: records are removed only up to a signed "
                           "checkpoint");
    }
    options.audit_retention = std::chrono::days(*days);
  }
  return options;
}

}  // namespace server::main
