#include "server/pipeline/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace server::pipeline {

RateLimiter::RateLimiter(RateLimitOptions options, std::function<Clock::time_point()> now)
    : options_(options), now_(std::move(now)) {}

std::optional<std::chrono::seconds> RateLimiter::TakeFrom(Bucket& bucket,
                                                          Clock::time_point now) const {
  const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
  bucket.tokens = std::min(options_.burst, bucket.tokens + elapsed * options_.per_second);
  bucket.updated = now;
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return std::nullopt;
  }
  const double wait = (1 - bucket.tokens) / options_.per_second;
  return std::chrono::seconds(std::max<long long>(1, static_cast<long long>(std::ceil(wait))));
}

bool RateLimiter::DropIdle(Shard& shard, Clock::time_point now) const {
  const std::size_t before = shard.buckets.size();
  std::erase_if(shard.buckets, [&](const auto& entry) {
    const Bucket& bucket = entry.second;
    const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
    return bucket.tokens + elapsed * options_.per_second >= options_.burst;
  });
  return shard.buckets.size() < before;
}

std::optional<std::chrono::seconds> RateLimiter::Take(std::string_view client) {
  if (options_.per_second <= 0) return std::nullopt;
  const Clock::time_point now = now_();
  Shard& shard = shards_[std::hash<std::string_view>()(client) % kShards];
  std::lock_guard lock(shard.mutex);
  auto found = shard.buckets.find(std::string(client));
  if (found == shard.buckets.end()) {
    const std::size_t per_shard = std::max<std::size_t>(1, options_.max_clients / kShards);
    if (shard.buckets.size() >= per_shard && !DropIdle(shard, now)) {
      if (!shard.overflow_started) {
        shard.overflow = Bucket{options_.burst, now};
        shard.overflow_started = true;
      }
      return TakeFrom(shard.overflow, now);
    }
    found = shard.buckets.emplace(std::string(client), Bucket{options_.burst, now}).first;
  }
  return TakeFrom(found->second, now);
}

}  // namespace server::pipeline
