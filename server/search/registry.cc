#include "server/search/registry.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <utility>

namespace server::search {

namespace {

using fhir::model::Definitions;
using fhir::model::TypeDef;

std::string_view Trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string StringMember(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return {};
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::vector<std::string> StringArrayMember(const rapidjson::Value& object, const char* name) {
  std::vector<std::string> out;
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsArray()) return out;
  for (const auto& item : it->value.GetArray()) {
    if (item.IsString()) out.emplace_back(item.GetString(), item.GetStringLength());
  }
  return out;
}

bool BoolMember(const rapidjson::Value& object, const char* name, bool fallback) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsBool()) return fallback;
  return it->value.GetBool();
}

// The resource type a union branch starts with ("(DeviceRequest.code as CodeableConcept)" ->
// DeviceRequest, "Resource.meta.tag" -> Resource), or nullptr when the branch does not start with
// a resource type name (e.g. "%resource.x" or a relative path).
const TypeDef* BranchType(std::string_view branch, const Definitions& defs) {
  while (!branch.empty() && (branch.front() == '(' || branch.front() == ' ')) {
    branch.remove_prefix(1);
  }
  size_t n = 0;
  while (n < branch.size() &&
         (std::isalnum(static_cast<unsigned char>(branch[n])) != 0 || branch[n] == '_')) {
    ++n;
  }
  if (n == 0 || std::isupper(static_cast<unsigned char>(branch[0])) == 0) return nullptr;
  if (n < branch.size() && branch[n] != '.' && branch[n] != ' ' && branch[n] != ')') {
    return nullptr;
  }
  const TypeDef* type = defs.FindType(branch.substr(0, n));
  return type != nullptr && type->is_resource() ? type : nullptr;
}

using Branches = std::vector<std::pair<std::string, const TypeDef*>>;

// The branches of a union of typed paths, each with its head type (nullptr when untyped), and
// whether every branch is typed.
Branches SplitBranches(std::string_view expression, const Definitions& defs, bool* all_typed) {
  Branches branches;
  *all_typed = !expression.empty();
  for (std::string_view branch : SplitTopLevelUnion(expression)) {
    const TypeDef* head = BranchType(branch, defs);
    if (head == nullptr) *all_typed = false;
    branches.emplace_back(AsToOfType(branch), head);
  }
  return branches;
}

// Typed branches are kept per type; untyped expressions apply as a whole.
std::string JoinBranches(const Branches& branches, bool all_typed, const TypeDef& type) {
  std::string text;
  for (const auto& [branch, head] : branches) {
    if (all_typed && !type.IsA(*head)) continue;
    if (!text.empty()) text += " | ";
    text += branch;
  }
  return text;
}

}  // namespace

std::vector<const TypeDef*> ConcreteTypes(std::string_view base, const Definitions& defs) {
  std::vector<const TypeDef*> out;
  const TypeDef* type = defs.FindType(base);
  if (type == nullptr || !type->is_resource()) return out;
  if (!type->is_abstract) {
    out.push_back(type);
    return out;
  }
  for (const TypeDef* resource : defs.resources()) {
    if (resource->IsA(*type)) out.push_back(resource);
  }
  return out;
}

// "(Observation.component.value as Quantity)" -> "Observation.component.value.ofType(Quantity)".
// The standard expressions use `as` on paths that may yield several items, which FHIRPath
// rejects at run time ("as" takes a single item); ofType() is what they mean.
std::string AsToOfType(std::string_view expression) {
  static const std::regex kAs(R"(\(([A-Za-z][A-Za-z0-9_.]*) as ([A-Za-z][A-Za-z0-9_]*)\))");
  return std::regex_replace(std::string(expression), kAs, "$1.ofType($2)");
}

std::string ExpressionForType(std::string_view expression, const TypeDef& type,
                              const Definitions& defs) {
  bool all_typed = false;
  Branches branches = SplitBranches(Trim(expression), defs, &all_typed);
  return JoinBranches(branches, all_typed, type);
}

