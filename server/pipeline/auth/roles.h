// fhirhub roles: how a token's claims map to roles (the role mapping file), what each role may do
// at most (its ceiling), and the access decision that combines a token's scopes with the
// principal's roles. docs/security.md, "Scopes and roles", describes both for operators.
//
// The role mapping file is JSON:
//   {
//     "role_claim": "fhirhub_roles",                 // claim holding role values (string or list)
//     "organization_claim": "fhirhub_organization",  // claim naming the user's organization
//     "purpose_claim": "purpose_of_use",             // claim holding purposes of use
//     "roles": {                                     // fhirhub role -> claim values granting it
//       "clinician": ["doctor", "nurse"],
//       "station-operator": ["station"],
//       "connector": ["connector"],
//       "regulator": ["regulator"],
//       "administrator": ["admin"]
//     }
//   }
// Every member is optional; a missing claim name keeps the default one, a role missing from
// "roles" is granted by no claim value. One claim value may grant several roles.
//
// The ceilings (a role never does more, whatever its token's scopes say):
//   clinician         patient/*.cruds user/*.cruds, AuditEvent excluded
//   station-operator  user/Observation.cruds user/Patient.crus user/Device.cruds
//                     user/Location.rs user/Organization.rs user/Practitioner.rs patient/*.rs,
//                     AuditEvent excluded
//   connector         system/*.cruds, AuditEvent excluded
//   regulator         user/AuditEvent.rs system/AuditEvent.rs
//   administrator     patient/*.cruds user/*.cruds system/*.cruds
// and nobody creates, updates or deletes an AuditEvent through the API: the server writes them.
#ifndef SERVER_PIPELINE_AUTH_ROLES_H_
#define SERVER_PIPELINE_AUTH_ROLES_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/result.h"
#include "server/pipeline/auth/scopes.h"
#include "server/rest/principal.h"

namespace server::auth {

inline constexpr rest::Role kAllRoles[] = {rest::Role::kClinician, rest::Role::kStationOperator,
                                           rest::Role::kConnector, rest::Role::kRegulator,
                                           rest::Role::kAdministrator};

// "clinician", "station-operator", "connector", "regulator", "administrator".
std::string_view RoleName(rest::Role role);
// The inverse of RoleName; nullopt for any other text.
std::optional<rest::Role> ParseRole(std::string_view name);

// Claims of a verified token as string lists by claim name (a string claim is a list of one).
using Claims = std::map<std::string, std::vector<std::string>, std::less<>>;

class RoleMapping {
 public:
  // The built-in mapping: the claims named in the header comment, each role granted by its own
  // name ("clinician" -> clinician, ...).
  static RoleMapping Default();

  // Reads a role mapping file (format in the header comment). 400 auth.invalid-role-mapping when
  // the text is not JSON, a member has the wrong JSON type, a claim name is empty, or "roles"
  // names an unknown role; the text says which member.
  static fhir::Result<RoleMapping> FromJson(std::string_view text);

  const std::string& role_claim() const { return role_claim_; }
  const std::string& organization_claim() const { return organization_claim_; }
  const std::string& purpose_claim() const { return purpose_claim_; }

  // The roles the values of the role claim grant, distinct, in the order of rest::Role. Unknown
  // values grant nothing; no role claim means no role.
  std::vector<rest::Role> RolesFrom(const Claims& claims) const;

 private:
  std::string role_claim_ = "fhirhub_roles";
  std::string organization_claim_ = "fhirhub_organization";
  std::string purpose_claim_ = "purpose_of_use";
  std::map<std::string, std::vector<rest::Role>, std::less<>> roles_by_value_;
};

// Whether `role`'s ceiling permits `permission` on `type` in `context`.
bool RolePermits(rest::Role role, Permission permission, std::string_view type, Context context);

// The access decision for one interaction: what the token's scopes grant for (permission, type),
// kept to the contexts in which one of the principal's roles permits it. The grant's contexts and
// constraints are those of the scopes that survive. Errors, all 403:
//   auth.role-denied   the principal has no role, the interaction writes AuditEvent, or the
//                      scopes grant it but no role of the principal permits it;
//   auth.scope-denied  the token's scopes do not grant it.
// The text names the interaction and the type ("search on Observation").
fhir::Result<Grant> Decide(const rest::Principal& principal, const ScopeSet& scopes,
                           Permission permission, std::string_view type);

}  // namespace server::auth

#endif  // SERVER_PIPELINE_AUTH_ROLES_H_
