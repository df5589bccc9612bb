// Keeping the planner's statistics of the store's tables current while the tables are young.
//
// PostgreSQL's autovacuum analyzes a table once a tenth of it changed, but looks only once a
// minute (autovacuum_naptime), and until a table's first analysis the planner knows neither its
// size nor its columns. A database filling from empty (a new installation, a first load from a
// HIS) then runs its lookups on plans made for tables of a row or two, which walk whole tables
// for each lookup and get slower with every row written: the first hundred HL7 v2 messages on a
// new database took from 1 to 18 seconds each (docs/performance.md).
//
// AnalyzeGrownTables analyzes the tables of the store's schema that at least doubled since their
// last analysis (or were never analyzed) and changed by at least kMinChanged rows. Doubling makes
// it logarithmically rare: once tables are large, autovacuum alone keeps their statistics. A
// table the connection's role does not own is skipped by PostgreSQL with a warning, not an error.
#ifndef SERVER_STORE_PG_TABLE_STATISTICS_H_
#define SERVER_STORE_PG_TABLE_STATISTICS_H_

#include <string>
#include <vector>

#include "fhir/result.h"
#include "server/store/pg/connection.h"

namespace server::store::pg {

inline constexpr int kMinChanged = 50;

// Analyzes what grew, as above; returns the tables analyzed (schema-qualified names).
fhir::Result<std::vector<std::string>> AnalyzeGrownTables(PgConnection& conn);

}  // namespace server::store::pg

#endif  // SERVER_STORE_PG_TABLE_STATISTICS_H_
