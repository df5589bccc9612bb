#include "server/store/pg/pg_audit_log.h"

#include <string>
#include <utility>
#include <vector>

#include "server/audit/audit_chain.h"
#include "server/audit/audit_retention.h"
#include "server/store/pg/sql_values.h"

namespace server::store::pg {
namespace {

// Shared by every appender of a database ("fhia" in ASCII); the migrations use 1718118770.
constexpr const char* kAppendLockSql = "SELECT pg_advisory_xact_lock(1718118753)";

constexpr const char* kHeadSql =
    "SELECT seq, encode(hash, 'hex') FROM audit.audit_event ORDER BY seq DESC LIMIT 1";

// The batch travels as one array per column; each entry's lists as array literals inside a text
// array, hashes as hexadecimal, instants as integer microseconds since the epoch.
constexpr const char* kInsertSql =
    "INSERT INTO audit.audit_event (seq, tenant, recorded, action, outcome, patients, agents, "
    "entities, event, hash_algorithm, prev_hash, hash) "
    "SELECT s, $1, timestamptz 'epoch' + r * interval '1 microsecond', a, o, p::text[], g::text[], "
    "e::text[], ev, $2, decode(ph, 'hex'), decode(h, 'hex') "
    "FROM unnest($3::bigint[], $4::bigint[], $5::text[], $6::int[], $7::text[], $8::text[], "
    "$9::text[], $10::text[], $11::text[], $12::text[]) AS u(s, r, a, o, p, g, e, ev, ph, h)";

constexpr const char* kEntryColumns =
    "seq, tenant, (extract(epoch FROM recorded) * 1000000)::bigint, action, outcome, patients, "
    "agents, entities, event, hash_algorithm, encode(prev_hash, 'hex'), encode(hash, 'hex')";

constexpr const char* kCheckpointColumns =
    "seq, encode(hash, 'hex'), encode(signature, 'hex'), key_id, algorithm, "
    "(extract(epoch FROM signed_at) * 1000000)::bigint";

fhir::Error CorruptValue(std::string_view what) {
  return fhir::Error::Internal("store.sql-error", "the database returned a malformed " +
                                                      std::string(what) + " from the audit log");
}

// A one-dimensional text[] as PostgreSQL writes it: {a,"b c","d\"e"}. Elements are never NULL
// (the columns hold none).
fhir::Result<std::vector<std::string>> ParseTextArray(std::string_view text) {
  std::vector<std::string> values;
  if (text.size() < 2 || text.front() != '{' || text.back() != '}') return CorruptValue("array");
  std::size_t i = 1;
  const std::size_t end = text.size() - 1;
  if (i == end) return values;
  for (;;) {
    std::string value;
    if (text[i] == '"') {
      ++i;
      while (i < end && text[i] != '"') {
        if (text[i] == '\\') ++i;
        if (i >= end) return CorruptValue("array");
        value += text[i++];
      }
      if (i >= end) return CorruptValue("array");
      ++i;
    } else {
      while (i < end && text[i] != ',') value += text[i++];
    }
    values.push_back(std::move(value));
    if (i == end) return values;
    if (text[i] != ',') return CorruptValue("array");
    ++i;
  }
}

fhir::Result<std::string> Bytes(std::string_view hex) {
  auto bytes = security::HexDecode(hex);
  if (!bytes) return CorruptValue("hash");
  return std::move(*bytes);
}

fhir::Result<AuditEntry> ReadEntry(const PgResult& result, int row) {
  AuditEntry entry;
  entry.seq = result.GetInt(row, 0);
  entry.tenant = std::string(result.Get(row, 1));
  entry.recorded = Timestamp(std::chrono::microseconds(result.GetInt(row, 2)));
  const std::string_view action = result.Get(row, 3);
  entry.action = action.empty() ? '\0' : action.front();
  entry.outcome = static_cast<int>(result.GetInt(row, 4));
  for (auto [column, list] : {std::pair{5, &entry.patients}, std::pair{6, &entry.agents},
                              std::pair{7, &entry.entities}}) {
    auto values = ParseTextArray(result.Get(row, column));
    if (!values.ok()) return std::move(values).error();
    *list = std::move(*values);
  }
  entry.event = std::string(result.Get(row, 8));
  entry.hash_algorithm = std::string(result.Get(row, 9));
  auto prev = Bytes(result.Get(row, 10));
  if (!prev.ok()) return std::move(prev).error();
  entry.prev_hash = std::move(*prev);
  auto hash = Bytes(result.Get(row, 11));
  if (!hash.ok()) return std::move(hash).error();
  entry.hash = std::move(*hash);
  return entry;
}

fhir::Result<std::vector<AuditEntry>> ReadEntries(const PgResult& result) {
  std::vector<AuditEntry> entries;
  entries.reserve(result.rows());
  for (int row = 0; row < result.rows(); ++row) {
    auto entry = ReadEntry(result, row);
    if (!entry.ok()) return std::move(entry).error();
    entries.push_back(std::move(*entry));
  }
  return entries;
}

fhir::Result<void> CheckCount(int count) {
  if (count < 1 || count > 1000) {
    return fhir::Error::Invalid("audit.invalid-query", "an audit log page holds 1 to 1000 entries");
  }
  return {};
}

// Appends the chained batch on `conn`, inside its lock: BEGIN and the lock in one round trip,
// the head, the insert, COMMIT.
fhir::Result<std::vector<std::int64_t>> AppendLocked(PgConnection& conn,
                                                     security::HashAlgorithm algorithm,
                                                     const std::string& tenant,
                                                     std::vector<AuditEntry>& entries) {
  if (auto locked = conn.ExecAfter("BEGIN", "audit_append_lock", kAppendLockSql, {});
      !locked.ok()) {
    return std::move(locked).error();
  }
  auto head = conn.Exec("audit_head", kHeadSql, {});
  if (!head.ok()) return std::move(head).error();
  std::int64_t last = 0;
  std::string prev_hash = audit::GenesisHash();
  if (head->rows() == 1) {
    last = head->GetInt(0, 0);
    auto hash = Bytes(head->Get(0, 1));
    if (!hash.ok()) return std::move(hash).error();
    prev_hash = std::move(*hash);
  }
  for (AuditEntry& entry : entries) entry.tenant = tenant;
  audit::ChainEntries(algorithm, last, std::move(prev_hash), entries);

  ArrayLiteral seqs, recorded, actions, outcomes, patients, agents, entities, events, prevs, hashes;
  std::vector<std::int64_t> assigned;
  assigned.reserve(entries.size());
  for (const AuditEntry& entry : entries) {
    assigned.push_back(entry.seq);
    seqs.Add(std::to_string(entry.seq));
    recorded.Add(Micros(entry.recorded));
    actions.Add(std::string(1, entry.action));
    outcomes.Add(std::to_string(entry.outcome));
    patients.Add(TextArray(entry.patients));
    agents.Add(TextArray(entry.agents));
    entities.Add(TextArray(entry.entities));
    events.Add(entry.event);
    prevs.Add(security::HexEncode(entry.prev_hash));
    hashes.Add(security::HexEncode(entry.hash));
  }
  auto inserted =
      conn.Exec("audit_insert", kInsertSql,
                {tenant, std::string(security::HashAlgorithmName(algorithm)), seqs.Take(),
                 recorded.Take(), actions.Take(), outcomes.Take(), patients.Take(), agents.Take(),
                 entities.Take(), events.Take(), prevs.Take(), hashes.Take()});
  if (!inserted.ok()) return std::move(inserted).error();
  if (auto committed = conn.ExecSimple("COMMIT"); !committed.ok()) {
    return std::move(committed).error();
  }
  return assigned;
}

bool ValidRoleName(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace

PgAuditLog::PgAuditLog(PgAuditLogOptions options)
    : pool_(std::move(options.pool)),
      tenant_(std::move(options.tenant)),
      hash_algorithm_(options.hash_algorithm) {}

fhir::Result<std::vector<std::int64_t>> PgAuditLog::Append(std::vector<AuditEntry> entries) {
  if (entries.empty()) return std::vector<std::int64_t>{};
  for (const AuditEntry& entry : entries) {
    if (auto checked = audit::CheckEntry(entry); !checked.ok()) return std::move(checked).error();
  }
  auto conn = pool_.Acquire();
  if (!conn.ok()) return std::move(conn).error();
  auto appended = AppendLocked(**conn, hash_algorithm_, tenant_, entries);
  // A connection left inside the transaction is closed by the pool, which rolls it back.
  if (!appended.ok() && (*conn)->in_transaction()) (void)(*conn)->ExecSimple("ROLLBACK");
  return appended;
}

fhir::Result<std::vector<AuditEntry>> PgAuditLog::Search(const AuditQuery& query) {
  if (auto checked = CheckCount(query.count); !checked.ok()) return std::move(checked).error();
  std::vector<Param> params = {tenant_};
  std::string sql =
      std::string("SELECT ") + kEntryColumns + " FROM audit.audit_event WHERE tenant = $1";
  auto next = [&params](std::string value) {
    params.push_back(std::move(value));
    return "$" + std::to_string(params.size());
  };
  if (query.patient) sql += " AND patients @> ARRAY[" + next(*query.patient) + "::text]";
  if (query.agent) sql += " AND agents @> ARRAY[" + next(*query.agent) + "::text]";
  if (query.entity) sql += " AND entities @> ARRAY[" + next(*query.entity) + "::text]";
  if (query.action) sql += " AND action = " + next(std::string(1, *query.action));
  if (query.outcome) sql += " AND outcome = " + next(std::to_string(*query.outcome)) + "::int";
  if (query.recorded_from) {
    sql += " AND recorded >= timestamptz 'epoch' + " + next(Micros(*query.recorded_from)) +
           "::bigint * interval '1 microsecond'";
  }
  if (query.recorded_to) {
    sql += " AND recorded < timestamptz 'epoch' + " + next(Micros(*query.recorded_to)) +
           "::bigint * interval '1 microsecond'";
  }
  if (query.after_seq) {
    sql += std::string(" AND seq ") + (query.descending ? "<" : ">") + " " +
           next(std::to_string(*query.after_seq)) + "::bigint";
  }
  // With a date range, `seq + 0` keeps PostgreSQL from walking the primary key in order and
  // filtering (it cannot know that recorded grows with seq): it takes the most selective of the
  // date and GIN indexes and sorts the matches. On 1,000,000 entries, an agent on every entry
  // over one day took 14 ms so against 240 ms by the primary key. Without a range the key order
  // is right for frequent values, and a rare patient still goes through its GIN index.
  const bool by_date = query.recorded_from || query.recorded_to;
  sql += std::string(" ORDER BY ") + (by_date ? "seq + 0" : "seq") +
         (query.descending ? " DESC" : "") + " LIMIT " + next(std::to_string(query.count)) +
         "::int";
  auto conn = pool_.Acquire();
  if (!conn.ok()) return std::move(conn).error();
  auto rows = (*conn)->ExecParams(sql, params);
  if (!rows.ok()) return std::move(rows).error();
  return ReadEntries(*rows);
}

fhir::Result<std::vector<AuditEntry>> PgAuditLog::Range(std::int64_t after_seq, int count) {
  if (auto checked = CheckCount(count); !checked.ok()) return std::move(checked).error();
  auto conn = pool_.Acquire();
  if (!conn.ok()) return std::move(conn).error();
  auto rows = (*conn)->Exec("audit_range",
                            std::string("SELECT ") + kEntryColumns +
                                " FROM audit.audit_event WHERE seq > $1 ORDER BY seq LIMIT $2",
                            {std::to_string(after_seq), std::to_string(count)});
  if (!rows.ok()) return std::move(rows).error();
  return ReadEntries(*rows);
}

fhir::Result<AuditHead> PgAuditLog::Head() {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return std::move(conn).error();
  auto head = (*conn)->Exec("audit_head", kHeadSql, {});
  if (!head.ok()) return std::move(head).error();
  AuditHead result{0, audit::GenesisHash()};
  if (head->rows() == 1) {
    result.seq = head->GetInt(0, 0);
    auto hash = Bytes(head->Get(0, 1));
    if (!hash.ok()) return std::move(hash).error();
    result.hash = std::move(*hash);
  }
  return result;
}

fhir::Result<void> PgAuditLog::AddCheckpoint(const AuditCheckpoint& checkpoint) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return std::move(conn).error();
  auto inserted = (*conn)->Exec(
      "audit_checkpoint_insert",
      "INSERT INTO audit.audit_checkpoint (seq, hash, signature, key_id, algorithm, signed_at) "
      "VALUES ($1, decode($2, 'hex'), decode($3, 'hex'), $4, $5, "
      "timestamptz 'epoch' + $6::bigint * interval '1 microsecond')",
      {std::to_string(checkpoint.seq), security::HexEncode(checkpoint.hash),
       security::HexEncode(checkpoint.signature), checkpoint.key_id, checkpoint.algorithm,
       Micros(checkpoint.signed_at)});
  if (!inserted.ok()) return std::move(inserted).error();
  return {};
}

fhir::Result<std::vector<AuditCheckpoint>> PgAuditLog::Checkpoints() {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return std::move(conn).error();
  auto rows = (*conn)->Exec("audit_checkpoints",
                            std::string("SELECT ") + kCheckpointColumns +
                                " FROM audit.audit_checkpoint ORDER BY seq, signed_at, key_id",
                            {});
  if (!rows.ok()) return std::move(rows).error();
  std::vector<AuditCheckpoint> checkpoints;
  for (int row = 0; row < rows->rows(); ++row) {
    AuditCheckpoint checkpoint;
    checkpoint.seq = rows->GetInt(row, 0);
    auto hash = Bytes(rows->Get(row, 1));
    if (!hash.ok()) return std::move(hash).error();
    checkpoint.hash = std::move(*hash);
    auto signature = Bytes(rows->Get(row, 2));
    if (!signature.ok()) return std::move(signature).error();
    checkpoint.signature = std::move(*signature);
    checkpoint.key_id = std::string(rows->Get(row, 3));
    checkpoint.algorithm = std::string(rows->Get(row, 4));
    checkpoint.signed_at = Timestamp(std::chrono::microseconds(rows->GetInt(row, 5)));
    checkpoints.push_back(std::move(checkpoint));
  }
  return checkpoints;
}

fhir::Result<std::optional<std::int64_t>> PgAuditLog::FirstRecordedFrom(Timestamp from) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return std::move(conn).error();
  // In seq order from the oldest: the scan passes over the entries recorded before `from`,
  // which are the ones retention is about to remove.
  auto rows = (*conn)->Exec("audit_first_recorded_from",
                            "SELECT seq FROM audit.audit_event WHERE recorded >= timestamptz "
                            "'epoch' + $1::bigint * interval '1 microsecond' ORDER BY seq LIMIT 1",
                            {Micros(from)});
  if (!rows.ok()) return std::move(rows).error();
  if (rows->rows() == 0) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(rows->GetInt(0, 0));
}

fhir::Result<std::int64_t> PgAuditLog::Purge(std::int64_t through) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return std::move(conn).error();
  auto removed =
      (*conn)->Exec("audit_purge", "SELECT audit.purge($1::bigint)", {std::to_string(through)});
  if (!removed.ok()) {
    // audit.purge and the trigger raise insufficient_privilege for what they refuse; a missing
    // function means the tables were never sealed (SealAuditTables).
    const std::string& text = removed.error().text();
    if (text.starts_with("PostgreSQL error 42501")) {
      return fhir::Error::Forbidden("audit.retention-refused", text);
    }
    if (text.starts_with("PostgreSQL error 42883")) {
      return fhir::Error::Internal("audit.retention-unavailable",
                                   "the audit tables are not sealed (docs/storage.md), so the "
                                   "retention function audit.purge does not exist");
    }
    return std::move(removed).error();
  }
  return removed->GetInt(0, 0);
}

