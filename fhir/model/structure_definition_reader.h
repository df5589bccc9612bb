// Reads one base StructureDefinition (JSON text) into a compact record of its snapshot: the part
// of the definition the registry is built from. Used only by the definitions loader; the records
// are discarded once the registry is built.
#ifndef FHIR_MODEL_STRUCTURE_DEFINITION_READER_H_
#define FHIR_MODEL_STRUCTURE_DEFINITION_READER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/model/definitions.h"
#include "fhir/result.h"

namespace fhir::model {

struct SdElement {
  std::string path;  // "Observation.value[x]"
  // FHIR type names in definition order, with FHIRPath system types ("System.String") already
  // replaced by the FHIR type the structuredefinition-fhir-type extension names.
  std::vector<std::string> types;
  std::string content_reference;  // the path after '#', e.g. "Questionnaire.item"; may be empty
  uint32_t min = 0;
  uint32_t max = 1;
  bool summary = false;
  bool modifier = false;
  bool xml_attribute = false;
};

struct SdType {
  std::string name;  // the defined type: "Patient", "string"
  std::string url;
  std::string base_url;  // empty for Element and Resource
  TypeKind kind = TypeKind::kComplex;
  bool is_abstract = false;
  std::vector<SdElement> elements;  // the snapshot, root element first
};

// True when `json` can be skipped without parsing: a cheap scan shows a constrained profile. A
// false answer proves nothing; ReadStructureDefinition decides.
bool IsObviouslyProfile(std::string_view json);

// The record of a base StructureDefinition: one with derivation "specialization" (or none, as for
// Element and Resource) of kind primitive-type, complex-type or resource. std::nullopt for any
// other JSON (profiles, logical models, other resource types). An Error when `json` is not JSON or
// a base StructureDefinition lacks what the registry needs (message ids "definitions.*").
Result<std::optional<SdType>> ReadStructureDefinition(std::string_view json);

}  // namespace fhir::model

#endif  // FHIR_MODEL_STRUCTURE_DEFINITION_READER_H_
