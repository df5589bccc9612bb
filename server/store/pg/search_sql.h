// The SQL of searches: a SearchQuery (conditions on index rows, chains, _has, sort and keyset
// cursor), a count, or an _include/_revinclude, as one statement whose every value is a bound
// parameter. Pure functions; pg_store.cc runs the statements.
#ifndef SERVER_STORE_PG_SEARCH_SQL_H_
#define SERVER_STORE_PG_SEARCH_SQL_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "fhir/result.h"
#include "server/store/pg/connection.h"
#include "server/store/store.h"

namespace server::store::pg {

struct Statement {
  std::string sql;
  std::vector<Param> params;
};

// The columns every statement below returns first, in RowToVersion's order.
inline constexpr const char* kVersionColumnList =
    "v.type, v.id, v.version, v.deleted, (extract(epoch FROM v.last_updated) * 1000000)::bigint, "
    "v.json, v.seq, v.method";
inline constexpr int kVersionColumnCount = 8;

// How SearchStatement chooses a page; the store decides it before building the statement.
struct SearchPlan {
  // One flag per query.has (for pages of one type in id order): test those reverse chains on
  // each candidate in id order, stopping at a page, rather than let the planner join them. When
  // most resources match (patients with a blood pressure), that reads a page's worth of
  // candidates where a join would read every referring row; when few do, the join is better.
  // PostgreSQL misjudges which case it is in (the estimate of a join on ids spread over every
  // type is far too low), so the caller decides from ReverseChainDensity.
  std::vector<bool> walk_has;
  // The condition (an index into query.conditions) whose index rows the page is chosen from,
  // every other condition then being tested on each of them; nullopt leaves the join order to
  // PostgreSQL. Used for a search of one type without _lastUpdated (ignored otherwise). Index
  // rows exist only for current, undeleted resources, so no plan reads more than the resources
  // of the driver's rows, and a statement of several conditions plans in well under a
  // millisecond where PostgreSQL spends milliseconds weighing join orders. The caller chooses
  // the driver from DriverProbeStatement (searches) or FirstRequiredCondition (lookups, whose
  // plans are made once per connection and must stay bounded whatever the statistics were).
  std::optional<size_t> driver;
};

// One page of `query` plus one row (to tell whether there is a next page). After the version
// columns come the sort values of the row as text, one per key of the query's sort; NextCursor
// reads them. A search of one type tests `type = $n`, so the indexes that lead with the type
// serve it; across types the test is `type = ANY($n)`, or none for every type. store.invalid-cursor
// when query.after is not a cursor of this query.
fhir::Result<Statement> SearchStatement(const std::string& tenant, const SearchQuery& query,
                                        const SearchPlan& plan = {});

// The first condition that needs rows of its own parameter (not negated, not composite).
std::optional<size_t> FirstRequiredCondition(const SearchQuery& query);

// A statement of one row that counts, up to `cap` each, the index rows of every condition of
// `query` that could drive its page (SearchPlan::driver): those whose tests are each one closed
// range of their index (an exact code, a referenced resource, a string's prefix, a day or a number
// with both bounds), so that each count reads about `cap` index entries at most. Its columns are in the
// order of `candidates` (indexes into query.conditions). nullopt when there is no such condition,
// or nothing to gain: a search across types, with _lastUpdated, _has or _id, or with fewer than
// three tests (conditions, compartment and sort keys together), which PostgreSQL plans quickly as
// it is.
struct DriverProbe {
  Statement statement;
  std::vector<size_t> candidates;
};
std::optional<DriverProbe> DriverProbeStatement(const std::string& tenant, const SearchQuery& query,
                                                int cap);

// Counts, up to `cap`, the index rows of the first condition of has.source that needs rows: how
// many referring resources the reverse chain can start from. nullopt when it has no such
// condition (then any referring resource may match).
std::optional<Statement> ReverseChainDensity(const std::string& tenant, const ReverseChain& has,
                                             int cap);

// The cursor that continues `query` after row `row` of its SearchStatement's result.
std::string NextCursor(const SearchQuery& query, const PgResult& rows, int row);

// SELECT count(*) of the matches.
Statement CountStatement(const std::string& tenant, const SearchQuery& query);

Statement IncludeStatement(const std::string& tenant, const IncludeQuery& query);

}  // namespace server::store::pg

#endif  // SERVER_STORE_PG_SEARCH_SQL_H_
