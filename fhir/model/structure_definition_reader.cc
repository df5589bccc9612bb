#include "fhir/model/structure_definition_reader.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <charconv>
#include <cstring>

namespace fhir::model {
namespace {

constexpr std::string_view kFhirTypeExtension =
    "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type";
constexpr std::string_view kSystemTypePrefix = "http://hl7.org/fhirpath/System.";

std::string_view View(const rapidjson::Value& v) {
  return v.IsString() ? std::string_view(v.GetString(), v.GetStringLength()) : std::string_view();
}

// The member's value, or nullptr. Iterators are compared only here, on const objects: comparing
// RapidJSON's mutable member iterators is ambiguous in C++20.
const rapidjson::Value* Get(const rapidjson::Value& object, const char* name) {
  rapidjson::Value::ConstMemberIterator it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

std::string_view Member(const rapidjson::Value& object, const char* name) {
  const rapidjson::Value* v = Get(object, name);
  return v == nullptr ? std::string_view() : View(*v);
}

bool BoolMember(const rapidjson::Value& object, const char* name) {
  const rapidjson::Value* v = Get(object, name);
  return v != nullptr && v->IsBool() && v->GetBool();
}

const rapidjson::Value* ArrayMember(const rapidjson::Value& object, const char* name) {
  const rapidjson::Value* v = Get(object, name);
  return v != nullptr && v->IsArray() ? v : nullptr;
}

Error Malformed(std::string_view type, std::string_view what) {
  return Error::Internal("definitions.malformed",
                         "StructureDefinition " + std::string(type) + ": " + std::string(what));
}

// Only the system types that occur without the fhir-type extension need a fallback (xhtml.id).
std::string_view SystemTypeFallback(std::string_view system) {
  if (system == "String") return "string";
  if (system == "Boolean") return "boolean";
  if (system == "Integer") return "integer";
  if (system == "Decimal") return "decimal";
  if (system == "Date") return "date";
  if (system == "DateTime") return "dateTime";
  if (system == "Time") return "time";
  return {};
}

Result<std::string> TypeName(std::string_view sd, std::string_view path,
                             const rapidjson::Value& type) {
  std::string_view code = Member(type, "code");
  if (code.empty()) return Malformed(sd, std::string(path) + " has a type without a code");
  if (!code.starts_with(kSystemTypePrefix)) return std::string(code);
  if (const rapidjson::Value* extensions = ArrayMember(type, "extension")) {
    for (const auto& ext : extensions->GetArray()) {
      if (ext.IsObject() && Member(ext, "url") == kFhirTypeExtension) {
        std::string_view fhir_type = Member(ext, "valueUrl");
        if (!fhir_type.empty()) return std::string(fhir_type);
      }
    }
  }
  std::string_view fallback = SystemTypeFallback(code.substr(kSystemTypePrefix.size()));
  if (fallback.empty()) {
    return Error::Internal("definitions.missing-type",
                           std::string(path) + " has the unknown type " + std::string(code));
  }
  return std::string(fallback);
}

Result<uint32_t> Cardinality(std::string_view sd, std::string_view path, std::string_view text) {
  if (text == "*") return kUnbounded;
  uint32_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return Malformed(sd, std::string(path) + " has the cardinality '" + std::string(text) + "'");
  }
  return n;
}

Result<SdElement> ReadElement(std::string_view sd, const rapidjson::Value& e) {
  SdElement out;
  out.path = std::string(Member(e, "path"));
  if (out.path.empty()) return Malformed(sd, "an element has no path");
  if (const rapidjson::Value* min = Get(e, "min"); min != nullptr && min->IsUint()) {
    out.min = min->GetUint();
  }
  auto max = Cardinality(sd, out.path, Member(e, "max"));
  if (!max.ok()) return std::move(max).error();
  out.max = *max;
  out.summary = BoolMember(e, "isSummary");
  out.modifier = BoolMember(e, "isModifier");
  if (const rapidjson::Value* representation = ArrayMember(e, "representation")) {
    for (const auto& r : representation->GetArray()) {
      if (View(r) == "xmlAttr") out.xml_attribute = true;
    }
  }
  std::string_view reference = Member(e, "contentReference");
  if (!reference.empty()) {
    if (reference.front() != '#') {
      return Malformed(sd, out.path + " refers outside its definition: " + std::string(reference));
    }
    out.content_reference = std::string(reference.substr(1));
  }
  if (const rapidjson::Value* types = ArrayMember(e, "type")) {
    out.types.reserve(types->Size());
    for (const auto& t : types->GetArray()) {
      if (!t.IsObject()) return Malformed(sd, out.path + " has a malformed type");
      auto name = TypeName(sd, out.path, t);
      if (!name.ok()) return std::move(name).error();
      out.types.push_back(std::move(name).value());
    }
  }
  return out;
}

}  // namespace

bool IsObviouslyProfile(std::string_view json) {
  // A quoted "derivation" cannot occur inside a JSON string (its quotes would be escaped), and
  // only the StructureDefinition itself has a member of that name.
  constexpr std::string_view kKey = "\"derivation\"";
  size_t pos = json.find(kKey);
  if (pos == std::string_view::npos) return false;
  pos += kKey.size();
  auto skip_space = [&] {
    while (pos < json.size() &&
           (json[pos] == ' ' || json[pos] == '\t' || json[pos] == '\r' || json[pos] == '\n')) {
      ++pos;
    }
  };
  skip_space();
  if (pos >= json.size() || json[pos] != ':') return false;
  ++pos;
  skip_space();
  return json.substr(pos).starts_with("\"constraint\"");
}

Result<std::optional<SdType>> ReadStructureDefinition(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) {
    return Error::Internal("definitions.invalid-json",
                           std::string("a definition is not valid JSON: ") +
                               rapidjson::GetParseError_En(doc.GetParseError()) + " at offset " +
                               std::to_string(doc.GetErrorOffset()));
  }
  if (!doc.IsObject() || Member(doc, "resourceType") != "StructureDefinition") {
    return std::optional<SdType>();
  }
  std::string_view derivation = Member(doc, "derivation");
  std::string_view kind = Member(doc, "kind");
  std::string_view type = Member(doc, "type");
  if (!derivation.empty() && derivation != "specialization") return std::optional<SdType>();
  // Without a derivation only the roots of the hierarchy are base types; the others are logical
  // models.
  if (derivation.empty() && type != "Element" && type != "Resource") return std::optional<SdType>();

