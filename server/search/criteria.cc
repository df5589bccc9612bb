#include "server/search/criteria.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>
#include <utility>

#include "fhir/fhirpath/decimal.h"
#include "fhir/model/primitive.h"
#include "server/search/extract.h"
#include "server/search/full_text.h"
#include "server/search/normalize.h"
#include "server/terminology/expansion.h"

namespace server::search {

namespace {

using fhir::fhirpath::Decimal;
using std::chrono::microseconds;

constexpr std::string_view kUcum = "http://unitsofmeasure.org";

fhir::Error InvalidValue(std::string_view parameter, std::string text) {
  return fhir::Error::Invalid("search.invalid-value", std::move(text), std::string(parameter));
}

fhir::Error UnsupportedModifier(std::string_view parameter, std::string_view modifier,
                                std::string_view type) {
  return fhir::Error::Invalid("search.unsupported-modifier",
                              "The modifier :" + std::string(modifier) + " is not supported on " +
                                  std::string(type) + " parameters by this server",
                              std::string(parameter));
}

// Reads exactly `width` digits at `*at`; nullopt otherwise.
std::optional<int> Digits(std::string_view text, size_t* at, size_t width) {
  if (*at + width > text.size()) return std::nullopt;
  int value = 0;
  for (size_t i = 0; i < width; ++i) {
    const char c = text[*at + i];
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  *at += width;
  return value;
}

bool Expect(std::string_view text, size_t* at, char c) {
  if (*at >= text.size() || text[*at] != c) return false;
  ++*at;
  return true;
}

// The ranges a date value can denote, most significant first.
enum class Precision { kYear, kMonth, kDay, kMinute, kSecond, kFraction };

std::optional<TimeRange> ParseRange(std::string_view text) {
  using namespace std::chrono;
  size_t at = 0;
  auto year = Digits(text, &at, 4);
  if (!year) return std::nullopt;
  int month = 1;
  int day = 1;
  Precision precision = Precision::kYear;
  if (Expect(text, &at, '-')) {
    auto m = Digits(text, &at, 2);
    if (!m || *m < 1 || *m > 12) return std::nullopt;
    month = *m;
    precision = Precision::kMonth;
    if (Expect(text, &at, '-')) {
      auto d = Digits(text, &at, 2);
      if (!d) return std::nullopt;
      day = *d;
      precision = Precision::kDay;
    }
  }
  const year_month_day date{std::chrono::year(*year), std::chrono::month(month),
                            std::chrono::day(day)};
  if (!date.ok()) return std::nullopt;
  sys_time<microseconds> begin = sys_days(date);
  long long fraction_unit = 1'000'000;
  if (precision == Precision::kDay && Expect(text, &at, 'T')) {
    auto hour = Digits(text, &at, 2);
    if (!hour || *hour > 23 || !Expect(text, &at, ':')) return std::nullopt;
    auto minute = Digits(text, &at, 2);
    if (!minute || *minute > 59) return std::nullopt;
    begin += hours(*hour) + minutes(*minute);
    precision = Precision::kMinute;
    if (Expect(text, &at, ':')) {
      auto second = Digits(text, &at, 2);
      if (!second || *second > 59) return std::nullopt;
      begin += seconds(*second);
      precision = Precision::kSecond;
      if (Expect(text, &at, '.')) {
        long long micros = 0;
        size_t digits = 0;
        while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
          // Digits past the store's microseconds cannot narrow the range further.
          if (digits < 6) {
            micros = micros * 10 + (text[at] - '0');
            fraction_unit /= 10;
          }
          ++digits;
          ++at;
        }
        if (digits == 0) return std::nullopt;
        begin += microseconds(micros * fraction_unit);
        precision = Precision::kFraction;
      }
    }
    if (Expect(text, &at, 'Z')) {
    } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
      const int sign = text[at] == '+' ? 1 : -1;
      ++at;
      auto oh = Digits(text, &at, 2);
      if (!oh || *oh > 14 || !Expect(text, &at, ':')) return std::nullopt;
      auto om = Digits(text, &at, 2);
      if (!om || *om > 59) return std::nullopt;
      // 08:30+08:00 is 00:30 UTC.
      begin -= sign * (hours(*oh) + minutes(*om));
    }
  }
  if (at != text.size()) return std::nullopt;
  sys_time<microseconds> end;
  switch (precision) {
    case Precision::kYear:
      end = sys_days(year_month_day{date.year() + years(1), January, std::chrono::day(1)});
      break;
    case Precision::kMonth:
      end = sys_days(year_month_day{date.year() / date.month() / 1} + months(1));
      break;
    case Precision::kDay:
      end = begin + days(1);
      break;
    case Precision::kMinute:
      end = begin + minutes(1);
      break;
    case Precision::kSecond:
      end = begin + seconds(1);
      break;
    case Precision::kFraction:
      end = begin + microseconds(fraction_unit);
      break;
  }
  return TimeRange{begin, end};
}

// The comparison prefixes of number, date and quantity values.
enum class Prefix { kEq, kNe, kGt, kLt, kGe, kLe, kSa, kEb, kAp };

// Reads the prefix of `*value` (two lower-case letters before the value), removing it; eq when
// there is none.
fhir::Result<Prefix> TakePrefix(std::string_view* value, std::string_view parameter) {
  if (value->size() < 2 || (*value)[0] < 'a' || (*value)[0] > 'z') return Prefix::kEq;
  static constexpr std::pair<std::string_view, Prefix> kPrefixes[] = {
      {"eq", Prefix::kEq}, {"ne", Prefix::kNe}, {"gt", Prefix::kGt},
      {"lt", Prefix::kLt}, {"ge", Prefix::kGe}, {"le", Prefix::kLe},
      {"sa", Prefix::kSa}, {"eb", Prefix::kEb}, {"ap", Prefix::kAp}};
  const std::string_view text = value->substr(0, 2);
  for (const auto& [name, prefix] : kPrefixes) {
    if (text == name) {
      value->remove_prefix(2);
      return prefix;
    }
  }
  return InvalidValue(parameter, "Unknown prefix '" + std::string(text) +
                                     "'; use eq, ne, gt, lt, ge, le, sa, eb or ap");
}

// Date rows cover [from, before); the search value covers [begin, end).
std::vector<store::RowTest> DateTests(Prefix prefix, const TimeRange& range, store::Timestamp now) {
  // A row within the range also starts before its end; saying so bounds the index scan.
  const store::DateTest within{
      .from_ge = range.begin, .from_lt = range.end, .before_le = range.end};
  switch (prefix) {
    case Prefix::kEq:
      return {within};
    case Prefix::kNe: {
      store::DateTest outside = within;
      outside.outside = true;
      return {outside};
    }
    // The range above the value overlaps the row's, or the value's range contains it.
    case Prefix::kGt:
      return {store::DateTest{.before_gt = range.end}};
    case Prefix::kGe:
      return {store::DateTest{.before_gt = range.end}, within};
    case Prefix::kLt:
      return {store::DateTest{.from_lt = range.begin}};
    case Prefix::kLe:
      return {store::DateTest{.from_lt = range.begin}, within};
    case Prefix::kSa:
      return {store::DateTest{.from_ge = range.end}};
    case Prefix::kEb:
      return {store::DateTest{.before_le = range.begin}};
    case Prefix::kAp: {
      // Overlaps the value's range widened on each side by a tenth of its distance from now.
      auto slack = [&](store::Timestamp t) { return (t > now ? t - now : now - t) / 10; };
      return {store::DateTest{.from_lt = range.end + slack(range.end),
                              .before_gt = range.begin - slack(range.begin)}};
    }
  }
  return {};
}

// A decimal search value and the range its precision denotes: "100" is [99.5, 100.5).
struct DecimalRange {
  Decimal value;
  Decimal low;
  Decimal high;
};

std::optional<DecimalRange> ParseDecimalRange(std::string_view text) {
  if (text.empty() || text.front() == '+') return std::nullopt;
  auto value = Decimal::Parse(text);
  if (!value) return std::nullopt;
  // Half a unit of the last digit given.
  const Decimal half(5, value->scale() + 1);
  auto low = Decimal::Subtract(*value, half);
  auto high = Decimal::Add(*value, half);
  if (!low || !high) return std::nullopt;
  return DecimalRange{*value, *low, *high};
}

store::NumberTest NumberTestFor(Prefix prefix, const DecimalRange& range) {
  using B = store::Bound<std::string>;
  const std::string value = range.value.ToString();
  switch (prefix) {
    case Prefix::kEq:
      return {.lower = B{range.low.ToString(), true}, .upper = B{range.high.ToString(), false}};
    case Prefix::kNe:
      return {.lower = B{range.low.ToString(), true},
              .upper = B{range.high.ToString(), false},
              .outside = true};
    case Prefix::kGt:
    case Prefix::kSa:
      return {.lower = B{value, false}};
    case Prefix::kGe:
      return {.lower = B{value, true}};
    case Prefix::kLt:
    case Prefix::kEb:
      return {.upper = B{value, false}};
    case Prefix::kLe:
      return {.upper = B{value, true}};
    case Prefix::kAp: {
      // Within 10% of the value.
      const Decimal tenth = Decimal::Divide(range.value.Abs(), Decimal::FromInteger(10))
                                .value_or(Decimal::FromInteger(0));
      const Decimal low = Decimal::Subtract(range.value, tenth).value_or(range.low);
      const Decimal high = Decimal::Add(range.value, tenth).value_or(range.high);
      return {.lower = B{low.ToString(), true}, .upper = B{high.ToString(), true}};
    }
  }
  return {};
}

fhir::Result<std::vector<store::RowTest>> NumberValue(std::string_view parameter,
                                                      std::string_view text) {
  auto prefix = TakePrefix(&text, parameter);
  if (!prefix.ok()) return std::move(prefix).error();
  auto range = ParseDecimalRange(text);
  if (!range) return InvalidValue(parameter, "'" + std::string(text) + "' is not a number");
  return std::vector<store::RowTest>{NumberTestFor(*prefix, *range)};
}

fhir::Result<std::vector<store::RowTest>> DateValue(std::string_view parameter,
                                                    std::string_view text, store::Timestamp now) {
  auto prefix = TakePrefix(&text, parameter);
  if (!prefix.ok()) return std::move(prefix).error();
  auto range = ParseTimeRange(text, parameter);
  if (!range.ok()) return std::move(range).error();
  return DateTests(*prefix, *range, now);
}

fhir::Result<std::vector<store::RowTest>> StringValue(std::string_view parameter,
                                                      std::string_view modifier,
                                                      std::string_view text) {
  const std::string value = Unescape(text);
  if (modifier == "exact") {
    return std::vector<store::RowTest>{
        store::StringTest{.mode = store::StringTest::Mode::kExact, .value = value}};
  }
  const std::string normalized = NormalizeString(value);
  if (normalized.empty()) return InvalidValue(parameter, "A string search needs some text");
  return std::vector<store::RowTest>{
      store::StringTest{.mode = modifier == "contains" ? store::StringTest::Mode::kContains
                                                       : store::StringTest::Mode::kStartsWith,
                        .value = normalized}};
}

fhir::Result<std::vector<store::RowTest>> TokenValue(std::string_view parameter,
                                                     std::string_view modifier,
                                                     std::string_view text) {
  if (modifier == "text") {
    const std::string normalized = NormalizeString(Unescape(text));
    if (normalized.empty()) return InvalidValue(parameter, ":text needs some text");
    return std::vector<store::RowTest>{store::TokenTest{.text = normalized}};
  }
  const std::vector<std::string> parts = SplitEscaped(text, '|');
  if (modifier == "of-type") {
    if (parts.size() != 3 || parts[0].empty() || parts[1].empty() || parts[2].empty()) {
      return InvalidValue(parameter, ":of-type takes type-system|type-code|value");
    }
    return std::vector<store::RowTest>{store::TokenTest{.code = Unescape(parts[2]),
                                                        .type_system = Unescape(parts[0]),
                                                        .type_code = Unescape(parts[1])}};
  }
  store::TokenTest test;
  if (parts.size() == 1) {
    test.code = Unescape(parts[0]);
  } else if (parts.size() == 2) {
    test.system = Unescape(parts[0]);  // "" (|code): rows without a system
    if (!parts[1].empty()) test.code = Unescape(parts[1]);
    if (test.system->empty() && !test.code) {
      return InvalidValue(parameter,
                          "A token needs a code or a system: code, system|code, "
                          "|code or system|");
    }
  } else {
    return InvalidValue(parameter, "A token has at most one unescaped '|': system|code");
  }
  if (test.code && test.code->empty()) return InvalidValue(parameter, "A token needs a code");
  return std::vector<store::RowTest>{std::move(test)};
}

bool IsTerminologyModifier(std::string_view modifier) {
  return modifier == "in" || modifier == "not-in" || modifier == "below" || modifier == "above";
}

// :in and :not-in (a ValueSet's canonical URL) or :below and :above (system|code): one token test
// per code of the union of the alternatives, and one per distinct code for values without a
// system.
fhir::Result<std::vector<store::RowTest>> TerminologyTests(std::string_view parameter,
                                                           std::string_view modifier,
                                                           std::string_view value,
                                                           terminology::Source& source) {
  std::set<terminology::Code> codes;
  for (const std::string& alternative : SplitAlternatives(value)) {
    fhir::Result<std::vector<terminology::Code>> found = std::vector<terminology::Code>{};
    if (modifier == "in" || modifier == "not-in") {
      const std::string canonical = Unescape(alternative);
      if (canonical.empty()) {
        return InvalidValue(parameter, ":" + std::string(modifier) + " takes a ValueSet's URL");
      }
      found = terminology::Expand(source, canonical, parameter);
    } else {
      const std::vector<std::string> parts = SplitEscaped(alternative, '|');
      if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
        return InvalidValue(parameter, ":" + std::string(modifier) + " takes system|code");
      }
      found = terminology::Subsumed(
          source, Unescape(parts[0]), Unescape(parts[1]),
          modifier == "below" ? terminology::Subsumption::kBelow : terminology::Subsumption::kAbove,
          parameter);
    }
    if (!found.ok()) return std::move(found).error();
    codes.insert(found->begin(), found->end());
    if (codes.size() > terminology::kMaxCodes) {
      return fhir::Error::Invalid("search.value-set-too-large",
                                  "The values of " + std::string(parameter) + " have more than " +
                                      std::to_string(terminology::kMaxCodes) +
                                      " codes, more than a search can test",
                                  std::string(parameter));
    }
  }
  if (codes.empty()) {
    return fhir::Error::Invalid("search.empty-value-set",
                                "The value sets of " + std::string(parameter) + ":" +
                                    std::string(modifier) +
                                    " have no codes, so the search would not depend on them",
                                std::string(parameter));
  }
  std::vector<store::RowTest> tests;
  tests.reserve(codes.size());
  std::set<std::string_view> bare;
  for (const terminology::Code& code : codes) {
    tests.push_back(store::TokenTest{.system = code.system, .code = code.code});
    bare.insert(code.code);
  }
  // A value without a system (a `code` element such as Patient.gender, whose system its binding
  // implies) matches by its code.
  for (std::string_view code : bare) {
    tests.push_back(store::TokenTest{.system = std::string(), .code = std::string(code)});
  }
  return tests;
}

