// End-to-end differential test of search: a generated data set (Patients, Observations,
// RiskAssessments, ValueSets) is loaded into a fresh server, then hundreds of random queries are
// answered both by the server and by an independent evaluation written here. The independent side
// evaluates each parameter's SearchParameter expression (from the registry) with the FHIRPath
// engine over every resource and matches the values by the R4 search rules (search.html) as this
// file states them; it does not use server/search's criteria or extract code, so a shared mistake
// there cannot hide. It does share NormalizeString: string search must fold case and accents
// exactly as the server does for the comparison to mean anything, and that function has its own
// unit tests.
//
// The data and queries come from a fixed seed, so a failure reproduces; each mismatch is reported
// with the query, the ids only one side found and the values of one differing resource.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "fhir/element.h"
#include "fhir/fhirpath/decimal.h"
#include "fhir/fhirpath/fhirpath.h"
#include "fhir/fhirpath/quantity.h"
#include "fhir/fhirpath/temporal.h"
#include "fhir/json/json.h"
#include "server/rest/search_params.h"
#include "server/search/normalize.h"
#include "server/search/registry.h"
#include "tests/support/http_client.h"
#include "tests/support/server_suite.h"
#include "tests/support/test_definitions.h"
#include "tests/support/test_registry.h"

namespace {

using fhir::fhirpath::Decimal;
using fhir::fhirpath::Temporal;
using fhir::fhirpath::TemporalPrecision;
using server::search::NormalizeString;
using server::search::ParamType;
using server::search::SearchParam;

constexpr uint64_t kSeed = 0x5ea4c4d1ff;
constexpr int kPatients = 150;
constexpr int kObservations = 600;
constexpr int kRiskAssessments = 25;
constexpr int kValueSets = 12;
constexpr int kQueries = 400;
constexpr int kBundleSize = 100;
constexpr int kClients = 4;
constexpr size_t kShownMismatches = 20;

constexpr std::string_view kOid = "urn:oid:2.16.156.10011.1.3";
constexpr std::string_view kMrnSystem = "http://fhirhub.example/sdiff/mrn";
constexpr std::string_view kV20203 = "http://terminology.hl7.org/CodeSystem/v2-0203";
constexpr std::string_view kLoinc = "http://loinc.org";
constexpr std::string_view kUcum = "http://unitsofmeasure.org";
constexpr std::string_view kValueSetBase = "http://fhirhub.example/sdiff/ValueSet/";

// The parameters queried, per resource type.
const std::map<std::string, std::vector<std::string>>& QueriedParams() {
  static const auto* params = new std::map<std::string, std::vector<std::string>>{
      {"Patient",
       {"identifier", "name", "family", "given", "gender", "birthdate", "active", "address-city",
        "telecom"}},
      {"Observation",
       {"code", "status", "date", "value-quantity", "subject", "patient", "combo-code",
        "combo-value-quantity"}},
      {"RiskAssessment", {"probability"}},
      {"ValueSet", {"url"}},
  };
  return *params;
}

class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}
  // Uniform in [low, high].
  int Int(int low, int high) { return std::uniform_int_distribution<int>(low, high)(engine_); }
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(engine_) < p; }
  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[static_cast<size_t>(Int(0, static_cast<int>(items.size()) - 1))];
  }

 private:
  std::mt19937_64 engine_;
};

std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string Pad(int value, int width) {
  std::string text = std::to_string(value);
  return std::string(static_cast<size_t>(std::max(0, width - static_cast<int>(text.size()))), '0') +
         text;
}

std::vector<std::string> CodePoints(std::string_view text) {
  std::vector<std::string> out;
  for (char c : text) {
    if (out.empty() || (static_cast<unsigned char>(c) & 0xC0) != 0x80) out.emplace_back();
    out.back() += c;
  }
  return out;
}

std::string Join(const std::vector<std::string>& parts, size_t from, size_t to) {
  std::string out;
  for (size_t i = from; i < to && i < parts.size(); ++i) out += parts[i];
  return out;
}

