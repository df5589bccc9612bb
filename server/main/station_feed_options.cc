#include "server/main/station_feed_options.h"

#include "server/main/http_options.h"

namespace server::main {

namespace {

// An identifier system: an absolute URI (urn:oid:..., http://...), no spaces, no '|' or ','
// (they separate token search values).
fhir::Result<std::string> System(const CommandLine& cl, std::string_view name,
                                 std::string fallback) {
  auto text = cl.GetOrEnv(name);
  if (!text) return fallback;
  const std::string option = "--" + std::string(name);
  if (text->find(':') == std::string::npos || text->find_first_of(" |,\\$") != std::string::npos) {
    return fhir::Error::Invalid("cli.invalid-option",
                                option + " must be an absolute URI without spaces, '|' or ','",
                                option);
  }
  return *text;
}

}  // namespace

const std::set<std::string, std::less<>>& StationFeedOptionNames() {
  static const std::set<std::string, std::less<>> names = {
      "station-sweep-seconds", "station-max-items", "station-health-record-system",
      "station-insurance-card-system"};
  return names;
}

fhir::Result<StationFeedOptions> ParseStationFeedOptions(const CommandLine& cl) {
  StationFeedOptions options;
  auto sweep = ParseNumber(cl, "station-sweep-seconds", 0, 86400, options.sweep.count());
  if (!sweep.ok()) return std::move(sweep).error();
  options.sweep = std::chrono::seconds(*sweep);
  auto items = ParseNumber(cl, "station-max-items", 1, 10000,
                           static_cast<long long>(options.feed.max_items));
  if (!items.ok()) return std::move(items).error();
  options.feed.max_items = static_cast<std::size_t>(*items);
  auto record =
      System(cl, "station-health-record-system", options.feed.mapping.health_record_system);
  if (!record.ok()) return std::move(record).error();
  options.feed.mapping.health_record_system = std::move(*record);
  auto insurance =
      System(cl, "station-insurance-card-system", options.feed.mapping.insurance_card_system);
  if (!insurance.ok()) return std::move(insurance).error();
  options.feed.mapping.insurance_card_system = std::move(*insurance);
  return options;
}

}  // namespace server::main
