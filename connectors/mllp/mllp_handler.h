// MllpHandler: what the MLLP listener does with each message, answering in HL7 original mode.
//
//   parse -> acknowledgement cache -> map -> FhirSink (one transaction, committed) -> record the
//   acknowledgement -> answer
//
// Answers:
//   AA  the message's data is committed. The acknowledgement is recorded under (sender, MSH-10)
//       first, and a copy of the message sent again later gets that same acknowledgement without
//       being processed again. sender = MSH-3 "^" MSH-4 as received.
//   AE  the message cannot be processed as it is: it does not parse, lacks MSH-10, cannot be
//       mapped, or the pipeline refused its data (4xx: invalid, forbidden). The message goes to
//       the dead letters with the reasons; ERR segments name each fault's location: ERR-2 the
//       HL7 position, for a refusal of the pipeline that of the Bundle entry it concerns (the
//       mapping's entry_sources), ERR-8 the FHIRPath location too. Not cached: the same message
//       sent again after a fix of the mapping is processed anew.
//   AE  a transient failure (the database is unavailable, a write conflict, 5xx): neither cached
//       nor dead-lettered, so the sender's retry succeeds once the cause is gone.
//   AR  the message is refused whatever its content: a processing id (MSH-11) not accepted, a
//       message type the mapper does not support, a frame larger than the limit or cut short.
//       Dead-lettered too.
//
// Data from one message gets deterministic ids and conditional creates from the mapper, so a copy
// that misses the cache (its first acknowledgement was never recorded) still writes nothing twice.
// Nothing of a message's content is logged: log lines name the control id, the sender and the
// error's message id.
//
// Thread-safe.
#ifndef CONNECTORS_MLLP_MLLP_HANDLER_H_
#define CONNECTORS_MLLP_MLLP_HANDLER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "connectors/fhir_sink.h"
#include "connectors/mllp/mllp_listener.h"
#include "fhir/model/definitions.h"
#include "mappings/hl7v2/ack.h"
#include "mappings/hl7v2/er7.h"
#include "mappings/hl7v2/mapper.h"
#include "server/store/connector_log.h"
#include "server/store/store.h"

namespace connectors::mllp {

struct HandlerOptions {
  // The SMART scopes the connector acts with (at most its role's ceiling, system/*.cruds).
  std::string scope = "system/*.cruds";
  // MSH-11 processing ids accepted (P production, T training, D debugging: the mapping labels
  // the data of T and D messages as test data); others get AR.
  std::set<std::string, std::less<>> processing_ids = {"P", "T", "D"};
  // The size limit the listener applies, for the text of the rejection of a larger message.
  std::size_t max_message_bytes = 4 * 1024 * 1024;
  // Messages whose transaction runs at once; the others wait, while parsing, mapping and
  // answering stay concurrent. Each holds one of the store's 16 database connections while it
  // runs; 8 leaves the others to REST clients.
  int max_concurrent_transactions = 8;
  // MSH-3 and MSH-4 of the acknowledgements.
  std::string application = "FHIRHUB";
  std::string facility;
};

// Turns a parsed message into the JSON of a transaction Bundle and the HL7 position of each of
// its entries (the server binds mappings::hl7v2::Mapper::Map). Errors locate their faults as HL7
// positions (ack.h, AckErrorsFor). Thread-safe.
using MapToBundle =
    std::function<fhir::Result<mappings::hl7v2::Mapped>(const mappings::hl7v2::Message& message)>;

class MllpHandler final : public MessageHandler {
 public:
  // Everything given must outlive the handler.
  MllpHandler(HandlerOptions options, MapToBundle map, const fhir::model::Definitions& defs,
              const FhirSink& sink, server::store::ConnectorLog& log,
              const server::store::Clock& clock);

  std::string Handle(const FrameDecoder::Frame& frame, std::string_view peer_address) override;

 private:
  std::string HandleMessage(const std::string& raw, std::string_view peer_address);
  // sink_.Send, once fewer than max_concurrent_transactions are running.
  fhir::Result<server::rest::FhirResponse> SendLimited(const server::rest::Principal& principal,
                                                       server::rest::FhirRequest request);
  // The acknowledgement's own control id and timestamp.
  std::string NextControlId();
  std::string Timestamp() const;
  // Records the failure in the dead letters and answers `code` with `errors`.
  std::string Refuse(const std::string& raw, const mappings::hl7v2::Message* message,
                     std::string_view sender, std::string_view control_id, std::string_view code,
                     const std::vector<mappings::hl7v2::AckError>& errors);
  // The acknowledgement of `message` in the sender's character set.
  std::string Ack(const mappings::hl7v2::Message& message, std::string_view code,
                  const std::vector<mappings::hl7v2::AckError>& errors);

  const HandlerOptions options_;
  const MapToBundle map_;
  const fhir::model::Definitions& defs_;
  const FhirSink& sink_;
  server::store::ConnectorLog& log_;
  const server::store::Clock& clock_;
  std::atomic<std::uint64_t> next_id_{0};
  std::mutex transactions_mutex_;
  std::condition_variable transaction_done_;
  int transactions_running_ = 0;  // guarded by transactions_mutex_
};

// `bytes` with every byte outside printable ASCII (and '%') written as %XX: keys and reasons
// stay valid text in the database whatever character set the sender used.
std::string PrintableKey(std::string_view bytes);

}  // namespace connectors::mllp

#endif  // CONNECTORS_MLLP_MLLP_HANDLER_H_
