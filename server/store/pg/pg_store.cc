#include "server/store/pg/pg_store.h"

#include <algorithm>
#include <utility>

#include "server/store/pg/search_sql.h"

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

// The index rows of a version travel as one array parameter per column ($9 to $45, built by
// AppendIndexParams), unnested into each table. `key` is the FROM clause that gives tenant, type
// and id.
#define FHIRHUB_INDEX_INSERTS(key)                                                               \
  " i_string AS (INSERT INTO search_string (tenant, type, id, param, normalized, exact, grp)"    \
  " SELECT k.tenant, k.type, k.id, u.* FROM " key                                                \
  ", unnest($9::text[], $10::text[], $11::text[], $12::int[]) AS u),"                            \
  " i_token AS (INSERT INTO search_token"                                                        \
  " (tenant, type, id, param, system, code, text, type_system, type_code, grp)"                  \
  " SELECT k.tenant, k.type, k.id, u.* FROM " key                                                \
  ", unnest($13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[],"       \
  " $19::int[]) AS u),"                                                                          \
  " i_date AS (INSERT INTO search_date (tenant, type, id, param, \"from\", before, grp)"         \
  " SELECT k.tenant, k.type, k.id, u.p,"                                                         \
  " COALESCE(timestamptz 'epoch' + u.f * interval '1 microsecond', '-infinity'),"                \
  " COALESCE(timestamptz 'epoch' + u.b * interval '1 microsecond', 'infinity'), u.g FROM " key   \
  ", unnest($20::text[], $21::bigint[], $22::bigint[], $23::int[]) AS u(p, f, b, g)),"           \
  " i_number AS (INSERT INTO search_number (tenant, type, id, param, value, grp)"                \
  " SELECT k.tenant, k.type, k.id, u.* FROM " key                                                \
  ", unnest($24::text[], $25::numeric[], $26::int[]) AS u),"                                     \
  " i_quantity AS (INSERT INTO search_quantity"                                                  \
  " (tenant, type, id, param, value, system, code, unit, canonical_value, canonical_code, grp)"  \
  " SELECT k.tenant, k.type, k.id, u.* FROM " key                                                \
  ", unnest($27::text[], $28::numeric[], $29::text[], $30::text[], $31::text[], $32::numeric[]," \
  " $33::text[], $34::int[]) AS u),"                                                             \
  " i_reference AS (INSERT INTO search_reference (tenant, type, id, param, target_type,"         \
  " target_id, url, version, identifier_system, identifier_value, grp)"                          \
  " SELECT k.tenant, k.type, k.id, u.* FROM " key                                                \
  ", unnest($35::text[], $36::text[], $37::text[], $38::text[], $39::text[], $40::text[],"       \
  " $41::text[], $42::int[]) AS u),"                                                             \
  " i_uri AS (INSERT INTO search_uri (tenant, type, id, param, value, grp)"                      \
  " SELECT k.tenant, k.type, k.id, u.* FROM " key                                                \
  ", unnest($43::text[], $44::text[], $45::int[]) AS u)"

// A first version: claims the resource_current row. If a concurrent transaction created the
// same resource first, ON CONFLICT waits for it and then inserts nothing (no version, no index
// rows), and Write starts over.
constexpr const char* kCreateSql =
    "WITH cur AS ("
    " INSERT INTO resource_current (tenant, type, id, version, deleted, last_updated)"
    " VALUES ($1, $2, $3, $4, $5, " FHIRHUB_TS("$6") ")"
    " ON CONFLICT DO NOTHING RETURNING tenant, type, id, version, deleted, last_updated),"
    " ver AS (INSERT INTO resource_version"
    " (tenant, type, id, version, last_updated, deleted, json, method)"
    " SELECT tenant, type, id, version, last_updated, deleted, $7, $8 FROM cur RETURNING seq),"
    FHIRHUB_INDEX_INSERTS("cur k") " SELECT seq FROM ver";

