// libFuzzer target for the XML codec: whatever Parse accepts, Write turns into XML that parses
// again and writes back identically, compact and pretty; and whatever narrative markup the fast
// canonical-form recogniser accepts, the parser returns unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fhir/xml/canonical_xhtml.h"
#include "fhir/xml/xml.h"
#include "tests/support/test_definitions.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fhir::model::Definitions& defs = testing_support::Definitions();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const fhir::xml::ParseOptions options;
  if (fhir::xml::IsCanonicalXhtml(input, options.max_depth)) {
    auto canonical = fhir::xml::CanonicalXhtml(input, options);
    if (!canonical.ok() || *canonical != input) std::abort();
  }
  auto parsed = fhir::xml::Parse(input, defs, options);
  if (!parsed.ok()) return 0;
  for (const bool pretty : {false, true}) {
    const std::string written = fhir::xml::Write(*parsed, {.pretty = pretty});
    auto again = fhir::xml::Parse(written, defs);
    if (!again.ok() || fhir::xml::Write(*again, {.pretty = pretty}) != written) std::abort();
  }
  return 0;
}
