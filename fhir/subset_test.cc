#include "fhir/subset.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fhir/json/json.h"
#include "tests/support/test_definitions.h"

namespace fhir {
namespace {

constexpr std::string_view kTag =
    R"({"tag":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue",)"
    R"("code":"SUBSETTED"}]})";

Resource Read(std::string_view json) {
  auto parsed = json::Parse(json, testing_support::Definitions());
  EXPECT_TRUE(parsed.ok()) << parsed.error().text() << " at "
                           << parsed.error().issues().front().expression;
  return parsed.ok() ? std::move(parsed).value() : Resource();
}

std::string Subsetted(std::string_view json, SummaryMode mode,
                      const std::vector<std::string>& elements = {}) {
  return json::Write(Subset(Read(json), mode, elements));
}

constexpr std::string_view kPatient =
    R"({"resourceType":"Patient","id":"p","text":{"status":"generated","div":)"
    R"("<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},)"
    R"("contained":[{"resourceType":"Organization","id":"o","name":"Acme"}],)"
    R"("extension":[{"url":"http://e","valueString":"v"}],"active":true,)"
    R"("name":[{"id":"n1","extension":[{"url":"http://n","valueCode":"c"}],"family":"Li"}],)"
    R"("gender":"female","birthDate":"1970","_birthDate":{"extension":[{"url":"http://t",)"
    R"("valueTime":"10:00:00"}]},"maritalStatus":{"text":"M"},)"
    R"("contact":[{"name":{"family":"Wu"}}],"managingOrganization":{"reference":"#o"}})";

TEST(SubsetTest, ParsesSummaryMode) {
  EXPECT_EQ(*ParseSummaryMode("true"), SummaryMode::kTrue);
  EXPECT_EQ(*ParseSummaryMode("false"), SummaryMode::kFalse);
  EXPECT_EQ(*ParseSummaryMode("text"), SummaryMode::kText);
  EXPECT_EQ(*ParseSummaryMode("data"), SummaryMode::kData);
  for (std::string_view bad : {"count", "TRUE", "", "yes"}) {
    auto mode = ParseSummaryMode(bad);
    ASSERT_FALSE(mode.ok()) << bad;
    EXPECT_EQ(mode.error().message_id(), "summary.invalid");
    EXPECT_EQ(mode.error().http_status(), 400);
  }
}

TEST(SubsetTest, FalseKeepsEverything) {
  EXPECT_EQ(Subsetted(kPatient, SummaryMode::kFalse), json::Write(Read(kPatient)));
}

TEST(SubsetTest, TrueKeepsSummaryElementsAtEveryLevel) {
  EXPECT_EQ(Subsetted(kPatient, SummaryMode::kTrue),
            R"({"resourceType":"Patient","id":"p","meta":)" + std::string(kTag) +
                R"(,"active":true,"name":[{"family":"Li"}],"gender":"female",)"
                R"("birthDate":"1970","managingOrganization":{"reference":"#o"}})");
}

TEST(SubsetTest, TrueDropsPrimitivesLeftEmptyAndKeepsMandatoryElements) {
  EXPECT_EQ(Subsetted(R"({"resourceType":"Patient","_birthDate":{"extension":[{"url":"http://t",)"
                      R"("valueTime":"10:00:00"}]},"gender":"male"})",
                      SummaryMode::kTrue),
            R"({"resourceType":"Patient","meta":)" + std::string(kTag) + R"(,"gender":"male"})");
  // Observation.status and code are mandatory (and summary); Narrative.status and div are
  // mandatory but Narrative is not a summary element, so they go with it.
  EXPECT_EQ(Subsetted(R"({"resourceType":"Observation","status":"final","code":{"text":"T"},)"
                      R"("text":{"status":"generated","div":"<div>x</div>"},)"
                      R"("note":[{"text":"n"}]})",
                      SummaryMode::kTrue),
            R"({"resourceType":"Observation","meta":)" + std::string(kTag) +
                R"(,"status":"final","code":{"text":"T"}})");
}

TEST(SubsetTest, TrueSummarisesResourcesInsideABundleByTheirOwnDefinition) {
  EXPECT_EQ(
      Subsetted(R"({"resourceType":"Bundle","type":"collection","entry":[{"modifierExtension":)"
                R"([{"url":"http://m","valueBoolean":true}],"resource":{"resourceType":"Patient",)"
                R"("id":"a","contact":[{"name":{"family":"Wu"}}]}}]})",
                SummaryMode::kTrue),
      R"({"resourceType":"Bundle","meta":)" + std::string(kTag) +
          R"(,"type":"collection","entry":[{"modifierExtension":[{"url":"http://m",)"
          R"("valueBoolean":true}],"resource":{"resourceType":"Patient","id":"a"}}]})");
}

TEST(SubsetTest, TextKeepsTextIdMetaAndMandatoryTopLevelElements) {
  EXPECT_EQ(Subsetted(R"({"resourceType":"Observation","id":"o","meta":{"versionId":"2"},)"
                      R"("text":{"status":"generated","div":"<div>x</div>"},"status":"final",)"
                      R"("code":{"text":"T"},"valueQuantity":{"value":1.50}})",
                      SummaryMode::kText),
            R"({"resourceType":"Observation","id":"o","meta":{"versionId":"2",)"
            R"("tag":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue",)"
            R"("code":"SUBSETTED"}]},"text":{"status":"generated","div":"<div>x</div>"},)"
            R"("status":"final","code":{"text":"T"}})");
}

