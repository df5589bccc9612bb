#include "fhir/element.h"

#include <gtest/gtest.h>

#include "tests/support/test_definitions.h"

namespace fhir {
namespace {

TEST(ResourceTest, AddChildKeepsDefinitionOrder) {
  const auto& defs = testing_support::Definitions();
  Resource patient;
  patient.set_root(patient.NewNode(nullptr, defs.FindResource("Patient")));
  Node* root = patient.root();
  patient.AddPrimitive(root, "birthDate", "1970-01-01");
  patient.AddPrimitive(root, "gender", "female");
  Node* name = patient.AddChild(root, "name");
  ASSERT_NE(name, nullptr);
  patient.AddPrimitive(name, "family", "王");
  patient.AddPrimitive(root, "id", "p1");
  patient.AddPrimitive(root, "active", "true");

  std::vector<std::string_view> names;
  for (const Node* c : root->children) names.push_back(c->name());
  EXPECT_EQ(names, (std::vector<std::string_view>{"id", "active", "name", "gender", "birthDate"}));
  EXPECT_EQ(patient.resource_type(), "Patient");
  EXPECT_EQ(root->Child("name")->Child("family")->value, "王");
}

TEST(ResourceTest, ChoiceElementTakesTypeFromName) {
  const auto& defs = testing_support::Definitions();
  Resource obs;
  obs.set_root(obs.NewNode(nullptr, defs.FindResource("Observation")));
  Node* value = obs.AddChild(obs.root(), "valueQuantity");
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(value->name(), "value");
  EXPECT_EQ(value->type->name, "Quantity");
  EXPECT_EQ(value->JsonName(), "valueQuantity");
  EXPECT_EQ(obs.AddChild(obs.root(), "valueNoSuchType"), nullptr);
  EXPECT_EQ(obs.AddChild(obs.root(), "nonsense"), nullptr);
}

TEST(ResourceTest, CloneIsDeepAndIndependent) {
  const auto& defs = testing_support::Definitions();
  Resource original;
  original.set_root(original.NewNode(nullptr, defs.FindResource("Patient")));
  original.AddPrimitive(original.root(), "id", "a");
  Resource copy = original.Clone();
  original.root()->children.front()->value = original.Intern("b");
  ASSERT_NE(copy.root(), original.root());
  EXPECT_EQ(copy.root()->Child("id")->value, "a");

  Resource moved = std::move(copy);
  EXPECT_EQ(moved.root()->Child("id")->value, "a");
}

}  // namespace
}  // namespace fhir
