#include "server/rest/read_handler.h"

#include <charconv>
#include <chrono>
#include <ctime>
#include <string>

#include "server/rest/interaction_support.h"
#include "server/rest/resource_gate.h"

namespace server::rest {

fhir::Result<FhirResponse> ReadHandler::Read(const FhirRequest& request,
                                             const PathParams& params) const {
  auto version = InTransaction(
      store_, request, [&](store::Transaction& tx) -> fhir::Result<store::ResourceVersion> {
        auto read = tx.Read(params.at("type"), params.at("id"));
        if (!read.ok()) return read;
        if (auto screened = ScreenOne(request.gate, tx, *read); !screened.ok()) {
          return std::move(screened).error();
        }
        return read;
      });
  if (!version.ok()) return std::move(version).error();
  return Answer(request, *version);
}

fhir::Result<FhirResponse> ReadHandler::VRead(const FhirRequest& request,
                                              const PathParams& params) const {
  const std::string& vid = params.at("vid");
  std::int64_t number = 0;
  auto [end, ec] = std::from_chars(vid.data(), vid.data() + vid.size(), number);
  if (ec != std::errc() || end != vid.data() + vid.size() || number < 1) {
    return fhir::Error::NotFound("rest.unknown-version",
                                 "Versions are numbered from 1; there is no version " + vid);
  }
  auto version = InTransaction(
      store_, request, [&](store::Transaction& tx) -> fhir::Result<store::ResourceVersion> {
        auto read = tx.ReadVersion(params.at("type"), params.at("id"), number);
        if (!read.ok()) return read;
        if (auto screened = ScreenOne(request.gate, tx, *read); !screened.ok()) {
          return std::move(screened).error();
        }
        return read;
      });
  if (!version.ok()) return std::move(version).error();
  return Answer(FhirRequest{}, *version);
}

fhir::Result<FhirResponse> ReadHandler::Answer(const FhirRequest& request,
                                               const store::ResourceVersion& version) const {
  if (version.deleted) {
    return fhir::Error::Gone("rest.deleted", version.type + "/" + version.id +
                                                 " was deleted in version " +
                                                 std::to_string(version.stamp.version));
  }
  if (auto tag = request.Header("if-none-match")) {
    std::string_view text = *tag;
    if (text.starts_with("W/")) text.remove_prefix(2);
    // "*" matches any current version (RFC 9110, 13.1.2).
    if (text == "*" || text == "\"" + std::to_string(version.stamp.version) + "\"") {
      FhirResponse not_modified;
      not_modified.status = 304;
      AddVersionHeaders(version.stamp, &not_modified);
      return not_modified;
    }
  }
  if (auto since = request.Header("if-modified-since")) {
    // An unparseable date is ignored, as HTTP asks (RFC 9110, 13.1.3).
    std::tm tm{};
    const std::string text(*since);
    const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end != nullptr && *end == '\0') {
      const auto modified = std::chrono::floor<std::chrono::seconds>(version.stamp.last_updated);
      if (modified.time_since_epoch().count() <= timegm(&tm)) {
        FhirResponse not_modified;
        not_modified.status = 304;
        AddVersionHeaders(version.stamp, &not_modified);
        return not_modified;
      }
    }
  }
  FhirResponse response;
  AddVersionHeaders(version.stamp, &response);
  response.json = version.json;
  return response;
}

}  // namespace server::rest
