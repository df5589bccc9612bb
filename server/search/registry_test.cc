#include "server/search/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/support/test_definitions.h"
#include "tests/support/test_registry.h"

namespace server::search {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(RegistryTest, LoadsTheWholePackage) {
  const Registry& registry = testing_support::SearchRegistry();
  EXPECT_GT(registry.definition_count(), 1000u);
  // The package's known oddities: ten extension parameters without a base and two examples that
  // duplicate a standard code on a type.
  size_t no_base = 0, duplicates = 0, not_compiled = 0;
  for (const std::string& warning : registry.warnings()) {
    if (warning.ends_with(": no base")) ++no_base;
    if (warning.find(": duplicate code ") != std::string::npos) {
      ++duplicates;
      std::cout << warning << "\n";
    }
    if (warning.find("does not compile") != std::string::npos) {
      ++not_compiled;
      std::cout << warning << "\n";
    }
  }
  EXPECT_EQ(no_base, 10u);
  EXPECT_EQ(duplicates, 2u);
  // questionnaireresponse-extensions-QuestionnaireResponse-item-subject uses hasExtension(), a
  // function FHIRPath does not define.
  EXPECT_EQ(not_compiled, 1u);
  std::cout << "definitions: " << registry.definition_count()
            << ", warnings: " << registry.warnings().size() << "\n";
}

TEST(RegistryTest, PatientParameters) {
  const Registry& registry = testing_support::SearchRegistry();
  for (const char* code : {"identifier", "name", "birthdate", "gender", "family", "given",
                           "address", "telecom", "organization", "general-practitioner", "_id",
                           "_lastUpdated", "_tag", "_profile", "_security", "_source"}) {
    EXPECT_NE(registry.Find("Patient", code), nullptr) << code;
  }
  const SearchParam* birthdate = registry.Find("Patient", "birthdate");
  ASSERT_NE(birthdate, nullptr);
  EXPECT_EQ(birthdate->type(), ParamType::kDate);
  EXPECT_EQ(birthdate->expression_text, "Patient.birthDate");
  const SearchParam* id = registry.Find("Patient", "_id");
  ASSERT_NE(id, nullptr);
  // The standard definition wins over SearchParameter-example.json, which sorts after it.
  EXPECT_EQ(id->definition->url, "http://hl7.org/fhir/SearchParameter/Resource-id");
  EXPECT_EQ(registry.Find("Patient", "no-such-code"), nullptr);
  EXPECT_EQ(registry.Find("NoSuchType", "_id"), nullptr);
  EXPECT_THAT(registry.ForType("NoSuchType"), IsEmpty());
}

TEST(RegistryTest, ForTypeIsOrderedByCodeWithoutDuplicates) {
  auto params = testing_support::SearchRegistry().ForType("Observation");
  ASSERT_GT(params.size(), 30u);
  for (size_t i = 1; i < params.size(); ++i) {
    EXPECT_LT(params[i - 1]->code(), params[i]->code());
  }
}

TEST(RegistryTest, ObservationParameters) {
  const Registry& registry = testing_support::SearchRegistry();
  for (const char* code : {"code", "date", "value-quantity", "subject", "patient", "component-code",
                           "code-value-quantity"}) {
    EXPECT_NE(registry.Find("Observation", code), nullptr) << code;
  }
  const SearchParam* composite = registry.Find("Observation", "code-value-quantity");
  ASSERT_NE(composite, nullptr);
  EXPECT_EQ(composite->type(), ParamType::kComposite);
  ASSERT_EQ(composite->definition->components.size(), 2u);
  EXPECT_EQ(composite->definition->components[0].definition,
            "http://hl7.org/fhir/SearchParameter/clinical-code");
  EXPECT_EQ(composite->definition->components[1].expression, "value.as(Quantity)");
  const SearchParam* subject = registry.Find("Observation", "subject");
  ASSERT_NE(subject, nullptr);
  EXPECT_EQ(subject->type(), ParamType::kReference);
  EXPECT_FALSE(subject->definition->target.empty());
  const SearchParam* value = registry.Find("Observation", "value-quantity");
  ASSERT_NE(value, nullptr);
  EXPECT_FALSE(value->definition->comparators.empty());
}

TEST(RegistryTest, UnionsOfOtherParametersAreFound) {
  const Registry& registry = testing_support::SearchRegistry();
  auto parts = [&](std::string_view type, std::string_view code) {
    std::vector<std::string> out;
    const SearchParam* param = registry.Find(type, code);
    EXPECT_NE(param, nullptr) << code;
    if (param != nullptr) {
      for (const SearchParam* part : param->union_of) out.push_back(part->code());
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(parts("Observation", "combo-code"), (V{"code", "component-code"}));
  EXPECT_EQ(parts("Observation", "combo-value-quantity"),
            (V{"component-value-quantity", "value-quantity"}));
  EXPECT_EQ(parts("Observation", "combo-data-absent-reason"),
            (V{"component-data-absent-reason", "data-absent-reason"}));
  EXPECT_EQ(parts("Observation", "combo-code-value-quantity"),
            (V{"code-value-quantity", "component-code-value-quantity"}));
  EXPECT_EQ(parts("Observation", "combo-code-value-concept"),
            (V{"code-value-concept", "component-code-value-concept"}));
  // Parameters of one branch, and unions whose branches no other parameters cover, keep their
  // own rows.
  EXPECT_EQ(parts("Observation", "code"), V{});
  EXPECT_EQ(parts("Observation", "code-value-quantity"), V{});
  EXPECT_EQ(parts("Patient", "name"), V{});
  EXPECT_EQ(parts("Observation", "value-date"), V{});
  size_t unions = 0;
  for (const char* type : {"Observation", "Patient", "Condition", "Encounter", "Procedure"}) {
    for (const SearchParam* param : registry.ForType(type)) unions += !param->union_of.empty();
  }
  EXPECT_EQ(unions, 6u);
}

TEST(RegistryTest, MultiTypeUnionsKeepOnlyTheTypesBranches) {
  const Registry& registry = testing_support::SearchRegistry();
  const SearchParam* condition = registry.Find("Condition", "code");
  ASSERT_NE(condition, nullptr);
  EXPECT_EQ(condition->expression_text, "Condition.code");
  EXPECT_THAT(condition->definition->expression, ::testing::HasSubstr("AllergyIntolerance.code"));
  const SearchParam* allergy = registry.Find("AllergyIntolerance", "code");
  ASSERT_NE(allergy, nullptr);
  EXPECT_EQ(allergy->expression_text,
            "AllergyIntolerance.code | AllergyIntolerance.reaction.substance");
  const SearchParam* device = registry.Find("DeviceRequest", "code");
  ASSERT_NE(device, nullptr);
  // `as` on a path becomes ofType(): the path may yield several items, which `as` rejects.
  EXPECT_EQ(device->expression_text, "DeviceRequest.code.ofType(CodeableConcept)");
  // Resource.* branches apply to every type.
  const SearchParam* tag = registry.Find("Patient", "_tag");
  ASSERT_NE(tag, nullptr);
  EXPECT_EQ(tag->expression_text, "Resource.meta.tag");
}

TEST(RegistryTest, ParametersWithoutExpressionAreRegistered) {
  const SearchParam* text = testing_support::SearchRegistry().Find("Patient", "_text");
  ASSERT_NE(text, nullptr);
  EXPECT_FALSE(text->expression.has_value());
  EXPECT_TRUE(text->expression_text.empty());
  EXPECT_EQ(testing_support::SearchRegistry().Find("Bundle", "_text"),
            nullptr);  // DomainResource only
  EXPECT_NE(testing_support::SearchRegistry().Find("Bundle", "_content"), nullptr);
}

TEST(RegistryTest, SplitTopLevelUnion) {
  EXPECT_THAT(SplitTopLevelUnion("A.b | (C.d as X) | E.f.where(g | h) | I.j = 'a|b'"),
              ElementsAre("A.b", "(C.d as X)", "E.f.where(g | h)", "I.j = 'a|b'"));
  EXPECT_THAT(SplitTopLevelUnion("Patient.name"), ElementsAre("Patient.name"));
}

TEST(RegistryTest, BadDefinitionsAreSkippedWithAWarning) {
  std::vector<std::string> texts = {
      R"({"resourceType":"SearchParameter","url":"u1","code":"a","type":"token",)"
      R"("base":["Patient"],"expression":"Patient.name.("})",
      R"({"resourceType":"SearchParameter","url":"u2","code":"b","type":"nonsense",)"
      R"("base":["Patient"],"expression":"Patient.name"})",
      R"({"resourceType":"SearchParameter","url":"u3","code":"c","type":"string",)"
      R"("base":["Patient"],"expression":"Patient.name"})",
      R"({"resourceType":"SearchParameter","url":"u4","code":"c","type":"string",)"
      R"("base":["Patient"],"expression":"Patient.address"})",
  };
  auto registry = Registry::Load(texts, testing_support::Definitions());
  ASSERT_TRUE(registry.ok()) << registry.error().text();
  EXPECT_EQ((*registry)->Find("Patient", "a"), nullptr);
  EXPECT_EQ((*registry)->Find("Patient", "b"), nullptr);
  ASSERT_NE((*registry)->Find("Patient", "c"), nullptr);
  EXPECT_EQ((*registry)->Find("Patient", "c")->definition->url, "u3");
  EXPECT_EQ((*registry)->warnings().size(), 3u);

  EXPECT_FALSE(Registry::Load({"not json"}, testing_support::Definitions()).ok());
  EXPECT_FALSE(
      Registry::Load({R"({"resourceType":"Patient"})"}, testing_support::Definitions()).ok());
}

}  // namespace
}  // namespace server::search
