#include "server/pipeline/auth/scopes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace server::auth {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

// The permissions a scope grants as SMART v2 letters, for compact assertions.
std::string Letters(const Scope& scope) {
  std::string letters;
  for (Permission permission : kAllPermissions) {
    if (scope.Allows(permission)) letters.push_back(PermissionLetter(permission));
  }
  return letters;
}

std::string Letters(const ScopeSet& scopes, std::string_view type) {
  std::string letters;
  for (Permission permission : kAllPermissions) {
    if (scopes.Grants(permission, type).allowed) letters.push_back(PermissionLetter(permission));
  }
  return letters;
}

TEST(ScopesTest, V1PermissionsExpandToV2Letters) {
  EXPECT_EQ(Letters(*ParseResourceScope("patient/Observation.read")), "rs");
  EXPECT_EQ(Letters(*ParseResourceScope("user/Observation.write")), "cud");
  EXPECT_EQ(Letters(*ParseResourceScope("system/Observation.*")), "cruds");
  EXPECT_EQ(Letters(*ParseResourceScope("user/*.*")), "cruds");
  EXPECT_FALSE(ParseResourceScope("patient/Observation.read")->v2);
}

TEST(ScopesTest, V2PermissionSubsets) {
  EXPECT_EQ(Letters(*ParseResourceScope("patient/Observation.rs")), "rs");
  EXPECT_EQ(Letters(*ParseResourceScope("user/Patient.cruds")), "cruds");
  EXPECT_EQ(Letters(*ParseResourceScope("user/Patient.c")), "c");
  EXPECT_EQ(Letters(*ParseResourceScope("user/Patient.cud")), "cud");
  EXPECT_EQ(Letters(*ParseResourceScope("system/Device.ds")), "ds");
  EXPECT_TRUE(ParseResourceScope("user/Patient.c")->v2);
}

TEST(ScopesTest, ContextsAndTypes) {
  std::optional<Scope> scope = ParseResourceScope("system/*.rs");
  ASSERT_TRUE(scope);
  EXPECT_EQ(scope->context, Context::kSystem);
  EXPECT_EQ(scope->type, "*");
  EXPECT_TRUE(scope->Matches("Observation"));
  EXPECT_TRUE(scope->Matches("AuditEvent"));
  scope = ParseResourceScope("patient/Observation.rs");
  EXPECT_EQ(scope->context, Context::kPatient);
  EXPECT_TRUE(scope->Matches("Observation"));
  EXPECT_FALSE(scope->Matches("Patient"));
}

TEST(ScopesTest, MalformedResourceScopes) {
  for (const char* text :
       {"patient/Observation.sr", "patient/Observation.rr", "patient/Observation.x",
        "patient/Observation.", "patient/Observation", "patient/.rs", "patient/observation.rs",
        "clinic/Observation.rs", "patient/Observation.rs?", "patient/Observation.rs?code",
        "patient/Observation.rs?=1", "patient/Observation.rs?code=", "patient/Observation.rs?a=1&",
        "patient/Observation.rs?code=%zz", "patient/Observation.rs?code=%4",
        "patient/Observation.read?code=1", "patient/Obs.ervation.rs", "patient/Observation.READ",
        "patient/$export.rs"}) {
    EXPECT_FALSE(ParseResourceScope(text)) << text;
  }
}

TEST(ScopesTest, ConstraintsAreDecodedPairs) {
  std::optional<Scope> scope = ParseResourceScope(
      "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/"
      "observation-category|vital-signs");
  ASSERT_TRUE(scope);
  EXPECT_THAT(scope->constraint, ElementsAre(Pair("category",
                                                  "http://terminology.hl7.org/CodeSystem/"
                                                  "observation-category|vital-signs")));

  scope = ParseResourceScope(
      "user/Observation.rs?code=http%3A%2F%2Floinc.org%7C85354-9&status=final+or%20amended");
  ASSERT_TRUE(scope);
  EXPECT_THAT(scope->constraint, ElementsAre(Pair("code", "http://loinc.org|85354-9"),
                                             Pair("status", "final or amended")));
}

TEST(ScopesTest, ParseSortsScopesIntoResourceOtherAndIgnored) {
  ScopeSet scopes = ScopeSet::Parse(
      "openid  fhirUser launch launch/patient offline_access online_access patient/Observation.rs "
      "patient/Observation.sr something-else user/*.read openid");
  ASSERT_EQ(scopes.resource_scopes().size(), 2u);
  EXPECT_EQ(scopes.resource_scopes()[0].text, "patient/Observation.rs");
  EXPECT_EQ(scopes.resource_scopes()[1].text, "user/*.read");
  EXPECT_THAT(scopes.other_scopes(),
              ElementsAre("openid", "fhirUser", "launch", "launch/patient", "offline_access",
                          "online_access", "something-else"));
  EXPECT_THAT(scopes.ignored_scopes(), ElementsAre("patient/Observation.sr"));
  EXPECT_EQ(ScopeSet::Parse("user/*.rs user/*.rs").resource_scopes().size(), 1u);
  EXPECT_TRUE(scopes.HasOther("launch/patient"));
  EXPECT_FALSE(scopes.HasOther("patient/Observation.rs"));
}

