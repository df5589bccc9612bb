#include "server/store/pg/pg_store.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "server/store/pg/search_sql.h"
#include "server/store/pg/sql_values.h"

namespace server::store::pg {
namespace {

// Timestamps cross the wire as integer microseconds since the epoch: exact both ways, no text
// formatting or time-zone handling on either side.
#define FHIRHUB_MICROS(column) "(extract(epoch FROM " column ") * 1000000)::bigint"
#define FHIRHUB_TS(param) "(timestamptz 'epoch' + " param "::bigint * interval '1 microsecond')"

constexpr const char* kSelectColumns =
    "type, id, version, deleted, " FHIRHUB_MICROS("last_updated") ", json, seq, method";

constexpr const char* kReadSql =
    "SELECT type, id, version, deleted, " FHIRHUB_MICROS("last_updated") ", json, seq, method "
    "FROM resource_version WHERE tenant = $1 AND type = $2 AND id = $3 "
    "ORDER BY version DESC LIMIT 1";

constexpr const char* kReadVersionSql =
    "SELECT type, id, version, deleted, " FHIRHUB_MICROS("last_updated") ", json, seq, method "
    "FROM resource_version WHERE tenant = $1 AND type = $2 AND id = $3 AND version = $4";

constexpr const char* kLockSql =
    "SELECT version, deleted, " FHIRHUB_MICROS("last_updated") " FROM resource_current "
    "WHERE tenant = $1 AND type = $2 AND id = $3 FOR UPDATE";

// The index tables and the columns of their rows after (tenant, type, id), each with the type of
// its array parameter, in the order AppendIndexParams builds the arrays.
struct IndexTableColumns {
  const char* table;
  std::vector<std::pair<const char*, const char*>> columns;  // (column, element type)
};

const std::vector<IndexTableColumns>& IndexTables() {
  static const std::vector<IndexTableColumns> tables = {
      {"search_string",
       {{"param", "text"}, {"normalized", "text"}, {"exact", "text"}, {"grp", "int"}}},
      {"search_token",
       {{"param", "text"},
        {"system", "text"},
        {"code", "text"},
        {"text", "text"},
        {"type_system", "text"},
        {"type_code", "text"},
        {"grp", "int"}}},
      {"search_date",
       {{"param", "text"}, {"\"from\"", "bigint"}, {"before", "bigint"}, {"grp", "int"}}},
      {"search_number", {{"param", "text"}, {"value", "numeric"}, {"grp", "int"}}},
      {"search_quantity",
       {{"param", "text"},
        {"value", "numeric"},
        {"system", "text"},
        {"code", "text"},
        {"unit", "text"},
        {"canonical_value", "numeric"},
        {"canonical_code", "text"},
        {"grp", "int"}}},
      {"search_reference",
       {{"param", "text"},
        {"target_type", "text"},
        {"target_id", "text"},
        {"url", "text"},
        {"version", "text"},
        {"identifier_system", "text"},
        {"identifier_value", "text"},
        {"grp", "int"}}},
      {"search_uri", {{"param", "text"}, {"value", "text"}, {"grp", "int"}}},
      {"search_text", {{"param", "text"}, {"doc", "tsvector"}}},
  };
  return tables;
}

// The CTEs that insert a version's index rows: one array parameter per column, from $`first` on
// (AppendIndexParams), unnested into each table; `key` is the FROM item that names tenant, type
// and id as k. Dates travel as integer microseconds; an absent bound is -infinity or infinity.
std::string IndexInserts(const std::string& key, int first) {
  std::string sql;
  int next = first;
  for (const IndexTableColumns& table : IndexTables()) {
    std::string names;
    std::string values;
    std::string arrays;
    std::string aliases;
    for (const auto& [column, type] : table.columns) {
      const std::string alias = "u" + std::to_string(next);
      names += std::string(", ") + column;
      if (std::string_view(column) == "\"from\"" || std::string_view(column) == "before") {
        values += ", COALESCE(timestamptz 'epoch' + " + alias + " * interval '1 microsecond', '" +
                  (std::string_view(column) == "before" ? "infinity" : "-infinity") + "')";
      } else {
        values += ", " + alias;
      }
      arrays +=
          std::string(arrays.empty() ? "" : ", ") + "$" + std::to_string(next) + "::" + type + "[]";
      aliases += (aliases.empty() ? "" : ", ") + alias;
      ++next;
    }
    sql += std::string(sql.empty() ? " " : ", ") + "i_" + table.table + " AS (INSERT INTO " +
           table.table + " (tenant, type, id" + names + ") SELECT k.tenant, k.type, k.id" + values +
           " FROM " + key + ", unnest(" + arrays + ") AS u(" + aliases + "))";
  }
  return sql;
}

// The CTEs that delete a resource's ($1, $2, $3) index rows.
std::string IndexDeletes() {
  std::string sql;
  for (const IndexTableColumns& table : IndexTables()) {
    sql += std::string(" d_") + table.table + " AS (DELETE FROM " + table.table +
           " WHERE tenant = $1 AND type = $2 AND id = $3),";
  }
  return sql;
}

constexpr const char* kKeyFrom = "(SELECT $1::text AS tenant, $2::text AS type, $3::text AS id) k";

// A first version: claims the resource_current row. If a concurrent transaction created the
// same resource first, ON CONFLICT waits for it and then inserts nothing (no version, no index
// rows), and Write starts over.
const std::string kCreateSql =
    "WITH cur AS ("
    " INSERT INTO resource_current (tenant, type, id, version, deleted, last_updated)"
    " VALUES ($1, $2, $3, $4, $5, " FHIRHUB_TS("$6") ")"
    " ON CONFLICT DO NOTHING RETURNING tenant, type, id, version, deleted, last_updated),"
    " ver AS (INSERT INTO resource_version"
    " (tenant, type, id, version, last_updated, deleted, json, method)"
    " SELECT tenant, type, id, version, last_updated, deleted, $7, $8 FROM cur RETURNING seq)," +
    IndexInserts("cur k", 9) + " SELECT seq FROM ver";

// A later version, with the resource_current row already locked by kLockSql: the previous
// version's index rows are replaced by this one's (none for a delete). All parts of the statement
// see the same snapshot, so the deletes do not see the rows it inserts.
const std::string kUpdateSql =
    "WITH cur AS ("
    " UPDATE resource_current SET version = $4, deleted = $5, last_updated = " FHIRHUB_TS(
        "$6") " WHERE tenant = $1 AND type = $2 AND id = $3)," +
    IndexDeletes() + IndexInserts(kKeyFrom, 9) +
    " INSERT INTO resource_version"
    " (tenant, type, id, version, last_updated, deleted, json, method)"
    " VALUES ($1, $2, $3, $4, " FHIRHUB_TS("$6") ", $5, $7, $8) RETURNING seq";

// Reindexing: a resource's rows replaced, its version untouched.
const std::string kReplaceIndexSql =
    "WITH" + IndexDeletes() + IndexInserts(kKeyFrom, 4) + " SELECT 1";

// The current versions (deleted ones included) of the resources named by the arrays of types
// $2 and ids $3, locked until the transaction ends, in the order of the primary key.
constexpr const char* kLockResourcesSql =
    "SELECT v.type, v.id, v.version, v.deleted, " FHIRHUB_MICROS("v.last_updated") ", v.json, "
    "v.seq, v.method FROM resource_current c JOIN resource_version v"
    " USING (tenant, type, id, version)"
    " WHERE c.tenant = $1 AND (c.type, c.id) IN (SELECT * FROM unnest($2::text[], $3::text[]))"
    " ORDER BY c.type, c.id FOR UPDATE OF c";

// The current versions after a position, locked until the transaction ends.
constexpr const char* kLockCurrentSql =
    "SELECT v.type, v.id, v.version, v.deleted, " FHIRHUB_MICROS("v.last_updated") ", v.json, "
    "v.seq, v.method FROM resource_current c JOIN resource_version v"
    " USING (tenant, type, id, version)"
    " WHERE c.tenant = $1 AND NOT c.deleted AND (c.type, c.id) > ($2, $3)"
    " ORDER BY c.type, c.id LIMIT $4 FOR UPDATE OF c";

constexpr const char* kReadIndexStateSql =
    "SELECT fingerprint, position_type, position_id, complete FROM search_index_state"
    " WHERE tenant = $1 FOR UPDATE";

constexpr const char* kWriteIndexStateSql =
    "INSERT INTO search_index_state (tenant, fingerprint, position_type, position_id, complete)"
    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant) DO UPDATE SET fingerprint = $2,"
    " position_type = $3, position_id = $4, complete = $5";

constexpr int kMaxHistoryCount = 1000;
// A reverse chain that can start from at least this many referring resources is tested resource
// by resource (WalkReverseChains). Below it, reading every referring row is cheaper than walking
// the candidates until a page is found; well above it, the walk costs a page's worth of probes
// while the join reads every referring row. The walk's cost grows as fewer candidates match: at
// a million resources, patients with an HbA1c (8,000 rows, one patient in ten) took 250 ms
// walked and 90 ms joined, where a code every patient has (90,000 rows) took 16 ms walked.
constexpr int kDenseReverseChain = 10000;
// A condition with fewer index rows than this drives a search's page (SearchPlan::driver):
// testing the other conditions on each of its rows costs a few index probes per row, a few
// milliseconds at most, and planning the statement well under one.
constexpr int kDriverRows = 500;

constexpr const char* kBeginReadCommitted = "BEGIN ISOLATION LEVEL READ COMMITTED";

// Transaction-scoped advisory locks on a 64-bit hash of each criterion, taken in key order. A
// hash collision only makes two unrelated conditional interactions take turns.
constexpr const char* kLockCriteriaSql =
    "SELECT pg_advisory_xact_lock(k) FROM ("
    "SELECT DISTINCT hashtextextended($1 || ' ' || c, 0) AS k FROM unnest($2::text[]) c "
    "ORDER BY k) locks";

ResourceVersion RowToVersion(const PgResult& rows, int row) {
  ResourceVersion version;
  version.type = rows.Get(row, 0);
  version.id = rows.Get(row, 1);
  version.stamp.version = rows.GetInt(row, 2);
  version.deleted = rows.GetBool(row, 3);
  version.stamp.last_updated = Timestamp(std::chrono::microseconds(rows.GetInt(row, 4)));
  version.json = rows.Get(row, 5);
  version.sequence = rows.GetInt(row, 6);
  version.method = rows.Get(row, 7);
  return version;
}

std::optional<std::string> MicrosOrNull(const std::optional<Timestamp>& t) {
  if (!t) return std::nullopt;
  return Micros(*t);
}

// A full-text document as tsvector input: each lexeme quoted (quotes and backslashes doubled)
// with its positions, "'a':1,4 'b':2".
std::string TsVector(const IndexEntries::Text& text) {
  std::string out;
  for (const IndexEntries::Text::Lexeme& lexeme : text.lexemes) {
    if (!out.empty()) out += ' ';
    out += '\'';
    for (char c : lexeme.text) {
      if (c == '\'' || c == '\\') out += c;
      out += c;
    }
    out += '\'';
    for (size_t i = 0; i < lexeme.positions.size(); ++i) {
      out += i == 0 ? ':' : ',';
      out += std::to_string(lexeme.positions[i]);
    }
  }
  return out;
}

// The array parameters of IndexInserts, in the order of IndexTables, appended to `params`.
void AppendIndexParams(const IndexEntries& index, std::vector<Param>& params) {
  // One array per column; `rows` are the entries of one table, `columns` the getters.
  auto columns = [&params](const auto& rows, auto... column) {
    (
        [&] {
          ArrayLiteral array;
          for (const auto& row : rows) array.Add(column(row));
          params.push_back(array.Take());
        }(),
        ...);
  };
  using E = IndexEntries;
  columns(
      index.strings, [](const E::String& r) { return r.param; },
      [](const E::String& r) { return r.normalized; }, [](const E::String& r) { return r.exact; },
      [](const E::String& r) { return std::to_string(r.group); });
  columns(
      index.tokens, [](const E::Token& r) { return r.param; },
      [](const E::Token& r) { return r.system; }, [](const E::Token& r) { return r.code; },
      [](const E::Token& r) { return r.text; }, [](const E::Token& r) { return r.type_system; },
      [](const E::Token& r) { return r.type_code; },
      [](const E::Token& r) { return std::to_string(r.group); });
  columns(
      index.dates, [](const E::Date& r) { return r.param; },
      [](const E::Date& r) { return MicrosOrNull(r.from); },
      [](const E::Date& r) { return MicrosOrNull(r.before); },
      [](const E::Date& r) { return std::to_string(r.group); });
  columns(
      index.numbers, [](const E::Number& r) { return r.param; },
      [](const E::Number& r) { return r.value; },
      [](const E::Number& r) { return std::to_string(r.group); });
  columns(
      index.quantities, [](const E::Quantity& r) { return r.param; },
      [](const E::Quantity& r) { return r.value; }, [](const E::Quantity& r) { return r.system; },
      [](const E::Quantity& r) { return r.code; }, [](const E::Quantity& r) { return r.unit; },
      [](const E::Quantity& r) -> std::optional<std::string> {
        if (r.canonical_value.empty()) return std::nullopt;
        return r.canonical_value;
      },
      [](const E::Quantity& r) { return r.canonical_code; },
      [](const E::Quantity& r) { return std::to_string(r.group); });
  columns(
      index.references, [](const E::Reference& r) { return r.param; },
      [](const E::Reference& r) { return r.target_type; },
      [](const E::Reference& r) { return r.target_id; },
      [](const E::Reference& r) { return r.url; }, [](const E::Reference& r) { return r.version; },
      [](const E::Reference& r) { return r.identifier_system; },
      [](const E::Reference& r) { return r.identifier_value; },
      [](const E::Reference& r) { return std::to_string(r.group); });
  columns(
      index.uris, [](const E::Uri& r) { return r.param; }, [](const E::Uri& r) { return r.value; },
      [](const E::Uri& r) { return std::to_string(r.group); });
  columns(
      index.texts, [](const E::Text& r) { return r.param; },
      [](const E::Text& r) { return TsVector(r); });
}

fhir::Error Closed() {
  return fhir::Error::Internal("store.transaction-closed", "the transaction is already closed");
}

class PgTransaction final : public Transaction {
 public:
  // BEGIN is sent with the first write or lock.
  PgTransaction(ConnectionPool::Lease lease, const Clock& clock, const std::string& tenant)
      : lease_(std::move(lease)), clock_(clock), tenant_(tenant) {}