// A later version, with the resource_current row already locked by kLockSql: the previous
// version's index rows are replaced by this one's (none for a delete). All parts of the statement
// see the same snapshot, so the deletes do not see the rows it inserts.
constexpr const char* kUpdateSql =
    "WITH cur AS ("
    " UPDATE resource_current SET version = $4, deleted = $5, last_updated = " FHIRHUB_TS("$6")
    " WHERE tenant = $1 AND type = $2 AND id = $3),"
    " d_string AS (DELETE FROM search_string WHERE tenant = $1 AND type = $2 AND id = $3),"
    " d_token AS (DELETE FROM search_token WHERE tenant = $1 AND type = $2 AND id = $3),"
    " d_date AS (DELETE FROM search_date WHERE tenant = $1 AND type = $2 AND id = $3),"
    " d_number AS (DELETE FROM search_number WHERE tenant = $1 AND type = $2 AND id = $3),"
    " d_quantity AS (DELETE FROM search_quantity WHERE tenant = $1 AND type = $2 AND id = $3),"
    " d_reference AS (DELETE FROM search_reference WHERE tenant = $1 AND type = $2 AND id = $3),"
    " d_uri AS (DELETE FROM search_uri WHERE tenant = $1 AND type = $2 AND id = $3),"
    FHIRHUB_INDEX_INSERTS("(SELECT $1::text AS tenant, $2::text AS type, $3::text AS id) k")
    " INSERT INTO resource_version"
    " (tenant, type, id, version, last_updated, deleted, json, method)"
    " VALUES ($1, $2, $3, $4, " FHIRHUB_TS("$6") ", $5, $7, $8) RETURNING seq";

constexpr int kMaxHistoryCount = 1000;

constexpr const char* kBeginReadCommitted = "BEGIN ISOLATION LEVEL READ COMMITTED";

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

std::string Micros(Timestamp t) { return std::to_string(t.time_since_epoch().count()); }

// PostgreSQL array literals, for text[], bigint[] and numeric[] parameters: every element
// quoted, with '"' and '\\' escaped; nullopt is NULL.
class ArrayLiteral {
 public:
  void Add(const std::optional<std::string>& value) {
    text_ += text_.size() > 1 ? "," : "";
    if (!value) {
      text_ += "NULL";
      return;
    }
    text_ += '"';
    for (char c : *value) {
      if (c == '"' || c == '\\') text_ += '\\';
      text_ += c;
    }
    text_ += '"';
  }
  std::string Take() { return std::move(text_) + "}"; }

 private:
  std::string text_ = "{";
};

std::optional<std::string> MicrosOrNull(const std::optional<Timestamp>& t) {
  if (!t) return std::nullopt;
  return Micros(*t);
}

// The array parameters $9 to $45 of kCreateSql and kUpdateSql, appended to `params`.
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
}

fhir::Error Closed() {
  return fhir::Error::Internal("store.transaction-closed", "the transaction is already closed");
}

class PgTransaction final : public Transaction {
 public:
  // `begun` says whether BEGIN was already sent; if not, it is sent with the first write.
  PgTransaction(ConnectionPool::Lease lease, const Clock& clock, const std::string& tenant,
                bool begun)
      : lease_(std::move(lease)), clock_(clock), tenant_(tenant), begun_(begun) {}

  ~PgTransaction() override {
    // Nothing to report from a destructor; a connection left inside a failed rollback is not
    // reused by the pool.
    if (open_) (void)Rollback();
  }

  fhir::Result<ResourceVersion> Read(const std::string& type, const std::string& id) override {
    if (!open_) return Closed();
    if (auto flushed = Flush(); !flushed.ok()) return std::move(flushed).error();
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
    auto statement = SearchStatement(tenant_, query);
    if (!statement.ok()) return std::move(statement).error();
    auto rows = lease_->ExecOnce(statement->sql, statement->params);
    if (!rows.ok()) return std::move(rows).error();
    const int count = std::clamp(query.count, 1, kMaxHistoryCount);
    SearchPage page;
    const int n = std::min(rows->rows(), count);
    page.entries.reserve(n);
    for (int row = 0; row < n; ++row) page.entries.push_back(RowToVersion(*rows, row));
    if (rows->rows() > count) page.next = NextCursor(query, *rows, n - 1);
    return page;
  }

