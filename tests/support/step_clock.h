// Test support: a store clock whose every reading is one second after the previous one, so
// versions written in a test have distinct, predictable lastUpdated values.
#ifndef TESTS_SUPPORT_STEP_CLOCK_H_
#define TESTS_SUPPORT_STEP_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>

#include "server/store/store.h"

namespace testing_support {

class StepClock final : public server::store::Clock {
 public:
  server::store::Timestamp Now() const override {
    return server::store::Timestamp(std::chrono::microseconds(micros_ += 1'000'000));
  }

 private:
  mutable std::atomic<std::int64_t> micros_{1'700'000'000'000'000};
};

}  // namespace testing_support

#endif  // TESTS_SUPPORT_STEP_CLOCK_H_
