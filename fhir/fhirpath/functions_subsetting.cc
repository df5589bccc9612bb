// Filtering and projection (where, select, repeat, ofType), subsetting (single, first, last,
// tail, skip, take), aggregates (aggregate, and sum, avg, min, max from FHIRPath 3.0), sort, iif,
// tree navigation (children, descendants), types (is, as, type) and utility functions (trace, now,
// today, timeOfDay).
#include <algorithm>

#include "fhir/fhirpath/evaluator.h"

namespace fhir::fhirpath {
namespace {

Result<Items> Where(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame) {
  Items out = ev.NewItems();
  for (size_t i = 0; i < focus.size(); ++i) {
    auto r = ev.ArgFor(call, 0, focus[i], static_cast<int64_t>(i), frame);
    if (!r.ok()) return r;
    auto b = ev.SingleBoolean(*r, call);
    if (!b.ok()) return std::move(b).error();
    if (*b && **b) out.push_back(focus[i]);
  }
  return out;
}

Result<Items> Select(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame) {
  Items out = ev.NewItems();
  for (size_t i = 0; i < focus.size(); ++i) {
    auto r = ev.ArgFor(call, 0, focus[i], static_cast<int64_t>(i), frame);
    if (!r.ok()) return r;
    out.insert(out.end(), r->begin(), r->end());
  }
  return out;
}

Result<Items> Repeat(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame) {
  Items out = ev.NewItems();
  Items pending = ev.NewItems();
  pending.assign(focus.begin(), focus.end());
  for (size_t next = 0; next < pending.size(); ++next) {
    auto r = ev.ArgFor(call, 0, pending[next], static_cast<int64_t>(next), frame);
    if (!r.ok()) return r;
    for (const Value& v : *r) {
      if (ContainsItem(out, v)) continue;
      out.push_back(v);
      pending.push_back(v);
    }
  }
  return out;
}

Result<Items> OfType(Evaluator& ev, const AstNode& call, const Items& focus, const Frame&) {
  Items out = ev.NewItems();
  for (const Value& v : focus) {
    if (ev.Matches(v, call.type, true)) out.push_back(v);
  }
  return out;
}

Result<Items> Single(Evaluator& ev, const AstNode& call, const Items& focus, const Frame&) {
  auto s = ev.Single(focus, call, "single()");
  if (!s.ok()) return std::move(s).error();
  Items out = ev.NewItems();
  if (*s) out.push_back(**s);
  return out;
}

Result<Items> First(Evaluator& ev, const AstNode&, const Items& focus, const Frame&) {
  Items out = ev.NewItems();
  if (!focus.empty()) out.push_back(focus.front());
  return out;
}

Result<Items> Last(Evaluator& ev, const AstNode&, const Items& focus, const Frame&) {
  Items out = ev.NewItems();
  if (!focus.empty()) out.push_back(focus.back());
  return out;
}

Result<Items> Tail(Evaluator& ev, const AstNode&, const Items& focus, const Frame&) {
  Items out = ev.NewItems();
  if (focus.size() > 1) out.assign(focus.begin() + 1, focus.end());
  return out;
}

Result<Items> SkipOrTake(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame,
                         bool skip) {
  auto arg = ev.Arg(call, 0, frame);
  if (!arg.ok()) return arg;
  auto n = ev.SingleInteger(*arg, call);
  if (!n.ok()) return std::move(n).error();
  Items out = ev.NewItems();
  if (!*n) return out;
  size_t count = **n < 0 ? 0 : std::min(focus.size(), static_cast<size_t>(**n));
  if (skip) {
    out.assign(focus.begin() + static_cast<std::ptrdiff_t>(count), focus.end());
  } else {
    out.assign(focus.begin(), focus.begin() + static_cast<std::ptrdiff_t>(count));
  }
  return out;
}

Result<Items> Skip(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame) {
  return SkipOrTake(ev, call, focus, frame, true);
}

Result<Items> Take(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame) {
  return SkipOrTake(ev, call, focus, frame, false);
}

Result<Items> Aggregate(Evaluator& ev, const AstNode& call, const Items& focus,
                        const Frame& frame) {
  Items total = ev.NewItems();
  if (call.arg_count() > 1) {
    auto init = ev.Arg(call, 1, frame);
    if (!init.ok()) return init;
    total = std::move(*init);
  }
  for (size_t i = 0; i < focus.size(); ++i) {
    Frame inner;
    inner.this_items = std::span<const Value>(&focus[i], 1);
    inner.index = static_cast<int64_t>(i);
    inner.total = &total;
    auto r = ev.Eval(call.arg(0), inner);
    if (!r.ok()) return r;
    total = std::move(*r);
  }
  return total;
}

// sum(), avg(): Integers add as Integers, Decimals (or a mix) as Decimals, Quantities after
// conversion to the first item's unit.
Result<std::optional<Value>> Total(Evaluator& ev, const AstNode& call, const Items& focus) {
  std::optional<Value> acc;
  for (const Value& item : focus) {
    auto v = ToSystem(item);
    if (!v || (v->kind != ValueKind::kInteger && v->kind != ValueKind::kDecimal &&
               v->kind != ValueKind::kQuantity)) {
      return ev.Fail(call, "fhirpath.type-mismatch", call.name + "() needs numbers or quantities");
    }
    if (!acc) {
      acc = *v;
      continue;
    }
    if ((acc->kind == ValueKind::kQuantity) != (v->kind == ValueKind::kQuantity)) {
      return ev.Fail(call, "fhirpath.type-mismatch", call.name + "() mixes quantities and numbers");
    }
    if (acc->kind == ValueKind::kInteger && v->kind == ValueKind::kInteger) {
      int64_t r;
      if (__builtin_add_overflow(acc->integer, v->integer, &r)) {
        return ev.Fail(call, "fhirpath.overflow", "arithmetic overflow");
      }
      acc = Value::OfInteger(r);
      continue;
    }
    auto as_decimal = [](const Value& x) {
      return x.kind == ValueKind::kInteger ? Decimal::FromInteger(x.integer) : x.decimal;
    };
    std::optional<Decimal> addend = as_decimal(*v);
    if (acc->kind == ValueKind::kQuantity) addend = ConvertQuantity(v->quantity(), acc->text);
    if (!addend) {
      return ev.Fail(call, "fhirpath.incompatible-units", "quantities of different dimensions");
    }
    auto r = Decimal::Add(as_decimal(*acc), *addend);
    if (!r) return ev.Fail(call, "fhirpath.overflow", "arithmetic overflow");
    acc =
        acc->kind == ValueKind::kQuantity ? Value::OfQuantity(*r, acc->text) : Value::OfDecimal(*r);
  }
  return acc;
}

Result<Items> Sum(Evaluator& ev, const AstNode& call, const Items& focus, const Frame&) {
  auto total = Total(ev, call, focus);
  if (!total.ok()) return std::move(total).error();
  Items out = ev.NewItems();
  if (*total) out.push_back(**total);
  return out;
}

Result<Items> Avg(Evaluator& ev, const AstNode& call, const Items& focus, const Frame&) {
  auto total = Total(ev, call, focus);
  if (!total.ok()) return std::move(total).error();
  Items out = ev.NewItems();
  if (!*total) return out;
  const Value& t = **total;
  Decimal sum = t.kind == ValueKind::kInteger ? Decimal::FromInteger(t.integer) : t.decimal;
  auto avg = Decimal::Divide(sum, Decimal::FromInteger(static_cast<int64_t>(focus.size())));
  if (!avg) return ev.Fail(call, "fhirpath.overflow", "arithmetic overflow");
  out.push_back(t.kind == ValueKind::kQuantity ? Value::OfQuantity(*avg, t.text)
                                               : Value::OfDecimal(*avg));
  return out;
}

Result<Items> Extreme(Evaluator& ev, const AstNode& call, const Items& focus, bool max) {
  Items out = ev.NewItems();
  for (const Value& item : focus) {
    if (out.empty()) {
      out.push_back(item);
      continue;
    }
    OrderResult o = CompareItems(item, out[0]);
    if (o == OrderResult::kIncomparable) {
      return ev.Fail(call, "fhirpath.type-mismatch", call.name + "() items cannot be ordered");
    }
    if (o == OrderResult::kUnknown) return ev.NewItems();
    if (o == (max ? OrderResult::kGreater : OrderResult::kLess)) out[0] = item;
  }
  return out;
}

Result<Items> Min(Evaluator& ev, const AstNode& call, const Items& focus, const Frame&) {
  return Extreme(ev, call, focus, false);
}

Result<Items> Max(Evaluator& ev, const AstNode& call, const Items& focus, const Frame&) {
  return Extreme(ev, call, focus, true);
}

Result<Items> Sort(Evaluator& ev, const AstNode& call, const Items& focus, const Frame&) {
  struct Keyed {
    Value item;
    std::vector<Value> keys;  // one per sort argument
    std::vector<bool> present;
  };
  std::vector<Keyed> rows;
  const size_t nkeys = call.arg_count();
  for (size_t i = 0; i < focus.size(); ++i) {
    Keyed row{focus[i], {}, {}};
    for (size_t k = 0; k < nkeys; ++k) {
      // "-key" sorts descending; the key itself need not be a number.
      const AstNode& arg = call.arg(k);
      const AstNode& key = arg.kind == AstKind::kNegate ? *arg.target() : arg;
      Frame inner;
      inner.this_items = std::span<const Value>(&focus[i], 1);
      inner.index = static_cast<int64_t>(i);
      auto r = ev.Eval(key, inner);
      if (!r.ok()) return r;
      auto s = ev.Single(*r, call, "a sort key");
      if (!s.ok()) return std::move(s).error();
      row.present.push_back(s->has_value());
      row.keys.push_back(s->has_value() ? **s : Value());
    }
    rows.push_back(std::move(row));
  }
  bool incomparable = false;
  auto compare = [&](const Value& a, const Value& b) {
    OrderResult o = CompareItems(a, b);
    if (o == OrderResult::kIncomparable) incomparable = true;
    return o == OrderResult::kLess ? -1 : (o == OrderResult::kGreater ? 1 : 0);
  };
  std::stable_sort(rows.begin(), rows.end(), [&](const Keyed& a, const Keyed& b) {
    if (nkeys == 0) return compare(a.item, b.item) < 0;
    for (size_t k = 0; k < nkeys; ++k) {
      const bool descending = call.arg(k).kind == AstKind::kNegate;
      // Items without a key come first in either direction.
      if (a.present[k] != b.present[k]) return !a.present[k];
      if (!a.present[k]) continue;
      int c = compare(a.keys[k], b.keys[k]);
      if (c != 0) return descending ? c > 0 : c < 0;
    }
    return false;
  });
  if (incomparable) return ev.Fail(call, "fhirpath.type-mismatch", "sort() keys cannot be ordered");
  Items out = ev.NewItems();
  for (const Keyed& row : rows) out.push_back(row.item);
  return out;
}

Result<Items> Iif(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame) {
  Frame inner = frame;
  if (call.target() != nullptr) {
    if (focus.size() > 1) {
      return ev.Fail(call, "fhirpath.singleton-expected", "iif() on more than one item");
    }
    inner.this_items = std::span<const Value>(focus.data(), focus.size());
  }
  auto criterion = ev.Eval(call.arg(0), inner);
  if (!criterion.ok()) return criterion;
  auto single = ev.Single(*criterion, call, "the iif() criterion");
  if (!single.ok()) return std::move(single).error();
  bool condition = false;
  if (*single) {
    auto b = ToSystem(**single);
    if (!b || b->kind != ValueKind::kBoolean) {
      return ev.Fail(call, "fhirpath.type-mismatch", "the iif() criterion must be a Boolean");
    }
    condition = b->boolean;
  }
  if (condition) return ev.Eval(call.arg(1), inner);
  if (call.arg_count() > 2) return ev.Eval(call.arg(2), inner);
  return ev.NewItems();
}

Result<Items> Trace(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame) {
  auto name = ev.Arg(call, 0, frame);
  if (!name.ok()) return name;
  auto n = ev.SingleString(*name, call);
  if (!n.ok()) return std::move(n).error();
  std::string_view label = n->value_or("");
  if (call.arg_count() > 1) {
    Items projected = ev.NewItems();
    for (size_t i = 0; i < focus.size(); ++i) {
      auto r = ev.ArgFor(call, 1, focus[i], static_cast<int64_t>(i), frame);
      if (!r.ok()) return r;
      projected.insert(projected.end(), r->begin(), r->end());
    }
    ev.hooks().Trace(label, projected);
  } else {
    ev.hooks().Trace(label, focus);
  }
  Items out = ev.NewItems();
  out.assign(focus.begin(), focus.end());
  return out;
}

Result<Items> Children(Evaluator& ev, const AstNode&, const Items& focus, const Frame&) {
  Items out = ev.NewItems();
  for (const Value& v : focus) {
    if (!v.is_node()) continue;
    for (const Node* c : v.node->children) out.push_back(Value::OfNode(c));
  }
  return out;
}

void AddDescendants(const Node* n, Items* out) {
  for (const Node* c : n->children) {
    out->push_back(Value::OfNode(c));
    AddDescendants(c, out);
  }
}

Result<Items> Descendants(Evaluator& ev, const AstNode&, const Items& focus, const Frame&) {
  Items out = ev.NewItems();
  for (const Value& v : focus) {
    if (v.is_node()) AddDescendants(v.node, &out);
  }
  return out;
}

Result<Items> Is(Evaluator& ev, const AstNode& call, const Items& focus, const Frame&) {
  auto s = ev.Single(focus, call, "is()");
  if (!s.ok()) return std::move(s).error();
  Items out = ev.NewItems();
  if (*s) out.push_back(Value::OfBoolean(ev.Matches(**s, call.type, false)));
  return out;
}

Result<Items> As(Evaluator& ev, const AstNode& call, const Items& focus, const Frame&) {
  auto s = ev.Single(focus, call, "as()");
  if (!s.ok()) return std::move(s).error();
  Items out = ev.NewItems();
  if (*s && ev.Matches(**s, call.type, true)) out.push_back(**s);
  return out;
}

Result<Items> Type(Evaluator& ev, const AstNode&, const Items& focus, const Frame&) {
  static constexpr std::string_view kSystemNames[] = {
      "", "Boolean", "Integer", "Decimal", "String", "Date", "DateTime", "Time", "Quantity", ""};
  Items out = ev.NewItems();
  for (const Value& v : focus) {
    if (v.is_node()) {
      if (v.node->type != nullptr) out.push_back(Value::OfTypeInfo("FHIR", v.node->type->name));
    } else if (v.kind != ValueKind::kTypeInfo) {
      out.push_back(Value::OfTypeInfo("System", kSystemNames[static_cast<int>(v.kind)]));
    }
  }
  return out;
}

Result<Items> Now(Evaluator& ev, const AstNode&, const Items&, const Frame&) {
  Items out = ev.NewItems();
  out.push_back(Value::OfTemporal(ev.Now()));
  return out;
}

Result<Items> Today(Evaluator& ev, const AstNode&, const Items&, const Frame&) {
  Temporal t = ev.Now();
  t.kind = TemporalKind::kDate;
  t.precision = TemporalPrecision::kDay;
  t.has_offset = false;
  Items out = ev.NewItems();
  out.push_back(Value::OfTemporal(t));
  return out;
}

Result<Items> TimeOfDay(Evaluator& ev, const AstNode&, const Items&, const Frame&) {
  Temporal t = ev.Now();
  t.kind = TemporalKind::kTime;
  t.has_offset = false;
  Items out = ev.NewItems();
  out.push_back(Value::OfTemporal(t));
  return out;
}

constexpr FunctionDef kFunctions[] = {
    {"where", 1, 1, Where},
    {"select", 1, 1, Select},
    {"repeat", 1, 1, Repeat},
    {"ofType", 1, 1, OfType, true},
    {"single", 0, 0, Single},
    {"first", 0, 0, First},
    {"last", 0, 0, Last},
    {"tail", 0, 0, Tail},
    {"skip", 1, 1, Skip},
    {"take", 1, 1, Take},
    {"aggregate", 1, 2, Aggregate},
    {"sort", 0, -1, Sort},
    {"sum", 0, 0, Sum},
    {"avg", 0, 0, Avg},
    {"min", 0, 0, Min},
    {"max", 0, 0, Max},
    {"iif", 2, 3, Iif},
    {"trace", 1, 2, Trace},
    {"children", 0, 0, Children},
    {"descendants", 0, 0, Descendants},
    {"is", 1, 1, Is, true},
    {"as", 1, 1, As, true},
    {"type", 0, 0, Type},
    {"now", 0, 0, Now},
    {"today", 0, 0, Today},
    {"timeOfDay", 0, 0, TimeOfDay},
};

}  // namespace

std::span<const FunctionDef> SubsettingFunctions() { return kFunctions; }

}  // namespace fhir::fhirpath
