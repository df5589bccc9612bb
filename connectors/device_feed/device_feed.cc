#include "connectors/device_feed/device_feed.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <set>
#include <utility>

#include "fhir/json/json.h"
#include "fhir/outcome.h"
#include "server/rest/interaction_support.h"
#include "server/rest/search_params.h"
#include "server/security/digest.h"

namespace connectors::device_feed {

namespace {

using mappings::station::Identifier;
using mappings::station::Measurement;
using server::rest::FhirRequest;
using server::rest::FhirResponse;
using server::rest::JsonString;
using server::rest::Method;
using server::rest::Principal;

constexpr int kPageDefault = 100;
constexpr int kPageMax = 1000;
// Residents per Patient search: the OR list of one identifier parameter.
constexpr std::size_t kResidentsPerSearch = 100;

std::string StatusText(int status) {
  switch (status) {
    case 200:
      return "200 OK";
    case 201:
      return "201 Created";
    case 202:
      return "202 Accepted";
    default:
      return std::to_string(status);
  }
}

std::string Key(std::string_view system, std::string_view value) {
  return std::string(system) + "|" + std::string(value);
}

// A token search value: ',', '|', '$' and '\' escaped (search.html#escaping).
std::string EscapeToken(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == ',' || c == '|' || c == '$' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string ErrorEntry(const fhir::Error& error, const fhir::model::Definitions& defs) {
  return R"({"response":{"status":)" + JsonString(StatusText(error.http_status())) +
         R"(,"outcome":)" + fhir::json::Write(fhir::ToOperationOutcome(error, defs)) + "}}";
}

std::string Entry(int status, std::string_view location) {
  std::string json = R"({"response":{"status":)" + JsonString(StatusText(status));
  if (!location.empty()) json += R"(,"location":)" + JsonString(location);
  return json + "}}";
}

std::string PendingEntry(std::int64_t id, std::string_view reason,
                         const fhir::model::Definitions& defs) {
  const std::string text =
      reason == "ambiguous-resident"
          ? "several Patients have the resident's identifier: the measurement waits for an "
            "operator"
          : "no Patient has the resident's identifier yet: the measurement waits until one does";
  return R"({"response":{"status":"202 Accepted","location":)" +
         JsonString("station-feed/pending/" + std::to_string(id)) + R"(,"outcome":)" +
         fhir::json::Write(fhir::InformationOutcome("station.pending-resident", text, defs)) + "}}";
}

std::string BatchResponse(const std::vector<std::string>& entries) {
  std::string json = R"({"resourceType":"Bundle","type":"batch-response","entry":[)";
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) json += ",";
    json += entries[i];
  }
  return json + "]}";
}

// The status code at the start of a batch-response entry's status ("201 Created").
int StatusCode(std::string_view status) {
  int code = 0;
  std::from_chars(status.data(), status.data() + status.size(), code);
  return code;
}

std::string_view Value(const fhir::Node* node, std::string_view child) {
  const fhir::Node* found = node != nullptr ? node->Child(child) : nullptr;
  return found != nullptr && found->has_value ? found->value : std::string_view();
}

// The error an entry's outcome reports, its issues kept (message id, text, location).
fhir::Error EntryError(int status, const fhir::Node* outcome) {
  std::vector<fhir::Issue> issues;
  if (outcome != nullptr) {
    for (const fhir::Node* issue : outcome->Children("issue")) {
      const fhir::Node* details = issue->Child("details");
      const fhir::Node* coding = details != nullptr ? details->Child("coding") : nullptr;
      issues.push_back(fhir::Issue{
          fhir::Severity::kError, fhir::IssueType::kProcessing, std::string(Value(coding, "code")),
          std::string(Value(details, "text")), std::string(Value(issue, "expression"))});
    }
  }
  if (issues.empty()) {
    issues.push_back(fhir::Issue{fhir::Severity::kError, fhir::IssueType::kProcessing,
                                 "station.write-failed", "the Observation was not written", ""});
  }
  return fhir::Error(status, std::move(issues));
}

// The Observation id of a measurement: derived from its identifier, so that every writer of one
// measurement (a retried batch, the sweep, an operator) names the same resource.
std::string ObservationId(const Identifier& identifier) {
  return "sf-" + server::security::HexEncode(
                     server::security::Digest(server::security::HashAlgorithm::kSha256,
                                              identifier.system + "|" + identifier.value))
                     .substr(0, 40);
}

fhir::Result<std::int64_t> ParseId(std::string_view text) {
  std::int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id <= 0) {
    return fhir::Error::NotFound("station.unknown-pending",
                                 "The pending queue has no measurement " + std::string(text));
  }
  return id;
}

