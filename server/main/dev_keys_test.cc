#include "server/main/dev_keys.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace server::main {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;

class DevKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("dev_keys_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
};

TEST_F(DevKeysTest, CreatesTheKeyOnceWithOwnerOnlyPermissions) {
  const fs::path data_dir = dir_ / "nested" / "var";
  auto key = LoadOrCreateDevKey(data_dir);
  ASSERT_TRUE(key.ok()) << key.error().text();
  EXPECT_EQ(key->algorithm(), security::KeyAlgorithm::kEcP256);
  const fs::path file = data_dir / kDevKeyFile;
  struct stat info {};
  ASSERT_EQ(::stat(file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);

  auto again = LoadOrCreateDevKey(data_dir);
  ASSERT_TRUE(again.ok()) << again.error().text();
  EXPECT_EQ(again->ToPem(), key->ToPem());
  EXPECT_EQ(DevKeyId(*again), DevKeyId(*key));
  // Nothing else is left in the directory.
  EXPECT_EQ(std::distance(fs::directory_iterator(data_dir), fs::directory_iterator()), 1);
}

TEST_F(DevKeysTest, RefusesAKeyFileOpenToOthers) {
  ASSERT_TRUE(LoadOrCreateDevKey(dir_).ok());
  fs::permissions(dir_ / kDevKeyFile, fs::perms::group_read, fs::perm_options::add);
  auto key = LoadOrCreateDevKey(dir_);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().message_id(), "dev-key.permissions");
}

TEST_F(DevKeysTest, RefusesAFileThatHoldsNoKey) {
  fs::create_directories(dir_);
  const fs::path file = dir_ / kDevKeyFile;
  std::ofstream(file) << "not a key";
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);
  auto key = LoadOrCreateDevKey(dir_);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().message_id(), "security.invalid-key");
}

TEST_F(DevKeysTest, JwksHoldsThePublicKeyUnderItsId) {
  auto key = LoadOrCreateDevKey(dir_);
  ASSERT_TRUE(key.ok());
  rapidjson::Document jwks;
  jwks.Parse(DevJwks(*key).c_str());
  ASSERT_TRUE(jwks.IsObject() && jwks["keys"].IsArray() && jwks["keys"].Size() == 1);
  const auto& jwk = jwks["keys"][0];
  EXPECT_STREQ(jwk["kid"].GetString(), DevKeyId(*key).c_str());
  EXPECT_STREQ(jwk["alg"].GetString(), "ES256");
  EXPECT_FALSE(jwk.HasMember("d"));
  auto set = security::KeySet::FromJwks(DevJwks(*key));
  ASSERT_TRUE(set.ok());
  EXPECT_TRUE(set->Contains(DevKeyId(*key)));
}

TEST(DevTokenClaimsTest, DefaultScopesPerRole) {
  EXPECT_EQ(DefaultScope("clinician"), "user/*.cruds");
  EXPECT_EQ(DefaultScope("station-operator"),
            "user/Observation.cruds user/Patient.rs user/Device.rs user/Location.rs "
            "user/Organization.rs");
  EXPECT_EQ(DefaultScope("connector"), "system/*.cruds");
  EXPECT_EQ(DefaultScope("regulator"), "user/AuditEvent.rs");
  EXPECT_EQ(DefaultScope("administrator"), "user/*.cruds system/*.cruds");
  EXPECT_EQ(DefaultScope("root"), std::nullopt);
  for (std::string_view role : kDevRoles) EXPECT_TRUE(DefaultScope(role).has_value()) << role;
}

TEST(DevTokenClaimsTest, WritesTheClaims) {
  DevTokenRequest request;
  request.role = "clinician";
  request.patient = "123";
  request.fhir_user = "Practitioner/1";
  request.organization = "Organization/9";
  request.purposes = {"TREAT", "ETREAT"};
  request.lifetime_seconds = 600;
  auto claims = DevTokenClaims(request, 1000, "abc");
  ASSERT_TRUE(claims.ok()) << claims.error().text();
  EXPECT_EQ(
      *claims,
      R"({"iss":"fhirhub-dev","aud":"fhirhub","sub":"dev-clinician","iat":1000,"nbf":1000,)"
      R"("exp":1600,"jti":"abc","scope":"patient/*.rs","fhirhub_roles":["clinician"],)"
      R"("patient":"123","fhirUser":"Practitioner/1","fhirhub_organization":"Organization/9",)"
      R"("purpose_of_use":["TREAT","ETREAT"]})");
}

TEST(DevTokenClaimsTest, ScopeAndSubjectAsAskedFor) {
  DevTokenRequest request;
  request.role = "regulator";
  request.subject = "auditor-7";
  auto claims = DevTokenClaims(request, 0, "j");
  ASSERT_TRUE(claims.ok());
  rapidjson::Document doc;
  doc.Parse(claims->c_str());
  EXPECT_STREQ(doc["sub"].GetString(), "auditor-7");
  EXPECT_STREQ(doc["scope"].GetString(), "user/AuditEvent.rs");
  EXPECT_EQ(doc["exp"].GetInt64(), 3600);
  EXPECT_FALSE(doc.HasMember("patient"));
  EXPECT_FALSE(doc.HasMember("purpose_of_use"));

  request.patient = "p1";
  request.scope = "patient/Observation.rs";
  claims = DevTokenClaims(request, 0, "j");
  ASSERT_TRUE(claims.ok());
  doc.Parse(claims->c_str());
  EXPECT_STREQ(doc["scope"].GetString(), "patient/Observation.rs");
}

TEST(DevTokenClaimsTest, RefusesBadRequests) {
  auto refused = [](DevTokenRequest request) {
    auto claims = DevTokenClaims(request, 0, "j");
    return !claims.ok() && claims.error().message_id() == "dev-token.invalid";
  };
  DevTokenRequest good;
  good.role = "connector";
  ASSERT_TRUE(DevTokenClaims(good, 0, "j").ok());
  DevTokenRequest r = good;
  r.role = "root";
  EXPECT_TRUE(refused(r));
  r = good;
  r.lifetime_seconds = 0;
  EXPECT_TRUE(refused(r));
  r.lifetime_seconds = std::int64_t{1} << 62;
  EXPECT_TRUE(refused(r));
  r = good;
  r.patient = "a/b";
  EXPECT_TRUE(refused(r));
  r = good;
  r.fhir_user = "practitioner/1";
  EXPECT_TRUE(refused(r));
  r = good;
  r.organization = "Practitioner/1";
  EXPECT_TRUE(refused(r));
}

}  // namespace
}  // namespace server::main
