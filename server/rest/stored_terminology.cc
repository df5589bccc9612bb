#include "server/rest/stored_terminology.h"

#include <utility>

namespace server::rest {

namespace {

std::string Key(std::string_view url, std::string_view version) {
  return std::string(url) + "|" + std::string(version);
}

// Finds `key` in `cache`, or parses what `read` returns and keeps it (nullptr for nothing).
template <typename T, typename Read>
fhir::Result<const T*> Cached(std::map<std::string, std::unique_ptr<T>, std::less<>>& cache,
                              const std::string& key, Read&& read) {
  if (auto it = cache.find(key); it != cache.end()) return it->second.get();
  auto json = read();
  if (!json.ok()) return std::move(json).error();
  std::unique_ptr<T> parsed;
  if (*json) {
    auto resource = T::Parse(**json);
    if (!resource.ok()) return std::move(resource).error();
    parsed = std::move(resource).value();
  }
  return cache.emplace(key, std::move(parsed)).first->second.get();
}

}  // namespace

fhir::Result<std::optional<std::string>> StoredTerminology::ReadStored(std::string_view type,
                                                                       std::string_view url,
                                                                       std::string_view version) {
  store::SearchQuery query{.type = std::string(type)};
  query.conditions.push_back({.kind = store::IndexKind::kUri,
                              .param = "url",
                              .any = {store::UriTest{.value = std::string(url)}}});
  if (!version.empty()) {
    query.conditions.push_back({.kind = store::IndexKind::kToken,
                                .param = "version",
                                .any = {store::TokenTest{.code = std::string(version)}}});
  }
  query.sort = {store::SortKey{.param = "_lastUpdated", .descending = true}};
  query.count = 1;
  auto page = tx_.Search(query);
  if (!page.ok()) return std::move(page).error();
  if (page->entries.empty()) return std::optional<std::string>();
  return std::optional<std::string>(std::move(page->entries.front().json));
}

fhir::Result<const terminology::ValueSet*> StoredTerminology::FindValueSet(
    std::string_view url, std::string_view version) {
  if (const terminology::ValueSet* found = package_.FindValueSet(url, version)) return found;
  return Cached(value_sets_, Key(url, version),
                [&] { return ReadStored("ValueSet", url, version); });
}

fhir::Result<const terminology::CodeSystem*> StoredTerminology::FindCodeSystem(
    std::string_view url, std::string_view version) {
  if (const terminology::CodeSystem* found = package_.FindCodeSystem(url, version)) return found;
  return Cached(code_systems_, Key(url, version),
                [&] { return ReadStored("CodeSystem", url, version); });
}

}  // namespace server::rest
