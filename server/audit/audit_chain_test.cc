#include "server/audit/audit_chain.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace server::audit {
namespace {

using store::AuditEntry;

AuditEntry Sample() {
  AuditEntry entry;
  entry.seq = 7;
  entry.tenant = "default";
  entry.recorded = store::Timestamp(std::chrono::microseconds(1'795'000'000'123'456));
  entry.action = 'R';
  entry.outcome = 0;
  entry.patients = {"p1"};
  entry.agents = {"Practitioner/1", "client:app"};
  entry.entities = {"Patient/p1"};
  entry.event = R"({"resourceType":"AuditEvent"})";
  return entry;
}

TEST(AuditChainTest, FieldsCannotRunIntoEachOther) {
  AuditEntry a = Sample();
  AuditEntry b = Sample();
  a.patients = {"ab", "c"};
  b.patients = {"a", "bc"};
  EXPECT_NE(CanonicalBytes(a), CanonicalBytes(b));
  b = Sample();
  a.patients = {"x"};
  a.agents = {};
  b.patients = {};
  b.agents = {"x"};
  EXPECT_NE(CanonicalBytes(a), CanonicalBytes(b));
}

TEST(AuditChainTest, EveryFieldIsCovered) {
  const std::string base = CanonicalBytes(Sample());
  std::vector<AuditEntry> changed(9, Sample());
  changed[0].seq = 8;
  changed[1].tenant = "other";
  changed[2].recorded += std::chrono::microseconds(1);
  changed[3].action = 'U';
  changed[4].outcome = 4;
  changed[5].patients.push_back("p2");
  changed[6].agents.pop_back();
  changed[7].entities[0] = "Patient/p1/_history/2";
  changed[8].event += " ";
  for (const AuditEntry& entry : changed) EXPECT_NE(CanonicalBytes(entry), base);
}

TEST(AuditChainTest, ChainsFromTheGenesisHash) {
  std::vector<AuditEntry> entries = {Sample(), Sample()};
  ChainEntries(security::HashAlgorithm::kSha256, 0, GenesisHash(), entries);
  EXPECT_EQ(entries[0].seq, 1);
  EXPECT_EQ(entries[1].seq, 2);
  EXPECT_EQ(entries[0].prev_hash, std::string(32, '\0'));
  EXPECT_EQ(entries[0].hash,
            EntryHash(security::HashAlgorithm::kSha256, GenesisHash(), entries[0]));
  EXPECT_EQ(entries[1].prev_hash, entries[0].hash);
  EXPECT_EQ(entries[1].hash.size(), kHashSize);
  EXPECT_EQ(entries[0].hash_algorithm, "sha256");

  std::vector<AuditEntry> sm3 = {Sample()};
  ChainEntries(security::HashAlgorithm::kSm3, 0, GenesisHash(), sm3);
  EXPECT_EQ(sm3[0].hash_algorithm, "sm3");
  EXPECT_NE(sm3[0].hash, entries[0].hash);
}

TEST(AuditChainTest, ChecksActionAndOutcome) {
  AuditEntry entry = Sample();
  EXPECT_TRUE(CheckEntry(entry).ok());
  entry.action = 'X';
  EXPECT_EQ(CheckEntry(entry).error().message_id(), "audit.invalid-entry");
  entry = Sample();
  entry.outcome = 5;
  EXPECT_EQ(CheckEntry(entry).error().message_id(), "audit.invalid-entry");
}

}  // namespace
}  // namespace server::audit
