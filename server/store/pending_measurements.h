// PendingMeasurements: station measurements whose resident is not (yet) known as a Patient. The
// station feed (connectors/device_feed) keeps them here until a Patient with the resident's
// identifier exists or an operator resolves or discards them; then they leave the queue.
//
// A measurement is named by its station and the vendor's measurement id: adding one already
// pending changes nothing, so a retried batch never queues a measurement twice. Every method is
// thread-safe and may be called by several servers on one database; Remove tells who took an
// entry, so exactly one of two concurrent takers goes on to write it.
#ifndef SERVER_STORE_PENDING_MEASUREMENTS_H_
#define SERVER_STORE_PENDING_MEASUREMENTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fhir/result.h"
#include "server/store/index_entries.h"

namespace server::store {

struct PendingMeasurement {
  std::int64_t id = 0;  // assigned by the queue
  std::string station;
  std::string measurement_id;
  // The resident's identifier as the station sent it.
  std::string resident_system;
  std::string resident_value;
  // Why it waits: "unknown-resident" (no Patient has the identifier) or "ambiguous-resident"
  // (several have it).
  std::string reason;
  // The measurement in the vendor format, as a batch of one (mappings/station maps it again).
  std::string source;
  Timestamp received{};  // assigned by the queue
};

class PendingMeasurements {
 public:
  virtual ~PendingMeasurements() = default;

  // Queues `measurement` (its id and received time are ignored) and returns its queue id; when
  // its station and measurement id are already pending, nothing changes and the id is theirs.
  virtual fhir::Result<std::int64_t> Add(const PendingMeasurement& measurement) = 0;
  // Up to `limit` (1 to 1000) pending measurements with ids above `after_id`, in id order.
  virtual fhir::Result<std::vector<PendingMeasurement>> List(std::int64_t after_id, int limit) = 0;
  // The pending measurement `id`, or nullopt when there is none.
  virtual fhir::Result<std::optional<PendingMeasurement>> Get(std::int64_t id) = 0;
  // Takes `id` off the queue; false when it was not there (already taken).
  virtual fhir::Result<bool> Remove(std::int64_t id) = 0;
};

}  // namespace server::store

#endif  // SERVER_STORE_PENDING_MEASUREMENTS_H_
