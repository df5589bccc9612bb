// The MLLP options of `fhirhub serve` (--mllp-*), read from the command line or the FHIRHUB_*
// environment. The listener is off unless --mllp-port is given. Validation errors name the
// option (400 cli.invalid-option). Listed in docs/configuration.md, explained in docs/mllp.md.
#ifndef SERVER_MAIN_MLLP_OPTIONS_H_
#define SERVER_MAIN_MLLP_OPTIONS_H_

#include <optional>
#include <set>
#include <string>

#include "connectors/mllp/mllp_handler.h"
#include "connectors/mllp/mllp_listener.h"
#include "fhir/result.h"
#include "server/main/command_line.h"

namespace server::main {

struct MllpOptions {
  connectors::mllp::ListenerOptions listener;
  connectors::mllp::HandlerOptions handler;
};

// The valued options ParseMllpOptions reads.
const std::set<std::string, std::less<>>& MllpOptionNames();

// nullopt when --mllp-port is absent (no listener).
fhir::Result<std::optional<MllpOptions>> ParseMllpOptions(const CommandLine& cl);

}  // namespace server::main

#endif  // SERVER_MAIN_MLLP_OPTIONS_H_