  fhir::Result<std::int64_t> Count(const SearchQuery& query) override {
    if (!open_) return Closed();
    if (auto flushed = Flush(); !flushed.ok()) return std::move(flushed).error();
    const Statement statement = CountStatement(tenant_, query);
    auto rows = lease_->ExecOnce(statement.sql, statement.params);
    if (!rows.ok()) return std::move(rows).error();
    return rows->GetInt(0, 0);
  }

  fhir::Result<std::vector<ResourceVersion>> Include(const IncludeQuery& query) override {
    if (!open_) return Closed();
    if (auto flushed = Flush(); !flushed.ok()) return std::move(flushed).error();
    std::vector<ResourceVersion> out;
    if (query.from.empty() || query.limit <= 0) return out;
    const Statement statement = IncludeStatement(tenant_, query);
    auto rows = lease_->ExecOnce(statement.sql, statement.params);
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
      std::vector<Param> key = {tenant_, op.type, op.id};
      auto current = begun_ ? lease_->Exec("store_lock", kLockSql, key)
                            : lease_->ExecAfter(kBeginReadCommitted, "store_lock", kLockSql, key);
      begun_ = true;
      if (!current.ok()) return std::move(current).error();
      bool exists = current->rows() > 0;
      WriteResult result;
      result.created = !exists;
      std::int64_t previous = exists ? current->GetInt(0, 0) : 0;
      if (op.expected_version && *op.expected_version != previous) {
        return fhir::Error::PreconditionFailed("store.version-conflict",
                                               op.type + "/" + op.id + " is at version " +
                                                   std::to_string(previous) + ", not " +
                                                   std::to_string(*op.expected_version));
      }
      Timestamp now = clock_.Now();
      if (exists) {
        Timestamp last(std::chrono::microseconds(current->GetInt(0, 2)));
        if (now <= last) now = last + std::chrono::microseconds(1);
      }
      if (op.is_delete) {
        if (!exists) {
          return fhir::Error::NotFound("store.not-found", "no resource " + op.type + "/" + op.id);
        }
        if (current->GetBool(0, 1)) {
          result.stamp = {previous, Timestamp(std::chrono::microseconds(current->GetInt(0, 2)))};
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
  bool begun_;
  bool open_ = true;
  // A create with a new id (WriteOp::new_id) not sent yet: its statement's parameters.
  std::optional<std::vector<Param>> pending_;
};

}  // namespace

PgStore::PgStore(PoolOptions pool, const Clock& clock, std::string tenant)
    : pool_(std::move(pool)), clock_(clock), tenant_(std::move(tenant)) {}

fhir::Result<std::unique_ptr<Transaction>> PgStore::Begin(Isolation isolation) {
  auto lease = pool_.Acquire();
  if (!lease.ok()) return std::move(lease).error();
  // Under read committed every statement sees what was committed before it, inside a transaction
  // block or not; so reads before the first write need no block, and a read-only transaction
  // costs no BEGIN/COMMIT round trips. The first write sends BEGIN in the same round trip as its
  // lock. A serializable transaction takes its snapshot at the first statement, so it begins now.
  bool begin_now = isolation == Isolation::kSerializable;
  if (begin_now) {
    auto begun = (*lease)->ExecSimple("BEGIN ISOLATION LEVEL SERIALIZABLE");
    if (!begun.ok()) return std::move(begun).error();
  }
  return std::unique_ptr<Transaction>(
      std::make_unique<PgTransaction>(std::move(lease).value(), clock_, tenant_, begin_now));
}

#undef FHIRHUB_MICROS
#undef FHIRHUB_TS
#undef FHIRHUB_INDEX_INSERTS

}  // namespace server::store::pg