// "Patient/123", "Patient/123/_history/2" -> type and id; nullopt for anything else.
std::optional<std::pair<std::string, std::string>> TypeAndId(std::string_view text,
                                                             const fhir::model::Definitions& defs) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string_view type = text.substr(0, slash);
  std::string_view id = text.substr(slash + 1);
  if (const size_t history = id.find("/_history/"); history != std::string_view::npos) {
    id = id.substr(0, history);
  }
  if (defs.FindResource(type) == nullptr ||
      !fhir::model::IsValidPrimitive(fhir::model::PrimitiveKind::kId, id)) {
    return std::nullopt;
  }
  return std::pair{std::string(type), std::string(id)};
}

fhir::Result<std::vector<store::RowTest>> ReferenceValue(const fhir::model::Definitions& defs,
                                                         const SearchParam& param,
                                                         std::string_view modifier,
                                                         std::string_view text) {
  const std::string& name = param.code();
  const std::string value = Unescape(text);
  if (modifier == "identifier") {
    const std::vector<std::string> parts = SplitEscaped(text, '|');
    store::ReferenceTest test;
    if (parts.size() == 1) {
      test.identifier_value = Unescape(parts[0]);
    } else if (parts.size() == 2) {
      test.identifier_system = Unescape(parts[0]);
      test.identifier_value = Unescape(parts[1]);
    } else {
      return InvalidValue(name, ":identifier takes system|value or value");
    }
    if (test.identifier_value.empty()) return InvalidValue(name, ":identifier needs a value");
    return std::vector<store::RowTest>{std::move(test)};
  }
  if (value.empty()) return InvalidValue(name, "A reference search needs a value");
  if (value.find("://") != std::string::npos || value.starts_with("urn:")) {
    // An absolute or canonical URL, with an optional |version.
    store::ReferenceTest test;
    const size_t bar = value.find('|');
    test.url = value.substr(0, bar);
    if (bar != std::string::npos) test.version = value.substr(bar + 1);
    return std::vector<store::RowTest>{std::move(test)};
  }
  if (auto typed = TypeAndId(value, defs)) {
    if (!modifier.empty() && modifier != typed->first) {
      return InvalidValue(
          name, "The reference " + value + " contradicts the modifier :" + std::string(modifier));
    }
    return std::vector<store::RowTest>{
        store::ReferenceTest{.target_type = typed->first, .target_id = typed->second}};
  }
  if (!fhir::model::IsValidPrimitive(fhir::model::PrimitiveKind::kId, value)) {
    return InvalidValue(name, "'" + value + "' is not a resource id, Type/id or URL");
  }
  store::ReferenceTest test{.target_id = value};
  if (!modifier.empty()) {
    test.target_type = std::string(modifier);
  } else if (param.definition->target.size() == 1) {
    test.target_type = param.definition->target.front();
  }
  return std::vector<store::RowTest>{std::move(test)};
}