  ~PgTransaction() override {
    // Nothing to report from a destructor; a connection left inside a failed rollback is not
    // reused by the pool.
    if (open_) (void)Rollback();
  }

  fhir::Result<ResourceVersion> Read(const std::string& type, const std::string& id) override {
    if (!open_) return Closed();
    if (auto flushed = Flush(); !flushed.ok()) return std::move(flushed).error();
    if (auto known = locked_rows_.find({type, id}); known != locked_rows_.end()) {
      if (!known->second) {
        return fhir::Error::NotFound("store.not-found", "no resource " + type + "/" + id);
      }
      return *known->second;
    }
    auto rows = lease_->Exec("store_read", kReadSql, {tenant_, type, id});
    if (!rows.ok()) return std::move(rows).error();
    if (rows->rows() == 0) {
      return fhir::Error::NotFound("store.not-found", "no resource " + type + "/" + id);
    }
    return RowToVersion(*rows, 0);
  }

  fhir::Result<ResourceVersion> ReadVersion(const std::string& type, const std::string& id,
                                            std::int64_t version) override {
    if (!open_) return Closed();
    if (auto flushed = Flush(); !flushed.ok()) return std::move(flushed).error();
    auto rows = lease_->Exec("store_read_version", kReadVersionSql,
                             {tenant_, type, id, std::to_string(version)});
    if (!rows.ok()) return std::move(rows).error();
    if (rows->rows() == 0) {
      return fhir::Error::NotFound(
          "store.not-found", "no version " + std::to_string(version) + " of " + type + "/" + id);
    }
    return RowToVersion(*rows, 0);
  }