std::string SealAuditTablesSql(std::string_view server_role) {
  const std::string role(server_role);
  const std::string owner(kAuditOwnerRole);
  // The trigger refuses every change but one: the deletion, by audit.purge, of entries recorded
  // longer ago than the retention floor. audit.purge runs as the owner (the server's role has no
  // DELETE privilege) and only up to a signed checkpoint below the last entry, so the rest of the
  // chain stays verifiable from that checkpoint (server/audit/audit_verify.h).
  const std::string functions =
      "CREATE OR REPLACE FUNCTION audit.reject_change() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
      "BEGIN\n"
      "  IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_event'\n"
      "     AND current_setting('fhirhub.audit_purge', true) = 'on'\n"
      "     AND OLD.recorded < now() - interval '" +
      std::to_string(audit::kRetentionFloor.count()) +
      " days' THEN\n"
      "    RETURN OLD;\n"
      "  END IF;\n"
      "  RAISE EXCEPTION 'the audit log is append-only: % on %.% is refused',\n"
      "    TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';\n"
      "END\n"
      "$f$;\n"
      "CREATE OR REPLACE FUNCTION audit.purge(through bigint) RETURNS bigint\n"
      "  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$\n"
      "DECLARE removed bigint;\n"
      "BEGIN\n"
      "  IF NOT EXISTS (SELECT 1 FROM audit.audit_checkpoint WHERE seq = through) THEN\n"
      "    RAISE EXCEPTION 'audit entries are removed only up to a signed checkpoint'\n"
      "      USING ERRCODE = 'insufficient_privilege';\n"
      "  END IF;\n"
      "  IF through >= (SELECT max(seq) FROM audit.audit_event) THEN\n"
      "    RAISE EXCEPTION 'the last audit entry is never removed'\n"
      "      USING ERRCODE = 'insufficient_privilege';\n"
      "  END IF;\n"
      "  PERFORM set_config('fhirhub.audit_purge', 'on', true);\n"
      "  DELETE FROM audit.audit_event WHERE seq <= through;\n"
      "  GET DIAGNOSTICS removed = ROW_COUNT;\n"
      "  PERFORM set_config('fhirhub.audit_purge', 'off', true);\n"
      "  RETURN removed;\n"
      "END\n"
      "$f$;\n";
  return "DO $$ BEGIN\n"
         "  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" +
         owner +
         "') THEN\n"
         "    CREATE ROLE " +
         owner +
         " NOLOGIN;\n"
         "  END IF;\n"
         "END $$;\n"
         "ALTER SCHEMA audit OWNER TO " +
         owner + ";\nALTER TABLE audit.audit_event OWNER TO " + owner +
         ";\nALTER TABLE audit.audit_checkpoint OWNER TO " + owner + ";\n" + functions +
         "ALTER FUNCTION audit.reject_change() OWNER TO " + owner +
         ";\nALTER FUNCTION audit.purge(bigint) OWNER TO " + owner +
         ";\nREVOKE ALL ON FUNCTION audit.purge(bigint) FROM PUBLIC;\nGRANT EXECUTE ON FUNCTION "
         "audit.purge(bigint) TO " +
         role + ";\nREVOKE ALL ON SCHEMA audit FROM " + role +
         ";\nGRANT USAGE ON SCHEMA audit TO " + role +
         ";\nREVOKE ALL ON audit.audit_event, audit.audit_checkpoint FROM " + role +
         ";\nGRANT SELECT, INSERT ON audit.audit_event, audit.audit_checkpoint TO " + role + ";\n";
}

fhir::Result<void> SealAuditTables(PgConnection& superuser, std::string_view server_role) {
  if (!ValidRoleName(server_role)) {
    return fhir::Error::Internal(
        "store.sql-error", "the server's role name must be lower-case letters, digits and '_'");
  }
  // One transaction: the tables are never left half handed over.
  auto sealed = superuser.ExecSimple("BEGIN;\n" + SealAuditTablesSql(server_role) + "COMMIT;");
  if (!sealed.ok()) {
    if (superuser.in_transaction()) (void)superuser.ExecSimple("ROLLBACK");
    return std::move(sealed).error();
  }
  return {};
}

}  // namespace server::store::pg
