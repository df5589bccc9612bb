#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "server/search/reindex.h"
#include "server/store/pg/pg_store.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/step_clock.h"
#include "tests/support/test_registry.h"

namespace server::search {
namespace {

// Patients written as a server before indexing did: with their JSON and no index rows.
class ReindexTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = testing_support::PgTestCluster::Get().NewStore(clock_, 2); }

  void Put(int n, bool is_delete = false) {
    const std::string id = "p" + std::to_string(n);
    auto tx = store_->Begin();
    ASSERT_TRUE(tx.ok());
    auto written = (*tx)->Write(
        {.type = "Patient",
         .id = id,
         .is_delete = is_delete,
         .render = [&](const store::VersionStamp&) -> fhir::Result<store::Rendered> {
           return store::Rendered{.json = R"({"resourceType":"Patient","id":")" + id +
                                          R"(","identifier":[{"system":"urn:x","value":"v)" +
                                          std::to_string(n) + R"("}]})"};
         }});
    ASSERT_TRUE(written.ok()) << written.error().text();
    ASSERT_TRUE((*tx)->Commit().ok());
  }

  // The Patients whose identifier is urn:x|v<n>.
  std::vector<std::string> WithIdentifier(int n) {
    auto tx = store_->Begin();
    EXPECT_TRUE(tx.ok());
    auto page = (*tx)->Search(
        {.type = "Patient",
         .conditions = {
             {.kind = store::IndexKind::kToken,
              .param = "identifier",
              .any = {store::TokenTest{.system = "urn:x", .code = "v" + std::to_string(n)}}}}});
    EXPECT_TRUE(page.ok());
    std::vector<std::string> ids;
    if (page.ok()) {
      for (const auto& entry : page->entries) ids.push_back(entry.id);
    }
    return ids;
  }

  std::int64_t Run(const std::string& fingerprint, bool full = false, int stop_after_batches = 0) {
    const Reindexer reindexer(*store_, testing_support::SearchRegistry(), fingerprint);
    std::atomic<bool> stop{false};
    int batches = 0;
    auto done = reindexer.Run(stop, full, [&](std::int64_t) {
      if (++batches == stop_after_batches) stop = true;
    });
    EXPECT_TRUE(done.ok()) << done.error().text();
    return done.ok() ? *done : -1;
  }

  testing_support::StepClock clock_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(ReindexTest, BuildsMissingRowsOnceAndAgainForOtherDefinitions) {
  for (int n = 0; n < 5; ++n) Put(n);
  Put(4, /*is_delete=*/true);
  EXPECT_TRUE(WithIdentifier(1).empty());
  EXPECT_EQ(Run("defs-1"), 4);  // the deleted one has no rows to build
  EXPECT_EQ(WithIdentifier(1), std::vector<std::string>{"p1"});
  EXPECT_TRUE(WithIdentifier(4).empty());
  EXPECT_EQ(Run("defs-1"), 0);
  EXPECT_EQ(Run("defs-1", /*full=*/true), 4);
  EXPECT_EQ(Run("defs-2"), 4);
  EXPECT_EQ(WithIdentifier(3), std::vector<std::string>{"p3"});
}

TEST_F(ReindexTest, BuildsFullTextDocumentsToo) {
  Put(7);
  EXPECT_EQ(Run("defs-1"), 1);
  auto tx = store_->Begin();
  ASSERT_TRUE(tx.ok());
  auto page = (*tx)->Search({.type = "Patient",
                             .conditions = {{.kind = store::IndexKind::kText,
                                             .param = "_content",
                                             .any = {store::TextTest{.terms = {{{"v7"}}}}}}}});
  ASSERT_TRUE(page.ok()) << page.error().text();
  ASSERT_EQ(page->entries.size(), 1u);
  EXPECT_EQ(page->entries[0].id, "p7");
}

TEST_F(ReindexTest, ResumesWhereItStopped) {
  // More than one batch of 200.
  for (int n = 0; n < 250; ++n) Put(n);
  EXPECT_EQ(Run("defs-1", false, /*stop_after_batches=*/1), 200);
  EXPECT_EQ(Run("defs-1"), 50);
  EXPECT_EQ(Run("defs-1"), 0);
  for (int n : {0, 199, 249}) EXPECT_EQ(WithIdentifier(n).size(), 1u) << n;
}

TEST(FingerprintTest, TellsDefinitionsApart) {
  EXPECT_EQ(DefinitionsFingerprint({"a", "b"}), DefinitionsFingerprint({"a", "b"}));
  EXPECT_NE(DefinitionsFingerprint({"a", "b"}), DefinitionsFingerprint({"ab"}));
  EXPECT_NE(DefinitionsFingerprint({"a"}), DefinitionsFingerprint({"b"}));
  EXPECT_EQ(DefinitionsFingerprint({}).size(), 16u);
}

}  // namespace
}  // namespace server::search
