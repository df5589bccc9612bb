// GET [base]/{type}/{id} (read) and GET [base]/{type}/{id}/_history/{vid} (vread). Both answer the
// stored resource with ETag and Last-Modified; a deleted resource (or a delete version) answers
// 410 rest.deleted, an unknown resource or version 404 store.not-found. A read whose
// If-None-Match names the current version (W/"n" or "n"), or whose If-Modified-Since is not before
// the last change (to the second), answers 304 with its ETag and no body.
// Thread-safe.
#ifndef SERVER_REST_READ_HANDLER_H_
#define SERVER_REST_READ_HANDLER_H_

#include "fhir/model/definitions.h"
#include "fhir/result.h"
#include "server/rest/fhir_request.h"
#include "server/rest/router.h"
#include "server/store/store.h"

namespace server::rest {

class ReadHandler {
 public:
  // `store` and `defs` must outlive the handler.
  ReadHandler(store::Store& store, const fhir::model::Definitions& defs)
      : store_(store), defs_(defs) {}

  // Path parameters: type, id.
  fhir::Result<FhirResponse> Read(const FhirRequest& request, const PathParams& params) const;
  // Path parameters: type, id, vid (a version that is not a positive integer is 404).
  fhir::Result<FhirResponse> VRead(const FhirRequest& request, const PathParams& params) const;

 private:
  fhir::Result<FhirResponse> Answer(const FhirRequest& request,
                                    const store::ResourceVersion& version) const;

  store::Store& store_;
  const fhir::model::Definitions& defs_;
};

}  // namespace server::rest

#endif  // SERVER_REST_READ_HANDLER_H_
