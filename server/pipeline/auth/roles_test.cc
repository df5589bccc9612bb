#include "server/pipeline/auth/roles.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace server::auth {
namespace {

using rest::Principal;
using rest::Role;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

Principal WithRoles(std::vector<Role> roles) {
  Principal principal;
  principal.method = "token";
  principal.roles = std::move(roles);
  return principal;
}

// One cell of the matrix: per permission c, r, u, d, s its letter when allowed, '-' when refused
// with auth.role-denied, '.' when refused with auth.scope-denied.
std::string Cell(const Principal& principal, const ScopeSet& scopes, std::string_view type) {
  std::string cell;
  for (Permission permission : kAllPermissions) {
    fhir::Result<Grant> decision = Decide(principal, scopes, permission, type);
    if (decision.ok()) {
      EXPECT_TRUE(decision->allowed);
      cell.push_back(PermissionLetter(permission));
      continue;
    }
    EXPECT_EQ(decision.error().http_status(), 403);
    if (decision.error().message_id() == "auth.role-denied") {
      cell.push_back('-');
    } else {
      EXPECT_EQ(decision.error().message_id(), "auth.scope-denied");
      cell.push_back('.');
    }
  }
  return cell;
}

struct MatrixRow {
  std::vector<Role> roles;
  const char* scopes;
  // Patient, Observation, AuditEvent, Organization.
  const char* expected[4];
};

constexpr const char* kTypes[] = {"Patient", "Observation", "AuditEvent", "Organization"};

// Each role with the scopes its clients typically request.
const MatrixRow kTypicalMatrix[] = {
    {{Role::kClinician}, "openid fhirUser user/*.cruds", {"cruds", "cruds", "-----", "cruds"}},
    {{Role::kStationOperator}, "user/*.cruds patient/*.rs", {"cru-s", "cruds", "-----", "-r--s"}},
    {{Role::kConnector}, "system/*.cruds", {"cruds", "cruds", "-----", "cruds"}},
    {{Role::kRegulator}, "user/*.rs system/*.rs", {".-..-", ".-..-", "-r--s", ".-..-"}},
    {{Role::kAdministrator}, "user/*.cruds system/*.cruds", {"cruds", "cruds", "-r--s", "cruds"}},
    {{}, "user/*.cruds system/*.cruds patient/*.cruds", {"-----", "-----", "-----", "-----"}},
};

// Each role with every scope: the role ceilings alone.
const MatrixRow kCeilingMatrix[] = {
    {{Role::kClinician}, "", {"cruds", "cruds", "-----", "cruds"}},
    {{Role::kStationOperator}, "", {"cru-s", "cruds", "-----", "-r--s"}},
    {{Role::kConnector}, "", {"cruds", "cruds", "-----", "cruds"}},
    {{Role::kRegulator}, "", {"-----", "-----", "-r--s", "-----"}},
    {{Role::kAdministrator}, "", {"cruds", "cruds", "-r--s", "cruds"}},
    {{Role::kRegulator, Role::kStationOperator}, "", {"cru-s", "cruds", "-r--s", "-r--s"}},
};

// Scopes of a context the role does not work in, and narrow scopes.
const MatrixRow kContextMatrix[] = {
    {{Role::kClinician}, "system/*.cruds", {"-----", "-----", "-----", "-----"}},
    {{Role::kConnector}, "user/*.cruds patient/*.cruds", {"-----", "-----", "-----", "-----"}},
    {{Role::kClinician}, "patient/*.rs", {".r..s", ".r..s", "-----", ".r..s"}},
    {{Role::kStationOperator},
     "patient/Observation.rs user/Observation.cu",
     {".....", "cru.s", "-.--.", "....."}},
    {{Role::kAdministrator}, "openid fhirUser", {".....", ".....", "-.--.", "....."}},
};

template <size_t N>
void Check(const MatrixRow (&rows)[N], const char* all_scopes) {
  for (const MatrixRow& row : rows) {
    Principal principal = WithRoles(row.roles);
    ScopeSet scopes = ScopeSet::Parse(*row.scopes ? row.scopes : all_scopes);
    for (size_t t = 0; t < 4; ++t) {
      std::string roles;
      for (Role role : row.roles) roles += std::string(RoleName(role)) + " ";
      EXPECT_EQ(Cell(principal, scopes, kTypes[t]), row.expected[t])
          << "roles: " << roles << "scopes: " << (*row.scopes ? row.scopes : all_scopes)
          << " type: " << kTypes[t];
    }
  }
}

TEST(DecideTest, TypicalScopesMatrix) { Check(kTypicalMatrix, ""); }

TEST(DecideTest, RoleCeilingMatrix) {
  Check(kCeilingMatrix, "patient/*.cruds user/*.cruds system/*.cruds");
}

TEST(DecideTest, ContextMatrix) { Check(kContextMatrix, ""); }

TEST(DecideTest, ErrorsNameTheInteraction) {
  fhir::Result<Grant> denied =
      Decide(WithRoles({Role::kClinician}), ScopeSet::Parse("user/Patient.rs"), Permission::kCreate,
             "Patient");
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().message_id(), "auth.scope-denied");
  EXPECT_THAT(denied.error().text(), HasSubstr("create on Patient"));
  EXPECT_EQ(denied.error().issues().front().type, fhir::IssueType::kForbidden);