fhir::Result<int> PageSize(const FhirRequest& request) {
  auto count = request.Param("_count");
  if (!count) return kPageDefault;
  int n = 0;
  auto [end, ec] = std::from_chars(count->data(), count->data() + count->size(), n);
  if (ec != std::errc() || end != count->data() + count->size() || n < 1 || n > kPageMax) {
    return fhir::Error::Invalid("station.invalid-query",
                                "_count must be a number from 1 to " + std::to_string(kPageMax));
  }
  return n;
}

}  // namespace

DeviceFeed::DeviceFeed(const FhirSink& sink, server::store::PendingMeasurements& pending,
                       const fhir::model::Definitions& defs, DeviceFeedOptions options)
    : sink_(sink), pending_(pending), defs_(defs), options_(std::move(options)) {}

fhir::Result<std::map<std::string, std::vector<std::string>>> DeviceFeed::FindPatients(
    const Caller& caller, const std::vector<Identifier>& residents) const {
  std::map<std::string, std::vector<std::string>> found;
  for (std::size_t start = 0; start < residents.size(); start += kResidentsPerSearch) {
    std::string values;
    const std::size_t end = std::min(residents.size(), start + kResidentsPerSearch);
    for (std::size_t i = start; i < end; ++i) {
      if (!values.empty()) values += ",";
      values += EscapeToken(residents[i].system) + "|" + EscapeToken(residents[i].value);
    }
    FhirRequest search;
    search.method = Method::kGet;
    search.path = "Patient";
    search.query = {{"identifier", values}, {"_count", std::to_string(kPageMax)}};
    search.peer_address = caller.peer_address;
    search.base_url = caller.base_url;
    auto answer = sink_.Send(caller.principal, std::move(search));
    if (!answer.ok()) return std::move(answer).error();
    if (auto parsed = server::rest::MaterializeBody(&*answer, defs_); !parsed.ok()) {
      return std::move(parsed).error();
    }
    if (!answer->body) continue;
    for (const fhir::Node* entry : answer->body->root()->Children("entry")) {
      const fhir::Node* patient = entry->Child("resource");
      if (patient == nullptr) continue;
      const std::string id(Value(patient, "id"));
      for (const fhir::Node* identifier : patient->Children("identifier")) {
        std::vector<std::string>& ids =
            found[Key(Value(identifier, "system"), Value(identifier, "value"))];
        if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
      }
    }
  }
  return found;
}

fhir::Result<std::map<std::string, std::string, std::less<>>> DeviceFeed::FindWritten(
    const Caller& caller, const std::vector<std::string>& ids) const {
  std::map<std::string, std::string, std::less<>> existing;  // id -> versionId
  if (ids.empty()) return existing;
  std::string id_list;
  for (const std::string& id : ids) id_list += (id_list.empty() ? "" : ",") + id;
  FhirRequest search;
  search.method = Method::kGet;
  search.path = "Observation";
  search.query = {{"_id", id_list}, {"_count", std::to_string(ids.size())}};
  search.peer_address = caller.peer_address;
  search.base_url = caller.base_url;
  auto found = sink_.Send(caller.principal, std::move(search));
  if (!found.ok()) return std::move(found).error();
  if (auto body = server::rest::MaterializeBody(&*found, defs_); !body.ok()) {
    return std::move(body).error();
  }
  if (found->body) {
    for (const fhir::Node* entry : found->body->root()->Children("entry")) {
      const fhir::Node* resource = entry->Child("resource");
      existing.emplace(Value(resource, "id"),
                       Value(resource != nullptr ? resource->Child("meta") : nullptr, "versionId"));
    }
  }
  return existing;
}

