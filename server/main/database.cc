#include "server/main/database.h"

#include <utility>

#include "server/store/pg/connection.h"
#include "server/store/pg/migrations.h"
#include "server/store/pg/pg_audit_log.h"

namespace server::main {

fhir::Result<Database> OpenDatabase(const CommandLine& cl) {
  Database db;
  store::pg::EmbeddedClusterOptions options;
  if (auto url = cl.GetOrEnv("database-url")) {
    db.conninfo = *url;
  } else {
    if (auto dir = cl.GetOrEnv("data-dir")) options.data_dir = *dir;
    auto started = store::pg::EmbeddedCluster::Start(options);
    if (!started.ok()) return std::move(started).error();
    db.cluster = std::move(started).value();
    db.conninfo = db.cluster->ConnectionString();
  }
  auto applied = store::pg::Migrate(db.conninfo);
  if (!applied.ok()) return std::move(applied).error();
  db.migrations_applied = *applied;
  if (db.cluster != nullptr) {
    // The audit tables belong to a role of their own; the server's role may only read and
    // append (pg_audit_log.h). An external database's operator does the same (docs/storage.md).
    auto superuser =
        store::pg::PgConnection::Connect(db.cluster->SuperuserConnectionString(options.database));
    if (!superuser.ok()) return std::move(superuser).error();
    if (auto sealed = store::pg::SealAuditTables(**superuser, options.role); !sealed.ok()) {
      return std::move(sealed).error();
    }
  }
  return db;
}

fhir::Result<Database> OpenDatabaseBesideServer(const CommandLine& cl) {
  if (!cl.GetOrEnv("database-url")) {
    store::pg::EmbeddedClusterOptions options;
    if (auto dir = cl.GetOrEnv("data-dir")) options.data_dir = *dir;
    Database db;
    db.conninfo = store::pg::EmbeddedCluster::ConnectionStringOf(options);
    // A running server has migrated its database; connecting is the test that one runs.
    if (store::pg::PgConnection::Connect(db.conninfo).ok()) return db;
  }
  return OpenDatabase(cl);
}

int CloseDatabase(Database& db, int code, int (*fail)(const std::string& text)) {
  if (db.cluster != nullptr) {
    if (auto stopped = db.cluster->Stop(); !stopped.ok() && code == 0) {
      return fail(stopped.error().text());
    }
  }
  return code;
}

}  // namespace server::main
