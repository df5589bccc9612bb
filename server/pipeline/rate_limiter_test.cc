#include "server/pipeline/rate_limiter.h"

#include <gtest/gtest.h>

#include <string>

namespace server::pipeline {
namespace {

using namespace std::chrono_literals;

class RateLimiterTest : public ::testing::Test {
 protected:
  RateLimiter Make(RateLimitOptions options) {
    return RateLimiter(options, [this] { return now_; });
  }
  RateLimiter::Clock::time_point now_ = RateLimiter::Clock::time_point(1000s);
};

TEST_F(RateLimiterTest, LetsABurstThroughThenTheRate) {
  RateLimiter limiter = Make({.per_second = 10, .burst = 3});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Take("client:a"), std::nullopt) << i;
  auto refused = limiter.Take("client:a");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(*refused, 1s);
  // Another client has a bucket of its own.
  EXPECT_EQ(limiter.Take("client:b"), std::nullopt);
  // A tenth of a second gives one more request, not two.
  now_ += 100ms;
  EXPECT_EQ(limiter.Take("client:a"), std::nullopt);
  EXPECT_TRUE(limiter.Take("client:a").has_value());
}

TEST_F(RateLimiterTest, RetryAfterCoversTheWait) {
  RateLimiter limiter = Make({.per_second = 0.2, .burst = 1});
  EXPECT_EQ(limiter.Take("peer:10.0.0.1"), std::nullopt);
  EXPECT_EQ(limiter.Take("peer:10.0.0.1"), 5s);
  now_ += 5s;
  EXPECT_EQ(limiter.Take("peer:10.0.0.1"), std::nullopt);
}

TEST_F(RateLimiterTest, NoLimitWithoutARate) {
  RateLimiter limiter = Make({});
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(limiter.Take("client:a"), std::nullopt);
}

TEST_F(RateLimiterTest, NewIdentitiesBeyondTheTableShareOneBucket) {
  // One client per shard at most: 16 in all.
  RateLimiter limiter = Make({.per_second = 1, .burst = 2, .max_clients = 16});
  int passed = 0;
  for (int i = 0; i < 1000; ++i) {
    if (!limiter.Take("client:" + std::to_string(i)).has_value()) ++passed;
  }
  // Each shard's own client and its overflow bucket pass at most a burst each.
  EXPECT_LE(passed, 16 * 2 * 2);
  // Idle clients make room again: once buckets are full, new clients get their own.
  now_ += 10s;
  EXPECT_EQ(limiter.Take("client:new"), std::nullopt);
  EXPECT_EQ(limiter.Take("client:new"), std::nullopt);
}

}  // namespace
}  // namespace server::pipeline
