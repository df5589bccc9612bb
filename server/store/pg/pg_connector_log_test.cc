// The connector log on PostgreSQL: the acknowledgement cache (first answer wins, also between
// concurrent copies) and dead letters (raw bytes kept exactly, repeated failures merged, replay).
#include "server/store/pg/pg_connector_log.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "server/store/pg/migrations.h"
#include "tests/support/pg_cluster.h"

namespace server::store::pg {
namespace {

using namespace std::chrono_literals;

Timestamp At(int minute) {
  // 2026-11-22T10:00:00Z plus `minute` minutes.
  return Timestamp(std::chrono::seconds(1'795'341'600) + std::chrono::minutes(minute));
}

MessageKey Key(std::string control_id) { return {"mllp", "LAB^HOSP", std::move(control_id)}; }

DeadLetter Letter(std::string raw, std::vector<std::string> reasons, int minute) {
  DeadLetter letter;
  letter.connector = "mllp";
  letter.sender = "LAB^HOSP";
  letter.control_id = "m1";
  letter.received = At(minute);
  letter.last_attempt = At(minute);
  letter.raw = std::move(raw);
  letter.reasons = std::move(reasons);
  return letter;
}

class PgConnectorLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    conninfo_ = testing_support::PgTestCluster::Get().CreateDatabase();
    auto migrated = Migrate(conninfo_);
    ASSERT_TRUE(migrated.ok()) << migrated.error().text();
    log_ = std::make_unique<PgConnectorLog>(PgConnectorLogOptions{.pool = {conninfo_, 8, 5000ms}});
  }

  std::string conninfo_;
  std::unique_ptr<PgConnectorLog> log_;
};

TEST_F(PgConnectorLogTest, TheFirstAcknowledgementWins) {
  auto none = log_->FindAck(Key("m1"));
  ASSERT_TRUE(none.ok()) << none.error().text();
  EXPECT_FALSE(none->has_value());

  // Bytes of another character set and control characters come back unchanged.
  const std::string first = "MSH|^~\\&|FHIRHUB\rMSA|AA|m1\r\xb2\xe2\xca\xd4";
  auto recorded = log_->RecordAck(Key("m1"), first, At(0));
  ASSERT_TRUE(recorded.ok()) << recorded.error().text();
  EXPECT_EQ(*recorded, first);
  auto again = log_->RecordAck(Key("m1"), "MSA|AA|other", At(1));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, first);
  auto found = log_->FindAck(Key("m1"));
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->value_or(""), first);

  // Another sender's message with the same control id is another message.
  auto other = log_->FindAck({"mllp", "ADT^HOSP", "m1"});
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
}

TEST_F(PgConnectorLogTest, ConcurrentCopiesGetOneAcknowledgement) {
  std::vector<std::thread> threads;
  std::vector<std::string> answers(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto recorded = log_->RecordAck(Key("race"), "ACK " + std::to_string(i), At(i));
      answers[i] = recorded.ok() ? *recorded : recorded.error().text();
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(std::set<std::string>(answers.begin(), answers.end()).size(), 1u);
  EXPECT_EQ(answers[0].rfind("ACK ", 0), 0u) << answers[0];
}

TEST_F(PgConnectorLogTest, DeadLettersKeepTheMessageAndMergeRepeatedFailures) {
  const std::string raw = std::string("MSH|^~\\&|LAB\rPID|1||\x00\xff", 20) + "\r";
  auto first = log_->AddDeadLetter(Letter(raw, {"PID-3: no identifier", "a \"quoted\", b"}, 0));
  ASSERT_TRUE(first.ok()) << first.error().text();
  auto again = log_->AddDeadLetter(Letter(raw, {"OBX-5: bad value"}, 5));
  ASSERT_TRUE(again.ok()) << again.error().text();
  EXPECT_EQ(*again, *first);
  auto other = log_->AddDeadLetter(Letter("MSH|other\r", {"x"}, 6));
  ASSERT_TRUE(other.ok());
  EXPECT_NE(*other, *first);

  auto letters = log_->DeadLetters({.status = DeadLetterStatus::kOpen});
  ASSERT_TRUE(letters.ok()) << letters.error().text();
  ASSERT_EQ(letters->size(), 2u);
  const DeadLetter& letter = letters->front();
  EXPECT_EQ(letter.id, *first);
  EXPECT_EQ(letter.raw, raw);
  EXPECT_EQ(letter.sender, "LAB^HOSP");
  EXPECT_EQ(letter.control_id, "m1");
  EXPECT_EQ(letter.received, At(0));
  EXPECT_EQ(letter.last_attempt, At(5));
  EXPECT_EQ(letter.attempts, 2);
  EXPECT_EQ(letter.reasons, std::vector<std::string>{"OBX-5: bad value"});
  EXPECT_FALSE(letter.replayed_at.has_value());

  ASSERT_TRUE(log_->MarkReplayed(*first, At(9)).ok());
  auto open = log_->DeadLetters({.status = DeadLetterStatus::kOpen});
  ASSERT_TRUE(open.ok());
  ASSERT_EQ(open->size(), 1u);
  EXPECT_EQ(open->front().id, *other);
  auto replayed = log_->DeadLetters({.id = *first});
  ASSERT_TRUE(replayed.ok());
  ASSERT_EQ(replayed->size(), 1u);
  EXPECT_EQ(replayed->front().status, DeadLetterStatus::kReplayed);
  EXPECT_EQ(replayed->front().replayed_at, At(9));

  // Failing again after the replay opens a new dead letter.
  auto reopened = log_->AddDeadLetter(Letter(raw, {"again"}, 10));
  ASSERT_TRUE(reopened.ok());
  EXPECT_NE(*reopened, *first);
}

TEST_F(PgConnectorLogTest, RefusesBadQueriesAndUnknownIds) {
  auto bad = log_->DeadLetters({.count = 0});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message_id(), "connectors.invalid-query");
  auto missing = log_->MarkReplayed(42, At(0));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message_id(), "connectors.no-dead-letter");
  EXPECT_EQ(missing.error().http_status(), 404);
}

TEST_F(PgConnectorLogTest, PagesByIdInOrder) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(log_->AddDeadLetter(Letter("MSH|" + std::to_string(i) + "\r", {"r"}, i)).ok());
  }
  auto page = log_->DeadLetters({.count = 2});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  auto next = log_->DeadLetters({.after_id = page->back().id, .count = 10});
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->size(), 3u);
  EXPECT_GT(next->front().id, page->back().id);
  EXPECT_EQ(next->back().raw, "MSH|4\r");
}

}  // namespace
}  // namespace server::store::pg
