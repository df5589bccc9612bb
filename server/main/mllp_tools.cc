#include "server/main/mllp_tools.h"

#include <algorithm>

#include "mappings/hl7v2/er7.h"

namespace server::main {
namespace {

bool ParseNumber(const std::string& text, long max, long* value) {
  if (text.empty() || text.size() > 9 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  *value = std::stol(text);
  return *value >= 1 && *value <= max;
}

}  // namespace

fhir::Result<MllpTarget> ParseMllpTarget(const CommandLine& cl) {
  MllpTarget target;
  auto host = cl.Get("host");
  auto port = cl.Get("port");
  if (!host || host->empty() || !port) {
    return fhir::Error::Invalid("cli.usage", "--host and --port name the MLLP listener");
  }
  target.host = *host;
  long number = 0;
  if (!ParseNumber(*port, 65535, &number)) {
    return fhir::Error::Invalid("cli.usage", "--port must be a number from 1 to 65535");
  }
  target.port = static_cast<std::uint16_t>(number);
  if (auto timeout = cl.Get("timeout")) {
    if (!ParseNumber(*timeout, 3600, &number)) {
      return fhir::Error::Invalid("cli.usage", "--timeout must be 1 to 3600 seconds");
    }
    target.timeout = std::chrono::seconds(number);
  }
  return target;
}

std::string AckCode(std::string_view ack) {
  auto parsed = mappings::hl7v2::Parse(ack);
  return parsed.ok() ? parsed->Get("MSA-1") : std::string();
}

std::string AckForDisplay(std::string_view ack) {
  std::string text(ack);
  std::replace(text.begin(), text.end(), '\r', '\n');
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

}  // namespace server::main
