// Development tokens: the signing key of `fhirhub token`, kept in the data directory, and the
// claims of the tokens it mints. A server started in development mode trusts the same key
// (DevKeySet), so tokens minted on the command line work against it. Not for production: whoever
// can read the key file can mint any token.
#ifndef SERVER_MAIN_DEV_KEYS_H_
#define SERVER_MAIN_DEV_KEYS_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/result.h"
#include "server/security/jwt.h"
#include "server/security/keys.h"

namespace server::main {

// The key file's name inside the data directory.
inline constexpr std::string_view kDevKeyFile = "dev-token-key.pem";
// iss and aud of development tokens.
inline constexpr std::string_view kDevIssuer = "fhirhub-dev";
inline constexpr std::string_view kDevAudience = "fhirhub";

// The development key in `data_dir`/dev-token-key.pem. When the file is missing, the directory
// is created if needed and a new P-256 (ES256) key is written to it with mode 0600; two processes
// doing so at once end up with the same key. 500 dev-key.file when the directory or file cannot
// be created or read; 500 dev-key.permissions when the existing file is open to other users than
// its owner (group or other permission bits); 400 security.invalid-key when it holds no usable
// key.
fhir::Result<security::PrivateKey> LoadOrCreateDevKey(const std::filesystem::path& data_dir);

// The key's kid: its RFC 7638 thumbprint.
std::string DevKeyId(const security::PrivateKey& key);
// The JWKS document of the key's public half, with its kid.
std::string DevJwks(const security::PrivateKey& key);
// A key set holding the key's public half under its kid.
security::KeySet DevKeySet(const security::PrivateKey& key);

// The roles `fhirhub token` mints tokens for.
inline constexpr std::string_view kDevRoles[] = {"clinician", "station-operator", "connector",
                                                 "regulator", "administrator"};

// The SMART scopes a role gets when none are asked for; nullopt for an unknown role.
std::optional<std::string_view> DefaultScope(std::string_view role);

struct DevTokenRequest {
  std::string role;                   // one of kDevRoles
  std::string patient;                // patient id (SMART launch context); may be empty
  std::optional<std::string> scope;   // default: DefaultScope, or "patient/*.rs" with a patient
  std::string subject;                // default: "dev-" + role
  std::string fhir_user;              // "Practitioner/1"; may be empty
  std::string organization;           // "Organization/1"; may be empty
  std::vector<std::string> purposes;  // purpose-of-use codes (TREAT, ...); may be empty
  std::int64_t lifetime_seconds = 3600;
};

// The claims of a development token as a JSON object: iss, aud, sub, iat, nbf (both `now`), exp
// (`now` + lifetime), jti, scope, fhirhub_roles (the role), and, when given, patient, fhirUser,
// fhirhub_organization and purpose_of_use (an array). 400 dev-token.invalid when the role is
// unknown, the lifetime not between 1 second and 10 years, the patient not a FHIR id, fhirUser not
// "Type/id" or the organization not "Organization/id".
fhir::Result<std::string> DevTokenClaims(const DevTokenRequest& request, std::int64_t now,
                                         std::string_view token_id);

}  // namespace server::main

#endif  // SERVER_MAIN_DEV_KEYS_H_
