#include "server/search/criteria.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/test_definitions.h"
#include "tests/support/test_registry.h"
#include "tests/support/test_terminology.h"

namespace server::search {
namespace {

using std::chrono::microseconds;
using namespace std::chrono_literals;

store::Timestamp At(long long micros) { return store::Timestamp(microseconds(micros)); }
// 2024-03-01T00:00:00Z
constexpr long long kMarch1 = 1'709'251'200'000'000;
const store::Timestamp kNow = At(kMarch1 + 86'400'000'000LL * 10);

fhir::Result<store::IndexCondition> Parse(std::string_view type, std::string_view name,
                                          std::string_view value) {
  const size_t colon = name.find(':');
  const SearchParam* param = testing_support::SearchRegistry().Find(type, name.substr(0, colon));
  EXPECT_NE(param, nullptr) << type << "." << name;
  if (param == nullptr) return fhir::Error::Internal("test.no-param", std::string(name));
  return ParseCriterion(testing_support::Definitions(), *param,
                        colon == std::string_view::npos ? "" : name.substr(colon + 1), value, kNow);
}

template <typename T>
T Only(const fhir::Result<store::IndexCondition>& condition) {
  EXPECT_TRUE(condition.ok()) << condition.error().text();
  if (!condition.ok() || condition->any.size() != 1) {
    ADD_FAILURE() << "expected one test";
    return T{};
  }
  return std::get<T>(condition->any[0]);
}

TEST(TimeRangeTest, EachPrecisionIsARange) {
  auto year = ParseTimeRange("2024", "x");
  ASSERT_TRUE(year.ok());
  EXPECT_EQ(year->begin, At(1'704'067'200'000'000));
  EXPECT_EQ(year->end, At(1'735'689'600'000'000));
  auto month = ParseTimeRange("2024-02", "x");
  EXPECT_EQ(month->end - month->begin, std::chrono::duration_cast<microseconds>(29 * 24h));
  auto day = ParseTimeRange("2024-03-01", "x");
  EXPECT_EQ(day->begin, At(kMarch1));
  auto minute = ParseTimeRange("2024-03-01T08:30+08:00", "x");
  EXPECT_EQ(minute->begin, At(kMarch1 + 30LL * 60'000'000));
  EXPECT_EQ(minute->end - minute->begin, std::chrono::duration_cast<microseconds>(1min));
  auto fraction = ParseTimeRange("2024-03-01T00:00:07.25Z", "x");
  EXPECT_EQ(fraction->begin, At(kMarch1 + 7'250'000));
  EXPECT_EQ(fraction->end, At(kMarch1 + 7'260'000));
  auto no_zone = ParseTimeRange("2024-03-01T00:00:07", "x");
  EXPECT_EQ(no_zone->begin, At(kMarch1 + 7'000'000));
  for (const char* bad :
       {"", "24", "2024-13", "2024-02-30", "2024-03-01T25:00Z", "2024-03-01T10",
        "2024-03-01T10:00:00+1", "2024-03-01T10:00:00.Z", "2024-03-01 10:00",
        "2024-03-01T10:00:60Z", "x2024", "2024-03-01x", "2024-03-01T08:30+15:00"}) {
    auto parsed = ParseTimeRange(bad, "birthdate");
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().message_id(), "search.invalid-date");
    EXPECT_EQ(parsed.error().issues()[0].expression, "birthdate");
  }
}

TEST(EscapesTest, CommasPipesAndBackslashes) {
  EXPECT_EQ(SplitAlternatives("a,b\\,c,d\\|e"), (std::vector<std::string>{"a", "b\\,c", "d\\|e"}));
  EXPECT_EQ(SplitEscaped("s\\|x|c\\$d", '|'), (std::vector<std::string>{"s\\|x", "c\\$d"}));
  EXPECT_EQ(Unescape("b\\,c\\|d\\$e\\\\f"), "b,c|d$e\\f");
}

TEST(CriteriaTest, DatePrefixesCompareRanges) {
  const store::Timestamp begin = At(kMarch1);
  const store::Timestamp end = At(kMarch1 + 86'400'000'000LL);
  auto eq = Only<store::DateTest>(Parse("Patient", "birthdate", "2024-03-01"));
  EXPECT_EQ(eq.from_ge, begin);
  EXPECT_EQ(eq.before_le, end);
  EXPECT_EQ(eq.from_lt, end);
  EXPECT_FALSE(eq.outside);
  EXPECT_TRUE(Only<store::DateTest>(Parse("Patient", "birthdate", "ne2024-03-01")).outside);
  EXPECT_EQ(Only<store::DateTest>(Parse("Patient", "birthdate", "gt2024-03-01")).before_gt, end);
  EXPECT_EQ(Only<store::DateTest>(Parse("Patient", "birthdate", "lt2024-03-01")).from_lt, begin);
  EXPECT_EQ(Only<store::DateTest>(Parse("Patient", "birthdate", "sa2024-03-01")).from_ge, end);
  EXPECT_EQ(Only<store::DateTest>(Parse("Patient", "birthdate", "eb2024-03-01")).before_le, begin);
  // ge: after the range, or within it.
  auto ge = Parse("Patient", "birthdate", "ge2024-03-01");
  ASSERT_TRUE(ge.ok());
  ASSERT_EQ(ge->any.size(), 2u);
  // ap: overlaps the range widened by a tenth of its distance from now (ten days: one day).
  auto ap = Only<store::DateTest>(Parse("Patient", "birthdate", "ap2024-03-01"));
  EXPECT_EQ(ap.before_gt, begin - 24h);
  EXPECT_EQ(ap.from_lt, end + std::chrono::duration_cast<microseconds>(24h) * 9 / 10);
  // Two values: either.
  EXPECT_EQ(Parse("Observation", "date", "2024,2025")->any.size(), 2u);
  auto bad = Parse("Patient", "birthdate", "xx2024");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().issues()[0].expression, "birthdate");
}

TEST(CriteriaTest, NumbersUseTheirPrecision) {
  auto eq = Only<store::NumberTest>(Parse("RiskAssessment", "probability", "100"));
  EXPECT_EQ(eq.lower->value, "99.5");
  EXPECT_EQ(eq.upper->value, "100.5");
  EXPECT_FALSE(eq.upper->inclusive);
  auto precise = Only<store::NumberTest>(Parse("RiskAssessment", "probability", "0.40"));
  EXPECT_EQ(precise.lower->value, "0.395");
  EXPECT_EQ(precise.upper->value, "0.405");
  auto gt = Only<store::NumberTest>(Parse("RiskAssessment", "probability", "gt0.4"));
  EXPECT_EQ(gt.lower->value, "0.4");
  EXPECT_FALSE(gt.lower->inclusive);
  EXPECT_FALSE(gt.upper.has_value());
  auto ap = Only<store::NumberTest>(Parse("RiskAssessment", "probability", "ap100"));
  EXPECT_EQ(ap.lower->value, "90");
  EXPECT_EQ(ap.upper->value, "110");
  EXPECT_FALSE(Parse("RiskAssessment", "probability", "1,x").ok());
}

TEST(CriteriaTest, TokenForms) {
  auto both = Only<store::TokenTest>(
      Parse("Patient", "identifier", "urn:oid:2.16.156.10011.1.3|110101199003074518"));
  EXPECT_EQ(both.system, std::optional<std::string>("urn:oid:2.16.156.10011.1.3"));
  EXPECT_EQ(both.code, std::optional<std::string>("110101199003074518"));
  auto code_only = Only<store::TokenTest>(Parse("Patient", "gender", "female"));
  EXPECT_FALSE(code_only.system.has_value());
  auto no_system = Only<store::TokenTest>(Parse("Patient", "gender", "|female"));
  EXPECT_EQ(no_system.system, std::optional<std::string>(""));
  auto any_code = Only<store::TokenTest>(Parse("Patient", "identifier", "http://x|"));
  EXPECT_FALSE(any_code.code.has_value());
  auto escaped = Only<store::TokenTest>(Parse("Patient", "identifier", "a\\|b|c\\,d"));
  EXPECT_EQ(escaped.system, std::optional<std::string>("a|b"));
  EXPECT_EQ(escaped.code, std::optional<std::string>("c,d"));
  auto text = Only<store::TokenTest>(Parse("Observation", "code:text", "Blood Préssure"));
  EXPECT_EQ(text.text, std::optional<std::string>("blood pressure"));
  auto negated = Parse("Observation", "code:not", "http://loinc.org|1234-5");
  ASSERT_TRUE(negated.ok());
  EXPECT_TRUE(negated->negate);
  auto of_type = Only<store::TokenTest>(Parse(
      "Patient", "identifier:of-type", "http://terminology.hl7.org/CodeSystem/v2-0203|MR|446053"));
  EXPECT_EQ(of_type.type_code, std::optional<std::string>("MR"));
  EXPECT_EQ(of_type.code, std::optional<std::string>("446053"));
  for (const char* bad : {"a|b|c", "|"})
    EXPECT_FALSE(Parse("Patient", "identifier", bad).ok()) << bad;
  auto unsupported = Parse("Patient", "identifier:exact", "x");
  ASSERT_FALSE(unsupported.ok());
  EXPECT_EQ(unsupported.error().message_id(), "search.unsupported-modifier");
  EXPECT_EQ(unsupported.error().issues()[0].expression, "identifier");
}

// `name` ("code:in") with the package's value sets and code systems.
fhir::Result<store::IndexCondition> ParseWithTerminology(std::string_view type,
                                                         std::string_view name,
                                                         std::string_view value) {
  const size_t colon = name.find(':');
  const SearchParam* param = testing_support::SearchRegistry().Find(type, name.substr(0, colon));
  EXPECT_NE(param, nullptr) << type << "." << name;
  if (param == nullptr) return fhir::Error::Internal("test.no-param", std::string(name));
  terminology::PackageSource source(testing_support::PackageTerminology());
  return ParseCriterion(testing_support::Definitions(), *param, name.substr(colon + 1), value, kNow,
                        &source);
}

// The (system, code) of each token test with a system, in order.
std::vector<std::pair<std::string, std::string>> Codes(
    const fhir::Result<store::IndexCondition>& condition) {
  EXPECT_TRUE(condition.ok()) << condition.error().text();
  std::vector<std::pair<std::string, std::string>> out;
  if (!condition.ok()) return out;
  EXPECT_EQ(condition->kind, store::IndexKind::kToken);
  for (const store::RowTest& test : condition->any) {
    const auto& token = std::get<store::TokenTest>(test);
    EXPECT_TRUE(token.system.has_value());
    if (token.system.value_or("").empty()) continue;
    out.emplace_back(*token.system, token.code.value_or("?"));
  }
  return out;
}

// The codes of the token tests of values without a system.
std::vector<std::string> BareCodes(const fhir::Result<store::IndexCondition>& condition) {
  std::vector<std::string> out;
  if (!condition.ok()) return out;
  for (const store::RowTest& test : condition->any) {
    const auto& token = std::get<store::TokenTest>(test);
    if (token.system == std::optional<std::string>("")) out.push_back(token.code.value_or("?"));
  }
  return out;
}

TEST(CriteriaTest, InAndNotInTestEveryCodeOfTheValueSet) {
  const std::string gender = "http://hl7.org/fhir/administrative-gender";
  auto in = ParseWithTerminology("Patient", "gender:in",
                                 "http://hl7.org/fhir/ValueSet/administrative-gender");
  EXPECT_THAT(Codes(in), ::testing::ElementsAre(std::pair{gender, std::string("female")},
                                                std::pair{gender, std::string("male")},
                                                std::pair{gender, std::string("other")},
                                                std::pair{gender, std::string("unknown")}));
  // Patient.gender is a code: its values have no system.
  EXPECT_THAT(BareCodes(in), ::testing::ElementsAre("female", "male", "other", "unknown"));
  EXPECT_FALSE(in->negate);
  auto not_in = ParseWithTerminology("Observation", "category:not-in",
                                     "http://hl7.org/fhir/ValueSet/observation-category|4.0.1");
  EXPECT_EQ(Codes(not_in).size(), 9u);
  EXPECT_TRUE(not_in->negate);
  // Alternatives are a union, each code once.
  auto both = ParseWithTerminology("Patient", "gender:in",
                                   "http://hl7.org/fhir/ValueSet/administrative-gender,"
                                   "http://hl7.org/fhir/ValueSet/administrative-gender");
  EXPECT_EQ(Codes(both).size(), 4u);
}

TEST(CriteriaTest, BelowAndAboveFollowTheCodeSystemsHierarchy) {
  const std::string act = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
  auto below = ParseWithTerminology("Encounter", "class:below", act + "|CC");
  EXPECT_THAT(Codes(below),
              ::testing::UnorderedElementsAre(
                  std::pair{act, std::string("CC")}, std::pair{act, std::string("AE")},
                  std::pair{act, std::string("DN")}, std::pair{act, std::string("DV")},
                  std::pair{act, std::string("MC")}, std::pair{act, std::string("V")}));
  auto above = ParseWithTerminology("Encounter", "class:above", act + "|AE");
  EXPECT_EQ(Codes(above).size(), 3u);
}

TEST(CriteriaTest, TerminologyModifierErrorsNameTheParameter) {
  struct Case {
    const char* name;
    const char* value;
    const char* message_id;
  };
  for (const Case& c : {
           Case{"code:in", "http://example.org/ValueSet/none", "search.unknown-value-set"},
           Case{"code:not-in", "", "search.invalid-value"},
           Case{"code:below", "http://loinc.org|8480-6", "search.unknown-code-system"},
           Case{"code:above", "8480-6", "search.invalid-value"},
           Case{"code:below", "http://terminology.hl7.org/CodeSystem/v3-ActCode|nope",
                "search.unknown-code"},
       }) {
    auto refused = ParseWithTerminology("Observation", c.name, c.value);
    ASSERT_FALSE(refused.ok()) << c.name << "=" << c.value;
    EXPECT_EQ(refused.error().message_id(), c.message_id) << c.name << "=" << c.value;
    EXPECT_EQ(refused.error().http_status(), 400);
    EXPECT_EQ(refused.error().issues()[0].expression, "code");
  }
  // Without a terminology source (as in conditional criteria) the modifiers are not supported.
  EXPECT_EQ(Parse("Patient", "gender:in", "http://hl7.org/fhir/ValueSet/administrative-gender")
                .error()
                .message_id(),
            "search.unsupported-modifier");
  // They are token modifiers only.
  EXPECT_EQ(ParseWithTerminology("Patient", "name:in", "http://hl7.org/fhir/ValueSet/x")
                .error()
                .message_id(),
            "search.unsupported-modifier");
}

TEST(CriteriaTest, StringsAreNormalised) {
  auto starts = Only<store::StringTest>(Parse("Patient", "name", "ＺＨĀＮＧ"));
  EXPECT_EQ(starts.mode, store::StringTest::Mode::kStartsWith);
  EXPECT_EQ(starts.value, "zhang");
  auto exact = Only<store::StringTest>(Parse("Patient", "family", "张"));
  EXPECT_EQ(exact.value, "张");
  auto contains = Only<store::StringTest>(Parse("Patient", "address:contains", "朝阳"));
  EXPECT_EQ(contains.mode, store::StringTest::Mode::kContains);
  auto kept = Only<store::StringTest>(Parse("Patient", "name:exact", "Zhāng"));
  EXPECT_EQ(kept.value, "Zhāng");
}

TEST(CriteriaTest, ReferenceForms) {
  auto typed = Only<store::ReferenceTest>(Parse("Observation", "subject", "Patient/p1"));
  EXPECT_EQ(typed.target_type, "Patient");
  EXPECT_EQ(typed.target_id, "p1");
  auto bare = Only<store::ReferenceTest>(Parse("Observation", "subject", "p1"));
  EXPECT_EQ(bare.target_type, "");
  EXPECT_EQ(bare.target_id, "p1");
  // specimen has one target type.
  EXPECT_EQ(Only<store::ReferenceTest>(Parse("Observation", "specimen", "s1")).target_type,
            "Specimen");
  EXPECT_EQ(Only<store::ReferenceTest>(Parse("Observation", "subject:Group", "g1")).target_type,
            "Group");
  auto url = Only<store::ReferenceTest>(
      Parse("Observation", "subject", "http://other.example/fhir/Patient/9"));
  EXPECT_EQ(url.url, "http://other.example/fhir/Patient/9");
  auto identifier = Only<store::ReferenceTest>(
      Parse("Observation", "subject:identifier", "urn:oid:2.16.156.10011.1.3|110101199003074518"));
  EXPECT_EQ(identifier.identifier_system, "urn:oid:2.16.156.10011.1.3");
  EXPECT_EQ(identifier.identifier_value, "110101199003074518");
  EXPECT_FALSE(Parse("Observation", "subject:Patient", "Group/g1").ok());
  EXPECT_FALSE(Parse("Observation", "subject:Basic", "x").ok());
  EXPECT_FALSE(Parse("Observation", "subject", "not an id").ok());
}

TEST(CriteriaTest, QuantitiesCompareInBaseUnits) {
  auto plain = Only<store::QuantityTest>(Parse("Observation", "value-quantity", "gt5.4"));
  EXPECT_FALSE(plain.canonical);
  EXPECT_EQ(plain.number.lower->value, "5.4");
  auto coded = Only<store::QuantityTest>(
      Parse("Observation", "value-quantity", "5.4|http://snomed.info/sct|258718000"));
  EXPECT_FALSE(coded.canonical);
  EXPECT_EQ(coded.code, "258718000");
  // 1 kg is 1000 g in base units: [999.5 g, 1000.5 g) becomes... 0.5 kg either side of 1.
  auto kg = Only<store::QuantityTest>(
      Parse("Observation", "value-quantity", "1|http://unitsofmeasure.org|kg"));
  EXPECT_TRUE(kg.canonical);
  EXPECT_EQ(kg.code, "g");
  EXPECT_EQ(kg.number.lower->value, "500");
  EXPECT_EQ(kg.number.upper->value, "1500");
  auto g = Only<store::QuantityTest>(
      Parse("Observation", "value-quantity", "1000|http://unitsofmeasure.org|g"));
  EXPECT_EQ(g.code, kg.code);
  EXPECT_FALSE(Parse("Observation", "value-quantity", "1|kg").ok());
  // Bounds are worked out in the unit given, then converted: within 10% of 40 Cel is 36 to 44
  // Cel (309.15 K to 317.15 K), not 10% of 313.15 K.
  auto fever = Only<store::QuantityTest>(
      Parse("Observation", "value-quantity", "ap40|http://unitsofmeasure.org|Cel"));
  EXPECT_TRUE(fever.canonical);
  EXPECT_EQ(fever.code, "K");
  EXPECT_EQ(fever.number.lower->value, "309.15");
  EXPECT_EQ(fever.number.upper->value, "317.15");
}

TEST(CriteriaTest, UrisAndMissing) {
  auto below = Only<store::UriTest>(Parse("ValueSet", "url:below", "http://hl7.org/fhir/ValueSet"));
  EXPECT_EQ(below.mode, store::UriTest::Mode::kBelow);
  EXPECT_EQ(Only<store::UriTest>(Parse("ValueSet", "url", "http://x/a")).mode,
            store::UriTest::Mode::kExact);
  auto missing = Parse("Patient", "birthdate:missing", "true");
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->negate);
  EXPECT_TRUE(missing->any.empty());
  EXPECT_EQ(missing->kind, store::IndexKind::kDate);
  EXPECT_FALSE(Parse("Patient", "birthdate:missing", "yes").ok());
}

TEST(CriteriaTest, CompositesTestTheirComponentsOnOneItem) {
  auto bp = Parse("Observation", "component-code-value-quantity",
                  "http://loinc.org|8480-6$gt140,8462-4$gt90|http://unitsofmeasure.org|mm[Hg]");
  ASSERT_TRUE(bp.ok()) << bp.error().text();
  EXPECT_EQ(bp->kind, store::IndexKind::kComposite);
  ASSERT_EQ(bp->any.size(), 2u);
  const auto& first = std::get<store::CompositeTest>(bp->any[0]);
  ASSERT_EQ(first.components.size(), 2u);
  EXPECT_EQ(first.components[0].kind, store::IndexKind::kToken);
  EXPECT_EQ(first.components[0].param, "component-code-value-quantity$1");
  EXPECT_EQ(first.components[1].kind, store::IndexKind::kQuantity);
  EXPECT_EQ(first.components[1].param, "component-code-value-quantity$2");
  const auto& second = std::get<store::CompositeTest>(bp->any[1]);
  EXPECT_TRUE(std::get<store::QuantityTest>(second.components[1].any[0]).canonical);
  // An escaped '$' belongs to the value.
  EXPECT_FALSE(Parse("Observation", "code-value-quantity", "a\\$b").ok());
  for (const char* bad : {"8480-6", "8480-6$gt140$1", "$140", "8480-6$high"}) {
    auto refused = Parse("Observation", "code-value-quantity", bad);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_EQ(refused.error().issues()[0].expression, "code-value-quantity") << bad;
  }
  EXPECT_EQ(Parse("Observation", "code-value-quantity:missing", "true").error().message_id(),
            "search.unsupported-modifier");
}

TEST(CriteriaTest, ParametersWithoutAnIndexAreRefused) {
  for (const char* name : {"_query"}) {
    auto refused = Parse("Patient", name, "x");
    ASSERT_FALSE(refused.ok()) << name;
    EXPECT_EQ(refused.error().message_id(), "search.unsupported-parameter") << name;
    EXPECT_EQ(refused.error().issues()[0].expression, name);
  }
}

}  // namespace
}  // namespace server::search