std::string UpperAscii(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::vector<std::string> Split(std::string_view text, char separator) {
  std::vector<std::string> parts(1);
  for (char c : text) {
    if (c == separator) {
      parts.emplace_back();
    } else {
      parts.back() += c;
    }
  }
  return parts;
}

// --- Time: a date, dateTime or instant as the half-open range of microseconds it denotes -----

constexpr int64_t kMicrosPerDay = 86'400'000'000;
constexpr int64_t kOpenLow = std::numeric_limits<int64_t>::min();
constexpr int64_t kOpenHigh = std::numeric_limits<int64_t>::max();

struct Range {
  int64_t begin;
  int64_t end;  // exclusive
};

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// Search semantics (search.html, "date"): a value stands for the whole range its precision
// allows; a time without a zone is taken as UTC, as the server documents.
std::optional<Range> TimeRangeOf(std::string_view text) {
  std::optional<Temporal> t = Temporal::ParseDateTime(text);
  if (!t) t = Temporal::ParseLiteral(text);  // search values may stop at minutes
  if (!t || t->kind == fhir::fhirpath::TemporalKind::kTime) return std::nullopt;
  const int64_t day = DaysFromCivil(t->year, t->month, t->day);
  const int64_t begin =
      day * kMicrosPerDay +
      ((t->hour * 60 + t->minute - t->offset_minutes) * 60 + t->second) * int64_t{1'000'000} +
      t->millisecond * int64_t{1000};
  int64_t length = 0;
  switch (t->precision) {
    case TemporalPrecision::kYear:
      length = (DaysFromCivil(t->year + 1, 1, 1) - day) * kMicrosPerDay;
      break;
    case TemporalPrecision::kMonth:
      length =
          (DaysFromCivil(t->year + (t->month == 12), t->month % 12 + 1, 1) - day) * kMicrosPerDay;
      break;
    case TemporalPrecision::kDay:
      length = kMicrosPerDay;
      break;
    case TemporalPrecision::kHour:
      length = 3'600'000'000;
      break;
    case TemporalPrecision::kMinute:
      length = 60'000'000;
      break;
    case TemporalPrecision::kSecond:
      length = 1'000'000;
      break;
    case TemporalPrecision::kMillisecond:
      length = 1000;
      break;
  }
  return Range{begin, begin + length};
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// --- The values of one search parameter in one resource, as the independent side sees them ---

struct Token {
  std::optional<std::string> system;
  std::string code;
  std::vector<std::pair<std::string, std::string>> types;  // Identifier.type codings
};

struct Qty {
  Decimal value;
  std::string text;  // the value as written
  std::string system;
  std::string code;
  std::string unit;
};

struct Ref {
  std::string type;
  std::string id;
  std::string identifier_system;
  std::string identifier_value;
};

struct Values {
  std::vector<std::string> strings;  // string and uri parameters
  std::vector<std::string> folded;   // NormalizeString of each of `strings`
  std::vector<Token> tokens;
  std::vector<std::string> texts;  // what token :text searches, folded
  std::vector<Range> dates;
  std::vector<std::string> date_texts;  // the lexical forms, to derive queries from
  std::vector<std::pair<Decimal, std::string>> numbers;
  std::vector<Qty> quantities;
  std::vector<Ref> refs;
  std::vector<std::string> shown;  // every FHIRPath result as text, for reports

  bool present() const {
    return !strings.empty() || !tokens.empty() || !texts.empty() || !dates.empty() ||
           !numbers.empty() || !quantities.empty() || !refs.empty();
  }
};

std::string ChildText(const fhir::Node& node, std::string_view name) {
  const fhir::Node* child = node.Child(name);
  return child != nullptr && child->has_value ? std::string(child->value) : std::string();
}

std::string_view TypeName(const fhir::Node& node) {
  return node.type != nullptr ? std::string_view(node.type->name) : std::string_view();
}

void AddDate(std::string_view text, Values& out) {
  if (auto range = TimeRangeOf(text)) {
    out.dates.push_back(*range);
    out.date_texts.emplace_back(text);
  }
}

// Converts one FHIRPath result by the parameter type, following the type tables of search.html:
// HumanName and Address search their parts; tokens come from code, boolean, Coding,
// CodeableConcept, Identifier and ContactPoint (which has no system); a Period is the range from
// its start's lower bound to its end's upper bound, open where absent.
void AddItem(ParamType type, const fhir::fhirpath::Value& item, Values& out) {
  if (!item.is_node() || item.node == nullptr) return;  // these expressions yield elements
  const fhir::Node& node = *item.node;
  const std::string_view name = TypeName(node);
  out.shown.push_back(node.is_primitive() ? std::string(node.value)
                                          : fhir::fhirpath::NodeToJson(node));
  switch (type) {
    case ParamType::kString:
      if (node.is_primitive()) {
        if (node.has_value) out.strings.emplace_back(node.value);
      } else if (name == "HumanName" || name == "Address") {
        for (const char* part : {"family", "given", "prefix", "suffix", "line", "city", "district",
                                 "state", "postalCode", "country", "text"}) {
          for (const fhir::Node* child : node.Children(part)) {
            if (child->has_value) out.strings.emplace_back(child->value);
          }
        }
      }
      break;
    case ParamType::kToken:
      if (node.is_primitive()) {
        if (node.has_value) out.tokens.push_back({std::nullopt, std::string(node.value), {}});
      } else if (name == "Coding" || name == "CodeableConcept") {
        std::vector<const fhir::Node*> codings = node.Children("coding");
        if (name == "Coding") codings = {&node};
        for (const fhir::Node* coding : codings) {
          Token token{std::nullopt, ChildText(*coding, "code"), {}};
          if (coding->Child("system") != nullptr) token.system = ChildText(*coding, "system");
          if (!token.code.empty()) out.tokens.push_back(token);
          if (std::string display = ChildText(*coding, "display"); !display.empty()) {
            out.texts.push_back(display);
          }
        }
        if (std::string text = ChildText(node, "text"); !text.empty()) out.texts.push_back(text);
      } else if (name == "Identifier") {
        Token token{std::nullopt, ChildText(node, "value"), {}};
        if (token.code.empty()) break;
        if (node.Child("system") != nullptr) token.system = ChildText(node, "system");
        if (const fhir::Node* id_type = node.Child("type")) {
          for (const fhir::Node* coding : id_type->Children("coding")) {
            token.types.emplace_back(ChildText(*coding, "system"), ChildText(*coding, "code"));
          }
          if (std::string text = ChildText(*id_type, "text"); !text.empty()) {
            out.texts.push_back(text);
          }
        }
        out.tokens.push_back(token);
      } else if (name == "ContactPoint") {
        if (std::string value = ChildText(node, "value"); !value.empty()) {
          out.tokens.push_back({std::nullopt, value, {}});
        }
      }
      break;
    case ParamType::kDate:
      if (node.is_primitive()) {
        if (node.has_value) AddDate(node.value, out);
      } else if (name == "Period") {
        const std::optional<Range> start = TimeRangeOf(ChildText(node, "start"));
        const std::optional<Range> end = TimeRangeOf(ChildText(node, "end"));
        if (!start && !end) break;
        out.dates.push_back({start ? start->begin : kOpenLow, end ? end->end : kOpenHigh});
        out.date_texts.push_back(start ? ChildText(node, "start") : ChildText(node, "end"));
      }
      break;
    case ParamType::kNumber:
      if (node.is_primitive() && node.has_value) {
        if (auto value = Decimal::Parse(node.value)) {
          out.numbers.emplace_back(*value, std::string(node.value));
        }
      }
      break;
    case ParamType::kQuantity:
      if (name == "Quantity") {
        const std::string text = ChildText(node, "value");
        if (auto value = Decimal::Parse(text)) {
          out.quantities.push_back({*value, text, ChildText(node, "system"),
                                    ChildText(node, "code"), ChildText(node, "unit")});
        }
      }
      break;
    case ParamType::kReference:
      if (name == "Reference") {
        Ref ref;
        const std::string reference = ChildText(node, "reference");
        if (size_t slash = reference.find('/'); slash != std::string::npos) {
          ref.type = reference.substr(0, slash);
          ref.id = reference.substr(slash + 1);
        }
        if (const fhir::Node* identifier = node.Child("identifier")) {
          ref.identifier_system = ChildText(*identifier, "system");
          ref.identifier_value = ChildText(*identifier, "value");
        }
        if (!ref.id.empty() || !ref.identifier_value.empty()) out.refs.push_back(ref);
      }
      break;
    case ParamType::kUri:
      if (node.is_primitive() && node.has_value) out.strings.emplace_back(node.value);
      break;
    default:
      break;
  }
}

// Folds the strings once, rather than for every query.
void FoldStrings(Values& values) {
  for (const std::string& s : values.strings) values.folded.push_back(NormalizeString(s));
  for (std::string& text : values.texts) text = NormalizeString(text);
}

// resolve() for the `patient` parameter ("subject.where(resolve() is Patient)"): the test holds
// every resource, so references resolve for real.
class DataSetResolver : public fhir::fhirpath::Hooks {
 public:
  const fhir::Node* Resolve(std::string_view reference) const override {
    auto it = targets_.find(reference);
    return it == targets_.end() ? nullptr : it->second;
  }
  void Add(const std::string& reference, const fhir::Node* node) { targets_[reference] = node; }

 private:
  std::map<std::string, const fhir::Node*, std::less<>> targets_;
};

// --- Matching: the R4 rules per parameter type --------------------------------------------

const std::vector<std::string> kPrefixes = {"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"};

std::pair<std::string, std::string> SplitPrefix(const std::string& value) {
  if (value.size() > 2 &&
      std::find(kPrefixes.begin(), kPrefixes.end(), value.substr(0, 2)) != kPrefixes.end()) {
    return {value.substr(0, 2), value.substr(2)};
  }
  return {"eq", value};
}

// Numbers (search.html "number"): the search value's precision gives eq/ne a range ("100" is
// [99.5, 100.5)); the other prefixes compare with the value itself; ap is within 10%.
bool NumberMatches(const std::string& prefix, const Decimal& value, const Decimal& target) {
  const Decimal half(5, value.scale() + 1);
  const Decimal low = *Decimal::Subtract(value, half);
  const Decimal high = *Decimal::Add(value, half);
  const bool within = Decimal::Compare(target, low) >= 0 && Decimal::Compare(target, high) < 0;
  const int order = Decimal::Compare(target, value);
  if (prefix == "eq") return within;
  if (prefix == "ne") return !within;
  if (prefix == "gt" || prefix == "sa") return order > 0;
  if (prefix == "lt" || prefix == "eb") return order < 0;
  if (prefix == "ge") return order >= 0;
  if (prefix == "le") return order <= 0;
  const Decimal tenth = *Decimal::Divide(value.Abs(), Decimal::FromInteger(10));
  const Decimal distance = Decimal::Subtract(target, value)->Abs();
  return Decimal::Compare(distance, tenth) <= 0;  // ap
}

// Dates (search.html, prefix table), search range s and target range t: eq s contains t; gt/lt
// the range above/below s overlaps t; ge/le the same or eq; sa/eb t starts after/ends before s;
// ap overlaps s widened by a tenth of its distance from now (the recommendation's 10%).
bool DateMatches(const std::string& prefix, const Range& s, const Range& t, int64_t now) {
  const bool contains = s.begin <= t.begin && t.end <= s.end;
  if (prefix == "eq") return contains;
  if (prefix == "ne") return !contains;
  if (prefix == "gt") return t.end > s.end;
  if (prefix == "lt") return t.begin < s.begin;
  if (prefix == "ge") return t.end > s.end || contains;
  if (prefix == "le") return t.begin < s.begin || contains;
  if (prefix == "sa") return t.begin >= s.end;
  if (prefix == "eb") return t.end <= s.begin;
  auto slack = [&](int64_t at) { return (at > now ? at - now : now - at) / 10; };
  return t.begin < s.end + slack(s.end) && t.end > s.begin - slack(s.begin);  // ap
}

// Tokens (search.html "token"): code matches any system, system|code both, |code only values
// without a system, system| any code of the system.
bool TokenMatches(const std::string& value, const Values& values) {
  const size_t bar = value.find('|');
  for (const Token& token : values.tokens) {
    if (bar == std::string::npos) {
      if (token.code == value) return true;
      continue;
    }
    const std::string system = value.substr(0, bar);
    const std::string code = value.substr(bar + 1);
    if (system.empty()) {
      if (!token.system && token.code == code) return true;
    } else if (token.system == system && (code.empty() || token.code == code)) {
      return true;
    }
  }
  return false;
}

// Quantities (search.html "quantity"): a bare number compares with the value in whatever unit;
// number|system|code needs that system and code, and with UCUM compares after conversion to the
// searched unit (the spec lets servers compare canonical forms); number||code matches the code
// or the unit as written.
bool QuantityMatches(const std::string& value, const Values& values) {
  const std::vector<std::string> parts = Split(value, '|');
  const auto [prefix, number] = SplitPrefix(parts[0]);
  const Decimal searched = *Decimal::Parse(number);
  const std::string system = parts.size() > 1 ? parts[1] : "";
  const std::string code = parts.size() > 2 ? parts[2] : "";
  for (const Qty& q : values.quantities) {
    Decimal target = q.value;
    if (!code.empty()) {
      if (system == kUcum) {
        if (q.system != kUcum) continue;
        auto converted = fhir::fhirpath::ConvertQuantity({q.value, q.code}, code);
        if (!converted) continue;
        target = *converted;
      } else if (system.empty() ? (q.code != code && q.unit != code)
                                : (q.system != system || q.code != code)) {
        continue;
      }
    }
    if (NumberMatches(prefix, searched, target)) return true;
  }
  return false;
}

struct Clause {
  std::string code;
  std::string modifier;
  std::vector<std::string> alternatives;  // not yet encoded
  std::vector<std::string> folded;        // NormalizeString of each alternative

  bool query_has_ap() const {
    return std::any_of(alternatives.begin(), alternatives.end(),
                       [](const std::string& a) { return a.starts_with("ap"); });
  }
};

bool AlternativeMatches(ParamType type, const std::string& modifier, const std::string& value,
                        const std::string& folded, const Values& values, int64_t now) {
  switch (type) {
    case ParamType::kString:
      for (size_t i = 0; i < values.strings.size(); ++i) {
        if (modifier == "exact") {
          if (values.strings[i] == value) return true;
        } else if (modifier == "contains") {
          if (values.folded[i].find(folded) != std::string::npos) return true;
        } else if (values.folded[i].starts_with(folded)) {
          return true;
        }
      }
      return false;
    case ParamType::kToken:
      if (modifier == "text") {
        return std::any_of(values.texts.begin(), values.texts.end(),
                           [&](const std::string& t) { return t.starts_with(folded); });
      }
      if (modifier == "of-type") {
        const std::vector<std::string> parts = Split(value, '|');
        return std::any_of(values.tokens.begin(), values.tokens.end(), [&](const Token& t) {
          return t.code == parts[2] && std::find(t.types.begin(), t.types.end(),
                                                 std::pair(parts[0], parts[1])) != t.types.end();
        });
      }
      return TokenMatches(value, values);
    case ParamType::kDate: {
      const auto [prefix, text] = SplitPrefix(value);
      const Range searched = *TimeRangeOf(text);
      return std::any_of(values.dates.begin(), values.dates.end(),
                         [&](const Range& t) { return DateMatches(prefix, searched, t, now); });
    }
    case ParamType::kNumber: {
      const auto [prefix, text] = SplitPrefix(value);
      const Decimal searched = *Decimal::Parse(text);
      return std::any_of(values.numbers.begin(), values.numbers.end(),
                         [&](const auto& n) { return NumberMatches(prefix, searched, n.first); });
    }
    case ParamType::kQuantity:
      return QuantityMatches(value, values);
    case ParamType::kReference:
      // search.html "reference": [Type/]id, :Type with an id, :identifier with system|value.
      for (const Ref& ref : values.refs) {
        if (modifier == "identifier") {
          const std::vector<std::string> parts = Split(value, '|');
          if (ref.identifier_system == parts[0] && ref.identifier_value == parts[1]) return true;
        } else if (!modifier.empty()) {
          if (ref.type == modifier && ref.id == value) return true;
        } else if (size_t slash = value.find('/'); slash != std::string::npos) {
          if (ref.type == value.substr(0, slash) && ref.id == value.substr(slash + 1)) return true;
        } else if (ref.id == value) {
          return true;
        }
      }
      return false;
    case ParamType::kUri:
      // Equality; :below the value starts with the searched one, :above the reverse.
      for (const std::string& s : values.strings) {
        if (modifier == "below"   ? s.starts_with(value)
            : modifier == "above" ? value.starts_with(s)
                                  : s == value) {
          return true;
        }
      }
      return false;
    default:
      return false;
  }
}

// Alternatives are ORed; :missing tests for any value at all; :not holds when no value matches
// any alternative (resources without a value included).
bool ClauseMatches(ParamType type, const Clause& clause, const Values& values, int64_t now) {
  if (clause.modifier == "missing") return values.present() == (clause.alternatives[0] == "false");
  const std::string modifier = clause.modifier == "not" ? "" : clause.modifier;
  bool any = false;
  for (size_t i = 0; i < clause.alternatives.size() && !any; ++i) {
    any = AlternativeMatches(type, modifier, clause.alternatives[i], clause.folded[i], values, now);
  }
  return clause.modifier == "not" ? !any : any;
}

// --- The data set ----------------------------------------------------------------------------

struct Doc {
  std::string type;
  std::string id;
  std::string json;
  fhir::Resource resource;
};

struct PatientInfo {
  std::string id;
  std::string oid_value;  // the 18-digit resident identity number
};

const std::vector<std::string> kZhFamily = {"张", "王", "李", "赵", "陈", "刘", "杨", "黄", "欧阳"};
const std::vector<std::string> kPinyinFamily = {"Zhāng", "Wáng", "Lǐ",    "Zhào",  "Chén",
                                                "Liú",   "Yáng", "Huáng", "Ōuyáng"};
const std::vector<std::string> kZhGiven = {"伟", "芳", "娜", "秀英", "敏",
                                           "静", "丽", "强", "磊",   "军"};
const std::vector<std::string> kPinyinGiven = {"Wěi",  "Fāng", "Nà",    "Xiùyīng", "Mǐn",
                                               "Jìng", "Lì",   "Qiáng", "Lěi",     "Jūn"};
const std::vector<std::string> kLatinFamily = {"Müller", "Schäfer", "García",     "Núñez",
                                               "Dvořák", "Łukasik", "Østergaard", "Lefèvre",
                                               "Smith",  "Åberg"};
const std::vector<std::string> kLatinGiven = {"Zoë",   "José",  "Renée", "François", "Søren",
                                              "Ángel", "Chloé", "Anna",  "Jürgen",   "Ewa"};
const std::vector<std::string> kCities = {"北京",   "上海",    "广州",      "深圳",
                                          "Zürich", "München", "São Paulo", "Kraków"};
const std::vector<std::string> kDistricts = {"朝阳区", "海淀区",   "浦东新区",
                                             "天河区", "Altstadt", "Mitte"};
const std::vector<std::string> kZones = {"Z", "+08:00", "-05:00", "+05:30", "+00:00"};

struct UnitChoice {
  std::string code;
  std::string unit;
  int low;  // in units of the last decimal
  int high;
  int decimals;
};

struct LoincCode {
  std::string code;
  std::string display;
  std::string text;
  std::vector<UnitChoice> units;
};

const std::vector<LoincCode> kCodes = {
    {"29463-7", "Body weight", "体重", {{"kg", "kg", 30, 1200, 1}, {"g", "g", 3000, 120000, 0}}},
    {"8302-2", "Body height", "身高", {{"cm", "cm", 450, 2000, 1}, {"m", "m", 45, 200, 2}}},
    {"8310-5", "Body temperature", "体温", {{"Cel", "°C", 350, 410, 1}}},
    {"8480-6", "Systolic blood pressure", "收缩压", {{"mm[Hg]", "mmHg", 80, 200, 0}}},
    {"15074-8", "Glucose [Moles/volume] in Blood", "血糖", {{"mmol/L", "mmol/L", 30, 200, 1}}},
};

class Generator {
 public:
  explicit Generator(Random& rng) : rng_(rng) {}

  std::vector<Doc> Generate() {
    std::vector<Doc> docs;
    for (int i = 0; i < kPatients; ++i) Add(docs, "Patient", "sdiff-p" + Pad(i, 3), Patient(i));
    for (int i = 0; i < kObservations; ++i) {
      Add(docs, "Observation", "sdiff-o" + Pad(i, 4), Observation());
    }
    for (int i = 0; i < kRiskAssessments; ++i) {
      Add(docs, "RiskAssessment", "sdiff-r" + Pad(i, 2), RiskAssessment());
    }
    for (int i = 0; i < kValueSets; ++i) Add(docs, "ValueSet", "sdiff-v" + Pad(i, 2), ValueSet(i));
    return docs;
  }

 private:
  void Add(std::vector<Doc>& docs, const std::string& type, const std::string& id,
           const std::string& body) {
    std::string json = "{\"resourceType\":" + Quote(type) + ",\"id\":" + Quote(id) + body + "}";
    if (type == "Patient") patients_.back().id = id;
    docs.push_back({type, id, std::move(json), {}});
  }

  std::string DateText(int precision) {
    std::string text = std::to_string(rng_.Int(1940, 2020));
    if (precision >= 2) text += "-" + Pad(rng_.Int(1, 12), 2);
    if (precision >= 3) text += "-" + Pad(rng_.Int(1, 28), 2);
    return text;
  }

  // A dateTime at year, month, day, second or millisecond precision, in various zones.
  std::string DateTimeText() {
    const int precision = rng_.Int(1, 10);
    std::string text = std::to_string(rng_.Int(2019, 2024));
    if (precision >= 2) text += "-" + Pad(rng_.Int(1, 12), 2);
    if (precision >= 3) text += "-" + Pad(rng_.Int(1, 28), 2);
    if (precision >= 5) {
      text += "T" + Pad(rng_.Int(0, 23), 2);
      text += ":" + Pad(rng_.Int(0, 59), 2);
      text += ":" + Pad(rng_.Int(0, 59), 2);
      if (precision >= 9) text += "." + Pad(rng_.Int(0, 999), 3);
      text += rng_.Pick(kZones);
    }
    return text;
  }

  std::string Patient(int index) {
    PatientInfo info;
    std::string birth = DateText(3);
    // One draw per statement: the order operands are evaluated in is unspecified, and the data
    // must not depend on the compiler.
    const std::string region = rng_.Pick<std::string>({"110101", "310104", "440106", "110105"});
    const std::string serial = Pad(rng_.Int(0, 999), 3);
    const std::string check = rng_.Chance(0.1) ? "X" : Pad(rng_.Int(0, 9), 1);
    info.oid_value =
        region + birth.substr(0, 4) + birth.substr(5, 2) + birth.substr(8, 2) + serial + check;
    patients_.push_back(info);

    std::vector<std::string> identifiers;
    if (rng_.Chance(0.9)) {
      identifiers.push_back("{\"system\":" + Quote(kOid) + ",\"value\":" + Quote(info.oid_value) +
                            "}");
    }
    if (rng_.Chance(0.6)) {
      identifiers.push_back("{\"type\":{\"coding\":[{\"system\":" + Quote(kV20203) +
                            ",\"code\":\"MR\"}],\"text\":" +
                            Quote(rng_.Chance(0.5) ? "病历号" : "Medical record number") +
                            "},\"system\":" + Quote(kMrnSystem) +
                            ",\"value\":" + Quote("MRN-" + Pad(index, 5)) + "}");
    }
    if (rng_.Chance(0.15)) {
      identifiers.push_back("{\"value\":" + Quote("LOCAL-" + Pad(rng_.Int(0, 40), 3)) + "}");
    }

    std::vector<std::string> names;
    const int style = rng_.Int(0, 2);
    if (style < 2) {
      const size_t f = static_cast<size_t>(rng_.Int(0, static_cast<int>(kZhFamily.size()) - 1));
      const size_t g = static_cast<size_t>(rng_.Int(0, static_cast<int>(kZhGiven.size()) - 1));
      names.push_back("{\"use\":\"official\",\"text\":" + Quote(kZhFamily[f] + kZhGiven[g]) +
                      ",\"family\":" + Quote(kZhFamily[f]) + ",\"given\":[" + Quote(kZhGiven[g]) +
                      "]}");
      if (style == 1 || rng_.Chance(0.5)) {
        names.push_back("{\"family\":" + Quote(kPinyinFamily[f]) + ",\"given\":[" +
                        Quote(kPinyinGiven[g]) + "]}");
      }
    } else {
      std::string given = "[" + Quote(rng_.Pick(kLatinGiven));
      if (rng_.Chance(0.3)) given += "," + Quote(rng_.Pick(kLatinGiven));
      const std::string family = rng_.Pick(kLatinFamily);
      const std::string prefix = rng_.Chance(0.3) ? ",\"prefix\":[\"Dr.\"]" : "";
      names.push_back("{\"family\":" + Quote(family) + ",\"given\":" + given + "]" + prefix + "}");
    }

    std::string body;
    if (!identifiers.empty()) body += ",\"identifier\":[" + JoinJson(identifiers) + "]";
    if (rng_.Chance(0.75))
      body += std::string(",\"active\":") + (rng_.Chance(0.6) ? "true" : "false");
    body += ",\"name\":[" + JoinJson(names) + "]";
    std::vector<std::string> telecom;
    if (rng_.Chance(0.8)) {
      telecom.push_back("{\"system\":\"phone\",\"value\":" +
                        Quote("+86 138" + Pad(rng_.Int(0, 99999999), 8)) + "}");
    }
    if (rng_.Chance(0.3)) {
      telecom.push_back("{\"system\":\"email\",\"value\":" +
                        Quote("user" + std::to_string(index) + "@example.cn") + "}");
    }
    if (!telecom.empty()) body += ",\"telecom\":[" + JoinJson(telecom) + "]";
    if (rng_.Chance(0.9)) {
      body +=
          ",\"gender\":" + Quote(rng_.Pick<std::string>({"male", "female", "other", "unknown"}));
    }
    const int precision = rng_.Int(1, 20);
    if (precision > 1) {
      body += ",\"birthDate\":" + Quote(precision <= 3   ? birth.substr(0, 4)
                                        : precision <= 6 ? birth.substr(0, 7)
                                                         : birth);
    }
    if (rng_.Chance(0.85)) {
      body += ",\"address\":[{\"city\":" + Quote(rng_.Pick(kCities));
      if (rng_.Chance(0.7)) body += ",\"district\":" + Quote(rng_.Pick(kDistricts));
      body += "}]";
    }
    return body;
  }

  std::string Observation() {
    const LoincCode& code = rng_.Pick(kCodes);
    std::string body =
        ",\"status\":" + Quote(rng_.Pick<std::string>({"final", "final", "final", "amended",
                                                       "preliminary", "registered", "cancelled"}));
    body += ",\"code\":{\"coding\":[{\"system\":" + Quote(kLoinc) +
            ",\"code\":" + Quote(code.code) + ",\"display\":" + Quote(code.display) + "}]" +
            (rng_.Chance(0.5) ? ",\"text\":" + Quote(code.text) : "") + "}";
    const PatientInfo& patient = rng_.Pick(patients_);
    const int subject = rng_.Int(1, 20);
    if (subject <= 17) {
      body += ",\"subject\":{\"reference\":" + Quote("Patient/" + patient.id) + "}";
    } else if (subject <= 19) {
      body += ",\"subject\":{\"identifier\":{\"system\":" + Quote(kOid) +
              ",\"value\":" + Quote(patient.oid_value) + "}}";
    }
    const int effective = rng_.Int(1, 20);
    if (effective <= 16) {
      body += ",\"effectiveDateTime\":" + Quote(DateTimeText());
    } else if (effective <= 19) {
      std::string start = std::to_string(rng_.Int(2019, 2024));
      start += "-" + Pad(rng_.Int(1, 12), 2);
      start += "-" + Pad(rng_.Int(1, 20), 2);
      start += "T" + Pad(rng_.Int(0, 23), 2) + ":00:00";
      start += rng_.Pick(kZones);
      body += ",\"effectivePeriod\":{\"start\":" + Quote(start);
      if (rng_.Chance(0.7)) {
        body += ",\"end\":" +
                Quote(start.substr(0, 8) + Pad(std::stoi(start.substr(8, 2)) + rng_.Int(0, 7), 2));
      }
      body += "}";
    }
    if (rng_.Chance(0.95)) {
      const UnitChoice& unit = rng_.Pick(code.units);
      const Decimal value(rng_.Int(unit.low, unit.high), unit.decimals);
      body += ",\"valueQuantity\":{\"value\":" + value.ToString() +
              ",\"unit\":" + Quote(unit.unit) + ",\"system\":" + Quote(kUcum) +
              ",\"code\":" + Quote(unit.code) + "}";
    }
    if (rng_.Chance(0.25)) {
      // Components, as a panel's (searched through the combo-* parameters).
      std::vector<std::string> components;
      for (int i = rng_.Int(1, 2); i > 0; --i) {
        const LoincCode& part = rng_.Pick(kCodes);
        const UnitChoice& unit = rng_.Pick(part.units);
        const Decimal value(rng_.Int(unit.low, unit.high), unit.decimals);
        components.push_back("{\"code\":{\"coding\":[{\"system\":" + Quote(kLoinc) +
                             ",\"code\":" + Quote(part.code) + "}]},\"valueQuantity\":{\"value\":" +
                             value.ToString() + ",\"system\":" + Quote(kUcum) +
                             ",\"code\":" + Quote(unit.code) + "}}");
      }
      body += ",\"component\":[" + JoinJson(components) + "]";
    }
    return body;
  }

  std::string RiskAssessment() {
    std::string body = ",\"status\":\"final\",\"subject\":{\"reference\":" +
                       Quote("Patient/" + rng_.Pick(patients_).id) + "}";
    std::vector<std::string> predictions;
    for (int i = rng_.Int(0, 2); i > 0; --i) {
      const int decimals = rng_.Int(1, 3);
      int high = 1;
      for (int d = 0; d < decimals; ++d) high *= 10;
      predictions.push_back(
          "{\"probabilityDecimal\":" + Decimal(rng_.Int(0, high), decimals).ToString() + "}");
    }
    if (!predictions.empty()) body += ",\"prediction\":[" + JoinJson(predictions) + "]";
    return body;
  }

  std::string ValueSet(int index) {
    static const std::vector<std::string> kNames = {
        "vital-signs",    "vital-signs/v2", "vital",         "lab",   "lab-results",
        "lab-results/v1", "conditions",     "conditions-zh", "units", "units/2024"};
    std::string body = ",\"status\":\"active\"";
    if (index < static_cast<int>(kNames.size())) {
      body += ",\"url\":" + Quote(std::string(kValueSetBase) + kNames[static_cast<size_t>(index)]);
    } else if (index == static_cast<int>(kNames.size())) {
      body += ",\"url\":\"urn:uuid:6a1f3c2e-sdiff-0001\"";
    }
    return body;
  }

  static std::string JoinJson(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& item : items) out += (out.empty() ? "" : ",") + item;
    return out;
  }

  Random& rng_;
  std::vector<PatientInfo> patients_;
};

// --- Queries ---------------------------------------------------------------------------------

using ValuesByResource = std::vector<Values>;  // in the order of the type's documents

class QueryMaker {
 public:
  QueryMaker(Random& rng, const std::map<std::string, ValuesByResource>& index)
      : rng_(rng), index_(index) {}

  Clause Make(const std::string& type, const SearchParam& param) {
    Clause clause{param.code(), "", {}};
    if (rng_.Chance(0.08)) {
      clause.modifier = "missing";
      clause.alternatives = {rng_.Chance(0.5) ? "true" : "false"};
      clause.folded = clause.alternatives;
      return clause;
    }
    clause.modifier = Modifier(type, param);
    const int count = rng_.Int(1, 3);
    for (int i = 0; i < count; ++i) {
      const Values* source = Source(type + "." + param.code());
      std::string value;
      if (source != nullptr && rng_.Chance(0.85)) value = FromData(param, clause.modifier, *source);
      if (value.empty()) value = Absent(param, clause.modifier);
      clause.alternatives.push_back(value);
      clause.folded.push_back(NormalizeString(value));
    }
    return clause;
  }

 private:
  std::string Modifier(const std::string& type, const SearchParam& param) {
    const int roll = rng_.Int(1, 100);
    switch (param.type()) {
      case ParamType::kString:
        return roll <= 60 ? "" : roll <= 80 ? "exact" : "contains";
      case ParamType::kToken:
        if (roll <= 15) return "not";
        if (roll <= 27 && (param.code() == "code" || param.code() == "identifier")) return "text";
        if (roll <= 40 && param.code() == "identifier") return "of-type";
        return "";
      case ParamType::kReference:
        if (type != "Observation") return "";
        if (roll <= 20) return "identifier";
        if (roll <= 35) return "Patient";
        if (roll <= 38 && param.code() == "subject") return "Group";
        return "";
      case ParamType::kUri:
        return roll <= 40 ? "" : roll <= 70 ? "below" : "above";
      default:
        return "";
    }
  }

  // A resource with values for the parameter, if one is found quickly.
  const Values* Source(const std::string& key) {
    const ValuesByResource& all = index_.at(key);
    for (int attempt = 0; attempt < 20; ++attempt) {
      const Values& values =
          all[static_cast<size_t>(rng_.Int(0, static_cast<int>(all.size()) - 1))];
      if (values.present()) return &values;
    }
    return nullptr;
  }

  std::string Prefix(bool allow_ap) {
    const int roll = rng_.Int(1, 100);
    if (roll <= 35) return "";
    if (roll <= 40) return "eq";
    if (!allow_ap)
      return rng_.Pick(std::vector<std::string>(kPrefixes.begin() + 1, kPrefixes.end() - 1));
    return rng_.Pick(std::vector<std::string>(kPrefixes.begin() + 1, kPrefixes.end()));
  }

  // Some text that folds to something non-empty, derived from `text`: whole, a prefix, a middle
  // part, upper-cased or already folded.
  std::string StringVariant(const std::string& text, bool middle) {
    const std::vector<std::string> points = CodePoints(text);
    std::string out = text;
    const int roll = rng_.Int(1, 10);
    if (middle && points.size() > 1) {
      const int from = rng_.Int(0, static_cast<int>(points.size()) - 1);
      out = Join(points, static_cast<size_t>(from),
                 static_cast<size_t>(rng_.Int(from + 1, static_cast<int>(points.size()))));
    } else if (roll <= 4 && points.size() > 1) {
      out = Join(points, 0, static_cast<size_t>(rng_.Int(1, static_cast<int>(points.size()) - 1)));
    }
    if (roll == 7) out = UpperAscii(out);
    if (roll >= 8) out = NormalizeString(out);
    if (NormalizeString(out).empty()) out = text;
    return out;
  }

  std::string FromData(const SearchParam& param, const std::string& modifier, const Values& v) {
    switch (param.type()) {
      case ParamType::kString: {
        const std::string& s = rng_.Pick(v.strings);
        if (modifier == "exact") return rng_.Chance(0.75) ? s : StringVariant(s, false);
        return StringVariant(s, modifier == "contains");
      }
      case ParamType::kToken: {
        if (modifier == "text") {
          return v.texts.empty() ? "" : StringVariant(rng_.Pick(v.texts), false);
        }
        if (v.tokens.empty()) return "";
        const Token& t = rng_.Pick(v.tokens);
        if (modifier == "of-type") {
          if (t.types.empty()) return "";
          return t.types[0].first + "|" + t.types[0].second + "|" + t.code;
        }
        const int roll = rng_.Int(1, 10);
        if (!t.system) return roll <= 7 ? t.code : "|" + t.code;
        if (roll <= 4) return t.code;
        if (roll <= 9) return *t.system + "|" + t.code;
        return *t.system + "|";
      }
      case ParamType::kDate: {
        const std::string& text = rng_.Pick(v.date_texts);
        const int roll = rng_.Int(1, 5);
        std::string value = roll == 1   ? text.substr(0, 4)
                            : roll == 2 ? text.substr(0, std::min<size_t>(7, text.size()))
                            : roll == 3 ? text.substr(0, std::min<size_t>(10, text.size()))
                                        : text;
        if (roll == 5 && text.size() >= 19) {
          // Minutes only, in the value's zone or in UTC.
          const std::string zone = text.back() == 'Z' ? "Z" : text.substr(text.size() - 6);
          value = text.substr(0, 16) + (rng_.Chance(0.5) ? "Z" : zone);
        }
        return Prefix(true) + value;
      }
      case ParamType::kNumber: {
        const auto& [value, text] = rng_.Pick(v.numbers);
        std::string shown = text;
        if (rng_.Chance(0.3) && value.scale() > 0) {
          shown = value.Rounded(rng_.Int(0, value.scale() - 1)).ToString();
        }
        return Prefix(true) + shown;
      }
      case ParamType::kQuantity: {
        const Qty& q = rng_.Pick(v.quantities);
        std::string number = q.text;
        std::string code = q.code;
        const int roll = rng_.Int(1, 20);
        if (roll >= 13 && roll <= 16) {
          // The same amount in a related unit, compared after conversion.
          if (code == "kg") {
            number = Decimal::Multiply(q.value, Decimal::FromInteger(1000))->ToString();
            code = "g";
          } else if (code == "g") {
            number = Decimal(q.value.mantissa(), q.value.scale() + 3).ToString();
            code = "kg";
          } else if (code == "m") {
            number = Decimal::Multiply(q.value, Decimal::FromInteger(100))->ToString();
            code = "cm";
          } else if (code == "cm") {
            number = Decimal(q.value.mantissa(), q.value.scale() + 2).ToString();
            code = "m";
          }
        }
        const std::string prefixed = Prefix(true) + number;
        if (roll <= 5) return prefixed;
        if (roll <= 16) return prefixed + "|" + std::string(kUcum) + "|" + code;
        return prefixed + "||" + (rng_.Chance(0.5) ? q.unit : code);
      }
      case ParamType::kReference: {
        if (modifier == "identifier") {
          for (const Ref& ref : v.refs) {
            if (!ref.identifier_value.empty()) {
              return ref.identifier_system + "|" + ref.identifier_value;
            }
          }
          return "";
        }
        const Ref& ref = rng_.Pick(v.refs);
        if (ref.id.empty()) return "";
        if (!modifier.empty()) return ref.id;
        return rng_.Chance(0.5) ? ref.type + "/" + ref.id : ref.id;
      }
      case ParamType::kUri: {
        const std::string& s = rng_.Pick(v.strings);
        if (modifier == "below")
          return s.substr(0, static_cast<size_t>(rng_.Int(5, static_cast<int>(s.size()))));
        if (modifier == "above") return rng_.Chance(0.5) ? s + "/v3" : s;
        return s;
      }
      default:
        return "";
    }
  }

  std::string Absent(const SearchParam& param, const std::string& modifier) {
    switch (param.type()) {
      case ParamType::kString:
        return rng_.Pick<std::string>({"Qxyzzy", "不存在", "Müllerx"});
      case ParamType::kToken:
        if (modifier == "text") return "nonexistent text";
        if (modifier == "of-type") return std::string(kV20203) + "|MR|NOPE-1";
        return rng_.Pick<std::string>(
            {"nope", "http://example.org/none|x", std::string(kOid) + "|000"});
      case ParamType::kDate:
        return Prefix(true) + rng_.Pick<std::string>({"1850", "2099-01", "2030-05-05"});
      case ParamType::kNumber:
        return Prefix(true) + rng_.Pick<std::string>({"2", "-1", "0.999"});
      case ParamType::kQuantity:
        return Prefix(true) +
               rng_.Pick<std::string>({"999", "0.001|" + std::string(kUcum) + "|kg"});
      case ParamType::kReference:
        if (modifier == "identifier") return std::string(kOid) + "|000000000000000000";
        return modifier.empty() ? "Patient/sdiff-nobody" : "sdiff-nobody";
      case ParamType::kUri:
        return std::string(kValueSetBase) + "none";
      default:
        return "x";
    }
  }

  Random& rng_;
  const std::map<std::string, ValuesByResource>& index_;
};

std::string QueryText(const std::string& type, const std::vector<Clause>& clauses) {
  std::string query = type + "?";
  for (const Clause& clause : clauses) {
    query += clause.code + (clause.modifier.empty() ? "" : ":" + clause.modifier) + "=";
    for (size_t i = 0; i < clause.alternatives.size(); ++i) {
      query += (i > 0 ? "," : "") + server::rest::PercentEncode(clause.alternatives[i]);
    }
    query += "&";
  }
  return query + "_count=1000";
}

// The path of a link the server wrote as an absolute URL.
std::string PathOf(const std::string& url) {
  const size_t scheme = url.find("//");
  const size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 2);
  return slash == std::string::npos ? url : url.substr(slash);
}

