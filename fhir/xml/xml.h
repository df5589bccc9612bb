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
};

// Parses one FHIR XML resource (root element in the FHIR namespace). Every fault found is
// reported, as issues of one Error (HTTP 400) with FHIRPath locations. Comments and processing
// instructions are ignored; Narrative.div is kept verbatim as XHTML markup.
Result<Resource> Parse(std::string_view xml, const model::Definitions& defs,
                       const ParseOptions& options = {});

struct WriteOptions {
  bool pretty = false;
};

std::string Write(const Resource& resource, const WriteOptions& options = {});

}  // namespace fhir::xml

#endif  // FHIR_XML_XML_H_