std::optional<ParamType> ParseParamType(std::string_view text) {
  static constexpr std::pair<std::string_view, ParamType> kTypes[] = {
      {"number", ParamType::kNumber},       {"date", ParamType::kDate},
      {"string", ParamType::kString},       {"token", ParamType::kToken},
      {"reference", ParamType::kReference}, {"composite", ParamType::kComposite},
      {"quantity", ParamType::kQuantity},   {"uri", ParamType::kUri},
      {"special", ParamType::kSpecial},
  };
  for (const auto& [name, type] : kTypes) {
    if (name == text) return type;
  }
  return std::nullopt;
}

std::vector<std::string_view> SplitTopLevelUnion(std::string_view expression) {
  std::vector<std::string_view> out;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < expression.size(); ++i) {
    char c = expression[i];
    if (c == '\'' || c == '`' || c == '"') {
      // Skip the quoted text; a backslash escapes the next character.
      for (++i; i < expression.size() && expression[i] != c; ++i) {
        if (expression[i] == '\\') ++i;
      }
    } else if (c == '(' || c == '[' || c == '{') {
      ++depth;
    } else if (c == ')' || c == ']' || c == '}') {
      --depth;
    } else if (c == '|' && depth == 0) {
      out.push_back(Trim(expression.substr(start, i - start)));
      start = i + 1;
    }
  }
  out.push_back(Trim(expression.substr(std::min(start, expression.size()))));
  return out;
}

fhir::Result<std::unique_ptr<Registry>> Registry::Load(
    const std::vector<std::string>& search_parameter_jsons, const Definitions& defs,
    const std::vector<std::string>& custom_jsons) {
  std::unique_ptr<Registry> registry(new Registry(defs));
  const size_t total = search_parameter_jsons.size() + custom_jsons.size();
  for (size_t i = 0; i < total; ++i) {
    const bool custom = i >= search_parameter_jsons.size();
    const std::string& text =
        custom ? custom_jsons[i - search_parameter_jsons.size()] : search_parameter_jsons[i];
    rapidjson::Document doc;
    doc.Parse(text.data(), text.size());
    if (doc.HasParseError() || !doc.IsObject()) {
      return fhir::Error::Invalid("search.invalid-json", "a SearchParameter text is not JSON");
    }
    if (StringMember(doc, "resourceType") != "SearchParameter") {
      return fhir::Error::Invalid("search.not-search-parameter",
                                  "a text is not a SearchParameter resource");
    }
    auto definition = std::make_unique<SearchParamDefinition>();
    definition->url = StringMember(doc, "url");
    definition->code = StringMember(doc, "code");
    std::optional<ParamType> type = ParseParamType(StringMember(doc, "type"));
    if (definition->code.empty() || !type) {
      registry->warnings_.push_back(definition->url + ": no code or unknown type");
      continue;
    }
    definition->type = *type;
    definition->base = StringArrayMember(doc, "base");
    definition->target = StringArrayMember(doc, "target");
    definition->expression = std::string(Trim(StringMember(doc, "expression")));
    definition->multiple_or = BoolMember(doc, "multipleOr", true);
    definition->multiple_and = BoolMember(doc, "multipleAnd", true);
    definition->modifiers = StringArrayMember(doc, "modifier");
    definition->comparators = StringArrayMember(doc, "comparator");
    if (auto it = doc.FindMember("component"); it != doc.MemberEnd() && it->value.IsArray()) {
      for (const auto& component : it->value.GetArray()) {
        if (!component.IsObject()) continue;
        definition->components.push_back(
            {StringMember(component, "definition"), StringMember(component, "expression")});
      }
    }
    definition->custom = custom;
    if (custom) definition->resource_id = StringMember(doc, "id");
    if (definition->base.empty()) {
      registry->warnings_.push_back(definition->url + ": no base");
      continue;
    }
    registry->Add(std::move(definition));
  }
  for (auto& [type, params] : registry->by_type_) {
    std::sort(params.begin(), params.end(),
              [](const SearchParam* a, const SearchParam* b) { return a->code() < b->code(); });
  }
  registry->ResolveComponents();
  registry->ResolveUnions();
  return registry;
}

