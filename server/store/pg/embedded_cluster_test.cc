// The embedded cluster on its own directory (not the shared test cluster): first start with
// initdb, stop, restart on the existing data, the least-privilege role, and starting again after
// the previous owner or its PostgreSQL was killed.
#include "server/store/pg/embedded_cluster.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>

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

  // A cluster with a committed row in table `kept`, stopped.
  void WriteKeptRow() {
    auto cluster = EmbeddedCluster::Start(options_);
    ASSERT_TRUE(cluster.ok()) << cluster.error().text();
    auto conn = PgConnection::Connect((*cluster)->ConnectionString());
    ASSERT_TRUE(conn.ok()) << conn.error().text();
    ASSERT_TRUE(
        (*conn)->ExecSimple("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('x')").ok());
    conn->reset();
    ASSERT_TRUE((*cluster)->Stop().ok());
  }

  static void ExpectKeptRow(const EmbeddedCluster& cluster) {
    auto conn = PgConnection::Connect(cluster.ConnectionString());
    ASSERT_TRUE(conn.ok()) << conn.error().text();
    auto rows = (*conn)->ExecSimple("SELECT v FROM kept");
    ASSERT_TRUE(rows.ok()) << rows.error().text();
    ASSERT_EQ(rows->rows(), 1);
    EXPECT_EQ(rows->Get(0, 0), "x");
  }

  pid_t LockFilePid() const {
    std::ifstream in(dir_ / "pgdata" / "postmaster.pid");
    pid_t pid = -1;
    in >> pid;
    return pid;
  }

  // Alive and not a zombie.
  static bool Running(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t end = stat.rfind(')');
    return end != std::string::npos && end + 2 < stat.size() && stat[end + 2] != 'Z';
  }

  static pid_t ParentPid(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream fields(stat.substr(stat.rfind(')') + 1));
    char state = 0;
    pid_t parent = -1;
    fields >> state >> parent;
    return parent;
  }

  // The newest /usr/lib/postgresql/<major>/bin, as the cluster picks it.
  static std::string PgBinDir() {
    std::filesystem::path best;
    int best_major = -1;
    for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql")) {
      int major = std::atoi(entry.path().filename().c_str());
      if (major > best_major) {
        best_major = major;
        best = entry.path() / "bin";
      }
    }
    return best.string();
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

TEST_F(EmbeddedClusterTest, RefusesADirectoryWhosePostgresAnotherServerRuns) {
  auto first = EmbeddedCluster::Start(options_);
  ASSERT_TRUE(first.ok()) << first.error().text();
  auto second = EmbeddedCluster::Start(options_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().message_id(), "store.embedded-cluster");
  EXPECT_NE(second.error().text().find("in use"), std::string::npos) << second.error().text();
  EXPECT_TRUE(Running((*first)->pid()));
  EXPECT_TRUE(PgConnection::Connect((*first)->ConnectionString()).ok());
}

TEST_F(EmbeddedClusterTest, StopsAPostgresLeftRunningOnItsDirectory) {
  WriteKeptRow();
  // pg_ctl daemonizes the postmaster, so it runs with no owner, as after its owner was killed
  // and before it could stop.
  std::string command =
      PgBinDir() + "/pg_ctl -D " + (dir_ / "pgdata").string() + " -l " +
      (dir_ / "postgres.log").string() +
      " -w -s -o '-c listen_addresses= -c unix_socket_directories=" + (dir_ / "socket").string() +
      "' start";
  if (geteuid() == 0) command = "runuser -u " + options_.system_user + " -- " + command;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const pid_t left = LockFilePid();
  ASSERT_TRUE(Running(left));
  ASSERT_NE(ParentPid(left), getpid());

  auto cluster = EmbeddedCluster::Start(options_);
  ASSERT_TRUE(cluster.ok()) << cluster.error().text();
  EXPECT_NE((*cluster)->pid(), left);
  EXPECT_FALSE(Running(left));
  ExpectKeptRow(**cluster);
}

