// The Store contract. Only MakeStore knows the implementation; every test speaks the Store
// interface, so another implementation can run the same suite by providing its own MakeStore.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "server/store/store.h"
#include "tests/support/pg_cluster.h"

namespace server::store {
namespace {

using namespace std::chrono_literals;

// A clock that only moves when told to.
class ManualClock final : public Clock {
 public:
  Timestamp Now() const override { return Timestamp(std::chrono::microseconds(micros_.load())); }
  void Set(Timestamp t) { micros_ = t.time_since_epoch().count(); }
  void Advance(std::chrono::microseconds by) { micros_ += by.count(); }

 private:
  std::atomic<std::int64_t> micros_{1'700'000'000'000'000};
};

std::unique_ptr<Store> MakeStore(const Clock& clock) {
  return testing_support::PgTestCluster::Get().NewStore(clock, 8);
}

// The text a resource is stored as, with the stamp rendered in, and a decimal whose exact text
// must survive.
std::string Body(const std::string& type, const std::string& id, const VersionStamp& stamp,
                 const std::string& extra = "") {
  return R"({"resourceType":")" + type + R"(","id":")" + id + R"(","meta":{"versionId":")" +
         std::to_string(stamp.version) + R"(","lastUpdated":)" +
         std::to_string(stamp.last_updated.time_since_epoch().count()) +
         R"(},"valueDecimal":1.50,"text":"Zoë 张")" + extra + "}";
}

class StoreContractTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = MakeStore(clock_); }

  std::unique_ptr<Transaction> Begin() {
    auto tx = store_->Begin();
    EXPECT_TRUE(tx.ok()) << tx.error().text();
    return tx.ok() ? std::move(tx).value() : nullptr;
  }

  fhir::Result<WriteResult> Put(Transaction& tx, const std::string& type, const std::string& id,
                                std::optional<std::int64_t> expected = std::nullopt) {
    return tx.Write({.type = type,
                     .id = id,
                     .expected_version = expected,
                     .render = [=](const VersionStamp& stamp) -> fhir::Result<Rendered> {
                       return Rendered{.json = Body(type, id, stamp)};
                     }});
  }

  // Writes (or deletes) in a transaction of its own and commits.
  WriteResult PutCommitted(const std::string& type, const std::string& id, bool is_delete = false) {
    auto tx = Begin();
    auto written =
        is_delete ? tx->Write({.type = type, .id = id, .is_delete = true}) : Put(*tx, type, id);
    EXPECT_TRUE(written.ok()) << written.error().text();
    auto committed = tx->Commit();
    EXPECT_TRUE(committed.ok()) << committed.error().text();
    return written.ok() ? *written : WriteResult{};
  }

  ManualClock clock_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreContractTest, CreateThenReadReturnsTheExactText) {
  WriteResult created = PutCommitted("Patient", "p1");
  EXPECT_TRUE(created.created);
  EXPECT_EQ(created.stamp.version, 1);
  EXPECT_EQ(created.stamp.last_updated, clock_.Now());

  auto tx = Begin();
  auto read = tx->Read("Patient", "p1");
  ASSERT_TRUE(read.ok()) << read.error().text();
  EXPECT_EQ(read->type, "Patient");
  EXPECT_EQ(read->id, "p1");
  EXPECT_FALSE(read->deleted);
  EXPECT_EQ(read->stamp.version, 1);
  EXPECT_EQ(read->stamp.last_updated, created.stamp.last_updated);
  EXPECT_EQ(read->json, Body("Patient", "p1", created.stamp));
}

TEST_F(StoreContractTest, MissingResourceIsNotFound) {
  auto tx = Begin();
  auto read = tx->Read("Patient", "nobody");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().message_id(), "store.not-found");
  EXPECT_EQ(read.error().http_status(), 404);
  auto version = tx->ReadVersion("Patient", "nobody", 1);
  ASSERT_FALSE(version.ok());
  EXPECT_EQ(version.error().message_id(), "store.not-found");
  auto deleted = tx->Write({.type = "Patient", .id = "nobody", .is_delete = true});
  ASSERT_FALSE(deleted.ok());
  EXPECT_EQ(deleted.error().message_id(), "store.not-found");
}

TEST_F(StoreContractTest, UpdateIncrementsVersionAndKeepsOldVersions) {
  std::vector<VersionStamp> stamps;
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(1s);
    WriteResult written = PutCommitted("Patient", "p1");
    EXPECT_EQ(written.created, i == 0);
    EXPECT_EQ(written.stamp.version, i + 1);
    stamps.push_back(written.stamp);
  }
  auto tx = Begin();
  for (int i = 0; i < 3; ++i) {
    auto version = tx->ReadVersion("Patient", "p1", i + 1);
    ASSERT_TRUE(version.ok()) << version.error().text();
    EXPECT_EQ(version->json, Body("Patient", "p1", stamps[i]));
    EXPECT_EQ(version->stamp.last_updated, stamps[i].last_updated);
  }
  auto beyond = tx->ReadVersion("Patient", "p1", 4);
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.error().message_id(), "store.not-found");
}

TEST_F(StoreContractTest, DeleteIsAVersionAndReadsAsGone) {
  PutCommitted("Patient", "p1");
  WriteResult deleted = PutCommitted("Patient", "p1", /*is_delete=*/true);
  EXPECT_EQ(deleted.stamp.version, 2);
  EXPECT_TRUE(deleted.changed);

  auto tx = Begin();
  auto read = tx->Read("Patient", "p1");
  ASSERT_TRUE(read.ok()) << read.error().text();
  EXPECT_TRUE(read->deleted);
  EXPECT_EQ(read->stamp.version, 2);
  EXPECT_TRUE(read->json.empty());
  auto old = tx->ReadVersion("Patient", "p1", 1);
  ASSERT_TRUE(old.ok());
  EXPECT_FALSE(old->deleted);

  auto again = tx->Write({.type = "Patient", .id = "p1", .is_delete = true});
  ASSERT_TRUE(again.ok()) << again.error().text();
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(again->stamp.version, 2);

  auto revived = Put(*tx, "Patient", "p1");
  ASSERT_TRUE(revived.ok()) << revived.error().text();
  EXPECT_EQ(revived->stamp.version, 3);
  EXPECT_FALSE(revived->created);
  ASSERT_TRUE(tx->Commit().ok());
}

TEST_F(StoreContractTest, IfMatchMismatchIsPreconditionFailedAndWritesNothing) {
  PutCommitted("Patient", "p1");
  PutCommitted("Patient", "p1");
  auto tx = Begin();
  auto stale = Put(*tx, "Patient", "p1", 1);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().message_id(), "store.version-conflict");
  EXPECT_EQ(stale.error().http_status(), 412);
  auto missing = Put(*tx, "Patient", "p2", 1);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message_id(), "store.version-conflict");
  auto current = Put(*tx, "Patient", "p1", 2);
  ASSERT_TRUE(current.ok()) << current.error().text();
  EXPECT_EQ(current->stamp.version, 3);
  ASSERT_TRUE(tx->Commit().ok());
}

