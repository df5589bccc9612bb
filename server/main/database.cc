#include "server/main/database.h"

#include <utility>

#include "server/store/pg/migrations.h"

namespace server::main {

fhir::Result<Database> OpenDatabase(const CommandLine& cl) {
  Database db;
  if (auto url = cl.GetOrEnv("database-url")) {
    db.conninfo = *url;
  } else {
    store::pg::EmbeddedClusterOptions options;
    if (auto dir = cl.GetOrEnv("data-dir")) options.data_dir = *dir;
    auto started = store::pg::EmbeddedCluster::Start(options);
    if (!started.ok()) return std::move(started).error();
    db.cluster = std::move(started).value();
    db.conninfo = db.cluster->ConnectionString();
  }
  auto applied = store::pg::Migrate(db.conninfo);
  if (!applied.ok()) return std::move(applied).error();
  db.migrations_applied = *applied;
  return db;
}

}  // namespace server::main
