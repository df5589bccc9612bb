// Dispatcher: how requests reach their interactions. The router routes a request as it is; the
// pipeline, which the server wires in front of it, authenticates the request, checks its access,
// screens what it answers and audits it. The HTTP adapter hands each request to a Dispatcher, and
// BundleHandler each entry of a batch or transaction, so neither depends on the pipeline.
#ifndef SERVER_REST_DISPATCHER_H_
#define SERVER_REST_DISPATCHER_H_

#include "fhir/result.h"
#include "server/rest/fhir_request.h"

namespace server::rest {

class Dispatcher {
 public:
  virtual ~Dispatcher() = default;
  // Answers a request of its own; errors become OperationOutcome answers. Never throws.
  // Thread-safe. The request may be completed on the way (its principal, its gate).
  virtual FhirResponse Dispatch(FhirRequest& request) const = 0;
  // Answers an entry of a Bundle, which carries the Bundle's principal, with the error as a value
  // (the Bundle places it in its entry). Thread-safe.
  virtual fhir::Result<FhirResponse> Route(FhirRequest& request) const = 0;
  // Records a request that the HTTP adapter refused itself before it could be dispatched (a head
  // or body over the limits, a request that did not arrive in time or is not HTTP, a body that is
  // not FHIR, a format the server cannot give); `request` holds what could be read of it. An error
  // when the record could not be made: the adapter answers that instead. Thread-safe.
  virtual fhir::Result<void> Refused(const FhirRequest& request,
                                     const fhir::Error& error) const = 0;
};

}  // namespace server::rest

#endif  // SERVER_REST_DISPATCHER_H_
