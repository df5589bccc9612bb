#include "server/store/pg/pg_connector_log.h"

#include <string>
#include <utility>
#include <vector>

#include "server/security/digest.h"
#include "server/store/pg/sql_values.h"

namespace server::store::pg {
namespace {

constexpr const char* kFindAckSql =
    "SELECT encode(ack, 'hex') FROM connector_ack "
    "WHERE tenant = $1 AND connector = $2 AND sender = $3 AND control_id = $4";

// The row that wins a race between two copies of a message is the one both copies answer with:
// a conflicting insert returns nothing, and the existing row is read in the same statement. When
// the winner committed while this statement waited on it, the statement's snapshot predates the
// row and both halves come back empty; a new statement (FindAck) sees it.
constexpr const char* kRecordAckSql =
    "WITH inserted AS ("
    " INSERT INTO connector_ack (tenant, connector, sender, control_id, ack, recorded)"
    " VALUES ($1, $2, $3, $4, decode($5, 'hex'), timestamptz 'epoch' + $6::bigint * interval '1 "
    "microsecond')"
    " ON CONFLICT DO NOTHING RETURNING ack) "
    "SELECT encode(ack, 'hex') FROM inserted UNION ALL "
    "SELECT encode(ack, 'hex') FROM connector_ack "
    "WHERE tenant = $1 AND connector = $2 AND sender = $3 AND control_id = $4";

constexpr const char* kAddDeadLetterSql =
    "INSERT INTO connector_dead_letter (tenant, connector, sender, control_id, received, "
    "last_attempt, attempts, raw, reasons, status) "
    "VALUES ($1, $2, $3, $4, timestamptz 'epoch' + $5::bigint * interval '1 microsecond', "
    "timestamptz 'epoch' + $5::bigint * interval '1 microsecond', 1, decode($6, 'hex'), "
    "$7::text[], 'open') "
    "ON CONFLICT (tenant, connector, sha256(raw)) WHERE status = 'open' DO UPDATE SET "
    "last_attempt = EXCLUDED.last_attempt, reasons = EXCLUDED.reasons, "
    "attempts = connector_dead_letter.attempts + 1 "
    "RETURNING id";

// Reasons come back as hexadecimal, comma-separated, so that no character of theirs needs
// parsing rules.
constexpr const char* kDeadLettersSql =
    "SELECT id, connector, sender, control_id, "
    "(extract(epoch FROM received) * 1000000)::bigint, "
    "(extract(epoch FROM last_attempt) * 1000000)::bigint, attempts, encode(raw, 'hex'), "
    "array_to_string(ARRAY(SELECT encode(convert_to(r, 'UTF8'), 'hex') FROM unnest(reasons) r), "
    "','), status, (extract(epoch FROM replayed_at) * 1000000)::bigint "
    "FROM connector_dead_letter "
    "WHERE tenant = $1 AND ($2::text IS NULL OR connector = $2) "
    "AND ($3::text IS NULL OR status = $3) AND ($4::bigint IS NULL OR id = $4) "
    "AND ($5::bigint IS NULL OR id > $5) "
    "ORDER BY id LIMIT $6";

constexpr const char* kMarkReplayedSql =
    "UPDATE connector_dead_letter SET status = 'replayed', "
    "replayed_at = timestamptz 'epoch' + $3::bigint * interval '1 microsecond' "
    "WHERE tenant = $1 AND id = $2 RETURNING id";

fhir::Error CorruptValue(std::string_view what) {
  return fhir::Error::Internal(
      "store.sql-error",
      "the database returned a malformed " + std::string(what) + " from the connector log");
}

fhir::Result<std::string> Bytes(std::string_view hex, std::string_view what) {
  auto bytes = security::HexDecode(hex);
  if (!bytes) return CorruptValue(what);
  return std::move(*bytes);
}

std::string_view StatusName(DeadLetterStatus status) {
  return status == DeadLetterStatus::kOpen ? "open" : "replayed";
}

Param OptionalInt(const std::optional<std::int64_t>& value) {
  if (!value) return std::nullopt;
  return std::to_string(*value);
}

fhir::Result<DeadLetter> ReadDeadLetter(const PgResult& result, int row) {
  DeadLetter letter;
  letter.id = result.GetInt(row, 0);
  letter.connector = std::string(result.Get(row, 1));
  letter.sender = std::string(result.Get(row, 2));
  letter.control_id = std::string(result.Get(row, 3));
  letter.received = Timestamp(std::chrono::microseconds(result.GetInt(row, 4)));
  letter.last_attempt = Timestamp(std::chrono::microseconds(result.GetInt(row, 5)));
  letter.attempts = static_cast<int>(result.GetInt(row, 6));
  auto raw = Bytes(result.Get(row, 7), "message");
  if (!raw.ok()) return std::move(raw).error();
  letter.raw = std::move(*raw);
  std::string_view reasons = result.Get(row, 8);
  while (!reasons.empty()) {
    const std::size_t comma = reasons.find(',');
    auto reason = Bytes(reasons.substr(0, comma), "reason");
    if (!reason.ok()) return std::move(reason).error();
    letter.reasons.push_back(std::move(*reason));
    reasons = comma == std::string_view::npos ? std::string_view() : reasons.substr(comma + 1);
  }
  letter.status =
      result.Get(row, 9) == "replayed" ? DeadLetterStatus::kReplayed : DeadLetterStatus::kOpen;
  if (!result.IsNull(row, 10)) {
    letter.replayed_at = Timestamp(std::chrono::microseconds(result.GetInt(row, 10)));
  }
  return letter;
}

}  // namespace

PgConnectorLog::PgConnectorLog(PgConnectorLogOptions options)
    : pool_(std::move(options.pool)), tenant_(std::move(options.tenant)) {}

fhir::Result<std::optional<std::string>> PgConnectorLog::FindAck(const MessageKey& key) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return std::move(conn).error();
  auto found = (*conn)->Exec("connector_find_ack", kFindAckSql,
                             {tenant_, key.connector, key.sender, key.control_id});
  if (!found.ok()) return std::move(found).error();
  if (found->rows() == 0) return std::optional<std::string>();
  auto ack = Bytes(found->Get(0, 0), "acknowledgement");
  if (!ack.ok()) return std::move(ack).error();
  return std::optional<std::string>(std::move(*ack));
}

