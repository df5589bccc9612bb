// PATCH [base]/{type}/{id} (http://hl7.org/fhir/R4/http.html#patch): changes an existing resource
// by a patch document instead of a whole new version. The patch format follows the request:
//   Content-Type application/json-patch+json     JSON Patch (RFC 6902) from FhirRequest::raw_body
//   a Parameters body (application/fhir+json or application/fhir+xml)   FHIRPath Patch
//   a Binary body with contentType application/json-patch+json and the patch in `data` (how a
//   transaction Bundle entry carries a JSON Patch)                        JSON Patch
// The current version is read and the patched one written in one store transaction, the write
// conditional on the version read, so a concurrent update is never lost: the patch fails instead.
// If-Match W/"n" makes the patch conditional on version n being current. Answers 200 with
// Location, ETag, Last-Modified and a body as Prefer asks, like update; meta.versionId and
// meta.lastUpdated come from the store.
// PATCH [base]/{type}?criteria: conditional patch (as FHIR R5 defines it). One match: that
// resource is patched; none: 404 rest.no-match; several: 412 rest.multiple-matches. The
// criteria are locked and searched in the patch's transaction (conditional.h).
//
// Errors (message ids are stable):
//   415 patch.unsupported-media-type  neither a JSON Patch nor a Parameters or Binary body
//   400 rest.missing-body             a FHIR media type without a body
//   400 patch.invalid, 422 patch.failed, 422 json.*  from the patch (fhir/patch/*.h)
//   400 patch.invalid-binary          a Binary whose contentType is not JSON Patch, or no data
//   422 patch.id-changed              the patch changes the resource's id (or resourceType)
//   404 store.not-found, 404 rest.no-match, 410 rest.deleted, 412 rest.multiple-matches
//   412 store.version-conflict        If-Match names another version than the current one, or
//                                     another writer changed the resource meanwhile
//   409 patch.concurrent-update       another writer changed the resource between the read and
//                                     the write (no If-Match given); the client may retry
//   400 rest.invalid-if-match, and the store's errors.
// Thread-safe.
#ifndef SERVER_REST_PATCH_HANDLER_H_
#define SERVER_REST_PATCH_HANDLER_H_

#include "fhir/model/definitions.h"
#include "fhir/result.h"
#include "server/rest/fhir_request.h"
#include "server/rest/router.h"
#include "server/search/registry.h"
#include "server/store/store.h"
#include "server/terminology/terminology.h"

namespace server::rest {

class PatchHandler {
 public:
  // `store`, `defs` and `terminology` must outlive the handler. Without `terminology`,
  // conditional patches refuse the terminology modifiers (conditional.h).
  PatchHandler(store::Store& store, const fhir::model::Definitions& defs,
               const search::Registry& registry,
               const terminology::Terminology* terminology = nullptr)
      : store_(store), defs_(defs), registry_(registry), terminology_(terminology) {}

  // Path parameters: type, id.
  fhir::Result<FhirResponse> Handle(const FhirRequest& request, const PathParams& params) const;
  // Path parameter: type; the criteria are the query.
  fhir::Result<FhirResponse> Conditional(const FhirRequest& request,
                                         const PathParams& params) const;

 private:
  store::Store& store_;
  const fhir::model::Definitions& defs_;
  const search::Registry& registry_;
  const terminology::Terminology* terminology_;
};

}  // namespace server::rest

#endif  // SERVER_REST_PATCH_HANDLER_H_
