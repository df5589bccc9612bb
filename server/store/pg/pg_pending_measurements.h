// PgPendingMeasurements: the station feed's pending queue in the table station_pending
// (migration 7, migrations.cc), unique by (tenant, station, measurement_id). The schema must be
// current (Migrate) before use. Thread-safe.
#ifndef SERVER_STORE_PG_PG_PENDING_MEASUREMENTS_H_
#define SERVER_STORE_PG_PG_PENDING_MEASUREMENTS_H_

#include <string>

#include "server/store/pending_measurements.h"
#include "server/store/pg/connection_pool.h"
#include "server/store/store.h"

namespace server::store::pg {

class PgPendingMeasurements final : public PendingMeasurements {
 public:
  explicit PgPendingMeasurements(PoolOptions pool,
                                 std::string tenant = std::string(kDefaultTenant));

  fhir::Result<std::int64_t> Add(const PendingMeasurement& measurement) override;
  fhir::Result<std::vector<PendingMeasurement>> List(std::int64_t after_id, int limit) override;
  fhir::Result<std::optional<PendingMeasurement>> Get(std::int64_t id) override;
  fhir::Result<bool> Remove(std::int64_t id) override;

 private:
  ConnectionPool pool_;
  const std::string tenant_;
};

}  // namespace server::store::pg

#endif  // SERVER_STORE_PG_PG_PENDING_MEASUREMENTS_H_