TEST_F(StoreContractTest, RenderErrorIsReturnedAndNothingIsWritten) {
  auto tx = Begin();
  auto failed = tx->Write(
      {.type = "Patient", .id = "p1", .render = [](const VersionStamp&) -> fhir::Result<Rendered> {
         return fhir::Error::Invalid("test.render", "cannot render");
       }});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().message_id(), "test.render");
  auto read = tx->Read("Patient", "p1");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().message_id(), "store.not-found");
}

TEST_F(StoreContractTest, LastUpdatedNeverGoesBackwardsWithinAResource) {
  WriteResult first = PutCommitted("Patient", "p1");
  clock_.Advance(-1h);
  WriteResult second = PutCommitted("Patient", "p1");
  EXPECT_GT(second.stamp.last_updated, first.stamp.last_updated);
}

TEST_F(StoreContractTest, RollbackAndAbandonedTransactionsLeaveNothing) {
  {
    auto tx = Begin();
    ASSERT_TRUE(Put(*tx, "Patient", "p1").ok());
    ASSERT_TRUE(tx->Rollback().ok());
    auto after = tx->Read("Patient", "p1");
    ASSERT_FALSE(after.ok());
    EXPECT_EQ(after.error().message_id(), "store.transaction-closed");
  }
  {
    auto tx = Begin();
    ASSERT_TRUE(Put(*tx, "Patient", "p2").ok());
  }
  auto tx = Begin();
  EXPECT_FALSE(tx->Read("Patient", "p1").ok());
  EXPECT_FALSE(tx->Read("Patient", "p2").ok());
  auto history = tx->History({});
  ASSERT_TRUE(history.ok());
  EXPECT_TRUE(history->entries.empty());
}

TEST_F(StoreContractTest, UncommittedWritesAreInvisibleToOthers) {
  auto writer = Begin();
  ASSERT_TRUE(Put(*writer, "Patient", "p1").ok());
  auto reader = Begin();
  EXPECT_FALSE(reader->Read("Patient", "p1").ok());
  ASSERT_TRUE(writer->Commit().ok());
  EXPECT_TRUE(reader->Read("Patient", "p1").ok());
}

fhir::Result<WriteResult> CreateNew(Transaction& tx, const std::string& type,
                                    const std::string& id) {
  return tx.Write({.type = type,
                   .id = id,
                   .new_id = true,
                   .method = "POST",
                   .render = [=](const VersionStamp& stamp) -> fhir::Result<Rendered> {
                     return Rendered{.json = Body(type, id, stamp)};
                   }});
}

TEST_F(StoreContractTest, NewIdCreateAloneCommitsDurably) {
  auto tx = Begin();
  auto written = CreateNew(*tx, "Patient", "n1");
  ASSERT_TRUE(written.ok()) << written.error().text();
  EXPECT_TRUE(written->created);
  EXPECT_EQ(written->stamp.version, 1);
  ASSERT_TRUE(tx->Commit().ok());
  auto read = Begin()->Read("Patient", "n1");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->json, Body("Patient", "n1", written->stamp));
  EXPECT_EQ(read->method, "POST");
}

TEST_F(StoreContractTest, NewIdCreateIsVisibleToTheRestOfItsTransaction) {
  auto tx = Begin();
  ASSERT_TRUE(CreateNew(*tx, "Patient", "n2").ok());
  ASSERT_TRUE(CreateNew(*tx, "Patient", "n3").ok());
  auto read = tx->Read("Patient", "n2");
  ASSERT_TRUE(read.ok()) << read.error().text();
  ASSERT_TRUE(Put(*tx, "Patient", "n3").ok());  // an update of the other, still unsent, create
  ASSERT_TRUE(tx->Commit().ok());
  auto current = Begin()->Read("Patient", "n3");
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(current->stamp.version, 2);
}

TEST_F(StoreContractTest, NewIdCreateThatIsNotNewFailsAndWritesNothing) {
  PutCommitted("Patient", "n4");
  auto tx = Begin();
  ASSERT_TRUE(CreateNew(*tx, "Patient", "n4").ok());  // reported when it is sent
  auto committed = tx->Commit();
  ASSERT_FALSE(committed.ok());
  EXPECT_EQ(committed.error().message_id(), "store.id-exists");
  EXPECT_EQ(committed.error().http_status(), 409);
  auto in_block = Begin();
  ASSERT_TRUE(Put(*in_block, "Observation", "o9").ok());
  ASSERT_TRUE(CreateNew(*in_block, "Patient", "n4").ok());
  auto committed_block = in_block->Commit();
  ASSERT_FALSE(committed_block.ok());
  EXPECT_EQ(committed_block.error().message_id(), "store.id-exists");
  auto reader = Begin();
  EXPECT_EQ(reader->Read("Patient", "n4")->stamp.version, 1);
  EXPECT_FALSE(reader->Read("Observation", "o9").ok());
}

TEST_F(StoreContractTest, NewIdCreateRolledBackIsNeverSent) {
  auto tx = Begin();
  ASSERT_TRUE(CreateNew(*tx, "Patient", "n5").ok());
  ASSERT_TRUE(tx->Rollback().ok());
  EXPECT_FALSE(Begin()->Read("Patient", "n5").ok());
}

class StoreHistoryTest : public StoreContractTest {
 protected:
  // p1 v1, p2 v1, o1 v1, p1 v2, p1 v3 (delete), one second apart from t0.
  void SetUp() override {
    StoreContractTest::SetUp();
    t0_ = clock_.Now();
    for (auto [type, id, is_delete] : {std::tuple{"Patient", "p1", false},
                                       {"Patient", "p2", false},
                                       {"Observation", "o1", false},
                                       {"Patient", "p1", false},
                                       {"Patient", "p1", true}}) {
      PutCommitted(type, id, is_delete);
      clock_.Advance(1s);
    }
  }

  // "type/id/version" of each entry, in order.
  static std::vector<std::string> Keys(const HistoryPage& page) {
    std::vector<std::string> keys;
    for (const ResourceVersion& entry : page.entries) {
      keys.push_back(entry.type + "/" + entry.id + "/" + std::to_string(entry.stamp.version));
    }
    return keys;
  }

  HistoryPage History(const HistoryQuery& query) {
    auto tx = Begin();
    auto page = tx->History(query);
    EXPECT_TRUE(page.ok()) << page.error().text();
    return page.ok() ? *page : HistoryPage{};
  }

  Timestamp t0_;
};

TEST_F(StoreHistoryTest, SystemTypeAndInstanceNewestFirst) {
  using List = std::vector<std::string>;
  EXPECT_EQ(Keys(History({})), (List{"Patient/p1/3", "Patient/p1/2", "Observation/o1/1",
                                     "Patient/p2/1", "Patient/p1/1"}));
  EXPECT_EQ(Keys(History({.type = "Patient"})),
            (List{"Patient/p1/3", "Patient/p1/2", "Patient/p2/1", "Patient/p1/1"}));
  EXPECT_EQ(Keys(History({.type = "Patient", .id = "p1"})),
            (List{"Patient/p1/3", "Patient/p1/2", "Patient/p1/1"}));
  HistoryPage instance = History({.type = "Patient", .id = "p1"});
  ASSERT_EQ(instance.entries.size(), 3u);
  EXPECT_TRUE(instance.entries[0].deleted);
  EXPECT_GT(instance.entries[0].sequence, instance.entries[1].sequence);
  EXPECT_FALSE(instance.next.has_value());
}

