#include "server/pipeline/auth/scopes.h"

#include <algorithm>

namespace server::auth {
namespace {

constexpr std::string_view kLetters = "cruds";

constexpr unsigned Bit(Permission permission) { return 1u << static_cast<unsigned>(permission); }

constexpr unsigned kRs = Bit(Permission::kRead) | Bit(Permission::kSearch);
constexpr unsigned kCud =
    Bit(Permission::kCreate) | Bit(Permission::kUpdate) | Bit(Permission::kDelete);

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX and '+' decoded; nullopt on a bad escape.
std::optional<std::string> PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int high = HexValue(text[i + 1]);
      int low = HexValue(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// A resource type name as FHIR writes them: an upper-case letter, then letters and digits.
bool IsTypeName(std::string_view text) {
  if (text.empty() || text.front() < 'A' || text.front() > 'Z') return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
}

// v1 names or v2 letters in canonical order; 0 when malformed.
unsigned ParsePermissions(std::string_view text, bool& v2) {
  v2 = false;
  if (text == "read") return kRs;
  if (text == "write") return kCud;
  if (text == "*") return kRs | kCud;
  if (text.empty()) return 0;
  unsigned bits = 0;
  size_t next = 0;  // letters must appear in the order of kLetters, each at most once
  for (char c : text) {
    size_t at = kLetters.find(c, next);
    if (at == std::string_view::npos) return 0;
    bits |= 1u << at;
    next = at + 1;
  }
  v2 = true;
  return bits;
}

std::optional<Constraint> ParseConstraint(std::string_view text) {
  if (text.empty()) return std::nullopt;
  Constraint constraint;
  while (true) {
    size_t amp = text.find('&');
    std::string_view pair = text.substr(0, amp);
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0) return std::nullopt;
    std::optional<std::string> name = PercentDecode(pair.substr(0, eq));
    std::optional<std::string> value = PercentDecode(pair.substr(eq + 1));
    if (!name || !value || name->empty() || value->empty()) return std::nullopt;
    constraint.emplace_back(std::move(*name), std::move(*value));
    if (amp == std::string_view::npos) break;
    text.remove_prefix(amp + 1);
  }
  return constraint;
}

void AddContext(std::vector<Context>& contexts, Context context) {
  if (std::find(contexts.begin(), contexts.end(), context) != contexts.end()) return;
  contexts.push_back(context);
  std::sort(contexts.begin(), contexts.end());
}

void AddConstraint(std::vector<Constraint>& constraints, const Constraint& constraint) {
  if (std::find(constraints.begin(), constraints.end(), constraint) == constraints.end()) {
    constraints.push_back(constraint);
  }
}

}  // namespace

std::string_view PermissionName(Permission permission) {
  switch (permission) {
    case Permission::kCreate:
      return "create";
    case Permission::kRead:
      return "read";
    case Permission::kUpdate:
      return "update";
    case Permission::kDelete:
      return "delete";
    case Permission::kSearch:
      return "search";
  }
  return "read";
}

char PermissionLetter(Permission permission) { return kLetters[static_cast<size_t>(permission)]; }

std::string_view ContextName(Context context) {
  switch (context) {
    case Context::kPatient:
      return "patient";
    case Context::kUser:
      return "user";
    case Context::kSystem:
      return "system";
  }
  return "user";
}

bool Grant::In(Context context) const {
  return std::find(contexts.begin(), contexts.end(), context) != contexts.end();
}

std::optional<Scope> ParseResourceScope(std::string_view text) {
  Scope scope;
  scope.text = std::string(text);
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view context = text.substr(0, slash);
  if (context == "patient") {
    scope.context = Context::kPatient;
  } else if (context == "user") {
    scope.context = Context::kUser;
  } else if (context == "system") {
    scope.context = Context::kSystem;
  } else {
    return std::nullopt;
  }
  std::string_view rest = text.substr(slash + 1);
  std::string_view query;
  if (size_t question = rest.find('?'); question != std::string_view::npos) {
    query = rest.substr(question + 1);
    rest = rest.substr(0, question);
    if (query.empty()) return std::nullopt;
  }
  size_t dot = rest.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view type = rest.substr(0, dot);
  if (type != "*" && !IsTypeName(type)) return std::nullopt;
  scope.type = std::string(type);
  scope.permissions = ParsePermissions(rest.substr(dot + 1), scope.v2);
  if (scope.permissions == 0) return std::nullopt;
  if (!query.empty()) {
    if (!scope.v2) return std::nullopt;  // constraints are a v2 feature
    std::optional<Constraint> constraint = ParseConstraint(query);
    if (!constraint) return std::nullopt;
    scope.constraint = std::move(*constraint);
  }
  return scope;
}

ScopeSet ScopeSet::Parse(std::string_view text) {
  ScopeSet set;
  std::vector<std::string_view> seen;
  while (!text.empty()) {
    size_t space = text.find(' ');
    std::string_view token = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
    if (token.empty() || std::find(seen.begin(), seen.end(), token) != seen.end()) continue;
    seen.push_back(token);
    bool resource_like =
        token.starts_with("patient/") || token.starts_with("user/") || token.starts_with("system/");
    if (!resource_like) {
      set.other_scopes_.emplace_back(token);
    } else if (std::optional<Scope> scope = ParseResourceScope(token)) {
      set.resource_scopes_.push_back(std::move(*scope));
    } else {
      set.ignored_scopes_.emplace_back(token);
    }
  }
  return set;
}

bool ScopeSet::HasOther(std::string_view scope) const {
  return std::find(other_scopes_.begin(), other_scopes_.end(), scope) != other_scopes_.end();
}

Grant ScopeSet::Grants(Permission permission, std::string_view type) const {
  return Collect(permission, type, std::nullopt);
}

Grant ScopeSet::Grants(Permission permission, std::string_view type, Context context) const {
  return Collect(permission, type, context);
}

Grant ScopeSet::Collect(Permission permission, std::string_view type,
                        std::optional<Context> context) const {
  Grant grant;
  bool unconstrained = false;
  for (const Scope& scope : resource_scopes_) {
    if (context && scope.context != *context) continue;
    if (!scope.Allows(permission) || !scope.Matches(type)) continue;
    grant.allowed = true;
    AddContext(grant.contexts, scope.context);
    if (scope.constraint.empty()) {
      unconstrained = true;
    } else {
      AddConstraint(grant.constraints, scope.constraint);
    }
  }
  if (unconstrained) grant.constraints.clear();
  return grant;
}

void MergeGrant(Grant& into, const Grant& more) {
  if (!more.allowed) return;
  if (!into.allowed) {
    into = more;
    return;
  }
  for (Context context : more.contexts) AddContext(into.contexts, context);
  if (into.constraints.empty() || more.constraints.empty()) {
    into.constraints.clear();
    return;
  }
  for (const Constraint& constraint : more.constraints) AddConstraint(into.constraints, constraint);
}

}  // namespace server::auth