  denied = Decide(WithRoles({Role::kRegulator}), ScopeSet::Parse("user/Patient.rs"),
                  Permission::kSearch, "Patient");
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().message_id(), "auth.role-denied");
  EXPECT_THAT(denied.error().text(), HasSubstr("search on Patient"));

  denied = Decide(WithRoles({Role::kAdministrator}), ScopeSet::Parse("system/*.cruds"),
                  Permission::kDelete, "AuditEvent");
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().message_id(), "auth.role-denied");
  EXPECT_THAT(denied.error().text(), HasSubstr("delete on AuditEvent"));
}

TEST(DecideTest, GrantKeepsTheContextsTheRolesPermit) {
  fhir::Result<Grant> grant = Decide(WithRoles({Role::kStationOperator}),
                                     ScopeSet::Parse("user/Organization.rs system/Organization.rs"),
                                     Permission::kRead, "Organization");
  ASSERT_TRUE(grant.ok());
  EXPECT_THAT(grant->contexts, ElementsAre(Context::kUser));
  EXPECT_TRUE(grant->unconstrained());
}

TEST(DecideTest, GrantKeepsConstraints) {
  ScopeSet scopes =
      ScopeSet::Parse("patient/Observation.rs?category=vital-signs system/Observation.rs");
  fhir::Result<Grant> grant =
      Decide(WithRoles({Role::kClinician}), scopes, Permission::kSearch, "Observation");
  ASSERT_TRUE(grant.ok());
  EXPECT_THAT(grant->contexts, ElementsAre(Context::kPatient));
  EXPECT_THAT(grant->constraints, ElementsAre(ElementsAre(Pair("category", "vital-signs"))));

  // The system scope is unconstrained, and an administrator may use it.
  grant = Decide(WithRoles({Role::kAdministrator}), scopes, Permission::kSearch, "Observation");
  ASSERT_TRUE(grant.ok());
  EXPECT_TRUE(grant->unconstrained());
  EXPECT_THAT(grant->contexts, ElementsAre(Context::kPatient, Context::kSystem));
}

TEST(RolesTest, NamesRoundTrip) {
  for (Role role : kAllRoles) EXPECT_EQ(ParseRole(RoleName(role)), role);
  EXPECT_EQ(RoleName(Role::kStationOperator), "station-operator");
  EXPECT_FALSE(ParseRole("Clinician"));
  EXPECT_FALSE(ParseRole(""));
}

TEST(RolesTest, CeilingsByContext) {
  EXPECT_TRUE(RolePermits(Role::kClinician, Permission::kRead, "Patient", Context::kPatient));
  EXPECT_FALSE(RolePermits(Role::kClinician, Permission::kRead, "Patient", Context::kSystem));
  EXPECT_TRUE(RolePermits(Role::kConnector, Permission::kCreate, "Bundle", Context::kSystem));
  EXPECT_FALSE(RolePermits(Role::kConnector, Permission::kRead, "AuditEvent", Context::kSystem));
  EXPECT_TRUE(RolePermits(Role::kRegulator, Permission::kSearch, "AuditEvent", Context::kSystem));
  EXPECT_FALSE(RolePermits(Role::kRegulator, Permission::kSearch, "AuditEvent", Context::kPatient));
  EXPECT_TRUE(
      RolePermits(Role::kStationOperator, Permission::kRead, "Encounter", Context::kPatient));
  EXPECT_FALSE(RolePermits(Role::kStationOperator, Permission::kRead, "Encounter", Context::kUser));
  EXPECT_FALSE(
      RolePermits(Role::kAdministrator, Permission::kUpdate, "AuditEvent", Context::kSystem));
}