void Registry::ResolveComponents() {
  std::map<std::string_view, const SearchParamDefinition*> by_url;
  for (const auto& definition : definitions_) by_url.emplace(definition->url, definition.get());
  for (const auto& param : params_) {
    const SearchParamDefinition& def = *param->definition;
    if (def.type != ParamType::kComposite) continue;
    std::vector<SearchParam::Component> components;
    for (const SearchParamDefinition::Component& component : def.components) {
      auto found = by_url.find(component.definition);
      if (found == by_url.end() || found->second->type == ParamType::kComposite) {
        warnings_.push_back(def.url + ": unknown component " + component.definition);
        break;
      }
      auto expression =
          fhir::fhirpath::Expression::Compile(AsToOfType(component.expression), *defs_);
      if (!expression.ok()) {
        warnings_.push_back(
            def.url + ": component expression does not compile: " + expression.error().text());
        break;
      }
      components.push_back({found->second, std::move(*expression)});
    }
    if (components.size() == def.components.size()) param->components = std::move(components);
  }
}

namespace {

// Whether rows of `part` can stand for those of `whole` on the branches they share: the same
// parameter type and, for composites, components of the same types over the same expressions.
bool SameKind(const SearchParam& whole, const SearchParam& part) {
  if (whole.type() != part.type()) return false;
  if (whole.type() != ParamType::kComposite) return true;
  const auto& a = whole.definition->components;
  const auto& b = part.definition->components;
  if (whole.components.empty() || a.size() != b.size() ||
      part.components.size() != whole.components.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].expression != b[i].expression ||
        whole.components[i].definition->type != part.components[i].definition->type) {
      return false;
    }
  }
  return true;
}

}  // namespace

void Registry::ResolveUnions() {
  std::map<const SearchParam*, std::set<std::string_view>> branches;
  for (const auto& param : params_) {
    for (std::string_view branch : SplitTopLevelUnion(param->expression_text)) {
      if (!branch.empty()) branches[param.get()].insert(branch);
    }
  }
  // Fewer branches first, so that a union's parts are known not to be unions themselves.
  std::vector<SearchParam*> order;
  for (const auto& param : params_) order.push_back(param.get());
  std::stable_sort(order.begin(), order.end(), [&](const SearchParam* a, const SearchParam* b) {
    return branches[a].size() < branches[b].size();
  });
  for (SearchParam* whole : order) {
    const std::set<std::string_view>& mine = branches[whole];
    if (mine.size() < 2 || whole->type() == ParamType::kReference) continue;
    std::vector<const SearchParam*> parts;
    std::set<std::string_view> covered;
    for (const SearchParam* part : by_type_[whole->resource_type]) {
      // Parts share no branch, or a resource would have a row twice.
      const std::set<std::string_view>& theirs = branches[part];
      if (part == whole || theirs.empty() || theirs.size() >= mine.size() ||
          !part->union_of.empty() || !SameKind(*whole, *part) ||
          !std::includes(mine.begin(), mine.end(), theirs.begin(), theirs.end()) ||
          std::any_of(theirs.begin(), theirs.end(),
                      [&](std::string_view branch) { return covered.contains(branch); })) {
        continue;
      }
      covered.insert(theirs.begin(), theirs.end());
      parts.push_back(part);
    }
    if (covered == mine) whole->union_of = std::move(parts);
  }
}

