#include "server/terminology/expansion.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/support/test_terminology.h"

namespace server::terminology {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsSupersetOf;
using ::testing::Not;
using ::testing::SizeIs;

constexpr std::string_view kGender = "http://hl7.org/fhir/administrative-gender";
constexpr std::string_view kActCode = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
constexpr std::string_view kCategory = "http://terminology.hl7.org/CodeSystem/observation-category";

// The package, then value sets and code systems of the test's own.
class TestSource final : public Source {
 public:
  void AddValueSet(const std::string& json) {
    auto parsed = ValueSet::Parse(json);
    ASSERT_TRUE(parsed.ok()) << parsed.error().text();
    value_sets_.push_back(std::move(parsed).value());
  }
  void AddCodeSystem(const std::string& json) {
    auto parsed = CodeSystem::Parse(json);
    ASSERT_TRUE(parsed.ok()) << parsed.error().text();
    code_systems_.push_back(std::move(parsed).value());
  }

  fhir::Result<const ValueSet*> FindValueSet(std::string_view url,
                                             std::string_view version) override {
    if (const ValueSet* found = testing_support::PackageTerminology().FindValueSet(url, version)) {
      return found;
    }
    for (const auto& value_set : value_sets_) {
      if (value_set->url() == url && (version.empty() || value_set->version() == version)) {
        return value_set.get();
      }
    }
    return nullptr;
  }
  fhir::Result<const CodeSystem*> FindCodeSystem(std::string_view url,
                                                 std::string_view version) override {
    if (const CodeSystem* found =
            testing_support::PackageTerminology().FindCodeSystem(url, version)) {
      return found;
    }
    for (const auto& system : code_systems_) {
      if (system->url() == url) return system.get();
    }
    return nullptr;
  }

 private:
  std::vector<std::unique_ptr<ValueSet>> value_sets_;
  std::vector<std::unique_ptr<CodeSystem>> code_systems_;
};

std::vector<std::string> CodesOf(const fhir::Result<std::vector<Code>>& codes) {
  EXPECT_TRUE(codes.ok()) << codes.error().text();
  std::vector<std::string> out;
  if (!codes.ok()) return out;
  for (const Code& code : *codes) out.push_back(code.code);
  return out;
}

std::string ErrorOf(const fhir::Result<std::vector<Code>>& codes) {
  EXPECT_FALSE(codes.ok());
  if (codes.ok()) return "";
  EXPECT_EQ(codes.error().http_status(), 400);
  EXPECT_EQ(codes.error().issues()[0].expression, "code");
  return codes.error().message_id();
}

// A value set of the test's own, composed as `compose` says.
std::string ComposedValueSet(std::string_view url, std::string_view compose) {
  return R"({"resourceType":"ValueSet","url":")" + std::string(url) + R"(","compose":)" +
         std::string(compose) + "}";
}

TEST(ExpandTest, AWholeCodeSystem) {
  TestSource source;
  auto codes = Expand(source, "http://hl7.org/fhir/ValueSet/administrative-gender", "gender");
  ASSERT_TRUE(codes.ok()) << codes.error().text();
  EXPECT_THAT(
      *codes,
      ElementsAre(Code{std::string(kGender), "female"}, Code{std::string(kGender), "male"},
                  Code{std::string(kGender), "other"}, Code{std::string(kGender), "unknown"}));
  EXPECT_THAT(CodesOf(Expand(source, "http://hl7.org/fhir/ValueSet/observation-category", "x")),
              ElementsAre("activity", "exam", "imaging", "laboratory", "procedure",
                          "social-history", "survey", "therapy", "vital-signs"));
}

TEST(ExpandTest, AVersionIsComparedOnlyWhenGiven) {
  TestSource source;
  EXPECT_THAT(
      CodesOf(Expand(source, "http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1", "gender")),
      SizeIs(4));
  EXPECT_EQ(
      ErrorOf(Expand(source, "http://hl7.org/fhir/ValueSet/administrative-gender|3.0.0", "code")),
      "search.unknown-value-set");
}

TEST(ExpandTest, IsAFiltersOnANestedHierarchy) {
  TestSource source;
  // account-type: v3-ActCode is-a _ActAccountCode.
  const auto codes = CodesOf(Expand(source, "http://hl7.org/fhir/ValueSet/account-type", "type"));
  EXPECT_THAT(codes, IsSupersetOf({"_ActAccountCode", "ACCTRECEIVABLE", "CASH", "CC", "AE", "DN",
                                   "DV", "MC", "V", "PBILLACCT"}));
  EXPECT_THAT(codes, Not(Contains("_ActAdjudicationCode")));
}

TEST(ExpandTest, ExpansionContainsIsTakenAsItIs) {
  TestSource source;
  source.AddValueSet(R"({"resourceType":"ValueSet","url":"urn:test:expanded",
    "compose":{"include":[{"system":"urn:nowhere"}]},
    "expansion":{"contains":[{"system":"urn:s","code":"a",
      "contains":[{"system":"urn:s","code":"b"}]}]}})");
  EXPECT_THAT(CodesOf(Expand(source, "urn:test:expanded", "code")), ElementsAre("a", "b"));
}

