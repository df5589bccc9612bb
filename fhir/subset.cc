#include "fhir/subset.h"

#include <algorithm>
#include <cctype>

namespace fhir {
namespace {

constexpr std::string_view kSubsettedSystem =
    "http://terminology.hl7.org/CodeSystem/v3-ObservationValue";
constexpr std::string_view kSubsettedCode = "SUBSETTED";

bool IsMandatory(const Node& node) { return node.def != nullptr && node.def->min > 0; }

// "value" and "valueQuantity" both name the element value[x] of an Observation.
bool Names(const Node& node, std::string_view name) {
  const std::string_view base = node.name();
  if (name == base) return true;
  if (node.def == nullptr || !node.def->is_choice || node.type == nullptr) return false;
  const std::string_view type = node.type->name;
  return !type.empty() && name.size() == base.size() + type.size() && name.starts_with(base) &&
         name[base.size()] == std::toupper(static_cast<unsigned char>(type[0])) &&
         name.substr(base.size() + 1) == type.substr(1);
}

class Subsetter {
 public:
  explicit Subsetter(Resource& out) : out_(out) {}

  bool removed() const { return removed_; }

  // The root with the top-level children `keep` accepts, each copied whole.
  template <typename Keep>
  Node* TopLevel(const Node& root, Keep keep) {
    Node* copy = out_.NewNode(root.def, root.type);
    for (const Node* child : root.children) {
      if (keep(*child)) {
        copy->children.push_back(out_.CopyNode(*child));
      } else {
        removed_ = true;
      }
    }
    return copy;
  }

  // `node` reduced to its summary elements and mandatory ones, at every level; nullptr when
  // nothing of an element is left (a resource stays, even bare). An Extension is kept whole:
  // its url and value only mean something together.
  Node* Summary(const Node& node) {
    if (node.type != nullptr && node.type->name == "Extension") return out_.CopyNode(node);
    Node* copy = out_.NewNode(node.def, node.type);
    copy->value = out_.Intern(node.value);
    copy->has_value = node.has_value;
    for (const Node* child : node.children) {
      Node* kept = nullptr;
      if (child->def != nullptr && (child->def->summary || IsMandatory(*child))) {
        kept = Summary(*child);
      }
      if (kept != nullptr) {
        copy->children.push_back(kept);
      } else {
        removed_ = true;
      }
    }
    const bool empty = !copy->has_value && copy->children.empty();
    return empty && !node.is_resource() ? nullptr : copy;
  }

 private:
  Resource& out_;
  bool removed_ = false;
};

void AddSubsettedTag(Resource& resource) {
  Node* root = resource.root();
  Node* meta = root->Child("meta");
  if (meta == nullptr) meta = resource.AddChild(root, "meta");
  if (meta == nullptr) return;  // not a resource type: nothing to mark
  for (const Node* tag : meta->Children("tag")) {
    const Node* system = tag->Child("system");
    const Node* code = tag->Child("code");
    if (system != nullptr && code != nullptr && system->value == kSubsettedSystem &&
        code->value == kSubsettedCode) {
      return;
    }
  }
  Node* tag = resource.AddChild(meta, "tag");
  resource.AddPrimitive(tag, "system", kSubsettedSystem);
  resource.AddPrimitive(tag, "code", kSubsettedCode);
}

}  // namespace

Result<SummaryMode> ParseSummaryMode(std::string_view value) {
  if (value == "true") return SummaryMode::kTrue;
  if (value == "false") return SummaryMode::kFalse;
  if (value == "text") return SummaryMode::kText;
  if (value == "data") return SummaryMode::kData;
  if (value == "count") {
    return Error::Invalid("summary.invalid", "_summary=count applies to searches only");
  }
  return Error::Invalid("summary.invalid", "_summary must be one of true, false, text or data");
}

Resource Subset(const Resource& resource, SummaryMode mode,
                const std::vector<std::string>& elements) {
  if (resource.empty() || (mode == SummaryMode::kFalse && elements.empty())) {
    return resource.Clone();
  }
  Resource out;
  Subsetter subsetter(out);
  const Node& root = *resource.root();
  auto always = [](const Node& n) {
    return n.name() == "id" || n.name() == "meta" || IsMandatory(n);
  };
  if (!elements.empty()) {
    out.set_root(subsetter.TopLevel(root, [&](const Node& n) {
      return always(n) || std::any_of(elements.begin(), elements.end(),
                                      [&](const std::string& e) { return Names(n, e); });
    }));
  } else if (mode == SummaryMode::kTrue) {
    out.set_root(subsetter.Summary(root));
  } else if (mode == SummaryMode::kText) {
    out.set_root(
        subsetter.TopLevel(root, [&](const Node& n) { return always(n) || n.name() == "text"; }));
  } else {
    out.set_root(subsetter.TopLevel(root, [](const Node& n) { return n.name() != "text"; }));
  }
  if (subsetter.removed()) AddSubsettedTag(out);
  return out;
}

Resource SubsetEntries(const Resource& bundle, SummaryMode mode,
                       const std::vector<std::string>& elements) {
  Resource out = bundle.Clone();
  if (out.empty()) return out;
  for (Node* entry : out.root()->children) {
    if (entry->name() != "entry") continue;
    for (Node*& child : entry->children) {
      if (child->name() != "resource") continue;
      Resource alone;
      Node* root = alone.CopyNode(*child);
      root->def = nullptr;
      alone.set_root(root);
      const Resource reduced = Subset(alone, mode, elements);
      Node* copy = out.CopyNode(*reduced.root());
      copy->def = child->def;
      child = copy;
    }
  }
  return out;
}

}  // namespace fhir
