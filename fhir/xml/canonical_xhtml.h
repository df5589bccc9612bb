// A fast recogniser of Narrative.div markup that is already in the canonical form CanonicalXhtml
// produces, so that Write can copy such markup without running libxml2 over it. It accepts a
// deliberately narrow grammar: when it returns true, the markup is one well-formed div element
// in the XHTML namespace and CanonicalXhtml would return it unchanged; when it returns false,
// nothing is known and the caller must use CanonicalXhtml. Pure function, thread-safe.
#ifndef FHIR_XML_CANONICAL_XHTML_H_
#define FHIR_XML_CANONICAL_XHTML_H_

#include <cstddef>
#include <string_view>

namespace fhir::xml {

// `max_depth` counts the div as 1, as ParseOptions::max_depth does.
bool IsCanonicalXhtml(std::string_view markup, size_t max_depth);

}  // namespace fhir::xml

#endif  // FHIR_XML_CANONICAL_XHTML_H_
