#include "server/search/normalize.h"

#include <gtest/gtest.h>

namespace server::search {
namespace {

TEST(NormalizeStringTest, FoldsCaseAndAccents) {
  EXPECT_EQ(NormalizeString("Ééàç"), "eeac");
  EXPECT_EQ(NormalizeString("Zhāng Sān"), "zhang san");
  EXPECT_EQ(NormalizeString("Bénédicte du Marché"), "benedicte du marche");
  EXPECT_EQ(NormalizeString("Łódź Straße Øre Æsir"), "lodz strasse ore aesir");
  EXPECT_EQ(NormalizeString("Lǚ Ştefan Șerban"), "lu stefan serban");
  EXPECT_EQ(NormalizeString("Ζωή ΟΔΥΣΣΕΑΣ"), "ζωη οδυσσεασ");
  EXPECT_EQ(NormalizeString("Пётр ИВАНОВ"), "петр иванов");
  EXPECT_EQ(NormalizeString("Zha\xCC\x84ng"), "zhang");  // decomposed: a + combining macron
}

TEST(NormalizeStringTest, NarrowsFullWidthForms) {
  EXPECT_EQ(NormalizeString("ＡＢＣ１２３"), "abc123");
  EXPECT_EQ(NormalizeString("张\xE3\x80\x80三"), "张 三");  // U+3000 ideographic space
}

TEST(NormalizeStringTest, LeavesCjkAlone) {
  EXPECT_EQ(NormalizeString("张三"), "张三");
  EXPECT_EQ(NormalizeString("山田 太郎"), "山田 太郎");
}

TEST(NormalizeStringTest, CollapsesWhiteSpace) {
  EXPECT_EQ(NormalizeString("  Peter \t\n James\xC2\xA0 "), "peter james");
  EXPECT_EQ(NormalizeString(""), "");
  EXPECT_EQ(NormalizeString(" \t "), "");
}

TEST(NormalizeStringTest, DropsInvalidUtf8) {
  EXPECT_EQ(NormalizeString("a\xFF"
                            "b\xC3"),
            "ab");
  EXPECT_EQ(NormalizeString("\xE5\xBC"), "");
  EXPECT_EQ(NormalizeString("\xED\xA0\x80x"), "x");  // a surrogate
}

}  // namespace
}  // namespace server::search
