// Existence functions (empty, exists, all, allTrue, ..., count, distinct), boolean not(), and
// the set functions that compare items with FHIRPath equality (subsetOf, supersetOf, intersect,
// exclude, union, combine).
#include "fhir/fhirpath/evaluator.h"

namespace fhir::fhirpath {
namespace {

Items One(Evaluator& ev, Value v) {
  Items out = ev.NewItems();
  out.push_back(v);
  return out;
}

Items Bool(Evaluator& ev, bool b) { return One(ev, Value::OfBoolean(b)); }

Result<Items> Empty(Evaluator& ev, const AstNode&, const Items& focus, const Frame&) {
  return Bool(ev, focus.empty());
}

Result<Items> Exists(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame) {
  if (call.arg_count() == 0) return Bool(ev, !focus.empty());
  for (size_t i = 0; i < focus.size(); ++i) {
    auto r = ev.ArgFor(call, 0, focus[i], static_cast<int64_t>(i), frame);
    if (!r.ok()) return r;
    auto b = ev.SingleBoolean(*r, call);
    if (!b.ok()) return std::move(b).error();
    if (*b && **b) return Bool(ev, true);
  }
  return Bool(ev, false);
}

Result<Items> All(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame) {
  for (size_t i = 0; i < focus.size(); ++i) {
    auto r = ev.ArgFor(call, 0, focus[i], static_cast<int64_t>(i), frame);
    if (!r.ok()) return r;
    auto b = ev.SingleBoolean(*r, call);
    if (!b.ok()) return std::move(b).error();
    if (!*b || !**b) return Bool(ev, false);
  }
  return Bool(ev, true);
}

// allTrue, anyTrue, allFalse, anyFalse: every item must be a Boolean.
Result<Items> BooleanAggregate(Evaluator& ev, const AstNode& call, const Items& focus, bool want,
                               bool all) {
  bool result = all;
  for (const Value& v : focus) {
    auto s = ToSystem(v);
    if (!s || s->kind != ValueKind::kBoolean) {
      return ev.Fail(call, "fhirpath.type-mismatch", call.name + "() needs Boolean items");
    }
    if (all && s->boolean != want) result = false;
    if (!all && s->boolean == want) result = true;
  }
  return Bool(ev, result);
}

Result<Items> AllTrue(Evaluator& ev, const AstNode& call, const Items& focus, const Frame&) {
  return BooleanAggregate(ev, call, focus, true, true);
}
Result<Items> AnyTrue(Evaluator& ev, const AstNode& call, const Items& focus, const Frame&) {
  return BooleanAggregate(ev, call, focus, true, false);
}
Result<Items> AllFalse(Evaluator& ev, const AstNode& call, const Items& focus, const Frame&) {
  return BooleanAggregate(ev, call, focus, false, true);
}
Result<Items> AnyFalse(Evaluator& ev, const AstNode& call, const Items& focus, const Frame&) {
  return BooleanAggregate(ev, call, focus, false, false);
}

bool Subset(const Items& a, const Items& b) {
  for (const Value& v : a) {
    if (!ContainsItem(b, v)) return false;
  }
  return true;
}

Result<Items> SubsetOf(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame) {
  auto other = ev.Arg(call, 0, frame);
  if (!other.ok()) return other;
  return Bool(ev, Subset(focus, *other));
}

Result<Items> SupersetOf(Evaluator& ev, const AstNode& call, const Items& focus,
                         const Frame& frame) {
  auto other = ev.Arg(call, 0, frame);
  if (!other.ok()) return other;
  return Bool(ev, Subset(*other, focus));
}

Result<Items> Count(Evaluator& ev, const AstNode&, const Items& focus, const Frame&) {
  return One(ev, Value::OfInteger(static_cast<int64_t>(focus.size())));
}

Result<Items> Distinct(Evaluator& ev, const AstNode&, const Items& focus, const Frame&) {
  Items out = ev.NewItems();
  for (const Value& v : focus) {
    if (!ContainsItem(out, v)) out.push_back(v);
  }
  return out;
}

Result<Items> IsDistinct(Evaluator& ev, const AstNode& call, const Items& focus,
                         const Frame& frame) {
  auto d = Distinct(ev, call, focus, frame);
  if (!d.ok()) return d;
  return Bool(ev, d->size() == focus.size());
}

Result<Items> Not(Evaluator& ev, const AstNode& call, const Items& focus, const Frame&) {
  auto b = ev.SingleBoolean(focus, call);
  if (!b.ok()) return std::move(b).error();
  if (!*b) return ev.NewItems();
  return Bool(ev, !**b);
}

Result<Items> Intersect(Evaluator& ev, const AstNode& call, const Items& focus,
                        const Frame& frame) {
  auto other = ev.Arg(call, 0, frame);
  if (!other.ok()) return other;
  Items out = ev.NewItems();
  for (const Value& v : focus) {
    if (ContainsItem(*other, v) && !ContainsItem(out, v)) out.push_back(v);
  }
  return out;
}

Result<Items> Exclude(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame) {
  auto other = ev.Arg(call, 0, frame);
  if (!other.ok()) return other;
  Items out = ev.NewItems();
  for (const Value& v : focus) {
    if (!ContainsItem(*other, v)) out.push_back(v);
  }
  return out;
}

Result<Items> UnionFunction(Evaluator& ev, const AstNode& call, const Items& focus,
                            const Frame& frame) {
  auto other = ev.Arg(call, 0, frame);
  if (!other.ok()) return other;
  return Union(ev, focus, *other);
}

Result<Items> Combine(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame) {
  auto other = ev.Arg(call, 0, frame);
  if (!other.ok()) return other;
  Items out = ev.NewItems();
  out.assign(focus.begin(), focus.end());
  out.insert(out.end(), other->begin(), other->end());
  return out;
}

constexpr FunctionDef kFunctions[] = {
    {"empty", 0, 0, Empty},
    {"exists", 0, 1, Exists},
    {"all", 1, 1, All},
    {"allTrue", 0, 0, AllTrue},
    {"anyTrue", 0, 0, AnyTrue},
    {"allFalse", 0, 0, AllFalse},
    {"anyFalse", 0, 0, AnyFalse},
    {"subsetOf", 1, 1, SubsetOf},
    {"supersetOf", 1, 1, SupersetOf},
    {"count", 0, 0, Count},
    {"distinct", 0, 0, Distinct},
    {"isDistinct", 0, 0, IsDistinct},
    {"not", 0, 0, Not},
    {"intersect", 1, 1, Intersect},
    {"exclude", 1, 1, Exclude},
    {"union", 1, 1, UnionFunction},
    {"combine", 1, 1, Combine},
};

}  // namespace

std::span<const FunctionDef> ExistenceFunctions() { return kFunctions; }

}  // namespace fhir::fhirpath
