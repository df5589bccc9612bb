// The audit log on PostgreSQL: appending and searching, the privileges that make it append-only
// for the server's role, tampering by a superuser and its detection, concurrent appenders.
#include "server/store/pg/pg_audit_log.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "server/audit/audit_chain.h"
#include "server/audit/audit_checkpoint.h"
#include "server/audit/audit_retention.h"
#include "server/audit/audit_verify.h"
#include "server/audit/audit_writer.h"
#include "server/security/digest.h"
#include "server/security/keys.h"
#include "server/store/pg/connection.h"
#include "server/store/pg/migrations.h"
#include "server/store/pg/sql_values.h"
#include "tests/support/pg_cluster.h"

namespace server::store::pg {
namespace {

using audit::BreakKind;
using namespace std::chrono_literals;

Timestamp At(int minute) {
  // 2026-11-22T10:00:00Z plus `minute` minutes.
  return Timestamp(std::chrono::seconds(1'795'341'600) + std::chrono::minutes(minute));
}

AuditEntry Entry(int n, std::string patient = "p1") {
  AuditEntry entry;
  entry.recorded = At(n);
  entry.action = n % 2 == 0 ? 'R' : 'U';
  entry.outcome = n % 3 == 0 ? 4 : 0;
  entry.patients = {std::move(patient)};
  entry.agents = {"Practitioner/" + std::to_string(n % 2), "client:app \"x\""};
  entry.entities = {"Observation/o" + std::to_string(n) + "/_history/1"};
  entry.event = R"({"resourceType":"AuditEvent","id":")" + std::to_string(n) + R"(","x":1.50})";
  return entry;
}

// A stand-in signature for the verifier's checkpoint checks: SHA-256 of the message.
std::string FakeSign(std::string_view message) {
  return security::Digest(security::HashAlgorithm::kSha256, message);
}
const audit::SignatureCheck kFakeCheck = [](const AuditCheckpoint& checkpoint,
                                            std::string_view message) {
  return checkpoint.signature == FakeSign(message);
};

class PgAuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& cluster = testing_support::PgTestCluster::Get();
    conninfo_ = cluster.CreateDatabase();
    auto migrated = Migrate(conninfo_);
    ASSERT_TRUE(migrated.ok()) << migrated.error().text();
    auto conn = PgConnection::Connect(conninfo_);
    ASSERT_TRUE(conn.ok());
    auto name = (*conn)->ExecSimple("SELECT current_database()");
    ASSERT_TRUE(name.ok());
    superuser_conninfo_ = cluster.cluster().SuperuserConnectionString(name->Get(0, 0));
    log_ = NewLog();
  }

  std::unique_ptr<PgAuditLog> NewLog(
      security::HashAlgorithm algorithm = security::HashAlgorithm::kSha256) {
    return std::make_unique<PgAuditLog>(
        PgAuditLogOptions{.pool = {conninfo_, 4, 5000ms}, .hash_algorithm = algorithm});
  }

  void Seal() {
    auto conn = PgConnection::Connect(superuser_conninfo_);
    ASSERT_TRUE(conn.ok());
    auto sealed = SealAuditTables(**conn, "fhirhub");
    ASSERT_TRUE(sealed.ok()) << sealed.error().text();
  }

  void AppendN(int n) {
    std::vector<AuditEntry> entries;
    for (int i = 1; i <= n; ++i) entries.push_back(Entry(i));
    auto seqs = log_->Append(entries);
    ASSERT_TRUE(seqs.ok()) << seqs.error().text();
  }

  // Runs `sql` as the superuser with triggers off, as an intruder with full rights would.
  void Tamper(const std::string& sql, const std::vector<Param>& params = {}) {
    auto conn = PgConnection::Connect(superuser_conninfo_);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE((*conn)->ExecSimple("SET session_replication_role = replica").ok());
    auto done = (*conn)->Exec("tamper", sql, params);
    ASSERT_TRUE(done.ok()) << done.error().text();
  }

  void Checkpoint(std::int64_t seq) {
    auto entries = log_->Range(seq - 1, 1);
    ASSERT_TRUE(entries.ok());
    ASSERT_EQ(entries->size(), 1u);
    AuditCheckpoint checkpoint{.seq = seq,
                               .hash = (*entries)[0].hash,
                               .key_id = "test-key",
                               .algorithm = "sha256-digest",
                               .signed_at = At(100)};
    checkpoint.signature = FakeSign(audit::CheckpointMessage(checkpoint));
    auto added = log_->AddCheckpoint(checkpoint);
    ASSERT_TRUE(added.ok()) << added.error().text();
  }

  audit::VerifyReport Verify(int page = 1000) {
    auto report = audit::VerifyAuditLog(*log_, kFakeCheck, At(1000), page);
    EXPECT_TRUE(report.ok()) << report.error().text();
    return report.ok() ? *report : audit::VerifyReport{};
  }

  std::string conninfo_;
  std::string superuser_conninfo_;
  std::unique_ptr<PgAuditLog> log_;
};

TEST_F(PgAuditLogTest, AppendsInOrderAndChains) {
  auto first = log_->Append({Entry(1), Entry(2), Entry(3)});
  ASSERT_TRUE(first.ok()) << first.error().text();
  EXPECT_EQ(*first, (std::vector<std::int64_t>{1, 2, 3}));
  auto second = log_->Append({Entry(4), Entry(5)});
  ASSERT_TRUE(second.ok()) << second.error().text();
  EXPECT_EQ(*second, (std::vector<std::int64_t>{4, 5}));
  auto empty = log_->Append({});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());

