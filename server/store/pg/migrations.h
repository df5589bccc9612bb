// The database schema as numbered migrations. Each migration runs once, in order, recorded in
// schema_migrations(version, name, applied_at). Migrate applies the missing ones in one
// transaction under an advisory lock, so servers starting together neither race nor half-apply:
// the second waits and then finds nothing to do. Running it again is a no-op.
#ifndef SERVER_STORE_PG_MIGRATIONS_H_
#define SERVER_STORE_PG_MIGRATIONS_H_

#include <span>
#include <string_view>

#include "fhir/result.h"
#include "server/store/pg/connection.h"

namespace server::store::pg {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// Every migration, in version order.
std::span<const Migration> Migrations();

// Brings the schema up to date on `conn` (which must not be inside a transaction); returns how many
// migrations it applied. Errors as for PgConnection; on error nothing is applied.
fhir::Result<int> Migrate(PgConnection& conn);

// The same, on a new connection to `conninfo`.
fhir::Result<int> Migrate(const std::string& conninfo);

}  // namespace server::store::pg

#endif  // SERVER_STORE_PG_MIGRATIONS_H_
