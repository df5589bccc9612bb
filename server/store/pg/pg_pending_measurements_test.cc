// The station feed's pending queue on PostgreSQL: queue ids, idempotent adds, paging, removal
// taken by exactly one of several concurrent takers.
#include "server/store/pg/pg_pending_measurements.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "server/store/pg/migrations.h"
#include "tests/support/pg_cluster.h"

namespace server::store::pg {
namespace {

PendingMeasurement Measurement(std::string id, std::string station = "ST-1") {
  PendingMeasurement m;
  m.station = std::move(station);
  m.measurement_id = std::move(id);
  m.resident_system = "urn:oid:2.16.156.10011.1.3";
  m.resident_value = "11010519491231002X";
  m.reason = "unknown-resident";
  m.source = R"({"station":{"id":"ST-1"},"items":[]})";
  return m;
}

class PgPendingMeasurementsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    conninfo_ = testing_support::PgTestCluster::Get().CreateDatabase();
    ASSERT_TRUE(Migrate(conninfo_).ok());
    queue_ = std::make_unique<PgPendingMeasurements>(PoolOptions{.conninfo = conninfo_});
  }
  std::string conninfo_;
  std::unique_ptr<PgPendingMeasurements> queue_;
};

TEST_F(PgPendingMeasurementsTest, AddIsIdempotentByStationAndMeasurement) {
  auto first = queue_->Add(Measurement("m-1"));
  ASSERT_TRUE(first.ok()) << first.error().text();
  EXPECT_EQ(*queue_->Add(Measurement("m-1")), *first);
  EXPECT_NE(*queue_->Add(Measurement("m-1", "ST-2")), *first);
  EXPECT_NE(*queue_->Add(Measurement("m-2")), *first);
  auto all = queue_->List(0, 10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  const PendingMeasurement& got = all->front();
  EXPECT_EQ(got.id, *first);
  EXPECT_EQ(got.measurement_id, "m-1");
  EXPECT_EQ(got.resident_value, "11010519491231002X");
  EXPECT_EQ(got.source, Measurement("m-1").source);
  EXPECT_GT(got.received.time_since_epoch().count(), 0);
}

TEST_F(PgPendingMeasurementsTest, PagesInIdOrder) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(queue_->Add(Measurement("m-" + std::to_string(i))).ok());
  auto page = queue_->List(0, 2);
  ASSERT_EQ(page->size(), 2u);
  auto next = queue_->List(page->back().id, 10);
  ASSERT_EQ(next->size(), 3u);
  EXPECT_EQ(next->front().measurement_id, "m-2");
  EXPECT_FALSE(queue_->List(0, 0).ok());
  EXPECT_FALSE(queue_->List(0, 1001).ok());
}

TEST_F(PgPendingMeasurementsTest, OneTakerRemovesAnEntry) {
  const std::int64_t id = *queue_->Add(Measurement("m-1"));
  ASSERT_TRUE(queue_->Get(id)->has_value());
  std::atomic<int> taken{0};
  std::vector<std::thread> takers;
  for (int i = 0; i < 4; ++i) {
    takers.emplace_back([&] {
      auto removed = queue_->Remove(id);
      if (removed.ok() && *removed) ++taken;
    });
  }
  for (auto& taker : takers) taker.join();
  EXPECT_EQ(taken.load(), 1);
  EXPECT_FALSE(queue_->Get(id)->has_value());
  // Queued again after a failed write: a new entry.
  EXPECT_NE(*queue_->Add(Measurement("m-1")), id);
}

}  // namespace
}  // namespace server::store::pg