  auto entries = log_->Range(0, 1000);
  ASSERT_TRUE(entries.ok()) << entries.error().text();
  ASSERT_EQ(entries->size(), 5u);
  const AuditEntry& third = (*entries)[2];
  const AuditEntry expected = Entry(3);
  EXPECT_EQ(third.seq, 3);
  EXPECT_EQ(third.tenant, "default");
  EXPECT_EQ(third.recorded, expected.recorded);
  EXPECT_EQ(third.action, expected.action);
  EXPECT_EQ(third.outcome, expected.outcome);
  EXPECT_EQ(third.patients, expected.patients);
  EXPECT_EQ(third.agents, expected.agents);
  EXPECT_EQ(third.entities, expected.entities);
  EXPECT_EQ(third.event, expected.event);
  EXPECT_EQ(third.hash_algorithm, "sha256");
  EXPECT_EQ((*entries)[0].prev_hash, audit::GenesisHash());
  EXPECT_EQ(third.prev_hash, (*entries)[1].hash);

  auto head = log_->Head();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->seq, 5);
  EXPECT_EQ(head->hash, (*entries)[4].hash);

  const audit::VerifyReport report = Verify(2);
  EXPECT_TRUE(report.intact()) << report.broken->text;
  EXPECT_EQ(report.entries, 5);
}

TEST_F(PgAuditLogTest, RefusesInvalidEntriesAndPages) {
  AuditEntry bad = Entry(1);
  bad.outcome = 3;
  auto refused = log_->Append({Entry(2), bad});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message_id(), "audit.invalid-entry");
  auto range = log_->Range(0, 0);
  ASSERT_FALSE(range.ok());
  EXPECT_EQ(range.error().message_id(), "audit.invalid-query");
  auto search = log_->Search({.count = 1001});
  ASSERT_FALSE(search.ok());
  EXPECT_EQ(search.error().message_id(), "audit.invalid-query");
  auto head = log_->Head();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->seq, 0);
}

