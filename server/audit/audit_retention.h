// Retention of the audit log: entries recorded longer ago than the configured period are removed,
// never younger than the floor of six months (GB/T 22239 level 3 asks that audit records be kept
// at least that long; the database enforces it too, pg_audit_log.h). There is no other way to
// remove audit entries, and no API for it.
//
// The log is cut only right after a signed checkpoint, and never at its last entry: the first
// entry left then follows the checkpoint's hash, so verification (audit_verify.h) starts from that
// signed statement instead of the genesis hash, and a cut anywhere else, or younger than the
// floor, is reported as deleted entries.
#ifndef SERVER_AUDIT_AUDIT_RETENTION_H_
#define SERVER_AUDIT_AUDIT_RETENTION_H_

#include <chrono>
#include <cstdint>

#include "fhir/result.h"
#include "server/store/audit_log.h"

namespace server::audit {

// Six months at most: no retention period may be shorter.
inline constexpr std::chrono::days kRetentionFloor{184};

struct RetentionResult {
  std::int64_t removed = 0;  // entries removed
  std::int64_t through = 0;  // the seq they were removed up to (0: none)
};

// Removes the entries recorded before `now - retention`, up to the newest checkpoint that was
// signed before then and all of whose entries were recorded before then. Errors: audit.retention
// (400) for a period below the floor, and the log's own.
fhir::Result<RetentionResult> ApplyRetention(store::AuditLog& log, store::Timestamp now,
                                             std::chrono::days retention);

}  // namespace server::audit

#endif  // SERVER_AUDIT_AUDIT_RETENTION_H_