struct Mismatch {
  std::string query;
  std::set<std::string> expected_only;
  std::set<std::string> actual_only;
  std::string detail;
};

std::string IdList(const std::set<std::string>& ids) {
  std::string out;
  size_t shown = 0;
  for (const std::string& id : ids) {
    if (++shown > 12) return out + " ... (" + std::to_string(ids.size()) + ")";
    out += (out.empty() ? "" : " ") + id;
  }
  return out.empty() ? "-" : out;
}

// One random query and the server's answer to it.
struct Search {
  std::string type;
  std::vector<Clause> clauses;
  std::string query;
  std::set<std::string> actual;  // the ids of the matches, every page
  std::string failure;           // set when the server did not answer a searchset
  int64_t before = 0;            // the time range of the exchange, for `ap`
  int64_t after = 0;
};

// Sends the search and follows its `next` links. Thread-safe for distinct searches.
void RunSearch(int port, const std::string& base_path, Search& search) {
  search.before = NowMicros();
  std::string path = base_path + "/" + search.query;
  while (!path.empty()) {
    const testing_support::Answer answer = testing_support::Call(port, "GET", path);
    path.clear();
    rapidjson::Document bundle;
    bundle.Parse(answer.body.data(), answer.body.size());
    if (answer.status != 200 || bundle.HasParseError() || !bundle.IsObject()) {
      search.failure =
          "status " + std::to_string(answer.status) + ": " + answer.body.substr(0, 600);
      break;
    }
    if (bundle.HasMember("entry")) {
      for (const auto& entry : bundle["entry"].GetArray()) {
        if (entry.HasMember("search") && entry["search"].HasMember("mode") &&
            std::string_view(entry["search"]["mode"].GetString()) != "match") {
          continue;
        }
        search.actual.insert(entry["resource"]["id"].GetString());
      }
    }
    if (bundle.HasMember("link")) {
      for (const auto& link : bundle["link"].GetArray()) {
        if (std::string_view(link["relation"].GetString()) == "next") {
          path = PathOf(link["url"].GetString());
        }
      }
    }
  }
  search.after = NowMicros();
}

