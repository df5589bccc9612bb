// End-to-end: the real `fhirhub token` binary mints development tokens that verify against the
// JWKS it prints, and keeps its key in the data directory.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <ctime>
#include <filesystem>
#include <string>

#include "server/security/jwt.h"
#include "tests/support/server_process.h"

namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class TokenCliTest : public ::testing::Test {
 protected:
  // A directory of the test's own: ctest runs the tests of this suite in parallel processes, and a
  // shared one let one test's key replace another's.
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "fhirhub_token_cli.XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    data_dir_ = fs::path(pattern) / "data";
  }
  void TearDown() override { fs::remove_all(data_dir_.parent_path()); }

  // Runs `fhirhub token <args> --data-dir <data_dir_>`; returns its exit status and sets `out` to
  // its output without the final newline.
  int Token(const std::string& args, std::string& out) {
    const int status = testing_support::RunCommand(
        std::string(FHIRHUB_BINARY) + " token " + args + " --data-dir " + data_dir_.string(), out);
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return status;
  }

  server::security::KeySet Jwks() {
    std::string jwks;
    EXPECT_EQ(Token("--print-jwks", jwks), 0) << jwks;
    auto keys = server::security::KeySet::FromJwks(jwks);
    EXPECT_TRUE(keys.ok()) << jwks;
    return keys.ok() ? std::move(*keys) : server::security::KeySet();
  }

  static server::security::JwtOptions DevOptions() {
    server::security::JwtOptions options;
    options.issuers = {"fhirhub-dev"};
    options.audience = "fhirhub";
    return options;
  }

  fs::path data_dir_;
};

TEST_F(TokenCliTest, MintsATokenThatVerifiesAgainstThePrintedJwks) {
  std::string token;
  ASSERT_EQ(Token("--role clinician --patient 123 --fhir-user Practitioner/1 "
                  "--organization Organization/7 --purpose TREAT --lifetime 600",
                  token),
            0)
      << token;
  const server::security::KeySet keys = Jwks();
  ASSERT_EQ(keys.size(), 1u);
  const std::int64_t now = std::time(nullptr);
  auto claims = server::security::VerifyJwt(token, keys, DevOptions(), now);
  ASSERT_TRUE(claims.ok()) << claims.error().text();
  EXPECT_EQ(claims->issuer, "fhirhub-dev");
  EXPECT_THAT(claims->audience, ElementsAre("fhirhub"));
  EXPECT_EQ(claims->subject, "dev-clinician");
  EXPECT_EQ(claims->scope, "patient/*.rs");
  EXPECT_EQ(claims->patient, "123");
  EXPECT_EQ(claims->fhir_user, "Practitioner/1");
  EXPECT_EQ(claims->token_id.size(), 32u);
  EXPECT_NEAR(static_cast<double>(claims->expires - now), 600.0, 30.0);
  EXPECT_EQ(claims->expires - claims->issued_at, 600);
  EXPECT_THAT(claims->strings.at("fhirhub_roles"), ElementsAre("clinician"));
  EXPECT_THAT(claims->strings.at("fhirhub_organization"), ElementsAre("Organization/7"));
  EXPECT_THAT(claims->strings.at("purpose_of_use"), ElementsAre("TREAT"));

  // The key file is the owner's alone, and the next run uses the same key.
  struct stat info {};
  ASSERT_EQ(::stat((data_dir_ / "dev-token-key.pem").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  std::string second;
  ASSERT_EQ(Token("--role station-operator", second), 0) << second;
  EXPECT_NE(second, token);
  claims = server::security::VerifyJwt(second, keys, DevOptions(), now);
  ASSERT_TRUE(claims.ok()) << claims.error().text();
  EXPECT_EQ(claims->scope,
            "user/Observation.cruds user/Patient.rs user/Device.rs user/Location.rs "
            "user/Organization.rs");
  EXPECT_NE(claims->token_id, "");

  // Expired once its lifetime (and the clock skew) has passed.
  auto expired = server::security::VerifyJwt(token, keys, DevOptions(), now + 3600);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().message_id(), "auth.expired");
}

TEST_F(TokenCliTest, ExplicitScopeAndSubject) {
  std::string token;
  ASSERT_EQ(Token("--role connector --scope 'system/Patient.rs system/Observation.c' "
                  "--subject lab-connector",
                  token),
            0)
      << token;
  auto claims = server::security::VerifyJwt(token, Jwks(), DevOptions(), std::time(nullptr));
  ASSERT_TRUE(claims.ok()) << claims.error().text();
  EXPECT_EQ(claims->scope, "system/Patient.rs system/Observation.c");
  EXPECT_EQ(claims->subject, "lab-connector");
}

TEST_F(TokenCliTest, UsageErrorsCreateNoKey) {
  std::string out;
  EXPECT_EQ(Token("--role root", out), 2);
  EXPECT_THAT(out, HasSubstr("Unknown role"));
  EXPECT_EQ(Token("", out), 2);
  EXPECT_THAT(out, HasSubstr("--role is required"));
  EXPECT_EQ(Token("--role clinician --lifetime soon", out), 2);
  EXPECT_EQ(Token("--role clinician --bogus", out), 2);
  EXPECT_FALSE(fs::exists(data_dir_));
}

}  // namespace
