// PostgreSQL-specific behaviour of the store: migrations, the pool, exact text storage.
#include "server/store/pg/pg_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "server/store/pg/connection.h"
#include "server/store/pg/migrations.h"
#include "server/store/pg/search_sql.h"
#include "server/store/pg/table_statistics.h"
#include "tests/support/pg_cluster.h"

namespace server::store::pg {
namespace {

using namespace std::chrono_literals;

class PgStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { conninfo_ = testing_support::PgTestCluster::Get().CreateDatabase(); }

  std::string conninfo_;
  SystemClock clock_;
};

TEST_F(PgStoreTest, MigrateAppliesEverythingOnceAndIsIdempotent) {
  auto first = Migrate(conninfo_);
  ASSERT_TRUE(first.ok()) << first.error().text();
  EXPECT_EQ(*first, static_cast<int>(Migrations().size()));
  auto second = Migrate(conninfo_);
  ASSERT_TRUE(second.ok()) << second.error().text();
  EXPECT_EQ(*second, 0);

  auto conn = PgConnection::Connect(conninfo_);
  ASSERT_TRUE(conn.ok());
  auto versions = (*conn)->ExecSimple("SELECT version FROM schema_migrations ORDER BY version");
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->rows(), static_cast<int>(Migrations().size()));
  for (int row = 0; row < versions->rows(); ++row) {
    EXPECT_EQ(versions->GetInt(row, 0), Migrations()[row].version);
  }
}

TEST_F(PgStoreTest, ConcurrentMigrationsApplyEachMigrationOnce) {
  constexpr int kThreads = 4;
  std::vector<int> applied(kThreads, -1);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto count = Migrate(conninfo_);
      if (count.ok()) applied[t] = *count;
    });
  }
  for (std::thread& thread : threads) thread.join();
  int total = 0;
  for (int count : applied) {
    EXPECT_GE(count, 0);
    total += count;
  }
  EXPECT_EQ(total, static_cast<int>(Migrations().size()));
}

TEST_F(PgStoreTest, TablesAreAnalyzedEachTimeTheyDoubled) {
  auto conn = PgConnection::Connect(conninfo_);
  ASSERT_TRUE(conn.ok());
  const auto insert = [&](int from, int to) {
    ASSERT_TRUE((*conn)
                    ->ExecSimple("INSERT INTO grown SELECT generate_series(" +
                                 std::to_string(from) + ", " + std::to_string(to) + ")")
                    .ok());
    // The counters the decision reads, published now rather than within the next second.
    ASSERT_TRUE((*conn)->ExecSimple("SELECT pg_stat_force_next_flush()").ok());
  };
  const auto analyzed = [&] {
    auto tables = AnalyzeGrownTables(**conn);
    EXPECT_TRUE(tables.ok()) << tables.error().text();
    return tables.ok() ? *tables : std::vector<std::string>{"failed"};
  };
  ASSERT_TRUE((*conn)->ExecSimple("CREATE TABLE grown (n int)").ok());
  insert(1, kMinChanged - 10);
  EXPECT_TRUE(analyzed().empty());  // too few rows to matter
  insert(kMinChanged - 9, kMinChanged + 10);
  EXPECT_EQ(analyzed(), std::vector<std::string>{"public.grown"});  // never analyzed
  EXPECT_TRUE(analyzed().empty());
  insert(kMinChanged + 11, 2 * kMinChanged + 10);  // 50 more than the 60 analyzed: not doubled
  EXPECT_TRUE(analyzed().empty());
  insert(2 * kMinChanged + 11, 2 * kMinChanged + 30);
  EXPECT_EQ(analyzed(), std::vector<std::string>{"public.grown"});
  auto reltuples =
      (*conn)->ExecSimple("SELECT reltuples::int FROM pg_class WHERE relname = 'grown'");
  ASSERT_TRUE(reltuples.ok());
  EXPECT_EQ(reltuples->GetInt(0, 0), 2 * kMinChanged + 30);
}

