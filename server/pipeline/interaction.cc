#include "server/pipeline/interaction.h"

#include <string_view>

namespace server::pipeline {

namespace {

using auth::Permission;
using rest::Method;

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= path.size() && !path.empty()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

std::vector<std::string> TypeList(const rest::FhirRequest& request) {
  std::vector<std::string> types;
  for (const auto& [name, value] : request.query) {
    if (name != "_type") continue;
    size_t start = 0;
    while (start <= value.size()) {
      size_t comma = value.find(',', start);
      if (comma == std::string::npos) comma = value.size();
      if (comma > start) types.push_back(value.substr(start, comma - start));
      start = comma + 1;
    }
  }
  return types;
}

Interaction Make(std::string code, char action, std::optional<Permission> permission,
                 std::vector<std::string> types, std::string id = {}) {
  Interaction out;
  out.code = std::move(code);
  out.action = action;
  out.permission = permission;
  out.types = std::move(types);
  out.id = std::move(id);
  return out;
}

// The station feed: vendor batches become Observations (each entry is authorized again as a
// create through the sink); the pending queue is the operators'.
Interaction StationFeed(const std::vector<std::string_view>& s, Method m) {
  using rest::Role;
  const std::vector<Role> feeders = {Role::kStationOperator, Role::kConnector,
                                     Role::kAdministrator};
  const std::vector<Role> operators = {Role::kStationOperator, Role::kAdministrator};
  Interaction out;
  if (s.size() == 1 && m == Method::kPost) {
    out = Make("operation", 'E', Permission::kCreate, {"Observation"});
    out.roles = feeders;
  } else if (s.size() == 2 && s[1] == "pending" && m == Method::kGet) {
    out = Make("operation", 'E', Permission::kSearch, {"Observation"});
    out.roles = operators;
  } else if (s.size() == 3 && s[1] == "pending" && m == Method::kDelete) {
    out = Make("operation", 'E', Permission::kDelete, {"Observation"});
    out.roles = operators;
  } else if (s.size() == 4 && s[1] == "pending" && s[3] == "$resolve" && m == Method::kPost) {
    out = Make("operation", 'E', Permission::kCreate, {"Observation"});
    out.roles = operators;
  } else {
    // A path of the feed no interaction has: only its users learn that (the router answers).
    out.roles = operators;
    out.roles.push_back(Role::kConnector);
  }
  return out;
}

}  // namespace

Interaction Classify(const rest::FhirRequest& request, const fhir::model::Definitions& defs) {
  const std::vector<std::string_view> s = Segments(request.path);
  const Method m = request.method == Method::kHead ? Method::kGet : request.method;
  auto is_type = [&](std::string_view name) { return defs.FindResource(name) != nullptr; };
  Interaction unknown;
  if (s.empty()) {
    if (m == Method::kGet)
      return Make("search-system", 'E', Permission::kSearch, TypeList(request));
    if (m == Method::kPost) {
      const bool transaction = request.body && request.body->root() != nullptr && [&] {
        const fhir::Node* type = request.body->root()->Child("type");
        return type != nullptr && type->value == "transaction";
      }();
      return Make(transaction ? "transaction" : "batch", 'E', std::nullopt, {});
    }
    return unknown;
  }
  if (s[0] == kStationFeedPath) return StationFeed(s, m);
  if (s.size() == 1) {
    if (s[0] == "metadata") {
      Interaction open = Make("capabilities", 'R', std::nullopt, {});
      open.open = true;
      return open;
    }
    if (s[0] == "_history") return Make("history-system", 'R', Permission::kSearch, {});
    if (s[0] == "_search" && m == Method::kPost) {
      return Make("search-system", 'E', Permission::kSearch, TypeList(request));
    }
    if (!is_type(s[0])) return unknown;
    const std::string type(s[0]);
    switch (m) {
      case Method::kGet:
        return Make("search-type", 'E', Permission::kSearch, {type});
      case Method::kPost:
        return Make("create", 'C', Permission::kCreate, {type});
      case Method::kPut:
        return Make("update", 'U', Permission::kUpdate, {type});
      case Method::kPatch:
        return Make("patch", 'U', Permission::kUpdate, {type});
      case Method::kDelete:
        return Make("delete", 'D', Permission::kDelete, {type});
      default:
        return unknown;
    }
  }
  if (s.size() == 2 && s[0] == ".well-known" && s[1] == "smart-configuration") {
    Interaction open = Make("capabilities", 'R', std::nullopt, {});
    open.open = true;
    return open;
  }
  if (!is_type(s[0])) return unknown;
  const std::string type(s[0]);
  if (s.size() == 2) {
    if (s[1] == "_search" && m == Method::kPost) {
      return Make("search-type", 'E', Permission::kSearch, {type});
    }
    if (s[1] == "_history") return Make("history-type", 'R', Permission::kSearch, {type});
    if (s[1].starts_with("$")) return Make("operation", 'E', Permission::kRead, {type});
    const std::string id(s[1]);
    switch (m) {
      case Method::kGet:
        return Make("read", 'R', Permission::kRead, {type}, id);
      case Method::kPut:
        return Make("update", 'U', Permission::kUpdate, {type}, id);
      case Method::kPatch:
        return Make("patch", 'U', Permission::kUpdate, {type}, id);
      case Method::kDelete:
        return Make("delete", 'D', Permission::kDelete, {type}, id);
      default:
        return unknown;
    }
  }
  const std::string id(s[1]);
  if (s.size() == 3) {
    if (s[2] == "_history") return Make("history-instance", 'R', Permission::kRead, {type}, id);
    if (s[2].starts_with("$")) return Make("operation", 'E', Permission::kRead, {type}, id);
    // A compartment search: Patient/1/Observation searches Observation.
    if (is_type(s[2])) return Make("search-type", 'E', Permission::kSearch, {std::string(s[2])});
    return unknown;
  }
  if (s.size() == 4 && s[2] == "_history") {
    return Make("vread", 'R', Permission::kRead, {type}, id);
  }
  return unknown;
}

}  // namespace server::pipeline