  fhir::Result<HistoryPage> History(const HistoryQuery& query) override {
    if (!open_) return Closed();
    if (auto flushed = Flush(); !flushed.ok()) return std::move(flushed).error();
    if (query.id && !query.type) {
      return fhir::Error::Internal("store.bad-history-query", "an id needs a type");
    }
    int count = std::clamp(query.count, 1, kMaxHistoryCount);
    // One prepared statement per shape of query, named after it, so each keeps a plan that uses
    // the matching index instead of a catch-all with optional predicates.
    std::string name = "store_history";
    std::vector<Param> params = {tenant_};
    // With _at, `inner` picks each resource's version current at that time and `outer` filters
    // those; without it, both apply to all versions alike.
    std::string inner = "tenant = $1";
    std::string outer = "true";
    auto add = [&](std::string& clause, const char* tag, std::string_view predicate,
                   std::string value) {
      name += tag;
      params.push_back(std::move(value));
      std::string text(predicate);
      std::string placeholder(1, '$');
      placeholder += std::to_string(params.size());
      text.replace(text.find('?'), 1, placeholder);
      clause += " AND " + text;
    };
    if (query.type) add(inner, "_t", "type = ?", *query.type);
    if (query.id) add(inner, "_i", "id = ?", *query.id);
    if (query.at) add(inner, "_a", "last_updated <= " FHIRHUB_TS("?"), Micros(*query.at));
    std::string& filter = query.at ? outer : inner;
    if (query.since) add(filter, "_s", "last_updated >= " FHIRHUB_TS("?"), Micros(*query.since));
    if (query.after) add(filter, "_c", "seq < ?::bigint", std::to_string(*query.after));
    params.push_back(std::to_string(count + 1));
    std::string limit = " ORDER BY seq DESC LIMIT $" + std::to_string(params.size());
    std::string sql = std::string("SELECT ") + kSelectColumns;
    if (query.at) {
      sql += " FROM (SELECT DISTINCT ON (type, id) * FROM resource_version WHERE " + inner +
             " ORDER BY type, id, version DESC) v WHERE " + outer + limit;
    } else {
      sql += " FROM resource_version WHERE " + inner + limit;
    }
    auto rows = lease_->Exec(name, sql, params);
    if (!rows.ok()) return std::move(rows).error();
    HistoryPage page;
    int n = std::min(rows->rows(), count);
    page.entries.reserve(n);
    for (int row = 0; row < n; ++row) page.entries.push_back(RowToVersion(*rows, row));
    if (rows->rows() > count) page.next = page.entries.back().sequence;
    return page;
  }