TEST_F(PgStoreTest, ReusedStatementsArePreparedOncePerTextAndBounded) {
  auto conn = PgConnection::Connect(conninfo_);
  ASSERT_TRUE(conn.ok());
  for (int i = 0; i < 3; ++i) {
    for (const char* sql : {"SELECT $1::int + 1", "SELECT $1::int + 2"}) {
      auto rows = (*conn)->ExecReused(sql, {std::to_string(i)});
      ASSERT_TRUE(rows.ok()) << rows.error().text();
      EXPECT_EQ(rows->GetInt(0, 0), i + (sql[std::strlen(sql) - 1] - '0'));
    }
  }
  auto prepared = (*conn)->ExecSimple("SELECT count(*) FROM pg_prepared_statements");
  ASSERT_TRUE(prepared.ok());
  EXPECT_EQ(prepared->GetInt(0, 0), 2);
  // Past the bound, texts still run, unprepared.
  for (std::size_t i = 0; i < PgConnection::kMaxReused; ++i) {
    auto rows = (*conn)->ExecReused("SELECT " + std::to_string(i) + " + $1::int", {"1"});
    ASSERT_TRUE(rows.ok()) << rows.error().text();
    EXPECT_EQ(rows->GetInt(0, 0), static_cast<int>(i) + 1);
  }
  prepared = (*conn)->ExecSimple("SELECT count(*) FROM pg_prepared_statements");
  ASSERT_TRUE(prepared.ok());
  EXPECT_EQ(prepared->GetInt(0, 0), static_cast<int>(PgConnection::kMaxReused));
}

TEST_F(PgStoreTest, SearchStatementsBindValuesAndLeaveNothingPrepared) {
  auto conn = PgConnection::Connect(conninfo_);
  ASSERT_TRUE(conn.ok());
  // Seven runs of one shape: a prepared statement would be on a generic plan by now.
  for (int i = 0; i < 7; ++i) {
    auto rows = (*conn)->ExecParams("SELECT $1::int + 1, $2::text", {std::to_string(i), "x'y"});
    ASSERT_TRUE(rows.ok()) << rows.error().text();
    EXPECT_EQ(rows->GetInt(0, 0), i + 1);
    EXPECT_EQ(rows->Get(0, 1), "x'y");
  }
  auto prepared = (*conn)->ExecSimple("SELECT count(*) FROM pg_prepared_statements");
  ASSERT_TRUE(prepared.ok());
  EXPECT_EQ(prepared->GetInt(0, 0), 0);
}

TEST_F(PgStoreTest, PoolExhaustionAnswersUnavailableAfterTheTimeout) {
  ASSERT_TRUE(Migrate(conninfo_).ok());
  PgStore store(PoolOptions{conninfo_, 1, 200ms}, clock_);
  auto held = store.Begin();
  ASSERT_TRUE(held.ok()) << held.error().text();

  auto start = std::chrono::steady_clock::now();
  auto starved = store.Begin();
  auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(starved.ok());
  EXPECT_EQ(starved.error().message_id(), "store.unavailable");
  EXPECT_EQ(starved.error().http_status(), 503);
  EXPECT_GE(waited, 200ms);

  held->reset();
  auto after = store.Begin();
  EXPECT_TRUE(after.ok());
}

TEST_F(PgStoreTest, UnreachableDatabaseIsUnavailable) {
  PgStore store(PoolOptions{"host=/nonexistent-socket-dir dbname=x connect_timeout=2", 1, 200ms},
                clock_);
  auto tx = store.Begin();
  ASSERT_FALSE(tx.ok());
  EXPECT_EQ(tx.error().message_id(), "store.unavailable");
}

