// FHIR XML codec (libxml2). Parse reads a resource into the DOM and checks its structure against
// the definitions; Write serialises a DOM as FHIR XML. Parsing is secure: no DTD loading, no
// external or internal entity expansion, no network access, bounded depth and size. Thread-safe.
#ifndef FHIR_XML_XML_H_
#define FHIR_XML_XML_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "fhir/element.h"
#include "fhir/model/definitions.h"
#include "fhir/result.h"

namespace fhir::xml {

struct ParseOptions {
  size_t max_depth = 128;
  size_t max_bytes = 64u << 20;  // documents larger than this are refused
  size_t max_issues = 100;
  // Accepts elements out of definition order (as some published examples have them) and puts
  // them back in definition order, instead of reporting "xml.order". A non-repeating element
  // given twice is still an error.
  bool allow_out_of_order = false;
};

// Parses one FHIR XML resource (root element in the FHIR namespace). Every fault found is
// reported, as issues of one Error (HTTP 400) with FHIRPath locations. Comments and processing
// instructions are ignored; Narrative.div is kept as XHTML markup in canonical form (below).
Result<Resource> Parse(std::string_view xml, const model::Definitions& defs,
                       const ParseOptions& options = {});

// Reads Narrative.div markup held as a string (as JSON carries it) under the same rules as Parse:
// one well-formed div element in the XHTML namespace, no DTD. Returns the markup in the canonical
// form Parse keeps in Node::value (XHTML as the default namespace on the div, double-quoted
// attributes, empty elements as <x/>, & < > " and CR escaped), or the faults found.
Result<std::string> CanonicalXhtml(std::string_view markup, const ParseOptions& options = {});

struct WriteOptions {
  bool pretty = false;
};

// Writes FHIR XML: UTF-8 without an XML declaration, the root element in the FHIR namespace,
// elements in definition order, values in value attributes with tab, LF and CR as character
// references so they survive attribute-value normalisation. Narrative.div markup is written in
// its canonical form (CanonicalXhtml); markup that is not well-formed XHTML is written escaped, as
// the text of a div, so a narrative can never change the structure of the document. Returns "" for
// an empty resource.
std::string Write(const Resource& resource, const WriteOptions& options = {});

}  // namespace fhir::xml

#endif  // FHIR_XML_XML_H_
