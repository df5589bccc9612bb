// The PostgreSQL database a command works on: the server given by --database-url (or
// FHIRHUB_DATABASE_URL), or else the embedded cluster under --data-dir (or FHIRHUB_DATA_DIR,
// default var/postgres), started (and created on first use) here. The schema is brought up to
// date before it is handed out; in the embedded cluster the audit tables are then handed to
// their own role (store::pg::SealAuditTables), leaving the server's role SELECT and INSERT.
#ifndef SERVER_MAIN_DATABASE_H_
#define SERVER_MAIN_DATABASE_H_

#include <memory>
#include <string>

#include "fhir/result.h"
#include "server/main/command_line.h"
#include "server/store/pg/embedded_cluster.h"

namespace server::main {

struct Database {
  std::unique_ptr<store::pg::EmbeddedCluster> cluster;  // null for an external server
  std::string conninfo;                                 // libpq connection string
  int migrations_applied = 0;
};

// Options read from `cl`: "database-url", "data-dir". Must be called from the main thread (the
// embedded cluster is tied to the thread that starts it).
fhir::Result<Database> OpenDatabase(const CommandLine& cl);

// The same for a tool that may run beside a server: without --database-url, the embedded
// cluster of the running server that uses --data-dir (through its socket), else as OpenDatabase.
fhir::Result<Database> OpenDatabaseBesideServer(const CommandLine& cl);

// Stops the embedded cluster, if any, as a command ends with exit code `code`. Failing to stop
// matters only when all else went well: then `fail` reports the error and gives the exit code.
int CloseDatabase(Database& db, int code, int (*fail)(const std::string& text));

}  // namespace server::main

#endif  // SERVER_MAIN_DATABASE_H_