TEST_F(PgStoreTest, StoresTheTextByteForByte) {
  ASSERT_TRUE(Migrate(conninfo_).ok());
  PgStore store(PoolOptions{conninfo_, 2, 1000ms}, clock_);
  // Key order, white space, number text and non-ASCII all survive (jsonb would change the first
  // three).
  const std::string json =
      "{\"resourceType\":\"Observation\",\"b\":1,\"a\":[1.50, 1e2, 0.000],\"t\":\"\\u00e9 "
      "\xe5\xbc\xa0\"}";
  auto tx = store.Begin();
  ASSERT_TRUE(tx.ok());
  auto written = (*tx)->Write({.type = "Observation",
                               .id = "o1",
                               .render = [&](const VersionStamp&) -> fhir::Result<Rendered> {
                                 return Rendered{.json = json};
                               }});
  ASSERT_TRUE(written.ok()) << written.error().text();
  ASSERT_TRUE((*tx)->Commit().ok());
  auto reader = store.Begin();
  ASSERT_TRUE(reader.ok());
  auto read = (*reader)->Read("Observation", "o1");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->json, json);
}

TEST_F(PgStoreTest, AFailedStatementFailsTheCommitAndLeavesNothing) {
  ASSERT_TRUE(Migrate(conninfo_).ok());
  PgStore store(PoolOptions{conninfo_, 2, 1000ms}, clock_);
  auto render = [](std::string json) {
    return [json](const VersionStamp&) -> fhir::Result<Rendered> { return Rendered{.json = json}; };
  };
  auto tx = store.Begin();
  ASSERT_TRUE(tx.ok());
  ASSERT_TRUE((*tx)->Write({.type = "Patient", .id = "p1", .render = render("{}")}).ok());
  // PostgreSQL rejects text that is not UTF-8.
  auto bad = (*tx)->Write({.type = "Patient", .id = "p2", .render = render("{\"x\":\"\xff\"}")});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message_id(), "store.sql-error");
  auto committed = (*tx)->Commit();
  ASSERT_FALSE(committed.ok());
  EXPECT_EQ(committed.error().message_id(), "store.sql-error");
  auto reader = store.Begin();
  ASSERT_TRUE(reader.ok());
  EXPECT_FALSE((*reader)->Read("Patient", "p1").ok());
}

