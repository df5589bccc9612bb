// server::store: the storage contract. A Store keeps every version of every resource as the exact
// JSON text it was given, keyed by (tenant, type, id, version), plus a store-wide logical clock
// that orders history, and the search index rows of each current version. It never parses FHIR:
// the layer above renders the JSON (with meta.versionId and meta.lastUpdated filled in from the
// stamp the store assigns) and computes the index rows (index_entries.h); searches arrive as
// conditions on those rows (IndexCondition).
//
// Writing a resource:
//   auto tx = store.Begin();                     // Result<std::unique_ptr<Transaction>>
//   auto stamp = (*tx)->Write({.type = "Patient", .id = "p1", .expected_version = 3,
//                              .render = [&](const VersionStamp& s) { return Render(s); }});
//   // Render returns a Rendered: the JSON text and the version's index rows.
//   (*tx)->Commit();
// Write locks the resource, checks the expected version, assigns version (previous + 1) and
// lastUpdated (from the injected Clock), then calls `render` with that stamp and stores the text it
// returns, with its index rows (replacing the previous version's). So the stored JSON always
// agrees with the stamp, and the index with the JSON, in one round of locking.
//
// Errors (fhir::Error, message ids are stable):
//   store.not-found          404  Read/ReadVersion/delete of a resource or version that never
//                            existed
//   store.version-conflict   412  Write with expected_version != the current version (If-Match)
//   store.serialization-failure 409  the database aborted the transaction (a deadlock between
//                            two writers); the caller may retry the whole transaction
//   store.unavailable        503  no connection within the pool timeout, or the database is down
//   store.transaction-closed 500  use of a Transaction after Commit or Rollback
//   store.bad-history-query  500  a HistoryQuery with an id but no type
//   store.id-exists          409  a WriteOp with new_id for an id that has a version
//   store.invalid-cursor     400  a SearchQuery::after that this query did not produce
//   store.sql-error          500  anything else the database reported
// store.not-found, store.version-conflict and an error from `render` leave the transaction as it
// was, usable. After any other error the transaction can only be rolled back.
//
// Thread-safety: a Store is thread-safe; a Transaction belongs to one thread at a time and must
// not outlive its Store.
#ifndef SERVER_STORE_STORE_H_
#define SERVER_STORE_STORE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fhir/result.h"
#include "server/store/index_entries.h"

namespace server::store {

// The time source for lastUpdated, injected so tests are deterministic. Must be thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp Now() const = 0;
};

// The system's real-time clock.
class SystemClock final : public Clock {
 public:
  Timestamp Now() const override;
};

// The tenant of every row until multi-tenancy is configured.
inline constexpr std::string_view kDefaultTenant = "default";

// What a Write assigned.
struct VersionStamp {
  std::int64_t version = 0;  // meta.versionId: 1 for the first version, then previous + 1
  // meta.lastUpdated: the clock's time, but always after the previous version's, so it never
  // goes backwards within one resource even if the clock does.
  Timestamp last_updated;
};

// One stored version of a resource.
struct ResourceVersion {
  std::string type;
  std::string id;
  VersionStamp stamp;
  bool deleted = false;       // a delete is a version with no content
  std::string json;           // the exact text stored; empty when deleted
  std::int64_t sequence = 0;  // the store-wide logical clock: later writes have larger values
  std::string method;         // WriteOp::method of the write; "" when it was not recorded
};

// What a write stores: the JSON text, byte for byte, and the index rows of the version.
struct Rendered {
  std::string json;
  IndexEntries index;
};

struct WriteOp {
  std::string type;
  std::string id;
  // If-Match: write only if the current version is this one (a resource that does not exist, or
  // is deleted with another version, does not match). nullopt writes unconditionally.
  std::optional<std::int64_t> expected_version;
  bool is_delete = false;
  // The caller just made the id up (a create with a server-assigned id), so no version can exist:
  // the store need not lock, and may send the write later, with the next statement or with the
  // commit. If a version exists after all, store.id-exists (409) comes from that later call.
  bool new_id = false;
  // The interaction that writes, kept with the version for history ("POST", "PUT", "PATCH",
  // "DELETE"); opaque to the store.
  std::string method;
  // Renders the version for the assigned stamp; not called for deletes (which remove the index
  // rows). An error it returns is returned by Write.
  std::function<fhir::Result<Rendered>(const VersionStamp&)> render;
};

