#include "fhir/patch/fhirpath_patch.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fhir/fhirpath/fhirpath.h"
#include "fhir/json/json.h"
#include "fhir/model/primitive.h"
#include "fhir/xml/xml.h"

namespace fhir::patch {
namespace {

using model::ElementDef;
using model::TypeDef;

enum class OpType { kAdd, kInsert, kDelete, kReplace, kMove };

constexpr std::pair<std::string_view, OpType> kOpTypes[] = {{"add", OpType::kAdd},
                                                            {"insert", OpType::kInsert},
                                                            {"delete", OpType::kDelete},
                                                            {"replace", OpType::kReplace},
                                                            {"move", OpType::kMove}};

std::string_view OpName(OpType type) {
  for (const auto& [name, t] : kOpTypes) {
    if (t == type) return name;
  }
  return "";
}

struct Operation {
  OpType type = OpType::kAdd;
  size_t number = 0;     // 0-based, among the operations
  std::string location;  // "Parameters.parameter[2]"
  std::string path_text;
  std::optional<fhirpath::Expression> path;
  std::string name;
  const Node* value = nullptr;  // the "value" part: value[x], resource, or nested parts
  std::optional<int64_t> index;
  std::optional<int64_t> source;
  std::optional<int64_t> destination;
};

Error Malformed(std::string text, std::string location) {
  return Error::Invalid("patch.invalid", std::move(text), std::move(location));
}

// The text of a part's primitive value[x] of one of `kinds`, or nullopt.
std::optional<std::string_view> PartText(const Node& part,
                                         std::initializer_list<model::PrimitiveKind> kinds) {
  const Node* value = part.Child("value");
  if (value == nullptr || !value->is_primitive() || !value->has_value) return std::nullopt;
  if (std::find(kinds.begin(), kinds.end(), value->type->primitive) == kinds.end()) {
    return std::nullopt;
  }
  return value->value;
}

std::optional<std::string_view> PartName(const Node& part) {
  const Node* name = part.Child("name");
  if (name == nullptr || !name->has_value) return std::nullopt;
  return name->value;
}

// A value part holds exactly one of value[x], resource or nested parts; nested parts are named
// and hold a value the same way.
Result<void> CheckValuePart(const Node& part, const std::string& location, int depth) {
  const bool has_value = part.Child("value") != nullptr;
  const bool has_resource = part.Child("resource") != nullptr;
  const std::vector<const Node*> parts = part.Children("part");
  if (static_cast<int>(has_value) + static_cast<int>(has_resource) + (parts.empty() ? 0 : 1) != 1) {
    return Malformed("A value must be given as exactly one of value[x], resource or parts",
                     location);
  }
  if (depth > 64) return Malformed("Value parts are nested too deeply", location);
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string at = location + ".part[" + std::to_string(i) + "]";
    if (!PartName(*parts[i])) return Malformed("A part of a value needs a name", at);
    if (auto checked = CheckValuePart(*parts[i], at, depth + 1); !checked.ok()) return checked;
  }
  return {};
}

Result<std::vector<Operation>> ReadOperations(const Resource& patch,
                                              const model::Definitions& defs) {
  if (patch.resource_type() != "Parameters") {
    return Malformed("A FHIRPath Patch is a Parameters resource", "");
  }
  std::vector<Operation> ops;
  const std::vector<const Node*> parameters = patch.root()->Children("parameter");
  for (size_t i = 0; i < parameters.size(); ++i) {
    const Node& parameter = *parameters[i];
    Operation op;
    op.number = i;
    op.location = "Parameters.parameter[" + std::to_string(i) + "]";
    if (PartName(parameter) != "operation") {
      return Malformed("Every parameter of a FHIRPath Patch must be named \"operation\"",
                       op.location + ".name");
    }
    if (parameter.Child("value") != nullptr || parameter.Child("resource") != nullptr) {
      return Malformed("An operation carries parts only", op.location);
    }
    std::optional<OpType> type;
    std::vector<std::string_view> seen;
    const std::vector<const Node*> parts = parameter.Children("part");
    for (size_t j = 0; j < parts.size(); ++j) {
      const Node& part = *parts[j];
      const std::string at = op.location + ".part[" + std::to_string(j) + "]";
      auto name = PartName(part);
      if (!name) return Malformed("Every part of an operation needs a name", at);
      if (std::find(seen.begin(), seen.end(), *name) != seen.end()) {
        return Malformed("The part \"" + std::string(*name) + "\" is given twice", at);
      }
      seen.push_back(*name);
      using K = model::PrimitiveKind;
      if (*name == "type") {
        auto text = PartText(part, {K::kCode, K::kString});
        for (const auto& [op_name, t] : kOpTypes) {
          if (text == op_name) type = t;
        }
        if (!type) {
          return Malformed("The type must be a code: add, insert, delete, replace or move", at);
        }
      } else if (*name == "path" || *name == "name") {
        auto text = PartText(part, {K::kString, K::kCode, K::kUri});
        if (!text) return Malformed("The " + std::string(*name) + " must be a valueString", at);
        (*name == "path" ? op.path_text : op.name) = std::string(*text);
      } else if (*name == "index" || *name == "source" || *name == "destination") {
        auto text = PartText(part, {K::kInteger, K::kUnsignedInt, K::kPositiveInt});
        int64_t number = 0;
        if (!text ||
            std::from_chars(text->data(), text->data() + text->size(), number).ec != std::errc()) {
          return Malformed("The " + std::string(*name) + " must be a valueInteger", at);
        }
        (*name == "index" ? op.index : *name == "source" ? op.source : op.destination) = number;
      } else if (*name == "value") {
        if (auto checked = CheckValuePart(part, at, 0); !checked.ok())
          return std::move(checked).error();
        op.value = &part;
      } else {
        return Malformed("Unknown part \"" + std::string(*name) +
                             "\": an operation has type, path, name, value, index, source and "
                             "destination",
                         at);
      }
    }
    if (!type) return Malformed("The operation needs a type", op.location);
    op.type = *type;
    // Which parts each type takes (fhirpatch.html), so that a misplaced part is reported rather
    // than silently ignored.
    struct Needs {
      bool name, value, index, move;
    };
    const Needs needs{.name = op.type == OpType::kAdd,
                      .value = op.type == OpType::kAdd || op.type == OpType::kInsert ||
                               op.type == OpType::kReplace,
                      .index = op.type == OpType::kInsert,
                      .move = op.type == OpType::kMove};
    const std::string kind(OpName(op.type));
    auto check = [&](bool present, bool needed, std::string_view part) -> Result<void> {
      if (present == needed) return {};
      return Malformed("A " + kind + " operation " + (present ? "takes no" : "needs the") +
                           " part \"" + std::string(part) + "\"",
                       op.location);
    };
    for (auto result :
         {check(!op.path_text.empty(), true, "path"), check(!op.name.empty(), needs.name, "name"),
          check(op.value != nullptr, needs.value, "value"),
          check(op.index.has_value(), needs.index, "index"),
          check(op.source.has_value(), needs.move, "source"),
          check(op.destination.has_value(), needs.move, "destination")}) {
      if (!result.ok()) return std::move(result).error();
    }
    auto compiled = fhirpath::Expression::Compile(op.path_text, defs);
    if (!compiled.ok()) {
      return Malformed("The path is not a valid FHIRPath expression: " + compiled.error().text(),
                       op.location);
    }
    op.path = std::move(compiled).value();
    ops.push_back(std::move(op));
  }
  return ops;
}

bool IsValidText(const TypeDef& type, std::string_view text) {
  if (type.primitive == model::PrimitiveKind::kXhtml) return xml::CanonicalXhtml(text).ok();
  return model::IsValidPrimitive(type.primitive, text);
}

// A node the path selected, with the parent that holds it (nullptr for the resource itself).
struct Located {
  Node* parent = nullptr;
  Node* node = nullptr;
};

// The items of one repeating element of one parent.
struct List {
  Node* parent = nullptr;
  const ElementDef* def = nullptr;
  std::vector<Node*> items;
};

class Patcher {
 public:
  Patcher(const Resource& resource, const model::Definitions& defs)
      : working_(resource.Clone()), defs_(defs) {}

