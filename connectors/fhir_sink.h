// FhirSink: where connectors hand over what they have mapped. The server implements it through
// the request pipeline (server/main/pipeline_sink.h), so a connector's reads and writes are
// authorized, consent-checked and audited like a REST client's: one way in.
#ifndef CONNECTORS_FHIR_SINK_H_
#define CONNECTORS_FHIR_SINK_H_

#include "fhir/result.h"
#include "server/rest/fhir_request.h"
#include "server/rest/principal.h"

namespace connectors {

class FhirSink {
 public:
  virtual ~FhirSink() = default;
  // Runs `request` as `principal` (its method, path, query, headers and body as a REST client
  // would send them; `peer_address` names the sender for the audit record). A transaction has
  // committed before Send returns its answer. An error is what a REST client would have received
  // as an OperationOutcome. Thread-safe.
  virtual fhir::Result<server::rest::FhirResponse> Send(
      const server::rest::Principal& principal, server::rest::FhirRequest request) const = 0;
};

}  // namespace connectors

#endif  // CONNECTORS_FHIR_SINK_H_
