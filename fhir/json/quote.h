// A JSON string literal: for code that writes small JSON documents by hand (FHIRPath results,
// HL7 v2 mappings) rather than through the resource writer.
#ifndef FHIR_JSON_QUOTE_H_
#define FHIR_JSON_QUOTE_H_

#include <string>
#include <string_view>

namespace fhir::json {

// Appends `text` (UTF-8, passed through) to `out` in double quotes, with `"` and `\` escaped,
// \n \r \t as such and other control characters as \u00xx.
void AppendQuoted(std::string_view text, std::string* out);

}  // namespace fhir::json

#endif  // FHIR_JSON_QUOTE_H_
