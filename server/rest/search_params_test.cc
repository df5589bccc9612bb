#include "server/rest/search_params.h"

#include <gtest/gtest.h>

#include "server/terminology/expansion.h"
#include "tests/support/test_registry.h"
#include "tests/support/test_terminology.h"

namespace server::rest {
namespace {

using std::chrono::microseconds;
using namespace std::chrono_literals;

store::Timestamp At(long long micros) { return store::Timestamp(microseconds(micros)); }
// 2024-03-01T00:00:00Z
constexpr long long kMarch1 = 1'709'251'200'000'000;
const store::Timestamp kNow = At(kMarch1 + 86'400'000'000LL * 10);

const search::Registry& Registry() { return testing_support::SearchRegistry(); }

TEST(QueryStringTest, DecodesPairs) {
  auto parsed = ParseQueryString("?_id=a%2Cb&name=Wang+Fang&flag&_lastUpdated=ge2024");
  ASSERT_TRUE(parsed.ok());
  QueryParams expected = {
      {"_id", "a,b"}, {"name", "Wang Fang"}, {"flag", ""}, {"_lastUpdated", "ge2024"}};
  EXPECT_EQ(*parsed, expected);
  EXPECT_EQ(ParseQueryString("a=%E5%BC%A0")->front().second, "张");
  EXPECT_FALSE(ParseQueryString("a=%zz").ok());
  EXPECT_FALSE(ParseQueryString("a=%4").ok());
  EXPECT_EQ(PercentEncode("a b,张"), "a%20b%2C%E5%BC%A0");
}

TEST(ParseSearchTest, IdAlternativesAndRepeats) {
  auto parsed =
      ParseSearch(Registry(), "Patient", {{"_id", "a,b,c"}, {"_id", "b,c,d"}}, false, kNow);
  ASSERT_TRUE(parsed.ok()) << parsed.error().text();
  EXPECT_EQ(parsed->query.type, "Patient");
  ASSERT_TRUE(parsed->query.ids.has_value());
  EXPECT_EQ(*parsed->query.ids, (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(parsed->applied, "_id=a%2Cb%2Cc&_id=b%2Cc%2Cd");
  EXPECT_FALSE(ParseSearch(Registry(), "Patient", {}, false, kNow)->query.ids.has_value());
}

TEST(ParseSearchTest, LastUpdatedPrefixes) {
  const store::Timestamp begin = At(kMarch1);
  const store::Timestamp end = begin + 24h;
  auto interval = [&](const char* value) {
    auto parsed = ParseSearch(Registry(), "Patient", {{"_lastUpdated", value}}, false, kNow);
    EXPECT_TRUE(parsed.ok()) << value;
    EXPECT_EQ(parsed->query.last_updated.size(), 1u);
    EXPECT_EQ(parsed->query.last_updated[0].size(), 1u);
    return parsed->query.last_updated[0][0];
  };
  auto eq = interval("2024-03-01");
  EXPECT_EQ(eq.from, begin);
  EXPECT_EQ(eq.before, end);
  EXPECT_FALSE(eq.negate);
  EXPECT_EQ(interval("eq2024-03-01").before, end);
  EXPECT_TRUE(interval("ne2024-03-01").negate);
  EXPECT_EQ(interval("gt2024-03-01").from, end);
  EXPECT_FALSE(interval("gt2024-03-01").before.has_value());
  EXPECT_EQ(interval("sa2024-03-01").from, end);
  EXPECT_EQ(interval("ge2024-03-01").from, begin);
  EXPECT_EQ(interval("lt2024-03-01").before, begin);
  EXPECT_EQ(interval("eb2024-03-01").before, begin);
  EXPECT_EQ(interval("le2024-03-01").before, end);
  EXPECT_FALSE(interval("le2024-03-01").from.has_value());
  // ap: 10% of the distance to now on each side (ten days away: one day).
  auto ap = interval("ap2024-03-01");
  EXPECT_EQ(ap.from, begin - 24h);
  EXPECT_EQ(ap.before, end + std::chrono::duration_cast<microseconds>(24h) * 9 / 10);
}

TEST(ParseSearchTest, LastUpdatedCommasAreAlternativesRepeatsAreAnd) {
  auto parsed =
      ParseSearch(Registry(), "Observation",
                  {{"_lastUpdated", "lt2024,gt2025"}, {"_lastUpdated", "ne2030"}}, false, kNow);
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->query.last_updated.size(), 2u);
  EXPECT_EQ(parsed->query.last_updated[0].size(), 2u);
  EXPECT_EQ(parsed->query.last_updated[1].size(), 1u);
}

TEST(ParseSearchTest, ResultParametersAreRead) {
  auto parsed = ParseSearch(Registry(), "Patient",
                            {{"_count", "5"}, {"_cursor", "p9"}, {"_format", "xml"}}, false, kNow);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->query.count, 5);
  EXPECT_EQ(parsed->query.after, std::optional<std::string>("p9"));
  EXPECT_EQ(parsed->applied, "");
  for (const char* bad : {"0", "1001", "x", ""}) {
    auto refused = ParseSearch(Registry(), "Patient", {{"_count", bad}}, false, kNow);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_EQ(refused.error().issues()[0].expression, "_count");
  }
}

TEST(ParseSearchTest, UnknownParametersAreRefusedUnlessLenient) {
  // code is an Observation parameter, not a Patient one.
  auto strict = ParseSearch(Registry(), "Patient", {{"code", "x|1"}}, false, kNow);
  ASSERT_FALSE(strict.ok());
  EXPECT_EQ(strict.error().message_id(), "search.unknown-parameter");
  EXPECT_EQ(strict.error().http_status(), 400);
  EXPECT_EQ(strict.error().issues()[0].expression, "code");
  auto lenient = ParseSearch(Registry(), "Patient", {{"code", "x|1"}, {"_id", "a"}}, true, kNow);
  ASSERT_TRUE(lenient.ok());
  EXPECT_EQ(lenient->ignored, std::vector<std::string>{"code"});
  EXPECT_EQ(lenient->applied, "_id=a");
}

TEST(ParseSearchTest, DefinedParametersBecomeIndexConditions) {
  auto parsed = ParseSearch(Registry(), "Patient",
                            {{"identifier", "urn:oid:2.16.156.10011.1.3|110101199003074518"},
                             {"name:exact", "张三"},
                             {"birthdate", "ge1990"}},
                            false, kNow);
  ASSERT_TRUE(parsed.ok()) << parsed.error().text();
  ASSERT_EQ(parsed->query.conditions.size(), 3u);
  EXPECT_EQ(parsed->query.conditions[0].kind, store::IndexKind::kToken);
  EXPECT_EQ(parsed->query.conditions[0].param, "identifier");
  EXPECT_EQ(parsed->query.conditions[1].kind, store::IndexKind::kString);
  EXPECT_EQ(parsed->query.conditions[2].kind, store::IndexKind::kDate);
  EXPECT_EQ(
      parsed->applied,
      "identifier=urn%3Aoid%3A2.16.156.10011.1.3%7C110101199003074518&name:exact=%E5%BC%A0%E4%"
      "B8%89&birthdate=ge1990");
}

TEST(ParseSearchTest, BadValuesAndModifiersAreRefused) {
  for (const QueryParams& params : std::vector<QueryParams>{{{"_lastUpdated", "xx2024"}},
                                                            {{"_lastUpdated", ""}},
                                                            {{"_id:exact", "a"}},
                                                            {{"_lastUpdated:missing", "true"}},
                                                            {{"_id", ""}}}) {
    auto parsed = ParseSearch(Registry(), "Patient", params, true, kNow);
    ASSERT_FALSE(parsed.ok()) << params[0].first << "=" << params[0].second;
    EXPECT_EQ(parsed.error().http_status(), 400);
    EXPECT_EQ(parsed.error().issues()[0].expression, params[0].first);
  }
}

TEST(ParseSystemSearchTest, TypesAndCommonParameters) {
  auto parsed = ParseSystemSearch(
      Registry(), {{"_type", "Patient,Observation"}, {"_tag", "urn:x|a"}, {"_id", "a"}}, false,
      kNow);
  ASSERT_TRUE(parsed.ok()) << parsed.error().text();
  EXPECT_EQ(parsed->query.type, "");
  ASSERT_EQ(parsed->query.types.size(), 2u);
  EXPECT_EQ(parsed->query.types[0].type, "Patient");
  EXPECT_EQ(parsed->query.types[1].type, "Observation");
  EXPECT_TRUE(parsed->query.types[0].conditions.empty());
  // A parameter of every type is the query's own.
  ASSERT_EQ(parsed->query.conditions.size(), 1u);
  EXPECT_EQ(parsed->query.conditions[0].param, "_tag");
  EXPECT_EQ(parsed->query.ids, std::optional<std::vector<std::string>>({"a"}));
  EXPECT_EQ(parsed->applied, "_type=Patient%2CObservation&_tag=urn%3Ax%7Ca&_id=a");
  // Without _type: every type.
  auto all = ParseSystemSearch(Registry(), {{"_lastUpdated", "ge2024"}}, false, kNow);
  ASSERT_TRUE(all.ok()) << all.error().text();
  EXPECT_TRUE(all->query.types.empty());
  EXPECT_EQ(all->query.last_updated.size(), 1u);
  EXPECT_EQ(all->applied, "_lastUpdated=ge2024");
}

TEST(ParseSystemSearchTest, RepeatedTypesIntersect) {
  auto parsed = ParseSystemSearch(
      Registry(), {{"_type", "Patient,Observation,Patient"}, {"_type", "Observation,Group"}}, false,
      kNow);
  ASSERT_TRUE(parsed.ok()) << parsed.error().text();
  ASSERT_EQ(parsed->query.types.size(), 1u);
  EXPECT_EQ(parsed->query.types[0].type, "Observation");
  EXPECT_EQ(parsed->applied, "_type=Observation");
}

TEST(ParseSystemSearchTest, ASharedParameterUsesEachTypesDefinition) {
  // patient is defined for both, with other expressions; a bare id becomes Patient/<id> by the
  // single target of each definition.
  auto parsed = ParseSystemSearch(
      Registry(), {{"_type", "Observation,Condition"}, {"patient", "p1"}}, false, kNow);
  ASSERT_TRUE(parsed.ok()) << parsed.error().text();
  EXPECT_TRUE(parsed->query.conditions.empty());
  ASSERT_EQ(parsed->query.types.size(), 2u);
  for (const store::SearchQuery& typed : parsed->query.types) {
    ASSERT_EQ(typed.conditions.size(), 1u) << typed.type;
    EXPECT_EQ(typed.conditions[0].param, "patient");
    EXPECT_EQ(typed.conditions[0].kind, store::IndexKind::kReference);
  }
  // Chains too.
  auto chained = ParseSystemSearch(
      Registry(), {{"_type", "Observation,Condition"}, {"patient.name", "chen"}}, false, kNow);
  ASSERT_TRUE(chained.ok()) << chained.error().text();
  EXPECT_EQ(chained->query.types[1].conditions.size(), 1u);
}

TEST(ParseSystemSearchTest, UnknownParametersAndTypes) {
  // code is not a Patient parameter; without _type only parameters of every type are known.
  for (const QueryParams& params :
       std::vector<QueryParams>{{{"_type", "Patient,Observation"}, {"code", "x"}},
                                {{"code", "x"}},
                                {{"birthdate", "2024"}}}) {
    auto strict = ParseSystemSearch(Registry(), params, false, kNow);
    ASSERT_FALSE(strict.ok()) << params.back().first;
    EXPECT_EQ(strict.error().message_id(), "search.unknown-parameter");
    EXPECT_EQ(strict.error().issues()[0].expression, params.back().first);
    auto lenient = ParseSystemSearch(Registry(), params, true, kNow);
    ASSERT_TRUE(lenient.ok());
    EXPECT_EQ(lenient->ignored, std::vector<std::string>{params.back().first});
  }
  for (const char* bad : {"Patient,Nonsense", "Resource", "DomainResource", ""}) {
    auto refused = ParseSystemSearch(Registry(), {{"_type", bad}}, false, kNow);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_EQ(refused.error().http_status(), 400);
    EXPECT_EQ(refused.error().issues()[0].expression, "_type");
  }
  EXPECT_EQ(ParseSystemSearch(Registry(), {{"_type", "Nonsense"}}, true, kNow).error().message_id(),
            "search.unknown-type");
}

TEST(ParseSystemSearchTest, SortAndIncludes) {
  auto parsed = ParseSystemSearch(Registry(),
                                  {{"_type", "Observation,Condition"},
                                   {"_sort", "-_lastUpdated,_tag,_id"},
                                   {"_include", "Observation:subject"},
                                   {"_revinclude", "Provenance:target"},
                                   {"_include", "*"}},
                                  false, kNow);
  ASSERT_TRUE(parsed.ok()) << parsed.error().text();
  ASSERT_EQ(parsed->query.sort.size(), 3u);
  EXPECT_EQ(parsed->query.sort[1].kind, store::IndexKind::kToken);
  EXPECT_EQ(parsed->includes.size(), 3u);
  // A parameter both types have, of one kind, sorts; one of only some types does not.
  EXPECT_TRUE(ParseSystemSearch(Registry(), {{"_type", "Observation,Condition"}, {"_sort", "code"}},
                                false, kNow)
                  .ok());
  for (const QueryParams& params : std::vector<QueryParams>{
           {{"_sort", "code"}}, {{"_type", "Observation,Patient"}, {"_sort", "code"}}}) {
    auto refused = ParseSystemSearch(Registry(), params, false, kNow);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().message_id(), "search.invalid-sort");
  }
  // _include starts from a searched type.
  auto outside = ParseSystemSearch(
      Registry(), {{"_type", "Patient"}, {"_include", "Observation:subject"}}, false, kNow);
  ASSERT_FALSE(outside.ok());
  EXPECT_EQ(outside.error().issues()[0].expression, "_include");
  EXPECT_TRUE(
      ParseSystemSearch(Registry(), {{"_include", "Observation:subject"}}, false, kNow).ok());
}

TEST(ParseSearchTest, TerminologyModifiersNeedASourceAndApplyInChains) {
  const QueryParams params = {
      {"subject:Patient.gender:in", "http://hl7.org/fhir/ValueSet/administrative-gender"}};
  auto without = ParseSearch(Registry(), "Observation", params, false, kNow);
  ASSERT_FALSE(without.ok());
  EXPECT_EQ(without.error().message_id(), "search.unsupported-modifier");
  terminology::PackageSource source(testing_support::PackageTerminology());
  auto parsed = ParseSearch(Registry(), "Observation", params, false, kNow, &source);
  ASSERT_TRUE(parsed.ok()) << parsed.error().text();
  const auto& chain = std::get<store::ReferenceTest>(parsed->query.conditions.at(0).any.at(0));
  ASSERT_NE(chain.target, nullptr);
  // Four codes with their system, and the four without (Patient.gender is a code).
  EXPECT_EQ(chain.target->conditions.at(0).any.size(), 8u);
}

// A code system of `size` codes under one root, as a source of its own.
class WideSource final : public terminology::Source {
 public:
  explicit WideSource(size_t size) {
    std::string concepts;
    for (size_t i = 0; i < size; ++i) {
      concepts += std::string(i == 0 ? "" : ",") + R"({"code":"c)" + std::to_string(i) + R"("})";
    }
    system_ = std::move(terminology::CodeSystem::Parse(
                            R"({"resourceType":"CodeSystem","url":"urn:wide","content":"complete",
                                "concept":[{"code":"root","concept":[)" +
                            concepts + "]}]}")
                            .value());
  }
  fhir::Result<const terminology::ValueSet*> FindValueSet(std::string_view,
                                                          std::string_view) override {
    return nullptr;
  }
  fhir::Result<const terminology::CodeSystem*> FindCodeSystem(std::string_view url,
                                                              std::string_view) override {
    return url == "urn:wide" ? system_.get() : nullptr;
  }

 private:
  std::unique_ptr<terminology::CodeSystem> system_;
};

TEST(ParseSearchTest, ASearchTestsAtMostTheCapOfCodesInAll) {
  WideSource source(terminology::kMaxCodes / 2);
  const QueryParams one = {{"code:below", "urn:wide|root"}};
  EXPECT_TRUE(ParseSearch(Registry(), "Observation", one, false, kNow, &source).ok());
  const QueryParams two = {{"code:below", "urn:wide|root"}, {"category:below", "urn:wide|root"}};
  auto refused = ParseSearch(Registry(), "Observation", two, false, kNow, &source);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message_id(), "search.value-set-too-large");
  EXPECT_EQ(refused.error().issues()[0].expression, "category:below");
}

}  // namespace
}  // namespace server::rest