struct WriteResult {
  VersionStamp stamp;
  bool created = false;  // no version existed before (a create, including create-on-update)
  // False only for a delete of a resource that is already deleted: nothing was written and
  // `stamp` is the existing delete's.
  bool changed = true;
};

// _history at the instance (type and id set), type (type set) or system level (neither).
struct HistoryQuery {
  std::optional<std::string> type;
  std::optional<std::string> id;
  std::optional<Timestamp> since;  // _since: versions with lastUpdated >= since
  // _at: for each resource, only the version that was current at this time (lastUpdated <= at).
  std::optional<Timestamp> at;
  int count = 100;  // page size, 1..1000
  // Keyset cursor: the `next` of the previous page; nullopt for the first page.
  std::optional<std::int64_t> after;
};

struct HistoryPage {
  std::vector<ResourceVersion> entries;  // newest first (descending sequence)
  std::optional<std::int64_t> next;      // cursor of the following page; nullopt on the last
};

// A half-open time interval [from, before); an absent bound is open. With `negate`, the times
// outside it.
struct TimeInterval {
  std::optional<Timestamp> from;
  std::optional<Timestamp> before;
  bool negate = false;
};

// Tests on one index row (IndexEntries) of a search parameter. The layer above translates FHIR
// search syntax (prefixes, modifiers, precision) into them; the store only compares.

// A bound on a decimal or time column.
template <typename T>
struct Bound {
  T value;
  bool inclusive = true;
};

// String rows: `value` is normalised (NormalizeString) for kStartsWith and kContains, and the
// exact text for kExact.
struct StringTest {
  enum class Mode { kStartsWith, kContains, kExact };
  Mode mode = Mode::kStartsWith;
  std::string value;
};

// Token rows. `system`: nullopt matches any system; "" matches rows without a system. `code`:
// nullopt matches any code (system|). `text`: a normalised prefix of the row's text (:text), in
// which case system and code are not tested. `type_system`/`type_code` (:of-type) when set.
struct TokenTest {
  std::optional<std::string> system;
  std::optional<std::string> code;
  std::optional<std::string> text;
  std::optional<std::string> type_system;
  std::optional<std::string> type_code;
};

// Date rows cover [from, before). A row matches when every set bound holds:
// from >= from_ge, from < from_lt, before > before_gt, before <= before_le. `outside` negates
// the whole test (the `ne` prefix).
struct DateTest {
  std::optional<Timestamp> from_ge;
  std::optional<Timestamp> from_lt;
  std::optional<Timestamp> before_gt;
  std::optional<Timestamp> before_le;
  bool outside = false;
};

// A decimal value between the bounds (each optional); `outside` negates the range.
struct NumberTest {
  std::optional<Bound<std::string>> lower;
  std::optional<Bound<std::string>> upper;
  bool outside = false;
};

// Quantity rows: the number test on `value`, or on `canonical_value` with canonical_code equal
// to `code` when `canonical` is set; otherwise system and code when given ("" skips the test).
struct QuantityTest {
  NumberTest number;
  std::string system;
  std::string code;
  bool canonical = false;
};

struct SearchQuery;

// Reference rows: every non-empty field must equal the row's. With `target` (a chained
// parameter, subject:Patient.name=x), the row must refer to a current resource of target->type
// that matches *target (its count, sort and cursor are ignored).
struct ReferenceTest {
  std::string target_type;
  std::string target_id;
  std::string url;
  std::string version;
  std::string identifier_system;
  std::string identifier_value;
  std::shared_ptr<const SearchQuery> target;
};

// Uri rows: equal to `value` (kExact), starting with it (kBelow), or a prefix of it (kAbove).
struct UriTest {
  enum class Mode { kExact, kBelow, kAbove };
  Mode mode = Mode::kExact;
  std::string value;
};

// Full-text rows (IndexEntries::Text): every term occurs in the document. A term is one lexeme
// or a phrase: lexemes at the given positions relative to each other (positions ascending, the
// first usually 0), so "a at 0, b at 1" needs b right after a and "a at 0, b at 2" one position
// between them. A lexeme with `prefix` matches every lexeme that starts with its text. Lexemes
// are compared exactly; any text is safe (the store quotes it).
struct TextTest {
  struct Lexeme {
    std::string text;
    int position = 0;
    bool prefix = false;
  };
  std::vector<std::vector<Lexeme>> terms;
};

struct CompositeTest;

using RowTest = std::variant<StringTest, TokenTest, DateTest, NumberTest, QuantityTest,
                             ReferenceTest, UriTest, CompositeTest, TextTest>;

