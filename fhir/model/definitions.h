// The definitions registry: every FHIR R4 resource, complex type and primitive type with its
// elements in definition order, loaded once at start-up from the StructureDefinitions of the R4
// package (hl7.fhir.r4.examples@4.0.1). Immutable after loading and safe to share between threads.
// Types and elements are owned by the Definitions object; pointers to them stay valid for its
// lifetime.
#ifndef FHIR_MODEL_DEFINITIONS_H_
#define FHIR_MODEL_DEFINITIONS_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/result.h"

namespace fhir::model {

enum class TypeKind {
  kPrimitive,  // boolean, string, date, ... (the value lives in Node::value)
  kComplex,    // HumanName, Quantity, Extension, ...
  kResource,   // Patient, Bundle, and the abstract Resource and DomainResource
  kBackbone,   // an element defined inline in a resource or type, e.g. "Patient.contact"
};

// The primitive types of FHIR R4. Decides the JSON representation (boolean, number or string) and
// the lexical rule a value is checked against.
enum class PrimitiveKind {
  kNone,  // not a primitive
  kBoolean,
  kInteger,
  kPositiveInt,
  kUnsignedInt,
  kDecimal,
  kString,
  kCode,
  kId,
  kMarkdown,
  kUri,
  kUrl,
  kCanonical,
  kOid,
  kUuid,
  kBase64Binary,
  kInstant,
  kDate,
  kDateTime,
  kTime,
  kXhtml,
};

inline constexpr uint32_t kUnbounded = UINT32_MAX;

struct TypeDef;

struct ElementDef {
  std::string name;  // last path segment without "[x]": "value", "given", "contact"
  std::string path;  // as in the StructureDefinition: "Observation.value[x]"
  uint32_t min = 0;
  uint32_t max = 1;            // kUnbounded for "*"
  bool is_choice = false;      // "value[x]": serialised as name + type, e.g. "valueQuantity"
  bool summary = false;        // isSummary in the base definition
  bool modifier = false;       // isModifier
  bool xml_attribute = false;  // representation xmlAttr: Element.id, Extension.url
  bool xhtml = false;          // Narrative.div: XHTML kept verbatim
  uint16_t index = 0;          // position in the owner's elements (definition order)
  const TypeDef* owner = nullptr;
  // Allowed types. One for most elements; several for choice elements (in definition order);
  // the inline backbone type for backbone elements and for contentReference elements (e.g.
  // Questionnaire.item.item -> "Questionnaire.item"); the abstract "Resource" for contained and
  // Bundle.entry.resource.
  std::vector<const TypeDef*> types;

  bool repeats() const { return max > 1; }
};

struct TypeDef {
  std::string name;  // "Patient", "HumanName", "string", or a backbone path "Patient.contact"
  std::string url;   // canonical URL of the defining StructureDefinition (empty for backbones)
  TypeKind kind = TypeKind::kComplex;
  bool is_abstract = false;
  const TypeDef* base = nullptr;  // Patient -> DomainResource -> Resource; HumanName -> Element
  PrimitiveKind primitive = PrimitiveKind::kNone;
  // Every element in definition order, inherited ones included (the snapshot). For primitive
  // types: "id" and "extension" only (the value is not an element).
  std::vector<ElementDef> elements;

  // Resolves a JSON property or XML element name. For a choice element, "valueQuantity" resolves
  // to "value[x]" and sets *chosen to Quantity; otherwise *chosen is set to the element's single
  // type (nullptr for the abstract "Resource" of contained resources). Returns nullptr when the
  // name is not an element of this type. Constant time.
  const ElementDef* FindElement(std::string_view name, const TypeDef** chosen) const;
  // The element with this base name ("value" for "value[x]"), or nullptr.
  const ElementDef* FindElementByName(std::string_view name) const;
  // True when this type is `other` or derives from it.
  bool IsA(const TypeDef& other) const;

  bool is_primitive() const { return kind == TypeKind::kPrimitive; }
  bool is_resource() const { return kind == TypeKind::kResource; }

  // Filled by the loader: name -> (element, chosen type), including every choice expansion.
  struct Lookup;
  std::shared_ptr<const Lookup> lookup;
};

class Definitions {
 public:
  // Loads the base definitions from an unpacked R4 package folder (the folder holding
  // StructureDefinition-*.json). Only StructureDefinitions with derivation "specialization" of
  // kind primitive-type, complex-type and resource are used; profiles and logical models are not.
  static Result<std::unique_ptr<Definitions>> LoadFromDirectory(const std::filesystem::path& dir);
  // The same from StructureDefinition JSON texts already in memory (e.g. read from a .tgz).
  // Texts that are not base StructureDefinitions are ignored.
  static Result<std::unique_ptr<Definitions>> LoadFromJson(
      const std::vector<std::string>& structure_definitions);

  // Any type by name: "Patient", "Resource", "HumanName", "string", "Patient.contact".
  const TypeDef* FindType(std::string_view name) const;
  // A concrete (non-abstract) resource type by name, or nullptr.
  const TypeDef* FindResource(std::string_view name) const;
  // Every type, in a stable order (by name).
  std::span<const TypeDef* const> types() const { return all_; }
  // Concrete resource types, by name.
  std::span<const TypeDef* const> resources() const { return resources_; }

  Definitions(const Definitions&) = delete;
  Definitions& operator=(const Definitions&) = delete;
  ~Definitions();

 private:
  Definitions();
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<const TypeDef*> all_;
  std::vector<const TypeDef*> resources_;
};

}  // namespace fhir::model

#endif  // FHIR_MODEL_DEFINITIONS_H_