fhir::Result<std::vector<store::RowTest>> QuantityValue(std::string_view parameter,
                                                        std::string_view text) {
  auto prefix = TakePrefix(&text, parameter);
  if (!prefix.ok()) return std::move(prefix).error();
  const std::vector<std::string> parts = SplitEscaped(text, '|');
  if (parts.size() != 1 && parts.size() != 3) {
    return InvalidValue(parameter, "A quantity is number, or number|system|code");
  }
  auto range = ParseDecimalRange(parts[0]);
  if (!range) return InvalidValue(parameter, "'" + parts[0] + "' is not a number");
  store::QuantityTest test{.number = NumberTestFor(*prefix, *range)};
  if (parts.size() == 3) {
    test.system = Unescape(parts[1]);
    test.code = Unescape(parts[2]);
    // Compared in UCUM base units when the unit converts, so that rows in any unit of the same
    // dimension match: the bounds are worked out in the unit given (10% for ap, the precision
    // for eq) and then converted, which also holds for units with an offset such as Cel.
    auto in_base = [&](const std::string& d) -> std::optional<std::string> {
      auto canonical = CanonicalQuantity(d, test.code);
      if (!canonical) return std::nullopt;
      return canonical->first;
    };
    auto base_code = CanonicalQuantity(range->value.ToString(), test.code);
    if (test.system == kUcum && base_code) {
      store::NumberTest in_base_units = test.number;
      bool converted = true;
      for (auto* bound : {&in_base_units.lower, &in_base_units.upper}) {
        if (!*bound) continue;
        auto value = in_base((*bound)->value);
        if (!value) converted = false;
        if (value) (*bound)->value = *value;
      }
      if (converted) {
        test.number = std::move(in_base_units);
        test.code = base_code->second;
        test.system.clear();
        test.canonical = true;
      }
    }
  }
  return std::vector<store::RowTest>{std::move(test)};
}

