#include "server/store/pg/table_statistics.h"

#include <string>
#include <vector>

namespace server::store::pg {
namespace {

// The rows a table had at its last analysis are about n_live_tup - n_mod_since_analyze (the
// store mostly inserts); a table never analyzed has n_mod_since_analyze = n_live_tup. Names come
// from the catalog, quoted by quote_ident.
constexpr const char* kGrownSql =
    "SELECT quote_ident(schemaname) || '.' || quote_ident(relname) FROM pg_stat_user_tables "
    "WHERE schemaname = current_schema() AND n_mod_since_analyze >= $1::bigint "
    "AND n_mod_since_analyze >= n_live_tup - n_mod_since_analyze ORDER BY relname";

}  // namespace

fhir::Result<std::vector<std::string>> AnalyzeGrownTables(PgConnection& conn) {
  auto grown = conn.ExecParams(kGrownSql, {std::to_string(kMinChanged)});
  if (!grown.ok()) return std::move(grown).error();
  std::vector<std::string> analyzed;
  for (int row = 0; row < grown->rows(); ++row) {
    const std::string table(grown->Get(row, 0));
    auto done = conn.ExecSimple("ANALYZE " + table);
    if (!done.ok()) return std::move(done).error();
    analyzed.push_back(table);
  }
  return analyzed;
}

}  // namespace server::store::pg
