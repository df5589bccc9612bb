// GET [base]/{type}/{id}/_history, [base]/{type}/_history and [base]/_history: the instance, type
// and system history, as a Bundle of type "history", newest version first. Each entry has fullUrl,
// the resource (absent for a delete), request (the method that wrote the version: POST for a
// create, PUT for an update or create-on-update, PATCH, DELETE)
// and response (status, etag, lastModified). Paging: _count (1..1000, default 100) and a "next"
// link carrying an opaque _cursor. _since keeps the versions written at or after an instant; _at
// gives, for each resource, the version that was current at a time (for a partial time such as
// "2024-03", at the end of that period). Errors: 400 rest.invalid-count, 400 rest.invalid-cursor,
// 400 search.invalid-date, 404 rest.unknown-resource when the resource never existed, and the
// store's. Thread-safe.
#ifndef SERVER_REST_HISTORY_HANDLER_H_
#define SERVER_REST_HISTORY_HANDLER_H_

#include <optional>
#include <string>

#include "fhir/model/definitions.h"
#include "fhir/result.h"
#include "server/rest/fhir_request.h"
#include "server/rest/router.h"
#include "server/store/store.h"

namespace server::rest {

class HistoryHandler {
 public:
  // `store` and `defs` must outlive the handler.
  HistoryHandler(store::Store& store, const fhir::model::Definitions& defs)
      : store_(store), defs_(defs) {}

  // Path parameters: type, id.
  fhir::Result<FhirResponse> Instance(const FhirRequest& request, const PathParams& params) const;
  // Path parameter: type.
  fhir::Result<FhirResponse> Type(const FhirRequest& request, const PathParams& params) const;
  // No path parameters.
  fhir::Result<FhirResponse> System(const FhirRequest& request, const PathParams& params) const;

 private:
  // `path` is the history's path below the base, for the Bundle's links.
  fhir::Result<FhirResponse> Answer(const FhirRequest& request, std::optional<std::string> type,
                                    std::optional<std::string> id, const std::string& path) const;

  store::Store& store_;
  const fhir::model::Definitions& defs_;
};

}  // namespace server::rest

#endif  // SERVER_REST_HISTORY_HANDLER_H_
