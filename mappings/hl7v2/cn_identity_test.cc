#include "mappings/hl7v2/cn_identity.h"

#include <gtest/gtest.h>

namespace mappings::hl7v2 {
namespace {

// The synthetic vectors of shared data cn-codes/gb11643-id-check-vectors.csv.
TEST(CnIdentityTest, ChecksTheGb11643Vectors) {
  struct Case {
    const char* id;
    bool valid;
  };
  const Case cases[] = {
      {"11010519491231002X", true},  {"440524188001010014", true},  {"11010120000229123X", true},
      {"320106198506152015", true},  {"510107197803087624", true},  {"110105194912310020", false},
      {"110105199902300015", false}, {"99010519800101001X", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(CheckCnIdentity(c.id, "20240101").valid, c.valid) << c.id;
  }
}

TEST(CnIdentityTest, RefusesBirthDatesAfterTheMessage) {
  EXPECT_FALSE(CheckCnIdentity("110105300001010014", "20240101").valid);
  EXPECT_EQ(CheckCnIdentity("110105300001010014", "20240101").problem,
            "the 身份证 birth date is after the message was sent");
}

TEST(CnIdentityTest, NormalisesLowerCaseXAndUpgradesFifteenDigits) {
  auto lower = CheckCnIdentity("11010519491231002x", "");
  EXPECT_TRUE(lower.valid);
  EXPECT_EQ(lower.normalized, "11010519491231002X");
  auto legacy = CheckCnIdentity("110105491231002", "");
  EXPECT_TRUE(legacy.valid);
  EXPECT_TRUE(legacy.upgraded);
  EXPECT_EQ(legacy.normalized, "11010519491231002X");
  EXPECT_FALSE(CheckCnIdentity("1101051949", "").valid);
  EXPECT_FALSE(CheckCnIdentity("", "").valid);
}

}  // namespace
}  // namespace mappings::hl7v2
