// libFuzzer target for the JSON codec: whatever Parse accepts, Write turns into JSON that parses
// again and writes back identically, compact and pretty.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fhir/json/json.h"
#include "tests/support/test_definitions.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fhir::model::Definitions& defs = testing_support::Definitions();
  auto parsed =
      fhir::json::Parse(std::string_view(reinterpret_cast<const char*>(data), size), defs);
  if (!parsed.ok()) return 0;
  for (const bool pretty : {false, true}) {
    const std::string written = fhir::json::Write(*parsed, {.pretty = pretty});
    auto again = fhir::json::Parse(written, defs);
    if (!again.ok() || fhir::json::Write(*again, {.pretty = pretty}) != written) std::abort();
  }
  return 0;
}
