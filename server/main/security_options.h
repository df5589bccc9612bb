// The security options of `fhirhub serve`: how requests are authenticated (--auth), which keys,
// issuers and audience tokens must have, how token claims map to roles, how consent decides by
// default and how withheld resources are answered, and how the audit log chains and signs its
// records. Read from the command line or the FHIRHUB_* environment; listed with their defaults in
// docs/configuration.md and explained in docs/security.md.
#ifndef SERVER_MAIN_SECURITY_OPTIONS_H_
#define SERVER_MAIN_SECURITY_OPTIONS_H_

#include <chrono>
#include <filesystem>
#include <optional>
#include <set>
#include <string>

#include "fhir/result.h"
#include "server/main/command_line.h"
#include "server/pipeline/auth/certificate_clients.h"
#include "server/pipeline/auth/roles.h"
#include "server/pipeline/gate.h"
#include "server/pipeline/rate_limiter.h"
#include "server/security/digest.h"
#include "server/security/jwt.h"

namespace server::main {

enum class AuthMode {
  kOn,   // bearer tokens verified against --jwks (the default)
  kDev,  // tokens minted by `fhirhub token` with the data directory's development key
  kOff,  // no authentication: every request is an administrator's
};

struct SecurityOptions {
  AuthMode auth = AuthMode::kOn;
  std::string jwks;  // a JWKS file path, or an http(s) URL
  security::JwtOptions jwt;
  auth::RoleMapping roles = auth::RoleMapping::Default();
  // The system clients that authenticate with TLS client certificates instead of tokens.
  std::optional<auth::CertificateClients> certificate_clients;
  pipeline::GateOptions gate;
  // Requests per second and burst per client; per_second 0: no limit.
  pipeline::RateLimitOptions rate_limit;
  security::HashAlgorithm audit_hash = security::HashAlgorithm::kSha256;
  // The key that signs audit checkpoints (PEM: P-256 or SM2), and how often.
  std::optional<std::filesystem::path> audit_signing_key;
  int audit_checkpoint_seconds = 300;
  // How long audit records are kept (at least audit::kRetentionFloor); none: for ever. Needs the
  // signing key: the log is cut only at signed checkpoints.
  std::optional<std::chrono::days> audit_retention;
  // Off only with --auth off, to measure what the pipeline costs: no consent enforcement, no
  // audit records.
  bool audit = true;
};

// The valued options ParseSecurityOptions reads.
const std::set<std::string, std::less<>>& SecurityOptionNames();

// 400 cli.invalid-option naming the option for a value out of its range; --auth on without
// --jwks is refused, as are --consent off and --audit off unless --auth is off, and a role
// mapping file that cannot be read or parsed.
fhir::Result<SecurityOptions> ParseSecurityOptions(const CommandLine& cl);

}  // namespace server::main

#endif  // SERVER_MAIN_SECURITY_OPTIONS_H_
