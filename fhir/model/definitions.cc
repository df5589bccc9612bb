#include "fhir/model/definitions.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <deque>
#include <functional>
#include <optional>
#include <unordered_map>
#include <utility>

#include "fhir/model/structure_definition_reader.h"

namespace fhir::model {
namespace {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

struct PrimitiveName {
  std::string_view name;
  PrimitiveKind kind;
};

constexpr PrimitiveName kPrimitives[] = {
    {"boolean", PrimitiveKind::kBoolean},
    {"integer", PrimitiveKind::kInteger},
    {"positiveInt", PrimitiveKind::kPositiveInt},
    {"unsignedInt", PrimitiveKind::kUnsignedInt},
    {"decimal", PrimitiveKind::kDecimal},
    {"string", PrimitiveKind::kString},
    {"code", PrimitiveKind::kCode},
    {"id", PrimitiveKind::kId},
    {"markdown", PrimitiveKind::kMarkdown},
    {"uri", PrimitiveKind::kUri},
    {"url", PrimitiveKind::kUrl},
    {"canonical", PrimitiveKind::kCanonical},
    {"oid", PrimitiveKind::kOid},
    {"uuid", PrimitiveKind::kUuid},
    {"base64Binary", PrimitiveKind::kBase64Binary},
    {"instant", PrimitiveKind::kInstant},
    {"date", PrimitiveKind::kDate},
    {"dateTime", PrimitiveKind::kDateTime},
    {"time", PrimitiveKind::kTime},
    {"xhtml", PrimitiveKind::kXhtml},
};

std::optional<PrimitiveKind> PrimitiveKindOf(std::string_view name) {
  for (const auto& p : kPrimitives) {
    if (p.name == name) return p.kind;
  }
  return std::nullopt;
}

std::string_view Parent(std::string_view path) {
  size_t dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : path.substr(0, dot);
}

std::string ChoiceName(std::string_view base, std::string_view type) {
  std::string out(base);
  out += static_cast<char>(std::toupper(static_cast<unsigned char>(type.front())));
  out.append(type.substr(1));
  return out;
}

Error MissingType(std::string_view path, std::string_view type) {
  return Error::Internal("definitions.missing-type", std::string(path) + " has the type " +
                                                         std::string(type) +
                                                         ", which no StructureDefinition defines");
}

}  // namespace

struct TypeDef::Lookup {
  struct Entry {
    const ElementDef* element = nullptr;
    const TypeDef* chosen = nullptr;
    // False for the base name of a choice element ("value"), which is not a valid JSON name
    // but is found by FindElementByName.
    bool is_json_name = true;
  };
  StringMap<Entry> entries;
};

const ElementDef* TypeDef::FindElement(std::string_view name, const TypeDef** chosen) const {
  if (lookup != nullptr) {
    auto it = lookup->entries.find(name);
    if (it != lookup->entries.end() && it->second.is_json_name) {
      if (chosen != nullptr) *chosen = it->second.chosen;
      return it->second.element;
    }
  }
  if (chosen != nullptr) *chosen = nullptr;
  return nullptr;
}

const ElementDef* TypeDef::FindElementByName(std::string_view name) const {
  if (lookup == nullptr) return nullptr;
  auto it = lookup->entries.find(name);
  if (it == lookup->entries.end() || it->second.element->name != name) return nullptr;
  return it->second.element;
}

bool TypeDef::IsA(const TypeDef& other) const {
  for (const TypeDef* t = this; t != nullptr; t = t->base) {
    if (t == &other) return true;
  }
  return false;
}

struct Definitions::Impl {
  // The one construction path of both loaders. A nested class, so it may use the private
  // constructor.
  static Result<std::unique_ptr<Definitions>> Create(const std::vector<SdType>& records);

  std::deque<TypeDef> types;  // a deque keeps TypeDef addresses stable while growing
  StringMap<const TypeDef*> by_name;
};

namespace {

// Builds the registry from the records of every base StructureDefinition: first one TypeDef per
// record so that element types can refer to any of them, then the elements, then the
// contentReferences, which may point forward within a definition.
class Builder {
 public:
  explicit Builder(std::deque<TypeDef>& types) : types_(types) {}

