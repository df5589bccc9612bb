#include "server/store/pg/connection.h"

#include <libpq-fe.h>

#include <charconv>
#include <utility>

namespace server::store::pg {

PgResult::PgResult(pg_result* result) : result_(result) {}
PgResult::PgResult(PgResult&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
PgResult& PgResult::operator=(PgResult&& other) noexcept {
  if (this != &other) {
    if (result_ != nullptr) PQclear(result_);
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}
PgResult::~PgResult() {
  if (result_ != nullptr) PQclear(result_);
}

int PgResult::rows() const { return PQntuples(result_); }
bool PgResult::IsNull(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }
std::string_view PgResult::Get(int row, int column) const {
  return {PQgetvalue(result_, row, column),
          static_cast<std::size_t>(PQgetlength(result_, row, column))};
}
std::int64_t PgResult::GetInt(int row, int column) const {
  std::string_view text = Get(row, column);
  std::int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}
bool PgResult::GetBool(int row, int column) const { return Get(row, column) == "t"; }
std::string_view PgResult::command_tag() const { return PQcmdStatus(result_); }
pg_result* PgResult::Release() { return std::exchange(result_, nullptr); }

fhir::Result<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& conninfo) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    std::string text = conn != nullptr ? PQerrorMessage(conn) : "out of memory";
    if (conn != nullptr) PQfinish(conn);
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return fhir::Error::Unavailable("store.unavailable", "cannot connect to PostgreSQL: " + text);
  }
  // NOTICEs (e.g. "already exists, skipping") are informational; errors arrive as results.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<PgConnection>(new PgConnection(conn));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

bool PgConnection::healthy() const { return !broken_ && PQstatus(conn_) == CONNECTION_OK; }

bool PgConnection::in_transaction() const {
  PGTransactionStatusType status = PQtransactionStatus(conn_);
  return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
}

fhir::Result<PgResult> PgConnection::Check(pg_result* raw) {
  PgResult result(raw);
  ExecStatusType status = raw != nullptr ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  if (status == PGRES_PIPELINE_ABORTED) {
    return fhir::Error::Internal("store.sql-error", "an earlier statement in the pipeline failed");
  }
  if (raw == nullptr || !healthy()) {
    return fhir::Error::Unavailable(
        "store.unavailable",
        std::string("lost the PostgreSQL connection: ") + PQerrorMessage(conn_));
  }
  const char* state = PQresultErrorField(raw, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(raw, PG_DIAG_MESSAGE_PRIMARY);
  std::string sqlstate = state != nullptr ? state : "";
  std::string text = "PostgreSQL error " + sqlstate + ": " + (primary != nullptr ? primary : "");
  if (sqlstate == "40001" || sqlstate == "40P01") {
    return fhir::Error::Conflict("store.serialization-failure", text);
  }
  // Class 08 (connection exception), 57P (operator intervention: shutdown), 53 (resources).
  if (sqlstate.starts_with("08") || sqlstate.starts_with("57P") || sqlstate.starts_with("53")) {
    return fhir::Error::Unavailable("store.unavailable", text);
  }
  return fhir::Error::Internal("store.sql-error", text);
}

fhir::Result<void> PgConnection::Prepare(const std::string& name, const std::string& sql) {
  if (prepared_.contains(name)) return {};
  auto prepared = Check(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr));
  if (!prepared.ok()) return std::move(prepared).error();
  prepared_.emplace(name);
  return {};
}

namespace {

std::vector<const char*> Values(const std::vector<Param>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const Param& param : params) values.push_back(param ? param->c_str() : nullptr);
  return values;
}

}  // namespace

fhir::Result<PgResult> PgConnection::ExecParams(const std::string& sql,
                                                const std::vector<Param>& params) {
  std::vector<const char*> values = Values(params);
  return Check(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                            values.data(), nullptr, nullptr, 0));
}

fhir::Result<PgResult> PgConnection::ExecReused(const std::string& sql,
                                                const std::vector<Param>& params) {
  auto it = reused_.find(sql);
  if (it == reused_.end()) {
    if (reused_.size() >= kMaxReused) return ExecParams(sql, params);
    it = reused_.emplace(sql, "reused_" + std::to_string(reused_.size())).first;
  }
  return Exec(it->second, sql, params);
}

fhir::Result<PgResult> PgConnection::Exec(const std::string& name, const std::string& sql,
                                          const std::vector<Param>& params) {
  if (auto prepared = Prepare(name, sql); !prepared.ok()) return std::move(prepared).error();
  std::vector<const char*> values = Values(params);
  return Check(PQexecPrepared(conn_, name.c_str(), static_cast<int>(values.size()), values.data(),
                              nullptr, nullptr, 0));
}

pg_result* PgConnection::NextPipelineResult() {
  pg_result* last = nullptr;
  while (PGresult* result = PQgetResult(conn_)) {
    if (last != nullptr) PQclear(last);
    last = result;
  }
  return last;
}

fhir::Result<PgResult> PgConnection::ExecAfter(const char* first, const std::string& name,
                                               const std::string& sql,
                                               const std::vector<Param>& params) {
  if (auto prepared = Prepare(name, sql); !prepared.ok()) return std::move(prepared).error();
  std::vector<const char*> values = Values(params);
  if (PQenterPipelineMode(conn_) != 1) return Check(nullptr);
  bool sent = PQsendQueryParams(conn_, first, 0, nullptr, nullptr, nullptr, nullptr, 0) == 1 &&
              PQsendQueryPrepared(conn_, name.c_str(), static_cast<int>(values.size()),
                                  values.data(), nullptr, nullptr, 0) == 1 &&
              PQpipelineSync(conn_) == 1;
  if (!sent) {
    PQexitPipelineMode(conn_);
    return Check(nullptr);
  }
  PgResult first_result(NextPipelineResult());
  PgResult second_result(NextPipelineResult());
  PgResult sync(PQgetResult(conn_));
  if (PQexitPipelineMode(conn_) != 1) {
    broken_ = true;
    return fhir::Error::Unavailable("store.unavailable", "the PostgreSQL connection is confused");
  }
  // The first failure explains the second (which is then PGRES_PIPELINE_ABORTED).
  auto checked_first = Check(first_result.Release());
  if (!checked_first.ok()) return checked_first;
  return Check(second_result.Release());
}

fhir::Result<PgResult> PgConnection::ExecSimple(const std::string& sql) {
  return Check(PQexec(conn_, sql.c_str()));
}

}  // namespace server::store::pg