TEST_F(StoreHistoryTest, SinceKeepsLaterVersions) {
  using List = std::vector<std::string>;
  EXPECT_EQ(Keys(History({.since = t0_ + 2s})),
            (List{"Patient/p1/3", "Patient/p1/2", "Observation/o1/1"}));
  EXPECT_EQ(Keys(History({.type = "Patient", .since = t0_ + 3s})),
            (List{"Patient/p1/3", "Patient/p1/2"}));
  EXPECT_TRUE(History({.since = t0_ + 1h}).entries.empty());
}

TEST_F(StoreHistoryTest, AtGivesTheVersionCurrentThen) {
  using List = std::vector<std::string>;
  EXPECT_EQ(Keys(History({.at = t0_ + 3s})),
            (List{"Patient/p1/2", "Observation/o1/1", "Patient/p2/1"}));
  EXPECT_EQ(Keys(History({.type = "Patient", .id = "p1", .at = t0_ + 500ms})),
            (List{"Patient/p1/1"}));
  EXPECT_TRUE(History({.at = t0_ - 1s}).entries.empty());
}

TEST_F(StoreHistoryTest, KeysetPagingVisitsEveryVersionOnce) {
  std::vector<std::string> all = Keys(History({}));
  std::vector<std::string> paged;
  HistoryQuery query{.count = 2};
  int pages = 0;
  for (;;) {
    HistoryPage page = History(query);
    ++pages;
    ASSERT_LE(page.entries.size(), 2u);
    for (const std::string& key : Keys(page)) paged.push_back(key);
    if (!page.next) break;
    query.after = page.next;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(paged, all);
  // A write after the first page does not disturb the following pages.
  HistoryPage first = History({.count = 2});
  PutCommitted("Patient", "p9");
  HistoryPage second = History({.count = 2, .after = first.next});
  EXPECT_EQ(Keys(second), (std::vector<std::string>(all.begin() + 2, all.begin() + 4)));
}

// Search sees current versions only: p1 is deleted, p2 (t0 + 1s) and p3..p5 (added here, at
// t0 + 5s onwards) are current Patients.
class StoreSearchTest : public StoreHistoryTest {
 protected:
  void SetUp() override {
    StoreHistoryTest::SetUp();
    for (const char* id : {"p3", "p4", "p5"}) {
      PutCommitted("Patient", id);
      clock_.Advance(1s);
    }
  }

  std::vector<std::string> Ids(const SearchQuery& query) {
    auto tx = Begin();
    auto page = tx->Search(query);
    EXPECT_TRUE(page.ok()) << page.error().text();
    std::vector<std::string> ids;
    if (!page.ok()) return ids;
    for (const ResourceVersion& entry : page->entries) ids.push_back(entry.id);
    return ids;
  }
};

TEST_F(StoreSearchTest, ByTypeAndIdSkippingDeleted) {
  using List = std::vector<std::string>;
  EXPECT_EQ(Ids({.type = "Patient"}), (List{"p2", "p3", "p4", "p5"}));
  EXPECT_EQ(Ids({.type = "Observation"}), (List{"o1"}));
  EXPECT_EQ(Ids({.type = "Patient", .ids = List{"p1", "p4", "o1", "x\"\\,}"}}), (List{"p4"}));
  EXPECT_TRUE(Ids({.type = "Patient", .ids = List{}}).empty());
}

TEST_F(StoreSearchTest, ByLastUpdatedIntervals) {
  using List = std::vector<std::string>;
  // p2 at t0 + 1s; p3, p4, p5 at t0 + 5s, 6s, 7s.
  EXPECT_EQ(Ids({.type = "Patient", .last_updated = {{{.from = t0_ + 5s, .before = t0_ + 7s}}}}),
            (List{"p3", "p4"}));
  EXPECT_EQ(Ids({.type = "Patient", .last_updated = {{{.before = t0_ + 2s}, {.from = t0_ + 7s}}}}),
            (List{"p2", "p5"}));
  EXPECT_EQ(Ids({.type = "Patient",
                 .last_updated = {{{.from = t0_ + 5s}}, {{.from = t0_ + 6s, .negate = true}}}}),
            (List{"p3"}));
}

TEST_F(StoreSearchTest, KeysetPagingById) {
  auto tx = Begin();
  auto first = tx->Search({.type = "Patient", .count = 3});
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->entries.size(), 3u);
  ASSERT_EQ(first->next, std::optional<std::string>("p4"));
  auto second = tx->Search({.type = "Patient", .count = 3, .after = first->next});
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->entries.size(), 1u);
  EXPECT_EQ(second->entries[0].id, "p5");
  EXPECT_FALSE(second->next.has_value());
  EXPECT_FALSE(second->entries[0].json.empty());
}

// A search across types: "Type/id" of every page of `query`, `count` per page.
std::vector<std::string> TypedPages(Store& store, SearchQuery query, int count) {
  std::vector<std::string> keys;
  query.count = count;
  for (int pages = 0; pages < 20; ++pages) {
    auto tx = store.Begin();
    EXPECT_TRUE(tx.ok());
    if (!tx.ok()) break;
    auto page = (*tx)->Search(query);
    EXPECT_TRUE(page.ok()) << page.error().text();
    if (!page.ok()) break;
    for (const ResourceVersion& entry : page->entries) keys.push_back(entry.type + "/" + entry.id);
    if (!page->next) break;
    query.after = page->next;
  }
  return keys;
}

TEST_F(StoreSearchTest, AcrossTypesByTypeThenId) {
  using List = std::vector<std::string>;
  const List all{"Observation/o1", "Patient/p2", "Patient/p3", "Patient/p4", "Patient/p5"};
  EXPECT_EQ(TypedPages(*store_, {}, 100), all);
  EXPECT_EQ(TypedPages(*store_, {.types = {{.type = "Patient"}}}, 100),
            (List(all.begin() + 1, all.end())));
  EXPECT_EQ(TypedPages(*store_, {.types = {{.type = "Observation"}, {.type = "Group"}}}, 100),
            (List{"Observation/o1"}));
  // The query's own filters hold for every type; a type's own only for that type.
  EXPECT_EQ(TypedPages(*store_, {.ids = List{"o1", "p4", "p1"}}, 100),
            (List{"Observation/o1", "Patient/p4"}));
  EXPECT_EQ(
      TypedPages(*store_,
                 {.types = {{.type = "Observation"}, {.type = "Patient", .ids = List{"p3"}}}}, 100),
      (List{"Observation/o1", "Patient/p3"}));
  EXPECT_EQ(TypedPages(*store_, {.last_updated = {{{.before = t0_ + 6s}}}}, 100),
            (List{"Observation/o1", "Patient/p2", "Patient/p3"}));
  auto tx = Begin();
  auto count = tx->Count({.types = {{.type = "Observation"}, {.type = "Patient"}}});
  ASSERT_TRUE(count.ok()) << count.error().text();
  EXPECT_EQ(*count, 5);
}

