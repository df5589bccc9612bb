// Conversion functions: toBoolean, toInteger, toDecimal, toString, toDate, toDateTime, toTime,
// toQuantity and their convertsTo* tests.
#include <cctype>
#include <string>

#include "fhir/fhirpath/evaluator.h"

namespace fhir::fhirpath {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsIntegerText(std::string_view s) {
  size_t i = (!s.empty() && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

bool IsDecimalText(std::string_view s) {
  size_t dot = s.find('.');
  if (dot == std::string_view::npos) return IsIntegerText(s);
  std::string_view frac = s.substr(dot + 1);
  if (frac.empty() || !IsIntegerText(s.substr(0, dot))) return false;
  for (char c : frac) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

using Converter = std::optional<Value> (*)(Evaluator& ev, const Value& v, const AstNode& call,
                                           const Frame& frame, Result<void>* error);

std::optional<Value> ToBoolean(Evaluator&, const Value& v, const AstNode&, const Frame&,
                               Result<void>*) {
  switch (v.kind) {
    case ValueKind::kBoolean:
      return v;
    case ValueKind::kInteger:
      if (v.integer == 0 || v.integer == 1) return Value::OfBoolean(v.integer == 1);
      return std::nullopt;
    case ValueKind::kDecimal:
      if (Decimal::Compare(v.decimal, Decimal::FromInteger(1)) == 0) return Value::OfBoolean(true);
      if (v.decimal.is_zero()) return Value::OfBoolean(false);
      return std::nullopt;
    case ValueKind::kString: {
      std::string s = Lower(v.text);
      if (s == "true" || s == "t" || s == "yes" || s == "y" || s == "1" || s == "1.0") {
        return Value::OfBoolean(true);
      }
      if (s == "false" || s == "f" || s == "no" || s == "n" || s == "0" || s == "0.0") {
        return Value::OfBoolean(false);
      }
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

std::optional<Value> ToInteger(Evaluator&, const Value& v, const AstNode&, const Frame&,
                               Result<void>*) {
  switch (v.kind) {
    case ValueKind::kInteger:
      return v;
    case ValueKind::kBoolean:
      return Value::OfInteger(v.boolean ? 1 : 0);
    case ValueKind::kString: {
      if (!IsIntegerText(v.text)) return std::nullopt;
      auto d = Decimal::Parse(v.text);
      if (!d) return std::nullopt;
      auto i = d->ToInteger();
      if (!i || *i > INT32_MAX || *i < INT32_MIN) return std::nullopt;
      return Value::OfInteger(*i);
    }
    default:
      return std::nullopt;
  }
}

std::optional<Value> ToDecimalValue(Evaluator&, const Value& v, const AstNode&, const Frame&,
                                    Result<void>*) {
  switch (v.kind) {
    case ValueKind::kDecimal:
      return v;
    case ValueKind::kInteger:
      return Value::OfDecimal(Decimal::FromInteger(v.integer));
    case ValueKind::kBoolean:
      return Value::OfDecimal(Decimal(v.boolean ? 10 : 0, 1));
    case ValueKind::kString: {
      if (!IsDecimalText(v.text)) return std::nullopt;
      auto d = Decimal::Parse(v.text);
      if (!d) return std::nullopt;
      return Value::OfDecimal(*d);
    }
    default:
      return std::nullopt;
  }
}

std::optional<Value> ToStringValue(Evaluator& ev, const Value& v, const AstNode&, const Frame&,
                                   Result<void>*) {
  if (v.kind == ValueKind::kString) return v;
  if (v.kind == ValueKind::kTypeInfo) return std::nullopt;
  return Value::OfString(ev.Store(OutputText(v)));
}

std::optional<Value> ToDate(Evaluator&, const Value& v, const AstNode&, const Frame&,
                            Result<void>*) {
  switch (v.kind) {
    case ValueKind::kDate:
      return v;
    case ValueKind::kDateTime: {
      Temporal t = v.temporal;
      t.kind = TemporalKind::kDate;
      if (t.precision > TemporalPrecision::kDay) t.precision = TemporalPrecision::kDay;
      t.has_offset = false;
      return Value::OfTemporal(t);
    }
    case ValueKind::kString: {
      auto t = Temporal::ParseDate(v.text);
      if (!t) {
        auto dt = Temporal::ParseDateTime(v.text);
        if (!dt) return std::nullopt;
        t = *dt;
        t->kind = TemporalKind::kDate;
        if (t->precision > TemporalPrecision::kDay) t->precision = TemporalPrecision::kDay;
        t->has_offset = false;
      }
      return Value::OfTemporal(*t);
    }
    default:
      return std::nullopt;
  }
}

std::optional<Value> ToDateTime(Evaluator&, const Value& v, const AstNode&, const Frame&,
                                Result<void>*) {
  switch (v.kind) {
    case ValueKind::kDateTime:
      return v;
    case ValueKind::kDate: {
      Temporal t = v.temporal;
      t.kind = TemporalKind::kDateTime;
      return Value::OfTemporal(t);
    }
    case ValueKind::kString: {
      auto t = Temporal::ParseDateTime(v.text);
      if (!t) return std::nullopt;
      t->kind = TemporalKind::kDateTime;
      return Value::OfTemporal(*t);
    }
    default:
      return std::nullopt;
  }
}

std::optional<Value> ToTime(Evaluator&, const Value& v, const AstNode&, const Frame&,
                            Result<void>*) {
  if (v.kind == ValueKind::kTime) return v;
  if (v.kind != ValueKind::kString) return std::nullopt;
  auto t = Temporal::ParseTime(v.text.substr(!v.text.empty() && v.text[0] == 'T' ? 1 : 0));
  if (!t) return std::nullopt;
  return Value::OfTemporal(*t);
}

// "5.5 'mg'", "4 days", "1.0".
std::optional<Value> ParseQuantityText(Evaluator& ev, std::string_view s) {
  size_t space = s.find(' ');
  std::string_view number = s.substr(0, space);
  if (!IsDecimalText(number)) return std::nullopt;
  auto d = Decimal::Parse(number);
  if (!d) return std::nullopt;
  if (space == std::string_view::npos) return Value::OfQuantity(*d, "1");
  std::string_view unit = s.substr(space + 1);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  if (unit.size() >= 2 && unit.front() == '\'' && unit.back() == '\'') {
    unit = unit.substr(1, unit.size() - 2);
    if (!Canonicalize(unit)) return std::nullopt;
    return Value::OfQuantity(*d, ev.Store(unit));
  }
  if (!IsCalendarKeyword(unit)) return std::nullopt;
  return Value::OfQuantity(*d, ev.Store(unit));
}

std::optional<Value> ToQuantity(Evaluator& ev, const Value& v, const AstNode& call,
                                const Frame& frame, Result<void>* error) {
  std::optional<Value> q;
  switch (v.kind) {
    case ValueKind::kQuantity:
      q = v;
      break;
    case ValueKind::kInteger:
    case ValueKind::kDecimal:
      q = Value::OfQuantity(
          v.kind == ValueKind::kInteger ? Decimal::FromInteger(v.integer) : v.decimal, "1");
      break;
    case ValueKind::kBoolean:
      q = Value::OfQuantity(Decimal(v.boolean ? 10 : 0, 1), "1");
      break;
    case ValueKind::kString:
      q = ParseQuantityText(ev, v.text);
      break;
    default:
      break;
  }
  if (!q || call.arg_count() == 0) return q;
  auto unit_items = ev.Arg(call, 0, frame);
  if (!unit_items.ok()) {
    *error = std::move(unit_items).error();
    return std::nullopt;
  }
  auto unit = ev.SingleString(*unit_items, call);
  if (!unit.ok()) {
    *error = std::move(unit).error();
    return std::nullopt;
  }
  if (!*unit) return std::nullopt;
  auto converted = ConvertQuantity(q->quantity(), **unit);
  if (!converted) return std::nullopt;
  return Value::OfQuantity(*converted, ev.Store(**unit));
}

Result<Items> Convert(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame,
                      Converter convert, bool test_only) {
  auto single = ev.Single(focus, call, call.name.c_str());
  if (!single.ok()) return std::move(single).error();
  Items out = ev.NewItems();
  if (!*single) return out;
  auto v = ToSystem(**single);
  std::optional<Value> r;
  Result<void> error;
  if (v) r = convert(ev, *v, call, frame, &error);
  if (!error.ok()) return std::move(error).error();
  if (test_only) {
    out.push_back(Value::OfBoolean(r.has_value()));
  } else if (r) {
    out.push_back(*r);
  }
  return out;
}

template <Converter C, bool kTest>
Result<Items> Apply(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame) {
  return Convert(ev, call, focus, frame, C, kTest);
}

constexpr FunctionDef kFunctions[] = {
    {"toBoolean", 0, 0, Apply<ToBoolean, false>},
    {"convertsToBoolean", 0, 0, Apply<ToBoolean, true>},
    {"toInteger", 0, 0, Apply<ToInteger, false>},
    {"convertsToInteger", 0, 0, Apply<ToInteger, true>},
    {"toDecimal", 0, 0, Apply<ToDecimalValue, false>},
    {"convertsToDecimal", 0, 0, Apply<ToDecimalValue, true>},
    {"toString", 0, 0, Apply<ToStringValue, false>},
    {"convertsToString", 0, 0, Apply<ToStringValue, true>},
    {"toDate", 0, 0, Apply<ToDate, false>},
    {"convertsToDate", 0, 0, Apply<ToDate, true>},
    {"toDateTime", 0, 0, Apply<ToDateTime, false>},
    {"convertsToDateTime", 0, 0, Apply<ToDateTime, true>},
    {"toTime", 0, 0, Apply<ToTime, false>},
    {"convertsToTime", 0, 0, Apply<ToTime, true>},
    {"toQuantity", 0, 1, Apply<ToQuantity, false>},
    {"convertsToQuantity", 0, 1, Apply<ToQuantity, true>},
};

}  // namespace

std::span<const FunctionDef> ConversionFunctions() { return kFunctions; }

}  // namespace fhir::fhirpath