fhir::Result<std::string> PgConnectorLog::RecordAck(const MessageKey& key, const std::string& ack,
                                                    Timestamp at) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return std::move(conn).error();
  const std::vector<Param> params = {
      tenant_, key.connector, key.sender, key.control_id, security::HexEncode(ack), Micros(at)};
  // Each round either inserts, or finds a row committed before it began; only a row removed
  // between the two statements sends it round again.
  for (int round = 0; round < 3; ++round) {
    auto recorded = (*conn)->Exec("connector_record_ack", kRecordAckSql, params);
    if (!recorded.ok()) return std::move(recorded).error();
    if (recorded->rows() > 0) return Bytes(recorded->Get(0, 0), "acknowledgement");
    auto found = (*conn)->Exec("connector_find_ack", kFindAckSql,
                               {tenant_, key.connector, key.sender, key.control_id});
    if (!found.ok()) return std::move(found).error();
    if (found->rows() > 0) return Bytes(found->Get(0, 0), "acknowledgement");
  }
  return CorruptValue("acknowledgement");
}

fhir::Result<std::int64_t> PgConnectorLog::AddDeadLetter(const DeadLetter& letter) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return std::move(conn).error();
  auto added = (*conn)->Exec(
      "connector_add_dead_letter", kAddDeadLetterSql,
      {tenant_, letter.connector, letter.sender, letter.control_id, Micros(letter.last_attempt),
       security::HexEncode(letter.raw), TextArray(letter.reasons)});
  if (!added.ok()) return std::move(added).error();
  if (added->rows() != 1) return CorruptValue("dead letter id");
  return added->GetInt(0, 0);
}

fhir::Result<std::vector<DeadLetter>> PgConnectorLog::DeadLetters(const DeadLetterQuery& query) {
  if (query.count < 1 || query.count > 1000) {
    return fhir::Error::Invalid("connectors.invalid-query",
                                "a page of dead letters holds 1 to 1000 of them");
  }
  auto conn = pool_.Acquire();
  if (!conn.ok()) return std::move(conn).error();
  Param status;
  if (query.status) status = std::string(StatusName(*query.status));
  auto found = (*conn)->Exec("connector_dead_letters", kDeadLettersSql,
                             {tenant_, query.connector, status, OptionalInt(query.id),
                              OptionalInt(query.after_id), std::to_string(query.count)});
  if (!found.ok()) return std::move(found).error();
  std::vector<DeadLetter> letters;
  letters.reserve(found->rows());
  for (int row = 0; row < found->rows(); ++row) {
    auto letter = ReadDeadLetter(*found, row);
    if (!letter.ok()) return std::move(letter).error();
    letters.push_back(std::move(*letter));
  }
  return letters;
}

fhir::Result<void> PgConnectorLog::MarkReplayed(std::int64_t id, Timestamp at) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return std::move(conn).error();
  auto marked = (*conn)->Exec("connector_mark_replayed", kMarkReplayedSql,
                              {tenant_, std::to_string(id), Micros(at)});
  if (!marked.ok()) return std::move(marked).error();
  if (marked->rows() == 0) {
    return fhir::Error::NotFound("connectors.no-dead-letter",
                                 "no dead letter has id " + std::to_string(id));
  }
  return {};
}

}  // namespace server::store::pg
