#include "server/store/pg/pg_store.h"

#include <algorithm>
#include <utility>

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

// A first version: claims the resource_current row. If a concurrent transaction created the
// same resource first, ON CONFLICT waits for it and then inserts nothing, and Write starts over.
constexpr const char* kCreateSql =
    "WITH cur AS ("
    " INSERT INTO resource_current (tenant, type, id, version, deleted, last_updated)"
    " VALUES ($1, $2, $3, $4, $5, " FHIRHUB_TS("$6") ")"
    " ON CONFLICT DO NOTHING RETURNING tenant, type, id, version, deleted, last_updated)"
    " INSERT INTO resource_version"
    " (tenant, type, id, version, last_updated, deleted, json, method)"
    " SELECT tenant, type, id, version, last_updated, deleted, $7, $8 FROM cur RETURNING seq";

// A later version, with the resource_current row already locked by kLockSql.
constexpr const char* kUpdateSql =
    "WITH cur AS ("
    " UPDATE resource_current SET version = $4, deleted = $5, last_updated = " FHIRHUB_TS("$6")
    " WHERE tenant = $1 AND type = $2 AND id = $3)"
    " INSERT INTO resource_version"
    " (tenant, type, id, version, last_updated, deleted, json, method)"
    " VALUES ($1, $2, $3, $4, " FHIRHUB_TS("$6") ", $5, $7, $8) RETURNING seq";

// The same columns, qualified, for queries that join resource_current (c) to resource_version (v).
constexpr const char* kVersionColumns = "v.type, v.id, v.version, v.deleted, " FHIRHUB_MICROS(
    "v.last_updated") ", v.json, v.seq, v.method";

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

// The timestamptz for a placeholder holding integer microseconds.
std::string Ts(const std::string& placeholder) {
  return "(timestamptz 'epoch' + " + placeholder + "::bigint * interval '1 microsecond')";
}

// A PostgreSQL text[] literal: every element quoted, with '"' and '\\' escaped.
std::string TextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (const std::string& value : values) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char c : value) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
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
    const int count = std::clamp(query.count, 1, kMaxHistoryCount);
    std::vector<Param> params = {tenant_, query.type};
    auto placeholder = [&](std::string value, const char* cast) {
      params.push_back(std::move(value));
      return "$" + std::to_string(params.size()) + cast;
    };
    std::string sql = std::string("SELECT ") + kVersionColumns +
                      " FROM resource_current c JOIN resource_version v"
                      " USING (tenant, type, id, version)"
                      " WHERE c.tenant = $1 AND c.type = $2 AND NOT c.deleted";
    if (query.ids) sql += " AND c.id = ANY(" + placeholder(TextArray(*query.ids), "::text[]") + ")";
    for (const std::vector<TimeInterval>& alternatives : query.last_updated) {
      std::string any;
      for (const TimeInterval& interval : alternatives) {
        std::string in = "true";
        if (interval.from) {
          in += " AND c.last_updated >= " + Ts(placeholder(Micros(*interval.from), ""));
        }
        if (interval.before) {
          in += " AND c.last_updated < " + Ts(placeholder(Micros(*interval.before), ""));
        }
        any += (any.empty() ? "" : " OR ") + std::string(interval.negate ? "NOT " : "") + "(" + in +
               ")";
      }
      sql += " AND (" + (any.empty() ? std::string("false") : any) + ")";
    }
    if (query.after) sql += " AND c.id > " + placeholder(*query.after, "");
    sql += " ORDER BY c.id LIMIT " + placeholder(std::to_string(count + 1), "::bigint");
    auto rows = lease_->ExecOnce(sql, params);
    if (!rows.ok()) return std::move(rows).error();
    SearchPage page;
    const int n = std::min(rows->rows(), count);
    page.entries.reserve(n);
    for (int row = 0; row < n; ++row) page.entries.push_back(RowToVersion(*rows, row));
    if (rows->rows() > count) page.next = page.entries.back().id;
    return page;
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
                                    std::move(rendered).value(),
                                    op.method};
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
      Param json;
      if (!op.is_delete) {
        auto rendered = op.render(result.stamp);
        if (!rendered.ok()) return std::move(rendered).error();
        json = std::move(rendered).value();
      }
      std::vector<Param> params = {tenant_,
                                   op.type,
                                   op.id,
                                   std::to_string(result.stamp.version),
                                   op.is_delete ? "t" : "f",
                                   Micros(now),
                                   std::move(json),
                                   op.method};
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

}  // namespace server::store::pg
