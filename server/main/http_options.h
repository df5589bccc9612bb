// The HTTP options of `fhirhub serve` (--host, --port and the request limits), read from the
// command line or the FHIRHUB_* environment. Validation errors name the option.
#ifndef SERVER_MAIN_HTTP_OPTIONS_H_
#define SERVER_MAIN_HTTP_OPTIONS_H_

#include <set>
#include <string>

#include "fhir/result.h"
#include "server/http/http_server.h"
#include "server/main/command_line.h"

namespace server::main {

// The valued options ParseHttpOptions reads.
const std::set<std::string, std::less<>>& HttpOptionNames();

fhir::Result<http::HttpOptions> ParseHttpOptions(const CommandLine& cl);

}  // namespace server::main

#endif  // SERVER_MAIN_HTTP_OPTIONS_H_
