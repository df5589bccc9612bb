// DeviceFeed: the station feed's I/O. It receives vendor measurement batches
// (docs/station-feed.md), maps them (mappings/station, pure), finds each resident's Patient by
// identifier and writes one Observation per measurement through the FhirSink as the caller, so
// scopes, consent and audit apply to every Observation. Measurements of residents not yet known
// wait in the pending queue (server/store/pending_measurements.h) until a Patient with the
// identifier exists (Sweep) or an operator resolves or discards them.
//
// Exactly once: a measurement's Observation has an id derived from its identifier (the station's
// feed system and the measurement id), so every writer of it names one resource; measurements
// already written are found by id first and never written again, the others are written with
// PUT (a retry racing its original writes the same resource twice, never two resources). A
// pending measurement is taken off the queue before it is written (and queued again if the
// write fails), so a sweep racing a resolution never writes it twice.
//
// Answers are FHIR resources: a batch-response Bundle with one entry per item, in item order
// (201 created, 200 already there, 202 pending, 4xx with an OperationOutcome naming the fields),
// and a Parameters resource listing the queue. Thread-safe.
#ifndef CONNECTORS_DEVICE_FEED_DEVICE_FEED_H_
#define CONNECTORS_DEVICE_FEED_DEVICE_FEED_H_

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/fhir_sink.h"
#include "fhir/model/definitions.h"
#include "fhir/result.h"
#include "mappings/station/station_mapping.h"
#include "server/rest/fhir_request.h"
#include "server/store/pending_measurements.h"

namespace connectors::device_feed {

struct DeviceFeedOptions {
  mappings::station::MappingContext mapping;
  // Measurements in one batch at most (400 station.invalid-batch past it).
  std::size_t max_items = 1000;
};

class DeviceFeed {
 public:
  // All must outlive the feed.
  DeviceFeed(const FhirSink& sink, server::store::PendingMeasurements& pending,
             const fhir::model::Definitions& defs, DeviceFeedOptions options);

  // POST station-feed: the batch in `request.raw_body`, as `request.principal`. 400
  // station.invalid-batch for a batch that cannot be read at all; otherwise the batch-response.
  // An error of the store or of the sink as a whole (the batch may be retried) is returned.
  fhir::Result<server::rest::FhirResponse> Receive(const server::rest::FhirRequest& request) const;

  // GET station-feed/pending[?after=ID&_count=N]: the queue in id order, N (default 100, at most
  // 1000) entries after ID; a "next" parameter names the last id when more may follow.
  fhir::Result<server::rest::FhirResponse> ListPending(
      const server::rest::FhirRequest& request) const;

  // POST station-feed/pending/{id}/$resolve?patient=Patient/ID: writes the measurement for that
  // Patient (which must be readable by the caller) and takes it off the queue. 404
  // station.unknown-pending when the queue has no such entry, 400 station.invalid-patient.
  fhir::Result<server::rest::FhirResponse> Resolve(const server::rest::FhirRequest& request,
                                                   std::string_view id) const;

  // DELETE station-feed/pending/{id}: takes the measurement off the queue unwritten (204).
  fhir::Result<server::rest::FhirResponse> Discard(const server::rest::FhirRequest& request,
                                                   std::string_view id) const;

  // Writes, as `principal`, every queued measurement whose resident now has exactly one Patient,
  // and returns how many it wrote. `base_url` is the server's FHIR base, for the locations.
  fhir::Result<int> Sweep(const server::rest::Principal& principal,
                          const std::string& base_url) const;

 private:
  // Who the feed's requests to the sink are made for.
  struct Caller {
    const server::rest::Principal& principal;
    std::string peer_address;
    std::string base_url;
  };
  // Patient ids by "system|value" of the residents' identifiers, as the caller may see them.
  fhir::Result<std::map<std::string, std::vector<std::string>>> FindPatients(
      const Caller& caller, const std::vector<mappings::station::Identifier>& residents) const;
  // The versionId by Observation id of those of `ids` that exist, as the caller may see them.
  fhir::Result<std::map<std::string, std::string, std::less<>>> FindWritten(
      const Caller& caller, const std::vector<std::string>& ids) const;
  // Writes the Observations not there yet (found by id) in one transaction Bundle, or, when that
  // is refused, in a batch Bundle; per measurement the response entry's JSON text, or the error of
  // the whole request. `written` tells which Observations exist now (created, or there already).
  fhir::Result<std::vector<std::string>> Write(
      const Caller& caller, const std::vector<const mappings::station::Measurement*>& measurements,
      const std::vector<std::string>& patient_ids, std::vector<bool>* written) const;

  const FhirSink& sink_;
  server::store::PendingMeasurements& pending_;
  const fhir::model::Definitions& defs_;
  const DeviceFeedOptions options_;
};

}  // namespace connectors::device_feed

#endif  // CONNECTORS_DEVICE_FEED_DEVICE_FEED_H_
