// Verification of the audit log: walks the log in seq order (AuditLog::Range, a page at a time),
// recomputes every entry's hash (audit_chain.h), checks that seqs run 1, 2, 3... without a gap and
// that each entry's prev_hash is the hash of the one before, and checks every checkpoint: its
// signature (when a SignatureCheck is given), that its hash is the hash of the entry at its seq,
// and that the log still reaches its seq. Returns the first broken link in seq order.
//
// A log that retention has cut (audit_retention.h) starts after seq 1: it is intact only if its
// first entry follows a checkpoint at the seq before it (its prev_hash is the checkpoint's hash)
// that verifies and was signed at least the retention floor before `now`. Checkpoints below the
// cut are checked for their signatures only.
//
// What each kind of break means:
//   modified   the entry's stored hash is not the hash of its content: a field was changed (or
//              its hash algorithm is unknown)
//   deleted    seq is missing: entries were removed from the middle of the log, or from its
//              start other than by retention
//   inserted   the entry's prev_hash is not the hash of the entry before: an entry was inserted
//              before it, or entries were reordered
//   truncated  a checkpoint names a seq beyond the last entry: the tail was removed
//   rewritten  the entry at a checkpoint's seq has another hash than the one signed: the chain
//              was recomputed from an earlier point
//   bad-checkpoint-signature  a checkpoint's signature does not verify
//
// Only the log's own errors (store.*, audit.*) are returned as errors; a broken chain is a
// result. Thread-compatible; reads the log through its contract only.
#ifndef SERVER_AUDIT_AUDIT_VERIFY_H_
#define SERVER_AUDIT_AUDIT_VERIFY_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "fhir/result.h"
#include "server/store/audit_log.h"

namespace server::audit {

enum class BreakKind {
  kModified,
  kDeleted,
  kInserted,
  kTruncated,
  kRewritten,
  kBadCheckpointSignature,
};

// "modified", "deleted", "inserted", "truncated", "rewritten", "bad-checkpoint-signature".
std::string_view BreakKindName(BreakKind kind);

struct ChainBreak {
  std::int64_t seq = 0;  // the first seq at which the log is not what was written
  BreakKind kind = BreakKind::kModified;
  std::string text;  // one line for people, naming the seq
};

struct VerifyReport {
  std::int64_t first_seq = 1;    // where the log starts: above 1 once retention has cut it
  std::int64_t entries = 0;      // entries read (all of them when intact)
  std::int64_t checkpoints = 0;  // checkpoints stored
  std::optional<ChainBreak> broken;
  bool intact() const { return !broken.has_value(); }
};

// True when `checkpoint.signature` is a valid signature of `message` (CheckpointMessage) by the
// key it names. audit_checkpoint.h makes one from a public key.
using SignatureCheck =
    std::function<bool(const store::AuditCheckpoint& checkpoint, std::string_view message)>;

// Verifies the whole log at `now` (for the age of a retention cut). Without `check`, signatures
// are not verified (the other checkpoint checks still are). `page` is the Range page size
// (1..1000).
fhir::Result<VerifyReport> VerifyAuditLog(store::AuditLog& log, const SignatureCheck& check,
                                          store::Timestamp now, int page = 1000);

}  // namespace server::audit

#endif  // SERVER_AUDIT_AUDIT_VERIFY_H_
