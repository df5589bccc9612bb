#include "server/terminology/terminology.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <optional>

namespace server::terminology {

namespace {

using Json = rapidjson::Value;

std::string_view Text(const Json& object, const char* name) {
  if (!object.IsObject()) return {};
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

const Json* Array(const Json& object, const char* name) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsArray()) return nullptr;
  return &it->value;
}

// A property's value[x] as text; nullopt for types a filter cannot compare.
std::optional<std::string> PropertyValue(const Json& property) {
  for (auto it = property.MemberBegin(); it != property.MemberEnd(); ++it) {
    const std::string_view name(it->name.GetString(), it->name.GetStringLength());
    if (!name.starts_with("value")) continue;
    const Json& value = it->value;
    if (value.IsString()) return std::string(value.GetString(), value.GetStringLength());
    if (value.IsBool()) return value.GetBool() ? "true" : "false";
    if (value.IsInt64()) return std::to_string(value.GetInt64());
    if (value.IsObject()) return std::string(Text(value, "code"));  // valueCoding
  }
  return std::nullopt;
}

fhir::Result<rapidjson::Document> ParseResource(std::string_view json, std::string_view type,
                                                std::string_view message_id) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject() || Text(doc, "resourceType") != type) {
    return fhir::Error::Invalid(std::string(message_id), "The text is not a " + std::string(type));
  }
  if (Text(doc, "url").empty()) {
    return fhir::Error::Invalid(std::string(message_id),
                                "A " + std::string(type) + " needs a url to be used in a search");
  }
  return doc;
}

}  // namespace

// Builds a CodeSystem's concepts and their hierarchy from its JSON.
class CodeSystemReader {
 public:
  explicit CodeSystemReader(CodeSystem& system) : system_(system) {}

  void Add(const Json& concepts, std::optional<size_t> parent) {
    for (const Json& concept_json : concepts.GetArray()) {
      const std::string_view code = Text(concept_json, "code");
      if (code.empty()) continue;
      size_t at;
      if (auto it = system_.index_.find(std::string(code)); it != system_.index_.end()) {
        at = it->second;
      } else {
        at = system_.concepts_.size();
        system_.concepts_.push_back({.code = std::string(code)});
        system_.index_.emplace(code, at);
      }
      if (const Json* properties = Array(concept_json, "property")) {
        for (const Json& property : properties->GetArray()) {
          const std::string_view name = Text(property, "code");
          auto value = PropertyValue(property);
          if (name.empty() || !value) continue;
          system_.concepts_[at].properties.emplace_back(std::string(name), std::move(*value));
        }
      }
      if (parent) Link(*parent, at);
      if (const Json* nested = Array(concept_json, "concept")) Add(*nested, at);
    }
  }

  // The `parent` and `child` properties, once every concept is known.
  void LinkProperties() {
    for (size_t at = 0; at < system_.concepts_.size(); ++at) {
      // Link may grow the lists, so iterate over a copy.
      const auto properties = system_.concepts_[at].properties;
      for (const auto& [name, value] : properties) {
        if (name != "parent" && name != "child") continue;
        auto other = system_.index_.find(value);
        if (other == system_.index_.end()) continue;
        if (name == "parent") {
          Link(other->second, at);
        } else {
          Link(at, other->second);
        }
      }
    }
  }

 private:
  void Link(size_t parent, size_t child) {
    if (parent == child) return;
    auto& children = system_.concepts_[parent].children;
    if (std::find(children.begin(), children.end(), child) != children.end()) return;
    children.push_back(child);
    system_.concepts_[child].parents.push_back(parent);
  }

  CodeSystem& system_;
};

fhir::Result<std::unique_ptr<CodeSystem>> CodeSystem::Parse(std::string_view json) {
  auto doc = ParseResource(json, "CodeSystem", "terminology.invalid-code-system");
  if (!doc.ok()) return std::move(doc).error();
  auto out = std::make_unique<CodeSystem>();
  out->url_ = Text(*doc, "url");
  out->version_ = Text(*doc, "version");
  out->content_ = Text(*doc, "content");
  CodeSystemReader reader(*out);
  if (const Json* concepts = Array(*doc, "concept")) reader.Add(*concepts, std::nullopt);
  reader.LinkProperties();
  return out;
}

std::vector<std::string> CodeSystem::Codes() const {
  std::vector<std::string> out;
  out.reserve(concepts_.size());
  for (const Concept& concept_entry : concepts_) out.push_back(concept_entry.code);
  return out;
}

std::vector<std::string> CodeSystem::Walk(std::string_view code, bool down) const {
  auto start = index_.find(std::string(code));
  if (start == index_.end()) return {};
  std::vector<bool> seen(concepts_.size());
  std::vector<size_t> order{start->second};
  seen[start->second] = true;
  for (size_t i = 0; i < order.size(); ++i) {
    const Concept& at = concepts_[order[i]];
    for (size_t next : down ? at.children : at.parents) {
      if (seen[next]) continue;
      seen[next] = true;
      order.push_back(next);
    }
  }
  std::vector<std::string> out;
  out.reserve(order.size());
  for (size_t at : order) out.push_back(concepts_[at].code);
  return out;
}

std::vector<std::string> CodeSystem::Descendants(std::string_view code) const {
  return Walk(code, true);
}

std::vector<std::string> CodeSystem::Ancestors(std::string_view code) const {
  return Walk(code, false);
}

