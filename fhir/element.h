// The resource DOM: a tree of Nodes, one per element occurrence, typed by the definitions registry.
// It is format-neutral: the JSON and XML codecs read into it and write from it, FHIRPath and the
// search indexer navigate it. All nodes and strings of one resource (contained resources and
// Bundle entries included) live in the resource's arena, so building and dropping a resource is a
// handful of allocations. A Resource is movable, not copyable (use Clone), and not thread-safe for
// writing; concurrent readers are fine.
#ifndef FHIR_ELEMENT_H_
#define FHIR_ELEMENT_H_

#include <memory>
#include <memory_resource>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/model/definitions.h"

namespace fhir {

struct Node {
  explicit Node(std::pmr::memory_resource* arena) : children(arena) {}

  // Element definition; nullptr for the root of a top-level resource.
  const model::ElementDef* def = nullptr;
  // Concrete type: the chosen type of a choice element, the resource type of a resource (root,
  // contained, Bundle.entry.resource), the backbone type of a backbone element.
  const model::TypeDef* type = nullptr;
  // The primitive's lexical form, exactly as received: the JSON number text ("1.50", "1e2"),
  // "true"/"false", string content, or the XHTML markup of Narrative.div. Meaningful only when
  // has_value; a primitive may have only an id and extensions.
  std::string_view value;
  bool has_value = false;
  // Child elements ordered by definition (def->index); repeats of one element are adjacent and in
  // document order. For primitives: only "id" and "extension".
  std::pmr::vector<Node*> children;

  // The element's base name ("value" for valueQuantity); the type name for a top-level root.
  std::string_view name() const;
  // The name used in JSON and XML: "valueQuantity" for a choice element, else name().
  std::string JsonName() const;
  bool is_resource() const { return type != nullptr && type->is_resource(); }
  bool is_primitive() const { return type != nullptr && type->is_primitive(); }

  // First child whose base name is `name`, or nullptr.
  const Node* Child(std::string_view name) const;
  Node* Child(std::string_view name);
  // Every child whose base name is `name`, in order.
  std::vector<const Node*> Children(std::string_view name) const;
};

class Resource {
 public:
  Resource();
  Resource(Resource&&) noexcept;
  Resource& operator=(Resource&&) noexcept;
  Resource(const Resource&) = delete;
  Resource& operator=(const Resource&) = delete;
  ~Resource();

  bool empty() const { return root_ == nullptr; }
  Node* root() { return root_; }
  const Node* root() const { return root_; }
  // The resourceType, or "" when empty.
  std::string_view resource_type() const;

  // Building. Nodes and strings belong to this resource's arena.
  Node* NewNode(const model::ElementDef* def, const model::TypeDef* type);
  std::string_view Intern(std::string_view text);
  void set_root(Node* root) { root_ = root; }
  // Inserts `child` into `parent` keeping definition order: after every child whose element index
  // is lower or equal.
  static void InsertChild(Node* parent, Node* child);
  // Appends a primitive child with a value; a convenience for code that builds resources.
  Node* AddPrimitive(Node* parent, std::string_view element, std::string_view value);
  // Appends a complex (or backbone) child; for choice elements pass the JSON name
  // ("valueString") to choose the type. Returns nullptr when `element` is not an element of the
  // parent's type.
  Node* AddChild(Node* parent, std::string_view element);

  // A deep copy into a fresh arena.
  Resource Clone() const;
  // A deep copy of `node` (and its subtree) into this resource's arena.
  Node* CopyNode(const Node& node);

  std::pmr::memory_resource* arena() { return arena_.get(); }

 private:
  std::unique_ptr<std::pmr::monotonic_buffer_resource> arena_;
  Node* root_ = nullptr;
};

}  // namespace fhir

#endif  // FHIR_ELEMENT_H_
