// Where requests get their search parameters when the registry can change while the server runs
// (custom SearchParameter resources): the HTTP adapter takes a snapshot as each request arrives
// (FhirRequest::registry) and tells the source once the request is answered, so that a committed
// change of the definitions is in the registry before its client hears of it.
#ifndef SERVER_REST_REGISTRY_SOURCE_H_
#define SERVER_REST_REGISTRY_SOURCE_H_

#include <memory>

#include "server/rest/fhir_request.h"
#include "server/search/registry.h"

namespace server::rest {

class RegistrySource {
 public:
  virtual ~RegistrySource() = default;
  // The current registry; never null. Thread-safe.
  virtual std::shared_ptr<const search::Registry> Current() const = 0;
  // Called on the request's thread after the request has been handled (its writes committed or
  // rolled back) and before the answer is sent. Thread-safe; must not throw.
  virtual void Answered(const FhirRequest& request, const FhirResponse& response) = 0;
};

}  // namespace server::rest

#endif  // SERVER_REST_REGISTRY_SOURCE_H_
