// PipelineSink: the server's FhirSink. A connector's request enters the request pipeline as a
// Bundle entry does: with its principal already established (the connector's own identity, from
// its configuration or its peer), then authorized, consent-checked, routed and audited.
#ifndef SERVER_MAIN_PIPELINE_SINK_H_
#define SERVER_MAIN_PIPELINE_SINK_H_

#include <string>

#include "connectors/fhir_sink.h"
#include "server/rest/dispatcher.h"
#include "server/rest/registry_source.h"

namespace server::main {

class PipelineSink final : public connectors::FhirSink {
 public:
  // `pipeline` and `registries` (which may be null: the pipeline's fixed registry applies) must
  // outlive the sink. `base_url` is the server's FHIR base ("http://127.0.0.1:8080/fhir"), for the
  // locations in answers.
  PipelineSink(const rest::Dispatcher& pipeline, rest::RegistrySource* registries,
               std::string base_url)
      : pipeline_(pipeline), registries_(registries), base_url_(std::move(base_url)) {}

  fhir::Result<rest::FhirResponse> Send(const rest::Principal& principal,
                                        rest::FhirRequest request) const override;

 private:
  const rest::Dispatcher& pipeline_;
  rest::RegistrySource* registries_;
  const std::string base_url_;
};

}  // namespace server::main

#endif  // SERVER_MAIN_PIPELINE_SINK_H_
