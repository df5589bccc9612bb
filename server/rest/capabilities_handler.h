// GET [base]/metadata: the capabilities interaction. The statement is built once at start-up
// from what the server was wired with; each request gets a copy.
#ifndef SERVER_REST_CAPABILITIES_HANDLER_H_
#define SERVER_REST_CAPABILITIES_HANDLER_H_

#include "conformance/capability_statement.h"
#include "fhir/result.h"
#include "server/rest/fhir_request.h"
#include "server/rest/router.h"

namespace server::rest {

class CapabilitiesHandler {
 public:
  CapabilitiesHandler(const conformance::ServerDescription& server,
                      const fhir::model::Definitions& defs);

  // Answers the full statement, with implementation.url set to the base URL the client used, for
  // mode absent, "full" or "normative"; "terminology" is not supported (501); other modes are
  // invalid (400).
  fhir::Result<FhirResponse> Handle(const FhirRequest& request, const PathParams& params) const;

 private:
  fhir::Resource statement_;
};

}  // namespace server::rest

#endif  // SERVER_REST_CAPABILITIES_HANDLER_H_
