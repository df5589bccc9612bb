// What the MLLP commands (`fhirhub hl7 send`, `fhirhub connectors replay`) share: where the
// listener is, and reading an acknowledgement.
#ifndef SERVER_MAIN_MLLP_TOOLS_H_
#define SERVER_MAIN_MLLP_TOOLS_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "fhir/result.h"
#include "server/main/command_line.h"
#include "server/security/tls.h"

namespace server::main {

struct MllpTarget {
  std::string host;
  std::uint16_t port = 0;
  std::chrono::milliseconds timeout{30000};
  // A client context (the listener's certificate verified, against --host), or null for plain TCP.
  std::shared_ptr<const security::TlsContext> tls;
};

// The options ParseMllpTarget reads, for CommandLine::Parse: flags and valued ones.
const std::set<std::string, std::less<>>& MllpTargetFlags();
const std::set<std::string, std::less<>>& MllpTargetOptions();

// --host (required), --port (required, 1..65535), --timeout (seconds, default 30); cli.usage
// (400) otherwise. --tls speaks TLS, trusting the CAs of --tls-ca (a PEM bundle) or else the
// system's; --tls-certificate and --tls-private-key (both or neither) make it mutual TLS. The TLS
// options without --tls are cli.usage; files that cannot be used, security.invalid-tls (400).
fhir::Result<MllpTarget> ParseMllpTarget(const CommandLine& cl);

// MSA-1 of an acknowledgement ("AA", "AE", "AR", or CA/CE/CR), or "" when it has none.
std::string AckCode(std::string_view ack);

// The acknowledgement with one segment a line, for a terminal.
std::string AckForDisplay(std::string_view ack);

}  // namespace server::main

#endif  // SERVER_MAIN_MLLP_TOOLS_H_
