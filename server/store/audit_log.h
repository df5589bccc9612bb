// server::store::AuditLog: the contract of the tamper-evident audit log's storage. The log keeps
// audit records in one sequence numbered 1, 2, 3... without gaps, each chained to the one before
// by a hash: hash = H(prev_hash || canonical bytes of the entry) (server/audit/audit_chain.h),
// the first entry's prev_hash being 32 zero bytes. Checkpoints are signatures over the chain's
// head (seq, hash) made with a key the log never sees; they let a verifier detect a chain that
// was recomputed or cut short.
//
// The log never parses FHIR: the AuditEvent resource arrives as JSON text built elsewhere and is
// kept byte for byte; the search keys (patients, agents, entities) arrive as plain strings.
//
// Errors (fhir::Error, stable message ids):
//   audit.invalid-query      400  an AuditQuery or Range with a count outside 1..1000
//   audit.invalid-entry      400  an entry whose action is not one of C R U D E or whose outcome
//                                 is not 0, 4, 8 or 12
//   audit.retention-refused  403  a Purge the storage refuses (see Purge)
//   store.unavailable        503  no connection within the pool timeout, or the database is down
//   store.sql-error          500  anything else the database reported
//
// Thread-safety: an AuditLog is thread-safe.
#ifndef SERVER_STORE_AUDIT_LOG_H_
#define SERVER_STORE_AUDIT_LOG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fhir/result.h"
#include "server/store/index_entries.h"

namespace server::store {

// One audit record as stored.
struct AuditEntry {
  std::int64_t seq = 0;  // assigned by the log: 1, 2, 3... without gaps
  std::string tenant;    // set by the log (its tenant) on Append
  Timestamp recorded;    // when the access happened (UTC, microseconds), set by the caller
  char action = 'R';     // C R U D E
  int outcome = 0;       // 0 success, 4 minor failure, 8 serious failure, 12 major failure
  std::vector<std::string> patients;  // Patient ids the access concerned
  std::vector<std::string> agents;    // who: "Practitioner/1", "sub:abc", "client:xyz"...
  std::vector<std::string> entities;  // what: "Type/id" or "Type/id/_history/v"
  std::string event;                  // the AuditEvent resource JSON, stored byte for byte
  std::string hash_algorithm;         // "sha256" or "sm3", set by the log
  std::string prev_hash;              // raw bytes, set by the log
  std::string hash;                   // raw bytes, set by the log
};

// A search of the log's tenant. Every condition given must hold; list conditions match an entry
// whose list contains the exact string. Results come in seq order (descending if asked).
struct AuditQuery {
  std::optional<std::string> patient;
  std::optional<std::string> agent;
  std::optional<std::string> entity;
  std::optional<char> action;
  std::optional<int> outcome;
  std::optional<Timestamp> recorded_from;  // inclusive
  std::optional<Timestamp> recorded_to;    // exclusive
  // Keyset cursor: only entries after this seq (before it when descending).
  std::optional<std::int64_t> after_seq;
  int count = 100;  // 1..1000
  bool descending = false;
};

// A signed statement that the chain's entry `seq` had hash `hash`.
struct AuditCheckpoint {
  std::int64_t seq = 0;
  std::string hash;       // raw bytes: the entry's hash
  std::string signature;  // raw bytes (DER for ECDSA and SM2) over CheckpointMessage
  std::string key_id;     // which key signed (server/audit/audit_checkpoint.h)
  std::string algorithm;  // the signature algorithm, e.g. "ecdsa-p256-sha256", "sm2-sm3"
  Timestamp signed_at;
};

// The newest entry's seq and hash; seq 0 and 32 zero bytes for an empty log.
struct AuditHead {
  std::int64_t seq = 0;
  std::string hash;
};

class AuditLog {
 public:
  virtual ~AuditLog() = default;

  // Appends the entries in order as one durable commit, chaining each to the one before, and
  // returns the seqs assigned (consecutive). Several server processes may append to one database
  // at once; the chain stays one sequence. The entries' seq, tenant, hash_algorithm, prev_hash and
  // hash are ignored and set by the log. An empty batch appends nothing.
  virtual fhir::Result<std::vector<std::int64_t>> Append(std::vector<AuditEntry> entries) = 0;

  // The entries of the log's tenant matching `query`, at most query.count.
  virtual fhir::Result<std::vector<AuditEntry>> Search(const AuditQuery& query) = 0;

  // Up to `count` (1..1000) entries with seq > after_seq in seq order, whatever their tenant: for
  // verification and export.
  virtual fhir::Result<std::vector<AuditEntry>> Range(std::int64_t after_seq, int count) = 0;

  // The last committed entry.
  virtual fhir::Result<AuditHead> Head() = 0;

  // Stores a checkpoint (made by server/audit/audit_checkpoint.h).
  virtual fhir::Result<void> AddCheckpoint(const AuditCheckpoint& checkpoint) = 0;

  // Every checkpoint, in seq order.
  virtual fhir::Result<std::vector<AuditCheckpoint>> Checkpoints() = 0;
  // The seq of the first entry, in seq order, recorded at or after `from`; nullopt when none is.
  virtual fhir::Result<std::optional<std::int64_t>> FirstRecordedFrom(Timestamp from) = 0;
  // Removes the entries up to and including `through` (retention, server/audit/audit_retention.h).
  // `through` must be the seq of a checkpoint and below the last entry, and the storage itself
  // refuses to remove an entry recorded less than the retention floor ago: then nothing is
  // removed (audit.retention-refused, 403). Returns the number of entries removed.
  virtual fhir::Result<std::int64_t> Purge(std::int64_t through) = 0;
};

}  // namespace server::store

#endif  // SERVER_STORE_AUDIT_LOG_H_