  SdType out;
  if (kind == "primitive-type") {
    out.kind = TypeKind::kPrimitive;
  } else if (kind == "complex-type") {
    out.kind = TypeKind::kComplex;
  } else if (kind == "resource") {
    out.kind = TypeKind::kResource;
  } else {
    return std::optional<SdType>();
  }
  if (type.empty()) return Malformed("(unnamed)", "no type");
  out.name = std::string(type);
  out.url = std::string(Member(doc, "url"));
  out.base_url = std::string(Member(doc, "baseDefinition"));
  out.is_abstract = BoolMember(doc, "abstract");

  const rapidjson::Value* snapshot = Get(doc, "snapshot");
  const rapidjson::Value* elements =
      snapshot != nullptr && snapshot->IsObject() ? ArrayMember(*snapshot, "element") : nullptr;
  if (elements == nullptr || elements->Empty()) return Malformed(type, "no snapshot");
  out.elements.reserve(elements->Size());
  for (const auto& e : elements->GetArray()) {
    if (!e.IsObject()) return Malformed(type, "a snapshot element is not an object");
    auto element = ReadElement(type, e);
    if (!element.ok()) return std::move(element).error();
    out.elements.push_back(std::move(element).value());
  }
  if (out.elements.front().path != out.name) {
    return Malformed(type, "the snapshot does not start with the type's root element");
  }
  return std::optional<SdType>(std::move(out));
}

}  // namespace fhir::model
