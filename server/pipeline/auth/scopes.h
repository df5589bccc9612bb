// SMART App Launch scopes, versions 1 and 2
// (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html): parsing a token's `scope`
// claim and asking what it grants for one resource type.
//
// A resource scope is `{patient|user|system}/{Type|*}.{permissions}[?{constraint}]`:
//   - v1 permissions: `read` (= rs), `write` (= cud), `*` (= cruds);
//   - v2 permissions: a non-empty subset of `cruds` written in that order (`rs`, `cu`, `cruds`;
//     `sr` or `rr` are malformed): c create, r read/vread/history of an instance, u update/patch,
//     d delete, s search/history of a type or of the system;
//   - a v2 scope may end in a query constraint `?name=value&name2=value2`: the scope applies only
//     to resources that match every (name, value) pair, as a search would. Names and values are
//     kept percent-decoded (`+` is a space).
// Every other scope (openid, fhirUser, launch, launch/patient, offline_access, online_access, and
// unknown ones) is kept aside and grants no access. A scope that starts like a resource scope but
// is malformed is ignored, as SMART requires for scopes a server does not understand; both lists
// are exposed. Parsing never fails.
//
// Objects are immutable after parsing and safe to share between threads.
#ifndef SERVER_PIPELINE_AUTH_SCOPES_H_
#define SERVER_PIPELINE_AUTH_SCOPES_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace server::auth {

// The five SMART v2 permissions, in their canonical order c, r, u, d, s.
enum class Permission { kCreate, kRead, kUpdate, kDelete, kSearch };

// The context a scope is granted in: `patient/` (bounded by the patient in context), `user/`
// (what the user may access) or `system/` (a backend service, no user).
enum class Context { kPatient, kUser, kSystem };

inline constexpr Permission kAllPermissions[] = {Permission::kCreate, Permission::kRead,
                                                 Permission::kUpdate, Permission::kDelete,
                                                 Permission::kSearch};
inline constexpr Context kAllContexts[] = {Context::kPatient, Context::kUser, Context::kSystem};

// "create", "read", "update", "delete", "search".
std::string_view PermissionName(Permission permission);
// The SMART v2 letter: 'c', 'r', 'u', 'd', 's'.
char PermissionLetter(Permission permission);
// "patient", "user", "system".
std::string_view ContextName(Context context);

// A v2 query constraint: (search parameter, value) pairs that must all hold. Never empty in a
// Scope that has a constraint.
using Constraint = std::vector<std::pair<std::string, std::string>>;

// One parsed resource scope.
struct Scope {
  std::string text;  // as written in the token
  Context context = Context::kUser;
  std::string type;          // a resource type name, or "*" for every type
  unsigned permissions = 0;  // bit (1 << Permission) for each permission granted
  bool v2 = false;           // written with v2 permission letters
  Constraint constraint;     // empty: no constraint

  bool Allows(Permission permission) const {
    return (permissions & (1u << static_cast<unsigned>(permission))) != 0;
  }
  bool Matches(std::string_view resource_type) const {
    return type == "*" || type == resource_type;
  }
};

// What a set of scopes grants for one permission on one resource type.
struct Grant {
  bool allowed = false;
  // The contexts in which some scope grants it, distinct, in the order of Context.
  std::vector<Context> contexts;
  // The alternatives a resource must satisfy (any one of them) when every granting scope carries
  // a constraint. Empty when the access is unconstrained (some granting scope has no constraint)
  // or not allowed.
  std::vector<Constraint> constraints;

  bool unconstrained() const { return allowed && constraints.empty(); }
  bool In(Context context) const;
};

class ScopeSet {
 public:
  ScopeSet() = default;

  // Parses a space-separated scope string (as in the token's `scope` claim or a token response).
  // Runs of spaces are one separator; duplicates are kept once.
  static ScopeSet Parse(std::string_view text);

  // The resource scopes understood, in the order written.
  const std::vector<Scope>& resource_scopes() const { return resource_scopes_; }
  // Scopes that are not resource scopes (openid, fhirUser, launch/patient, unknown ones).
  const std::vector<std::string>& other_scopes() const { return other_scopes_; }
  // Scopes that looked like resource scopes but were malformed, and were ignored.
  const std::vector<std::string>& ignored_scopes() const { return ignored_scopes_; }

  // Whether `scope` is among the other scopes ("openid", "launch/patient", ...).
  bool HasOther(std::string_view scope) const;

  // What the scopes grant for `permission` on `type` in any context.
  Grant Grants(Permission permission, std::string_view type) const;
  // The same, counting only the scopes of one context.
  Grant Grants(Permission permission, std::string_view type, Context context) const;

 private:
  Grant Collect(Permission permission, std::string_view type, std::optional<Context> context) const;

  std::vector<Scope> resource_scopes_;
  std::vector<std::string> other_scopes_;
  std::vector<std::string> ignored_scopes_;
};

// Parses one resource scope; nullopt when `text` is not a well-formed resource scope.
std::optional<Scope> ParseResourceScope(std::string_view text);

// Merges `more` into `into`: contexts united, constraints united with the rule of Grant (an
// unconstrained grant absorbs constrained ones). Both must be allowed grants, or `into` empty.
void MergeGrant(Grant& into, const Grant& more);

}  // namespace server::auth

#endif  // SERVER_PIPELINE_AUTH_SCOPES_H_
