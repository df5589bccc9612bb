// The station feed options of `fhirhub serve` (docs/configuration.md, docs/station-feed.md): the
// identifier systems of residents' health record and insurance card numbers, the largest batch,
// and how often the pending queue is swept. From the command line or the FHIRHUB_* environment.
#ifndef SERVER_MAIN_STATION_FEED_OPTIONS_H_
#define SERVER_MAIN_STATION_FEED_OPTIONS_H_

#include <chrono>
#include <set>
#include <string>

#include "connectors/device_feed/device_feed.h"
#include "fhir/result.h"
#include "server/main/command_line.h"

namespace server::main {

struct StationFeedOptions {
  connectors::device_feed::DeviceFeedOptions feed;
  // Pending measurements are retried this often; 0: only when an operator resolves them.
  std::chrono::seconds sweep{60};
};

// The valued options ParseStationFeedOptions reads.
const std::set<std::string, std::less<>>& StationFeedOptionNames();

// 400 cli.invalid-option (its expression the option) for a number out of range or a system that
// is not an absolute URI.
fhir::Result<StationFeedOptions> ParseStationFeedOptions(const CommandLine& cl);

}  // namespace server::main

#endif  // SERVER_MAIN_STATION_FEED_OPTIONS_H_