  fhir::Result<SearchPage> Search(const SearchQuery& query) override {
    if (!open_) return Closed();
    if (auto flushed = Flush(); !flushed.ok()) return std::move(flushed).error();
    SearchPlan plan;
    auto walk_has = WalkReverseChains(query);
    if (!walk_has.ok()) return std::move(walk_has).error();
    plan.walk_has = *std::move(walk_has);
    auto driver = ChooseDriver(query);
    if (!driver.ok()) return std::move(driver).error();
    plan.driver = *driver;
    auto statement = SearchStatement(tenant_, query, plan);
    if (!statement.ok()) return std::move(statement).error();
    // A driven statement's shape is fixed by its fences (the driver's index range, then a probe
    // per row for each other test), so its plan may be reused for other values; a search left to
    // the planner is planned for its own values each time.
    auto rows = query.reuse_plan || plan.driver
                    ? lease_->ExecReused(statement->sql, statement->params)
                    : lease_->ExecParams(statement->sql, statement->params);
    if (!rows.ok()) return std::move(rows).error();
    const int count = std::clamp(query.count, 1, kMaxHistoryCount);
    SearchPage page;
    const int n = std::min(rows->rows(), count);
    page.entries.reserve(n);
    for (int row = 0; row < n; ++row) page.entries.push_back(RowToVersion(*rows, row));
    if (rows->rows() > count) page.next = NextCursor(query, *rows, n - 1);
    return page;
  }