fhir::Result<std::vector<std::string>> DeviceFeed::Write(
    const Caller& caller, const std::vector<const Measurement*>& measurements,
    const std::vector<std::string>& patient_ids, std::vector<bool>* written) const {
  std::vector<std::string> entries(measurements.size());
  written->assign(measurements.size(), false);
  if (measurements.empty()) return entries;
  std::vector<std::string> ids;
  for (const Measurement* m : measurements) {
    ids.push_back(ObservationId(mappings::station::ObservationIdentifier(*m, options_.mapping)));
  }
  // Those written before (a retried batch) are answered as they are, never written again.
  auto existing = FindWritten(caller, ids);
  if (!existing.ok()) return std::move(existing).error();
  std::vector<std::size_t> fresh;
  std::string entries_json;
  for (std::size_t i = 0; i < measurements.size(); ++i) {
    if (auto it = existing->find(ids[i]); it != existing->end()) {
      (*written)[i] = true;
      entries[i] =
          Entry(200, caller.base_url + "/Observation/" + ids[i] + "/_history/" + it->second);
      continue;
    }
    fresh.push_back(i);
    entries_json += std::string(entries_json.empty() ? "" : ",") + R"({"resource":)" +
                    mappings::station::ObservationJson(
                        *measurements[i], "Patient/" + patient_ids[i], options_.mapping, ids[i]) +
                    R"(,"request":{"method":"PUT","url":)" + JsonString("Observation/" + ids[i]) +
                    "}}";
  }
  if (fresh.empty()) return entries;
  auto send = [&](std::string_view type) -> fhir::Result<FhirResponse> {
    auto parsed = fhir::json::Parse(R"({"resourceType":"Bundle","type":")" + std::string(type) +
                                        R"(","entry":[)" + entries_json + "]}",
                                    defs_);
    if (!parsed.ok()) return std::move(parsed).error();
    FhirRequest request;
    request.method = Method::kPost;
    request.body = std::move(parsed).value();
    request.content_type = "application/fhir+json";
    request.peer_address = caller.peer_address;
    request.base_url = caller.base_url;
    return sink_.Send(caller.principal, std::move(request));
  };
  // One transaction commits the whole batch at once; when one Observation is refused (consent,
  // validation) the transaction writes nothing, and a batch then answers each on its own.
  auto answer = send("transaction");
  if (!answer.ok() && answer.error().http_status() >= 400 && answer.error().http_status() < 500) {
    answer = send("batch");
  }
  if (!answer.ok()) return std::move(answer).error();
  if (auto body = server::rest::MaterializeBody(&*answer, defs_); !body.ok()) {
    return std::move(body).error();
  }
  std::vector<const fhir::Node*> results;
  if (answer->body) results = answer->body->root()->Children("entry");
  if (results.size() != fresh.size()) {
    return fhir::Error::Internal("station.unexpected-response",
                                 "The Bundle of Observations was answered with " +
                                     std::to_string(results.size()) + " entries for " +
                                     std::to_string(fresh.size()));
  }
  for (std::size_t k = 0; k < results.size(); ++k) {
    const std::size_t i = fresh[k];
    const fhir::Node* response = results[k]->Child("response");
    const int status = StatusCode(Value(response, "status"));
    if (status == 200 || status == 201) {
      (*written)[i] = true;
      entries[i] = Entry(status, Value(response, "location"));
    } else {
      entries[i] = ErrorEntry(
          EntryError(status, response != nullptr ? response->Child("outcome") : nullptr), defs_);
    }
  }
  return entries;
}