std::vector<std::string_view> CodeSystem::Property(std::string_view code,
                                                   std::string_view property) const {
  std::vector<std::string_view> out;
  auto it = index_.find(std::string(code));
  if (it == index_.end()) return out;
  for (const auto& [name, value] : concepts_[it->second].properties) {
    if (name == property) out.push_back(value);
  }
  return out;
}

// Reads a ValueSet's compose and expansion from its JSON.
class ValueSetReader {
 public:
  explicit ValueSetReader(ValueSet& value_set) : value_set_(value_set) {}

  void Contains(const Json& contains) {
    for (const Json& entry : contains.GetArray()) {
      const std::string_view code = Text(entry, "code");
      if (!code.empty()) {
        value_set_.expansion_.push_back({std::string(Text(entry, "system")), std::string(code)});
      }
      if (const Json* nested = Array(entry, "contains")) Contains(*nested);
    }
  }

  static std::vector<ComposeSet> Sets(const Json& compose, const char* name) {
    std::vector<ComposeSet> out;
    const Json* sets = Array(compose, name);
    if (sets == nullptr) return out;
    for (const Json& set_json : sets->GetArray()) {
      ComposeSet set{.system = std::string(Text(set_json, "system")),
                     .version = std::string(Text(set_json, "version"))};
      if (const Json* concepts = Array(set_json, "concept")) {
        for (const Json& concept_json : concepts->GetArray()) {
          const std::string_view code = Text(concept_json, "code");
          if (!code.empty()) set.concepts.emplace_back(code);
        }
      }
      if (const Json* filters = Array(set_json, "filter")) {
        for (const Json& filter : filters->GetArray()) {
          set.filters.push_back({.property = std::string(Text(filter, "property")),
                                 .op = std::string(Text(filter, "op")),
                                 .value = std::string(Text(filter, "value"))});
        }
      }
      if (const Json* value_sets = Array(set_json, "valueSet")) {
        for (const Json& canonical : value_sets->GetArray()) {
          if (canonical.IsString()) set.value_sets.emplace_back(canonical.GetString());
        }
      }
      out.push_back(std::move(set));
    }
    return out;
  }

 private:
  ValueSet& value_set_;
};

fhir::Result<std::unique_ptr<ValueSet>> ValueSet::Parse(std::string_view json) {
  auto doc = ParseResource(json, "ValueSet", "terminology.invalid-value-set");
  if (!doc.ok()) return std::move(doc).error();
  auto out = std::make_unique<ValueSet>();
  out->url_ = Text(*doc, "url");
  out->version_ = Text(*doc, "version");
  ValueSetReader reader(*out);
  if (auto expansion = doc->FindMember("expansion");
      expansion != doc->MemberEnd() && expansion->value.IsObject()) {
    if (const Json* contains = Array(expansion->value, "contains")) {
      out->has_expansion_ = true;
      reader.Contains(*contains);
    }
  }
  if (auto compose = doc->FindMember("compose");
      compose != doc->MemberEnd() && compose->value.IsObject()) {
    out->has_compose_ = true;
    out->include_ = ValueSetReader::Sets(compose->value, "include");
    out->exclude_ = ValueSetReader::Sets(compose->value, "exclude");
  }
  return out;
}

namespace {

template <typename T>
const T* FindIn(const std::vector<std::unique_ptr<T>>& all,
                const std::map<std::string, std::vector<size_t>, std::less<>>& urls,
                std::string_view url, std::string_view version) {
  auto it = urls.find(url);
  if (it == urls.end()) return nullptr;
  for (size_t at : it->second) {
    if (version.empty() || all[at]->version() == version) return all[at].get();
  }
  return nullptr;
}

}  // namespace

std::unique_ptr<Terminology> Terminology::Load(const std::vector<std::string>& value_set_jsons,
                                               const std::vector<std::string>& code_system_jsons) {
  auto out = std::unique_ptr<Terminology>(new Terminology());
  for (const std::string& json : value_set_jsons) {
    auto parsed = ValueSet::Parse(json);
    if (!parsed.ok()) {
      out->warnings_.push_back(parsed.error().text());
      continue;
    }
    if (FindIn(out->value_sets_, out->value_set_urls_, (*parsed)->url(), (*parsed)->version())) {
      continue;
    }
    out->value_set_urls_[(*parsed)->url()].push_back(out->value_sets_.size());
    out->value_sets_.push_back(std::move(parsed).value());
  }
  for (const std::string& json : code_system_jsons) {
    auto parsed = CodeSystem::Parse(json);
    if (!parsed.ok()) {
      out->warnings_.push_back(parsed.error().text());
      continue;
    }
    if ((*parsed)->content() == "supplement" || FindIn(out->code_systems_, out->code_system_urls_,
                                                       (*parsed)->url(), (*parsed)->version())) {
      continue;
    }
    out->code_system_urls_[(*parsed)->url()].push_back(out->code_systems_.size());
    out->code_systems_.push_back(std::move(parsed).value());
  }
  return out;
}

const ValueSet* Terminology::FindValueSet(std::string_view url, std::string_view version) const {
  return FindIn(value_sets_, value_set_urls_, url, version);
}

const CodeSystem* Terminology::FindCodeSystem(std::string_view url,
                                              std::string_view version) const {
  return FindIn(code_systems_, code_system_urls_, url, version);
}

}  // namespace server::terminology