// Which index table a condition reads; kComposite: the tables of its components.
enum class IndexKind {
  kString,
  kToken,
  kDate,
  kNumber,
  kQuantity,
  kReference,
  kUri,
  kComposite,
  kText
};

// A condition on a resource's rows of one search parameter: it holds when some row of `param`
// passes any of `any` (every test is of the kind's type). With no tests, any row at all passes
// (:missing=false). `negate`: the resource has no such row (:not, :missing=true).
struct IndexCondition {
  IndexKind kind = IndexKind::kToken;
  std::string param;
  std::vector<RowTest> any;
  bool negate = false;
  // When set, the rows of these parameters are tested instead of `param`'s: `param` is defined
  // as their union and has no rows of its own (Observation combo-code = code | component-code).
  std::vector<std::string> union_of;
};

// _has:source_type:param:...: some current resource of `source_type` whose reference
// parameter `param` refers to the searched resource matches *source (its type is source_type).
struct ReverseChain {
  std::string source_type;
  std::string param;
  std::shared_ptr<const SearchQuery> source;
};

// A compartment (Patient/123/Observation): the resource refers to `type`/`id` through one of
// the reference parameters `params`.
struct CompartmentFilter {
  std::string type;
  std::string id;
  std::vector<std::string> params;
};

// A sort key: `_id`, `_lastUpdated`, or an indexed parameter of `kind`, ordered by its lowest
// value ascending or its highest descending; resources without a value come last either way.
struct SortKey {
  std::string param;
  IndexKind kind = IndexKind::kString;
  bool descending = false;
  std::vector<std::string> union_of;  // as IndexCondition::union_of
};

// A composite parameter's value (code-value-quantity=http://loinc.org|8480-6$gt140): one
// condition per component, on rows of the component's param ("<code>$<n>", index_entries.h),
// all of which must hold for rows of one group, that is for one item of the composite.
struct CompositeTest {
  std::vector<IndexCondition> components;
};

// A search over the current (not deleted) versions of one resource type, or of several (a
// system-level search). Every condition must hold; within one condition, any of its
// alternatives. `ids` and `last_updated` are the `_id` and `_lastUpdated` parameters, kept on the
// resource itself; `conditions` test index rows and `has` what refers to the resource.
struct SearchQuery {
  // The type searched. Empty for a search across types: then the resources of the types in
  // `types`, or of every type when `types` is empty too.
  std::string type;
  // A search across types: one query per type searched, with its `type` set; its filters (ids,
  // last_updated, conditions, has) hold for the resources of that type, beside this query's own,
  // which hold for every type. Its count, sort and cursor are ignored. Empty when `type` is set.
  std::vector<SearchQuery> types;
  std::optional<std::vector<std::string>> ids;          // the id is one of these
  std::vector<std::vector<TimeInterval>> last_updated;  // lastUpdated lies in one of each list
  std::vector<IndexCondition> conditions;
  std::vector<ReverseChain> has;
  std::optional<CompartmentFilter> compartment;
  // The order of the matches; by id when empty, and by id after the keys. Across types, the
  // type breaks ties of ids when a key is `_id`, and else comes before the id.
  std::vector<SortKey> sort;
  int count = 100;  // page size, 1..1000
  // Keyset cursor: the `next` of the previous page; nullopt for the first page. Opaque: a
  // cursor is only valid with the query that produced it (store.invalid-cursor, 400, otherwise).
  std::optional<std::string> after;
  // Whether the store may plan this query's shape once and reuse the plan for other values: for
  // lookups run many times with values that hardly change their cost (a conditional
  // interaction's identifier, a resident's Consents). Searches for users leave it off, since a
  // plan made without their values can be far slower for some of them.
  bool reuse_plan = false;
};

struct SearchPage {
  std::vector<ResourceVersion> entries;  // in the query's order
  std::optional<std::string> next;       // cursor of the following page; nullopt on the last
};

// _include and _revinclude: the current resources that the `from` resources (of `source_type`)
// refer to through reference parameter `param` (forward), or the current resources of
// `source_type` that refer to any of the `from` resources through `param` (reverse). An empty
// `param` means every reference parameter (`*`), an empty `source_type` of a forward include the
// `from` resources of any type; `target_type` restricts what is referred to.
// At most `limit` resources.
struct IncludeQuery {
  bool reverse = false;
  std::string source_type;
  std::string param;
  std::optional<std::string> target_type;
  std::vector<std::pair<std::string, std::string>> from;  // (type, id)
  int limit = 1000;
};

