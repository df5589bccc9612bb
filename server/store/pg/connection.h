// PgConnection: one libpq connection with lazily prepared statements. Every statement that takes
// values goes through Exec, which prepares it once per connection (PQprepare) under the given name
// and then runs it with PQexecPrepared; values are never spliced into SQL text.
//
// Errors map the SQLSTATE to fhir::Error: connection failures -> store.unavailable (503),
// serialization failure or deadlock -> store.serialization-failure (409), the rest ->
// store.sql-error (500). The text names the SQLSTATE and the server's primary message only.
//
// Not thread-safe: one thread at a time (the pool hands a connection to one borrower).
#ifndef SERVER_STORE_PG_CONNECTION_H_
#define SERVER_STORE_PG_CONNECTION_H_

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/result.h"

struct pg_conn;
struct pg_result;

namespace server::store::pg {

// A statement's rows, owning the libpq result.
class PgResult {
 public:
  explicit PgResult(pg_result* result);
  PgResult(PgResult&&) noexcept;
  PgResult& operator=(PgResult&&) noexcept;
  ~PgResult();

  int rows() const;
  bool IsNull(int row, int column) const;
  // The column's text (empty for NULL). Valid while this PgResult lives.
  std::string_view Get(int row, int column) const;
  std::int64_t GetInt(int row, int column) const;
  bool GetBool(int row, int column) const;
  // The command tag, e.g. "INSERT 0 1" or "ROLLBACK".
  std::string_view command_tag() const;
  // Gives up ownership of the libpq result.
  pg_result* Release();

 private:
  pg_result* result_;
};

// A statement parameter in text form; nullopt is SQL NULL.
using Param = std::optional<std::string>;

class PgConnection {
 public:
  // Connects with a libpq connection string; store.unavailable if it cannot.
  static fhir::Result<std::unique_ptr<PgConnection>> Connect(const std::string& conninfo);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs the statement `sql` prepared as `name`. One name must always denote the same SQL.
  fhir::Result<PgResult> Exec(const std::string& name, const std::string& sql,
                              const std::vector<Param>& params);
  // Runs `sql` as an unnamed statement, planned for these values each time: for statements built
  // per request (searches). A prepared statement would move to a generic plan after five runs,
  // chosen without the values, and for searches over skewed index rows such a plan can be ten
  // times slower than the custom one (docs/performance.md).
  fhir::Result<PgResult> ExecParams(const std::string& sql, const std::vector<Param>& params);
  // Runs `sql`, built per request, as a statement prepared on this connection the first time its
  // text is run here and reused after, so it is parsed and planned once rather than each time
  // (with PostgreSQL choosing between plans for the values and one generic plan as it does for
  // any prepared statement). Up to kMaxReused texts per connection; others run as ExecParams.
  fhir::Result<PgResult> ExecReused(const std::string& sql, const std::vector<Param>& params);
  static constexpr std::size_t kMaxReused = 256;
  // Runs parameterless `first` and then the prepared statement in one round trip (libpq pipeline
  // mode) and returns the statement's result, or the first error of either.
  fhir::Result<PgResult> ExecAfter(const char* first, const std::string& name,
                                   const std::string& sql, const std::vector<Param>& params);
  // Runs parameterless SQL (may hold several statements) with the simple query protocol.
  fhir::Result<PgResult> ExecSimple(const std::string& sql);

  // False once the connection is broken; the pool then discards it.
  bool healthy() const;
  // True while a transaction block is open (or failed) on the server side.
  bool in_transaction() const;

 private:
  explicit PgConnection(pg_conn* conn) : conn_(conn) {}
  fhir::Result<PgResult> Check(pg_result* result);
  fhir::Result<void> Prepare(const std::string& name, const std::string& sql);
  // The last result of the current pipeline query; nullptr if the connection broke.
  pg_result* NextPipelineResult();

  pg_conn* conn_;
  std::set<std::string, std::less<>> prepared_;
  std::map<std::string, std::string, std::less<>> reused_;  // SQL text -> statement name
  bool broken_ = false;
};

}  // namespace server::store::pg

#endif  // SERVER_STORE_PG_CONNECTION_H_
