// The router: a table of (method, path pattern) -> handler. It knows neither HTTP nor storage.
// Patterns are '/'-separated segments; a segment "{type}" matches a resource type name known to
// the definitions, "{id}" and "{vid}" (a version id) match a FHIR id, anything else matches
// literally. A path that no pattern matches answers 404; a path matched with another method
// answers 405 with an Allow header. Every error answer carries an OperationOutcome. Dispatch is
// thread-safe once the table is built.
#ifndef SERVER_REST_ROUTER_H_
#define SERVER_REST_ROUTER_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/model/definitions.h"
#include "fhir/result.h"
#include "server/rest/dispatcher.h"
#include "server/rest/fhir_request.h"

namespace server::rest {

// Path parameters captured by "{type}", "{id}" and "{vid}" segments.
using PathParams = std::map<std::string, std::string, std::less<>>;

using Handler = std::function<fhir::Result<FhirResponse>(const FhirRequest&, const PathParams&)>;

class Router : public Dispatcher {
 public:
  explicit Router(const fhir::model::Definitions& defs) : defs_(defs) {}

  void Add(Method method, std::string_view pattern, Handler handler);

  // Routes one request. Never throws; handler errors become OperationOutcome responses.
  FhirResponse Dispatch(const FhirRequest& request) const;
  FhirResponse Dispatch(FhirRequest& request) const override {
    return Dispatch(static_cast<const FhirRequest&>(request));
  }
  // Routes one request and returns the handler's error as a value (404 rest.unknown-path and 405
  // rest.method-not-allowed as well): for the entries of batch and transaction Bundles.
  fhir::Result<FhirResponse> Route(const FhirRequest& request) const;
  fhir::Result<FhirResponse> Route(FhirRequest& request) const override {
    return Route(static_cast<const FhirRequest&>(request));
  }
  // Without a pipeline in front nothing is recorded.
  fhir::Result<void> Refused(const FhirRequest&, const fhir::Error&) const override { return {}; }

  // The response for an error: status from the error, body an OperationOutcome.
  FhirResponse ErrorResponse(const fhir::Error& error) const;
  // The same for the error of `request`; a 405 also lists the methods its path has (Allow).
  FhirResponse ErrorResponse(const FhirRequest& request, const fhir::Error& error) const;

 private:
  struct RouteEntry {
    Method method;
    std::vector<std::string> segments;
    Handler handler;
  };
  bool Match(const RouteEntry& route, const std::vector<std::string_view>& path,
             PathParams* params) const;
  // The route for the request's method and path with its parameters, or nullptr; then `allowed`
  // holds the methods the path does have (sorted, distinct), if any.
  const RouteEntry* Find(const FhirRequest& request, PathParams* params,
                         std::vector<std::string_view>* allowed) const;
  // Runs the handler, turning anything thrown into a 500 without details.
  static fhir::Result<FhirResponse> Call(const RouteEntry& route, const FhirRequest& request,
                                         const PathParams& params);

  const fhir::model::Definitions& defs_;
  std::vector<RouteEntry> routes_;
};

}  // namespace server::rest

#endif  // SERVER_REST_ROUTER_H_