fhir::Result<std::vector<store::RowTest>> UriValue(std::string_view parameter,
                                                   std::string_view modifier,
                                                   std::string_view text) {
  const std::string value = Unescape(text);
  if (value.empty()) return InvalidValue(parameter, "A uri search needs a value");
  const auto mode = modifier == "below"   ? store::UriTest::Mode::kBelow
                    : modifier == "above" ? store::UriTest::Mode::kAbove
                                          : store::UriTest::Mode::kExact;
  return std::vector<store::RowTest>{store::UriTest{.mode = mode, .value = value}};
}

}  // namespace

std::string_view ParamTypeName(ParamType type) {
  switch (type) {
    case ParamType::kNumber:
      return "number";
    case ParamType::kDate:
      return "date";
    case ParamType::kString:
      return "string";
    case ParamType::kToken:
      return "token";
    case ParamType::kReference:
      return "reference";
    case ParamType::kComposite:
      return "composite";
    case ParamType::kQuantity:
      return "quantity";
    case ParamType::kUri:
      return "uri";
    case ParamType::kSpecial:
      return "special";
  }
  return "";
}

namespace {

// Whether a type takes a modifier (other than :missing, which all take).
bool TakesModifier(const fhir::model::Definitions& defs, const SearchParam& param,
                   std::string_view modifier) {
  switch (param.type()) {
    case ParamType::kString:
      return modifier == "exact" || modifier == "contains";
    case ParamType::kToken:
      return modifier == "not" || modifier == "text" || modifier == "of-type" ||
             IsTerminologyModifier(modifier);
    case ParamType::kReference:
      // :Type names one of the parameter's targets.
      return modifier == "identifier" ||
             (defs.FindResource(modifier) != nullptr &&
              (param.definition->target.empty() ||
               std::find(param.definition->target.begin(), param.definition->target.end(),
                         modifier) != param.definition->target.end()));
    case ParamType::kUri:
      return modifier == "below" || modifier == "above";
    default:
      return false;
  }
}

}  // namespace