  Result<void> Apply(const Operation& op) {
    op_ = &op;
    switch (op.type) {
      case OpType::kAdd:
        return Add();
      case OpType::kInsert:
        return Insert();
      case OpType::kDelete:
        return Delete();
      case OpType::kReplace:
        return Replace();
      case OpType::kMove:
        return Move();
    }
    return {};
  }

  // Removes the elements the operations left empty, then reads the result as FHIR JSON.
  Result<Resource> Finish() {
    Prune(working_.root());
    auto parsed = json::Parse(json::Write(working_), defs_);
    if (!parsed.ok()) return Error(422, parsed.error().issues());
    return std::move(parsed).value();
  }

 private:
  Error Failed(const std::string& why) const {
    return Error::Unprocessable("patch.failed",
                                "FHIRPath Patch operation " + std::to_string(op_->number) + " (" +
                                    std::string(OpName(op_->type)) + ") failed: " + why,
                                op_->location);
  }

  // The nodes `expression` selects in the working copy, with their parents.
  Result<std::vector<Located>> Select(const fhirpath::Expression& expression,
                                      const std::string& text) {
    fhirpath::EvaluationContext context;
    context.resource = working_.root();
    auto result = expression.Evaluate(context);
    if (!result.ok())
      return Failed("the path " + text + " cannot be evaluated: " + result.error().text());
    std::unordered_map<const Node*, Node*> parents;
    IndexParents(working_.root(), &parents);
    std::vector<Located> out;
    for (const fhirpath::Value& item : *result) {
      if (!item.is_node()) return Failed("the path " + text + " selects a value, not an element");
      if (item.node == working_.root()) {
        out.push_back({nullptr, working_.root()});
        continue;
      }
      auto parent = parents.find(item.node);
      if (parent == parents.end()) {
        return Failed("the path " + text + " selects something outside the resource");
      }
      Node* node =
          *std::find(parent->second->children.begin(), parent->second->children.end(), item.node);
      out.push_back({parent->second, node});
    }
    return out;
  }

