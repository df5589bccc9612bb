#include "server/pipeline/auth/roles.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <utility>

namespace server::auth {
namespace {

using rest::Role;

constexpr std::string_view kAuditEvent = "AuditEvent";

// A role's ceiling: the scopes it may at most use, and the types it never touches.
struct Ceiling {
  ScopeSet scopes;
  bool excludes_audit_event = false;
};

const Ceiling& CeilingOf(Role role) {
  static const Ceiling kClinician{ScopeSet::Parse("patient/*.cruds user/*.cruds"), true};
  static const Ceiling kStationOperator{
      ScopeSet::Parse("user/Observation.cruds user/Patient.crus user/Device.cruds "
                      "user/Location.rs user/Organization.rs user/Practitioner.rs patient/*.rs"),
      true};
  static const Ceiling kConnector{ScopeSet::Parse("system/*.cruds"), true};
  static const Ceiling kRegulator{ScopeSet::Parse("user/AuditEvent.rs system/AuditEvent.rs"),
                                  false};
  static const Ceiling kAdministrator{
      ScopeSet::Parse("patient/*.cruds user/*.cruds system/*.cruds"), false};
  switch (role) {
    case Role::kClinician:
      return kClinician;
    case Role::kStationOperator:
      return kStationOperator;
    case Role::kConnector:
      return kConnector;
    case Role::kRegulator:
      return kRegulator;
    case Role::kAdministrator:
      return kAdministrator;
  }
  return kClinician;
}

bool WritesAuditEvent(Permission permission, std::string_view type) {
  return type == kAuditEvent && permission != Permission::kRead &&
         permission != Permission::kSearch;
}

std::string Interaction(Permission permission, std::string_view type) {
  std::string text(PermissionName(permission));
  text += " on ";
  text += type;
  return text;
}

fhir::Error InvalidMapping(std::string text) {
  return fhir::Error::Invalid("auth.invalid-role-mapping", std::move(text));
}

// Reads an optional string member into `out`; false (with `error`) on a wrong type or an empty
// string.
bool ReadClaimName(const rapidjson::Value& doc, const char* member, std::string& out,
                   std::optional<fhir::Error>& error) {
  auto it = doc.FindMember(member);
  if (it == doc.MemberEnd()) return true;
  if (!it->value.IsString() || it->value.GetStringLength() == 0) {
    error =
        InvalidMapping(std::string("role mapping: \"") + member + "\" must be a non-empty string");
    return false;
  }
  out.assign(it->value.GetString(), it->value.GetStringLength());
  return true;
}

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kClinician:
      return "clinician";
    case Role::kStationOperator:
      return "station-operator";
    case Role::kConnector:
      return "connector";
    case Role::kRegulator:
      return "regulator";
    case Role::kAdministrator:
      return "administrator";
  }
  return "clinician";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (Role role : kAllRoles) {
    if (RoleName(role) == name) return role;
  }
  return std::nullopt;
}

RoleMapping RoleMapping::Default() {
  RoleMapping mapping;
  for (Role role : kAllRoles) mapping.roles_by_value_[std::string(RoleName(role))] = {role};
  return mapping;
}

fhir::Result<RoleMapping> RoleMapping::FromJson(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError()) {
    return InvalidMapping(std::string("role mapping: not JSON (") +
                          rapidjson::GetParseError_En(doc.GetParseError()) + ")");
  }
  if (!doc.IsObject()) return InvalidMapping("role mapping: the document must be a JSON object");
  RoleMapping mapping;
  std::optional<fhir::Error> error;
  if (!ReadClaimName(doc, "role_claim", mapping.role_claim_, error) ||
      !ReadClaimName(doc, "organization_claim", mapping.organization_claim_, error) ||
      !ReadClaimName(doc, "purpose_claim", mapping.purpose_claim_, error)) {
    return *std::move(error);
  }
  auto roles = doc.FindMember("roles");
  if (roles == doc.MemberEnd()) return mapping;
  if (!roles->value.IsObject()) return InvalidMapping("role mapping: \"roles\" must be an object");
  for (const auto& member : roles->value.GetObject()) {
    std::string_view name(member.name.GetString(), member.name.GetStringLength());
    std::optional<Role> role = ParseRole(name);
    if (!role) {
      return InvalidMapping("role mapping: \"roles\" names an unknown role \"" + std::string(name) +
                            "\"");
    }
    if (!member.value.IsArray()) {
      return InvalidMapping("role mapping: \"roles\"." + std::string(name) +
                            " must be an array of strings");
    }
    for (const auto& value : member.value.GetArray()) {
      if (!value.IsString() || value.GetStringLength() == 0) {
        return InvalidMapping("role mapping: \"roles\"." + std::string(name) +
                              " must hold non-empty strings");
      }
      std::vector<Role>& granted =
          mapping.roles_by_value_[std::string(value.GetString(), value.GetStringLength())];
      if (std::find(granted.begin(), granted.end(), *role) == granted.end()) {
        granted.push_back(*role);
      }
    }
  }
  return mapping;
}

std::vector<Role> RoleMapping::RolesFrom(const Claims& claims) const {
  std::vector<Role> roles;
  auto claim = claims.find(role_claim_);
  if (claim == claims.end()) return roles;
  for (const std::string& value : claim->second) {
    auto it = roles_by_value_.find(value);
    if (it == roles_by_value_.end()) continue;
    for (Role role : it->second) {
      if (std::find(roles.begin(), roles.end(), role) == roles.end()) roles.push_back(role);
    }
  }
  std::sort(roles.begin(), roles.end());
  return roles;
}

bool RolePermits(Role role, Permission permission, std::string_view type, Context context) {
  if (WritesAuditEvent(permission, type)) return false;
  const Ceiling& ceiling = CeilingOf(role);
  if (ceiling.excludes_audit_event && type == kAuditEvent) return false;
  return ceiling.scopes.Grants(permission, type, context).allowed;
}

fhir::Result<Grant> Decide(const rest::Principal& principal, const ScopeSet& scopes,
                           Permission permission, std::string_view type) {
  if (principal.roles.empty()) {
    return fhir::Error::Forbidden(
        "auth.role-denied",
        "no role permits " + Interaction(permission, type) + ": the principal has no fhirhub role");
  }
  if (WritesAuditEvent(permission, type)) {
    return fhir::Error::Forbidden("auth.role-denied", "no role permits " +
                                                          Interaction(permission, type) +
                                                          ": the server alone writes audit events");
  }
  Grant granted;
  bool scoped = false;
  for (Context context : kAllContexts) {
    Grant in_context = scopes.Grants(permission, type, context);
    if (!in_context.allowed) continue;
    scoped = true;
    bool permitted = std::any_of(principal.roles.begin(), principal.roles.end(), [&](Role role) {
      return RolePermits(role, permission, type, context);
    });
    if (permitted) MergeGrant(granted, in_context);
  }
  if (!scoped) {
    return fhir::Error::Forbidden(
        "auth.scope-denied", "the token's scopes do not grant " + Interaction(permission, type));
  }
  if (!granted.allowed) {
    return fhir::Error::Forbidden("auth.role-denied", "no role of the principal permits " +
                                                          Interaction(permission, type) +
                                                          " in the granted contexts");
  }
  return granted;
}

}  // namespace server::auth
