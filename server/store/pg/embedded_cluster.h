// EmbeddedCluster: a private PostgreSQL cluster that the server creates, starts and stops itself,
// for `fhirhub serve` without --database-url and for tests.
//
// Layout under `data_dir`: pgdata/ (the cluster, made by initdb on the first start), socket/ (the
// unix socket; no TCP listener is opened) and postgres.log (the server's output). Start runs
// initdb when pgdata/ is missing, starts `postgres` as a child process, waits until it accepts
// connections, and makes sure the database and role of the options exist: `role` is a login role
// without superuser, createdb or createrole rights that owns `database`, so the server needs no
// superuser. Local connections are trusted; the socket directory (mode 0700, owned by the
// cluster's user) is the access control.
//
// Run as root, the cluster runs as `system_user` (PostgreSQL refuses root): data_dir and its
// subdirectories are given to that user, and its parent directories must be searchable by it.
//
// Crashes: postgres is started directly as a child, in its own process group, and asked for a
// fast shutdown (SIGINT) when the thread that called Start ends, so call Start from a thread
// that lives as long as the server (the main thread). If the previous owner of the directory died
// without stopping its cluster, Start first clears what is left: a postmaster still running there
// gets a fast shutdown (unless its parent is a live process of this same program, i.e. another
// server uses the directory: then Start fails), processes of a postmaster that was killed
// outright are ended, and a lock file naming a live process that is not that cluster is removed.
// PostgreSQL then recovers from its WAL: committed transactions are kept, uncommitted ones gone.
//
// Errors: store.embedded-cluster (500) naming the step that failed and, for postgres itself, the
// last lines of postgres.log. Not thread-safe; the object stops the cluster when destroyed.
#ifndef SERVER_STORE_PG_EMBEDDED_CLUSTER_H_
#define SERVER_STORE_PG_EMBEDDED_CLUSTER_H_

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "fhir/result.h"

namespace server::store::pg {

struct EmbeddedClusterOptions {
  std::filesystem::path data_dir = "var/postgres";
  std::string database = "fhirhub";  // names: lower-case letters, digits and '_'
  std::string role = "fhirhub";
  // Where initdb and postgres are; empty picks the newest /usr/lib/postgresql/<major>/bin.
  std::filesystem::path bin_dir;
  std::string system_user = "postgres";  // used only when running as root
  // False turns off fsync (and initdb's sync): faster, but a crash of the machine may lose the
  // cluster. Only for throwaway test clusters.
  bool durable = true;
  std::chrono::seconds start_timeout{60};
};

class EmbeddedCluster {
 public:
  static fhir::Result<std::unique_ptr<EmbeddedCluster>> Start(EmbeddedClusterOptions options);
  ~EmbeddedCluster();
  EmbeddedCluster(const EmbeddedCluster&) = delete;
  EmbeddedCluster& operator=(const EmbeddedCluster&) = delete;

  // Fast shutdown (SIGINT: active sessions are rolled back, committed data is kept) and wait.
  // Idempotent.
  fhir::Result<void> Stop();

  // libpq connection string for the server's role, to `database` (default: the options').
  std::string ConnectionString(std::string_view database = {}) const;
  // The connection string ConnectionString gives for a cluster of `options` started by another
  // process (a running server), for tools that work beside it without starting their own.
  static std::string ConnectionStringOf(const EmbeddedClusterOptions& options);
  // libpq connection string for the cluster's superuser, for administration and tests.
  std::string SuperuserConnectionString(std::string_view database = "postgres") const;
  const std::filesystem::path& socket_dir() const { return socket_dir_; }
  // The postmaster's process id, or -1 once stopped.
  pid_t pid() const { return pid_; }

 private:
  explicit EmbeddedCluster(EmbeddedClusterOptions options);
  fhir::Result<void> Launch();
  fhir::Result<void> WaitUntilReady();
  fhir::Result<void> EnsureDatabase();

  EmbeddedClusterOptions options_;
  std::filesystem::path pgdata_;
  std::filesystem::path socket_dir_;
  std::filesystem::path log_;
  pid_t pid_ = -1;  // our child
};

}  // namespace server::store::pg

#endif  // SERVER_STORE_PG_EMBEDDED_CLUSTER_H_
