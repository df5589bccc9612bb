// MllpService: the HL7 v2 over MLLP door of `fhirhub serve` (--mllp-port): the connector log
// (acknowledgements, dead letters) on the server's database, the HL7 v2 mapper loaded from
// --mappings, the handler writing through the request pipeline (PipelineSink) as the connector
// principal, and the listener.
#ifndef SERVER_MAIN_MLLP_SERVICE_H_
#define SERVER_MAIN_MLLP_SERVICE_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "fhir/model/definitions.h"
#include "fhir/result.h"
#include "server/main/mllp_options.h"
#include "server/rest/dispatcher.h"
#include "server/rest/registry_source.h"
#include "server/store/store.h"

namespace server::main {

class MllpService {
 public:
  struct Wiring {
    const rest::Dispatcher& pipeline;
    rest::RegistrySource* registries;  // may be null
    std::string base_url;              // the server's FHIR base, for locations in answers
    const fhir::model::Definitions& defs;
    std::string conninfo;
    const store::Clock& clock;
  };

  // Loads the mapper from `mappings_dir` and starts listening. Everything `wiring` refers to
  // must outlive the service.
  static fhir::Result<std::unique_ptr<MllpService>> Start(const MllpOptions& options,
                                                          const std::filesystem::path& mappings_dir,
                                                          Wiring wiring);
  ~MllpService();

  std::uint16_t port() const;
  // Stops accepting and waits for the messages in flight to be answered.
  void Stop();

 private:
  struct Parts;
  explicit MllpService(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace server::main

#endif  // SERVER_MAIN_MLLP_SERVICE_H_