fhir::Result<TimeRange> ParseTimeRange(std::string_view text, std::string_view parameter) {
  if (auto range = ParseRange(text)) return *range;
  return fhir::Error::Invalid("search.invalid-date",
                              "'" + std::string(text) +
                                  "' is not a FHIR date, dateTime or instant such as "
                                  "2024-03-01T08:30:00+08:00",
                              std::string(parameter));
}

std::vector<std::string> SplitEscaped(std::string_view value, char separator) {
  std::vector<std::string> out(1);
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 1 < value.size()) {
      out.back() += value[i];
      out.back() += value[++i];
    } else if (value[i] == separator) {
      out.emplace_back();
    } else {
      out.back() += value[i];
    }
  }
  return out;
}

std::vector<std::string> SplitAlternatives(std::string_view value) {
  return SplitEscaped(value, ',');
}

std::string Unescape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 1 < value.size()) ++i;
    out += value[i];
  }
  return out;
}

std::optional<store::IndexKind> IndexKindOf(ParamType type) {
  switch (type) {
    case ParamType::kNumber:
      return store::IndexKind::kNumber;
    case ParamType::kDate:
      return store::IndexKind::kDate;
    case ParamType::kString:
      return store::IndexKind::kString;
    case ParamType::kToken:
      return store::IndexKind::kToken;
    case ParamType::kReference:
      return store::IndexKind::kReference;
    case ParamType::kQuantity:
      return store::IndexKind::kQuantity;
    case ParamType::kUri:
      return store::IndexKind::kUri;
    case ParamType::kComposite:
      return store::IndexKind::kComposite;
    case ParamType::kSpecial:
      return std::nullopt;
  }
  return std::nullopt;
}

