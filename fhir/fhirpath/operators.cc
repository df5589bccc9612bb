// The binary operators: arithmetic, comparison, equality and equivalence, membership, boolean
// logic (three-valued) and union.
#include <vector>

#include "fhir/fhirpath/evaluator.h"

namespace fhir::fhirpath {
namespace {

bool IsNumber(const Value& v) {
  return v.kind == ValueKind::kInteger || v.kind == ValueKind::kDecimal;
}

Decimal AsDecimal(const Value& v) {
  return v.kind == ValueKind::kInteger ? Decimal::FromInteger(v.integer) : v.decimal;
}

Result<Items> Equality(Evaluator& ev, const Items& a, const Items& b, bool negate) {
  Items out = ev.NewItems();
  if (a.empty() || b.empty()) return out;
  bool result = a.size() == b.size();
  for (size_t i = 0; result && i < a.size(); ++i) {
    auto eq = ItemsEqual(a[i], b[i]);
    if (!eq) return out;
    result = *eq;
  }
  out.push_back(Value::OfBoolean(result != negate));
  return out;
}

Result<Items> Equivalence(Evaluator& ev, const Items& a, const Items& b, bool negate) {
  Items out = ev.NewItems();
  bool result = a.size() == b.size();
  if (result) {
    std::vector<bool> used(b.size(), false);
    for (const Value& x : a) {
      bool found = false;
      for (size_t j = 0; j < b.size() && !found; ++j) {
        if (!used[j] && ItemsEquivalent(x, b[j])) {
          used[j] = true;
          found = true;
        }
      }
      if (!found) {
        result = false;
        break;
      }
    }
  }
  out.push_back(Value::OfBoolean(result != negate));
  return out;
}

Result<Items> Comparison(Evaluator& ev, const AstNode& node, const Items& a, const Items& b) {
  Items out = ev.NewItems();
  auto x = ev.Single(a, node, "a comparison");
  if (!x.ok()) return std::move(x).error();
  auto y = ev.Single(b, node, "a comparison");
  if (!y.ok()) return std::move(y).error();
  if (!*x || !*y) return out;
  OrderResult order = CompareItems(**x, **y);
  if (order == OrderResult::kIncomparable) {
    // A primitive without a value (only extensions) has nothing to compare.
    auto sx = ToSystem(**x);
    auto sy = ToSystem(**y);
    if ((!sx && (*x)->is_node() && (*x)->node->is_primitive()) ||
        (!sy && (*y)->is_node() && (*y)->node->is_primitive())) {
      return out;
    }
    return ev.Fail(node, "fhirpath.type-mismatch", "the operands cannot be compared");
  }
  if (order == OrderResult::kUnknown) return out;
  bool result = false;
  switch (node.op) {
    case BinaryOp::kLess:
      result = order == OrderResult::kLess;
      break;
    case BinaryOp::kGreater:
      result = order == OrderResult::kGreater;
      break;
    case BinaryOp::kLessOrEqual:
      result = order != OrderResult::kGreater;
      break;
    default:
      result = order != OrderResult::kLess;
      break;
  }
  out.push_back(Value::OfBoolean(result));
  return out;
}

Result<Items> Membership(Evaluator& ev, const AstNode& node, const Items& item,
                         const Items& collection) {
  Items out = ev.NewItems();
  auto x = ev.Single(item, node, "'in'/'contains'");
  if (!x.ok()) return std::move(x).error();
  if (!*x) return out;
  out.push_back(Value::OfBoolean(ContainsItem(collection, **x)));
  return out;
}

Result<Value> AddTemporal(Evaluator& ev, const AstNode& node, const Value& t, const Value& q,
                          bool subtract) {
  auto unit = DurationUnitOf(q.text);
  if (!unit) {
    std::string message = "not a calendar duration: ";
    message.append(q.text);
    return ev.Fail(node, "fhirpath.type-mismatch", message);
  }
  Decimal amount = subtract ? q.decimal.Negated() : q.decimal;
  auto r = AddDuration(t.temporal, amount, *unit);
  if (!r) return ev.Fail(node, "fhirpath.out-of-range", "date/time arithmetic out of range");
  return Value::OfTemporal(*r);
}

Result<Value> Arithmetic(Evaluator& ev, const AstNode& node, const Value& x, const Value& y) {
  auto overflow = [&]() { return ev.Fail(node, "fhirpath.overflow", "arithmetic overflow"); };
  auto mismatch = [&]() {
    return ev.Fail(node, "fhirpath.type-mismatch", "operands of incompatible types");
  };
  const BinaryOp op = node.op;
  if (x.kind == ValueKind::kInteger && y.kind == ValueKind::kInteger && op != BinaryOp::kDivide) {
    int64_t r = 0;
    bool bad = false;
    switch (op) {
      case BinaryOp::kAdd:
        bad = __builtin_add_overflow(x.integer, y.integer, &r);
        break;
      case BinaryOp::kSubtract:
        bad = __builtin_sub_overflow(x.integer, y.integer, &r);
        break;
      case BinaryOp::kMultiply:
        bad = __builtin_mul_overflow(x.integer, y.integer, &r);
        break;
      case BinaryOp::kDiv:
        r = x.integer / y.integer;
        break;
      case BinaryOp::kMod:
        r = x.integer % y.integer;
        break;
      default:
        return mismatch();
    }
    if (bad) return overflow();
    return Value::OfInteger(r);
  }
  if (IsNumber(x) && IsNumber(y)) {
    Decimal a = AsDecimal(x);
    Decimal b = AsDecimal(y);
    std::optional<Decimal> r;
    switch (op) {
      case BinaryOp::kAdd:
        r = Decimal::Add(a, b);
        break;
      case BinaryOp::kSubtract:
        r = Decimal::Subtract(a, b);
        break;
      case BinaryOp::kMultiply:
        r = Decimal::Multiply(a, b);
        break;
      case BinaryOp::kDivide:
        r = Decimal::Divide(a, b);
        break;
      case BinaryOp::kDiv: {
        r = Decimal::IntegerDivide(a, b);
        if (r && x.kind == ValueKind::kInteger && y.kind == ValueKind::kInteger) {
          return Value::OfInteger(*r->ToInteger());
        }
        break;
      }
      case BinaryOp::kMod:
        r = Decimal::Modulo(a, b);
        break;
      default:
        return mismatch();
    }
    if (!r) return overflow();
    return Value::OfDecimal(*r);
  }
  if (x.kind == ValueKind::kString && y.kind == ValueKind::kString && op == BinaryOp::kAdd) {
    std::string s(x.text);
    s += y.text;
    return Value::OfString(ev.Store(s));
  }
  if (x.is_temporal() && y.kind == ValueKind::kQuantity &&
      (op == BinaryOp::kAdd || op == BinaryOp::kSubtract)) {
    return AddTemporal(ev, node, x, y, op == BinaryOp::kSubtract);
  }
  if (x.kind == ValueKind::kQuantity && y.kind == ValueKind::kQuantity) {
    switch (op) {
      case BinaryOp::kAdd:
      case BinaryOp::kSubtract: {
        auto converted = ConvertQuantity(y.quantity(), x.text);
        if (!converted) {
          return ev.Fail(node, "fhirpath.incompatible-units", "quantities of different dimensions");
        }
        auto r = op == BinaryOp::kAdd ? Decimal::Add(x.decimal, *converted)
                                      : Decimal::Subtract(x.decimal, *converted);
        if (!r) return overflow();
        return Value::OfQuantity(*r, x.text);
      }
      case BinaryOp::kMultiply: {
        auto r = Decimal::Multiply(x.decimal, y.decimal);
        if (!r) return overflow();
        return Value::OfQuantity(*r, ev.Store(MultiplyUnits(x.text, y.text)));
      }
      case BinaryOp::kDivide: {
        auto r = Decimal::Divide(x.decimal, y.decimal);
        if (!r) return overflow();
        return Value::OfQuantity(*r, ev.Store(DivideUnits(x.text, y.text)));
      }
      default:
        return mismatch();
    }
  }
  if (x.kind == ValueKind::kQuantity && IsNumber(y) &&
      (op == BinaryOp::kMultiply || op == BinaryOp::kDivide)) {
    auto r = op == BinaryOp::kMultiply ? Decimal::Multiply(x.decimal, AsDecimal(y))
                                       : Decimal::Divide(x.decimal, AsDecimal(y));
    if (!r) return overflow();
    return Value::OfQuantity(*r, x.text);
  }
  if (IsNumber(x) && y.kind == ValueKind::kQuantity && op == BinaryOp::kMultiply) {
    auto r = Decimal::Multiply(AsDecimal(x), y.decimal);
    if (!r) return overflow();
    return Value::OfQuantity(*r, y.text);
  }
  return mismatch();
}

bool DivisionByZero(const Value& x, const Value& y, BinaryOp op) {
  if (op != BinaryOp::kDivide && op != BinaryOp::kDiv && op != BinaryOp::kMod) return false;
  if (y.kind == ValueKind::kInteger) return y.integer == 0;
  if (y.kind == ValueKind::kDecimal || y.kind == ValueKind::kQuantity) return y.decimal.is_zero();
  (void)x;
  return false;
}

}  // namespace

Result<Items> Evaluator::EvalBinary(const AstNode& node, const Frame& frame) {
  const BinaryOp op = node.op;
  auto left = Eval(*node.children[0], frame);
  if (!left.ok()) return left;
  Items out = NewItems();
  // Boolean operators short-circuit where the left side decides.
  if (op == BinaryOp::kAnd || op == BinaryOp::kOr || op == BinaryOp::kImplies ||
      op == BinaryOp::kXor) {
    auto a = SingleBoolean(*left, node);
    if (!a.ok()) return std::move(a).error();
    if (op == BinaryOp::kAnd && *a && !**a) {
      out.push_back(Value::OfBoolean(false));
      return out;
    }
    if (op == BinaryOp::kOr && *a && **a) {
      out.push_back(Value::OfBoolean(true));
      return out;
    }
    if (op == BinaryOp::kImplies && *a && !**a) {
      out.push_back(Value::OfBoolean(true));
      return out;
    }
    auto right = Eval(*node.children[1], frame);
    if (!right.ok()) return right;
    auto b = SingleBoolean(*right, node);
    if (!b.ok()) return std::move(b).error();
    std::optional<bool> r;
    switch (op) {
      case BinaryOp::kAnd:
        if (*b && !**b)
          r = false;
        else if (*a && *b)
          r = true;
        break;
      case BinaryOp::kOr:
        if (*b && **b)
          r = true;
        else if (*a && *b)
          r = false;
        break;
      case BinaryOp::kXor:
        if (*a && *b) r = **a != **b;
        break;
      default:  // implies, with a true or empty left side
        if (*b && **b)
          r = true;
        else if (*a && *b)
          r = false;
        break;
    }
    if (r) out.push_back(Value::OfBoolean(*r));
    return out;
  }
  auto right = Eval(*node.children[1], frame);
  if (!right.ok()) return right;
  const Items& a = *left;
  const Items& b = *right;
  switch (op) {
    case BinaryOp::kUnion:
      return Union(*this, a, b);
    case BinaryOp::kEqual:
    case BinaryOp::kNotEqual:
      return Equality(*this, a, b, op == BinaryOp::kNotEqual);
    case BinaryOp::kEquivalent:
    case BinaryOp::kNotEquivalent:
      return Equivalence(*this, a, b, op == BinaryOp::kNotEquivalent);
    case BinaryOp::kLess:
    case BinaryOp::kGreater:
    case BinaryOp::kLessOrEqual:
    case BinaryOp::kGreaterOrEqual:
      return Comparison(*this, node, a, b);
    case BinaryOp::kIn:
      return Membership(*this, node, a, b);
    case BinaryOp::kContains:
      return Membership(*this, node, b, a);
    case BinaryOp::kConcatenate: {
      auto x = SingleString(a, node);
      if (!x.ok()) return std::move(x).error();
      auto y = SingleString(b, node);
      if (!y.ok()) return std::move(y).error();
      std::string s(x->value_or(""));
      s += y->value_or("");
      out.push_back(Value::OfString(Store(s)));
      return out;
    }
    default:
      break;
  }
  auto x = Single(a, node, "an arithmetic operator");
  if (!x.ok()) return std::move(x).error();
  auto y = Single(b, node, "an arithmetic operator");
  if (!y.ok()) return std::move(y).error();
  if (!*x || !*y) return out;
  auto sx = ToSystem(**x);
  auto sy = ToSystem(**y);
  if (!sx || !sy) return out;
  if (DivisionByZero(*sx, *sy, op)) return out;
  auto r = Arithmetic(*this, node, *sx, *sy);
  if (!r.ok()) return std::move(r).error();
  out.push_back(*r);
  return out;
}

}  // namespace fhir::fhirpath