  // Which condition's index rows to choose the page from (SearchPlan::driver). A lookup takes
  // its first required condition: its plan is made once, possibly on nearly empty tables, and
  // must stay bounded by those rows whatever it was made from. A search counts the rows of each
  // condition that may drive, up to kDriverRows, and takes the fewest; when every one has that
  // many, no single condition narrows the search much, and PostgreSQL's own plan, made with the
  // values, is left to combine them.
  fhir::Result<std::optional<size_t>> ChooseDriver(const SearchQuery& query) {
    if (query.reuse_plan) return FirstRequiredCondition(query);
    auto probe = DriverProbeStatement(tenant_, query, kDriverRows);
    if (!probe) return std::optional<size_t>();
    auto rows = lease_->ExecReused(probe->statement.sql, probe->statement.params);
    if (!rows.ok()) return std::move(rows).error();
    std::optional<size_t> driver;
    std::int64_t fewest = kDriverRows;
    for (size_t i = 0; i < probe->candidates.size(); ++i) {
      const std::int64_t count = rows->GetInt(0, static_cast<int>(i));
      if (count < fewest) {
        fewest = count;
        driver = probe->candidates[i];
      }
    }
    return driver;
  }

  // Which reverse chains of a page of one type in id order to test resource by resource
  // (SearchStatement): those that may start from many referring resources.
  fhir::Result<std::vector<bool>> WalkReverseChains(const SearchQuery& query) {
    std::vector<bool> walk(query.has.size(), false);
    const bool by_id = std::all_of(query.sort.begin(), query.sort.end(),
                                   [](const SortKey& key) { return key.param == "_id"; });
    if (!by_id || query.type.empty()) return walk;
    for (size_t i = 0; i < query.has.size(); ++i) {
      const ReverseChain& has = query.has[i];
      if (has.source->ids) continue;
      auto density = ReverseChainDensity(tenant_, has, kDenseReverseChain);
      if (!density) {
        walk[i] = true;
        continue;
      }
      auto rows = lease_->ExecReused(density->sql, density->params);
      if (!rows.ok()) return std::move(rows).error();
      walk[i] = rows->GetInt(0, 0) >= kDenseReverseChain;
    }
    return walk;
  }

