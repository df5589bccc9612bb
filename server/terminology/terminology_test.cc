#include "server/terminology/terminology.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/test_terminology.h"

namespace server::terminology {
namespace {

using ::testing::ElementsAre;
using ::testing::IsSupersetOf;
using ::testing::UnorderedElementsAre;
using testing_support::PackageTerminology;

constexpr std::string_view kActCode = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

TEST(TerminologyTest, LoadsThePackagesCodeSystemsAndValueSets) {
  const Terminology& terminology = PackageTerminology();
  EXPECT_GT(terminology.value_set_count(), 1000u);
  EXPECT_GT(terminology.code_system_count(), 1000u);
  EXPECT_NE(terminology.FindValueSet("http://hl7.org/fhir/ValueSet/administrative-gender", ""),
            nullptr);
  EXPECT_NE(terminology.FindValueSet("http://hl7.org/fhir/ValueSet/administrative-gender", "4.0.1"),
            nullptr);
  EXPECT_EQ(terminology.FindValueSet("http://hl7.org/fhir/ValueSet/administrative-gender", "9"),
            nullptr);
  EXPECT_EQ(terminology.FindCodeSystem("http://loinc.org", ""), nullptr);
}

TEST(TerminologyTest, NestedConceptsFormTheHierarchy) {
  const CodeSystem* act = PackageTerminology().FindCodeSystem(kActCode, "");
  ASSERT_NE(act, nullptr);
  EXPECT_TRUE(act->Contains("CC"));
  EXPECT_FALSE(act->Contains("cc"));
  EXPECT_THAT(act->Descendants("CC"), ElementsAre("CC", "AE", "DN", "DV", "MC", "V"));
  EXPECT_THAT(act->Descendants("_ActAccountCode"),
              IsSupersetOf({"_ActAccountCode", "ACCTRECEIVABLE", "CASH", "CC", "AE", "PBILLACCT"}));
  EXPECT_THAT(act->Ancestors("AE"), ElementsAre("AE", "CC", "_ActAccountCode"));
  EXPECT_THAT(act->Descendants("no-such-code"), ::testing::IsEmpty());
  EXPECT_THAT(act->Property("_ActAccountCode", "notSelectable"), ElementsAre("true"));
}

TEST(TerminologyTest, ParentAndChildPropertiesFormTheHierarchyWithoutLoopingOnCycles) {
  auto system = CodeSystem::Parse(R"({"resourceType":"CodeSystem","url":"urn:test:cs",
    "content":"complete","concept":[
      {"code":"a"},
      {"code":"b","property":[{"code":"parent","valueCode":"a"}]},
      {"code":"c","property":[{"code":"child","valueCode":"a"},{"code":"kind","valueString":"x"}]},
      {"code":"d","property":[{"code":"parent","valueCode":"b"},{"code":"child","valueCode":"c"}]}
    ]})");
  ASSERT_TRUE(system.ok()) << system.error().text();
  // a -> b -> d -> c -> a: a cycle.
  EXPECT_THAT((*system)->Descendants("b"), UnorderedElementsAre("b", "d", "c", "a"));
  EXPECT_THAT((*system)->Ancestors("b"), UnorderedElementsAre("b", "a", "c", "d"));
  EXPECT_THAT((*system)->Property("c", "kind"), ElementsAre("x"));
  EXPECT_THAT((*system)->Codes(), ElementsAre("a", "b", "c", "d"));
}

TEST(TerminologyTest, ReadsNestedExpansionsAndCompose) {
  auto value_set = ValueSet::Parse(R"({"resourceType":"ValueSet","url":"urn:test:vs",
    "version":"2","compose":{"include":[{"system":"s","concept":[{"code":"x"}],
      "filter":[{"property":"concept","op":"is-a","value":"x"}],"valueSet":["urn:other|1"]}],
      "exclude":[{"system":"s","concept":[{"code":"y"}]}]},
    "expansion":{"contains":[{"system":"s","code":"a","contains":[{"system":"s","code":"b"}]},
      {"abstract":true,"display":"group","contains":[{"system":"t","code":"c"}]}]}})");
  ASSERT_TRUE(value_set.ok()) << value_set.error().text();
  const ValueSet& vs = **value_set;
  EXPECT_EQ(vs.version(), "2");
  ASSERT_TRUE(vs.has_expansion());
  EXPECT_THAT(vs.expansion(), ElementsAre(Code{"s", "a"}, Code{"s", "b"}, Code{"t", "c"}));
  ASSERT_EQ(vs.include().size(), 1u);
  EXPECT_THAT(vs.include()[0].concepts, ElementsAre("x"));
  EXPECT_EQ(vs.include()[0].filters[0].op, "is-a");
  EXPECT_THAT(vs.include()[0].value_sets, ElementsAre("urn:other|1"));
  EXPECT_THAT(vs.exclude()[0].concepts, ElementsAre("y"));
}

TEST(TerminologyTest, RefusesTextsThatAreNotTheResource) {
  EXPECT_EQ(ValueSet::Parse("{").error().message_id(), "terminology.invalid-value-set");
  EXPECT_EQ(ValueSet::Parse(R"({"resourceType":"CodeSystem","url":"x"})").error().message_id(),
            "terminology.invalid-value-set");
  EXPECT_EQ(CodeSystem::Parse(R"({"resourceType":"CodeSystem"})").error().message_id(),
            "terminology.invalid-code-system");
}

}  // namespace
}  // namespace server::terminology