TEST_F(PgAuditLogTest, SearchesByEveryCondition) {
  std::vector<AuditEntry> entries;
  for (int i = 1; i <= 10; ++i) entries.push_back(Entry(i, i <= 6 ? "p1" : "p2"));
  ASSERT_TRUE(log_->Append(entries).ok());
  auto seqs = [&](const AuditQuery& query) {
    std::vector<std::int64_t> out;
    auto found = log_->Search(query);
    EXPECT_TRUE(found.ok()) << found.error().text();
    if (found.ok()) {
      for (const AuditEntry& entry : *found) out.push_back(entry.seq);
    }
    return out;
  };
  using V = std::vector<std::int64_t>;
  EXPECT_EQ(seqs({.patient = "p2"}), (V{7, 8, 9, 10}));
  EXPECT_EQ(seqs({.patient = "p1", .recorded_from = At(2), .recorded_to = At(5)}), (V{2, 3, 4}));
  EXPECT_EQ(seqs({.agent = "Practitioner/0", .recorded_to = At(7)}), (V{2, 4, 6}));
  EXPECT_EQ(seqs({.entity = "Observation/o5/_history/1"}), (V{5}));
  EXPECT_EQ(seqs({.action = 'U', .outcome = 4}), (V{3, 9}));
  EXPECT_EQ(seqs({.patient = "p1", .after_seq = 2, .count = 2}), (V{3, 4}));
  EXPECT_EQ(seqs({.patient = "p1", .count = 2, .descending = true}), (V{6, 5}));
  EXPECT_EQ(seqs({.patient = "p1", .after_seq = 5, .count = 2, .descending = true}), (V{4, 3}));
  EXPECT_TRUE(seqs({.patient = "p3"}).empty());
  EXPECT_TRUE(seqs({.agent = "client:app"}).empty());  // exact strings only

  // Another tenant's log appends to the same chain but searches only its own entries.
  PgAuditLog other(PgAuditLogOptions{.pool = {conninfo_, 2, 5000ms}, .tenant = "other"});
  auto appended = other.Append({Entry(11, "p2")});
  ASSERT_TRUE(appended.ok());
  EXPECT_EQ(*appended, (V{11}));
  EXPECT_EQ(seqs({.patient = "p2"}), (V{7, 8, 9, 10}));
  EXPECT_TRUE(Verify().intact());
}

TEST_F(PgAuditLogTest, HashesWithSm3WhenConfigured) {
  AppendN(2);
  log_ = NewLog(security::HashAlgorithm::kSm3);
  AppendN(2);
  auto entries = log_->Range(0, 10);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 4u);
  EXPECT_EQ((*entries)[1].hash_algorithm, "sha256");
  EXPECT_EQ((*entries)[2].hash_algorithm, "sm3");
  EXPECT_EQ((*entries)[2].hash,
            audit::EntryHash(security::HashAlgorithm::kSm3, (*entries)[1].hash, (*entries)[2]));
  EXPECT_TRUE(Verify().intact());
}

TEST_F(PgAuditLogTest, IsAppendOnlyForTheServerRole) {
  Seal();
  AppendN(3);
  Checkpoint(3);
  auto conn = PgConnection::Connect(conninfo_);
  ASSERT_TRUE(conn.ok());
  for (const char* sql : {
           "UPDATE audit.audit_event SET event = '{}' WHERE seq = 2",
           "DELETE FROM audit.audit_event WHERE seq = 3",
           "TRUNCATE audit.audit_event",
           "UPDATE audit.audit_checkpoint SET seq = 1",
           "DELETE FROM audit.audit_checkpoint",
           "TRUNCATE audit.audit_checkpoint",
           "DROP TABLE audit.audit_event",
           "DROP SCHEMA audit CASCADE",
           "ALTER TABLE audit.audit_event DISABLE TRIGGER append_only",
           "ALTER TABLE audit.audit_event RENAME TO old_event",
           "CREATE OR REPLACE FUNCTION audit.reject_change() RETURNS trigger LANGUAGE plpgsql "
           "AS $$ BEGIN RETURN OLD; END $$",
       }) {
    auto done = (*conn)->ExecSimple(sql);
    EXPECT_FALSE(done.ok()) << sql;
  }
  // Appending and reading still work.
  AppendN(1);
  const audit::VerifyReport report = Verify();
  EXPECT_TRUE(report.intact()) << report.broken->text;
  EXPECT_EQ(report.entries, 4);
  EXPECT_EQ(report.checkpoints, 1);
  // Sealing again changes nothing.
  Seal();
}

TEST_F(PgAuditLogTest, TheTriggerRefusesChangesEvenByTheOwner) {
  // Not sealed: the server's role owns the tables, as on an external database before the
  // operator hands them over.
  AppendN(2);
  auto conn = PgConnection::Connect(conninfo_);
  ASSERT_TRUE(conn.ok());
  for (const char* sql : {"UPDATE audit.audit_event SET event = '{}' WHERE seq = 2",
                          "DELETE FROM audit.audit_event WHERE seq = 2",
                          "TRUNCATE audit.audit_event", "TRUNCATE audit.audit_checkpoint"}) {
    auto done = (*conn)->ExecSimple(sql);
    ASSERT_FALSE(done.ok()) << sql;
    EXPECT_NE(done.error().text().find("append-only"), std::string::npos) << done.error().text();
  }
}

