#include "server/main/pipeline_sink.h"

#include <memory>
#include <utility>

namespace server::main {

fhir::Result<rest::FhirResponse> PipelineSink::Send(const rest::Principal& principal,
                                                    rest::FhirRequest request) const {
  request.principal = std::make_shared<const rest::Principal>(principal);
  if (request.base_url.empty()) request.base_url = base_url_;
  // As for a request from the HTTP side: one registry for the whole request, and a write of a
  // SearchParameter is taken up before the answer.
  if (registries_ != nullptr) request.registry = registries_->Current();
  auto answer = pipeline_.Route(request);
  if (registries_ != nullptr) {
    if (answer.ok()) {
      registries_->Answered(request, *answer);
    } else {
      registries_->Answered(request, rest::FhirResponse{answer.error().http_status()});
    }
  }
  return answer;
}

}  // namespace server::main
