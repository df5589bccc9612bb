// `fhirhub reindex`: brings the search index up to date with the search parameter definitions
// and exits.
//
//   fhirhub reindex [--full] [--database-url URL] [--data-dir DIR] [--fhir-package P]
//                   [--profiles DIR]
//     The definitions are those a server started with the same options uses: the package's, the
//     profiles directory's and the active SearchParameter resources stored in the database.
//     Rebuilds the rows of every current resource whose index was built with other definitions,
//     resuming an interrupted rebuild; with --full, every resource's. Runs beside a server using
//     the same external database (writers of a batch's resources wait for it briefly); an
//     embedded cluster belongs to one process at a time, so stop its server first (a server
//     rebuilds by itself at start anyway). Prints how many resources were reindexed; exits 0 on
//     success, 1 when the database or the definitions failed, 2 on a usage error.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "server/main/command_line.h"
#include "server/main/database.h"
#include "server/main/fhir_package.h"
#include "server/main/search_definitions.h"
#include "server/search/reindex.h"
#include "server/store/pg/pg_store.h"

namespace server::main {

int RunReindex(const std::vector<std::string>& args) {
  auto cl =
      CommandLine::Parse(args, {"full"}, {"database-url", "data-dir", "fhir-package", "profiles"});
  if (!cl.ok()) {
    std::fprintf(stderr, "fhirhub reindex: %s\n", cl.error().text().c_str());
    return 2;
  }
  if (!cl->positional().empty()) {
    std::fprintf(stderr,
                 "usage: fhirhub reindex [--full] [--database-url URL] [--data-dir DIR] "
                 "[--fhir-package P] [--profiles DIR]\n");
    return 2;
  }
  auto defs = LoadDefinitions(cl->GetOrEnv("fhir-package"));
  if (!defs.ok()) {
    std::fprintf(stderr, "fhirhub reindex: %s\n", defs.error().text().c_str());
    return 1;
  }
  std::optional<std::filesystem::path> profiles;
  if (auto dir = cl->GetOrEnv("profiles")) profiles = *dir;
  auto definitions = SearchDefinitions::Load(cl->GetOrEnv("fhir-package"), profiles, **defs);
  if (!definitions.ok()) {
    std::fprintf(stderr, "fhirhub reindex: %s\n", definitions.error().text().c_str());
    return 1;
  }
  auto db = OpenDatabase(*cl);
  if (!db.ok()) {
    std::fprintf(stderr, "fhirhub reindex: %s\n", db.error().text().c_str());
    return 1;
  }
  // The store (and its connections) is gone before the embedded cluster stops.
  const int status = [&] {
    const store::SystemClock clock{};
    store::pg::PgStore pg_store(store::pg::PoolOptions{.conninfo = db->conninfo}, clock);
    auto stored = SearchDefinitions::ReadStored(pg_store);
    if (!stored.ok()) {
      std::fprintf(stderr, "fhirhub reindex: %s\n", stored.error().text().c_str());
      return 1;
    }
    auto built = (*definitions)->Build(std::move(stored).value());
    if (!built.ok()) {
      std::fprintf(stderr, "fhirhub reindex: %s\n", built.error().text().c_str());
      return 1;
    }
    const search::Reindexer reindexer(pg_store, *built->registry, built->fingerprint);
    const std::atomic<bool> never{false};
    auto done = reindexer.Run(never, cl->Has("full"), [](std::int64_t count) {
      std::fprintf(stderr, "fhirhub reindex: %lld resources\n", static_cast<long long>(count));
    });
    if (!done.ok()) {
      std::fprintf(stderr, "fhirhub reindex: %s\n", done.error().text().c_str());
      return 1;
    }
    std::printf("reindexed %lld resource%s\n", static_cast<long long>(*done),
                *done == 1 ? "" : "s");
    return 0;
  }();
  if (db->cluster != nullptr) {
    if (auto stopped = db->cluster->Stop(); !stopped.ok()) {
      std::fprintf(stderr, "fhirhub reindex: %s\n", stopped.error().text().c_str());
      return 1;
    }
  }
  return status;
}

}  // namespace server::main
