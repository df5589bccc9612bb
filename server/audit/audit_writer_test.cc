#include "server/audit/audit_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace server::audit {
namespace {

using store::AuditEntry;

// An AuditLog in memory that records every batch; Append can be held at a gate and made to fail.
class FakeLog final : public store::AuditLog {
 public:
  fhir::Result<std::vector<std::int64_t>> Append(std::vector<AuditEntry> entries) override {
    std::unique_lock lock(mu_);
    ++appends_waiting_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    --appends_waiting_;
    batches_.push_back(entries.size());
    if (fail_) return fhir::Error::Unavailable("store.unavailable", "the database is down");
    std::vector<std::int64_t> seqs;
    for (AuditEntry& entry : entries) {
      entry.seq = static_cast<std::int64_t>(entries_.size()) + 1;
      seqs.push_back(entry.seq);
      entries_.push_back(std::move(entry));
    }
    return seqs;
  }
  fhir::Result<std::vector<AuditEntry>> Search(const store::AuditQuery&) override {
    return std::vector<AuditEntry>{};
  }
  fhir::Result<std::vector<AuditEntry>> Range(std::int64_t, int) override {
    return std::vector<AuditEntry>{};
  }
  fhir::Result<store::AuditHead> Head() override { return store::AuditHead{}; }
  fhir::Result<void> AddCheckpoint(const store::AuditCheckpoint&) override { return {}; }
  fhir::Result<std::vector<store::AuditCheckpoint>> Checkpoints() override {
    return std::vector<store::AuditCheckpoint>{};
  }
  fhir::Result<std::optional<std::int64_t>> FirstRecordedFrom(store::Timestamp) override {
    return std::optional<std::int64_t>();
  }
  fhir::Result<std::int64_t> Purge(std::int64_t) override { return std::int64_t{0}; }

  void SetOpen(bool open) {
    std::lock_guard lock(mu_);
    open_ = open;
    changed_.notify_all();
  }
  void SetFail(bool fail) {
    std::lock_guard lock(mu_);
    fail_ = fail;
  }
  void WaitForAppend() {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return appends_waiting_ > 0; });
  }
  std::vector<std::size_t> batches() {
    std::lock_guard lock(mu_);
    return batches_;
  }
  std::vector<AuditEntry> entries() {
    std::lock_guard lock(mu_);
    return entries_;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  bool open_ = true;
  bool fail_ = false;
  int appends_waiting_ = 0;
  std::vector<std::size_t> batches_;
  std::vector<AuditEntry> entries_;
};

AuditEntry Entry(std::string event) {
  AuditEntry entry;
  entry.event = std::move(event);
  return entry;
}

TEST(AuditWriterTest, ReturnsTheSeqOfEachEntry) {
  FakeLog log;
  AuditWriter writer(log);
  auto first = writer.Record(Entry("a"));
  auto second = writer.Record(Entry("b"));
  ASSERT_TRUE(first.ok()) << first.error().text();
  ASSERT_TRUE(second.ok()) << second.error().text();
  EXPECT_EQ(*first, 1);
  EXPECT_EQ(*second, 2);
  EXPECT_EQ(log.entries()[1].event, "b");
}

TEST(AuditWriterTest, GathersWaitingEntriesIntoOneBatch) {
  FakeLog log;
  AuditWriter writer(log, {.max_batch = 100});
  log.SetOpen(false);
  std::thread first([&] { EXPECT_TRUE(writer.Record(Entry("first")).ok()); });
  log.WaitForAppend();  // the first batch (of one) is being appended
  std::vector<std::thread> threads;
  std::mutex seqs_mu;
  std::set<std::int64_t> seqs;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&, i] {
      auto seq = writer.Record(Entry("e" + std::to_string(i)));
      ASSERT_TRUE(seq.ok());
      std::lock_guard lock(seqs_mu);
      seqs.insert(*seq);
    });
  }
  // Let the twenty queue up behind the held append.
  while (writer.queued() < 20) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  log.SetOpen(true);
  first.join();
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(seqs.size(), 20u);
  EXPECT_EQ(*seqs.begin(), 2);
  EXPECT_EQ(*seqs.rbegin(), 21);
  const std::vector<std::size_t> batches = log.batches();
  ASSERT_GE(batches.size(), 2u);
  EXPECT_EQ(batches[0], 1u);
  // Those that queued while the first append was held came together.
  EXPECT_EQ(batches[1], 20u);
}

