// XML escaping shared by the FHIR XML parser (which re-serialises Narrative.div) and the writer.
// Both produce one canonical form, so that markup read from XML and markup written to XML are the
// same string: text escapes & < > " and CR; attribute values also escape tab and LF, which XML
// attribute-value normalisation would otherwise turn into spaces. C0 control characters other
// than tab, LF and CR cannot be carried by XML 1.0 at all and are written as U+FFFD. Pure
// functions, thread-safe.
#ifndef FHIR_XML_ESCAPE_H_
#define FHIR_XML_ESCAPE_H_

#include <string>
#include <string_view>

namespace fhir::xml {

inline constexpr std::string_view kFhirNamespace = "http://hl7.org/fhir";
inline constexpr std::string_view kXhtmlNamespace = "http://www.w3.org/1999/xhtml";

// Appends `text` escaped for character content.
void AppendEscapedText(std::string& out, std::string_view text);

// Appends `value` escaped for a double-quoted attribute value.
void AppendEscapedAttribute(std::string& out, std::string_view value);

}  // namespace fhir::xml

#endif  // FHIR_XML_ESCAPE_H_
