// DELETE [base]/{type}/{id}: writes a delete version (a later read answers 410). Answers 204 with
// the ETag of the delete version; deleting an already deleted resource changes nothing and
// answers 204 as well. If-Match W/"n" makes the delete conditional (412). Errors: 404
// store.not-found for a resource that never existed, 400 rest.invalid-if-match, and the store's.
// DELETE [base]/{type}?criteria: conditional delete of the one matching resource (204); when
// nothing matches there is nothing to delete, which also answers 204; several matches answer 412
// rest.multiple-matches. Thread-safe.
#ifndef SERVER_REST_DELETE_HANDLER_H_
#define SERVER_REST_DELETE_HANDLER_H_

#include "fhir/result.h"
#include "server/rest/fhir_request.h"
#include "server/rest/router.h"
#include "server/search/registry.h"
#include "server/store/store.h"
#include "server/terminology/terminology.h"

namespace server::rest {

class DeleteHandler {
 public:
  // `store` and `terminology` must outlive the handler. Without `terminology`, conditional
  // deletes refuse the terminology modifiers (conditional.h).
  DeleteHandler(store::Store& store, const search::Registry& registry,
                const terminology::Terminology* terminology = nullptr)
      : store_(store), registry_(registry), terminology_(terminology) {}

  // Path parameters: type, id.
  fhir::Result<FhirResponse> Handle(const FhirRequest& request, const PathParams& params) const;
  // Path parameter: type; the criteria are the request's query.
  fhir::Result<FhirResponse> Conditional(const FhirRequest& request,
                                         const PathParams& params) const;

 private:
  store::Store& store_;
  const search::Registry& registry_;
  const terminology::Terminology* terminology_;
};

}  // namespace server::rest

#endif  // SERVER_REST_DELETE_HANDLER_H_
