#include "server/rest/audit_handler.h"

#include <charconv>
#include <string>
#include <utility>

#include "server/rest/interaction_support.h"
#include "server/rest/search_params.h"
#include "server/search/criteria.h"

namespace server::rest {

namespace {

fhir::Result<std::int64_t> Integer(std::string_view text, std::string_view name, std::int64_t min,
                                   std::int64_t max) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min ||
      value > max) {
    return fhir::Error::Invalid("search.invalid-value",
                                std::string(name) + " must be an integer from " +
                                    std::to_string(min) + " to " + std::to_string(max),
                                std::string(name));
  }
  return value;
}

// "Patient/1" or an absolute URL ending so -> "Patient/1"; anything else as it is.
std::string Relative(std::string_view value, std::string_view base) {
  if (value.starts_with(base) && value.size() > base.size() && value[base.size()] == '/') {
    value.remove_prefix(base.size() + 1);
  }
  return std::string(value);
}

fhir::Result<void> ApplyDate(std::string_view value, store::AuditQuery* query) {
  std::string_view prefix = "eq";
  if (value.size() > 2 && std::isalpha(static_cast<unsigned char>(value[0])) &&
      std::isalpha(static_cast<unsigned char>(value[1]))) {
    prefix = value.substr(0, 2);
    value.remove_prefix(2);
  }
  auto range = search::ParseTimeRange(value, "date");
  if (!range.ok()) return std::move(range).error();
  auto later = [](std::optional<store::Timestamp>& bound, store::Timestamp t) {
    if (!bound || t > *bound) bound = t;
  };
  auto earlier = [](std::optional<store::Timestamp>& bound, store::Timestamp t) {
    if (!bound || t < *bound) bound = t;
  };
  if (prefix == "eq") {
    later(query->recorded_from, range->begin);
    earlier(query->recorded_to, range->end);
  } else if (prefix == "ge") {
    later(query->recorded_from, range->begin);
  } else if (prefix == "gt") {
    later(query->recorded_from, range->end);
  } else if (prefix == "le") {
    earlier(query->recorded_to, range->end);
  } else if (prefix == "lt") {
    earlier(query->recorded_to, range->begin);
  } else {
    return fhir::Error::Invalid("search.invalid-prefix",
                                "AuditEvent date takes the prefixes eq, ge, gt, le and lt", "date");
  }
  return {};
}

}  // namespace

std::string AuditEventWithId(const store::AuditEntry& entry) {
  const std::string id = R"("id":")" + std::to_string(entry.seq) + "\"";
  constexpr std::string_view kType = R"("resourceType":"AuditEvent")";
  std::string json = entry.event;
  if (size_t at = json.find(kType); at != std::string::npos) {
    json.insert(at + kType.size(), "," + id);
  } else if (size_t brace = json.find('{'); brace != std::string::npos) {
    json.insert(brace + 1, id + ",");
  }
  return json;
}

