#include "server/audit/audit_retention.h"

#include <string>
#include <utility>

namespace server::audit {

fhir::Result<RetentionResult> ApplyRetention(store::AuditLog& log, store::Timestamp now,
                                             std::chrono::days retention) {
  if (retention < kRetentionFloor) {
    return fhir::Error::Invalid(
        "audit.retention",
        "audit records are kept at least " + std::to_string(kRetentionFloor.count()) + " days");
  }
  const store::Timestamp cutoff = now - retention;
  auto first = log.Range(0, 1);
  if (!first.ok()) return std::move(first).error();
  if (first->empty()) return RetentionResult{};
  auto head = log.Head();
  if (!head.ok()) return std::move(head).error();
  auto young = log.FirstRecordedFrom(cutoff);
  if (!young.ok()) return std::move(young).error();
  // Everything below `bound` may go; the last entry always stays, as the chain's head.
  const std::int64_t bound = young->value_or(head->seq);
  auto checkpoints = log.Checkpoints();
  if (!checkpoints.ok()) return std::move(checkpoints).error();
  std::int64_t through = 0;
  for (const store::AuditCheckpoint& checkpoint : *checkpoints) {
    if (checkpoint.seq >= first->front().seq && checkpoint.seq < bound &&
        checkpoint.signed_at < cutoff && checkpoint.seq > through) {
      through = checkpoint.seq;
    }
  }
  if (through == 0) return RetentionResult{};
  auto removed = log.Purge(through);
  if (!removed.ok()) return std::move(removed).error();
  return RetentionResult{*removed, through};
}

}  // namespace server::audit
