// The embedded cluster on its own directory (not the shared test cluster): first start with
// initdb, stop, restart on the existing data, and the least-privilege role.
#include "server/store/pg/embedded_cluster.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "server/store/pg/connection.h"

namespace server::store::pg {
namespace {

class EmbeddedClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/fhirhub-ec-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    options_.data_dir = dir_;
    options_.durable = false;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::filesystem::path dir_;
  EmbeddedClusterOptions options_;
};

TEST_F(EmbeddedClusterTest, StartsStopsAndRestartsOnItsData) {
  {
    auto cluster = EmbeddedCluster::Start(options_);
    ASSERT_TRUE(cluster.ok()) << cluster.error().text();
    EXPECT_TRUE(std::filesystem::exists(dir_ / "pgdata" / "PG_VERSION"));
    auto conn = PgConnection::Connect((*cluster)->ConnectionString());
    ASSERT_TRUE(conn.ok()) << conn.error().text();
    ASSERT_TRUE(
        (*conn)->ExecSimple("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('x')").ok());
    conn->reset();
    pid_t pid = (*cluster)->pid();
    ASSERT_TRUE((*cluster)->Stop().ok());
    EXPECT_EQ((*cluster)->pid(), -1);
    EXPECT_NE(kill(pid, 0), 0);
    EXPECT_FALSE(PgConnection::Connect((*cluster)->ConnectionString()).ok());
  }
  auto again = EmbeddedCluster::Start(options_);
  ASSERT_TRUE(again.ok()) << again.error().text();
  auto conn = PgConnection::Connect((*again)->ConnectionString());
  ASSERT_TRUE(conn.ok()) << conn.error().text();
  auto rows = (*conn)->ExecSimple("SELECT v FROM kept");
  ASSERT_TRUE(rows.ok()) << rows.error().text();
  ASSERT_EQ(rows->rows(), 1);
  EXPECT_EQ(rows->Get(0, 0), "x");
}

TEST_F(EmbeddedClusterTest, ListensOnAPrivateSocketOnlyAsAnUnprivilegedUser) {
  auto cluster = EmbeddedCluster::Start(options_);
  ASSERT_TRUE(cluster.ok()) << cluster.error().text();
  struct stat socket_dir {};
  ASSERT_EQ(stat((*cluster)->socket_dir().c_str(), &socket_dir), 0);
  EXPECT_EQ(socket_dir.st_mode & 0777, 0700u);
  struct stat process {};
  ASSERT_EQ(stat(("/proc/" + std::to_string((*cluster)->pid())).c_str(), &process), 0);
  EXPECT_NE(process.st_uid, 0u);
  EXPECT_EQ(process.st_uid, geteuid() == 0 ? socket_dir.st_uid : geteuid());

  auto conn = PgConnection::Connect((*cluster)->ConnectionString());
  ASSERT_TRUE(conn.ok()) << conn.error().text();
  auto settings = (*conn)->ExecSimple(
      "SELECT current_setting('listen_addresses'), rolsuper, rolcreatedb, rolcreaterole "
      "FROM pg_roles WHERE rolname = current_user");
  ASSERT_TRUE(settings.ok()) << settings.error().text();
  EXPECT_EQ(settings->Get(0, 0), "");
  EXPECT_FALSE(settings->GetBool(0, 1));
  EXPECT_FALSE(settings->GetBool(0, 2));
  EXPECT_FALSE(settings->GetBool(0, 3));
  auto owner = (*conn)->ExecSimple(
      "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()");
  ASSERT_TRUE(owner.ok());
  EXPECT_EQ(owner->Get(0, 0), "fhirhub");
}

TEST_F(EmbeddedClusterTest, AdoptsAClusterLeftRunningByAKilledOwner) {
  auto first = EmbeddedCluster::Start(options_);
  ASSERT_TRUE(first.ok()) << first.error().text();
  pid_t pid = (*first)->pid();
  auto second = EmbeddedCluster::Start(options_);
  ASSERT_TRUE(second.ok()) << second.error().text();
  EXPECT_EQ((*second)->pid(), pid);
  ASSERT_TRUE((*second)->Stop().ok());
  EXPECT_TRUE((*first)->Stop().ok());
}

TEST_F(EmbeddedClusterTest, RefusesASocketPathBeyondTheLimit) {
  options_.data_dir = dir_ / std::string(100, 'd');
  auto cluster = EmbeddedCluster::Start(options_);
  ASSERT_FALSE(cluster.ok());
  EXPECT_EQ(cluster.error().message_id(), "store.embedded-cluster");
}

}  // namespace
}  // namespace server::store::pg