TEST(ScopesTest, EmptyScopeGrantsNothing) {
  ScopeSet scopes = ScopeSet::Parse("");
  EXPECT_THAT(scopes.resource_scopes(), IsEmpty());
  EXPECT_EQ(Letters(scopes, "Patient"), "");
  Grant grant = scopes.Grants(Permission::kRead, "Patient");
  EXPECT_FALSE(grant.allowed);
  EXPECT_FALSE(grant.unconstrained());
  EXPECT_THAT(grant.contexts, IsEmpty());
}

TEST(ScopesTest, IgnoredScopesGrantNothing) {
  ScopeSet scopes = ScopeSet::Parse("patient/Observation.sr launch/patient openid");
  EXPECT_EQ(Letters(scopes, "Observation"), "");
}

TEST(ScopesTest, GrantsUniteScopesAndWildcards) {
  ScopeSet scopes = ScopeSet::Parse("patient/*.rs user/Observation.cu system/Patient.d");
  EXPECT_EQ(Letters(scopes, "Observation"), "crus");
  EXPECT_EQ(Letters(scopes, "Patient"), "rds");
  EXPECT_EQ(Letters(scopes, "Encounter"), "rs");

  Grant grant = scopes.Grants(Permission::kRead, "Observation");
  EXPECT_TRUE(grant.unconstrained());
  EXPECT_THAT(grant.contexts, ElementsAre(Context::kPatient));
  EXPECT_TRUE(grant.In(Context::kPatient));
  EXPECT_FALSE(grant.In(Context::kUser));

  grant = scopes.Grants(Permission::kDelete, "Patient");
  EXPECT_THAT(grant.contexts, ElementsAre(Context::kSystem));
}

TEST(ScopesTest, GrantsInOneContext) {
  ScopeSet scopes = ScopeSet::Parse("patient/Observation.rs user/Observation.r");
  EXPECT_TRUE(scopes.Grants(Permission::kSearch, "Observation", Context::kPatient).allowed);
  EXPECT_FALSE(scopes.Grants(Permission::kSearch, "Observation", Context::kUser).allowed);
  EXPECT_TRUE(scopes.Grants(Permission::kRead, "Observation", Context::kUser).allowed);
  EXPECT_FALSE(scopes.Grants(Permission::kRead, "Observation", Context::kSystem).allowed);
  EXPECT_THAT(scopes.Grants(Permission::kRead, "Observation").contexts,
              ElementsAre(Context::kPatient, Context::kUser));
}

TEST(ScopesTest, ConstrainedScopesGiveAlternatives) {
  ScopeSet scopes = ScopeSet::Parse(
      "patient/Observation.rs?category=vital-signs "
      "patient/Observation.rs?category=laboratory&status=final "
      "patient/Observation.rs?category=vital-signs");
  Grant grant = scopes.Grants(Permission::kSearch, "Observation");
  EXPECT_TRUE(grant.allowed);
  EXPECT_FALSE(grant.unconstrained());
  EXPECT_THAT(grant.constraints,
              ElementsAre(ElementsAre(Pair("category", "vital-signs")),
                          ElementsAre(Pair("category", "laboratory"), Pair("status", "final"))));
  EXPECT_FALSE(scopes.Grants(Permission::kCreate, "Observation").allowed);
  EXPECT_FALSE(scopes.Grants(Permission::kRead, "Patient").allowed);
}

TEST(ScopesTest, AnUnconstrainedScopeLiftsTheConstraints) {
  ScopeSet scopes =
      ScopeSet::Parse("patient/Observation.rs?category=vital-signs user/Observation.r patient/*.s");
  Grant read = scopes.Grants(Permission::kRead, "Observation");
  EXPECT_TRUE(read.unconstrained());
  EXPECT_THAT(read.constraints, IsEmpty());
  EXPECT_THAT(read.contexts, ElementsAre(Context::kPatient, Context::kUser));
  // A wildcard type counts for the type too.
  EXPECT_TRUE(scopes.Grants(Permission::kSearch, "Observation").unconstrained());
  // In the patient context alone the read stays constrained.
  Grant patient_read = scopes.Grants(Permission::kRead, "Observation", Context::kPatient);
  EXPECT_THAT(patient_read.constraints, ElementsAre(ElementsAre(Pair("category", "vital-signs"))));
}

TEST(ScopesTest, MergeGrant) {
  Grant into;
  Grant constrained{true, {Context::kUser}, {{{"category", "laboratory"}}}};
  MergeGrant(into, constrained);
  EXPECT_TRUE(into.allowed);
  EXPECT_EQ(into.constraints.size(), 1u);
  MergeGrant(into, Grant{true, {Context::kPatient}, {{{"status", "final"}}}});
  EXPECT_EQ(into.constraints.size(), 2u);
  EXPECT_THAT(into.contexts, ElementsAre(Context::kPatient, Context::kUser));
  MergeGrant(into, Grant{});
  EXPECT_EQ(into.constraints.size(), 2u);
  MergeGrant(into, Grant{true, {Context::kSystem}, {}});
  EXPECT_TRUE(into.unconstrained());
  EXPECT_THAT(into.contexts, ElementsAre(Context::kPatient, Context::kUser, Context::kSystem));
}

TEST(ScopesTest, Names) {
  EXPECT_EQ(PermissionName(Permission::kSearch), "search");
  EXPECT_EQ(PermissionLetter(Permission::kUpdate), 'u');
  EXPECT_EQ(ContextName(Context::kSystem), "system");
}

}  // namespace
}  // namespace server::auth
