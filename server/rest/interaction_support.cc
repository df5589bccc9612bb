#include "server/rest/interaction_support.h"

#include <charconv>
#include <cstdio>
#include <ctime>
#include <random>

#include "fhir/json/json.h"
#include "fhir/json/quote.h"
#include "fhir/outcome.h"
#include "server/search/custom_params.h"
#include "server/search/extract.h"

namespace server::rest {

namespace {

std::tm BrokenDownUtc(store::Timestamp time) {
  const std::time_t seconds = static_cast<std::time_t>(
      std::chrono::floor<std::chrono::seconds>(time).time_since_epoch().count());
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return tm;
}

// Sets the value of the primitive child `name` of `parent`, replacing any value it had.
void SetPrimitive(fhir::Resource& resource, fhir::Node* parent, std::string_view name,
                  std::string_view value) {
  if (fhir::Node* existing = parent->Child(name)) {
    existing->value = resource.Intern(value);
    existing->has_value = true;
    return;
  }
  resource.AddPrimitive(parent, name, value);
}

}  // namespace

std::string RandomIdGenerator::NewId() {
  // One engine per thread, seeded once from the system's entropy source: opening the entropy
  // source for every id cost more than the rest of a create on the server's side. Ids are names,
  // not secrets; access is decided by authorization, never by guessing an id.
  thread_local std::mt19937_64 engine = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(),
                       device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  unsigned char bytes[16];
  for (int i = 0; i < 16; i += 8) {
    const std::uint64_t word = engine();
    for (int j = 0; j < 8; ++j) bytes[i + j] = static_cast<unsigned char>(word >> (8 * j));
  }
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  id.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) id += '-';
    id += kHex[bytes[i] >> 4];
    id += kHex[bytes[i] & 0x0f];
  }
  return id;
}

std::string FormatInstant(store::Timestamp time) {
  const std::tm tm = BrokenDownUtc(time);
  const auto micros = (time - std::chrono::floor<std::chrono::seconds>(time)).count();
  // Sized for the widest values the format can print, so the compiler can prove no truncation.
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(micros));
  return buffer;
}

std::string FormatHttpDate(store::Timestamp time) {
  const std::tm tm = BrokenDownUtc(time);
  char buffer[40];
  std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buffer;
}

std::string JsonString(std::string_view text) {
  std::string out;
  fhir::json::AppendQuoted(text, &out);
  return out;
}

fhir::Result<void> MaterializeBody(FhirResponse* response, const fhir::model::Definitions& defs) {
  if (response->json.empty()) return {};
  auto parsed = fhir::json::Parse(response->json, defs);
  if (!parsed.ok()) {
    return fhir::Error::Internal("rest.stored-unreadable", "A stored resource could not be read");
  }
  response->body = std::move(parsed).value();
  response->json.clear();
  return {};
}

FhirResponse BundleResponse(std::string json) {
  FhirResponse response;
  response.json = std::move(json);
  return response;
}

std::string WeakETag(std::int64_t version) { return "W/\"" + std::to_string(version) + "\""; }

fhir::Result<std::optional<std::int64_t>> ParseIfMatch(const FhirRequest& request) {
  auto header = request.Header("if-match");
  if (!header) return std::optional<std::int64_t>();
  std::string_view text = *header;
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.starts_with("W/")) text.remove_prefix(2);
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    text = text.substr(1, text.size() - 2);
  }
  std::int64_t version = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || version < 1) {
    return fhir::Error::Invalid("rest.invalid-if-match", "If-Match must name a version as W/\"n\"",
                                "If-Match");
  }
  return std::optional<std::int64_t>(version);
}

ReturnPreference ParseReturnPreference(const FhirRequest& request) {
  auto header = request.Header("prefer");
  if (!header) return ReturnPreference::kRepresentation;
  const size_t at = header->find("return=");
  if (at == std::string_view::npos) return ReturnPreference::kRepresentation;
  std::string_view value = header->substr(at + 7);
  value = value.substr(0, value.find_first_of(";, "));
  if (value == "minimal") return ReturnPreference::kMinimal;
  if (value == "OperationOutcome") return ReturnPreference::kOperationOutcome;
  return ReturnPreference::kRepresentation;
}

fhir::Result<const fhir::Resource*> RequireBody(const FhirRequest& request, std::string_view type) {
  if (!request.body.has_value() || request.body->empty()) {
    return fhir::Error::Invalid("rest.missing-body", "This interaction needs a resource body");
  }
  if (request.body->resource_type() != type) {
    return fhir::Error::Invalid("rest.type-mismatch",
                                "The resourceType of the body must be " + std::string(type),
                                std::string(request.body->resource_type()));
  }
  return &*request.body;
}

fhir::Result<store::Rendered> RenderForStore(const fhir::Resource& resource, std::string_view id,
                                             const store::VersionStamp& stamp,
                                             const search::Registry& registry) {
  fhir::Resource copy = resource.Clone();
  fhir::Node* root = copy.root();
  SetPrimitive(copy, root, "id", id);
  fhir::Node* meta = root->Child("meta");
  if (meta == nullptr) meta = copy.AddChild(root, "meta");
  SetPrimitive(copy, meta, "versionId", std::to_string(stamp.version));
  SetPrimitive(copy, meta, "lastUpdated", FormatInstant(stamp.last_updated));
  auto index = search::ExtractIndex(registry, copy);
  if (!index.ok()) return std::move(index).error();
  std::string json = fhir::json::Write(copy);
  if (copy.resource_type() == "SearchParameter" &&
      search::SearchParameterStatus(json) == "active") {
    if (auto valid = search::ValidateCustomSearchParameter(json, registry); !valid.ok()) {
      return std::move(valid).error();
    }
  }
  return store::Rendered{std::move(json), std::move(index).value()};
}

void AddVersionHeaders(const store::VersionStamp& stamp, FhirResponse* response) {
  response->headers.emplace_back("etag", WeakETag(stamp.version));
  response->headers.emplace_back("last-modified", FormatHttpDate(stamp.last_updated));
}

fhir::Result<FhirResponse> WriteAnswer(const FhirRequest& request, int status,
                                       const store::ResourceVersion& stored,
                                       const fhir::model::Definitions& defs) {
  FhirResponse response;
  response.status = status;
  response.headers.emplace_back("location", request.base_url + "/" + stored.type + "/" + stored.id +
                                                "/_history/" +
                                                std::to_string(stored.stamp.version));
  AddVersionHeaders(stored.stamp, &response);
  switch (ParseReturnPreference(request)) {
    case ReturnPreference::kMinimal:
      break;
    case ReturnPreference::kOperationOutcome:
      response.body = fhir::InformationOutcome(
          status == 201 ? "rest.created" : "rest.updated",
          stored.type + "/" + stored.id + " version " + std::to_string(stored.stamp.version) +
              (status == 201 ? " was created" : " was updated"),
          defs);
      break;
    case ReturnPreference::kRepresentation:
      response.json = stored.json;
      break;
  }
  return response;
}

}  // namespace server::rest