TEST(AuditWriterTest, EntriesSubmittedByOneThreadShareABatch) {
  FakeLog log;
  AuditWriter writer(log, {.max_batch = 100});
  log.SetOpen(false);
  std::thread first([&] { EXPECT_TRUE(writer.Record(Entry("first")).ok()); });
  log.WaitForAppend();
  // One thread's twelve entries queue without waiting for each other's commit.
  std::vector<std::shared_ptr<AuditWriter::Ticket>> tickets;
  for (int i = 0; i < 12; ++i) tickets.push_back(writer.Submit(Entry("e" + std::to_string(i))));
  EXPECT_EQ(writer.queued(), 12u);
  log.SetOpen(true);
  first.join();
  for (int i = 0; i < 12; ++i) {
    auto seq = writer.Wait(tickets[i]);
    ASSERT_TRUE(seq.ok()) << seq.error().text();
    EXPECT_EQ(*seq, i + 2);
    // A ticket can be waited for again.
    EXPECT_EQ(*writer.Wait(tickets[i]), i + 2);
  }
  EXPECT_EQ(log.batches(), (std::vector<std::size_t>{1, 12}));
  // An invalid entry's ticket is settled at once, and holds nothing up.
  AuditEntry invalid = Entry("x");
  invalid.action = 'X';
  auto refused = writer.Wait(writer.Submit(invalid));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message_id(), "audit.invalid-entry");
}

TEST(AuditWriterTest, KeepsBatchesWithinMaxBatch) {
  FakeLog log;
  AuditWriter writer(log, {.max_batch = 3});
  log.SetOpen(false);
  std::thread first([&] { EXPECT_TRUE(writer.Record(Entry("first")).ok()); });
  log.WaitForAppend();
  std::vector<std::thread> threads;
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([&] { EXPECT_TRUE(writer.Record(Entry("x")).ok()); });
  }
  while (writer.queued() < 10) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  log.SetOpen(true);
  first.join();
  for (std::thread& thread : threads) thread.join();
  std::size_t total = 0;
  for (std::size_t batch : log.batches()) {
    EXPECT_LE(batch, 3u);
    total += batch;
  }
  EXPECT_EQ(total, 11u);
}

TEST(AuditWriterTest, ReturnsAnAppendFailureToEveryWaiterOfTheBatch) {
  FakeLog log;
  AuditWriter writer(log);
  log.SetFail(true);
  std::vector<std::thread> threads;
  std::atomic<int> failed = 0;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto seq = writer.Record(Entry("x"));
      if (!seq.ok() && seq.error().message_id() == "store.unavailable") ++failed;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failed.load(), 8);
  log.SetFail(false);
  auto after = writer.Record(Entry("y"));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, 1);
}

TEST(AuditWriterTest, RefusesAnInvalidEntryAlone) {
  FakeLog log;
  AuditWriter writer(log);
  AuditEntry bad = Entry("bad");
  bad.action = 'X';
  auto refused = writer.Record(bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message_id(), "audit.invalid-entry");
  EXPECT_TRUE(log.batches().empty());
}

TEST(AuditWriterTest, StopAppendsWhatWaitsThenRefuses) {
  FakeLog log;
  AuditWriter writer(log);
  log.SetOpen(false);
  std::thread first([&] { EXPECT_TRUE(writer.Record(Entry("first")).ok()); });
  log.WaitForAppend();
  std::thread second([&] { EXPECT_TRUE(writer.Record(Entry("second")).ok()); });
  while (writer.queued() < 1) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  std::thread stopper([&] { writer.Stop(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  log.SetOpen(true);
  first.join();
  second.join();
  stopper.join();
  EXPECT_EQ(log.entries().size(), 2u);
  auto late = writer.Record(Entry("late"));
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().message_id(), "audit.writer-stopped");
}

}  // namespace
}  // namespace server::audit
