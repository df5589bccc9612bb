#include "server/audit/audit_verify.h"

#include <cstddef>
#include <utility>
#include <vector>

#include "server/audit/audit_chain.h"
#include "server/audit/audit_retention.h"
#include "server/security/digest.h"

namespace server::audit {
namespace {

ChainBreak Break(std::int64_t seq, BreakKind kind, std::string text) {
  return ChainBreak{seq, kind, "seq " + std::to_string(seq) + ": " + std::move(text)};
}

// The checks of one checkpoint against the hash of the entry at its seq.
std::optional<ChainBreak> CheckCheckpoint(const store::AuditCheckpoint& checkpoint,
                                          std::string_view entry_hash,
                                          const SignatureCheck& check) {
  if (check && !check(checkpoint, CheckpointMessage(checkpoint))) {
    return Break(
        checkpoint.seq, BreakKind::kBadCheckpointSignature,
        "the signature of the checkpoint by key " + checkpoint.key_id + " does not verify");
  }
  if (checkpoint.hash != entry_hash) {
    return Break(checkpoint.seq, BreakKind::kRewritten,
                 "the entry's hash differs from the one the checkpoint by key " +
                     checkpoint.key_id + " signed: the chain was recomputed");
  }
  return std::nullopt;
}

}  // namespace

std::string_view BreakKindName(BreakKind kind) {
  switch (kind) {
    case BreakKind::kModified:
      return "modified";
    case BreakKind::kDeleted:
      return "deleted";
    case BreakKind::kInserted:
      return "inserted";
    case BreakKind::kTruncated:
      return "truncated";
    case BreakKind::kRewritten:
      return "rewritten";
    case BreakKind::kBadCheckpointSignature:
      return "bad-checkpoint-signature";
  }
  return "modified";
}

fhir::Result<VerifyReport> VerifyAuditLog(store::AuditLog& log, const SignatureCheck& check,
                                          store::Timestamp now, int page) {
  VerifyReport report;
  auto checkpoints = log.Checkpoints();
  if (!checkpoints.ok()) return std::move(checkpoints).error();
  report.checkpoints = static_cast<std::int64_t>(checkpoints->size());
  std::size_t next_checkpoint = 0;

  std::int64_t expected = 1;
  std::string prev_hash = GenesisHash();
  auto first = log.Range(0, 1);
  if (!first.ok()) return std::move(first).error();
  if (!first->empty() && first->front().seq > 1) {
    // Cut by retention, if a checkpoint old enough vouches for the first entry's predecessor.
    const store::AuditEntry& start = first->front();
    for (const store::AuditCheckpoint& checkpoint : *checkpoints) {
      if (checkpoint.seq == start.seq - 1 && checkpoint.hash == start.prev_hash &&
          checkpoint.signed_at <= now - kRetentionFloor &&
          (!check || check(checkpoint, CheckpointMessage(checkpoint)))) {
        expected = start.seq;
        prev_hash = start.prev_hash;
        report.first_seq = start.seq;
        break;
      }
    }
    // The checkpoints of removed entries: only their signatures can still be checked.
    while (expected > 1 && next_checkpoint < checkpoints->size() &&
           (*checkpoints)[next_checkpoint].seq < expected - 1) {
      const store::AuditCheckpoint& checkpoint = (*checkpoints)[next_checkpoint++];
      if (check && !check(checkpoint, CheckpointMessage(checkpoint))) {
        report.broken = Break(
            checkpoint.seq, BreakKind::kBadCheckpointSignature,
            "the signature of the checkpoint by key " + checkpoint.key_id + " does not verify");
        return report;
      }
    }
  }
  // Checkpoints at or below `seq` (whose entry hash is `hash`) are checked; true if one broke.
  auto check_up_to = [&](std::int64_t seq, std::string_view hash) {
    while (next_checkpoint < checkpoints->size() && (*checkpoints)[next_checkpoint].seq <= seq) {
      const store::AuditCheckpoint& checkpoint = (*checkpoints)[next_checkpoint++];
      // Below seq only a checkpoint of seq < 1 can remain (gaps stop the walk first).
      const std::string_view signed_hash = checkpoint.seq == seq ? hash : std::string_view();
      if (auto broken = CheckCheckpoint(checkpoint, signed_hash, check)) {
        report.broken = std::move(broken);
        return true;
      }
    }
    return false;
  };
  if (check_up_to(expected - 1, prev_hash)) return report;

  for (;;) {
    auto entries = log.Range(expected - 1, page);
    if (!entries.ok()) return std::move(entries).error();
    for (const store::AuditEntry& entry : *entries) {
      if (entry.seq != expected) {
        report.broken =
            Break(expected, BreakKind::kDeleted,
                  entry.seq - expected == 1
                      ? "the entry is missing"
                      : "the entries up to seq " + std::to_string(entry.seq - 1) + " are missing");
        return report;
      }
      if (entry.prev_hash != prev_hash) {
        report.broken = Break(entry.seq, BreakKind::kInserted,
                              "the entry does not follow the one before it: an entry was "
                              "inserted before it or entries were reordered");
        return report;
      }
      const auto algorithm = security::ParseHashAlgorithm(entry.hash_algorithm);
      if (!algorithm) {
        report.broken = Break(entry.seq, BreakKind::kModified,
                              "unknown hash algorithm '" + entry.hash_algorithm + "'");
        return report;
      }
      if (EntryHash(*algorithm, entry.prev_hash, entry) != entry.hash) {
        report.broken = Break(entry.seq, BreakKind::kModified,
                              "the entry's content does not match its hash: it was modified");
        return report;
      }
      ++report.entries;
      if (check_up_to(entry.seq, entry.hash)) return report;
      prev_hash = entry.hash;
      ++expected;
    }
    if (static_cast<int>(entries->size()) < page) break;
  }
  if (next_checkpoint < checkpoints->size()) {
    const store::AuditCheckpoint& checkpoint = (*checkpoints)[next_checkpoint];
    if (check && !check(checkpoint, CheckpointMessage(checkpoint))) {
      report.broken =
          Break(checkpoint.seq, BreakKind::kBadCheckpointSignature,
                "the signature of the checkpoint by key " + checkpoint.key_id + " does not verify");
      return report;
    }
    report.broken = Break(expected, BreakKind::kTruncated,
                          "the log ends at seq " + std::to_string(expected - 1) +
                              " but a checkpoint was signed at seq " +
                              std::to_string(checkpoint.seq) + ": its tail was removed");
  }
  return report;
}

}  // namespace server::audit
