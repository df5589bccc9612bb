#include "fhir/fhirpath/value.h"

#include <algorithm>
#include <cctype>

namespace fhir::fhirpath {
namespace {

using model::PrimitiveKind;

bool IsQuantityType(const model::TypeDef* t) {
  for (; t != nullptr; t = t->base) {
    if (t->name == "Quantity") return true;
  }
  return false;
}

std::optional<Value> QuantityOfNode(const Node* n) {
  const Node* value = n->Child("value");
  if (value == nullptr || !value->has_value) return std::nullopt;
  auto d = Decimal::Parse(value->value);
  if (!d) return std::nullopt;
  const Node* code = n->Child("code");
  const Node* system = n->Child("system");
  const Node* unit = n->Child("unit");
  std::string_view u = "1";
  bool ucum = system == nullptr || system->value == "http://unitsofmeasure.org";
  if (code != nullptr && code->has_value && ucum) {
    u = code->value;
  } else if (unit != nullptr && unit->has_value) {
    u = unit->value;
  } else if (code != nullptr && code->has_value) {
    u = code->value;
  }
  return Value::OfQuantity(*d, u);
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Case-insensitive comparison with runs of whitespace counted as one space, ends trimmed.
bool StringsEquivalent(std::string_view a, std::string_view b) {
  auto normalize = [](std::string_view s) {
    std::string out;
    bool space = false;
    for (char c : s) {
      if (IsSpace(c)) {
        space = !out.empty();
        continue;
      }
      if (space) out.push_back(' ');
      space = false;
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    return out;
  };
  return normalize(a) == normalize(b);
}

bool IsNumber(const Value& v) {
  return v.kind == ValueKind::kInteger || v.kind == ValueKind::kDecimal;
}

Decimal AsDecimal(const Value& v) {
  return v.kind == ValueKind::kInteger ? Decimal::FromInteger(v.integer) : v.decimal;
}

bool DateLike(ValueKind k) { return k == ValueKind::kDate || k == ValueKind::kDateTime; }

bool NodesMatch(const Node* a, const Node* b, bool equivalent);

// Equality or equivalence of two items, nullopt when unknown.
std::optional<bool> Match(const Value& a, const Value& b, bool equivalent) {
  if (a.is_node() && b.is_node()) {
    if (a.node == b.node) return true;
    const bool ca = !a.node->is_primitive();
    const bool cb = !b.node->is_primitive();
    if (ca || cb) {
      if (ca != cb) return false;
      return NodesMatch(a.node, b.node, equivalent);
    }
  }
  // System values of one simple kind compare without the copies ToSystem makes.
  if (!a.is_node() && a.kind == b.kind) {
    if (a.kind == ValueKind::kInteger) return a.integer == b.integer;
    if (a.kind == ValueKind::kBoolean) return a.boolean == b.boolean;
    if (a.kind == ValueKind::kString && !equivalent) return a.text == b.text;
  }
  auto sa = ToSystem(a);
  auto sb = ToSystem(b);
  if (!sa || !sb) {
    if (equivalent)
      return !sa && !sb && a.is_node() && b.is_node() && NodesMatch(a.node, b.node, true);
    return std::nullopt;
  }
  const Value& x = *sa;
  const Value& y = *sb;
  if (IsNumber(x) && IsNumber(y)) {
    if (x.kind == ValueKind::kInteger && y.kind == ValueKind::kInteger) {
      return x.integer == y.integer;
    }
    Decimal dx = AsDecimal(x);
    Decimal dy = AsDecimal(y);
    if (equivalent) {
      int digits = std::min(dx.scale(), dy.scale());
      return Decimal::Compare(dx.Rounded(digits), dy.Rounded(digits)) == 0;
    }
    return Decimal::Compare(dx, dy) == 0;
  }
  if (x.is_temporal() && y.is_temporal()) {
    const bool compatible = (DateLike(x.kind) && DateLike(y.kind)) || x.kind == y.kind;
    if (!compatible) return false;
    if (equivalent) return EquivalentTemporal(x.temporal, y.temporal);
    auto c = CompareTemporal(x.temporal, y.temporal);
    if (!c) return std::nullopt;
    return *c == 0;
  }
  if (x.kind != y.kind) return false;
  switch (x.kind) {
    case ValueKind::kBoolean:
      return x.boolean == y.boolean;
    case ValueKind::kString:
      return equivalent ? StringsEquivalent(x.text, y.text) : x.text == y.text;
    case ValueKind::kQuantity: {
      if (equivalent) return EquivalentQuantities(x.quantity(), y.quantity());
      auto c = CompareQuantities(x.quantity(), y.quantity());
      if (!c) return std::nullopt;
      return *c == 0;
    }
    case ValueKind::kTypeInfo:
      return x.text == y.text && x.text2 == y.text2;
    default:
      return false;
  }
}

bool NodesMatch(const Node* a, const Node* b, bool equivalent) {
  if (a->children.size() != b->children.size()) return false;
  if (a->is_primitive() || b->is_primitive()) {
    if (a->has_value != b->has_value) return false;
    if (a->has_value) {
      auto m = Match(Value::OfNode(a), Value::OfNode(b), equivalent);
      if (!m || !*m) return false;
    }
  }
  for (size_t i = 0; i < a->children.size(); ++i) {
    const Node* x = a->children[i];
    const Node* y = b->children[i];
    if (x->name() != y->name()) return false;
    if (x->is_primitive() && y->is_primitive()) {
      if (!NodesMatch(x, y, equivalent)) return false;
      continue;
    }
    auto m = Match(Value::OfNode(x), Value::OfNode(y), equivalent);
    if (!m || !*m) return false;
  }
  return true;
}

}  // namespace

Value Value::OfTemporal(const Temporal& t) {
  Value v;
  switch (t.kind) {
    case TemporalKind::kDate:
      v.kind = ValueKind::kDate;
      break;
    case TemporalKind::kDateTime:
      v.kind = ValueKind::kDateTime;
      break;
    case TemporalKind::kTime:
      v.kind = ValueKind::kTime;
      break;
  }
  v.temporal = t;
  return v;
}

std::optional<Value> ToSystem(const Value& v) {
  if (!v.is_node()) return v;
  const Node* n = v.node;
  if (n->type == nullptr) return std::nullopt;
  if (!n->is_primitive()) {
    if (IsQuantityType(n->type)) return QuantityOfNode(n);
    return std::nullopt;
  }
  if (!n->has_value) return std::nullopt;
  switch (n->type->primitive) {
    case PrimitiveKind::kBoolean:
      return Value::OfBoolean(n->value == "true");
    case PrimitiveKind::kInteger:
    case PrimitiveKind::kPositiveInt:
    case PrimitiveKind::kUnsignedInt: {
      auto d = Decimal::Parse(n->value);
      if (!d) return std::nullopt;
      auto i = d->ToInteger();
      if (!i) return Value::OfDecimal(*d);
      return Value::OfInteger(*i);
    }
    case PrimitiveKind::kDecimal: {
      auto d = Decimal::Parse(n->value);
      if (!d) return std::nullopt;
      return Value::OfDecimal(*d);
    }
    case PrimitiveKind::kDate: {
      auto t = Temporal::ParseDate(n->value);
      if (!t) return std::nullopt;
      return Value::OfTemporal(*t);
    }
    case PrimitiveKind::kDateTime:
    case PrimitiveKind::kInstant: {
      auto t = Temporal::ParseDateTime(n->value);
      if (!t) return std::nullopt;
      return Value::OfTemporal(*t);
    }
    case PrimitiveKind::kTime: {
      auto t = Temporal::ParseTime(n->value);
      if (!t) return std::nullopt;
      return Value::OfTemporal(*t);
    }
    default:
      return Value::OfString(n->value);
  }
}

std::optional<std::string_view> StringOf(const Value& v) {
  if (v.kind == ValueKind::kString) return v.text;
  if (!v.is_node() || !v.node->is_primitive() || !v.node->has_value) return std::nullopt;
  switch (v.node->type->primitive) {
    case PrimitiveKind::kBoolean:
    case PrimitiveKind::kInteger:
    case PrimitiveKind::kPositiveInt:
    case PrimitiveKind::kUnsignedInt:
    case PrimitiveKind::kDecimal:
    case PrimitiveKind::kDate:
    case PrimitiveKind::kDateTime:
    case PrimitiveKind::kInstant:
    case PrimitiveKind::kTime:
      return std::nullopt;
    default:
      return v.node->value;
  }
}

std::string_view OutputTypeName(const Value& v) {
  switch (v.kind) {
    case ValueKind::kNode:
      return v.node->type != nullptr ? std::string_view(v.node->type->name) : "Element";
    case ValueKind::kBoolean:
      return "boolean";
    case ValueKind::kInteger:
      return "integer";
    case ValueKind::kDecimal:
      return "decimal";
    case ValueKind::kString:
      return "string";
    case ValueKind::kDate:
      return "date";
    case ValueKind::kDateTime:
      return "dateTime";
    case ValueKind::kTime:
      return "time";
    case ValueKind::kQuantity:
      return "Quantity";
    case ValueKind::kTypeInfo:
      return "TypeInfo";
  }
  return "";
}

std::string OutputText(const Value& v) {
  switch (v.kind) {
    case ValueKind::kNode:
      return v.node->is_primitive() && v.node->has_value ? std::string(v.node->value)
                                                         : std::string();
    case ValueKind::kBoolean:
      return v.boolean ? "true" : "false";
    case ValueKind::kInteger:
      return std::to_string(v.integer);
    case ValueKind::kDecimal:
      return v.decimal.ToString();
    case ValueKind::kString:
      return std::string(v.text);
    case ValueKind::kDate:
    case ValueKind::kDateTime:
    case ValueKind::kTime:
      return v.temporal.ToString();
    case ValueKind::kQuantity:
      if (IsCalendarKeyword(v.text)) return v.decimal.ToString() + " " + std::string(v.text);
      return v.decimal.ToString() + " '" + std::string(v.text) + "'";
    case ValueKind::kTypeInfo:
      return std::string(v.text2) + "." + std::string(v.text);
  }
  return {};
}

std::optional<bool> ItemsEqual(const Value& a, const Value& b) { return Match(a, b, false); }

bool ItemsEquivalent(const Value& a, const Value& b) {
  auto m = Match(a, b, true);
  return m.has_value() && *m;
}

OrderResult CompareItems(const Value& a, const Value& b) {
  auto sa = ToSystem(a);
  auto sb = ToSystem(b);
  if (!sa || !sb) return OrderResult::kIncomparable;
  auto order = [](int c) {
    return c < 0 ? OrderResult::kLess : (c > 0 ? OrderResult::kGreater : OrderResult::kEqual);
  };
  const Value& x = *sa;
  const Value& y = *sb;
  if (IsNumber(x) && IsNumber(y)) {
    if (x.kind == ValueKind::kInteger && y.kind == ValueKind::kInteger) {
      return order(x.integer < y.integer ? -1 : (x.integer > y.integer ? 1 : 0));
    }
    return order(Decimal::Compare(AsDecimal(x), AsDecimal(y)));
  }
  if (x.is_temporal() && y.is_temporal()) {
    if (!((DateLike(x.kind) && DateLike(y.kind)) || x.kind == y.kind)) {
      return OrderResult::kIncomparable;
    }
    auto c = CompareTemporal(x.temporal, y.temporal);
    return c ? order(*c) : OrderResult::kUnknown;
  }
  if (x.kind == ValueKind::kString && y.kind == ValueKind::kString) {
    return order(x.text.compare(y.text));
  }
  if (x.kind == ValueKind::kQuantity && y.kind == ValueKind::kQuantity) {
    auto c = CompareQuantities(x.quantity(), y.quantity());
    return c ? order(*c) : OrderResult::kUnknown;
  }
  return OrderResult::kIncomparable;
}

}  // namespace fhir::fhirpath