TEST(RoleMappingTest, DefaultMapsRoleNames) {
  RoleMapping mapping = RoleMapping::Default();
  EXPECT_EQ(mapping.role_claim(), "fhirhub_roles");
  EXPECT_EQ(mapping.organization_claim(), "fhirhub_organization");
  EXPECT_EQ(mapping.purpose_claim(), "purpose_of_use");
  EXPECT_THAT(mapping.RolesFrom({{"fhirhub_roles", {"regulator", "clinician", "nobody"}}}),
              ElementsAre(Role::kClinician, Role::kRegulator));
  EXPECT_THAT(mapping.RolesFrom({{"roles", {"clinician"}}}), IsEmpty());
  EXPECT_THAT(mapping.RolesFrom({}), IsEmpty());
}

TEST(RoleMappingTest, FromJson) {
  fhir::Result<RoleMapping> mapping = RoleMapping::FromJson(R"({
    "role_claim": "groups",
    "organization_claim": "org",
    "purpose_claim": "pou",
    "roles": {
      "clinician": ["doctor", "nurse"],
      "station-operator": ["station"],
      "connector": ["connector"],
      "regulator": ["regulator", "doctor"],
      "administrator": ["admin"]
    }
  })");
  ASSERT_TRUE(mapping.ok()) << mapping.error().text();
  EXPECT_EQ(mapping->role_claim(), "groups");
  EXPECT_EQ(mapping->organization_claim(), "org");
  EXPECT_EQ(mapping->purpose_claim(), "pou");
  EXPECT_THAT(mapping->RolesFrom({{"groups", {"nurse"}}}), ElementsAre(Role::kClinician));
  EXPECT_THAT(mapping->RolesFrom({{"groups", {"doctor", "nurse"}}}),
              ElementsAre(Role::kClinician, Role::kRegulator));
  EXPECT_THAT(mapping->RolesFrom({{"groups", {"admin", "station"}}}),
              ElementsAre(Role::kStationOperator, Role::kAdministrator));
  // The role names themselves grant nothing unless listed.
  EXPECT_THAT(mapping->RolesFrom({{"groups", {"clinician"}}}), IsEmpty());
  EXPECT_THAT(mapping->RolesFrom({{"fhirhub_roles", {"admin"}}}), IsEmpty());
}

TEST(RoleMappingTest, FromJsonKeepsDefaultClaimNames) {
  fhir::Result<RoleMapping> mapping = RoleMapping::FromJson(R"({"roles": {"connector": ["c"]}})");
  ASSERT_TRUE(mapping.ok());
  EXPECT_EQ(mapping->role_claim(), "fhirhub_roles");
  EXPECT_EQ(mapping->purpose_claim(), "purpose_of_use");
  EXPECT_THAT(mapping->RolesFrom({{"fhirhub_roles", {"c"}}}), ElementsAre(Role::kConnector));
}

TEST(RoleMappingTest, FromJsonErrors) {
  for (const char* text : {
           "",
           "[]",
           "{\"role_claim\": 3}",
           "{\"role_claim\": \"\"}",
           "{\"organization_claim\": []}",
           "{\"roles\": []}",
           "{\"roles\": {\"surgeon\": [\"x\"]}}",
           "{\"roles\": {\"clinician\": \"doctor\"}}",
           "{\"roles\": {\"clinician\": [1]}}",
           "{\"roles\": {\"clinician\": [\"\"]}}",
       }) {
    fhir::Result<RoleMapping> mapping = RoleMapping::FromJson(text);
    ASSERT_FALSE(mapping.ok()) << text;
    EXPECT_EQ(mapping.error().message_id(), "auth.invalid-role-mapping") << text;
    EXPECT_EQ(mapping.error().http_status(), 400);
  }
}

}  // namespace
}  // namespace server::auth
