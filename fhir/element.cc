#include "fhir/element.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace fhir {

std::string_view Node::name() const {
  if (def != nullptr) return def->name;
  return type != nullptr ? std::string_view(type->name) : std::string_view();
}

std::string Node::JsonName() const {
  std::string out(name());
  if (def != nullptr && def->is_choice && type != nullptr && !type->name.empty()) {
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(type->name[0])));
    out.append(type->name, 1);
  }
  return out;
}

const Node* Node::Child(std::string_view child_name) const {
  for (const Node* c : children) {
    if (c->name() == child_name) return c;
  }
  return nullptr;
}

Node* Node::Child(std::string_view child_name) {
  for (Node* c : children) {
    if (c->name() == child_name) return c;
  }
  return nullptr;
}

std::vector<const Node*> Node::Children(std::string_view child_name) const {
  std::vector<const Node*> out;
  for (const Node* c : children) {
    if (c->name() == child_name) out.push_back(c);
  }
  return out;
}

Resource::Resource() : arena_(std::make_unique<std::pmr::monotonic_buffer_resource>(4096)) {}
Resource::Resource(Resource&&) noexcept = default;
Resource& Resource::operator=(Resource&&) noexcept = default;
Resource::~Resource() = default;

std::string_view Resource::resource_type() const {
  return root_ != nullptr && root_->type != nullptr ? std::string_view(root_->type->name)
                                                    : std::string_view();
}

Node* Resource::NewNode(const model::ElementDef* def, const model::TypeDef* type) {
  void* mem = arena_->allocate(sizeof(Node), alignof(Node));
  Node* node = new (mem) Node(arena_.get());
  node->def = def;
  node->type = type;
  return node;
}

std::string_view Resource::Intern(std::string_view text) {
  if (text.empty()) return {};
  char* mem = static_cast<char*>(arena_->allocate(text.size(), 1));
  std::memcpy(mem, text.data(), text.size());
  return {mem, text.size()};
}

void Resource::InsertChild(Node* parent, Node* child) {
  auto& kids = parent->children;
  const uint16_t index = child->def != nullptr ? child->def->index : 0;
  // Appending is the common case (codecs read in definition order).
  if (kids.empty() || kids.back()->def == nullptr || kids.back()->def->index <= index) {
    kids.push_back(child);
    return;
  }
  auto pos = std::upper_bound(kids.begin(), kids.end(), index, [](uint16_t i, const Node* n) {
    return n->def != nullptr && i < n->def->index;
  });
  kids.insert(pos, child);
}

Node* Resource::AddPrimitive(Node* parent, std::string_view element, std::string_view value) {
  Node* node = AddChild(parent, element);
  if (node != nullptr) {
    node->value = Intern(value);
    node->has_value = true;
  }
  return node;
}

Node* Resource::AddChild(Node* parent, std::string_view element) {
  if (parent == nullptr || parent->type == nullptr) return nullptr;
  const model::TypeDef* chosen = nullptr;
  const model::ElementDef* def = parent->type->FindElement(element, &chosen);
  if (def == nullptr) return nullptr;
  Node* node = NewNode(def, chosen);
  InsertChild(parent, node);
  return node;
}

Node* Resource::CopyNode(const Node& node) {
  Node* copy = NewNode(node.def, node.type);
  copy->value = Intern(node.value);
  copy->has_value = node.has_value;
  copy->children.reserve(node.children.size());
  for (const Node* c : node.children) copy->children.push_back(CopyNode(*c));
  return copy;
}

Resource Resource::Clone() const {
  Resource out;
  if (root_ != nullptr) out.root_ = out.CopyNode(*root_);
  return out;
}

}  // namespace fhir
