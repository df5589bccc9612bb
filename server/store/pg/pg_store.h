// PgStore: the Store on PostgreSQL. Each Transaction holds one pooled connection for its life, so
// Begin answers store.unavailable when the pool stays exhausted for its timeout.
//
// Tables (see migrations.cc): resource_version keeps every version's exact JSON text (text, not
// jsonb, so decimals such as 1.50 and key order survive byte for byte) with a store-wide
// identity column `seq` as the history clock; resource_current holds one row per resource whose
// row lock serialises writers of that resource. Commit returns after PostgreSQL's COMMIT, which
// with synchronous_commit on (the default, never changed here) means the WAL is flushed.
//
// Under read committed, reads before the first Write run outside a transaction block (which is
// equivalent at that isolation level) and BEGIN travels with the first Write's lock in one round
// trip: a read-only transaction costs one round trip per read, a single-resource write three
// (lock, write, COMMIT).
//
// The schema must be current: call Migrate (migrations.h) before the first Begin.
// Thread-safe; the pool, clock and tenant are fixed at construction. The clock must outlive the
// store.
#ifndef SERVER_STORE_PG_PG_STORE_H_
#define SERVER_STORE_PG_PG_STORE_H_

#include <memory>
#include <string>

#include "server/store/pg/connection_pool.h"
#include "server/store/store.h"

namespace server::store::pg {

class PgStore final : public Store {
 public:
  PgStore(PoolOptions pool, const Clock& clock, std::string tenant = std::string(kDefaultTenant));

  fhir::Result<std::unique_ptr<Transaction>> Begin() override;

 private:
  ConnectionPool pool_;
  const Clock& clock_;
  const std::string tenant_;
};

}  // namespace server::store::pg

#endif  // SERVER_STORE_PG_PG_STORE_H_
