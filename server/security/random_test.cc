#include "server/security/random.h"

#include <gtest/gtest.h>

namespace server::security {
namespace {

TEST(RandomTest, GivesTheBytesAskedForAndNotTheSameTwice) {
  auto a = RandomBytes(16);
  auto b = RandomBytes(16);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 16u);
  EXPECT_NE(*a, *b);
  auto none = RandomBytes(0);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace server::security