  fhir::Result<std::int64_t> Count(const SearchQuery& query) override {
    if (!open_) return Closed();
    if (auto flushed = Flush(); !flushed.ok()) return std::move(flushed).error();
    const Statement statement = CountStatement(tenant_, query);
    auto rows = lease_->ExecParams(statement.sql, statement.params);
    if (!rows.ok()) return std::move(rows).error();
    return rows->GetInt(0, 0);
  }

  fhir::Result<std::vector<ResourceVersion>> Include(const IncludeQuery& query) override {
    if (!open_) return Closed();
    if (auto flushed = Flush(); !flushed.ok()) return std::move(flushed).error();
    std::vector<ResourceVersion> out;
    if (query.from.empty() || query.limit <= 0) return out;
    // Reused: the statement probes the index by the given resources whatever their number, a
    // shape no generic plan turns around.
    const Statement statement = IncludeStatement(tenant_, query);
    auto rows = lease_->ExecReused(statement.sql, statement.params);
    if (!rows.ok()) return std::move(rows).error();
    out.reserve(rows->rows());
    for (int row = 0; row < rows->rows(); ++row) out.push_back(RowToVersion(*rows, row));
    return out;
  }

  fhir::Result<WriteResult> Write(const WriteOp& op) override {
    if (!open_) return Closed();
    if (auto flushed = Flush(); !flushed.ok()) return std::move(flushed).error();
    if (op.new_id && !op.is_delete) {
      // No version can exist, so there is nothing to lock: the insert waits to travel with the
      // next statement, or with the commit (then as one autocommitted statement).
      WriteResult result;
      result.created = true;
      result.stamp = {1, clock_.Now()};
      auto rendered = op.render(result.stamp);
      if (!rendered.ok()) return std::move(rendered).error();
      pending_ = std::vector<Param>{tenant_,
                                    op.type,
                                    op.id,
                                    "1",
                                    "f",
                                    Micros(result.stamp.last_updated),
                                    std::move(rendered->json),
                                    op.method};
      AppendIndexParams(rendered->index, *pending_);
      return result;
    }
    // Loops only when a concurrent transaction created the same resource between our lock
    // attempt and our insert; the second pass finds and locks its row.
    for (;;) {
      // The locked row: its version, whether it is deleted, and when it was written.
      struct Current {
        std::int64_t version = 0;
        bool deleted = false;
        Timestamp last_updated;
      };
      std::optional<Current> current;
      if (auto known = locked_rows_.extract({op.type, op.id}); !known.empty()) {
        if (const std::optional<ResourceVersion>& row = known.mapped()) {
          current = Current{row->stamp.version, row->deleted, row->stamp.last_updated};
        }
      } else {
        std::vector<Param> key = {tenant_, op.type, op.id};
        auto rows = begun_ ? lease_->Exec("store_lock", kLockSql, key)
                           : lease_->ExecAfter(kBeginReadCommitted, "store_lock", kLockSql, key);
        begun_ = true;
        if (!rows.ok()) return std::move(rows).error();
        if (rows->rows() > 0) {
          current = Current{rows->GetInt(0, 0), rows->GetBool(0, 1),
                            Timestamp(std::chrono::microseconds(rows->GetInt(0, 2)))};
        }
      }
      const bool exists = current.has_value();
      WriteResult result;
      result.created = !exists;
      std::int64_t previous = exists ? current->version : 0;
      if (op.expected_version && *op.expected_version != previous) {
        return fhir::Error::PreconditionFailed("store.version-conflict",
                                               op.type + "/" + op.id + " is at version " +
                                                   std::to_string(previous) + ", not " +
                                                   std::to_string(*op.expected_version));
      }
      Timestamp now = clock_.Now();
      if (exists && now <= current->last_updated) {
        now = current->last_updated + std::chrono::microseconds(1);
      }
      if (op.is_delete) {
        if (!exists) {
          return fhir::Error::NotFound("store.not-found", "no resource " + op.type + "/" + op.id);
        }
        if (current->deleted) {
          result.stamp = {previous, current->last_updated};
          result.changed = false;
          return result;
        }
      }
      result.stamp = {previous + 1, now};
      Rendered rendered;
      Param json;
      if (!op.is_delete) {
        auto made = op.render(result.stamp);
        if (!made.ok()) return std::move(made).error();
        rendered = std::move(made).value();
        json = std::move(rendered.json);
      }
      std::vector<Param> params = {tenant_,
                                   op.type,
                                   op.id,
                                   std::to_string(result.stamp.version),
                                   op.is_delete ? "t" : "f",
                                   Micros(now),
                                   std::move(json),
                                   op.method};
      AppendIndexParams(rendered.index, params);
      auto written = exists ? lease_->Exec("store_update", kUpdateSql, params)
                            : lease_->Exec("store_create", kCreateSql, params);
      if (!written.ok()) return std::move(written).error();
      if (written->rows() == 1) return result;
    }
  }

