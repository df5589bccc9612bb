// PUT [base]/{type}/{id}: update, or create-on-update when no such resource exists (the client
// chooses the id). The body's id must equal the path's. If-Match W/"n" makes the write
// conditional on version n being current (412 store.version-conflict otherwise). Answers 200
// (updated) or 201 (created) with Location, ETag, Last-Modified and a body as Prefer asks.
// Errors: 400 rest.missing-body, rest.type-mismatch, rest.missing-id, rest.id-mismatch,
// rest.invalid-if-match, and the store's. Thread-safe.
#ifndef SERVER_REST_UPDATE_HANDLER_H_
#define SERVER_REST_UPDATE_HANDLER_H_

#include "fhir/model/definitions.h"
#include "fhir/result.h"
#include "server/rest/fhir_request.h"
#include "server/rest/router.h"
#include "server/store/store.h"

namespace server::rest {

class UpdateHandler {
 public:
  // `store` and `defs` must outlive the handler.
  UpdateHandler(store::Store& store, const fhir::model::Definitions& defs)
      : store_(store), defs_(defs) {}

  // Path parameters: type, id.
  fhir::Result<FhirResponse> Handle(const FhirRequest& request, const PathParams& params) const;

 private:
  store::Store& store_;
  const fhir::model::Definitions& defs_;
};

}  // namespace server::rest

#endif  // SERVER_REST_UPDATE_HANDLER_H_