TEST_F(StoreSearchTest, AcrossTypesTheCursorCarriesTheType) {
  using List = std::vector<std::string>;
  // The same id in two types: a cursor of ids alone would skip or repeat one of them.
  PutCommitted("Observation", "p3");
  const List by_type{"Observation/o1", "Observation/p3", "Patient/p2",
                     "Patient/p3",     "Patient/p4",     "Patient/p5"};
  EXPECT_EQ(TypedPages(*store_, {}, 1), by_type);
  EXPECT_EQ(TypedPages(*store_, {}, 4), by_type);
  // Listed types (in any order) page the same way.
  EXPECT_EQ(TypedPages(*store_, {.types = {{.type = "Patient"}, {.type = "Observation"}}}, 1),
            by_type);
  const List by_id{"Observation/o1", "Patient/p2", "Observation/p3",
                   "Patient/p3",     "Patient/p4", "Patient/p5"};
  EXPECT_EQ(TypedPages(*store_, {.sort = {{.param = "_id"}}}, 1), by_id);
  // The type breaks ties in ascending order whichever way the ids go.
  EXPECT_EQ(TypedPages(*store_, {.sort = {{.param = "_id", .descending = true}}}, 2),
            (List{"Patient/p5", "Patient/p4", "Observation/p3", "Patient/p3", "Patient/p2",
                  "Observation/o1"}));
  // Newest first: Observation/p3 was written last; o1 (t0 + 2s) and p2 (t0 + 1s) first.
  EXPECT_EQ(TypedPages(*store_, {.sort = {{.param = "_lastUpdated", .descending = true}}}, 1),
            (List{"Observation/p3", "Patient/p5", "Patient/p4", "Patient/p3", "Observation/o1",
                  "Patient/p2"}));
  // A write between pages neither repeats nor skips the others.
  SearchQuery query{.count = 2};
  auto tx = Begin();
  auto first = tx->Search(query);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(tx->Commit().ok());
  PutCommitted("Observation", "a0");
  query.after = first->next;
  EXPECT_EQ(TypedPages(*store_, query, 2), (List(by_type.begin() + 2, by_type.end())));
  auto bad = Begin()->Search({.after = "zz"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message_id(), "store.invalid-cursor");
}

// Index rows are written with their version, replaced by the next and removed by a delete; each
// kind of row answers its tests.
class StoreIndexTest : public StoreContractTest {
 protected:
  // Writes Observation/`id` with `index`: a create with a new id when `fresh`, else an update
  // (or a create on update).
  void Index(const std::string& id, IndexEntries index, bool fresh = false) {
    auto tx = Begin();
    auto written = tx->Write({.type = "Observation",
                              .id = id,
                              .new_id = fresh,
                              .render = [&](const VersionStamp& stamp) -> fhir::Result<Rendered> {
                                return Rendered{Body("Observation", id, stamp), index};
                              }});
    ASSERT_TRUE(written.ok()) << written.error().text();
    ASSERT_TRUE(tx->Commit().ok());
  }

  // The matches of a search, checked against the count of the same query.
  std::vector<std::string> Matching(std::vector<IndexCondition> conditions) {
    auto tx = Begin();
    const SearchQuery query{.type = "Observation", .conditions = std::move(conditions)};
    auto page = tx->Search(query);
    EXPECT_TRUE(page.ok()) << page.error().text();
    std::vector<std::string> ids;
    if (!page.ok()) return ids;
    for (const ResourceVersion& entry : page->entries) ids.push_back(entry.id);
    auto count = tx->Count(query);
    EXPECT_TRUE(count.ok()) << count.error().text();
    if (count.ok()) {
      EXPECT_EQ(*count, static_cast<std::int64_t>(ids.size()));
    }
    return ids;
  }

  static IndexCondition Token(std::optional<std::string> system, std::string code,
                              bool negate = false, std::string param = "code") {
    return {.kind = IndexKind::kToken,
            .param = std::move(param),
            .any = {TokenTest{.system = std::move(system), .code = std::move(code)}},
            .negate = negate};
  }
};

IndexEntries Rows() {
  IndexEntries index;
  index.tokens = {
      {.param = "code", .system = "http://loinc.org", .code = "85354-9", .text = "blood pressure"},
      {.param = "status", .code = "final"}};
  index.strings = {{.param = "name", .normalized = "zhang san", .exact = "Zhāng Sān"}};
  index.dates = {{.param = "date",
                  .from = Timestamp(std::chrono::microseconds(1'700'000'000'000'000)),
                  .before = Timestamp(std::chrono::microseconds(1'700'000'060'000'000))},
                 {.param = "period", .from = Timestamp(std::chrono::microseconds(0))}};
  index.numbers = {{.param = "probability", .value = "0.25"}};
  index.quantities = {{.param = "value-quantity",
                       .value = "120",
                       .system = "http://unitsofmeasure.org",
                       .code = "mm[Hg]",
                       .unit = "mmHg",
                       .canonical_value = "15998.7",
                       .canonical_code = "g.m-1.s-2"}};
  index.references = {{.param = "subject", .target_type = "Patient", .target_id = "p1"},
                      {.param = "subject",
                       .identifier_system = "urn:oid:2.16.156.10011.1.3",
                       .identifier_value = "110101199003074518"}};
  index.uris = {{.param = "instantiates", .value = "http://example.org/fhir/Protocol/bp"}};
  return index;
}

TEST_F(StoreIndexTest, EachKindOfRowAnswersItsTests) {
  using List = std::vector<std::string>;
  Index("o1", Rows(), /*fresh=*/true);
  Index("o2", {});
  const Timestamp minute(std::chrono::microseconds(1'700'000'000'000'000));
  EXPECT_EQ(Matching({Token("http://loinc.org", "85354-9")}), List{"o1"});
  EXPECT_EQ(Matching({Token(std::nullopt, "85354-9")}), List{"o1"});
  EXPECT_EQ(Matching({Token("", "85354-9")}), List{});
  EXPECT_EQ(Matching({Token("", "final", false, "status")}), List{"o1"});
  EXPECT_EQ(Matching({Token("http://snomed.info/sct", "85354-9")}), List{});
  EXPECT_EQ(Matching({Token(std::nullopt, "85354-9", /*negate=*/true)}), List{"o2"});
  EXPECT_EQ(
      Matching({{.kind = IndexKind::kToken, .param = "code", .any = {TokenTest{.text = "blood"}}}}),
      List{"o1"});
  auto string = [](StringTest::Mode mode, std::string value) {
    return IndexCondition{.kind = IndexKind::kString,
                          .param = "name",
                          .any = {StringTest{.mode = mode, .value = std::move(value)}}};
  };
  EXPECT_EQ(Matching({string(StringTest::Mode::kStartsWith, "zhang")}), List{"o1"});
  EXPECT_EQ(Matching({string(StringTest::Mode::kStartsWith, "san")}), List{});
  EXPECT_EQ(Matching({string(StringTest::Mode::kContains, "san")}), List{"o1"});
  EXPECT_EQ(Matching({string(StringTest::Mode::kExact, "Zhāng Sān")}), List{"o1"});
  EXPECT_EQ(Matching({string(StringTest::Mode::kExact, "zhang san")}), List{});
  auto date = [](std::string param, DateTest test) {
    return IndexCondition{.kind = IndexKind::kDate, .param = std::move(param), .any = {test}};
  };
  EXPECT_EQ(Matching({date("date", {.from_ge = minute, .before_le = minute + 60s})}), List{"o1"});
  EXPECT_EQ(Matching({date("date", {.from_ge = minute + 1s})}), List{});
  EXPECT_EQ(Matching({date("date", {.from_ge = minute + 1s, .outside = true})}), List{"o1"});
  // An open end is later than any time.
  EXPECT_EQ(Matching({date("period", {.before_gt = minute + 1000000h})}), List{"o1"});
  auto number = [](std::string low, std::string high) {
    return IndexCondition{.kind = IndexKind::kNumber,
                          .param = "probability",
                          .any = {NumberTest{.lower = Bound<std::string>{std::move(low), true},
                                             .upper = Bound<std::string>{std::move(high), false}}}};
  };
  EXPECT_EQ(Matching({number("0.245", "0.255")}), List{"o1"});
  EXPECT_EQ(Matching({number("0.25", "0.25")}), List{});
  auto quantity = [](QuantityTest test) {
    return IndexCondition{.kind = IndexKind::kQuantity, .param = "value-quantity", .any = {test}};
  };
  EXPECT_EQ(
      Matching({quantity({.number = {.lower = Bound<std::string>{"119.5"}}, .code = "mm[Hg]"})}),
      List{"o1"});
  EXPECT_EQ(Matching({quantity({.number = {.upper = Bound<std::string>{"16000"}},
                                .code = "g.m-1.s-2",
                                .canonical = true})}),
            List{"o1"});
  EXPECT_EQ(Matching({quantity({.number = {}, .code = "kg"})}), List{});
  auto reference = [](ReferenceTest test) {
    return IndexCondition{.kind = IndexKind::kReference, .param = "subject", .any = {test}};
  };
  EXPECT_EQ(Matching({reference({.target_type = "Patient", .target_id = "p1"})}), List{"o1"});
  EXPECT_EQ(Matching({reference({.target_id = "p1"})}), List{"o1"});
  EXPECT_EQ(Matching({reference({.target_type = "Group", .target_id = "p1"})}), List{});
  EXPECT_EQ(Matching({reference({.identifier_value = "110101199003074518"})}), List{"o1"});
  auto uri = [](UriTest::Mode mode, std::string value) {
    return IndexCondition{.kind = IndexKind::kUri,
                          .param = "instantiates",
                          .any = {UriTest{.mode = mode, .value = std::move(value)}}};
  };
  EXPECT_EQ(Matching({uri(UriTest::Mode::kExact, "http://example.org/fhir/Protocol/bp")}),
            List{"o1"});
  EXPECT_EQ(Matching({uri(UriTest::Mode::kBelow, "http://example.org/fhir")}), List{"o1"});
  EXPECT_EQ(Matching({uri(UriTest::Mode::kAbove, "http://example.org/fhir/Protocol/bp/v2")}),
            List{"o1"});
  EXPECT_EQ(Matching({uri(UriTest::Mode::kAbove, "http://example.org/fhir")}), List{});
  // :missing
  EXPECT_EQ(Matching({{.kind = IndexKind::kUri, .param = "instantiates", .negate = true}}),
            List{"o2"});
  EXPECT_EQ(Matching({{.kind = IndexKind::kUri, .param = "instantiates"}}), List{"o1"});
  // Conditions all hold; alternatives of one condition any.
  EXPECT_EQ(
      Matching({Token(std::nullopt, "85354-9"), Token(std::nullopt, "final", false, "status")}),
      List{"o1"});
  EXPECT_EQ(Matching({Token(std::nullopt, "85354-9"), Token(std::nullopt, "x")}), List{});
  EXPECT_EQ(Matching({{.kind = IndexKind::kToken,
                       .param = "code",
                       .any = {TokenTest{.code = "x"}, TokenTest{.code = "85354-9"}}}}),
            List{"o1"});
  // A parameter defined as the union of others is tested on their rows.
  auto either = [](bool negate) {
    return IndexCondition{.kind = IndexKind::kToken,
                          .param = "code-or-status",
                          .any = {TokenTest{.code = "final"}},
                          .negate = negate,
                          .union_of = {"code", "status"}};
  };
  EXPECT_EQ(Matching({either(false)}), List{"o1"});
  EXPECT_EQ(Matching({either(true)}), List{"o2"});
  EXPECT_EQ(Matching({{.kind = IndexKind::kToken, .param = "code-or-status", .any = {}}}), List{});
}

TEST_F(StoreIndexTest, AnUpdateReplacesTheRowsAndADeleteRemovesThem) {
  using List = std::vector<std::string>;
  Index("o1", Rows());
  IndexEntries changed;
  changed.tokens = {{.param = "code", .system = "http://loinc.org", .code = "8867-4"}};
  Index("o1", changed);
  EXPECT_EQ(Matching({Token("http://loinc.org", "85354-9")}), List{});
  EXPECT_EQ(Matching({Token("http://loinc.org", "8867-4")}), List{"o1"});
  EXPECT_EQ(Matching({{.kind = IndexKind::kString, .param = "name"}}), List{});
  auto tx = Begin();
  ASSERT_TRUE(tx->Write({.type = "Observation", .id = "o1", .is_delete = true}).ok());
  ASSERT_TRUE(tx->Commit().ok());
  EXPECT_EQ(Matching({Token("http://loinc.org", "8867-4")}), List{});
  // Written again after the delete: only the new rows.
  Index("o1", Rows());
  EXPECT_EQ(Matching({Token("http://loinc.org", "85354-9")}), List{"o1"});
  EXPECT_EQ(Matching({Token("http://loinc.org", "8867-4")}), List{});
}

TEST_F(StoreIndexTest, ValuesNeedNoEscaping) {
  using List = std::vector<std::string>;
  IndexEntries odd;
  odd.tokens = {{.param = "code", .system = "a\"b,c}", .code = "{x\\y}"}};
  odd.strings = {{.param = "name", .normalized = "o'neil %_", .exact = "NULL"}};
  Index("o1", odd, /*fresh=*/true);
  EXPECT_EQ(Matching({Token("a\"b,c}", "{x\\y}")}), List{"o1"});
  EXPECT_EQ(Matching({{.kind = IndexKind::kString,
                       .param = "name",
                       .any = {StringTest{.mode = StringTest::Mode::kExact, .value = "NULL"}}}}),
            List{"o1"});
  EXPECT_EQ(Matching({{.kind = IndexKind::kString,
                       .param = "name",
                       .any = {StringTest{.value = "o'neil %"}}}}),
            List{"o1"});
  EXPECT_EQ(Matching({{.kind = IndexKind::kString,
                       .param = "name",
                       .any = {StringTest{.value = "o'neil x"}}}}),
            List{});
}

IndexEntries::Text Document(std::string param,
                            std::vector<std::pair<std::string, std::vector<int>>> lexemes) {
  IndexEntries::Text text{.param = std::move(param)};
  for (auto& [lexeme, positions] : lexemes) {
    text.lexemes.push_back({std::move(lexeme), std::move(positions)});
  }
  return text;
}

TEST_F(StoreIndexTest, FullTextDocumentsAnswerTermsPhrasesAndPrefixes) {
  using List = std::vector<std::string>;
  using L = TextTest::Lexeme;
  // o1's narrative: "blood pressure, high 高血压"; its content also "fever". o2's narrative:
  // "pressure blood" and two lexemes full of tsquery syntax.
  IndexEntries first;
  first.texts = {Document("_text", {{"blood", {1}},
                                    {"pressure", {2}},
                                    {"high", {4}},
                                    {"高血", {6}},
                                    {"血压", {7}},
                                    {"压", {8}}}),
                 Document("_content", {{"fever", {1}}, {"blood", {3}}})};
  Index("o1", first, /*fresh=*/true);
  IndexEntries second;
  second.texts = {Document(
      "_text", {{"pressure", {1}}, {"blood", {2, 9}}, {"o'neil\\x", {3}}, {"a:b & !c", {4}}})};
  Index("o2", second);
  Index("o3", {});
  auto text = [](std::vector<std::vector<L>> terms, std::string param = "_text",
                 bool negate = false) {
    return IndexCondition{.kind = IndexKind::kText,
                          .param = std::move(param),
                          .any = {TextTest{.terms = std::move(terms)}},
                          .negate = negate};
  };
  EXPECT_EQ(Matching({text({{{"blood"}}})}), (List{"o1", "o2"}));
  // A phrase needs its lexemes at their distances.
  EXPECT_EQ(Matching({text({{{"blood", 0}, {"pressure", 1}}})}), List{"o1"});
  EXPECT_EQ(Matching({text({{{"pressure", 0}, {"blood", 1}}})}), List{"o2"});
  EXPECT_EQ(Matching({text({{{"blood", 0}, {"high", 3}}})}), List{"o1"});
  EXPECT_EQ(Matching({text({{{"blood", 0}, {"high", 2}}})}), List{});
  EXPECT_EQ(Matching({text({{{"高血", 0}, {"血压", 1}}})}), List{"o1"});
  // Every term must occur.
  EXPECT_EQ(Matching({text({{{"blood"}}, {{"高血", 0}, {"血压", 1}}})}), List{"o1"});
  EXPECT_EQ(Matching({text({{{"blood"}}, {{"fever"}}})}), List{});
  // Prefixes.
  EXPECT_EQ(Matching({text({{{"pres", 0, true}}})}), (List{"o1", "o2"}));
  EXPECT_EQ(Matching({text({{{"高", 0, true}}})}), List{"o1"});
  EXPECT_EQ(Matching({text({{{"pres"}}})}), List{});
  // Each parameter has its own document.
  EXPECT_EQ(Matching({text({{{"fever"}}})}), List{});
  EXPECT_EQ(Matching({text({{{"fever"}}}, "_content")}), List{"o1"});
  // Lexemes are taken as they are, whatever they contain.
  EXPECT_EQ(Matching({text({{{"o'neil\\x"}}})}), List{"o2"});
  EXPECT_EQ(Matching({text({{{"a:b & !c"}}})}), List{"o2"});
  EXPECT_EQ(Matching({text({{{"a"}}})}), List{});
  EXPECT_EQ(Matching({text({{{"a:b", 0, true}}})}), List{"o2"});
  // Alternatives, :not and :missing.
  EXPECT_EQ(
      Matching({{.kind = IndexKind::kText,
                 .param = "_text",
                 .any = {TextTest{.terms = {{{"nothing"}}}}, TextTest{.terms = {{{"high"}}}}}}}),
      List{"o1"});
  EXPECT_EQ(Matching({text({{{"high"}}}, "_text", /*negate=*/true)}), (List{"o2", "o3"}));
  EXPECT_EQ(Matching({{.kind = IndexKind::kText, .param = "_content"}}), List{"o1"});
  EXPECT_EQ(Matching({{.kind = IndexKind::kText, .param = "_content", .negate = true}}),
            (List{"o2", "o3"}));
  // An update replaces the documents, a delete removes them.
  IndexEntries changed;
  changed.texts = {Document("_text", {{"high", {1}}})};
  Index("o1", changed);
  EXPECT_EQ(Matching({text({{{"blood"}}})}), List{"o2"});
  EXPECT_EQ(Matching({text({{{"fever"}}}, "_content")}), List{});
  EXPECT_EQ(Matching({text({{{"high"}}})}), List{"o1"});
  auto tx = Begin();
  ASSERT_TRUE(tx->Write({.type = "Observation", .id = "o2", .is_delete = true}).ok());
  ASSERT_TRUE(tx->Commit().ok());
  EXPECT_EQ(Matching({text({{{"blood"}}})}), List{});
  auto count = Begin()->Count(
      {.type = "Observation", .conditions = {text({{{"high"}}}, "_text", /*negate=*/true)}});
  ASSERT_TRUE(count.ok()) << count.error().text();
  EXPECT_EQ(*count, 1);
}

// Sorting, paging a sort, counting, chains, _has and includes over a patient with three
// observations (dated 2, 1 and none) and one with one (dated 3).
class StoreQueryTest : public StoreIndexTest {
 protected:
  void SetUp() override {
    StoreIndexTest::SetUp();
    Write("Patient", "p1", {});
    Write("Patient", "p2", {});
    Observation("o1", "p1", 2);
    Observation("o2", "p1", 1);
    Observation("o3", "p1", std::nullopt);
    Observation("o4", "p2", 3);
    IndexEntries named;
    named.strings = {{.param = "name", .normalized = "chen", .exact = "Chen"}};
    Write("Patient", "p1", named);
  }

  void Write(const std::string& type, const std::string& id, IndexEntries index) {
    auto tx = Begin();
    auto written = tx->Write({.type = type,
                              .id = id,
                              .render = [&](const VersionStamp& stamp) -> fhir::Result<Rendered> {
                                return Rendered{Body(type, id, stamp), index};
                              }});
    ASSERT_TRUE(written.ok()) << written.error().text();
    ASSERT_TRUE(tx->Commit().ok());
  }

  void Observation(const std::string& id, const std::string& patient, std::optional<int> day) {
    IndexEntries index;
    index.references = {{.param = "subject", .target_type = "Patient", .target_id = patient}};
    if (day) {
      const Timestamp from(std::chrono::microseconds(1'700'000'000'000'000) + *day * 24h);
      index.dates = {{.param = "date", .from = from, .before = from + 24h}};
    }
    Write("Observation", id, index);
  }

  // Every page of `query` (pages of two), concatenated.
  std::vector<std::string> AllPages(SearchQuery query) {
    std::vector<std::string> ids;
    query.count = 2;
    for (int pages = 0; pages < 10; ++pages) {
      auto tx = Begin();
      auto page = tx->Search(query);
      EXPECT_TRUE(page.ok()) << page.error().text();
      if (!page.ok()) break;
      for (const ResourceVersion& entry : page->entries) ids.push_back(entry.id);
      if (!page->next) break;
      query.after = page->next;
    }
    return ids;
  }
};

TEST_F(StoreQueryTest, SortsWithMissingValuesLastAndPagesTheSort) {
  using List = std::vector<std::string>;
  SearchQuery by_date{.type = "Observation", .sort = {{.param = "date", .kind = IndexKind::kDate}}};
  EXPECT_EQ(AllPages(by_date), (List{"o2", "o1", "o4", "o3"}));
  by_date.sort[0].descending = true;
  EXPECT_EQ(AllPages(by_date), (List{"o4", "o1", "o2", "o3"}));
  SearchQuery by_subject_then_date{
      .type = "Observation",
      .sort = {{.param = "subject", .kind = IndexKind::kReference, .descending = true},
               {.param = "date", .kind = IndexKind::kDate}}};
  EXPECT_EQ(AllPages(by_subject_then_date), (List{"o4", "o2", "o1", "o3"}));
  EXPECT_EQ(AllPages({.type = "Observation", .sort = {{.param = "_id", .descending = true}}}),
            (List{"o4", "o3", "o2", "o1"}));
  auto tx = Begin();
  auto bad = tx->Search({.type = "Observation", .sort = by_date.sort, .after = "not-a-cursor"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message_id(), "store.invalid-cursor");
  EXPECT_EQ(bad.error().http_status(), 400);
}

TEST_F(StoreQueryTest, CountsChainsAndHas) {
  using List = std::vector<std::string>;
  auto named_chen = std::make_shared<SearchQuery>(SearchQuery{
      .type = "Patient",
      .conditions = {
          {.kind = IndexKind::kString, .param = "name", .any = {StringTest{.value = "che"}}}}});
  SearchQuery chained{.type = "Observation",
                      .conditions = {{.kind = IndexKind::kReference,
                                      .param = "subject",
                                      .any = {ReferenceTest{.target = named_chen}}}}};
  EXPECT_EQ(AllPages(chained), (List{"o1", "o2", "o3"}));
  auto tx = Begin();
  auto count = tx->Count(chained);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 3);
  auto dated_3 = std::make_shared<SearchQuery>(SearchQuery{
      .type = "Observation",
      .conditions = {
          {.kind = IndexKind::kDate,
           .param = "date",
           .any = {DateTest{.from_ge = Timestamp(std::chrono::microseconds(1'700'000'000'000'000)) +
                                       72h}}}}});
  EXPECT_EQ(
      AllPages({.type = "Patient",
                .has = {{.source_type = "Observation", .param = "subject", .source = dated_3}}}),
      List{"p2"});
}

TEST_F(StoreQueryTest, AcrossTypesEachTypeWithItsOwnConditionsAndSort) {
  using List = std::vector<std::string>;
  const IndexCondition of_p1{.kind = IndexKind::kReference,
                             .param = "subject",
                             .any = {ReferenceTest{.target_type = "Patient", .target_id = "p1"}}};
  const IndexCondition named_chen{
      .kind = IndexKind::kString, .param = "name", .any = {StringTest{.value = "chen"}}};
  SearchQuery query{.types = {{.type = "Observation", .conditions = {of_p1}},
                              {.type = "Patient", .conditions = {named_chen}}}};
  EXPECT_EQ(TypedPages(*store_, query, 2),
            (List{"Observation/o1", "Observation/o2", "Observation/o3", "Patient/p1"}));
  auto tx = Begin();
  auto count = tx->Count(query);
  ASSERT_TRUE(count.ok()) << count.error().text();
  EXPECT_EQ(*count, 4);
  // Sorted by a parameter only some types have: the others come last, in type and id order.
  query.sort = {{.param = "date", .kind = IndexKind::kDate, .descending = true}};
  EXPECT_EQ(TypedPages(*store_, query, 1),
            (List{"Observation/o1", "Observation/o2", "Observation/o3", "Patient/p1"}));
  query.sort[0].descending = false;
  query.types[0].conditions.clear();
  EXPECT_EQ(
      TypedPages(*store_, query, 2),
      (List{"Observation/o2", "Observation/o1", "Observation/o4", "Observation/o3", "Patient/p1"}));
  // A condition of the query itself holds for every type: only Observations have a subject.
  EXPECT_EQ(TypedPages(*store_, {.conditions = {of_p1}}, 100),
            (List{"Observation/o1", "Observation/o2", "Observation/o3"}));
}

TEST_F(StoreQueryTest, IncludesForwardAndReverse) {
  auto ids = [](const fhir::Result<std::vector<ResourceVersion>>& found) {
    std::set<std::string> out;
    EXPECT_TRUE(found.ok()) << found.error().text();
    if (found.ok()) {
      for (const ResourceVersion& v : *found) out.insert(v.type + "/" + v.id);
    }
    return out;
  };
  auto tx = Begin();
  EXPECT_EQ(ids(tx->Include({.source_type = "Observation",
                             .param = "subject",
                             .from = {{"Observation", "o1"}, {"Observation", "o4"}}})),
            (std::set<std::string>{"Patient/p1", "Patient/p2"}));
  EXPECT_EQ(ids(tx->Include({.source_type = "Observation",
                             .param = "subject",
                             .target_type = "Group",
                             .from = {{"Observation", "o1"}}})),
            std::set<std::string>{});
  EXPECT_EQ(ids(tx->Include(
                {.reverse = true, .source_type = "Observation", .from = {{"Patient", "p2"}}})),
            std::set<std::string>{"Observation/o4"});
  EXPECT_EQ(ids(tx->Include({.reverse = true,
                             .source_type = "Observation",
                             .param = "subject",
                             .from = {{"Patient", "p1"}},
                             .limit = 2}))
                .size(),
            2u);
}

TEST_F(StoreContractTest, ConcurrentWritersOfOneResourceGetContiguousVersions) {
  constexpr int kThreads = 4;
  constexpr int kWritesEach = 25;
  PutCommitted("Patient", "shared");
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kWritesEach; ++i) {
        auto tx = store_->Begin();
        if (!tx.ok() || !Put(**tx, "Patient", "shared").ok() || !(*tx)->Commit().ok()) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);

  constexpr int kTotal = 1 + kThreads * kWritesEach;
  auto tx = Begin();
  auto read = tx->Read("Patient", "shared");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->stamp.version, kTotal);
  auto history = tx->History({.type = "Patient", .id = "shared", .count = 1000});
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->entries.size(), static_cast<std::size_t>(kTotal));
  for (int i = 0; i < kTotal; ++i) {
    const ResourceVersion& entry = history->entries[i];
    EXPECT_EQ(entry.stamp.version, kTotal - i);
    // The stored text carries the version it was rendered with: no write was lost or reordered.
    EXPECT_EQ(entry.json, Body("Patient", "shared", entry.stamp));
  }
}

TEST_F(StoreContractTest, ConcurrentCreatorsOfOneNewIdAreSerialised) {
  constexpr int kThreads = 4;
  std::vector<std::int64_t> versions(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto tx = store_->Begin();
      if (!tx.ok()) return;
      auto written = Put(**tx, "Patient", "fresh");
      if (written.ok() && (*tx)->Commit().ok()) versions[t] = written->stamp.version;
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::sort(versions.begin(), versions.end());
  EXPECT_EQ(versions, (std::vector<std::int64_t>{1, 2, 3, 4}));
}

TEST_F(StoreContractTest, ConcurrentIfMatchWritersOnlyOneWins) {
  PutCommitted("Patient", "p1");
  constexpr int kThreads = 4;
  std::atomic<int> won{0};
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      auto tx = store_->Begin();
      if (!tx.ok()) return;
      auto written = Put(**tx, "Patient", "p1", 1);
      if (written.ok() && (*tx)->Commit().ok()) ++won;
      if (!written.ok() && written.error().message_id() == "store.version-conflict") ++conflicts;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(conflicts.load(), kThreads - 1);
}

TEST_F(StoreContractTest, TransactionsLockingTheSameCriteriaTakeTurns) {
  // Each writer reads the current version and writes on top of it: without taking turns, writers
  // that read the same version would lose with store.version-conflict.
  {
    auto tx = Begin();
    ASSERT_TRUE(Put(*tx, "Patient", "counted").ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  constexpr int kThreads = 6;
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto tx = Begin();
      // Each writer also locks a criterion of its own, which holds nobody up.
      auto locked =
          tx->LockCriteria({"Patient?identifier=x|1", "Patient?name=w" + std::to_string(i)});
      auto current = tx->Read("Patient", "counted");
      auto written = locked.ok() && current.ok()
                         ? Put(*tx, "Patient", "counted", current->stamp.version)
                         : fhir::Result<WriteResult>(fhir::Error::Internal("test", "no read"));
      if (!written.ok() || !tx->Commit().ok()) ++failed;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failed.load(), 0);
  auto tx = Begin();
  auto last = tx->Read("Patient", "counted");
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->stamp.version, kThreads + 1);
}

TEST_F(StoreContractTest, OtherCriteriaDoNotWaitAndLockingAgainIsFree) {
  auto holder = Begin();
  ASSERT_TRUE(holder->LockCriteria({"Patient?identifier=x|1"}).ok());
  ASSERT_TRUE(holder->LockCriteria({"Patient?identifier=x|1", "Patient?identifier=x|1"}).ok());
  std::atomic<bool> done{false};
  std::thread other([&] {
    auto tx = Begin();
    EXPECT_TRUE(tx->LockCriteria({"Patient?identifier=x|2"}).ok());
    EXPECT_TRUE(Put(*tx, "Patient", "other").ok());
    EXPECT_TRUE(tx->Commit().ok());
    done = true;
  });
  // Joined before the holder ends: a wait for the holder's lock would never end.
  other.join();
  EXPECT_TRUE(done.load());
  EXPECT_TRUE(holder->Commit().ok());
  auto again = holder->Commit();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().message_id(), "store.transaction-closed");
}

TEST_F(StoreContractTest, LockedResourcesAnswerTheirReadsAndWritesAsBefore) {
  PutCommitted("Patient", "kept");
  PutCommitted("Patient", "gone");
  PutCommitted("Patient", "gone", /*is_delete=*/true);
  auto tx = Begin();
  ASSERT_TRUE(
      tx->LockResources(
            {{"Patient", "kept"}, {"Patient", "gone"}, {"Patient", "new"}, {"Patient", "kept"}})
          .ok());
  auto kept = tx->Read("Patient", "kept");
  ASSERT_TRUE(kept.ok()) << kept.error().text();
  EXPECT_EQ(kept->stamp.version, 1);
  EXPECT_EQ(kept->json, Body("Patient", "kept", kept->stamp));
  auto gone = tx->Read("Patient", "gone");
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE(gone->deleted);
  EXPECT_EQ(gone->stamp.version, 2);
  auto missing = tx->Read("Patient", "new");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message_id(), "store.not-found");
  // Writes take the version they locked, and a read after a write sees the write.
  EXPECT_EQ(Put(*tx, "Patient", "kept", 2).error().message_id(), "store.version-conflict");
  clock_.Advance(1s);
  auto updated = Put(*tx, "Patient", "kept", 1);
  ASSERT_TRUE(updated.ok()) << updated.error().text();
  EXPECT_EQ(updated->stamp.version, 2);
  EXPECT_EQ(tx->Read("Patient", "kept")->stamp.version, 2);
  auto revived = Put(*tx, "Patient", "gone");
  ASSERT_TRUE(revived.ok());
  EXPECT_EQ(revived->stamp.version, 3);
  auto created = Put(*tx, "Patient", "new");
  ASSERT_TRUE(created.ok());
  EXPECT_TRUE(created->created);
  EXPECT_EQ(tx->Read("Patient", "new")->stamp.version, 1);
  ASSERT_TRUE(tx->Commit().ok());
  auto after = Begin();
  EXPECT_EQ(after->Read("Patient", "kept")->stamp.version, 2);
  EXPECT_EQ(after->Read("Patient", "gone")->stamp.version, 3);
  EXPECT_EQ(after->Read("Patient", "new")->stamp.version, 1);
}

TEST_F(StoreContractTest, WritersOfLockedResourcesWaitForTheLocker) {
  PutCommitted("Patient", "shared");
  auto holder = Begin();
  ASSERT_TRUE(holder->LockResources({{"Patient", "shared"}, {"Patient", "fresh"}}).ok());
  std::atomic<bool> written{false};
  std::thread other([&] {
    auto tx = Begin();
    auto put = Put(*tx, "Patient", "shared");
    EXPECT_TRUE(put.ok());
    // It waited for the holder's version, and wrote after it.
    if (put.ok()) {
      EXPECT_EQ(put->stamp.version, 3);
    }
    EXPECT_TRUE(tx->Commit().ok());
    written = true;
  });
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(written.load());
  clock_.Advance(1s);
  ASSERT_TRUE(Put(*holder, "Patient", "shared", 1).ok());
  // A creator of a resource that did not exist when it was locked is found by the insert.
  std::thread creator([&] { PutCommitted("Patient", "fresh"); });
  creator.join();
  auto fresh = Put(*holder, "Patient", "fresh");
  ASSERT_TRUE(fresh.ok()) << fresh.error().text();
  EXPECT_FALSE(fresh->created);
  EXPECT_EQ(fresh->stamp.version, 2);
  ASSERT_TRUE(holder->Commit().ok());
  other.join();
  EXPECT_TRUE(written.load());
}

}  // namespace
}  // namespace server::store