TEST(ExpandTest, ExcludesAndImportsOfValueSets) {
  TestSource source;
  source.AddValueSet(ComposedValueSet("urn:test:some-categories", R"({"include":[
    {"system":"http://terminology.hl7.org/CodeSystem/observation-category",
     "concept":[{"code":"vital-signs"},{"code":"laboratory"},{"code":"exam"}]}]})"));
  // The import intersects with the include's system part; the exclude removes one more.
  source.AddValueSet(ComposedValueSet("urn:test:intersection", R"({"include":[
    {"system":"http://terminology.hl7.org/CodeSystem/observation-category",
     "valueSet":["urn:test:some-categories"]},
    {"valueSet":["urn:test:some-categories","http://hl7.org/fhir/ValueSet/observation-category"]}],
    "exclude":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category",
                "concept":[{"code":"exam"}]}]})"));
  EXPECT_THAT(CodesOf(Expand(source, "urn:test:intersection", "code")),
              ElementsAre("laboratory", "vital-signs"));
}

TEST(ExpandTest, FiltersOnPropertiesAndTheHierarchy) {
  TestSource source;
  source.AddCodeSystem(R"({"resourceType":"CodeSystem","url":"urn:test:cs","content":"complete",
    "concept":[{"code":"root","concept":[
      {"code":"mid","property":[{"code":"kind","valueCode":"k1"}],"concept":[{"code":"leaf"}]},
      {"code":"other","property":[{"code":"kind","valueCode":"k2"}]}]}]})");
  int count = 0;
  auto expand = [&](std::string_view filter) {
    const std::string url = "urn:test:f" + std::to_string(++count);
    source.AddValueSet(ComposedValueSet(
        url, R"({"include":[{"system":"urn:test:cs","filter":[)" + std::string(filter) + "]}]}"));
    return CodesOf(Expand(source, url, "code"));
  };
  EXPECT_THAT(expand(R"({"property":"concept","op":"is-a","value":"mid"})"),
              ElementsAre("leaf", "mid"));
  EXPECT_THAT(expand(R"({"property":"concept","op":"descendent-of","value":"root"})"),
              ElementsAre("leaf", "mid", "other"));
  EXPECT_THAT(expand(R"({"property":"concept","op":"is-not-a","value":"mid"})"),
              ElementsAre("other", "root"));
  EXPECT_THAT(expand(R"({"property":"concept","op":"generalizes","value":"leaf"})"),
              ElementsAre("leaf", "mid", "root"));
  EXPECT_THAT(expand(R"({"property":"kind","op":"=","value":"k2"})"), ElementsAre("other"));
  EXPECT_THAT(expand(R"({"property":"kind","op":"in","value":"k1,k2"})"),
              ElementsAre("mid", "other"));
  EXPECT_THAT(expand(R"({"property":"concept","op":"in","value":"leaf,root"})"),
              ElementsAre("leaf", "root"));
  EXPECT_THAT(expand(R"({"property":"kind","op":"exists","value":"false"})"),
              ElementsAre("leaf", "root"));
  // Several filters must all hold.
  EXPECT_THAT(expand(R"({"property":"concept","op":"is-a","value":"root"},
                        {"property":"kind","op":"not-in","value":"k1"})"),
              ElementsAre("leaf", "other", "root"));
}