  Result<void> Build(const std::vector<SdType>& records) {
    for (const SdType& record : records) {
      TypeDef& type = types_.emplace_back();
      type.name = record.name;
      type.url = record.url;
      type.kind = record.kind;
      type.is_abstract = record.is_abstract;
      if (record.kind == TypeKind::kPrimitive) {
        std::optional<PrimitiveKind> primitive = PrimitiveKindOf(record.name);
        if (!primitive) {
          return Error::Internal("definitions.unknown-primitive",
                                 "the primitive type " + record.name + " is not part of FHIR R4");
        }
        type.primitive = *primitive;
      }
      if (!by_name_.emplace(type.name, &type).second) {
        return Error::Internal("definitions.duplicate-type",
                               "two StructureDefinitions define " + type.name);
      }
      by_url_.emplace(type.url, &type);
    }
    for (const char* required : {"Element", "BackboneElement", "Resource", "id", "string"}) {
      if (Find(required) == nullptr) {
        return Error::Internal("definitions.missing-type",
                               std::string("the package does not define ") + required);
      }
    }
    for (const SdType& record : records) {
      TypeDef* type = Find(record.name);
      if (!record.base_url.empty()) {
        auto base = by_url_.find(record.base_url);
        if (base == by_url_.end()) {
          return Error::Internal("definitions.missing-base",
                                 record.name + " derives from the unknown " + record.base_url);
        }
        type->base = base->second;
      }
      if (auto built = AddElements(record, *type); !built.ok()) return built;
    }
    for (const PendingReference& pending : pending_) {
      TypeDef* target = Find(pending.target);
      if (target == nullptr || target->kind != TypeKind::kBackbone) {
        return Error::Internal("definitions.missing-type",
                               pending.owner->elements[pending.index].path + " refers to " +
                                   pending.target + ", which is not a backbone element");
      }
      pending.owner->elements[pending.index].types = {target};
    }
    for (TypeDef& type : types_) BuildLookup(type);
    return {};
  }

 private:
  struct PendingReference {
    TypeDef* owner;
    size_t index;
    std::string target;
  };

  TypeDef* Find(std::string_view name) {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
  }

  Result<void> AddElements(const SdType& record, TypeDef& root) {
    const std::vector<SdElement>& elements = record.elements;
    const std::string value_path = record.name + ".value";
    const std::string id_path = record.name + ".id";
    for (size_t i = 1; i < elements.size(); ++i) {
      const SdElement& e = elements[i];
      // A primitive's value is Node::value, not an element.
      if (record.kind == TypeKind::kPrimitive && e.path == value_path) continue;
      TypeDef* owner = Find(Parent(e.path));
      if (owner == nullptr || (owner != &root && owner->kind != TypeKind::kBackbone)) {
        return Error::Internal("definitions.orphan-element",
                               e.path + " is not inside an element of " + record.name);
      }
      if (owner->elements.size() > UINT16_MAX) {
        return Error::Internal("definitions.too-many-elements", owner->name);
      }
      ElementDef& def = owner->elements.emplace_back();
      def.path = e.path;
      std::string_view name = std::string_view(e.path).substr(e.path.rfind('.') + 1);
      if (name.ends_with("[x]")) {
        def.is_choice = true;
        name.remove_suffix(3);
      }
      def.name = std::string(name);
      def.min = e.min;
      def.max = e.max;
      def.summary = e.summary;
      def.modifier = e.modifier;
      def.xml_attribute = e.xml_attribute;
      def.index = static_cast<uint16_t>(owner->elements.size() - 1);
      def.owner = owner;

      if (!e.content_reference.empty()) {
        pending_.push_back({owner, def.index, e.content_reference});
        continue;
      }
      const bool has_children =
          i + 1 < elements.size() && elements[i + 1].path.size() > e.path.size() &&
          elements[i + 1].path.starts_with(e.path) && elements[i + 1].path[e.path.size()] == '.';
      if (has_children && e.types.size() == 1 &&
          (e.types[0] == "BackboneElement" || e.types[0] == "Element")) {
        TypeDef& backbone = types_.emplace_back();
        backbone.name = e.path;
        backbone.kind = TypeKind::kBackbone;
        backbone.base = Find(e.types[0]);
        if (!by_name_.emplace(backbone.name, &backbone).second) {
          return Error::Internal("definitions.duplicate-type",
                                 "the backbone element " + e.path + " is defined twice");
        }
        def.types = {&backbone};
        continue;
      }
      if (has_children) {
        return Error::Internal("definitions.orphan-element",
                               elements[i + 1].path + " is inside an element of type " +
                                   (e.types.empty() ? std::string("(none)") : e.types[0]));
      }
      if (e.types.empty()) return MissingType(e.path, "(none)");
      if (record.kind == TypeKind::kResource && e.path == id_path) {
        // R4 publishes Resource.id with the fhir-type "string", but the specification text and
        // every server treat it as an id (64 characters of [A-Za-z0-9-.]).
        def.types = {Find("id")};
        continue;
      }
      def.types.reserve(e.types.size());
      for (const std::string& type_name : e.types) {
        const TypeDef* type = Find(type_name);
        if (type == nullptr) return MissingType(e.path, type_name);
        def.types.push_back(type);
      }
      def.xhtml = def.types.size() == 1 && def.types[0]->primitive == PrimitiveKind::kXhtml;
    }
    return {};
  }

