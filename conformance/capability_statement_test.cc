#include "conformance/capability_statement.h"

#include <gtest/gtest.h>

#include "tests/support/test_definitions.h"

namespace conformance {
namespace {

TEST(CapabilityStatementTest, DeclaresExactlyWhatIsDescribed) {
  ServerDescription server;
  server.software_version = "1.2.3";
  server.date = "2026-11-22T10:00:00Z";
  server.formats = {"application/fhir+json", "application/fhir+xml"};
  server.system_interactions = {"transaction"};
  server.resources = {{"Patient", {"read", "create"}}};

  fhir::Resource cs = BuildCapabilityStatement(server, testing_support::Definitions());
  const fhir::Node* root = cs.root();
  EXPECT_EQ(cs.resource_type(), "CapabilityStatement");
  EXPECT_EQ(root->Child("fhirVersion")->value, "4.0.1");
  EXPECT_EQ(root->Child("kind")->value, "instance");
  EXPECT_EQ(root->Child("software")->Child("version")->value, "1.2.3");
  EXPECT_EQ(root->Children("format").size(), 2u);

  const fhir::Node* rest = root->Child("rest");
  EXPECT_EQ(rest->Child("mode")->value, "server");
  EXPECT_EQ(rest->Child("interaction")->Child("code")->value, "transaction");
  const auto resources = rest->Children("resource");
  ASSERT_EQ(resources.size(), 1u);
  EXPECT_EQ(resources[0]->Child("type")->value, "Patient");
  EXPECT_EQ(resources[0]->Children("interaction").size(), 2u);
}

TEST(CapabilityStatementTest, SystemSearchParametersAreRestLevel) {
  ServerDescription server;
  server.date = "2026-11-22";
  server.system_interactions = {"search-system"};
  server.system_search_params = {
      {"_tag", "token", "http://hl7.org/fhir/SearchParameter/Resource-tag"}};
  server.resources = {{"Patient", {"read"}}};
  fhir::Resource cs = BuildCapabilityStatement(server, testing_support::Definitions());
  const fhir::Node* rest = cs.root()->Child("rest");
  EXPECT_EQ(rest->Child("interaction")->Child("code")->value, "search-system");
  const auto params = rest->Children("searchParam");
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params[0]->Child("name")->value, "_tag");
  EXPECT_EQ(params[0]->Child("type")->value, "token");
  EXPECT_TRUE(rest->Children("resource")[0]->Children("searchParam").empty());
}

TEST(CapabilityStatementTest, NoResourcesWhenNoneServed) {
  ServerDescription server;
  server.date = "2026-11-22";
  server.formats = {"application/fhir+json"};
  fhir::Resource cs = BuildCapabilityStatement(server, testing_support::Definitions());
  EXPECT_TRUE(cs.root()->Child("rest")->Children("resource").empty());
  EXPECT_EQ(cs.root()->Child("implementation")->Child("url"), nullptr);
}

}  // namespace
}  // namespace conformance