TEST_F(PgStoreTest, ReverseChainsGiveTheSameAnswerWalkedOrJoined) {
  ASSERT_TRUE(Migrate(conninfo_).ok());
  PgStore store(PoolOptions{conninfo_, 2, 1000ms}, clock_);
  auto write = [&](const std::string& type, const std::string& id, IndexEntries index) {
    auto tx = store.Begin();
    ASSERT_TRUE(tx.ok());
    auto written = (*tx)->Write(
        {.type = type, .id = id, .render = [&](const VersionStamp&) -> fhir::Result<Rendered> {
           return Rendered{.json = "{}", .index = index};
         }});
    ASSERT_TRUE(written.ok()) << written.error().text();
    ASSERT_TRUE((*tx)->Commit().ok());
  };
  // Patients p00..p11; each third has an Observation coded "hit", every one one coded "miss".
  for (int i = 0; i < 12; ++i) {
    const std::string patient = (i < 10 ? "p0" : "p") + std::to_string(i);
    write("Patient", patient, {});
    for (const char* code : {"hit", "miss"}) {
      if (std::string(code) == "hit" && i % 3 != 0) continue;
      IndexEntries index;
      index.tokens.push_back({.param = "code", .system = "http://loinc.org", .code = code});
      index.references.push_back(
          {.param = "subject", .target_type = "Patient", .target_id = patient});
      write("Observation", "o-" + patient + "-" + code, std::move(index));
    }
  }
  auto has_code = [](std::string code) {
    return ReverseChain{.source_type = "Observation",
                        .param = "subject",
                        .source = std::make_shared<SearchQuery>(SearchQuery{
                            .type = "Observation",
                            .conditions = {{.kind = IndexKind::kToken,
                                            .param = "code",
                                            .any = {TokenTest{.code = std::move(code)}}}}})};
  };
  auto conn = PgConnection::Connect(conninfo_);
  ASSERT_TRUE(conn.ok());
  auto ids = [&](const SearchQuery& query, bool walk) {
    auto statement = SearchStatement(std::string(kDefaultTenant), query, {.walk_has = {walk}});
    EXPECT_TRUE(statement.ok());
    std::vector<std::string> out;
    if (!statement.ok()) return out;
    auto rows = (*conn)->ExecParams(statement->sql, statement->params);
    EXPECT_TRUE(rows.ok()) << rows.error().text();
    for (int row = 0; rows.ok() && row < rows->rows(); ++row) out.emplace_back(rows->Get(row, 1));
    return out;
  };
  using List = std::vector<std::string>;
  for (bool walk : {false, true}) {
    SearchQuery hits{.type = "Patient", .has = {has_code("hit")}, .count = 3};
    EXPECT_EQ(ids(hits, walk), (List{"p00", "p03", "p06", "p09"})) << walk;
    hits.after = "p03";
    EXPECT_EQ(ids(hits, walk), (List{"p06", "p09"})) << walk;
    SearchQuery none{.type = "Patient", .has = {has_code("other")}};
    EXPECT_EQ(ids(none, walk), List{}) << walk;
  }
  // The density of a chain: its referring rows, counted up to the cap.
  auto density = [&](const std::string& code, int cap) {
    auto statement = ReverseChainDensity(std::string(kDefaultTenant), has_code(code), cap);
    EXPECT_TRUE(statement.has_value());
    auto rows = (*conn)->ExecParams(statement->sql, statement->params);
    EXPECT_TRUE(rows.ok());
    return rows.ok() ? rows->GetInt(0, 0) : -1;
  };
  EXPECT_EQ(density("hit", 100), 4);
  EXPECT_EQ(density("miss", 5), 5);
  EXPECT_EQ(density("other", 5), 0);
  EXPECT_FALSE(ReverseChainDensity(
                   std::string(kDefaultTenant),
                   {.source_type = "Observation",
                    .param = "subject",
                    .source = std::make_shared<SearchQuery>(SearchQuery{.type = "Observation"})},
                   5)
                   .has_value());
  // Through the store, which chooses.
  auto tx = store.Begin();
  ASSERT_TRUE(tx.ok());
  auto page = (*tx)->Search({.type = "Patient", .has = {has_code("hit")}});
  ASSERT_TRUE(page.ok()) << page.error().text();
  EXPECT_EQ(page->entries.size(), 4u);
}

