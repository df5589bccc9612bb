// PgConnectorLog: the ConnectorLog on PostgreSQL (migration 6, "connectors", in migrations.cc):
// connector_ack holds the acknowledgement cache, keyed by (tenant, connector, sender, control
// id); connector_dead_letter the dead letters. Each call is one statement in a transaction of its
// own, durable when it returns. Raw messages and acknowledgements are stored as bytea, exactly as
// given.
//
// The schema must be current (Migrate) before use. Thread-safe.
#ifndef SERVER_STORE_PG_PG_CONNECTOR_LOG_H_
#define SERVER_STORE_PG_PG_CONNECTOR_LOG_H_

#include <string>

#include "fhir/result.h"
#include "server/store/connector_log.h"
#include "server/store/pg/connection_pool.h"
#include "server/store/store.h"

namespace server::store::pg {

struct PgConnectorLogOptions {
  PoolOptions pool;
  std::string tenant = std::string(kDefaultTenant);
};

class PgConnectorLog final : public ConnectorLog {
 public:
  explicit PgConnectorLog(PgConnectorLogOptions options);

  fhir::Result<std::optional<std::string>> FindAck(const MessageKey& key) override;
  fhir::Result<std::string> RecordAck(const MessageKey& key, const std::string& ack,
                                      Timestamp at) override;
  fhir::Result<std::int64_t> AddDeadLetter(const DeadLetter& letter) override;
  fhir::Result<std::vector<DeadLetter>> DeadLetters(const DeadLetterQuery& query) override;
  fhir::Result<void> MarkReplayed(std::int64_t id, Timestamp at) override;

 private:
  ConnectionPool pool_;
  const std::string tenant_;
};

}  // namespace server::store::pg

#endif  // SERVER_STORE_PG_PG_CONNECTOR_LOG_H_
