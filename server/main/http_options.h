// The HTTP options of `fhirhub serve` (--host, --port and the request limits), read from the
// command line or the FHIRHUB_* environment. Validation errors name the option. The options, their
// defaults and what clients see when a limit is hit are listed in docs/configuration.md.
#ifndef SERVER_MAIN_HTTP_OPTIONS_H_
#define SERVER_MAIN_HTTP_OPTIONS_H_

#include <set>
#include <string>

#include "fhir/result.h"
#include "server/http/http_server.h"
#include "server/main/command_line.h"

namespace server::main {

// The value of option `name` (flag or environment) when given, a whole number within [min, max]
// (400 cli.invalid-option naming the option otherwise); `fallback` when absent.
fhir::Result<long long> ParseNumber(const CommandLine& cl, std::string_view name, long long min,
                                    long long max, long long fallback);

// The valued options ParseHttpOptions reads.
const std::set<std::string, std::less<>>& HttpOptionNames();

// The options given, the defaults of http::HttpOptions for the others; 400 cli.invalid-option
// (its expression the option, e.g. "--port") for a value that is not a number in the option's
// range.
fhir::Result<http::HttpOptions> ParseHttpOptions(const CommandLine& cl);

}  // namespace server::main

#endif  // SERVER_MAIN_HTTP_OPTIONS_H_