  static void BuildLookup(TypeDef& type) {
    auto lookup = std::make_shared<TypeDef::Lookup>();
    for (const ElementDef& e : type.elements) {
      if (!e.is_choice) {
        const TypeDef* chosen = e.types.size() == 1 ? e.types[0] : nullptr;
        // The concrete type of a contained resource comes from its content.
        if (chosen != nullptr && chosen->kind == TypeKind::kResource) chosen = nullptr;
        lookup->entries.emplace(e.name, TypeDef::Lookup::Entry{&e, chosen, true});
        continue;
      }
      lookup->entries.emplace(e.name, TypeDef::Lookup::Entry{&e, nullptr, false});
      for (const TypeDef* t : e.types) {
        lookup->entries.emplace(ChoiceName(e.name, t->name), TypeDef::Lookup::Entry{&e, t, true});
      }
    }
    type.lookup = std::move(lookup);
  }

  std::deque<TypeDef>& types_;
  StringMap<TypeDef*> by_name_;
  StringMap<TypeDef*> by_url_;
  std::vector<PendingReference> pending_;
};

}  // namespace

Result<std::unique_ptr<Definitions>> Definitions::Impl::Create(const std::vector<SdType>& records) {
  std::unique_ptr<Definitions> defs(new Definitions());
  Impl& impl = *defs->impl_;
  Builder builder(impl.types);
  if (auto built = builder.Build(records); !built.ok()) return std::move(built).error();
  defs->all_.reserve(impl.types.size());
  for (const TypeDef& type : impl.types) {
    impl.by_name.emplace(type.name, &type);
    defs->all_.push_back(&type);
    if (type.kind == TypeKind::kResource && !type.is_abstract) defs->resources_.push_back(&type);
  }
  auto by_type_name = [](const TypeDef* a, const TypeDef* b) { return a->name < b->name; };
  std::sort(defs->all_.begin(), defs->all_.end(), by_type_name);
  std::sort(defs->resources_.begin(), defs->resources_.end(), by_type_name);
  return defs;
}

Definitions::Definitions() : impl_(std::make_unique<Impl>()) {}
Definitions::~Definitions() = default;

const TypeDef* Definitions::FindType(std::string_view name) const {
  auto it = impl_->by_name.find(name);
  return it == impl_->by_name.end() ? nullptr : it->second;
}

const TypeDef* Definitions::FindResource(std::string_view name) const {
  const TypeDef* type = FindType(name);
  return type != nullptr && type->kind == TypeKind::kResource && !type->is_abstract ? type
                                                                                    : nullptr;
}

namespace {

Result<std::optional<SdType>> ReadIfBase(std::string_view json) {
  if (IsObviouslyProfile(json)) return std::optional<SdType>();
  return ReadStructureDefinition(json);
}

Result<std::string> ReadWholeFile(const std::filesystem::path& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return Error::Internal("definitions.unreadable", "cannot read " + path.string());
  }
  std::string text;
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) text.append(buffer, n);
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) return Error::Internal("definitions.unreadable", "cannot read " + path.string());
  return text;
}

}  // namespace

Result<std::unique_ptr<Definitions>> Definitions::LoadFromJson(
    const std::vector<std::string>& structure_definitions) {
  std::vector<SdType> records;
  for (const std::string& json : structure_definitions) {
    auto record = ReadIfBase(json);
    if (!record.ok()) return std::move(record).error();
    if (record->has_value()) records.push_back(std::move(**record));
  }
  return Impl::Create(records);
}

Result<std::unique_ptr<Definitions>> Definitions::LoadFromDirectory(
    const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) {
    return Error::Internal(
        "definitions.package-missing",
        "cannot open the FHIR definitions folder " + dir.string() + ": " + ec.message());
  }
  std::vector<std::filesystem::path> files;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with("StructureDefinition-") && name.ends_with(".json")) {
      files.push_back(it->path());
    }
  }
  if (ec) {
    return Error::Internal("definitions.package-missing",
                           "cannot list " + dir.string() + ": " + ec.message());
  }
  // Directory order varies between file systems; sorting keeps loading deterministic.
  std::sort(files.begin(), files.end());
  std::vector<SdType> records;
  for (const auto& file : files) {
    auto text = ReadWholeFile(file);
    if (!text.ok()) return std::move(text).error();
    auto record = ReadIfBase(*text);
    if (!record.ok()) {
      const Error& error = record.error();
      return Error::Internal(error.message_id(), file.filename().string() + ": " + error.text());
    }
    if (record->has_value()) records.push_back(std::move(**record));
  }
  if (records.empty()) {
    return Error::Internal("definitions.package-missing",
                           dir.string() + " holds no base StructureDefinitions");
  }
  return Impl::Create(records);
}

}  // namespace fhir::model
