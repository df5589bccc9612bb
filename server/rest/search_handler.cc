#include "server/rest/search_handler.h"

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "server/rest/interaction_support.h"
#include "server/rest/patient_context.h"
#include "server/rest/resource_gate.h"
#include "server/rest/search_params.h"
#include "server/rest/stored_terminology.h"

namespace server::rest {

namespace {

// At most this many resources are added by _include and _revinclude to one page, and
// :iterate goes at most this deep.
constexpr int kMaxIncluded = 1000;
constexpr int kMaxIterations = 4;

using Key = std::pair<std::string, std::string>;  // (type, id)

// The resources the page's _include and _revinclude add, none of them a match or twice.
fhir::Result<std::vector<store::ResourceVersion>> Included(
    store::Transaction& tx, const std::vector<IncludeSpec>& specs,
    const std::vector<store::ResourceVersion>& matches) {
  std::vector<store::ResourceVersion> included;
  if (specs.empty() || matches.empty()) return included;
  std::set<Key> seen;
  for (const store::ResourceVersion& match : matches) seen.emplace(match.type, match.id);
  // Each round runs the specs over what the previous round added (the matches at first); only
  // :iterate specs run after the first round.
  std::vector<Key> frontier(seen.begin(), seen.end());
  for (int round = 0; round < kMaxIterations && !frontier.empty(); ++round) {
    std::vector<Key> added;
    for (const IncludeSpec& spec : specs) {
      if (round > 0 && !spec.iterate) continue;
      store::IncludeQuery query{.reverse = spec.reverse,
                                .source_type = spec.source_type,
                                .param = spec.param,
                                .target_type = spec.target_type,
                                .limit = kMaxIncluded - static_cast<int>(included.size())};
      for (const Key& key : frontier) {
        // A forward include starts from resources of its source type (any, for "*").
        if (spec.reverse || spec.source_type.empty() || key.first == spec.source_type) {
          query.from.push_back(key);
        }
      }
      auto found = tx.Include(query);
      if (!found.ok()) return std::move(found).error();
      for (store::ResourceVersion& version : *found) {
        if (seen.emplace(version.type, version.id).second) {
          added.emplace_back(version.type, version.id);
          included.push_back(std::move(version));
        }
      }
      if (static_cast<int>(included.size()) >= kMaxIncluded) return included;
    }
    frontier = std::move(added);
  }
  return included;
}

// Screens a page's matches and includes together and drops what the gate withholds; true when
// it withheld anything.
fhir::Result<bool> Screen(ResourceGate& gate, store::Transaction& tx,
                          std::vector<store::ResourceVersion>* matches,
                          std::vector<store::ResourceVersion>* included) {
  std::vector<Outgoing> outgoing;
  outgoing.reserve(matches->size() + included->size());
  for (auto* list : {matches, included}) {
    for (store::ResourceVersion& version : *list) {
      outgoing.push_back({&version.type, &version.id, &version.json, list == matches});
    }
  }
  if (auto screened = gate.Screen(tx, outgoing); !screened.ok()) return screened.error();
  bool withheld = false;
  size_t at = 0;
  for (auto* list : {matches, included}) {
    size_t kept = 0;
    for (size_t i = 0; i < list->size(); ++i, ++at) {
      if (outgoing[at].withheld) {
        withheld = true;
        continue;
      }
      if (kept != i) (*list)[kept] = std::move((*list)[i]);
      ++kept;
    }
    list->resize(kept);
  }
  return withheld;
}

}  // namespace

fhir::Result<FhirResponse> SearchHandler::Type(const FhirRequest& request,
                                               const PathParams& params) const {
  const std::string& type = params.at("type");
  return Run(request, type, request.query, type, std::nullopt);
}

namespace {

// The parameters of a POST .../_search: those of the URL, then those of the form body.
fhir::Result<QueryParams> FormParams(const FhirRequest& request, const std::string& path) {
  if (request.body ||
      (!request.raw_body.empty() && request.content_type != "application/x-www-form-urlencoded")) {
    return fhir::Error::UnsupportedMediaType(
        "http.unsupported-media-type",
        "POST " + path + " takes its parameters as application/x-www-form-urlencoded");
  }
  QueryParams query = request.query;
  auto form = ParseQueryString(request.raw_body);
  if (!form.ok()) return std::move(form).error();
  query.insert(query.end(), form->begin(), form->end());
  return query;
}

}  // namespace

fhir::Result<FhirResponse> SearchHandler::Post(const FhirRequest& request,
                                               const PathParams& params) const {
  const std::string& type = params.at("type");
  auto query = FormParams(request, type + "/_search");
  if (!query.ok()) return std::move(query).error();
  return Run(request, type, *query, type, std::nullopt);
}

fhir::Result<FhirResponse> SearchHandler::System(const FhirRequest& request,
                                                 const PathParams&) const {
  return Run(request, "", request.query, "", std::nullopt);
}

fhir::Result<FhirResponse> SearchHandler::SystemPost(const FhirRequest& request,
                                                     const PathParams&) const {
  auto query = FormParams(request, "_search");
  if (!query.ok()) return std::move(query).error();
  return Run(request, "", *query, "", std::nullopt);
}

fhir::Result<FhirResponse> SearchHandler::Compartment(const FhirRequest& request,
                                                      const PathParams& params) const {
  const std::string& compartment = params.at("compartment");
  const std::string& id = params.at("id");
  const std::string& type = params.at("type");
  const std::vector<std::string>* links = compartments_.Params(compartment, type);
  if (links == nullptr) {
    return fhir::Error::Invalid("search.not-in-compartment",
                                "No " + type + " belongs to a " + compartment + " compartment");
  }
  return Run(request, type, request.query, compartment + "/" + id + "/" + type,
             store::CompartmentFilter{compartment, id, *links});
}

fhir::Result<FhirResponse> SearchHandler::Run(
    const FhirRequest& request, const std::string& type, const QueryParams& query,
    const std::string& path, std::optional<store::CompartmentFilter> compartment) const {
  const search::Registry& registry = RegistryFor(request, registry_);
  // Parameters installed so recently that older resources may not have their rows yet.
  std::vector<std::string> incomplete;
  for (const auto& [name, value] : query) {
    const search::SearchParam* param =
        type.empty() ? nullptr : registry.Find(type, name.substr(0, name.find_first_of(":.")));
    if (param != nullptr && registry.RowsPending(*param)) incomplete.push_back(name);
  }
  std::optional<ParsedSearch> parsed;
  store::SearchPage page;
  std::vector<store::ResourceVersion> included;
  std::optional<std::int64_t> total;
  bool withheld = false;
  auto done = InTransaction(store_, request, [&](store::Transaction& tx) -> fhir::Result<void> {
    // Parsed in the transaction: :in and :not-in may name value sets stored on this server.
    StoredTerminology terminology(terminology_, tx);
    auto parsing = type.empty() ? ParseSystemSearch(registry, query, LenientHandling(request),
                                                    clock_.Now(), &terminology)
                                : ParseSearch(registry, type, query, LenientHandling(request),
                                              clock_.Now(), &terminology);
    if (!parsing.ok()) return std::move(parsing).error();
    parsed = std::move(parsing).value();
    parsed->query.compartment = compartment;
    if (auto restricted = RestrictToPatient(request, compartments_, &parsed->query);
        !restricted.ok()) {
      return restricted;
    }
    bool counting = parsed->count_only || parsed->total == TotalMode::kAccurate ||
                    parsed->total == TotalMode::kEstimate;
    if (counting && request.gate != nullptr) {
      // An estimate is left out rather than refused.
      if (auto may = request.gate->MayCount(tx, type); !may.ok()) {
        if (parsed->count_only || parsed->total != TotalMode::kEstimate) return may;
        counting = false;
      }
    }
    if (counting) {
      auto counted = tx.Count(parsed->query);
      if (!counted.ok()) return std::move(counted).error();
      total = *counted;
      if (parsed->count_only) return {};
    }
    auto found = tx.Search(parsed->query);
    if (!found.ok()) return std::move(found).error();
    page = std::move(found).value();
    auto added = Included(tx, parsed->includes, page.entries);
    if (!added.ok()) return std::move(added).error();
    included = std::move(added).value();
    if (request.gate == nullptr) return {};
    auto screened = Screen(*request.gate, tx, &page.entries, &included);
    if (!screened.ok()) return std::move(screened).error();
    withheld = *screened;
    return {};
  });
  if (!done.ok()) return std::move(done).error();
  // A total would tell how many were withheld.
  if (withheld) total.reset();
  // Without a count, a first page that is also the last tells the total for free.
  if (!total && !withheld && parsed->total != TotalMode::kNone && !parsed->query.after &&
      !page.next && !parsed->count_only) {
    total = static_cast<std::int64_t>(page.entries.size());
  }

  const std::string self =
      request.base_url + (path.empty() ? "" : "/") + path + "?" + parsed->applied +
      (parsed->applied.empty() ? "" : "&") +
      (parsed->count_only ? "_summary=count" : "_count=" + std::to_string(parsed->query.count));
  std::string json = R"({"resourceType":"Bundle","type":"searchset")";
  if (total) json += R"(,"total":)" + std::to_string(*total);
  json += R"(,"link":[{"relation":"self","url":)" +
          JsonString(self + (parsed->query.after ? "&_cursor=" + *parsed->query.after : "")) + "}";
  if (page.next) {
    json += R"(,{"relation":"next","url":)" + JsonString(self + "&_cursor=" + *page.next) + "}";
  }
  json += "]";
  bool first = true;
  auto add_entry = [&](const store::ResourceVersion& version, const char* mode) {
    json += first ? R"(,"entry":[)" : ",";
    first = false;
    json += R"({"fullUrl":)" +
            JsonString(request.base_url + "/" + version.type + "/" + version.id) +
            R"(,"resource":)" + version.json + R"(,"search":{"mode":")" + mode + R"("}})";
  };
  for (const store::ResourceVersion& match : page.entries) add_entry(match, "match");
  for (const store::ResourceVersion& include : included) add_entry(include, "include");
  if (!parsed->ignored.empty() || !incomplete.empty()) {
    json += first ? R"(,"entry":[)" : ",";
    first = false;
    std::string issues;
    for (const std::string& name : incomplete) {
      if (!issues.empty()) issues += ",";
      issues += R"({"severity":"warning","code":"incomplete","diagnostics":)" +
                JsonString("The search parameter " + name +
                           " is new and its index is still being built: resources written "
                           "before it was installed may be missing") +
                R"(,"expression":[)" + JsonString(name) + "]}";
    }
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
  return BundleResponse(std::move(json));
}

}  // namespace server::rest