  fhir::Result<void> LockCriteria(const std::vector<std::string>& criteria) override {
    if (!open_) return Closed();
    std::vector<std::string> fresh;
    for (const std::string& criterion : criteria) {
      if (locked_.insert(criterion).second) fresh.push_back(criterion);
    }
    if (fresh.empty()) return {};
    if (auto flushed = Flush(); !flushed.ok()) return std::move(flushed).error();
    const std::vector<Param> params = {tenant_, TextArray(fresh)};
    // Advisory transaction locks outlive the statement only inside a transaction block.
    auto locked = begun_ ? lease_->Exec("store_lock_criteria", kLockCriteriaSql, params)
                         : lease_->ExecAfter(kBeginReadCommitted, "store_lock_criteria",
                                             kLockCriteriaSql, params);
    begun_ = true;
    if (!locked.ok()) return std::move(locked).error();
    return {};
  }

  fhir::Result<void> LockResources(const std::vector<ResourceKey>& keys) override {
    if (!open_) return Closed();
    std::vector<std::string> types;
    std::vector<std::string> ids;
    for (const ResourceKey& key : keys) {
      if (locked_rows_.contains({key.type, key.id})) continue;
      types.push_back(key.type);
      ids.push_back(key.id);
    }
    if (types.empty()) return {};
    if (auto flushed = Flush(); !flushed.ok()) return std::move(flushed).error();
    const std::vector<Param> params = {tenant_, TextArray(types), TextArray(ids)};
    // Row locks outlive the statement only inside a transaction block.
    auto rows = begun_ ? lease_->Exec("store_lock_resources", kLockResourcesSql, params)
                       : lease_->ExecAfter(kBeginReadCommitted, "store_lock_resources",
                                           kLockResourcesSql, params);
    begun_ = true;
    if (!rows.ok()) return std::move(rows).error();
    for (size_t i = 0; i < types.size(); ++i) {
      locked_rows_.emplace(std::pair(types[i], ids[i]), std::nullopt);
    }
    for (int row = 0; row < rows->rows(); ++row) {
      ResourceVersion version = RowToVersion(*rows, row);
      locked_rows_[{version.type, version.id}] = std::move(version);
    }
    return {};
  }

  fhir::Result<void> Commit() override {
    if (!open_) return Closed();
    if (pending_ && !begun_) {
      // The transaction's one write: a single statement commits it, durably, by itself.
      open_ = false;
      auto written = lease_->Exec("store_create", kCreateSql, *pending_);
      pending_.reset();
      if (!written.ok()) return std::move(written).error();
      if (written->rows() == 0) return IdExists();
      return {};
    }
    if (auto flushed = Flush(); !flushed.ok()) {
      open_ = false;
      (void)lease_->ExecSimple("ROLLBACK");
      return flushed;
    }
    open_ = false;
    if (!begun_) return {};
    auto done = lease_->ExecSimple("COMMIT");
    if (!done.ok()) return std::move(done).error();
    // COMMIT of a transaction that had failed answers ROLLBACK without an error.
    if (done->command_tag() == "ROLLBACK") {
      return fhir::Error::Internal("store.sql-error", "the transaction was rolled back");
    }
    return {};
  }

  fhir::Result<IndexState> ReadIndexState() override {
    if (!open_) return Closed();
    if (auto flushed = Flush(); !flushed.ok()) return std::move(flushed).error();
    auto rows = begun_ ? lease_->Exec("store_index_state", kReadIndexStateSql, {tenant_})
                       : lease_->ExecAfter(kBeginReadCommitted, "store_index_state",
                                           kReadIndexStateSql, {tenant_});
    begun_ = true;
    if (!rows.ok()) return std::move(rows).error();
    IndexState state;
    if (rows->rows() == 0) return state;
    state.fingerprint = rows->Get(0, 0);
    if (!rows->IsNull(0, 1)) {
      state.position = ResourceKey{std::string(rows->Get(0, 1)), std::string(rows->Get(0, 2))};
    }
    state.complete = rows->GetBool(0, 3);
    return state;
  }

