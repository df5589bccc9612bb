#include "server/search/custom_params.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/test_definitions.h"
#include "tests/support/test_registry.h"

namespace server::search {
namespace {

constexpr const char* kEthnicity = R"({
  "resourceType": "SearchParameter", "id": "ethnicity",
  "url": "http://example.org/SearchParameter/ethnicity", "name": "ethnicity", "status": "active",
  "description": "A resident's ethnic group", "code": "ethnicity", "base": ["Patient"],
  "type": "token",
  "expression": "Patient.extension('http://example.org/ethnicity').value.coding.code"})";

// The faults of `json` against the package registry, as (message id, location) pairs.
std::vector<std::pair<std::string, std::string>> Faults(const std::string& json,
                                                        const Registry& registry) {
  std::vector<std::pair<std::string, std::string>> out;
  auto result = ValidateCustomSearchParameter(json, registry);
  if (result.ok()) return out;
  EXPECT_EQ(result.error().http_status(), 422);
  for (const fhir::Issue& issue : result.error().issues()) {
    out.emplace_back(issue.message_id, issue.expression);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> Faults(const std::string& json) {
  return Faults(json, testing_support::SearchRegistry());
}

// kEthnicity with one member's JSON text replaced.
std::string With(const std::string& member, const std::string& value) {
  std::string json = kEthnicity;
  const std::string key = "\"" + member + "\": ";
  size_t at = json.find(key);
  EXPECT_NE(at, std::string::npos) << member;
  size_t start = at + key.size();
  size_t end = start;
  if (json[start] == '[') {
    end = json.find(']', start) + 1;
  } else {
    end = json.find('"', start + 1) + 1;
  }
  return json.replace(start, end - start, value);
}

using Fault = std::pair<std::string, std::string>;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(CustomParamsTest, AValidDefinitionPassesAndLoads) {
  EXPECT_THAT(Faults(kEthnicity), IsEmpty());
  auto registry = Registry::Load({}, testing_support::Definitions(), {kEthnicity});
  ASSERT_TRUE(registry.ok());
  const SearchParam* param = (*registry)->Find("Patient", "ethnicity");
  ASSERT_NE(param, nullptr);
  EXPECT_TRUE(param->definition->custom);
  EXPECT_EQ(param->definition->resource_id, "ethnicity");
  EXPECT_TRUE(param->expression.has_value());
  EXPECT_EQ((*registry)->CustomDefinitions().size(), 1u);
}

TEST(CustomParamsTest, ExpressionMustCompile) {
  EXPECT_THAT(Faults(With("expression", R"("Patient.extension(")")),
              ElementsAre(Fault{"search.invalid-definition", "SearchParameter.expression"}));
  EXPECT_THAT(Faults(With("expression", R"x("Patient.name.noSuchFunction()")x")),
              ElementsAre(Fault{"search.invalid-definition", "SearchParameter.expression"}));
}

TEST(CustomParamsTest, ExpressionMustSelectSomethingOfEachBase) {
  EXPECT_THAT(Faults(With("expression", R"("Observation.code")")),
              ElementsAre(Fault{"search.invalid-definition", "SearchParameter.expression"}));
  EXPECT_THAT(Faults(With("expression", R"("")")),
              ElementsAre(Fault{"search.invalid-definition", "SearchParameter.expression"}));
}

TEST(CustomParamsTest, TypeMustBeIndexable) {
  EXPECT_THAT(Faults(With("type", R"("colour")")),
              ElementsAre(Fault{"search.invalid-definition", "SearchParameter.type"}));
  EXPECT_THAT(Faults(With("type", R"("special")")),
              ElementsAre(Fault{"search.invalid-definition", "SearchParameter.type"}));
}

TEST(CustomParamsTest, BaseMustBeResourceTypes) {
  EXPECT_THAT(Faults(With("base", R"(["Patient", "Patience"])")),
              ElementsAre(Fault{"search.invalid-definition", "SearchParameter.base[1]"}));
  EXPECT_THAT(Faults(With("base", R"([])")),
              ElementsAre(Fault{"search.invalid-definition", "SearchParameter.base"}));
}

TEST(CustomParamsTest, CodeAndUrlAreRequired) {
  EXPECT_THAT(Faults(With("code", R"("_ethnicity")")),
              ElementsAre(Fault{"search.invalid-definition", "SearchParameter.code"}));
  EXPECT_THAT(Faults(With("url", R"("")")),
              ElementsAre(Fault{"search.invalid-definition", "SearchParameter.url"}));
}

TEST(CustomParamsTest, StandardCodesCannotBeRedefined) {
  EXPECT_THAT(Faults(With("code", R"("gender")")),
              ElementsAre(Fault{"search.code-collision", "SearchParameter.code"}));
  // A Resource-wide parameter collides with every type's own.
  std::string everywhere = With("base", R"(["Resource"])");
  EXPECT_THAT(Faults(With("code", R"("_tag")")),
              ElementsAre(Fault{"search.invalid-definition", "SearchParameter.code"}));
  everywhere.replace(everywhere.find("Patient.extension"), 7, "Resource");
  EXPECT_THAT(Faults(everywhere), IsEmpty());
  std::string named = everywhere;
  named.replace(named.find("\"code\": \"ethnicity\""), 19, "\"code\": \"name\"");
  EXPECT_THAT(Faults(named), ElementsAre(Fault{"search.code-collision", "SearchParameter.code"}));
}

TEST(CustomParamsTest, CustomCodesCollideUnlessTheSameDefinition) {
  auto registry = Registry::Load({}, testing_support::Definitions(), {kEthnicity});
  ASSERT_TRUE(registry.ok());
  // A new version of the same resource, or the same url from elsewhere, replaces it.
  EXPECT_THAT(Faults(kEthnicity, **registry), IsEmpty());
  std::string other = With("url", R"("http://example.org/SearchParameter/other")");
  EXPECT_THAT(Faults(other, **registry), IsEmpty());  // same stored resource id
  other.replace(other.find("\"id\": \"ethnicity\""), 17, "\"id\": \"other\"");
  EXPECT_THAT(Faults(other, **registry),
              ElementsAre(Fault{"search.code-collision", "SearchParameter.code"}));
}

TEST(CustomParamsTest, CompositeComponentsMustResolve) {
  std::string composite = With("type", R"("composite")");
  composite.insert(composite.rfind('}'),
                   R"(, "component": [
      {"definition": "http://hl7.org/fhir/SearchParameter/individual-gender", "expression": "$this"},
      {"definition": "http://example.org/none", "expression": "$this"},
      {"definition": "http://hl7.org/fhir/SearchParameter/individual-gender", "expression": "x("}])");
  EXPECT_THAT(
      Faults(composite),
      ElementsAre(Fault{"search.invalid-definition", "SearchParameter.component[1].definition"},
                  Fault{"search.invalid-definition", "SearchParameter.component[2].expression"}));
  EXPECT_THAT(Faults(With("type", R"("composite")")),
              ElementsAre(Fault{"search.invalid-definition", "SearchParameter.component"}));
}

TEST(CustomParamsTest, StatusAndKeys) {
  EXPECT_EQ(SearchParameterStatus(kEthnicity), "active");
  EXPECT_EQ(SearchParameterStatus(With("status", R"("retired")")), "retired");
  EXPECT_EQ(SearchParameterStatus("not json"), "");
  auto a = Registry::Load({}, testing_support::Definitions(), {kEthnicity});
  auto b = Registry::Load({}, testing_support::Definitions(),
                          {With("description", R"("Another description")")});
  auto c = Registry::Load({}, testing_support::Definitions(),
                          {With("expression", R"("Patient.extension.value.coding.code")")});
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  const std::string key = DefinitionKey(*(*a)->CustomDefinitions().front());
  EXPECT_EQ(key, DefinitionKey(*(*b)->CustomDefinitions().front()));
  EXPECT_NE(key, DefinitionKey(*(*c)->CustomDefinitions().front()));
}

}  // namespace
}  // namespace server::search