// A resource's key within the tenant.
struct ResourceKey {
  std::string type;
  std::string id;
};

// What built the search index (server/search/reindex.h): the fingerprint of the definitions,
// how far a rebuild with them got (the last resource done, in (type, id) order), and whether it
// completed. A store that never recorded one answers an empty fingerprint.
struct IndexState {
  std::string fingerprint;
  std::optional<ResourceKey> position;
  bool complete = false;
};

class Transaction {
 public:
  // Rolls back if neither Commit nor Rollback was called.
  virtual ~Transaction() = default;

  // The current version. A deleted resource is returned with deleted == true and its delete's
  // stamp (the caller answers 410 Gone); store.not-found if it never existed.
  virtual fhir::Result<ResourceVersion> Read(const std::string& type, const std::string& id) = 0;
  // One version, current or not (a delete version comes back with deleted == true);
  // store.not-found if there is no such version.
  virtual fhir::Result<ResourceVersion> ReadVersion(const std::string& type, const std::string& id,
                                                    std::int64_t version) = 0;
  virtual fhir::Result<HistoryPage> History(const HistoryQuery& query) = 0;
  // The current versions that match, a page at a time.
  virtual fhir::Result<SearchPage> Search(const SearchQuery& query) = 0;
  // How many current versions match (count, sort and cursor ignored).
  virtual fhir::Result<std::int64_t> Count(const SearchQuery& query) = 0;
  // The resources an _include or _revinclude adds, without duplicates, in no particular order.
  virtual fhir::Result<std::vector<ResourceVersion>> Include(const IncludeQuery& query) = 0;
  // Writes a new version. On a version conflict (current version != expected_version) it returns
  // store.version-conflict (412) and writes nothing. Concurrent writers of one resource wait for
  // each other: each gets a distinct, contiguous version and none is lost. Deleting a resource
  // that never existed is store.not-found.
  virtual fhir::Result<WriteResult> Write(const WriteOp& op) = 0;
  // Rebuilding the index. ReadIndexState locks the state until the transaction ends, so two
  // rebuilds take turns; LockCurrent returns the current (not deleted) versions after `after` in
  // (type, id) order, at most `count`, locked against writers until the transaction ends;
  // ReplaceIndex replaces one resource's rows without writing a version.
  virtual fhir::Result<IndexState> ReadIndexState() = 0;
  virtual fhir::Result<void> WriteIndexState(const IndexState& state) = 0;
  virtual fhir::Result<std::vector<ResourceVersion>> LockCurrent(
      const std::optional<ResourceKey>& after, int count) = 0;
  virtual fhir::Result<void> ReplaceIndex(const std::string& type, const std::string& id,
                                          const IndexEntries& index) = 0;
  // Holds, until the transaction ends, a lock on each of these search criteria (canonical text
  // such as "Patient?identifier=urn:oid:2.16.156.10011.1.3|110101..."), taking them all in one
  // order, so that two transactions locking some of the same criteria do not deadlock. A
  // conditional interaction locks its criteria before it searches: the second of two with the
  // same criteria waits for the first to end and then sees what it wrote, and transactions with
  // other criteria never wait for it. Locking criteria held already costs nothing.
  virtual fhir::Result<void> LockCriteria(const std::vector<std::string>& criteria) = 0;
  // Locks, in one statement and one order, the current rows of these resources, as their writes
  // would one by one, and keeps what it read: until this transaction writes one of them, a Read
  // of it (or the lock its Write takes) is answered from that, without a statement of its own.
  // For a resource that did not exist, a Read answers store.not-found as it did then; its Write
  // still finds a concurrent creator of the same resource and waits for it. Transactions locking
  // some of the same resources this way take turns rather than deadlock.
  virtual fhir::Result<void> LockResources(const std::vector<ResourceKey>& keys) = 0;
  // Returns only after the database has durably committed; then the writes are visible to all.
  virtual fhir::Result<void> Commit() = 0;
  virtual fhir::Result<void> Rollback() = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  // A transaction on one connection; store.unavailable if none is free within the timeout. Each
  // statement sees what was committed before it (read committed); writes lock the resource, and
  // conditional interactions lock their criteria (LockCriteria).
  virtual fhir::Result<std::unique_ptr<Transaction>> Begin() = 0;
};

}  // namespace server::store

#endif  // SERVER_STORE_STORE_H_