TEST_F(PgAuditLogTest, DetectsAModifiedEntry) {
  Seal();
  AppendN(5);
  Tamper("UPDATE audit.audit_event SET event = event || ' ' WHERE seq = 3");
  const audit::VerifyReport report = Verify();
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.broken->seq, 3);
  EXPECT_EQ(report.broken->kind, BreakKind::kModified);
  EXPECT_EQ(report.entries, 2);
}

TEST_F(PgAuditLogTest, DetectsAModifiedSearchKey) {
  AppendN(5);
  Tamper("UPDATE audit.audit_event SET patients = '{p9}' WHERE seq = 4");
  const audit::VerifyReport report = Verify();
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.broken->seq, 4);
  EXPECT_EQ(report.broken->kind, BreakKind::kModified);
}

TEST_F(PgAuditLogTest, DetectsADeletedEntry) {
  AppendN(5);
  Tamper("DELETE FROM audit.audit_event WHERE seq = 3");
  const audit::VerifyReport report = Verify(2);
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.broken->seq, 3);
  EXPECT_EQ(report.broken->kind, BreakKind::kDeleted);
}

TEST_F(PgAuditLogTest, DetectsAnInsertedEntry) {
  AppendN(5);
  // Entries 3.. move up one and a forged entry, correctly hashed onto entry 2, takes seq 3.
  Tamper("UPDATE audit.audit_event SET seq = seq + 1000 WHERE seq >= 3");
  Tamper("UPDATE audit.audit_event SET seq = seq - 999 WHERE seq > 1000");
  auto entries = log_->Range(1, 1);
  ASSERT_TRUE(entries.ok());
  std::vector<AuditEntry> forged = {Entry(42, "p-forged")};
  forged[0].tenant = "default";
  audit::ChainEntries(security::HashAlgorithm::kSha256, 2, (*entries)[0].hash, forged);
  const AuditEntry& f = forged[0];
  Tamper(
      "INSERT INTO audit.audit_event (seq, tenant, recorded, action, outcome, patients, agents, "
      "entities, event, hash_algorithm, prev_hash, hash) VALUES (3, 'default', "
      "timestamptz 'epoch' + $1::bigint * interval '1 microsecond', $2, $3::int, $4::text[], "
      "$5::text[], $6::text[], $7, 'sha256', decode($8, 'hex'), decode($9, 'hex'))",
      {std::to_string(f.recorded.time_since_epoch().count()), std::string(1, f.action),
       std::to_string(f.outcome), TextArray(f.patients), TextArray(f.agents), TextArray(f.entities),
       f.event, security::HexEncode(f.prev_hash), security::HexEncode(f.hash)});
  const audit::VerifyReport report = Verify();
  ASSERT_FALSE(report.intact());
  // The forged entry itself is consistent; the break is where the real entries resume.
  EXPECT_EQ(report.broken->seq, 4);
  EXPECT_EQ(report.broken->kind, BreakKind::kInserted);
}

TEST_F(PgAuditLogTest, DetectsSwappedEntries) {
  AppendN(5);
  Tamper("UPDATE audit.audit_event SET seq = 1003 WHERE seq = 3");
  Tamper("UPDATE audit.audit_event SET seq = 3 WHERE seq = 4");
  Tamper("UPDATE audit.audit_event SET seq = 4 WHERE seq = 1003");
  const audit::VerifyReport report = Verify();
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.broken->seq, 3);
  EXPECT_EQ(report.broken->kind, BreakKind::kInserted);
}

TEST_F(PgAuditLogTest, DetectsATruncatedTailByItsCheckpoint) {
  AppendN(5);
  Checkpoint(2);
  Checkpoint(5);
  EXPECT_TRUE(Verify().intact());
  Tamper("DELETE FROM audit.audit_event WHERE seq >= 4");
  const audit::VerifyReport report = Verify();
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.broken->seq, 4);
  EXPECT_EQ(report.broken->kind, BreakKind::kTruncated);
  EXPECT_EQ(report.entries, 3);
}