  static void IndexParents(Node* node, std::unordered_map<const Node*, Node*>* parents) {
    for (Node* child : node->children) {
      (*parents)[child] = node;
      IndexParents(child, parents);
    }
  }

  Result<Located> SelectOne(std::string_view verb) {
    auto selected = Select(*op_->path, op_->path_text);
    if (!selected.ok()) return std::move(selected).error();
    if (selected->empty())
      return Failed("no content found at " + op_->path_text + " " + std::string(verb));
    if (selected->size() > 1) {
      return Failed("the path " + op_->path_text + " selects " + std::to_string(selected->size()) +
                    " elements where one is required");
    }
    return selected->front();
  }

  // The list an insert or move works on.
  Result<List> SelectList() {
    auto selected = Select(*op_->path, op_->path_text);
    if (!selected.ok()) return std::move(selected).error();
    List list;
    if (selected->empty()) {
      // An empty list has no items to name its parent: take it from the path's last step.
      const size_t dot = op_->path_text.rfind('.');
      const std::string element = dot == std::string::npos ? "" : op_->path_text.substr(dot + 1);
      const bool simple =
          !element.empty() && std::all_of(element.begin(), element.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
          });
      if (!simple) return Failed("no list found at " + op_->path_text);
      const std::string parent_text = op_->path_text.substr(0, dot);
      auto parent_path = fhirpath::Expression::Compile(parent_text, defs_);
      if (!parent_path.ok()) return Failed("no list found at " + op_->path_text);
      auto parents = Select(*parent_path, parent_text);
      if (!parents.ok()) return std::move(parents).error();
      if (parents->size() != 1 || parents->front().node->type == nullptr) {
        return Failed("no list found at " + op_->path_text);
      }
      list.parent = parents->front().node;
      list.def = list.parent->type->FindElementByName(element);
      if (list.def == nullptr) {
        return Failed(std::string(list.parent->type->name) + " has no element " + element);
      }
    } else {
      for (const Located& item : *selected) {
        if (item.parent == nullptr) return Failed("the resource itself is not a list");
        if (list.parent == nullptr) {
          list.parent = item.parent;
          list.def = item.node->def;
        } else if (item.parent != list.parent || item.node->def != list.def) {
          return Failed("the path " + op_->path_text + " must select the items of one list");
        }
        list.items.push_back(item.node);
      }
    }
    if (!list.def->repeats()) {
      return Failed(list.def->path + " does not repeat, so it is not a list");
    }
    return list;
  }

