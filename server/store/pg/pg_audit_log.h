// PgAuditLog: the AuditLog on PostgreSQL, in the schema `audit` (migration 5, migrations.cc):
// audit.audit_event holds the entries (seq is the primary key), audit.audit_checkpoint the
// checkpoints. A trigger rejects UPDATE, DELETE and TRUNCATE on both tables, whoever runs them.
//
// Append takes a transaction-scoped advisory lock that every appender of the database shares,
// reads the last (seq, hash) inside it, chains the batch to it in memory
// (server/audit/audit_chain.h) and inserts the whole batch with one statement, then commits:
// appenders in several processes form one chain, and the lock is held for three round trips (the
// head, the insert, COMMIT) whatever the batch's size. Append returns after COMMIT (WAL flushed).
// Should COMMIT itself fail because the connection broke, whether the batch was committed is
// unknown; the chain is intact either way.
//
// Append-only for the server's role: SealAuditTables, run by a superuser, gives the schema, the
// tables and the trigger function to the NOLOGIN role `fhirhub_audit` and leaves the server's
// role only USAGE on the schema and SELECT and INSERT on the tables. The embedded cluster does
// this at every start (server/main/database.cc); for an external database docs/storage.md gives
// the same SQL to run.
//
// Searches use GIN indexes on the patients, agents and entities arrays and a btree index on
// (tenant, recorded); with a date range PostgreSQL picks the more selective of the two and sorts
// the matches by seq, without one a rare value goes through its GIN index and a frequent one
// follows the primary key in order.
//
// The schema must be current (Migrate) before use. Thread-safe.
#ifndef SERVER_STORE_PG_PG_AUDIT_LOG_H_
#define SERVER_STORE_PG_PG_AUDIT_LOG_H_

#include <string>
#include <string_view>

#include "fhir/result.h"
#include "server/security/digest.h"
#include "server/store/audit_log.h"
#include "server/store/pg/connection_pool.h"
#include "server/store/store.h"

namespace server::store::pg {

struct PgAuditLogOptions {
  PoolOptions pool;
  std::string tenant = std::string(kDefaultTenant);
  // The hash of the entries this log appends; each row records its own, so a log may change
  // algorithm between entries and stay verifiable.
  security::HashAlgorithm hash_algorithm = security::HashAlgorithm::kSha256;
};

class PgAuditLog final : public AuditLog {
 public:
  explicit PgAuditLog(PgAuditLogOptions options);

  fhir::Result<std::vector<std::int64_t>> Append(std::vector<AuditEntry> entries) override;
  fhir::Result<std::vector<AuditEntry>> Search(const AuditQuery& query) override;
  fhir::Result<std::vector<AuditEntry>> Range(std::int64_t after_seq, int count) override;
  fhir::Result<AuditHead> Head() override;
  fhir::Result<void> AddCheckpoint(const AuditCheckpoint& checkpoint) override;
  fhir::Result<std::vector<AuditCheckpoint>> Checkpoints() override;
  fhir::Result<std::optional<std::int64_t>> FirstRecordedFrom(Timestamp from) override;
  fhir::Result<std::int64_t> Purge(std::int64_t through) override;

 private:
  ConnectionPool pool_;
  const std::string tenant_;
  const security::HashAlgorithm hash_algorithm_;
};

// The role that owns the audit schema once sealed.
inline constexpr std::string_view kAuditOwnerRole = "fhirhub_audit";

// Run as a superuser on the database (migrated): creates the NOLOGIN role fhirhub_audit if
// missing, gives it the audit schema, tables and trigger function, (re)defines the trigger
// function and the retention function audit.purge (which only the floor-respecting removal up to
// a checkpoint gets past), and grants `server_role` only USAGE on the schema, SELECT, INSERT on
// the tables and EXECUTE on audit.purge. Idempotent. `server_role` must be
// lower-case letters, digits and '_' (store.sql-error otherwise).
fhir::Result<void> SealAuditTables(PgConnection& superuser, std::string_view server_role);

// The SQL SealAuditTables runs, for operators of an external database (docs/storage.md).
std::string SealAuditTablesSql(std::string_view server_role);

}  // namespace server::store::pg

#endif  // SERVER_STORE_PG_PG_AUDIT_LOG_H_