TEST_F(PgAuditLogTest, DetectsARecomputedChainByItsCheckpoint) {
  AppendN(5);
  Checkpoint(4);
  // Entry 3 changed and every hash from there on recomputed: the chain is consistent again.
  auto entries = log_->Range(0, 10);
  ASSERT_TRUE(entries.ok());
  std::vector<AuditEntry> rewritten(entries->begin() + 2, entries->end());
  rewritten[0].event = R"({"resourceType":"AuditEvent","id":"rewritten"})";
  audit::ChainEntries(security::HashAlgorithm::kSha256, 2, (*entries)[1].hash, rewritten);
  for (const AuditEntry& entry : rewritten) {
    Tamper(
        "UPDATE audit.audit_event SET event = $1, prev_hash = decode($2, 'hex'), "
        "hash = decode($3, 'hex') WHERE seq = $4",
        {entry.event, security::HexEncode(entry.prev_hash), security::HexEncode(entry.hash),
         std::to_string(entry.seq)});
  }
  const audit::VerifyReport report = Verify();
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.broken->seq, 4);
  EXPECT_EQ(report.broken->kind, BreakKind::kRewritten);
}

TEST_F(PgAuditLogTest, DetectsABadCheckpointSignature) {
  AppendN(3);
  Checkpoint(2);
  Tamper("UPDATE audit.audit_checkpoint SET signed_at = signed_at + interval '1 day'");
  const audit::VerifyReport report = Verify();
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.broken->seq, 2);
  EXPECT_EQ(report.broken->kind, BreakKind::kBadCheckpointSignature);
}

TEST_F(PgAuditLogTest, SignsCheckpointsWithP256AndSm2Keys) {
  for (auto algorithm : {security::KeyAlgorithm::kEcP256, security::KeyAlgorithm::kSm2}) {
    auto key = security::PrivateKey::Generate(algorithm);
    ASSERT_TRUE(key.ok()) << key.error().text();
    AppendN(2);
    auto checkpoint = audit::WriteCheckpoint(*log_, *key, At(200));
    ASSERT_TRUE(checkpoint.ok()) << checkpoint.error().text();
    auto head = log_->Head();
    ASSERT_TRUE(head.ok());
    EXPECT_EQ(checkpoint->seq, head->seq);
    EXPECT_EQ(checkpoint->hash, head->hash);
    EXPECT_EQ(checkpoint->key_id, key->Public().Thumbprint());
    EXPECT_EQ(checkpoint->algorithm,
              algorithm == security::KeyAlgorithm::kSm2 ? "SM2SM3" : "ES256");

    auto report =
        audit::VerifyAuditLog(*log_, audit::CheckpointSignatureCheck(key->Public()), At(1000));
    ASSERT_TRUE(report.ok()) << report.error().text();
    EXPECT_TRUE(report->intact()) << report->broken->text;
    EXPECT_EQ(report->checkpoints, 1);

    // Another key does not vouch for it.
    auto other = security::PrivateKey::Generate(algorithm);
    ASSERT_TRUE(other.ok());
    report =
        audit::VerifyAuditLog(*log_, audit::CheckpointSignatureCheck(other->Public()), At(1000));
    ASSERT_TRUE(report.ok());
    ASSERT_FALSE(report->intact());
    EXPECT_EQ(report->broken->kind, BreakKind::kBadCheckpointSignature);
    EXPECT_EQ(report->broken->seq, checkpoint->seq);

    // A signature moved to another seq no longer verifies.
    Tamper("UPDATE audit.audit_checkpoint SET seq = seq - 1");
    report = audit::VerifyAuditLog(*log_, audit::CheckpointSignatureCheck(key->Public()), At(1000));
    ASSERT_TRUE(report.ok());
    ASSERT_FALSE(report->intact());
    EXPECT_EQ(report->broken->kind, BreakKind::kBadCheckpointSignature);
    Tamper("DELETE FROM audit.audit_checkpoint");
  }
}

TEST_F(PgAuditLogTest, ChecksACheckpointOfTheEmptyLog) {
  auto key = security::PrivateKey::Generate(security::KeyAlgorithm::kEcP256);
  ASSERT_TRUE(key.ok());
  auto checkpoint = audit::WriteCheckpoint(*log_, *key, At(0));
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.error().text();
  EXPECT_EQ(checkpoint->seq, 0);
  auto report =
      audit::VerifyAuditLog(*log_, audit::CheckpointSignatureCheck(key->Public()), At(1000));
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->intact()) << report->broken->text;
}