  fhir::Result<void> WriteIndexState(const IndexState& state) override {
    if (!open_) return Closed();
    if (auto flushed = Flush(); !flushed.ok()) return std::move(flushed).error();
    std::vector<Param> params = {tenant_, state.fingerprint, std::nullopt, std::nullopt,
                                 state.complete ? "t" : "f"};
    if (state.position) {
      params[2] = state.position->type;
      params[3] = state.position->id;
    }
    auto written = begun_ ? lease_->Exec("store_write_index_state", kWriteIndexStateSql, params)
                          : lease_->ExecAfter(kBeginReadCommitted, "store_write_index_state",
                                              kWriteIndexStateSql, params);
    begun_ = true;
    if (!written.ok()) return std::move(written).error();
    return {};
  }

  fhir::Result<std::vector<ResourceVersion>> LockCurrent(const std::optional<ResourceKey>& after,
                                                         int count) override {
    if (!open_) return Closed();
    if (auto flushed = Flush(); !flushed.ok()) return std::move(flushed).error();
    std::vector<Param> params = {tenant_, after ? after->type : "", after ? after->id : "",
                                 std::to_string(std::max(count, 0))};
    auto rows = begun_ ? lease_->Exec("store_lock_current", kLockCurrentSql, params)
                       : lease_->ExecAfter(kBeginReadCommitted, "store_lock_current",
                                           kLockCurrentSql, params);
    begun_ = true;
    if (!rows.ok()) return std::move(rows).error();
    std::vector<ResourceVersion> out;
    out.reserve(rows->rows());
    for (int row = 0; row < rows->rows(); ++row) out.push_back(RowToVersion(*rows, row));
    return out;
  }

  fhir::Result<void> ReplaceIndex(const std::string& type, const std::string& id,
                                  const IndexEntries& index) override {
    if (!open_) return Closed();
    if (auto flushed = Flush(); !flushed.ok()) return std::move(flushed).error();
    std::vector<Param> params = {tenant_, type, id};
    AppendIndexParams(index, params);
    auto done = begun_ ? lease_->Exec("store_replace_index", kReplaceIndexSql, params)
                       : lease_->ExecAfter(kBeginReadCommitted, "store_replace_index",
                                           kReplaceIndexSql, params);
    begun_ = true;
    if (!done.ok()) return std::move(done).error();
    return {};
  }

  fhir::Result<void> Rollback() override {
    if (!open_) return Closed();
    open_ = false;
    pending_.reset();
    if (!begun_) return {};
    auto done = lease_->ExecSimple("ROLLBACK");
    if (!done.ok()) return std::move(done).error();
    return {};
  }

 private:
  static fhir::Error IdExists() {
    return fhir::Error::Conflict("store.id-exists", "a resource with the new id exists already");
  }

  // Sends the pending create, if any, beginning the transaction block with it.
  fhir::Result<void> Flush() {
    if (!pending_) return {};
    std::vector<Param> params = std::move(*pending_);
    pending_.reset();
    auto written = begun_
                       ? lease_->Exec("store_create", kCreateSql, params)
                       : lease_->ExecAfter(kBeginReadCommitted, "store_create", kCreateSql, params);
    begun_ = true;
    if (!written.ok()) return std::move(written).error();
    if (written->rows() == 0) return IdExists();
    return {};
  }

  ConnectionPool::Lease lease_;
  const Clock& clock_;
  const std::string& tenant_;
  bool begun_ = false;
  bool open_ = true;
  // The criteria this transaction has locked (LockCriteria).
  std::set<std::string> locked_;
  // The resources LockResources locked and this transaction has not written since: their
  // current version, or nullopt for one that did not exist.
  std::map<std::pair<std::string, std::string>, std::optional<ResourceVersion>> locked_rows_;
  // A create with a new id (WriteOp::new_id) not sent yet: its statement's parameters.
  std::optional<std::vector<Param>> pending_;
};

}  // namespace

PgStore::PgStore(PoolOptions pool, const Clock& clock, std::string tenant)
    : pool_(std::move(pool)), clock_(clock), tenant_(std::move(tenant)) {}

fhir::Result<std::unique_ptr<Transaction>> PgStore::Begin() {
  auto lease = pool_.Acquire();
  if (!lease.ok()) return std::move(lease).error();
  // Under read committed every statement sees what was committed before it, inside a transaction
  // block or not; so reads before the first write need no block, and a read-only transaction
  // costs no BEGIN/COMMIT round trips. The first write or lock sends BEGIN in the same round trip.
  return std::unique_ptr<Transaction>(
      std::make_unique<PgTransaction>(std::move(lease).value(), clock_, tenant_));
}

#undef FHIRHUB_MICROS
#undef FHIRHUB_TS

}  // namespace server::store::pg
