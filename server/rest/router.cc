#include "server/rest/router.h"

#include <algorithm>
#include <exception>

#include "fhir/model/primitive.h"
#include "fhir/outcome.h"

namespace server::rest {

Method ParseMethod(std::string_view method) {
  if (method == "GET") return Method::kGet;
  if (method == "HEAD") return Method::kHead;
  if (method == "POST") return Method::kPost;
  if (method == "PUT") return Method::kPut;
  if (method == "PATCH") return Method::kPatch;
  if (method == "DELETE") return Method::kDelete;
  if (method == "OPTIONS") return Method::kOptions;
  return Method::kOther;
}

namespace {

std::string_view MethodName(Method method) {
  switch (method) {
    case Method::kGet:
      return "GET";
    case Method::kHead:
      return "HEAD";
    case Method::kPost:
      return "POST";
    case Method::kPut:
      return "PUT";
    case Method::kPatch:
      return "PATCH";
    case Method::kDelete:
      return "DELETE";
    case Method::kOptions:
      return "OPTIONS";
    case Method::kOther:
      break;
  }
  return "";
}

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view segment = path.substr(0, slash);
    if (!segment.empty()) out.push_back(segment);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

}  // namespace

std::optional<std::string_view> FhirRequest::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return std::nullopt;
}

std::optional<std::string_view> FhirRequest::Param(std::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) return value;
  }
  return std::nullopt;
}

void Router::Add(Method method, std::string_view pattern, Handler handler) {
  RouteEntry route{method, {}, std::move(handler)};
  for (std::string_view segment : Split(pattern)) route.segments.emplace_back(segment);
  routes_.push_back(std::move(route));
}

bool Router::Match(const RouteEntry& route, const std::vector<std::string_view>& path,
                   PathParams* params) const {
  if (route.segments.size() != path.size()) return false;
  PathParams captured;
  for (size_t i = 0; i < path.size(); ++i) {
    const std::string& segment = route.segments[i];
    if (segment == "{type}" || segment == "{compartment}") {
      if (defs_.FindResource(path[i]) == nullptr) return false;
      captured.emplace(segment.substr(1, segment.size() - 2), std::string(path[i]));
    } else if (segment == "{id}" || segment == "{vid}") {
      if (!fhir::model::IsValidPrimitive(fhir::model::PrimitiveKind::kId, path[i])) return false;
      captured.emplace(segment.substr(1, segment.size() - 2), std::string(path[i]));
    } else if (segment != path[i]) {
      return false;
    }
  }
  *params = std::move(captured);
  return true;
}

FhirResponse Router::ErrorResponse(const fhir::Error& error) const {
  FhirResponse response;
  response.status = error.http_status();
  response.body = fhir::ToOperationOutcome(error, defs_);
  return response;
}

const Router::RouteEntry* Router::Find(const FhirRequest& request, PathParams* params,
                                       std::vector<std::string_view>* allowed) const {
  const std::vector<std::string_view> path = Split(request.path);
  // HEAD is answered as GET without a body by the HTTP adapter.
  const Method method = request.method == Method::kHead ? Method::kGet : request.method;
  for (const RouteEntry& route : routes_) {
    if (!Match(route, path, params)) continue;
    if (route.method == method) return &route;
    allowed->push_back(MethodName(route.method));
    // HEAD is served wherever GET is.
    if (route.method == Method::kGet) allowed->push_back(MethodName(Method::kHead));
  }
  std::sort(allowed->begin(), allowed->end());
  allowed->erase(std::unique(allowed->begin(), allowed->end()), allowed->end());
  return nullptr;
}

fhir::Result<FhirResponse> Router::Call(const RouteEntry& route, const FhirRequest& request,
                                        const PathParams& params) {
  try {
    return route.handler(request, params);
  } catch (const std::exception&) {
    // Handlers return errors as values; anything thrown is a defect, answered without details.
    return fhir::Error::Internal("server.internal", "The server failed to process the request");
  }
}

namespace {

fhir::Error NoRoute(bool other_methods) {
  if (other_methods) {
    return fhir::Error::MethodNotAllowed("rest.method-not-allowed",
                                         "This interaction is not supported on this path");
  }
  return fhir::Error::NotFound("rest.unknown-path", "No FHIR interaction is served at this path");
}

}  // namespace

fhir::Result<FhirResponse> Router::Route(const FhirRequest& request) const {
  PathParams params;
  std::vector<std::string_view> allowed;
  const RouteEntry* route = Find(request, &params, &allowed);
  if (route == nullptr) return NoRoute(!allowed.empty());
  return Call(*route, request, params);
}

FhirResponse Router::Dispatch(const FhirRequest& request) const {
  PathParams params;
  std::vector<std::string_view> allowed;
  const RouteEntry* route = Find(request, &params, &allowed);
  if (route != nullptr) {
    fhir::Result<FhirResponse> result = Call(*route, request, params);
    if (result.ok()) return std::move(result).value();
    return ErrorResponse(result.error());
  }
  return ErrorResponse(request, NoRoute(!allowed.empty()));
}

FhirResponse Router::ErrorResponse(const FhirRequest& request, const fhir::Error& error) const {
  FhirResponse response = ErrorResponse(error);
  if (error.http_status() != 405) return response;
  PathParams params;
  std::vector<std::string_view> allowed;
  Find(request, &params, &allowed);
  std::string allow;
  for (std::string_view m : allowed) {
    if (!allow.empty()) allow += ", ";
    allow += m;
  }
  if (!allow.empty()) response.headers.emplace_back("allow", std::move(allow));
  return response;
}

}  // namespace server::rest
