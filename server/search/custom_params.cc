#include "server/search/custom_params.h"

#include <rapidjson/document.h>

#include <set>
#include <utility>
#include <vector>

#include "server/search/criteria.h"

namespace server::search {

namespace {

using fhir::model::TypeDef;

std::string StringAt(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return {};
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

// Letters, digits, '-', '_' and '.', not starting with '_' (the common parameters' prefix) or '-'.
bool ValidCode(std::string_view code) {
  if (code.empty() || code.front() == '_' || code.front() == '-') return false;
  for (char c : code) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

class Checker {
 public:
  explicit Checker(const Registry& registry) : registry_(registry) {}

  void Fault(std::string text, std::string location) {
    issues_.push_back({.severity = fhir::Severity::kError,
                       .type = fhir::IssueType::kProcessing,
                       .message_id = "search.invalid-definition",
                       .text = std::move(text),
                       .expression = std::move(location)});
  }

  void Collision(std::string text) {
    issues_.push_back({.severity = fhir::Severity::kError,
                       .type = fhir::IssueType::kDuplicate,
                       .message_id = "search.code-collision",
                       .text = std::move(text),
                       .expression = "SearchParameter.code"});
  }

  void Check(const rapidjson::Value& doc) {
    const fhir::model::Definitions& defs = registry_.definitions();
    const std::string url = StringAt(doc, "url");
    const std::string code = StringAt(doc, "code");
    const std::string id = StringAt(doc, "id");
    if (url.empty()) Fault("A custom search parameter needs a url", "SearchParameter.url");
    if (!ValidCode(code)) {
      Fault("The code must be letters, digits, '-', '_' or '.', not starting with '_' or '-'",
            "SearchParameter.code");
    }
    const std::string type_text = StringAt(doc, "type");
    const std::optional<ParamType> type = ParseParamType(type_text);
    if (!type || !IndexKindOf(*type)) {
      Fault(
          "The type must be one of number, date, string, token, reference, composite, quantity "
          "or uri",
          "SearchParameter.type");
    }

    // Every concrete type the parameter applies to, each once.
    std::vector<const TypeDef*> types;
    std::set<const TypeDef*> seen;
    auto base = doc.FindMember("base");
    if (base == doc.MemberEnd() || !base->value.IsArray() || base->value.Empty()) {
      Fault("A search parameter needs at least one base resource type", "SearchParameter.base");
    } else {
      for (rapidjson::SizeType i = 0; i < base->value.Size(); ++i) {
        const rapidjson::Value& item = base->value[i];
        std::vector<const TypeDef*> concrete;
        if (item.IsString()) concrete = ConcreteTypes(item.GetString(), defs);
        if (concrete.empty()) {
          Fault("The base is not a resource type",
                "SearchParameter.base[" + std::to_string(i) + "]");
        }
        for (const TypeDef* t : concrete) {
          if (seen.insert(t).second) types.push_back(t);
        }
      }
    }

    const std::string expression = StringAt(doc, "expression");
    if (expression.empty()) {
      Fault("A custom search parameter needs a FHIRPath expression", "SearchParameter.expression");
    } else {
      CheckExpression(expression, types);
    }
    if (type == ParamType::kComposite) CheckComponents(doc);

    if (!ValidCode(code)) return;
    for (const TypeDef* t : types) {
      const SearchParam* existing = registry_.Find(t->name, code);
      if (existing == nullptr) continue;
      const SearchParamDefinition& other = *existing->definition;
      if (!other.custom) {
        Collision("The code " + code + " is a standard search parameter of " + t->name + " (" +
                  other.url + "); choose another code");
        return;
      }
      const bool same = other.url == url || (!id.empty() && other.resource_id == id);
      if (!same) {
        Collision("The code " + code + " of " + t->name + " is taken by the custom search " +
                  "parameter " + other.url);
        return;
      }
    }
  }

  fhir::Result<void> Outcome() {
    if (issues_.empty()) return {};
    return fhir::Error(422, std::move(issues_));
  }

 private:
  void CheckExpression(const std::string& expression, const std::vector<const TypeDef*>& types) {
    const fhir::model::Definitions& defs = registry_.definitions();
    std::set<std::string> compiled;
    for (const TypeDef* t : types) {
      const std::string text = ExpressionForType(expression, *t, defs);
      if (text.empty()) {
        Fault("The expression selects nothing of the base type " + t->name,
              "SearchParameter.expression");
        return;
      }
      if (!compiled.insert(text).second) continue;
      auto result = fhir::fhirpath::Expression::Compile(text, defs);
      if (!result.ok()) {
        Fault("The expression does not compile for " + t->name + ": " + result.error().text(),
              "SearchParameter.expression");
        return;
      }
    }
  }

  void CheckComponents(const rapidjson::Value& doc) {
    auto components = doc.FindMember("component");
    if (components == doc.MemberEnd() || !components->value.IsArray() ||
        components->value.Empty()) {
      Fault("A composite search parameter needs components", "SearchParameter.component");
      return;
    }
    for (rapidjson::SizeType i = 0; i < components->value.Size(); ++i) {
      const std::string at = "SearchParameter.component[" + std::to_string(i) + "]";
      const rapidjson::Value& component = components->value[i];
      if (!component.IsObject()) {
        Fault("A component must be an object", at);
        continue;
      }
      const SearchParamDefinition* definition =
          registry_.FindDefinition(StringAt(component, "definition"));
      if (definition == nullptr) {
        Fault("The component's definition is not a search parameter this server knows",
              at + ".definition");
      } else if (definition->type == ParamType::kComposite) {
        Fault("A component cannot be a composite search parameter", at + ".definition");
      }
      const std::string expression = StringAt(component, "expression");
      auto compiled =
          fhir::fhirpath::Expression::Compile(AsToOfType(expression), registry_.definitions());
      if (expression.empty() || !compiled.ok()) {
        Fault("The component's expression does not compile" +
                  (compiled.ok() ? std::string() : ": " + compiled.error().text()),
              at + ".expression");
      }
    }
  }

  const Registry& registry_;
  std::vector<fhir::Issue> issues_;
};

}  // namespace

std::string SearchParameterStatus(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) return {};
  return StringAt(doc, "status");
}

fhir::Result<void> ValidateCustomSearchParameter(std::string_view json, const Registry& registry) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject() ||
      StringAt(doc, "resourceType") != "SearchParameter") {
    return fhir::Error::Invalid("search.not-search-parameter",
                                "The text is not a SearchParameter resource in JSON");
  }
  Checker checker(registry);
  checker.Check(doc);
  return checker.Outcome();
}

std::string DefinitionKey(const SearchParamDefinition& definition) {
  // Tab-separated fields, with lists joined by newlines: neither occurs in urls, codes or types,
  // and an expression containing them still gives distinct keys for distinct definitions.
  std::string key = definition.url + '\t' + definition.code + '\t' +
                    std::string(ParamTypeName(definition.type)) + '\t' + definition.expression;
  for (const std::string& base : definition.base) key += "\tb:" + base;
  for (const std::string& target : definition.target) key += "\tt:" + target;
  for (const auto& component : definition.components) {
    key += "\tc:" + component.definition + '\n' + component.expression;
  }
  return key;
}

}  // namespace server::search
