// Math functions (abs, ceiling, floor, truncate, round, exp, ln, log, power, sqrt) and the
// precision functions (precision, lowBoundary, highBoundary, comparable). Rounding and
// boundaries are exact on decimals; exp, ln, log, power with a fractional exponent and sqrt go
// through binary floating point and keep 15 significant digits.
#include <cmath>

#include "fhir/fhirpath/evaluator.h"

namespace fhir::fhirpath {
namespace {

constexpr int kMaxBoundaryDigits = 28;

Items One(Evaluator& ev, Value v) {
  Items out = ev.NewItems();
  out.push_back(v);
  return out;
}

// The single numeric (or quantity) input, nullopt when empty.
Result<std::optional<Value>> NumberInput(Evaluator& ev, const AstNode& call, const Items& focus,
                                         bool allow_quantity) {
  auto s = ev.Single(focus, call, call.name.c_str());
  if (!s.ok()) return std::move(s).error();
  if (!*s) return std::optional<Value>();
  auto v = ToSystem(**s);
  if (!v) return std::optional<Value>();
  if (v->kind == ValueKind::kInteger || v->kind == ValueKind::kDecimal ||
      (allow_quantity && v->kind == ValueKind::kQuantity)) {
    return std::optional<Value>(*v);
  }
  return ev.Fail(call, "fhirpath.type-mismatch", call.name + "() needs a number");
}

Decimal AsDecimal(const Value& v) {
  return v.kind == ValueKind::kInteger ? Decimal::FromInteger(v.integer) : v.decimal;
}

#define FHIRPATH_NUMBER(var, quantity)                   \
  auto var##_r = NumberInput(ev, call, focus, quantity); \
  if (!var##_r.ok()) return std::move(var##_r).error();  \
  if (!*var##_r) return ev.NewItems();                   \
  const Value var = **var##_r

Result<Items> Abs(Evaluator& ev, const AstNode& call, const Items& focus, const Frame&) {
  FHIRPATH_NUMBER(v, true);
  if (v.kind == ValueKind::kInteger)
    return One(ev, Value::OfInteger(v.integer < 0 ? -v.integer : v.integer));
  if (v.kind == ValueKind::kQuantity) return One(ev, Value::OfQuantity(v.decimal.Abs(), v.text));
  return One(ev, Value::OfDecimal(v.decimal.Abs()));
}

Result<Items> ToIntegerResult(Evaluator& ev, const AstNode& call, const Decimal& d) {
  auto i = d.ToInteger();
  if (!i) return ev.Fail(call, "fhirpath.overflow", "integer overflow");
  return One(ev, Value::OfInteger(*i));
}

Result<Items> Ceiling(Evaluator& ev, const AstNode& call, const Items& focus, const Frame&) {
  FHIRPATH_NUMBER(v, false);
  return ToIntegerResult(ev, call, AsDecimal(v).Ceiling());
}

Result<Items> Floor(Evaluator& ev, const AstNode& call, const Items& focus, const Frame&) {
  FHIRPATH_NUMBER(v, false);
  return ToIntegerResult(ev, call, AsDecimal(v).Floor());
}

Result<Items> Truncate(Evaluator& ev, const AstNode& call, const Items& focus, const Frame&) {
  FHIRPATH_NUMBER(v, false);
  return ToIntegerResult(ev, call, AsDecimal(v).Truncated(0));
}

Result<Items> Round(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame) {
  FHIRPATH_NUMBER(v, false);
  int64_t digits = 0;
  if (call.arg_count() > 0) {
    auto arg = ev.Arg(call, 0, frame);
    if (!arg.ok()) return arg;
    auto p = ev.SingleInteger(*arg, call);
    if (!p.ok()) return std::move(p).error();
    if (!*p) return ev.NewItems();
    if (**p < 0) return ev.Fail(call, "fhirpath.out-of-range", "round() precision below zero");
    digits = **p;
  }
  return One(ev, Value::OfDecimal(AsDecimal(v).Rounded(static_cast<int>(digits))));
}

Result<Items> FromDouble(Evaluator& ev, double d) {
  auto r = Decimal::FromDouble(d);
  if (!r) return ev.NewItems();
  return One(ev, Value::OfDecimal(*r));
}

Result<Items> Exp(Evaluator& ev, const AstNode& call, const Items& focus, const Frame&) {
  FHIRPATH_NUMBER(v, false);
  return FromDouble(ev, std::exp(AsDecimal(v).ToDouble()));
}

Result<Items> Ln(Evaluator& ev, const AstNode& call, const Items& focus, const Frame&) {
  FHIRPATH_NUMBER(v, false);
  return FromDouble(ev, std::log(AsDecimal(v).ToDouble()));
}

Result<Items> Sqrt(Evaluator& ev, const AstNode& call, const Items& focus, const Frame&) {
  FHIRPATH_NUMBER(v, false);
  return FromDouble(ev, std::sqrt(AsDecimal(v).ToDouble()));
}

Result<std::optional<Value>> NumberArg(Evaluator& ev, const AstNode& call, const Frame& frame) {
  auto arg = ev.Arg(call, 0, frame);
  if (!arg.ok()) return std::move(arg).error();
  return NumberInput(ev, call, *arg, false);
}

Result<Items> Log(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame) {
  FHIRPATH_NUMBER(v, false);
  auto base = NumberArg(ev, call, frame);
  if (!base.ok()) return std::move(base).error();
  if (!*base) return ev.NewItems();
  return FromDouble(ev, std::log(AsDecimal(v).ToDouble()) / std::log(AsDecimal(**base).ToDouble()));
}

Result<Items> Power(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame) {
  FHIRPATH_NUMBER(v, false);
  auto e = NumberArg(ev, call, frame);
  if (!e.ok()) return std::move(e).error();
  if (!*e) return ev.NewItems();
  const Value& exponent = **e;
  if (exponent.kind == ValueKind::kInteger && exponent.integer >= 0 && exponent.integer <= 128) {
    // Exact repeated multiplication.
    Decimal acc = Decimal::FromInteger(1);
    for (int64_t i = 0; i < exponent.integer; ++i) {
      auto next = Decimal::Multiply(acc, AsDecimal(v));
      if (!next) return ev.Fail(call, "fhirpath.overflow", "power() overflow");
      acc = *next;
    }
    if (v.kind == ValueKind::kInteger) return ToIntegerResult(ev, call, acc);
    return One(ev, Value::OfDecimal(acc));
  }
  return FromDouble(ev, std::pow(AsDecimal(v).ToDouble(), AsDecimal(exponent).ToDouble()));
}

Result<std::optional<int64_t>> OptionalDigits(Evaluator& ev, const AstNode& call,
                                              const Frame& frame) {
  if (call.arg_count() == 0) return std::optional<int64_t>();
  auto arg = ev.Arg(call, 0, frame);
  if (!arg.ok()) return std::move(arg).error();
  return ev.SingleInteger(*arg, call);
}

Result<Items> Boundary(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame,
                       bool high) {
  auto s = ev.Single(focus, call, call.name.c_str());
  if (!s.ok()) return std::move(s).error();
  if (!*s) return ev.NewItems();
  auto v = ToSystem(**s);
  if (!v) return ev.NewItems();
  auto digits = OptionalDigits(ev, call, frame);
  if (!digits.ok()) return std::move(digits).error();
  if (v->is_temporal()) {
    int d = digits->has_value() ? static_cast<int>(**digits)
                                : (v->kind == ValueKind::kDate   ? 8
                                   : v->kind == ValueKind::kTime ? 9
                                                                 : 17);
    auto t = TemporalBoundary(v->temporal, d, high);
    if (!t) return ev.NewItems();
    return One(ev, Value::OfTemporal(*t));
  }
  if (v->kind != ValueKind::kInteger && v->kind != ValueKind::kDecimal &&
      v->kind != ValueKind::kQuantity) {
    return ev.NewItems();
  }
  int64_t d = digits->value_or(8);
  if (d < 0 || d > kMaxBoundaryDigits) return ev.NewItems();
  Decimal value = AsDecimal(*v);
  // The value stands for everything that rounds to it: +/- half a unit of its last digit.
  Decimal half(5, value.scale() + 1);
  auto bound = high ? Decimal::Add(value, half) : Decimal::Subtract(value, half);
  if (!bound) return ev.Fail(call, "fhirpath.overflow", "boundary overflow");
  Decimal r = *bound;
  const int target = static_cast<int>(d);
  if (target < r.scale()) {
    Decimal t = r.Truncated(target);
    if (Decimal::Compare(t, r) != 0 && (high ? !r.is_negative() : r.is_negative())) {
      Decimal step(high ? 1 : -1, target);
      t = *Decimal::Add(t, step);
    }
    r = t;
  } else {
    auto widened = r.Rescaled(target);
    if (!widened) return ev.Fail(call, "fhirpath.overflow", "boundary overflow");
    r = *widened;
  }
  if (v->kind == ValueKind::kQuantity) return One(ev, Value::OfQuantity(r, v->text));
  return One(ev, Value::OfDecimal(r));
}

Result<Items> LowBoundary(Evaluator& ev, const AstNode& call, const Items& focus,
                          const Frame& frame) {
  return Boundary(ev, call, focus, frame, false);
}

Result<Items> HighBoundary(Evaluator& ev, const AstNode& call, const Items& focus,
                           const Frame& frame) {
  return Boundary(ev, call, focus, frame, true);
}

Result<Items> Precision(Evaluator& ev, const AstNode& call, const Items& focus, const Frame&) {
  auto s = ev.Single(focus, call, "precision()");
  if (!s.ok()) return std::move(s).error();
  if (!*s) return ev.NewItems();
  auto v = ToSystem(**s);
  if (!v) return ev.NewItems();
  if (v->is_temporal()) return One(ev, Value::OfInteger(v->temporal.PrecisionDigits()));
  if (v->kind == ValueKind::kDecimal || v->kind == ValueKind::kQuantity) {
    return One(ev, Value::OfInteger(v->decimal.scale()));
  }
  if (v->kind == ValueKind::kInteger) return One(ev, Value::OfInteger(0));
  return ev.NewItems();
}

Result<Items> Comparable(Evaluator& ev, const AstNode& call, const Items& focus,
                         const Frame& frame) {
  auto s = ev.Single(focus, call, "comparable()");
  if (!s.ok()) return std::move(s).error();
  auto arg = ev.Arg(call, 0, frame);
  if (!arg.ok()) return arg;
  auto other = ev.Single(*arg, call, "comparable()");
  if (!other.ok()) return std::move(other).error();
  if (!*s || !*other) return ev.NewItems();
  auto a = ToSystem(**s);
  auto b = ToSystem(**other);
  if (!a || !b || a->kind != ValueKind::kQuantity || b->kind != ValueKind::kQuantity) {
    return ev.Fail(call, "fhirpath.type-mismatch", "comparable() needs quantities");
  }
  auto ua = Canonicalize(a->text);
  auto ub = Canonicalize(b->text);
  return One(ev, Value::OfBoolean(ua && ub && ua->exponents == ub->exponents));
}

#undef FHIRPATH_NUMBER

constexpr FunctionDef kFunctions[] = {
    {"abs", 0, 0, Abs},
    {"ceiling", 0, 0, Ceiling},
    {"floor", 0, 0, Floor},
    {"truncate", 0, 0, Truncate},
    {"round", 0, 1, Round},
    {"exp", 0, 0, Exp},
    {"ln", 0, 0, Ln},
    {"log", 1, 1, Log},
    {"power", 1, 1, Power},
    {"sqrt", 0, 0, Sqrt},
    {"lowBoundary", 0, 1, LowBoundary},
    {"highBoundary", 0, 1, HighBoundary},
    {"precision", 0, 0, Precision},
    {"comparable", 1, 1, Comparable},
};

}  // namespace

std::span<const FunctionDef> MathFunctions() { return kFunctions; }

}  // namespace fhir::fhirpath
