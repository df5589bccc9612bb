#include "server/rest/history_handler.h"

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>

#include "fhir/json/json.h"
#include "server/rest/interaction_support.h"
#include "server/rest/resource_gate.h"
#include "server/rest/search_params.h"
#include "server/search/criteria.h"

namespace server::rest {

namespace {

// A non-negative integer parameter, or nullopt when absent; `invalid` when malformed.
fhir::Result<std::optional<std::int64_t>> IntegerParam(const FhirRequest& request,
                                                       std::string_view name, std::int64_t min,
                                                       std::int64_t max,
                                                       std::string_view message_id) {
  auto text = request.Param(name);
  if (!text) return std::optional<std::int64_t>();
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (text->empty() || ec != std::errc() || end != text->data() + text->size() || value < min ||
      value > max) {
    return fhir::Error::Invalid(std::string(message_id),
                                std::string(name) + " must be an integer from " +
                                    std::to_string(min) + " to " + std::to_string(max),
                                std::string(name));
  }
  return std::optional<std::int64_t>(value);
}

// Drops the entries the gate withholds; delete entries, which carry no content, are screened by
// type and id.
fhir::Result<void> Screen(ResourceGate& gate, store::Transaction& tx, store::HistoryPage* page) {
  std::vector<Outgoing> outgoing;
  outgoing.reserve(page->entries.size());
  for (store::ResourceVersion& version : page->entries) {
    outgoing.push_back({&version.type, &version.id, &version.json});
  }
  if (auto screened = gate.Screen(tx, outgoing); !screened.ok()) return screened;
  size_t kept = 0;
  for (size_t i = 0; i < outgoing.size(); ++i) {
    if (outgoing[i].withheld) continue;
    if (kept != i) page->entries[kept] = std::move(page->entries[i]);
    ++kept;
  }
  page->entries.resize(kept);
  return {};
}

}  // namespace

fhir::Result<FhirResponse> HistoryHandler::Instance(const FhirRequest& request,
                                                    const PathParams& params) const {
  const std::string& type = params.at("type");
  const std::string& id = params.at("id");
  return Answer(request, type, id, type + "/" + id + "/_history");
}

fhir::Result<FhirResponse> HistoryHandler::Type(const FhirRequest& request,
                                                const PathParams& params) const {
  const std::string& type = params.at("type");
  return Answer(request, type, std::nullopt, type + "/_history");
}

fhir::Result<FhirResponse> HistoryHandler::System(const FhirRequest& request,
                                                  const PathParams&) const {
  return Answer(request, std::nullopt, std::nullopt, "_history");
}

fhir::Result<FhirResponse> HistoryHandler::Answer(const FhirRequest& request,
                                                  std::optional<std::string> type,
                                                  std::optional<std::string> id,
                                                  const std::string& path) const {
  auto count = IntegerParam(request, "_count", 1, 1000, "rest.invalid-count");
  if (!count.ok()) return std::move(count).error();
  auto cursor = IntegerParam(request, "_cursor", 0, INT64_MAX, "rest.invalid-cursor");
  if (!cursor.ok()) return std::move(cursor).error();

  const bool instance = id.has_value();
  store::HistoryQuery query{.type = std::move(type), .id = std::move(id), .after = *cursor};
  if (*count) query.count = static_cast<int>(**count);
  // The parameters applied, repeated in the self and next links.
  std::string applied = "_count=" + std::to_string(query.count);
  if (auto since = request.Param("_since")) {
    auto range = search::ParseTimeRange(*since, "_since");
    if (!range.ok()) return std::move(range).error();
    query.since = range->begin;
    applied += "&_since=" + PercentEncode(*since);
  }
  if (auto at = request.Param("_at")) {
    // A partial time ("2024-03") is a period; the versions current at its end are given.
    auto range = search::ParseTimeRange(*at, "_at");
    if (!range.ok()) return std::move(range).error();
    query.at = range->end - std::chrono::microseconds(1);
    applied += "&_at=" + PercentEncode(*at);
  }
  auto page = InTransaction(store_, request, [&](store::Transaction& tx) {
    auto found = tx.History(query);
    // An empty page of an instance's history: the resource never existed, or the filters
    // (_since, _at, the cursor) left none of its versions.
    if (found.ok() && instance && found->entries.empty()) {
      auto current = tx.Read(*query.type, *query.id);
      if (!current.ok() && current.error().http_status() == 404) {
        return fhir::Result<store::HistoryPage>(fhir::Error::NotFound(
            "rest.unknown-resource", *query.type + "/" + *query.id + " does not exist"));
      }
    }
    if (found.ok() && request.gate != nullptr) {
      if (auto screened = Screen(*request.gate, tx, &*found); !screened.ok()) {
        return fhir::Result<store::HistoryPage>(std::move(screened).error());
      }
    }
    return found;
  });
  if (!page.ok()) return std::move(page).error();

  const std::string self = request.base_url + "/" + path;
  std::string json =
      R"({"resourceType":"Bundle","type":"history","link":[{"relation":"self",)"
      R"("url":)" +
      JsonString(self + "?" + applied + (*cursor ? "&_cursor=" + std::to_string(**cursor) : "")) +
      "}";
  if (page->next) {
    json += R"(,{"relation":"next","url":)" +
            JsonString(self + "?" + applied + "&_cursor=" + std::to_string(*page->next)) + "}";
  }
  json += "]";
  for (size_t i = 0; i < page->entries.size(); ++i) {
    const store::ResourceVersion& version = page->entries[i];
    const std::string& type = version.type;
    const std::string& id = version.id;
    json += i == 0 ? R"(,"entry":[)" : ",";
    json += R"({"fullUrl":)" + JsonString(request.base_url + "/" + type + "/" + id);
    if (!version.deleted) json += R"(,"resource":)" + version.json;
    // Versions written before the method was recorded: a first version was most likely a create.
    std::string method = version.method;
    if (method.empty())
      method = version.deleted ? "DELETE" : version.stamp.version == 1 ? "POST" : "PUT";
    const char* status = version.deleted                                  ? "204"
                         : version.stamp.version == 1 || method == "POST" ? "201"
                                                                          : "200";
    json += R"(,"request":{"method":")" + method + R"(","url":)" +
            JsonString(method == "POST" ? type : type + "/" + id) + R"(},"response":{"status":")" +
            status + R"(","etag":)" + JsonString(WeakETag(version.stamp.version)) +
            R"(,"lastModified":")" + FormatInstant(version.stamp.last_updated) + "\"}}";
  }
  if (!page->entries.empty()) json += "]";
  json += "}";
  return BundleResponse(std::move(json));
}

}  // namespace server::rest
