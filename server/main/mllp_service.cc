#include "server/main/mllp_service.h"

#include <algorithm>
#include <utility>

#include "connectors/mllp/mllp_handler.h"
#include "connectors/mllp/mllp_listener.h"
#include "mappings/hl7v2/mapper.h"
#include "server/main/pipeline_sink.h"
#include "server/store/pg/pg_connector_log.h"

namespace server::main {

// Declared in the order of construction: the listener, destroyed first, stops before what its
// handler uses goes away.
struct MllpService::Parts {
  mappings::hl7v2::Mapper mapper;
  store::pg::PgConnectorLog log;
  PipelineSink sink;
  connectors::mllp::MllpHandler handler;
  connectors::mllp::MllpListener listener;

  Parts(mappings::hl7v2::Mapper loaded, const MllpOptions& options, const Wiring& wiring)
      : mapper(std::move(loaded)),
        log(store::pg::PgConnectorLogOptions{
            .pool = {.conninfo = wiring.conninfo,
                     .max_size = static_cast<std::size_t>(
                         std::clamp(options.listener.max_connections, 1, 16))}}),
        sink(wiring.pipeline, wiring.registries, wiring.base_url),
        handler(
            options.handler,
            [this](const mappings::hl7v2::Message& message) { return mapper.Map(message); },
            wiring.defs, sink, log, wiring.clock),
        listener(options.listener, handler) {}
};

MllpService::MllpService(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

MllpService::~MllpService() { Stop(); }

fhir::Result<std::unique_ptr<MllpService>> MllpService::Start(
    const MllpOptions& options, const std::filesystem::path& mappings_dir, Wiring wiring) {
  auto mapper = mappings::hl7v2::Mapper::Load(mappings_dir);
  if (!mapper.ok()) return std::move(mapper).error();
  auto parts = std::make_unique<Parts>(std::move(mapper).value(), options, wiring);
  if (auto started = parts->listener.Start(); !started.ok()) return std::move(started).error();
  return std::unique_ptr<MllpService>(new MllpService(std::move(parts)));
}

std::uint16_t MllpService::port() const { return parts_->listener.port(); }

void MllpService::Stop() {
  if (parts_) parts_->listener.Stop();
}

}  // namespace server::main
