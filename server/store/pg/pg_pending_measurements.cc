#include "server/store/pg/pg_pending_measurements.h"

#include <chrono>
#include <utility>

namespace server::store::pg {
namespace {

constexpr const char* kColumns =
    "id, station, measurement_id, resident_system, resident_value, reason, source, "
    "(extract(epoch FROM received) * 1000000)::bigint";

PendingMeasurement ReadRow(const PgResult& result, int row) {
  PendingMeasurement m;
  m.id = result.GetInt(row, 0);
  m.station = std::string(result.Get(row, 1));
  m.measurement_id = std::string(result.Get(row, 2));
  m.resident_system = std::string(result.Get(row, 3));
  m.resident_value = std::string(result.Get(row, 4));
  m.reason = std::string(result.Get(row, 5));
  m.source = std::string(result.Get(row, 6));
  m.received = Timestamp(std::chrono::microseconds(result.GetInt(row, 7)));
  return m;
}

}  // namespace

PgPendingMeasurements::PgPendingMeasurements(PoolOptions pool, std::string tenant)
    : pool_(std::move(pool)), tenant_(std::move(tenant)) {}

fhir::Result<std::int64_t> PgPendingMeasurements::Add(const PendingMeasurement& m) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return std::move(conn).error();
  auto inserted = (*conn)->Exec(
      "pending_add",
      "INSERT INTO station_pending (tenant, station, measurement_id, resident_system, "
      "resident_value, reason, source) VALUES ($1, $2, $3, $4, $5, $6, $7) "
      "ON CONFLICT (tenant, station, measurement_id) DO NOTHING RETURNING id",
      {tenant_, m.station, m.measurement_id, m.resident_system, m.resident_value, m.reason,
       m.source});
  if (!inserted.ok()) return std::move(inserted).error();
  if (inserted->rows() == 1) return inserted->GetInt(0, 0);
  // Already pending (a retried batch); an entry taken off meanwhile is queued again.
  auto existing = (*conn)->Exec(
      "pending_find",
      "SELECT id FROM station_pending WHERE tenant = $1 AND station = $2 AND measurement_id = $3",
      {tenant_, m.station, m.measurement_id});
  if (!existing.ok()) return std::move(existing).error();
  if (existing->rows() == 1) return existing->GetInt(0, 0);
  return Add(m);
}

fhir::Result<std::vector<PendingMeasurement>> PgPendingMeasurements::List(std::int64_t after_id,
                                                                          int limit) {
  if (limit < 1 || limit > 1000) {
    return fhir::Error::Invalid("station.invalid-query",
                                "a page of pending measurements holds 1 to 1000");
  }
  auto conn = pool_.Acquire();
  if (!conn.ok()) return std::move(conn).error();
  auto rows = (*conn)->Exec("pending_list",
                            std::string("SELECT ") + kColumns +
                                " FROM station_pending WHERE tenant = $1 AND id > $2 "
                                "ORDER BY id LIMIT $3",
                            {tenant_, std::to_string(after_id), std::to_string(limit)});
  if (!rows.ok()) return std::move(rows).error();
  std::vector<PendingMeasurement> out;
  out.reserve(rows->rows());
  for (int row = 0; row < rows->rows(); ++row) out.push_back(ReadRow(*rows, row));
  return out;
}

fhir::Result<std::optional<PendingMeasurement>> PgPendingMeasurements::Get(std::int64_t id) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return std::move(conn).error();
  auto rows = (*conn)->Exec(
      "pending_get",
      std::string("SELECT ") + kColumns + " FROM station_pending WHERE tenant = $1 AND id = $2",
      {tenant_, std::to_string(id)});
  if (!rows.ok()) return std::move(rows).error();
  if (rows->rows() == 0) return std::optional<PendingMeasurement>();
  return std::optional<PendingMeasurement>(ReadRow(*rows, 0));
}

fhir::Result<bool> PgPendingMeasurements::Remove(std::int64_t id) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return std::move(conn).error();
  auto deleted =
      (*conn)->Exec("pending_remove", "DELETE FROM station_pending WHERE tenant = $1 AND id = $2",
                    {tenant_, std::to_string(id)});
  if (!deleted.ok()) return std::move(deleted).error();
  return deleted->command_tag() == "DELETE 1";
}

}  // namespace server::store::pg
