#include "server/rest/capabilities_handler.h"

namespace server::rest {

CapabilitiesHandler::CapabilitiesHandler(const conformance::ServerDescription& server,
                                         const fhir::model::Definitions& defs)
    : statement_(conformance::BuildCapabilityStatement(server, defs)) {}

fhir::Result<FhirResponse> CapabilitiesHandler::Handle(const FhirRequest& request,
                                                       const PathParams&) const {
  if (auto mode = request.Param("mode")) {
    if (*mode == "terminology") {
      return fhir::Error::NotSupported("metadata.terminology-unsupported",
                                       "TerminologyCapabilities are not available on this server");
    }
    if (*mode != "full" && *mode != "normative") {
      return fhir::Error::Invalid("metadata.invalid-mode",
                                  "mode must be one of full, normative, terminology", "mode");
    }
  }
  FhirResponse response;
  response.body = statement_.Clone();
  if (!request.base_url.empty()) {
    fhir::Node* implementation = response.body->root()->Child("implementation");
    response.body->AddPrimitive(implementation, "url", request.base_url);
  }
  return response;
}

}  // namespace server::rest