// Lookups (reuse_plan: conditional criteria, Consents) are driven from the rows of their first
// required condition; they must find what the same search finds.
TEST_F(PgStoreTest, LookupsFindWhatTheSameSearchFinds) {
  ASSERT_TRUE(Migrate(conninfo_).ok());
  PgStore store(PoolOptions{conninfo_, 2, 1000ms}, clock_);
  auto write = [&](const std::string& id, IndexEntries index, bool is_delete = false) {
    auto tx = store.Begin();
    ASSERT_TRUE(tx.ok());
    auto written = (*tx)->Write({.type = "Observation",
                                 .id = id,
                                 .is_delete = is_delete,
                                 .render = [&](const VersionStamp&) -> fhir::Result<Rendered> {
                                   return Rendered{.json = "{}", .index = index};
                                 }});
    ASSERT_TRUE(written.ok()) << written.error().text();
    ASSERT_TRUE((*tx)->Commit().ok());
  };
  auto coded = [](std::vector<std::pair<std::string, std::string>> codings, bool test_data) {
    IndexEntries index;
    for (auto& [system, code] : codings) {
      index.tokens.push_back({.param = "code", .system = system, .code = code});
    }
    if (test_data) {
      index.tokens.push_back({.param = "_tag",
                              .system = "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                              .code = "HTEST"});
    }
    return index;
  };
  // Two codings that both match "hit" give one match, not two.
  write("o1", coded({{"http://loinc.org", "hit"}, {"urn:local", "hit"}}, false));
  write("o2", coded({{"http://loinc.org", "hit"}}, true));
  write("o3", coded({{"http://loinc.org", "miss"}}, false));
  write("o4", coded({{"http://loinc.org", "hit"}}, false));
  write("o5", coded({{"http://loinc.org", "hit"}}, false));
  write("o5", {}, /*is_delete=*/true);
  write("o6", coded({{"urn:local", "hit"}}, false));

  auto code = [](std::optional<std::string> system, std::string value, bool negate = false) {
    return IndexCondition{.kind = IndexKind::kToken,
                          .param = "code",
                          .any = {TokenTest{.system = std::move(system), .code = std::move(value)}},
                          .negate = negate};
  };
  const IndexCondition not_test{
      .kind = IndexKind::kToken,
      .param = "_tag",
      .any = {TokenTest{.system = "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                        .code = "HTEST"}},
      .negate = true};
  std::vector<SearchQuery> queries = {
      {.type = "Observation", .conditions = {code(std::nullopt, "hit")}},
      {.type = "Observation", .conditions = {code("http://loinc.org", "hit"), not_test}},
      {.type = "Observation", .conditions = {not_test, code("urn:local", "hit")}},
      {.type = "Observation", .conditions = {code(std::nullopt, "hit"), code("urn:local", "hit")}},
      {.type = "Observation", .conditions = {code(std::nullopt, "other")}},
      {.type = "Observation", .conditions = {code(std::nullopt, "miss", true)}},
      {.type = "Observation", .ids = std::vector<std::string>{"o1", "o5"}},
      {.type = "Observation", .conditions = {code(std::nullopt, "hit")}, .count = 2},
      {.type = "Observation", .conditions = {code(std::nullopt, "hit")}, .count = 2, .after = "o2"},
  };
  auto ids = [&](SearchQuery query, bool lookup) {
    query.reuse_plan = lookup;
    std::vector<std::string> out;
    auto tx = store.Begin();
    EXPECT_TRUE(tx.ok());
    if (!tx.ok()) return out;
    auto page = (*tx)->Search(query);
    EXPECT_TRUE(page.ok()) << page.error().text();
    if (!page.ok()) return out;
    for (const ResourceVersion& entry : page->entries) out.push_back(entry.id);
    if (page->next) out.push_back("next:" + *page->next);
    return out;
  };
  using List = std::vector<std::string>;
  EXPECT_EQ(ids(queries[0], false), (List{"o1", "o2", "o4", "o6"}));
  EXPECT_EQ(ids(queries[1], false), (List{"o1", "o4"}));
  EXPECT_EQ(ids(queries[7], false), (List{"o1", "o2", "next:o2"}));
  for (size_t i = 0; i < queries.size(); ++i) {
    EXPECT_EQ(ids(queries[i], true), ids(queries[i], false)) << "query " << i;
  }
  // The lookup's statement starts from the index rows of its first required condition.
  EXPECT_EQ(FirstRequiredCondition(queries[2]), 1u);
  auto statement = SearchStatement(std::string(kDefaultTenant), queries[2], {.driver = 1});
  ASSERT_TRUE(statement.ok());
  EXPECT_NE(statement->sql.find("FROM search_token d WHERE"), std::string::npos) << statement->sql;
}

// A search page driven from the index rows of one condition (SearchPlan::driver) holds what the
// page PostgreSQL plans on its own holds, in the same order and with the same cursors, whichever
// condition drives: sorted or not, with several values, negations, a compartment and paging.
TEST_F(PgStoreTest, DrivenPagesFindWhatPlannedPagesFind) {
  ASSERT_TRUE(Migrate(conninfo_).ok());
  PgStore store(PoolOptions{conninfo_, 2, 1000ms}, clock_);
  const Timestamp day0 = Timestamp(std::chrono::sys_days(std::chrono::year(2024) / 1 / 1));
  for (int i = 0; i < 40; ++i) {
    IndexEntries index;
    index.references.push_back(
        {.param = "patient", .target_type = "Patient", .target_id = "p" + std::to_string(i % 3)});
    index.tokens.push_back(
        {.param = "code", .system = "http://loinc.org", .code = i % 4 == 0 ? "bp" : "hr"});
    if (i % 5 == 0) index.tokens.push_back({.param = "code", .system = "urn:local", .code = "bp"});
    if (i % 7 == 0) index.tokens.push_back({.param = "status", .code = "cancelled"});
    // Every fourth has no date (sorted last); others share dates in pairs (ties broken by id).
    if (i % 4 != 3) {
      const Timestamp from = day0 + std::chrono::days(i / 2);
      index.dates.push_back({.param = "date", .from = from, .before = from + std::chrono::days(1)});
    }
    auto tx = store.Begin();
    ASSERT_TRUE(tx.ok());
    const std::string id = (i < 10 ? "o0" : "o") + std::to_string(i);
    auto written = (*tx)->Write({.type = "Observation",
                                 .id = id,
                                 .render = [&](const VersionStamp&) -> fhir::Result<Rendered> {
                                   return Rendered{.json = "{}", .index = index};
                                 }});
    ASSERT_TRUE(written.ok()) << written.error().text();
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  auto patient = [](std::vector<std::string> ids) {
    IndexCondition condition{.kind = IndexKind::kReference, .param = "patient"};
    for (std::string& id : ids) {
      condition.any.push_back(ReferenceTest{.target_type = "Patient", .target_id = std::move(id)});
    }
    return condition;
  };
  auto code = [](std::optional<std::string> system, std::string value) {
    return IndexCondition{
        .kind = IndexKind::kToken,
        .param = "code",
        .any = {TokenTest{.system = std::move(system), .code = std::move(value)}}};
  };
  const IndexCondition not_cancelled{.kind = IndexKind::kToken,
                                     .param = "status",
                                     .any = {TokenTest{.code = "cancelled"}},
                                     .negate = true};
  // As `date=ge2024-01-05` reads: a range ending after the day, or starting in it or later.
  const IndexCondition since{.kind = IndexKind::kDate,
                             .param = "date",
                             .any = {DateTest{.before_gt = day0 + std::chrono::days(4)},
                                     DateTest{.from_ge = day0 + std::chrono::days(4)}}};
  const IndexCondition in_first_week{
      .kind = IndexKind::kDate,
      .param = "date",
      .any = {DateTest{.from_ge = day0, .from_lt = day0 + std::chrono::days(7)}}};
  const SortKey by_date{.param = "date", .kind = IndexKind::kDate};
  const SortKey by_date_descending{.param = "date", .kind = IndexKind::kDate, .descending = true};
  std::vector<SearchQuery> queries = {
      {.type = "Observation", .conditions = {patient({"p1"}), code(std::nullopt, "bp")}},
      {.type = "Observation",
       .conditions = {patient({"p0", "p2"}), code("http://loinc.org", "hr"), not_cancelled},
       .count = 4},
      {.type = "Observation",
       .conditions = {code(std::nullopt, "hr"), patient({"p0"}), since},
       .sort = {by_date},
       .count = 3},
      {.type = "Observation",
       .conditions = {patient({"p1", "p2"}), code(std::nullopt, "bp")},
       .sort = {by_date_descending},
       .count = 2},
      {.type = "Observation",
       .conditions = {code(std::nullopt, "hr"), not_cancelled},
       .compartment = CompartmentFilter{.type = "Patient", .id = "p2", .params = {"patient"}},
       .sort = {by_date, {.param = "_id", .descending = true}},
       .count = 5},
      {.type = "Observation",
       .conditions = {code(std::nullopt, "hr"), in_first_week},
       .sort = {by_date_descending},
       .count = 4},
      {.type = "Observation", .conditions = {patient({"p0"}), code(std::nullopt, "none")}},
  };
  auto conn = PgConnection::Connect(conninfo_);
  ASSERT_TRUE(conn.ok());
  // Every page, following the cursors: the ids, then each cursor.
  auto pages = [&](SearchQuery query, std::optional<size_t> driver) {
    std::vector<std::string> out;
    for (int page = 0; page < 50; ++page) {
      auto statement = SearchStatement(std::string(kDefaultTenant), query, {.driver = driver});
      EXPECT_TRUE(statement.ok()) << statement.error().text();
      if (!statement.ok()) break;
      EXPECT_EQ(statement->sql.find(" d WHERE") != std::string::npos, driver.has_value());
      auto rows = (*conn)->ExecParams(statement->sql, statement->params);
      EXPECT_TRUE(rows.ok()) << rows.error().text() << "\n" << statement->sql;
      if (!rows.ok()) break;
      const int n = std::min(rows->rows(), query.count);
      for (int row = 0; row < n; ++row) out.emplace_back(rows->Get(row, 1));
      if (rows->rows() <= query.count) break;
      query.after = NextCursor(query, *rows, n - 1);
      out.push_back("next:" + *query.after);
    }
    return out;
  };
  using List = std::vector<std::string>;
  EXPECT_EQ(pages(queries[0], std::nullopt), (List{"o04", "o10", "o16", "o25", "o28"}));
  for (size_t q = 0; q < queries.size(); ++q) {
    const List planned = pages(queries[q], std::nullopt);
    EXPECT_FALSE(q + 1 < queries.size() && planned.empty()) << "query " << q;
    for (size_t driver = 0; driver < queries[q].conditions.size(); ++driver) {
      if (queries[q].conditions[driver].negate) continue;
      EXPECT_EQ(pages(queries[q], driver), planned) << "query " << q << ", driver " << driver;
    }
  }
  // The store counts the candidates' rows and drives from the fewest: the patient's, here.
  auto probe = DriverProbeStatement(std::string(kDefaultTenant), queries[2], 1000);
  ASSERT_TRUE(probe.has_value());
  EXPECT_EQ(probe->candidates, (std::vector<size_t>{0, 1}));  // not the date, an OR of ranges
  auto counts = (*conn)->ExecParams(probe->statement.sql, probe->statement.params);
  ASSERT_TRUE(counts.ok()) << counts.error().text();
  EXPECT_EQ(counts->GetInt(0, 0), 30);  // "hr" in loinc
  EXPECT_EQ(counts->GetInt(0, 1), 14);  // p0
  auto capped = DriverProbeStatement(std::string(kDefaultTenant), queries[2], 10);
  auto capped_counts = (*conn)->ExecParams(capped->statement.sql, capped->statement.params);
  ASSERT_TRUE(capped_counts.ok());
  EXPECT_EQ(capped_counts->GetInt(0, 0), 10);
  EXPECT_EQ(capped_counts->GetInt(0, 1), 10);
  EXPECT_EQ(DriverProbeStatement(std::string(kDefaultTenant), queries[5], 500)->candidates,
            (std::vector<size_t>{0, 1}));
  // Two conditions and no sort key: little to weigh.
  EXPECT_FALSE(DriverProbeStatement(std::string(kDefaultTenant), queries[0], 1000).has_value());
  auto tx = store.Begin();
  ASSERT_TRUE(tx.ok());
  auto page = (*tx)->Search(queries[2]);
  ASSERT_TRUE(page.ok()) << page.error().text();
  EXPECT_EQ(page->entries.size(), 3u);
}

TEST_F(PgStoreTest, EveryRowCarriesTheTenant) {
  ASSERT_TRUE(Migrate(conninfo_).ok());
  PgStore station_a(PoolOptions{conninfo_, 2, 1000ms}, clock_, "station-a");
  PgStore station_b(PoolOptions{conninfo_, 2, 1000ms}, clock_, "station-b");
  auto tx = station_a.Begin();
  ASSERT_TRUE(tx.ok());
  ASSERT_TRUE((*tx)
                  ->Write({.type = "Patient",
                           .id = "p1",
                           .render = [](const VersionStamp&) -> fhir::Result<Rendered> {
                             return Rendered{.json = "{}"};
                           }})
                  .ok());
  ASSERT_TRUE((*tx)->Commit().ok());
  auto other = station_b.Begin();
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE((*other)->Read("Patient", "p1").ok());
  auto history = (*other)->History({});
  ASSERT_TRUE(history.ok());
  EXPECT_TRUE(history->entries.empty());
}

}  // namespace
}  // namespace server::store::pg
