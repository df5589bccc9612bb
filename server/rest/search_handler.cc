#include "server/rest/search_handler.h"

#include <string>

#include "fhir/json/json.h"
#include "server/rest/interaction_support.h"
#include "server/rest/search_params.h"

namespace server::rest {

fhir::Result<FhirResponse> SearchHandler::Type(const FhirRequest& request,
                                               const PathParams& params) const {
  const std::string& type = params.at("type");
  auto parsed = ParseSearch(registry_, type, request.query, LenientHandling(request), clock_.Now());
  if (!parsed.ok()) return std::move(parsed).error();
  auto page = InTransaction(store_, request,
                            [&](store::Transaction& tx) { return tx.Search(parsed->query); });
  if (!page.ok()) return std::move(page).error();

  const std::string self = request.base_url + "/" + type + "?" + parsed->applied +
                           (parsed->applied.empty() ? "" : "&") +
                           "_count=" + std::to_string(parsed->query.count);
  std::string json = R"({"resourceType":"Bundle","type":"searchset")";
  if (!parsed->query.after && !page->next) {
    json += R"(,"total":)" + std::to_string(page->entries.size());
  }
  json += R"(,"link":[{"relation":"self","url":)" +
          JsonString(self + (parsed->query.after ? "&_cursor=" + *parsed->query.after : "")) + "}";
  if (page->next) {
    json += R"(,{"relation":"next","url":)" + JsonString(self + "&_cursor=" + *page->next) + "}";
  }
  json += "]";
  bool first = true;
  auto open_entry = [&] {
    json += first ? R"(,"entry":[)" : ",";
    first = false;
  };
  for (const store::ResourceVersion& match : page->entries) {
    open_entry();
    json += R"({"fullUrl":)" + JsonString(request.base_url + "/" + type + "/" + match.id) +
            R"(,"resource":)" + match.json + R"(,"search":{"mode":"match"}})";
  }
  if (!parsed->ignored.empty()) {
    open_entry();
    std::string issues;
    for (const std::string& name : parsed->ignored) {
      if (!issues.empty()) issues += ",";
      issues += R"({"severity":"warning","code":"not-supported","diagnostics":)" +
                JsonString("The search parameter " + name + " is not supported and was ignored") +
                R"(,"expression":[)" + JsonString(name) + "]}";
    }
    json += R"({"resource":{"resourceType":"OperationOutcome","issue":[)" + issues +
            R"(]},"search":{"mode":"outcome"}})";
  }
  if (!first) json += "]";
  json += "}";
  return BundleResponse(json, defs_);
}

}  // namespace server::rest