// Entries recorded `age` before `now`, a minute apart, and a checkpoint signed right after them.
class PgAuditRetentionTest : public PgAuditLogTest {
 protected:
  void SetUp() override {
    PgAuditLogTest::SetUp();
    auto key = security::PrivateKey::Generate(security::KeyAlgorithm::kEcP256);
    ASSERT_TRUE(key.ok());
    key_ = std::make_unique<security::PrivateKey>(std::move(*key));
  }

  void AppendAged(int count, std::chrono::days age, bool checkpoint = true) {
    std::vector<AuditEntry> entries;
    for (int i = 0; i < count; ++i) {
      AuditEntry entry = Entry(i);
      entry.recorded = now_ - age + std::chrono::minutes(i);
      entries.push_back(std::move(entry));
    }
    ASSERT_TRUE(log_->Append(entries).ok());
    if (!checkpoint) return;
    auto signed_at = now_ - age + std::chrono::minutes(count);
    auto written = audit::WriteCheckpoint(*log_, *key_, signed_at);
    ASSERT_TRUE(written.ok()) << written.error().text();
  }

  audit::VerifyReport VerifyNow() {
    auto report =
        audit::VerifyAuditLog(*log_, audit::CheckpointSignatureCheck(key_->Public()), now_);
    EXPECT_TRUE(report.ok()) << report.error().text();
    return report.ok() ? *report : audit::VerifyReport{};
  }

  const Timestamp now_ = At(0);
  std::unique_ptr<security::PrivateKey> key_;
};

TEST_F(PgAuditRetentionTest, RemovesOldRecordsUpToASignedCheckpointAndStaysVerifiable) {
  Seal();
  AppendAged(4, std::chrono::days(400));  // seq 1-4, checkpoint at 4
  AppendAged(2, std::chrono::days(200));  // seq 5-6, checkpoint at 6
  AppendAged(3, std::chrono::days(7));    // seq 7-9, checkpoint at 9

  auto short_period = audit::ApplyRetention(*log_, now_, std::chrono::days(100));
  ASSERT_FALSE(short_period.ok());
  EXPECT_EQ(short_period.error().message_id(), "audit.retention");

  auto removed = audit::ApplyRetention(*log_, now_, std::chrono::days(365));
  ASSERT_TRUE(removed.ok()) << removed.error().text();
  EXPECT_EQ(removed->removed, 4);
  EXPECT_EQ(removed->through, 4);
  audit::VerifyReport report = VerifyNow();
  EXPECT_TRUE(report.intact()) << report.broken->text;
  EXPECT_EQ(report.first_seq, 5);
  EXPECT_EQ(report.entries, 5);
  EXPECT_EQ(report.checkpoints, 3);

  // Nothing else is a year old.
  removed = audit::ApplyRetention(*log_, now_, std::chrono::days(365));
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->removed, 0);

  // A shorter period reaches the records of 200 days ago; last week's stay.
  removed = audit::ApplyRetention(*log_, now_, std::chrono::days(190));
  ASSERT_TRUE(removed.ok()) << removed.error().text();
  EXPECT_EQ(removed->removed, 2);
  report = VerifyNow();
  EXPECT_TRUE(report.intact()) << report.broken->text;
  EXPECT_EQ(report.first_seq, 7);
  EXPECT_EQ(report.entries, 3);

  // Appending goes on from the chain's head.
  AppendAged(1, std::chrono::days(0), false);
  report = VerifyNow();
  EXPECT_TRUE(report.intact()) << report.broken->text;
  EXPECT_EQ(report.entries, 4);
}

TEST_F(PgAuditRetentionTest, OldRecordsWithoutACheckpointAfterThemStay) {
  Seal();
  AppendAged(3, std::chrono::days(400), false);
  AppendAged(2, std::chrono::days(3));  // the only checkpoint covers young records
  auto removed = audit::ApplyRetention(*log_, now_, std::chrono::days(365));
  ASSERT_TRUE(removed.ok()) << removed.error().text();
  EXPECT_EQ(removed->removed, 0);
  EXPECT_EQ(VerifyNow().entries, 5);
}