namespace {

// The row tests of one alternative of `param`'s value; errors name `name`.
fhir::Result<std::vector<store::RowTest>> AlternativeTests(
    const fhir::model::Definitions& defs, const SearchParam& param, const std::string& name,
    std::string_view modifier, std::string_view text, store::Timestamp now) {
  switch (param.type()) {
    case ParamType::kNumber:
      return NumberValue(name, text);
    case ParamType::kDate:
      return DateValue(name, text, now);
    case ParamType::kString:
      return StringValue(name, modifier, text);
    case ParamType::kToken:
      return TokenValue(name, modifier, text);
    case ParamType::kReference:
      return ReferenceValue(defs, param, modifier, text);
    case ParamType::kQuantity:
      return QuantityValue(name, text);
    case ParamType::kUri:
      return UriValue(name, modifier, text);
    case ParamType::kComposite:
    case ParamType::kSpecial:
      break;
  }
  return std::vector<store::RowTest>{};
}

// One alternative of a composite: "$"-separated component values, each read by its component's
// type and tested on the rows of that component.
fhir::Result<std::vector<store::RowTest>> CompositeValue(const fhir::model::Definitions& defs,
                                                         const SearchParam& param,
                                                         std::string_view text,
                                                         store::Timestamp now) {
  const std::string& name = param.code();
  const std::vector<std::string> parts = SplitEscaped(text, '$');
  if (parts.size() != param.components.size()) {
    return InvalidValue(name, name + " takes " + std::to_string(param.components.size()) +
                                  " values separated by '$'");
  }
  store::CompositeTest composite;
  for (size_t i = 0; i < parts.size(); ++i) {
    const SearchParam::Component& component = param.components[i];
    const auto kind = IndexKindOf(component.definition->type);
    if (!kind || parts[i].empty()) {
      return InvalidValue(name,
                          "Component " + std::to_string(i + 1) + " of " + name + " needs a value");
    }
    // The component read as a parameter of its own type.
    SearchParam as_param;
    as_param.definition = component.definition;
    as_param.resource_type = param.resource_type;
    auto tests = AlternativeTests(defs, as_param, name, "", parts[i], now);
    if (!tests.ok()) return std::move(tests).error();
    composite.components.push_back(
        {.kind = *kind, .param = ComponentCode(name, i), .any = std::move(tests).value()});
  }
  if (param.union_of.empty()) return std::vector<store::RowTest>{std::move(composite)};
  // A union of composites is tested on the rows of each of its parts.
  std::vector<store::RowTest> each;
  for (const SearchParam* part : param.union_of) {
    store::CompositeTest on_part = composite;
    for (size_t i = 0; i < on_part.components.size(); ++i) {
      on_part.components[i].param = ComponentCode(part->code(), i);
    }
    each.push_back(std::move(on_part));
  }
  return each;
}

}  // namespace