  Result<void> Add() {
    auto target = SelectOne("when adding");
    if (!target.ok()) return std::move(target).error();
    Node* parent = target->node;
    if (parent->type == nullptr) return Failed("cannot add below " + op_->path_text);
    const TypeDef* chosen = nullptr;
    const ElementDef* def = parent->type->FindElement(op_->name, &chosen);
    if (def == nullptr) {
      def = parent->type->FindElementByName(op_->name);
      chosen = nullptr;
    }
    if (def == nullptr) {
      return Failed(std::string(parent->type->name) + " has no element " + op_->name);
    }
    if (!def->repeats() && HasChild(*parent, def)) {
      return Failed(def->path + " is already present and does not repeat: use replace");
    }
    auto built = Build(def, chosen, *op_->value);
    if (!built.ok()) return std::move(built).error();
    Resource::InsertChild(parent, *built);
    return {};
  }

  Result<void> Insert() {
    auto list = SelectList();
    if (!list.ok()) return std::move(list).error();
    const int64_t count = static_cast<int64_t>(list->items.size());
    if (*op_->index < 0 || *op_->index > count) {
      return Failed("index " + std::to_string(*op_->index) + " is not between 0 and " +
                    std::to_string(count));
    }
    auto built = Build(list->def, nullptr, *op_->value);
    if (!built.ok()) return std::move(built).error();
    PutAt(*list, list->items, static_cast<size_t>(*op_->index), *built);
    return {};
  }

  Result<void> Delete() {
    auto selected = Select(*op_->path, op_->path_text);
    if (!selected.ok()) return std::move(selected).error();
    if (selected->empty()) return {};
    if (selected->size() > 1) {
      return Failed("the path " + op_->path_text + " selects " + std::to_string(selected->size()) +
                    " elements; only one can be deleted");
    }
    const Located& target = selected->front();
    if (target.parent == nullptr) return Failed("the resource itself cannot be deleted");
    auto& kids = target.parent->children;
    kids.erase(std::find(kids.begin(), kids.end(), target.node));
    return {};
  }

  Result<void> Replace() {
    auto target = SelectOne("when replacing");
    if (!target.ok()) return std::move(target).error();
    if (target->parent == nullptr) return Failed("the resource itself cannot be replaced");
    Node* old = target->node;
    auto built = Build(old->def, nullptr, *op_->value);
    if (!built.ok()) return std::move(built).error();
    Node* replacement = *built;
    // A primitive's id and extensions describe the element, not the value being replaced.
    if (old->is_primitive() && replacement->is_primitive() && replacement->children.empty()) {
      replacement->children = old->children;
      Retype(replacement, replacement->type);
    }
    auto& kids = target->parent->children;
    *std::find(kids.begin(), kids.end(), old) = replacement;
    return {};
  }

  Result<void> Move() {
    auto list = SelectList();
    if (!list.ok()) return std::move(list).error();
    const int64_t count = static_cast<int64_t>(list->items.size());
    using Position = std::pair<const char*, int64_t>;
    for (const auto& [what, position] :
         {Position{"source", *op_->source}, Position{"destination", *op_->destination}}) {
      if (position < 0 || position >= count) {
        return Failed(std::string(what) + " " + std::to_string(position) +
                      " is not between 0 and " + std::to_string(count - 1));
      }
    }
    Node* moved = list->items[static_cast<size_t>(*op_->source)];
    auto& kids = list->parent->children;
    kids.erase(std::find(kids.begin(), kids.end(), moved));
    std::vector<Node*> rest = list->items;
    rest.erase(rest.begin() + *op_->source);
    PutAt(*list, rest, static_cast<size_t>(*op_->destination), moved);
    return {};
  }

  // Puts `node` into the parent so that it becomes item `index` of `items`.
  static void PutAt(const List& list, const std::vector<Node*>& items, size_t index, Node* node) {
    auto& kids = list.parent->children;
    if (items.empty()) {
      Resource::InsertChild(list.parent, node);
    } else if (index < items.size()) {
      kids.insert(std::find(kids.begin(), kids.end(), items[index]), node);
    } else {
      kids.insert(std::find(kids.begin(), kids.end(), items.back()) + 1, node);
    }
  }

  static bool HasChild(const Node& parent, const ElementDef* def) {
    return std::any_of(parent.children.begin(), parent.children.end(),
                       [def](const Node* c) { return c->def == def; });
  }

