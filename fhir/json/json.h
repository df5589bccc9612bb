// FHIR JSON codec. Parse reads a resource into the DOM and checks its structure against the
// definitions; Write serialises a DOM in definition order. Thread-safe: both are pure functions
// of their arguments.
#ifndef FHIR_JSON_JSON_H_
#define FHIR_JSON_JSON_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "fhir/element.h"
#include "fhir/model/definitions.h"
#include "fhir/result.h"

namespace fhir::json {

struct ParseOptions {
  size_t max_depth = 128;   // nesting of JSON objects and arrays
  size_t max_issues = 100;  // stop collecting after this many faults
};

// Parses one FHIR JSON resource. Every structural fault found is reported (up to max_issues), as
// issues of one Error (HTTP 400) whose expression is the FHIRPath location of the fault, e.g.
// "Patient.name[1].given[0]". Faults: malformed JSON or invalid UTF-8, missing or unknown
// resourceType, unknown elements, wrong JSON type, array vs single value, invalid primitive
// lexical forms, misaligned primitive extensions ("_given"), empty objects, arrays and strings,
// null outside primitive-extension arrays, duplicate keys, nesting deeper than max_depth.
// Message ids: json.syntax, json.invalid-utf8 and json.too-deep (fatal: reading stops),
// json.missing-resource-type, json.unknown-resource-type, json.unknown-element, json.wrong-type,
// json.expected-array, json.expected-single, json.invalid-primitive, json.empty,
// json.duplicate-key, json.null, json.misaligned-extension. Texts state the rule broken, never
// the offending value. A leading UTF-8 byte order mark is skipped.
Result<Resource> Parse(std::string_view json, const model::Definitions& defs,
                       const ParseOptions& options = {});

struct WriteOptions {
  bool pretty = false;  // two-space indentation
};

// Writes `resource` as FHIR JSON: elements in definition order, primitives with their exact
// lexical form (decimals as received), primitive ids and extensions as "_name". An empty
// Resource writes as "".
std::string Write(const Resource& resource, const WriteOptions& options = {});

}  // namespace fhir::json

#endif  // FHIR_JSON_JSON_H_