class SearchDifferentialTest : public testing_support::ServerSuite<> {};

TEST_F(SearchDifferentialTest, MatchesIndependentEvaluation) {
  ASSERT_TRUE(server().ok()) << "fhirhub serve did not start";
  const auto started = std::chrono::steady_clock::now();
  const std::string base_path = PathOf(server().base_url());
  const server::search::Registry& registry = testing_support::SearchRegistry();

  Random rng(kSeed);
  std::vector<Doc> docs = Generator(rng).Generate();
  std::map<std::string, std::vector<const Doc*>> by_type;
  DataSetResolver resolver;
  for (Doc& doc : docs) {
    auto parsed = fhir::json::Parse(doc.json, testing_support::Definitions());
    ASSERT_TRUE(parsed.ok()) << doc.json << "\n" << parsed.error().text();
    doc.resource = std::move(parsed).value();
    by_type[doc.type].push_back(&doc);
    resolver.Add(doc.type + "/" + doc.id, doc.resource.root());
  }

  // Load through transactions of PUTs, so the ids are ours.
  for (size_t from = 0; from < docs.size(); from += kBundleSize) {
    std::string bundle = "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[";
    for (size_t i = from; i < std::min(docs.size(), from + kBundleSize); ++i) {
      bundle +=
          std::string(i > from ? "," : "") + "{\"resource\":" + docs[i].json +
          ",\"request\":{\"method\":\"PUT\",\"url\":" + Quote(docs[i].type + "/" + docs[i].id) +
          "}}";
    }
    bundle += "]}";
    const testing_support::Answer answer = testing_support::Call(Port(), "POST", base_path, bundle);
    ASSERT_EQ(answer.status, 200) << answer.body.substr(0, 2000);
  }

  // The independent index: every queried parameter evaluated over every resource of its type.
  std::map<std::string, ValuesByResource> index;
  std::map<std::string, const SearchParam*> params;
  for (const auto& [type, codes] : QueriedParams()) {
    for (const std::string& code : codes) {
      const SearchParam* param = registry.Find(type, code);
      ASSERT_TRUE(param != nullptr && param->expression.has_value()) << type << "." << code;
      params[type + "." + code] = param;
      ValuesByResource& values = index[type + "." + code];
      for (const Doc* doc : by_type[type]) {
        fhir::fhirpath::EvaluationContext context;
        context.resource = doc->resource.root();
        context.hooks = &resolver;
        auto result = param->expression->Evaluate(context);
        ASSERT_TRUE(result.ok()) << param->expression_text << " on " << doc->id << ": "
                                 << result.error().text();
        Values& v = values.emplace_back();
        for (const auto& item : *result) AddItem(param->type(), item, v);
        FoldStrings(v);
      }
    }
  }

  QueryMaker maker(rng, index);
  const std::vector<std::string> types = {
      "Patient",     "Patient",     "Patient",     "Patient",        "Observation",
      "Observation", "Observation", "Observation", "RiskAssessment", "ValueSet"};
  std::vector<Search> searches(kQueries);
  for (Search& search : searches) {
    search.type = rng.Pick(types);
    const std::vector<std::string>& codes = QueriedParams().at(search.type);
    for (int n = rng.Int(1, 3); n > 0; --n) {
      const std::string& code = rng.Pick(codes);
      search.clauses.push_back(maker.Make(search.type, *params.at(search.type + "." + code)));
    }
    search.query = QueryText(search.type, search.clauses);
  }

  // The server answers on several threads; a few clients at once keep the test's wall time down.
  std::atomic<size_t> next{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&] {
      for (size_t i = next++; i < searches.size(); i = next++)
        RunSearch(Port(), base_path, searches[i]);
    });
  }
  for (std::thread& client : clients) client.join();

  std::vector<Mismatch> mismatches;
  int non_empty = 0;
  for (const Search& search : searches) {
    const std::string& type = search.type;
    const std::vector<Clause>& clauses = search.clauses;
    const std::set<std::string>& actual = search.actual;
    // `ap` on dates depends on the time of the request: resources whose answer differs between
    // the moments before and after it are not judged.
    std::set<std::string> expected;
    std::set<std::string> undecided;
    const std::vector<const Doc*>& candidates = by_type[type];
    struct Resolved {
      ParamType type;
      const Clause* clause;
      const ValuesByResource* values;
    };
    std::vector<Resolved> resolved;
    bool timed = false;
    for (const Clause& clause : clauses) {
      const std::string key = type + "." + clause.code;
      resolved.push_back({params.at(key)->type(), &clause, &index.at(key)});
      timed = timed || (resolved.back().type == ParamType::kDate && clause.query_has_ap());
    }
    for (size_t r = 0; r < candidates.size(); ++r) {
      bool at_before = true;
      bool at_after = true;
      for (const Resolved& c : resolved) {
        const Values& values = (*c.values)[r];
        at_before = at_before && ClauseMatches(c.type, *c.clause, values, search.before);
        if (timed) at_after = at_after && ClauseMatches(c.type, *c.clause, values, search.after);
      }
      if (at_before) expected.insert(candidates[r]->id);
      if (timed && at_before != at_after) undecided.insert(candidates[r]->id);
    }
    if (!expected.empty()) ++non_empty;

    Mismatch mismatch{search.query, {}, {}, search.failure};
    if (search.failure.empty()) {
      for (const std::string& id : expected) {
        if (!actual.contains(id) && !undecided.contains(id)) mismatch.expected_only.insert(id);
      }
      for (const std::string& id : actual) {
        if (!expected.contains(id) && !undecided.contains(id)) mismatch.actual_only.insert(id);
      }
      if (mismatch.expected_only.empty() && mismatch.actual_only.empty()) continue;
      const std::string& shown_id = !mismatch.expected_only.empty()
                                        ? *mismatch.expected_only.begin()
                                        : *mismatch.actual_only.begin();
      for (size_t r = 0; r < candidates.size(); ++r) {
        if (candidates[r]->id != shown_id) continue;
        mismatch.detail = shown_id + ":";
        std::set<std::string> seen;
        for (const Clause& clause : clauses) {
          if (!seen.insert(clause.code).second) continue;
          std::string list;
          for (const std::string& s : index.at(type + "." + clause.code)[r].shown) {
            list += (list.empty() ? "" : ", ") + s;
          }
          mismatch.detail += "\n      " + clause.code + " = [" + list + "]";
        }
      }
    }
    mismatches.push_back(std::move(mismatch));
  }

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << kQueries << " queries over " << docs.size() << " resources, " << non_empty
            << " with expected matches, " << mismatches.size() << " mismatches, " << seconds
            << " s\n";
  // Guards the generator: queries that almost never match would compare little.
  EXPECT_GE(non_empty, kQueries / 3);

  std::string report;
  for (size_t i = 0; i < mismatches.size() && i < kShownMismatches; ++i) {
    const Mismatch& m = mismatches[i];
    report += "\n  GET " + m.query;
    if (!m.expected_only.empty() || !m.actual_only.empty()) {
      report += "\n    expected only: " + IdList(m.expected_only) +
                "\n    server only:   " + IdList(m.actual_only);
    }
    report += "\n    " + m.detail;
  }
  EXPECT_TRUE(mismatches.empty()) << mismatches.size() << " of " << kQueries
                                  << " queries disagree (first " << kShownMismatches
                                  << "):" << report;
}

}  // namespace