fhir::Result<store::IndexCondition> ParseCriterion(const fhir::model::Definitions& defs,
                                                   const SearchParam& param,
                                                   std::string_view modifier,
                                                   std::string_view value, store::Timestamp now,
                                                   terminology::Source* terminology) {
  if (IsFullText(param)) return ParseFullTextCriterion(param, modifier, value);
  const std::string& name = param.code();
  const auto kind = IndexKindOf(param.type());
  // Other parameters without an expression (_list, _query, ...) have no index rows, nor do
  // composites whose components are not known.
  if (!kind || !param.expression ||
      (param.type() == ParamType::kComposite && param.components.empty())) {
    return fhir::Error::Invalid("search.unsupported-parameter",
                                "Searching by the " + std::string(ParamTypeName(param.type())) +
                                    " parameter " + name + " is not supported by this server",
                                name);
  }
  store::IndexCondition condition{.kind = *kind, .param = name};
  if (param.type() != ParamType::kComposite) {
    for (const SearchParam* part : param.union_of) condition.union_of.push_back(part->code());
  }
  if (modifier == "missing" && param.type() != ParamType::kComposite) {
    if (value != "true" && value != "false") {
      return InvalidValue(name, ":missing takes true or false");
    }
    condition.negate = value == "true";
    return condition;
  }
  if (!modifier.empty() && !TakesModifier(defs, param, modifier)) {
    return UnsupportedModifier(name, modifier, ParamTypeName(param.type()));
  }
  condition.negate = modifier == "not" || modifier == "not-in";
  if (param.type() == ParamType::kToken && IsTerminologyModifier(modifier)) {
    if (terminology == nullptr) {
      return UnsupportedModifier(name, modifier, ParamTypeName(param.type()));
    }
    auto tests = TerminologyTests(name, modifier, value, *terminology);
    if (!tests.ok()) return std::move(tests).error();
    condition.any = std::move(tests).value();
    return condition;
  }
  for (const std::string& alternative : SplitAlternatives(value)) {
    if (alternative.empty()) {
      return InvalidValue(name, "An empty value (between commas) for " + name);
    }
    if (param.type() == ParamType::kComposite) {
      auto tests = CompositeValue(defs, param, alternative, now);
      if (!tests.ok()) return std::move(tests).error();
      for (store::RowTest& test : *tests) condition.any.push_back(std::move(test));
      continue;
    }
    auto tests = AlternativeTests(defs, param, name, modifier, alternative, now);
    if (!tests.ok()) return std::move(tests).error();
    for (store::RowTest& test : *tests) condition.any.push_back(std::move(test));
  }
  return condition;
}

}  // namespace server::search
