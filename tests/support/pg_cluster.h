// Test support: one throwaway embedded PostgreSQL cluster per test binary, in a temporary
// directory, started on first use and stopped and removed at exit. Each test asks for its own
// database, so tests never see each other's rows.
#ifndef TESTS_SUPPORT_PG_CLUSTER_H_
#define TESTS_SUPPORT_PG_CLUSTER_H_

#include <memory>
#include <string>

#include "server/store/pg/embedded_cluster.h"
#include "server/store/pg/pg_store.h"

namespace testing_support {

class PgTestCluster {
 public:
  // The binary's cluster, started on the first call. If it cannot start, prints why and aborts:
  // no test in the binary can run without it.
  static PgTestCluster& Get();

  // Creates an empty database owned by the server's role and returns the role's connection string
  // to it. Aborts on failure, as above.
  std::string CreateDatabase();

  // A PgStore on a new database (CreateDatabase) with the schema migrated, `connections` pooled.
  // `clock` must outlive the store.
  std::unique_ptr<server::store::pg::PgStore> NewStore(const server::store::Clock& clock,
                                                       std::size_t connections);

  server::store::pg::EmbeddedCluster& cluster() { return *cluster_; }

  ~PgTestCluster();

 private:
  PgTestCluster() = default;

  std::string dir_;
  std::unique_ptr<server::store::pg::EmbeddedCluster> cluster_;
  int databases_ = 0;
};

}  // namespace testing_support

#endif  // TESTS_SUPPORT_PG_CLUSTER_H_
