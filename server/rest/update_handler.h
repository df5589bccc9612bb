// PUT [base]/{type}/{id}: update, or create-on-update when no such resource exists (the client
// chooses the id). The body's id must equal the path's. If-Match W/"n" makes the write
// conditional on version n being current (412 store.version-conflict otherwise). Answers 200
// (updated) or 201 (created) with Location, ETag, Last-Modified and a body as Prefer asks.
// PUT [base]/{type}?criteria: conditional update. One match: that resource is updated (a body id,
// if any, must be the match's). No match: the resource is created, with the body's id if it has
// one (409 rest.conditional-conflict if a resource with that id exists but did not match) or a
// new one. Several matches: 412 rest.multiple-matches. Search and write run in one transaction
// holding the criteria's lock (FindMatches).
// Errors: 400 rest.missing-body, rest.type-mismatch, rest.missing-id, rest.id-mismatch,
// rest.invalid-if-match, rest.missing-criteria, the search errors, and the store's. Thread-safe.
#ifndef SERVER_REST_UPDATE_HANDLER_H_
#define SERVER_REST_UPDATE_HANDLER_H_

#include "fhir/model/definitions.h"
#include "fhir/result.h"
#include "server/rest/fhir_request.h"
#include "server/rest/interaction_support.h"
#include "server/rest/router.h"
#include "server/search/registry.h"
#include "server/store/store.h"
#include "server/terminology/terminology.h"

namespace server::rest {

class UpdateHandler {
 public:
  // `store`, `defs`, `ids` and `terminology` must outlive the handler. Without `terminology`,
  // conditional updates refuse the terminology modifiers (conditional.h).
  UpdateHandler(store::Store& store, const fhir::model::Definitions& defs,
                const search::Registry& registry, IdGenerator& ids,
                const terminology::Terminology* terminology = nullptr)
      : store_(store), defs_(defs), registry_(registry), ids_(ids), terminology_(terminology) {}

  // Path parameters: type, id.
  fhir::Result<FhirResponse> Handle(const FhirRequest& request, const PathParams& params) const;
  // Path parameter: type; the criteria are the request's query.
  fhir::Result<FhirResponse> Conditional(const FhirRequest& request,
                                         const PathParams& params) const;

 private:
  // Writes `body` as `id`, expecting `expected` as the current version, once the request's gate
  // permits it, indexed by the request's registry; fills `stored`.
  fhir::Result<store::WriteResult> Write(store::Transaction& tx, const FhirRequest& request,
                                         const fhir::Resource& body, const std::string& id,
                                         std::optional<std::int64_t> expected,
                                         store::ResourceVersion* stored) const;

  store::Store& store_;
  const fhir::model::Definitions& defs_;
  const search::Registry& registry_;
  IdGenerator& ids_;
  const terminology::Terminology* terminology_;
};

}  // namespace server::rest

#endif  // SERVER_REST_UPDATE_HANDLER_H_