TEST(ExpandTest, UnknownPiecesAreErrors) {
  TestSource source;
  EXPECT_EQ(ErrorOf(Expand(source, "http://example.org/ValueSet/none", "code")),
            "search.unknown-value-set");
  source.AddValueSet(ComposedValueSet("urn:test:loinc", R"({"include":[
    {"system":"http://loinc.org","filter":[{"property":"CLASS","op":"=","value":"CHEM"}]}]})"));
  EXPECT_EQ(ErrorOf(Expand(source, "urn:test:loinc", "code")), "search.unknown-code-system");
  source.AddValueSet(ComposedValueSet("urn:test:imports-unknown", R"({"include":[
    {"valueSet":["urn:test:none"]}]})"));
  EXPECT_EQ(ErrorOf(Expand(source, "urn:test:imports-unknown", "code")),
            "search.unknown-value-set");
  source.AddValueSet(ComposedValueSet("urn:test:regex", R"({"include":[
    {"system":"http://terminology.hl7.org/CodeSystem/observation-category",
     "filter":[{"property":"code","op":"regex","value":"v.*"}]}]})"));
  EXPECT_EQ(ErrorOf(Expand(source, "urn:test:regex", "code")), "search.invalid-value-set");
  source.AddValueSet(R"({"resourceType":"ValueSet","url":"urn:test:empty"})");
  EXPECT_EQ(ErrorOf(Expand(source, "urn:test:empty", "code")), "search.invalid-value-set");
}

TEST(ExpandTest, ListedCodesNeedNoLoadedSystem) {
  TestSource source;
  source.AddValueSet(ComposedValueSet("urn:test:bp", R"({"include":[
    {"system":"http://loinc.org","concept":[{"code":"8480-6"},{"code":"8462-4"}]}]})"));
  EXPECT_THAT(CodesOf(Expand(source, "urn:test:bp", "code")), ElementsAre("8462-4", "8480-6"));
}

TEST(ExpandTest, ImportCyclesAreErrors) {
  TestSource source;
  source.AddValueSet(
      ComposedValueSet("urn:test:a", R"({"include":[{"valueSet":["urn:test:b"]}]})"));
  source.AddValueSet(
      ComposedValueSet("urn:test:b", R"({"include":[{"valueSet":["urn:test:a"]}]})"));
  auto codes = Expand(source, "urn:test:a", "code");
  EXPECT_EQ(ErrorOf(codes), "search.invalid-value-set");
  EXPECT_THAT(codes.error().text(), ::testing::HasSubstr("imports itself"));
}

TEST(ExpandTest, TooManyCodesAreRefused) {
  TestSource source;
  std::string concepts;
  for (size_t i = 0; i <= kMaxCodes; ++i) {
    concepts += std::string(i == 0 ? "" : ",") + R"({"code":"c)" + std::to_string(i) + R"("})";
  }
  source.AddCodeSystem(R"({"resourceType":"CodeSystem","url":"urn:test:big",
    "content":"complete","concept":[)" +
                       concepts + "]}");
  source.AddValueSet(
      ComposedValueSet("urn:test:big-vs", R"({"include":[{"system":"urn:test:big"}]})"));
  EXPECT_EQ(ErrorOf(Expand(source, "urn:test:big-vs", "code")), "search.value-set-too-large");
}

TEST(SubsumedTest, BelowAndAboveIncludeTheCode) {
  TestSource source;
  auto below = Subsumed(source, kActCode, "CC", Subsumption::kBelow, "code");
  ASSERT_TRUE(below.ok()) << below.error().text();
  EXPECT_EQ(below->front(), (Code{std::string(kActCode), "CC"}));
  EXPECT_THAT(CodesOf(below), ElementsAre("CC", "AE", "DN", "DV", "MC", "V"));
  EXPECT_THAT(CodesOf(Subsumed(source, kActCode, "AE", Subsumption::kAbove, "code")),
              ElementsAre("AE", "CC", "_ActAccountCode"));
  EXPECT_THAT(CodesOf(Subsumed(source, kCategory, "laboratory", Subsumption::kBelow, "code")),
              ElementsAre("laboratory"));
}

TEST(SubsumedTest, AnUnloadedSystemOrUnknownCodeIsAnError) {
  TestSource source;
  auto loinc = Subsumed(source, "http://loinc.org", "8480-6", Subsumption::kBelow, "code");
  EXPECT_EQ(ErrorOf(loinc), "search.unknown-code-system");
  EXPECT_THAT(loinc.error().text(), ::testing::HasSubstr("http://loinc.org"));
  EXPECT_EQ(ErrorOf(Subsumed(source, kActCode, "nope", Subsumption::kAbove, "code")),
            "search.unknown-code");
}

}  // namespace
}  // namespace server::terminology
