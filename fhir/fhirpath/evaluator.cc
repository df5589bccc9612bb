#include "fhir/fhirpath/evaluator.h"

#include <array>
#include <chrono>
#include <cstring>
#include <ctime>
#include <unordered_map>

#include "fhir/fhirpath/parser.h"

namespace fhir::fhirpath {
namespace {

bool TypeIsA(const model::TypeDef* t, const model::TypeDef* of) {
  return t != nullptr && of != nullptr && t->IsA(*of);
}

SystemType SystemTypeOf(ValueKind k) {
  switch (k) {
    case ValueKind::kBoolean:
      return SystemType::kBoolean;
    case ValueKind::kInteger:
      return SystemType::kInteger;
    case ValueKind::kDecimal:
      return SystemType::kDecimal;
    case ValueKind::kString:
      return SystemType::kString;
    case ValueKind::kDate:
      return SystemType::kDate;
    case ValueKind::kDateTime:
      return SystemType::kDateTime;
    case ValueKind::kTime:
      return SystemType::kTime;
    case ValueKind::kQuantity:
      return SystemType::kQuantity;
    default:
      return SystemType::kNone;
  }
}

}  // namespace

void Collection::Add(const Value& v) {
  Value* slot = &first_;
  if (size_ == 0) {
    first_ = v;
  } else {
    if (size_ == 1) spilled_.push_back(first_);
    slot = &spilled_.emplace_back(v);
  }
  ++size_;
  if (slot->is_node()) return;
  auto own = [this](std::string_view s) -> std::string_view {
    if (s.empty()) return s;
    strings_.push_back(std::make_unique<std::string>(s));
    return *strings_.back();
  };
  slot->text = own(v.text);
  slot->text2 = own(v.text2);
}

const Node* Hooks::Resolve(std::string_view) const { return nullptr; }

Result<std::optional<bool>> Hooks::MemberOf(const Value&, std::string_view value_set) const {
  return Error::NotSupported(
      "fhirpath.memberof-unsupported",
      "memberOf('" + std::string(value_set) + "') needs a terminology service");
}

Result<bool> Hooks::ConformsTo(const Node&, std::string_view profile) const {
  return Error::Invalid("fhirpath.unknown-profile",
                        "conformsTo: unknown profile '" + std::string(profile) + "'");
}

void Hooks::Trace(std::string_view, std::span<const Value>) const {}

Evaluator::Evaluator(const Compiled& compiled, const EvaluationContext& context,
                     std::pmr::memory_resource* arena)
    : compiled_(compiled), context_(context), arena_(arena) {
  static const Hooks kDefaultHooks;
  hooks_ = context.hooks != nullptr ? context.hooks : &kDefaultHooks;
}

std::string_view Evaluator::Store(std::string_view text) {
  if (text.empty()) return {};
  char* p = static_cast<char*>(arena_->allocate(text.size(), 1));
  std::memcpy(p, text.data(), text.size());
  return {p, text.size()};
}

Error Evaluator::Fail(const AstNode& at, std::string message_id, std::string text) const {
  return Error::Invalid(std::move(message_id),
                        text + " (at offset " + std::to_string(at.position) + ")", compiled_.text);
}

Error Evaluator::SingletonExpected(const Items& items, const AstNode& at, const char* what) const {
  return Fail(at, "fhirpath.singleton-expected",
              std::string(what) + " expects a single item, got " + std::to_string(items.size()));
}

Result<std::optional<bool>> Evaluator::SingleBoolean(const Items& items, const AstNode& at) {
  if (items.size() > 1) return SingletonExpected(items, at, "a boolean context");
  if (items.empty()) return std::optional<bool>();
  // Booleans decide without the copies of the general conversion: every and/or/where step
  // comes here.
  if (items[0].kind == ValueKind::kBoolean) return std::optional<bool>(items[0].boolean);
  auto v = ToSystem(items[0]);
  if (v && v->kind == ValueKind::kBoolean) return std::optional<bool>(v->boolean);
  return std::optional<bool>(true);
}

Result<std::optional<std::string_view>> Evaluator::SingleString(const Items& items,
                                                                const AstNode& at) {
  auto single = Single(items, at, "a string argument");
  if (!single.ok()) return std::move(single).error();
  if (!*single) return std::optional<std::string_view>();
  auto s = StringOf(**single);
  if (!s) {
    if ((*single)->is_node() && (*single)->node->is_primitive() && !(*single)->node->has_value) {
      return std::optional<std::string_view>();
    }
    return Fail(at, "fhirpath.type-mismatch", "a string is expected");
  }
  return std::optional<std::string_view>(*s);
}

Result<std::optional<int64_t>> Evaluator::SingleInteger(const Items& items, const AstNode& at) {
  auto single = Single(items, at, "an integer argument");
  if (!single.ok()) return std::move(single).error();
  if (!*single) return std::optional<int64_t>();
  auto v = ToSystem(**single);
  if (!v || v->kind != ValueKind::kInteger) {
    return Fail(at, "fhirpath.type-mismatch", "an integer is expected");
  }
  return std::optional<int64_t>(v->integer);
}

Result<Items> Evaluator::ArgFor(const AstNode& call, size_t i, const Value& item, int64_t index,
                                const Frame& frame) {
  Frame inner;
  inner.this_items = std::span<const Value>(&item, 1);
  inner.index = index;
  inner.total = frame.total;
  return Eval(call.arg(i), inner);
}

void Evaluator::Navigate(const Value& item, std::string_view name, Items* out) const {
  if (!item.is_node()) {
    if (item.kind == ValueKind::kTypeInfo) {
      if (name == "name") out->push_back(Value::OfString(item.text));
      if (name == "namespace") out->push_back(Value::OfString(item.text2));
    }
    return;
  }
  const Node* n = item.node;
  if (n->type == nullptr) return;
  const model::TypeDef* chosen = nullptr;
  const model::ElementDef* def = n->type->FindElement(name, &chosen);
  if (def == nullptr) {
    // A choice element by its base name ("value" for value[x]).
    def = n->type->FindElementByName(name);
    chosen = nullptr;
    if (def == nullptr) return;
  }
  const bool by_type = def->is_choice && chosen != nullptr && name != def->name;
  for (const Node* c : n->children) {
    if (c->def->index > def->index) break;  // children are in definition order
    if (c->def == def && (!by_type || c->type == chosen)) out->push_back(Value::OfNode(c));
  }
}

bool Evaluator::Matches(const Value& item, const TypeSpec& type, bool exact) const {
  if (item.is_node()) {
    const model::TypeDef* t = item.node->type;
    if (type.fhir == nullptr || t == nullptr) return false;
    if (exact && t->is_primitive()) return t == type.fhir;
    return TypeIsA(t, type.fhir);
  }
  return type.system != SystemType::kNone && SystemTypeOf(item.kind) == type.system;
}

Temporal Evaluator::Now() const {
  if (context_.now) return *context_.now;
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  Temporal t;
  t.kind = TemporalKind::kDateTime;
  t.precision = TemporalPrecision::kMillisecond;
  t.year = tm.tm_year + 1900;
  t.month = static_cast<uint8_t>(tm.tm_mon + 1);
  t.day = static_cast<uint8_t>(tm.tm_mday);
  t.hour = static_cast<uint8_t>(tm.tm_hour);
  t.minute = static_cast<uint8_t>(tm.tm_min);
  t.second = static_cast<uint8_t>(tm.tm_sec);
  t.millisecond = static_cast<uint16_t>(ms % 1000);
  t.has_offset = true;
  t.utc_z = true;
  return t;
}

Result<Items> Evaluator::Eval(const AstNode& node, const Frame& frame) {
  switch (node.kind) {
    case AstKind::kLiteral: {
      Items out = NewItems();
      out.push_back(node.literal);
      return out;
    }
    case AstKind::kEmpty:
      return NewItems();
    case AstKind::kThis: {
      Items out = NewItems();
      out.assign(frame.this_items.begin(), frame.this_items.end());
      return out;
    }
    case AstKind::kIndex: {
      Items out = NewItems();
      if (frame.index >= 0) out.push_back(Value::OfInteger(frame.index));
      return out;
    }
    case AstKind::kTotal: {
      Items out = NewItems();
      if (frame.total != nullptr) out.assign(frame.total->begin(), frame.total->end());
      return out;
    }
    case AstKind::kIdentifier: {
      Items out = NewItems();
      for (const Value& item : frame.this_items) {
        // A type name at the start of a path selects the context resource of that type.
        if (node.type.fhir != nullptr && item.is_node() && item.node->is_resource()) {
          if (TypeIsA(item.node->type, node.type.fhir)) {
            out.push_back(item);
            continue;
          }
        }
        Navigate(item, node.name, &out);
      }
      return out;
    }
    case AstKind::kMember: {
      const AstNode& target = *node.target();
      const model::TypeDef* known = node.member != nullptr ? target.static_type : nullptr;
      Items evaluated = NewItems();
      std::span<const Value> focus = frame.this_items;
      // "Patient.name" over a Patient: the type name selects the input itself, so the path
      // starts there without building a collection for it.
      const bool input_is_target = target.kind == AstKind::kIdentifier && known != nullptr &&
                                   focus.size() == 1 && focus[0].is_node() &&
                                   focus[0].node->type == known;
      if (!input_is_target) {
        auto items = Eval(target, frame);
        if (!items.ok()) return items;
        evaluated = std::move(*items);
        focus = evaluated;
      }
      Items out = NewItems();
      for (const Value& item : focus) {
        if (known != nullptr && item.is_node() && item.node->type == known) {
          for (const Node* c : item.node->children) {
            if (c->def->index > node.member->index) break;  // children are in definition order
            if (c->def == node.member &&
                (node.member_chosen == nullptr || c->type == node.member_chosen)) {
              out.push_back(Value::OfNode(c));
            }
          }
        } else {
          Navigate(item, node.name, &out);
        }
      }
      return out;
    }
    case AstKind::kFunction: {
      if (node.target() == nullptr) {
        Items focus = NewItems();
        focus.assign(frame.this_items.begin(), frame.this_items.end());
        return node.function->impl(*this, node, focus, frame);
      }
      auto focus = Eval(*node.target(), frame);
      if (!focus.ok()) return focus;
      return node.function->impl(*this, node, *focus, frame);
    }
    case AstKind::kIndexer: {
      auto focus = Eval(*node.target(), frame);
      if (!focus.ok()) return focus;
      auto index_items = Eval(*node.children[1], frame);
      if (!index_items.ok()) return index_items;
      auto index = SingleInteger(*index_items, node);
      if (!index.ok()) return std::move(index).error();
      Items out = NewItems();
      if (*index && **index >= 0 && static_cast<size_t>(**index) < focus->size()) {
        out.push_back((*focus)[static_cast<size_t>(**index)]);
      }
      return out;
    }
    case AstKind::kNegate: {
      auto operand = Eval(*node.target(), frame);
      if (!operand.ok()) return operand;
      auto single = Single(*operand, node, "unary minus");
      if (!single.ok()) return std::move(single).error();
      Items out = NewItems();
      if (!*single) return out;
      auto v = ToSystem(**single);
      if (v && v->kind == ValueKind::kInteger) {
        out.push_back(Value::OfInteger(-v->integer));
      } else if (v && v->kind == ValueKind::kDecimal) {
        out.push_back(Value::OfDecimal(v->decimal.Negated()));
      } else if (v && v->kind == ValueKind::kQuantity) {
        out.push_back(Value::OfQuantity(v->decimal.Negated(), v->text));
      } else {
        return Fail(node, "fhirpath.type-mismatch", "unary minus needs a number or quantity");
      }
      return out;
    }
    case AstKind::kBinary:
      return EvalBinary(node, frame);
    case AstKind::kIs: {
      auto operand = Eval(*node.target(), frame);
      if (!operand.ok()) return operand;
      auto single = Single(*operand, node, "'is'");
      if (!single.ok()) return std::move(single).error();
      Items out = NewItems();
      if (*single) out.push_back(Value::OfBoolean(Matches(**single, node.type, false)));
      return out;
    }
    case AstKind::kAs: {
      auto operand = Eval(*node.target(), frame);
      if (!operand.ok()) return operand;
      auto single = Single(*operand, node, "'as'");
      if (!single.ok()) return std::move(single).error();
      Items out = NewItems();
      if (*single && Matches(**single, node.type, true)) out.push_back(**single);
      return out;
    }
    case AstKind::kVariable:
      return EvalVariable(node, frame);
  }
  return NewItems();
}

Result<Items> Evaluator::EvalVariable(const AstNode& node, const Frame& frame) {
  Items out = NewItems();
  const std::string& name = node.name;
  auto push_node = [&](const Node* n) {
    if (n != nullptr) out.push_back(Value::OfNode(n));
  };
  const Node* resource = context_.resource;
  if (name == "context") {
    if (context_.context != nullptr) {
      push_node(context_.context);
    } else if (resource != nullptr) {
      push_node(resource);
    } else {
      out.assign(frame.this_items.begin(), frame.this_items.end());
    }
  } else if (name == "resource") {
    push_node(resource);
  } else if (name == "rootResource") {
    push_node(context_.root_resource != nullptr ? context_.root_resource : resource);
  } else if (name == "ucum") {
    out.push_back(Value::OfString("http://unitsofmeasure.org"));
  } else if (name == "sct") {
    out.push_back(Value::OfString("http://snomed.info/sct"));
  } else if (name == "loinc") {
    out.push_back(Value::OfString("http://loinc.org"));
  } else if (context_.variables != nullptr && context_.variables->count(name) != 0) {
    const auto& values = context_.variables->find(name)->second;
    out.assign(values.begin(), values.end());
  } else if (name.rfind("vs-", 0) == 0) {
    out.push_back(Value::OfString(Store("http://hl7.org/fhir/ValueSet/" + name.substr(3))));
  } else if (name.rfind("ext-", 0) == 0) {
    out.push_back(
        Value::OfString(Store("http://hl7.org/fhir/StructureDefinition/" + name.substr(4))));
  } else {
    return Fail(node, "fhirpath.unknown-variable", "Unknown variable %" + name);
  }
  return out;
}

Result<Items> Union(Evaluator& ev, const Items& a, const Items& b) {
  Items out = ev.NewItems();
  out.reserve(a.size() + b.size());
  for (const Items* side : {&a, &b}) {
    for (const Value& v : *side) {
      if (!ContainsItem(out, v)) out.push_back(v);
    }
  }
  return out;
}

bool ContainsItem(const Items& items, const Value& v) {
  for (const Value& x : items) {
    auto eq = ItemsEqual(x, v);
    if (eq && *eq) return true;
  }
  return false;
}

const FunctionDef* FindFunction(std::string_view name) {
  static const auto* const kTable = [] {
    auto* table = new std::unordered_map<std::string_view, const FunctionDef*>();
    for (auto group : {ExistenceFunctions(), SubsettingFunctions(), ConversionFunctions(),
                       StringFunctions(), MathFunctions(), FhirFunctions()}) {
      for (const FunctionDef& f : group) (*table)[f.name] = &f;
    }
    return table;
  }();
  auto it = kTable->find(name);
  return it == kTable->end() ? nullptr : it->second;
}

Result<Expression> Expression::Compile(std::string_view text, const model::Definitions& defs) {
  auto root = ParseExpression(text, defs);
  if (!root.ok()) return std::move(root).error();
  auto compiled = std::make_shared<Compiled>();
  compiled->text = std::string(text);
  compiled->defs = &defs;
  compiled->root = std::move(*root);
  return Expression(std::move(compiled));
}

const std::string& Expression::text() const { return compiled_->text; }

Result<Collection> Expression::Evaluate(const EvaluationContext& context) const {
  // Most evaluations fit in this buffer, so they allocate nothing but the result.
  std::array<std::byte, 4096> buffer;
  std::pmr::monotonic_buffer_resource arena(buffer.data(), buffer.size());
  Evaluator ev(*compiled_, context, &arena);
  Value input;
  Frame frame;
  const Node* start = context.context != nullptr ? context.context : context.resource;
  if (start != nullptr) {
    input = Value::OfNode(start);
    frame.this_items = std::span<const Value>(&input, 1);
  }
  auto items = ev.Eval(*compiled_->root, frame);
  if (!items.ok()) return std::move(items).error();
  Collection out;
  out.Reserve(items->size());
  for (const Value& v : *items) out.Add(v);
  return out;
}

Result<Collection> Expression::Evaluate(const Resource& resource) const {
  EvaluationContext context;
  context.resource = resource.root();
  return Evaluate(context);
}

}  // namespace fhir::fhirpath