fhir::Result<FhirResponse> DeviceFeed::Receive(const FhirRequest& request) const {
  if (request.principal == nullptr) {
    return fhir::Error::Internal("station.no-principal", "The request was not authenticated");
  }
  const Caller caller{*request.principal, request.peer_address, request.base_url};
  auto batch = mappings::station::Parse(request.raw_body, options_.mapping, options_.max_items);
  if (!batch.ok()) return std::move(batch).error();

  std::vector<std::string> entries(batch->items.size());
  std::vector<Identifier> residents;
  for (const mappings::station::Item& item : batch->items) {
    if (!item.measurement.ok()) {
      entries[item.index] = ErrorEntry(item.measurement.error(), defs_);
      continue;
    }
    residents.push_back(item.measurement->resident);
  }
  auto patients = FindPatients(caller, residents);
  if (!patients.ok()) return std::move(patients).error();

  // A measurement whose resident is unknown may have been written all the same (an operator
  // resolved it to a Patient): a retry answers it as written rather than queueing it again.
  std::vector<std::string> unknown_ids;
  for (const mappings::station::Item& item : batch->items) {
    if (!item.measurement.ok()) continue;
    const Measurement& m = *item.measurement;
    auto it = patients->find(Key(m.resident.system, m.resident.value));
    if (it == patients->end() || it->second.size() != 1) {
      unknown_ids.push_back(
          ObservationId(mappings::station::ObservationIdentifier(m, options_.mapping)));
    }
  }
  auto resolved = FindWritten(caller, unknown_ids);
  if (!resolved.ok()) return std::move(resolved).error();

  std::vector<const Measurement*> known;
  std::vector<std::string> patient_ids;
  std::vector<int> known_index;
  for (const mappings::station::Item& item : batch->items) {
    if (!item.measurement.ok()) continue;
    const Measurement& m = *item.measurement;
    auto it = patients->find(Key(m.resident.system, m.resident.value));
    if (it != patients->end() && it->second.size() == 1) {
      known.push_back(&m);
      patient_ids.push_back(it->second.front());
      known_index.push_back(item.index);
      continue;
    }
    const std::string id =
        ObservationId(mappings::station::ObservationIdentifier(m, options_.mapping));
    if (auto written = resolved->find(id); written != resolved->end()) {
      entries[item.index] =
          Entry(200, caller.base_url + "/Observation/" + id + "/_history/" + written->second);
      continue;
    }
    server::store::PendingMeasurement queued;
    queued.station = m.station_id;
    queued.measurement_id = m.id;
    queued.resident_system = m.resident.system;
    queued.resident_value = m.resident.value;
    queued.reason = it == patients->end() ? "unknown-resident" : "ambiguous-resident";
    queued.source = m.source;
    auto queue_id = pending_.Add(queued);
    if (!queue_id.ok()) return std::move(queue_id).error();
    entries[item.index] = PendingEntry(*queue_id, queued.reason, defs_);
  }
  std::vector<bool> written;
  auto results = Write(caller, known, patient_ids, &written);
  if (!results.ok()) return std::move(results).error();
  for (std::size_t i = 0; i < known_index.size(); ++i) {
    entries[known_index[i]] = std::move((*results)[i]);
  }
  return server::rest::BundleResponse(BatchResponse(entries));
}

fhir::Result<FhirResponse> DeviceFeed::ListPending(const FhirRequest& request) const {
  auto count = PageSize(request);
  if (!count.ok()) return std::move(count).error();
  std::int64_t after = 0;
  if (auto text = request.Param("after")) {
    auto parsed = ParseId(*text);
    if (!parsed.ok()) {
      return fhir::Error::Invalid("station.invalid-query", "after must be a pending id");
    }
    after = *parsed;
  }
  auto page = pending_.List(after, *count);
  if (!page.ok()) return std::move(page).error();
  std::string json = R"({"resourceType":"Parameters")";
  if (!page->empty()) json += R"(,"parameter":[)";
  bool first = true;
  for (const server::store::PendingMeasurement& m : *page) {
    if (!first) json += ",";
    first = false;
    json += R"({"name":"pending","part":[{"name":"id","valueString":)" +
            JsonString(std::to_string(m.id)) + R"(},{"name":"station","valueString":)" +
            JsonString(m.station) + R"(},{"name":"measurement","valueString":)" +
            JsonString(m.measurement_id) + R"(},{"name":"resident","valueIdentifier":{"system":)" +
            JsonString(m.resident_system) + R"(,"value":)" + JsonString(m.resident_value) +
            R"(}},{"name":"reason","valueCode":)" + JsonString(m.reason) +
            R"(},{"name":"received","valueInstant":)" +
            JsonString(server::rest::FormatInstant(m.received)) + "}]}";
  }
  if (static_cast<int>(page->size()) == *count) {
    json += R"(,{"name":"next","valueString":)" + JsonString(std::to_string(page->back().id)) + "}";
  }
  json += page->empty() ? "}" : "]}";
  return server::rest::BundleResponse(std::move(json));
}