void Registry::Add(std::unique_ptr<SearchParamDefinition> definition) {
  const SearchParamDefinition* def = definition.get();
  bool all_typed = false;
  const Branches branches = SplitBranches(def->expression, *defs_, &all_typed);

  std::set<const TypeDef*> types;
  for (const std::string& base : def->base) {
    std::vector<const TypeDef*> expanded = ConcreteTypes(base, *defs_);
    if (expanded.empty()) warnings_.push_back(def->url + ": unknown base " + base);
    types.insert(expanded.begin(), expanded.end());
  }
  // Compiled once per distinct text: the 148 types of a Resource parameter share one.
  std::map<std::string, std::optional<fhir::fhirpath::Expression>> compiled;
  bool used = false;
  std::vector<std::string> duplicate_on;
  for (const TypeDef* type : types) {
    std::vector<const SearchParam*>& params = by_type_[type->name];
    auto existing = std::find_if(params.begin(), params.end(),
                                 [&](const SearchParam* p) { return p->code() == def->code; });
    if (existing != params.end()) {
      duplicate_on.push_back(type->name);
      continue;
    }
    auto param = std::make_unique<SearchParam>();
    param->definition = def;
    param->resource_type = type->name;
    param->expression_text = JoinBranches(branches, all_typed, *type);
    if (!param->expression_text.empty()) {
      auto [it, inserted] = compiled.try_emplace(param->expression_text);
      if (inserted) {
        auto expression = fhir::fhirpath::Expression::Compile(param->expression_text, *defs_);
        if (expression.ok()) {
          it->second = std::move(*expression);
        } else {
          warnings_.push_back(def->url + ": expression for " + type->name +
                              " does not compile: " + expression.error().text());
        }
      }
      if (!it->second) continue;
      param->expression = it->second;
    }
    params.push_back(param.get());
    params_.push_back(std::move(param));
    used = true;
  }
  if (!duplicate_on.empty()) {
    // One line per definition: a Resource-wide duplicate would otherwise give one per type.
    std::string warning = def->url + ": duplicate code " + def->code + " on " +
                          std::to_string(duplicate_on.size()) + " type(s), the first defined kept:";
    for (size_t i = 0; i < duplicate_on.size() && i < 5; ++i) warning += " " + duplicate_on[i];
    if (duplicate_on.size() > 5) warning += " ...";
    warnings_.push_back(std::move(warning));
  }
  if (used) definitions_.push_back(std::move(definition));
}

const SearchParam* Registry::Find(std::string_view resource_type, std::string_view code) const {
  std::span<const SearchParam* const> params = ForType(resource_type);
  auto it =
      std::lower_bound(params.begin(), params.end(), code,
                       [](const SearchParam* p, std::string_view c) { return p->code() < c; });
  return it != params.end() && (*it)->code() == code ? *it : nullptr;
}

const SearchParamDefinition* Registry::FindDefinition(std::string_view url) const {
  for (const auto& definition : definitions_) {
    if (definition->url == url) return definition.get();
  }
  return nullptr;
}

void Registry::MarkRowsPending(const SearchParamDefinition* definition) {
  for (auto& owned : definitions_) {
    if (owned.get() == definition) owned->rows_pending = true;
  }
}

std::vector<const SearchParamDefinition*> Registry::CustomDefinitions() const {
  std::vector<const SearchParamDefinition*> out;
  for (const auto& definition : definitions_) {
    if (definition->custom) out.push_back(definition.get());
  }
  return out;
}

std::span<const SearchParam* const> Registry::ForType(std::string_view resource_type) const {
  auto it = by_type_.find(resource_type);
  if (it == by_type_.end()) return {};
  return it->second;
}

fhir::Result<std::vector<std::string>> ReadPackageFiles(const std::filesystem::path& package_dir,
                                                        std::string_view prefix) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (std::filesystem::directory_iterator it(package_dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.starts_with(prefix) && name.ends_with(".json")) {
      files.push_back(it->path());
    }
  }
  if (ec) {
    return fhir::Error::Internal("search.read-package", "the package folder cannot be read");
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> texts;
  texts.reserve(files.size());
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return fhir::Error::Internal("search.read-package", "a file cannot be read");
    std::ostringstream content;
    content << in.rdbuf();
    texts.push_back(std::move(content).str());
  }
  return texts;
}

fhir::Result<std::vector<std::string>> ReadSearchParameterFiles(
    const std::filesystem::path& package_dir) {
  return ReadPackageFiles(package_dir, "SearchParameter-");
}

}  // namespace server::search
