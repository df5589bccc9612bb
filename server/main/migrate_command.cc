// `fhirhub migrate`: brings the database schema up to date and exits.
//
//   fhirhub migrate [--database-url URL] [--data-dir DIR]
//     With a URL (or FHIRHUB_DATABASE_URL), migrates that PostgreSQL database. Without one,
//     migrates the embedded cluster under DIR (default var/postgres; FHIRHUB_DATA_DIR), creating
//     it on first use, and stops it again. Prints how many migrations were applied; exits 0 on
//     success, 1 when the database failed, 2 on a usage error. Safe to run while servers start:
//     migrations take an advisory lock.
#include <cstdio>
#include <string>
#include <vector>

#include "server/main/command_line.h"
#include "server/main/database.h"
#include "server/store/pg/migrations.h"

namespace server::main {

int RunMigrate(const std::vector<std::string>& args) {
  auto cl = CommandLine::Parse(args, {}, {"database-url", "data-dir"});
  if (!cl.ok()) {
    std::fprintf(stderr, "fhirhub migrate: %s\n", cl.error().text().c_str());
    return 2;
  }
  if (!cl->positional().empty()) {
    std::fprintf(stderr, "usage: fhirhub migrate [--database-url URL] [--data-dir DIR]\n");
    return 2;
  }
  auto db = OpenDatabase(*cl);
  if (!db.ok()) {
    std::fprintf(stderr, "fhirhub migrate: %s\n", db.error().text().c_str());
    return 1;
  }
  const int applied = db->migrations_applied;
  const int latest = store::pg::Migrations().back().version;
  std::printf("applied %d migration%s; schema version %d\n", applied, applied == 1 ? "" : "s",
              latest);
  if (db->cluster != nullptr) {
    if (auto stopped = db->cluster->Stop(); !stopped.ok()) {
      std::fprintf(stderr, "fhirhub migrate: %s\n", stopped.error().text().c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace server::main