fhir::Result<FhirResponse> AuditHandler::Search(const FhirRequest& request,
                                                const PathParams&) const {
  store::AuditQuery query;
  query.count = 50;
  std::string applied;
  for (const auto& [name, value] : request.query) {
    if (name == "_format" || name == "_pretty") continue;
    if (name == "_cursor") {
      auto after = Integer(value, name, 0, INT64_MAX);
      if (!after.ok()) return std::move(after).error();
      query.after_seq = *after;
      continue;
    }
    if (name == "patient") {
      std::string patient = Relative(value, request.base_url);
      if (patient.starts_with("Patient/")) patient.erase(0, 8);
      query.patient = std::move(patient);
    } else if (name == "agent") {
      query.agent = Relative(value, request.base_url);
    } else if (name == "entity") {
      query.entity = Relative(value, request.base_url);
    } else if (name == "action") {
      if (value.size() != 1 || std::string_view("CRUDE").find(value[0]) == std::string::npos) {
        return fhir::Error::Invalid("search.invalid-value", "action is one of C, R, U, D, E",
                                    "action");
      }
      query.action = value[0];
    } else if (name == "outcome") {
      if (value != "0" && value != "4" && value != "8" && value != "12") {
        return fhir::Error::Invalid("search.invalid-value", "outcome is one of 0, 4, 8, 12",
                                    "outcome");
      }
      query.outcome = std::stoi(value);
    } else if (name == "date") {
      if (auto dated = ApplyDate(value, &query); !dated.ok()) return dated.error();
    } else if (name == "_count") {
      auto count = Integer(value, name, 1, 1000);
      if (!count.ok()) return std::move(count).error();
      query.count = static_cast<int>(*count);
      continue;
    } else if (name == "_sort") {
      if (value != "date" && value != "-date") {
        return fhir::Error::Invalid("search.invalid-sort", "AuditEvent sorts by date or -date",
                                    "_sort");
      }
      query.descending = value == "-date";
    } else {
      return fhir::Error::Invalid("search.unknown-parameter",
                                  "AuditEvent is searched by patient, agent, entity, action, "
                                  "outcome and date; not by " +
                                      name,
                                  name);
    }
    applied += (applied.empty() ? "" : "&") + PercentEncode(name) + "=" + PercentEncode(value);
  }
  store::AuditQuery fetch = query;
  fetch.count = query.count + 1;  // one more tells whether there is a next page
  if (fetch.count > 1000) fetch.count = 1000;
  auto found = log_.Search(fetch);
  if (!found.ok()) return std::move(found).error();
  std::vector<store::AuditEntry>& entries = *found;
  const bool more = static_cast<int>(entries.size()) > query.count;
  if (more) entries.resize(query.count);

  const std::string self = request.base_url + "/AuditEvent?" + applied +
                           (applied.empty() ? "" : "&") + "_count=" + std::to_string(query.count);
  std::string json =
      R"({"resourceType":"Bundle","type":"searchset","link":[{"relation":"self",)"
      R"("url":)" +
      JsonString(self + (query.after_seq ? "&_cursor=" + std::to_string(*query.after_seq) : "")) +
      "}";
  if (more && !entries.empty()) {
    json += R"(,{"relation":"next","url":)" +
            JsonString(self + "&_cursor=" + std::to_string(entries.back().seq)) + "}";
  }
  json += "]";
  for (size_t i = 0; i < entries.size(); ++i) {
    json += i == 0 ? R"(,"entry":[)" : ",";
    json += R"({"fullUrl":)" +
            JsonString(request.base_url + "/AuditEvent/" + std::to_string(entries[i].seq)) +
            R"(,"resource":)" + AuditEventWithId(entries[i]) + R"(,"search":{"mode":"match"}})";
  }
  if (!entries.empty()) json += "]";
  json += "}";
  return BundleResponse(std::move(json));
}

fhir::Result<FhirResponse> AuditHandler::Read(const FhirRequest&, const PathParams& params) const {
  const std::string& id = params.at("id");
  std::int64_t seq = 0;
  auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), seq);
  if (ec != std::errc() || end != id.data() + id.size() || seq < 1) {
    return fhir::Error::NotFound("rest.unknown-resource", "AuditEvent/" + id + " does not exist");
  }
  auto found = log_.Range(seq - 1, 1);
  if (!found.ok()) return std::move(found).error();
  if (found->empty() || found->front().seq != seq) {
    return fhir::Error::NotFound("rest.unknown-resource", "AuditEvent/" + id + " does not exist");
  }
  FhirResponse response;
  response.json = AuditEventWithId(found->front());
  return response;
}

fhir::Result<FhirResponse> AuditHandler::Verify(const FhirRequest&, const PathParams&) const {
  auto report = audit::VerifyAuditLog(log_, check_, clock_.Now());
  if (!report.ok()) return std::move(report).error();
  std::string json =
      R"({"resourceType":"Parameters","parameter":[{"name":"intact","valueBoolean":)";
  json += report->intact() ? "true" : "false";
  json += R"(},{"name":"firstRecord","valueInteger":)" + std::to_string(report->first_seq);
  json += R"(},{"name":"records","valueInteger":)" + std::to_string(report->entries) +
          R"(},{"name":"checkpoints","valueInteger":)" + std::to_string(report->checkpoints) + "}";
  if (report->broken) {
    json += R"(,{"name":"brokenAt","valueInteger":)" + std::to_string(report->broken->seq) +
            R"(},{"name":"kind","valueCode":)" +
            JsonString(audit::BreakKindName(report->broken->kind)) +
            R"(},{"name":"text","valueString":)" + JsonString(report->broken->text) + "}";
  }
  json += "]}";
  FhirResponse response;
  response.json = std::move(json);
  return response;
}

}  // namespace server::rest
