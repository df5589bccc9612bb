// Request rate limits per client: a token bucket per client key (the token's client, else its
// subject, else the network address of an unauthenticated sender), refilled at `per_second` up to
// `burst`. A request over the limit is answered 429 with Retry-After, before it reaches a handler,
// and audited like any refused request.
//
// Memory is bounded: at most `max_clients` buckets are kept; when a new client would exceed that,
// buckets that are full again (their clients idle) are dropped first, and if none is, the new
// client shares an overflow bucket, so a flood of new identities cannot grow the table or escape
// the limit. Thread-safe.
#ifndef SERVER_PIPELINE_RATE_LIMITER_H_
#define SERVER_PIPELINE_RATE_LIMITER_H_

#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace server::pipeline {

struct RateLimitOptions {
  double per_second = 0;  // 0: no limit
  double burst = 0;       // requests a client may send at once; at least 1
  std::size_t max_clients = 100000;
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RateLimiter(
      RateLimitOptions options,
      std::function<Clock::time_point()> now = [] { return Clock::now(); });

  // Takes one request from `client`'s bucket: nullopt when it may pass, else how long until it
  // may (at least one second, as Retry-After counts whole seconds).
  std::optional<std::chrono::seconds> Take(std::string_view client);

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point updated;
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, Bucket> buckets;
    Bucket overflow;
    bool overflow_started = false;
  };
  static constexpr std::size_t kShards = 16;

  // Refills `bucket` to `now` and takes a token if there is one.
  std::optional<std::chrono::seconds> TakeFrom(Bucket& bucket, Clock::time_point now) const;
  // Drops the shard's buckets that are full again; true if any was dropped.
  bool DropIdle(Shard& shard, Clock::time_point now) const;

  const RateLimitOptions options_;
  const std::function<Clock::time_point()> now_;
  std::array<Shard, kShards> shards_;
};

}  // namespace server::pipeline

#endif  // SERVER_PIPELINE_RATE_LIMITER_H_
