// server::store::ConnectorLog: what the connectors remember besides FHIR data.
//
// The acknowledgement cache: for each (connector, sender, control id) the acknowledgement the
// connector answered after the message's data was committed, so that a message sent again (the
// sender missed the answer, or its operator resends a day's batch) gets the same answer and is
// not processed twice. The first acknowledgement recorded for a key wins.
//
// The dead letters: messages a connector could not process (unparseable, unmappable, refused by
// the pipeline), kept with their raw bytes and the reasons, for an operator to list and, after a
// fix, to replay. A message that fails again while its dead letter is still open updates that
// dead letter (reasons, attempts) rather than adding another.
//
// Raw messages hold patient data: the log keeps them in the database only, never in logs.
//
// Errors (fhir::Error, stable message ids):
//   connectors.invalid-query  400  a DeadLetterQuery with a count outside 1..1000
//   connectors.no-dead-letter 404  MarkReplayed of an id that does not exist
//   store.unavailable         503  no connection within the pool timeout, or the database is down
//   store.sql-error           500  anything else the database reported
//
// Thread-safety: a ConnectorLog is thread-safe.
#ifndef SERVER_STORE_CONNECTOR_LOG_H_
#define SERVER_STORE_CONNECTOR_LOG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fhir/result.h"
#include "server/store/index_entries.h"

namespace server::store {

// Identifies one message of one sender to one connector.
struct MessageKey {
  std::string connector;   // "mllp"
  std::string sender;      // the connector's name for the sender, e.g. "LAB^HOSP" (MSH-3^MSH-4)
  std::string control_id;  // the sender's id of the message (MSH-10)
};

enum class DeadLetterStatus { kOpen, kReplayed };

struct DeadLetter {
  std::int64_t id = 0;  // assigned by the log
  std::string connector;
  std::string sender;      // may be empty when the message could not be parsed
  std::string control_id;  // may be empty likewise
  Timestamp received;      // the first failure
  Timestamp last_attempt;  // the latest failure
  int attempts = 1;
  std::string raw;  // the message as received, byte for byte
  std::vector<std::string> reasons;
  DeadLetterStatus status = DeadLetterStatus::kOpen;
  std::optional<Timestamp> replayed_at;
};

struct DeadLetterQuery {
  std::optional<std::string> connector;
  std::optional<DeadLetterStatus> status;
  std::optional<std::int64_t> id;
  std::optional<std::int64_t> after_id;  // keyset cursor: ids greater than this
  int count = 100;                       // 1..1000
};

class ConnectorLog {
 public:
  virtual ~ConnectorLog() = default;

  // The acknowledgement recorded for `key`, or nullopt.
  virtual fhir::Result<std::optional<std::string>> FindAck(const MessageKey& key) = 0;
  // Records `ack` for `key` unless one is recorded already; returns the recorded one (`ack`, or
  // the earlier one that won), durable when this returns.
  virtual fhir::Result<std::string> RecordAck(const MessageKey& key, const std::string& ack,
                                              Timestamp at) = 0;
  // Keeps a failed message: a new open dead letter, or the open one of the same connector with
  // the same raw bytes, updated (reasons, last_attempt, attempts + 1). Returns its id.
  virtual fhir::Result<std::int64_t> AddDeadLetter(const DeadLetter& letter) = 0;
  // Dead letters matching `query`, in id order.
  virtual fhir::Result<std::vector<DeadLetter>> DeadLetters(const DeadLetterQuery& query) = 0;
  // Marks a dead letter replayed at `at` (after its message was processed successfully).
  virtual fhir::Result<void> MarkReplayed(std::int64_t id, Timestamp at) = 0;
};

}  // namespace server::store

#endif  // SERVER_STORE_CONNECTOR_LOG_H_