TEST(SubsetTest, DataRemovesOnlyTheText) {
  EXPECT_EQ(
      Subsetted(kPatient, SummaryMode::kData),
      R"({"resourceType":"Patient","id":"p","meta":)" + std::string(kTag) +
          R"(,"contained":[{"resourceType":"Organization","id":"o","name":"Acme"}],)"
          R"("extension":[{"url":"http://e","valueString":"v"}],"active":true,)"
          R"("name":[{"id":"n1","extension":[{"url":"http://n","valueCode":"c"}],"family":"Li"}],)"
          R"("gender":"female","birthDate":"1970","_birthDate":{"extension":[{"url":"http://t",)"
          R"("valueTime":"10:00:00"}]},"maritalStatus":{"text":"M"},)"
          R"("contact":[{"name":{"family":"Wu"}}],"managingOrganization":{"reference":"#o"}})");
}

TEST(SubsetTest, ElementsKeepsListedTopLevelElementsWithIdMetaAndMandatoryOnes) {
  const std::string observation =
      R"({"resourceType":"Observation","id":"o","status":"final","code":{"text":"T"},)"
      R"("subject":{"reference":"Patient/p"},"valueQuantity":{"value":1.50,"unit":"mg"}})";
  const std::string expected = R"({"resourceType":"Observation","id":"o","meta":)" +
                               std::string(kTag) +
                               R"(,"status":"final","code":{"text":"T"},)"
                               R"("valueQuantity":{"value":1.50,"unit":"mg"}})";
  EXPECT_EQ(Subsetted(observation, SummaryMode::kFalse, {"value"}), expected);
  EXPECT_EQ(Subsetted(observation, SummaryMode::kTrue, {"valueQuantity", "nonsense"}), expected);
  EXPECT_EQ(Subsetted(observation, SummaryMode::kFalse, {"valueString"}),
            R"({"resourceType":"Observation","id":"o","meta":)" + std::string(kTag) +
                R"(,"status":"final","code":{"text":"T"}})");
}

TEST(SubsetTest, TagsOnlyWhenSomethingWasRemovedAndOnlyOnce) {
  const std::string bare = R"({"resourceType":"Patient","id":"p","active":true})";
  EXPECT_EQ(Subsetted(bare, SummaryMode::kTrue), bare);
  EXPECT_EQ(Subsetted(bare, SummaryMode::kData), bare);

  const Resource once = Subset(Read(kPatient), SummaryMode::kText);
  EXPECT_EQ(json::Write(Subset(once, SummaryMode::kFalse, {"id"})),
            R"({"resourceType":"Patient","id":"p","meta":)" + std::string(kTag) + "}");
}

TEST(SubsetTest, LeavesTheOriginalUntouched) {
  Resource original = Read(kPatient);
  const std::string before = json::Write(original);
  Resource subset = Subset(original, SummaryMode::kTrue);
  EXPECT_EQ(json::Write(original), before);
  EXPECT_TRUE(Subset(Resource(), SummaryMode::kTrue).empty());
}

}  // namespace
}  // namespace fhir