TEST_F(EmbeddedClusterTest, RecoversAfterItsPostgresWasKilledOutright) {
  auto first = EmbeddedCluster::Start(options_);
  ASSERT_TRUE(first.ok()) << first.error().text();
  auto conn = PgConnection::Connect((*first)->ConnectionString());
  ASSERT_TRUE(conn.ok()) << conn.error().text();
  ASSERT_TRUE(
      (*conn)->ExecSimple("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('x')").ok());
  ASSERT_TRUE((*conn)->ExecSimple("BEGIN; INSERT INTO kept VALUES ('uncommitted')").ok());
  // Only the postmaster: its other processes (the open session's among them) linger until they
  // notice. Not reaped, it stays a zombie whose id the lock file still names, as when the
  // process that inherits orphans does not reap them.
  const pid_t killed = (*first)->pid();
  ASSERT_EQ(kill(killed, SIGKILL), 0);
  siginfo_t info{};
  ASSERT_EQ(waitid(P_PID, static_cast<id_t>(killed), &info, WEXITED | WNOWAIT), 0);
  ASSERT_EQ(LockFilePid(), killed);

  auto second = EmbeddedCluster::Start(options_);
  ASSERT_TRUE(second.ok()) << second.error().text();
  ExpectKeptRow(**second);
  EXPECT_TRUE((*first)->Stop().ok());
}

TEST_F(EmbeddedClusterTest, RemovesALockFileNamingAnotherProcess) {
  WriteKeptRow();
  // A machine restart reuses process ids: the stale lock file names a live process that is not
  // PostgreSQL, and PostgreSQL would take it for a running server.
  {
    std::ofstream lock(dir_ / "pgdata" / "postmaster.pid");
    lock << "1\n" << (dir_ / "pgdata").string() << "\n";
    std::ofstream socket_lock(dir_ / "socket" / ".s.PGSQL.5432.lock");
    socket_lock << "1\n" << (dir_ / "pgdata").string() << "\n";
  }
  auto cluster = EmbeddedCluster::Start(options_);
  ASSERT_TRUE(cluster.ok()) << cluster.error().text();
  ExpectKeptRow(**cluster);
}

TEST_F(EmbeddedClusterTest, PostgresShutsDownWhenItsOwnerIsKilled) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t owner = fork();
  ASSERT_GE(owner, 0);
  if (owner == 0) {
    close(ready[0]);
    auto cluster = EmbeddedCluster::Start(options_);
    pid_t pid = cluster.ok() ? (*cluster)->pid() : -1;
    if (write(ready[1], &pid, sizeof pid) != sizeof pid) _exit(1);
    for (;;) pause();
  }
  close(ready[1]);
  pid_t postmaster = -1;
  ASSERT_EQ(read(ready[0], &postmaster, sizeof postmaster),
            static_cast<ssize_t>(sizeof postmaster));
  close(ready[0]);
  ASSERT_EQ(kill(owner, SIGKILL), 0);
  ASSERT_EQ(waitpid(owner, nullptr, 0), owner);
  ASSERT_GT(postmaster, 0);

  // Nobody else signals it: it stops on the signal its owner's death sends.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (Running(postmaster) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (Running(postmaster)) {
    kill(postmaster, SIGQUIT);
    FAIL() << "postgres outlived its owner";
  }
  std::ifstream log(dir_ / "postgres.log");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("received fast shutdown request"), std::string::npos);

  auto cluster = EmbeddedCluster::Start(options_);
  ASSERT_TRUE(cluster.ok()) << cluster.error().text();
}

TEST_F(EmbeddedClusterTest, RefusesASocketPathBeyondTheLimit) {
  options_.data_dir = dir_ / std::string(100, 'd');
  auto cluster = EmbeddedCluster::Start(options_);
  ASSERT_FALSE(cluster.ok());
  EXPECT_EQ(cluster.error().message_id(), "store.embedded-cluster");
}

}  // namespace
}  // namespace server::store::pg
