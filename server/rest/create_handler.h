// POST [base]/{type}: create. The server assigns a new id (any id in the body is ignored, as the
// specification asks), stores version 1 with meta.versionId and meta.lastUpdated set, and answers
// 201 with Location, ETag and Last-Modified and a body as Prefer asks.
// Conditional create: with If-None-Exist (search criteria, e.g. "_id=abc"), nothing is written
// when one resource matches (200 with that resource), and 412 rest.multiple-matches when several
// do; the criteria are locked before the search until the write commits (FindMatches), so two
// concurrent conditional creates with the same criteria cannot both create it.
// Errors: 400 rest.missing-body, 400 rest.type-mismatch, the search errors of the criteria, and
// the store's. Thread-safe.
#ifndef SERVER_REST_CREATE_HANDLER_H_
#define SERVER_REST_CREATE_HANDLER_H_

#include "fhir/model/definitions.h"
#include "fhir/result.h"
#include "server/rest/fhir_request.h"
#include "server/rest/interaction_support.h"
#include "server/rest/router.h"
#include "server/search/registry.h"
#include "server/store/store.h"
#include "server/terminology/terminology.h"

namespace server::rest {

class CreateHandler {
 public:
  // `store`, `defs`, `registry`, `ids` and `terminology` must outlive the handler. Without
  // `terminology`, If-None-Exist refuses the terminology modifiers (conditional.h).
  CreateHandler(store::Store& store, const fhir::model::Definitions& defs,
                const search::Registry& registry, IdGenerator& ids,
                const terminology::Terminology* terminology = nullptr)
      : store_(store), defs_(defs), registry_(registry), ids_(ids), terminology_(terminology) {}

  // Path parameter: type.
  fhir::Result<FhirResponse> Handle(const FhirRequest& request, const PathParams& params) const;

 private:
  store::Store& store_;
  const fhir::model::Definitions& defs_;
  const search::Registry& registry_;
  IdGenerator& ids_;
  const terminology::Terminology* terminology_;
};

}  // namespace server::rest

#endif  // SERVER_REST_CREATE_HANDLER_H_