  // The type a value of type `given` takes in element `def`: `given` itself when the element
  // allows it or a supertype of it, else, for a primitive carried as text, a primitive type of
  // the element its text is valid for. nullptr when none fits.
  static const TypeDef* FitType(const ElementDef* def, const TypeDef* chosen, const TypeDef* given,
                                const Node& value) {
    std::vector<const TypeDef*> allowed = def->types;
    if (chosen != nullptr) allowed = {chosen};
    for (const TypeDef* type : allowed) {
      if (type == given || (type != nullptr && given->IsA(*type))) return given;
    }
    // Text converts (a valueString for a code or a date); booleans and numbers do not.
    if (!given->is_primitive() ||
        model::JsonRepresentationOf(given->primitive) != model::JsonRepresentation::kString) {
      return nullptr;
    }
    for (const TypeDef* type : allowed) {
      if (type == nullptr || !type->is_primitive()) continue;
      if (!value.has_value || IsValidText(*type, value.value)) return type;
    }
    return nullptr;
  }

  // A new node for element `def` of the working copy, from a value part.
  Result<Node*> Build(const ElementDef* def, const TypeDef* chosen, const Node& part) {
    if (const Node* value = part.Child("value")) {
      const TypeDef* type = FitType(def, chosen, value->type, *value);
      if (type == nullptr) {
        return Failed("a " + value->type->name + " value is not allowed for " + def->path);
      }
      Node* copy = working_.CopyNode(*value);
      copy->def = def;
      if (type != value->type) Retype(copy, type);
      if (type->primitive == model::PrimitiveKind::kXhtml && copy->has_value) {
        auto canonical = xml::CanonicalXhtml(copy->value);
        if (!canonical.ok()) return Failed("the value for " + def->path + " is not valid XHTML");
        copy->value = working_.Intern(*canonical);
      }
      return copy;
    }
    if (const Node* resource = part.Child("resource")) {
      if (FitType(def, nullptr, resource->type, *resource) == nullptr) {
        return Failed("a " + resource->type->name + " resource is not allowed for " + def->path);
      }
      Node* copy = working_.CopyNode(*resource);
      copy->def = def;
      return copy;
    }
    if (def->types.size() != 1 || def->types.front() == nullptr ||
        def->types.front()->is_primitive() || def->types.front()->is_resource()) {
      return Failed(def->path + " needs a value[x], not parts");
    }
    const TypeDef* type = def->types.front();
    Node* node = working_.NewNode(def, type);
    for (const Node* child_part : part.Children("part")) {
      const std::string_view name = *PartName(*child_part);
      const TypeDef* child_chosen = nullptr;
      const ElementDef* child_def = type->FindElement(name, &child_chosen);
      if (child_def == nullptr) {
        child_def = type->FindElementByName(name);
        child_chosen = nullptr;
      }
      if (child_def == nullptr) return Failed(type->name + " has no element " + std::string(name));
      if (!child_def->repeats() && HasChild(*node, child_def)) {
        return Failed(child_def->path + " is given twice and does not repeat");
      }
      auto child = Build(child_def, child_chosen, *child_part);
      if (!child.ok()) return child;
      Resource::InsertChild(node, *child);
    }
    return node;
  }

  // Gives a primitive node another primitive type; its id and extension children take that
  // type's element definitions.
  static void Retype(Node* node, const TypeDef* type) {
    node->type = type;
    for (Node* child : node->children) {
      if (child->def == nullptr) continue;
      if (const ElementDef* same = type->FindElementByName(child->def->name)) child->def = same;
    }
  }

  static void Prune(Node* node) {
    auto& kids = node->children;
    for (Node* child : kids) Prune(child);
    kids.erase(std::remove_if(kids.begin(), kids.end(),
                              [](const Node* c) {
                                return !c->has_value && c->children.empty() && !c->is_resource();
                              }),
               kids.end());
  }

  Resource working_;
  const model::Definitions& defs_;
  const Operation* op_ = nullptr;
};

}  // namespace

Result<Resource> ApplyFhirPathPatch(const Resource& resource, const Resource& patch,
                                    const model::Definitions& defs) {
  auto ops = ReadOperations(patch, defs);
  if (!ops.ok()) return std::move(ops).error();
  Patcher patcher(resource, defs);
  for (const Operation& op : *ops) {
    if (auto applied = patcher.Apply(op); !applied.ok()) return std::move(applied).error();
  }
  return patcher.Finish();
}

}  // namespace fhir::patch