TEST_F(PgAuditRetentionTest, TheDatabaseRefusesToRemoveYoungRecords) {
  Seal();
  AppendAged(3, std::chrono::days(10));  // checkpoint at seq 3
  AppendAged(2, std::chrono::days(1));   // checkpoint at seq 5
  for (std::int64_t through : {3, 4, 5}) {
    // Young records at a checkpoint, a seq without one, the last entry.
    auto refused = log_->Purge(through);
    ASSERT_FALSE(refused.ok()) << through;
    EXPECT_EQ(refused.error().message_id(), "audit.retention-refused") << through;
  }
  // The server's role may not delete rows itself.
  auto conn = PgConnection::Connect(conninfo_);
  ASSERT_TRUE(conn.ok());
  EXPECT_FALSE((*conn)->ExecSimple("DELETE FROM audit.audit_event WHERE seq = 1").ok());
  EXPECT_FALSE((*conn)
                   ->ExecSimple("SET fhirhub.audit_purge = 'on'; "
                                "DELETE FROM audit.audit_event WHERE seq = 1")
                   .ok());
  const audit::VerifyReport report = VerifyNow();
  EXPECT_TRUE(report.intact()) << report.broken->text;
  EXPECT_EQ(report.entries, 5);
}

TEST_F(PgAuditRetentionTest, ACutThatRetentionCouldNotHaveMadeIsReportedAsDeleted) {
  AppendAged(4, std::chrono::days(400));  // checkpoint at seq 4, a year old
  AppendAged(2, std::chrono::days(30));   // checkpoint at seq 6, a month old
  AppendAged(1, std::chrono::days(1));
  // Not at a checkpoint.
  Tamper("DELETE FROM audit.audit_event WHERE seq <= 2");
  audit::VerifyReport report = VerifyNow();
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.broken->kind, BreakKind::kDeleted);
  EXPECT_EQ(report.broken->seq, 1);
  // At a checkpoint younger than the floor.
  Tamper("DELETE FROM audit.audit_event WHERE seq <= 6");
  report = VerifyNow();
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.broken->kind, BreakKind::kDeleted);
  EXPECT_EQ(report.broken->seq, 1);
}

TEST_F(PgAuditLogTest, RetentionNeedsTheSealedTables) {
  AppendN(2);
  Checkpoint(1);
  auto unsealed = log_->Purge(1);
  ASSERT_FALSE(unsealed.ok());
  EXPECT_EQ(unsealed.error().message_id(), "audit.retention-unavailable");
}

TEST_F(PgAuditLogTest, ConcurrentWritersFormOneChain) {
  Seal();
  // Two logs with pools of their own stand for two server processes, each with a writer.
  auto other = NewLog();
  audit::AuditWriter first(*log_, {.max_batch = 64});
  audit::AuditWriter second(*other, {.max_batch = 64});
  constexpr int kThreads = 16;
  constexpr int kPerThread = 40;
  std::mutex mu;
  std::set<std::int64_t> seqs;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      audit::AuditWriter& writer = t % 2 == 0 ? first : second;
      for (int i = 0; i < kPerThread; ++i) {
        auto seq = writer.Record(Entry(t * kPerThread + i, "p" + std::to_string(t)));
        ASSERT_TRUE(seq.ok()) << seq.error().text();
        std::lock_guard lock(mu);
        EXPECT_TRUE(seqs.insert(*seq).second) << *seq;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  first.Stop();
  second.Stop();
  ASSERT_EQ(seqs.size(), static_cast<std::size_t>(kThreads * kPerThread));
  EXPECT_EQ(*seqs.begin(), 1);
  EXPECT_EQ(*seqs.rbegin(), kThreads * kPerThread);
  const audit::VerifyReport report = Verify();
  EXPECT_TRUE(report.intact()) << report.broken->text;
  EXPECT_EQ(report.entries, kThreads * kPerThread);
  // Each thread's entries are found under its patient.
  auto mine = log_->Search({.patient = "p3", .count = 1000});
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ(mine->size(), static_cast<std::size_t>(kPerThread));
}

}  // namespace
}  // namespace server::store::pg
