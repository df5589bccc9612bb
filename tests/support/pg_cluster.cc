#include "tests/support/pg_cluster.h"

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "server/store/pg/connection.h"
#include "server/store/pg/migrations.h"

namespace testing_support {
namespace {

[[noreturn]] void Die(const std::string& what, const fhir::Error& error) {
  std::fprintf(stderr, "pg test cluster: %s: %s\n", what.c_str(), error.text().c_str());
  std::abort();
}

}  // namespace

PgTestCluster& PgTestCluster::Get() {
  // Destroyed at exit, which stops the cluster and removes its directory.
  static std::unique_ptr<PgTestCluster> instance = [] {
    std::unique_ptr<PgTestCluster> cluster(new PgTestCluster());
    // Short, under /tmp: the socket path must stay within 107 bytes.
    char dir[] = "/tmp/fhirhub-pg-XXXXXX";
    if (mkdtemp(dir) == nullptr) {
      std::perror("pg test cluster: mkdtemp");
      std::abort();
    }
    cluster->dir_ = dir;
    server::store::pg::EmbeddedClusterOptions options;
    options.data_dir = cluster->dir_;
    options.durable = false;
    auto started = server::store::pg::EmbeddedCluster::Start(options);
    if (!started.ok()) Die("start", started.error());
    cluster->cluster_ = std::move(started).value();
    return cluster;
  }();
  return *instance;
}

PgTestCluster::~PgTestCluster() {
  cluster_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string PgTestCluster::CreateDatabase() {
  std::string name = "test_" + std::to_string(++databases_);
  auto conn = server::store::pg::PgConnection::Connect(cluster_->SuperuserConnectionString());
  if (!conn.ok()) Die("connect", conn.error());
  // template0 copies fastest and carries nothing an earlier test may have left in template1.
  auto created =
      (*conn)->ExecSimple("CREATE DATABASE " + name + " OWNER fhirhub TEMPLATE template0");
  if (!created.ok()) Die("create database", created.error());
  return cluster_->ConnectionString(name);
}

std::unique_ptr<server::store::pg::PgStore> PgTestCluster::NewStore(
    const server::store::Clock& clock, std::size_t connections) {
  std::string conninfo = CreateDatabase();
  if (auto migrated = server::store::pg::Migrate(conninfo); !migrated.ok()) {
    Die("migrating a test database", migrated.error());
  }
  return std::make_unique<server::store::pg::PgStore>(
      server::store::pg::PoolOptions{conninfo, connections, std::chrono::milliseconds(5000)},
      clock);
}

}  // namespace testing_support