fhir::Result<FhirResponse> DeviceFeed::Resolve(const FhirRequest& request,
                                               std::string_view id_text) const {
  if (request.principal == nullptr) {
    return fhir::Error::Internal("station.no-principal", "The request was not authenticated");
  }
  auto id = ParseId(id_text);
  if (!id.ok()) return std::move(id).error();
  std::string patient(request.Param("patient").value_or(""));
  if (patient.starts_with("Patient/")) patient.erase(0, 8);
  if (patient.empty() || patient.find('/') != std::string::npos) {
    return fhir::Error::Invalid("station.invalid-patient",
                                "patient must name the resident's Patient (Patient/ID)");
  }
  auto queued = pending_.Get(*id);
  if (!queued.ok()) return std::move(queued).error();
  if (!*queued) {
    return fhir::Error::NotFound("station.unknown-pending",
                                 "The pending queue has no measurement " + std::string(id_text));
  }
  const Caller caller{*request.principal, request.peer_address, request.base_url};
  FhirRequest read;
  read.method = Method::kGet;
  read.path = "Patient/" + patient;
  read.peer_address = caller.peer_address;
  read.base_url = caller.base_url;
  if (auto found = sink_.Send(caller.principal, std::move(read)); !found.ok()) {
    return fhir::Error::Invalid("station.invalid-patient",
                                "Patient/" + patient + " cannot be read: " + found.error().text());
  }
  auto batch = mappings::station::Parse((*queued)->source, options_.mapping);
  if (!batch.ok() || batch->items.size() != 1 || !batch->items.front().measurement.ok()) {
    return fhir::Error::Internal("station.pending-unreadable",
                                 "The pending measurement no longer maps to an Observation");
  }
  // Taken off first: of a resolution and a sweep at once, only one writes.
  auto taken = pending_.Remove(*id);
  if (!taken.ok()) return std::move(taken).error();
  if (!*taken) {
    return fhir::Error::NotFound("station.unknown-pending",
                                 "The measurement " + std::string(id_text) + " was taken already");
  }
  std::vector<bool> written;
  auto entries = Write(caller, {&*batch->items.front().measurement}, {patient}, &written);
  if (!entries.ok() || !written.front()) {
    if (auto requeued = pending_.Add(**queued); !requeued.ok()) return std::move(requeued).error();
  }
  if (!entries.ok()) return std::move(entries).error();
  return server::rest::BundleResponse(BatchResponse(*entries));
}

fhir::Result<FhirResponse> DeviceFeed::Discard(const FhirRequest&, std::string_view id_text) const {
  auto id = ParseId(id_text);
  if (!id.ok()) return std::move(id).error();
  auto taken = pending_.Remove(*id);
  if (!taken.ok()) return std::move(taken).error();
  if (!*taken) {
    return fhir::Error::NotFound("station.unknown-pending",
                                 "The pending queue has no measurement " + std::string(id_text));
  }
  FhirResponse response;
  response.status = 204;
  return response;
}

fhir::Result<int> DeviceFeed::Sweep(const Principal& principal, const std::string& base_url) const {
  const Caller caller{principal, "", base_url};
  int written_count = 0;
  std::int64_t after = 0;
  // Measurements queued again by this sweep (their write failed) are not tried twice.
  std::set<std::int64_t> requeued;
  while (true) {
    auto page = pending_.List(after, kPageMax);
    if (!page.ok()) return std::move(page).error();
    if (page->empty()) return written_count;
    after = page->back().id;
    std::vector<Identifier> residents;
    for (const auto& m : *page) residents.push_back({m.resident_system, m.resident_value});
    auto patients = FindPatients(caller, residents);
    if (!patients.ok()) return std::move(patients).error();
    std::vector<server::store::PendingMeasurement> taken;
    std::vector<mappings::station::Batch> batches;
    std::vector<const Measurement*> measurements;
    std::vector<std::string> patient_ids;
    batches.reserve(page->size());
    for (const auto& m : *page) {
      auto it = patients->find(Key(m.resident_system, m.resident_value));
      if (it == patients->end() || it->second.size() != 1 || requeued.contains(m.id)) continue;
      auto batch = mappings::station::Parse(m.source, options_.mapping);
      if (!batch.ok() || batch->items.size() != 1 || !batch->items.front().measurement.ok()) {
        continue;
      }
      auto removed = pending_.Remove(m.id);
      if (!removed.ok()) return std::move(removed).error();
      if (!*removed) continue;
      taken.push_back(m);
      batches.push_back(std::move(batch).value());
      measurements.push_back(&*batches.back().items.front().measurement);
      patient_ids.push_back(it->second.front());
    }
    std::vector<bool> written;
    auto entries = Write(caller, measurements, patient_ids, &written);
    for (std::size_t i = 0; i < taken.size(); ++i) {
      if (entries.ok() && written[i]) {
        ++written_count;
        continue;
      }
      auto id = pending_.Add(taken[i]);
      if (!id.ok()) return std::move(id).error();
      requeued.insert(*id);
    }
    if (!entries.ok()) return std::move(entries).error();
    if (static_cast<int>(page->size()) < kPageMax) return written_count;
  }
}

}  // namespace connectors::device_feed
