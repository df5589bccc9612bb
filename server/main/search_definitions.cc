#include "server/main/search_definitions.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "server/main/fhir_package.h"
#include "server/search/custom_params.h"
#include "server/search/reindex.h"

namespace server::main {

namespace {

constexpr int kStoredPage = 1000;

fhir::Error FileError(const std::filesystem::path& file, const std::string& text) {
  return fhir::Error::Invalid("search.profiles-file", file.filename().string() + ": " + text);
}

}  // namespace

fhir::Result<std::unique_ptr<SearchDefinitions>> SearchDefinitions::Load(
    const std::optional<std::string>& package,
    const std::optional<std::filesystem::path>& profiles_dir,
    const fhir::model::Definitions& defs) {
  auto package_texts = ReadPackageSearchParameters(package);
  if (!package_texts.ok()) return std::move(package_texts).error();
  std::vector<std::string> profiles;
  std::vector<std::filesystem::path> files;
  if (profiles_dir) {
    std::error_code ec;
    for (std::filesystem::directory_iterator it(*profiles_dir, ec), end; !ec && it != end;
         it.increment(ec)) {
      if (it->path().extension() == ".json" && it->is_regular_file()) files.push_back(it->path());
    }
    if (ec) {
      return fhir::Error::Invalid(
          "search.profiles-dir",
          "the profiles directory " + profiles_dir->string() + " cannot be read");
    }
    std::sort(files.begin(), files.end());
    std::vector<std::filesystem::path> used;
    for (const auto& file : files) {
      std::ifstream in(file, std::ios::binary);
      if (!in) return FileError(file, "cannot be read");
      std::ostringstream content;
      content << in.rdbuf();
      std::string text = std::move(content).str();
      if (auto alone = search::Registry::Load({}, defs, {text}); !alone.ok()) {
        return FileError(file, alone.error().text());
      }
      const std::string status = search::SearchParameterStatus(text);
      if (status != "active" && status != "draft") {
        if (status.empty()) return FileError(file, "has no status");
        continue;
      }
      profiles.push_back(std::move(text));
      used.push_back(file);
    }
    files = std::move(used);
  }
  // Each file is checked against all of them, so that composites may use each other's
  // components; a code two files define is a collision.
  if (!profiles.empty()) {
    auto registry = search::Registry::Load(*package_texts, defs, profiles);
    if (!registry.ok()) return std::move(registry).error();
    for (size_t i = 0; i < profiles.size(); ++i) {
      if (auto valid = search::ValidateCustomSearchParameter(profiles[i], **registry);
          !valid.ok()) {
        const fhir::Issue& issue = valid.error().issues().front();
        return FileError(files[i], issue.expression + ": " + issue.text);
      }
    }
  }
  return std::unique_ptr<SearchDefinitions>(
      new SearchDefinitions(defs, std::move(package_texts).value(), std::move(profiles)));
}

fhir::Result<std::vector<std::string>> SearchDefinitions::ReadStored(store::Store& store) {
  std::vector<std::string> texts;
  auto tx = store.Begin();
  if (!tx.ok()) return std::move(tx).error();
  store::SearchQuery query{.type = "SearchParameter", .count = kStoredPage};
  while (true) {
    auto page = (*tx)->Search(query);
    if (!page.ok()) return std::move(page).error();
    for (store::ResourceVersion& version : page->entries) {
      if (search::SearchParameterStatus(version.json) == "active") {
        texts.push_back(std::move(version.json));
      }
    }
    if (!page->next) break;
    query.after = page->next;
  }
  if (auto done = (*tx)->Commit(); !done.ok()) return std::move(done).error();
  return texts;
}

fhir::Result<SearchDefinitions::Built> SearchDefinitions::Build(
    std::vector<std::string> stored, const search::Registry* previous) const {
  std::vector<std::string> custom = profiles_;
  custom.insert(custom.end(), stored.begin(), stored.end());
  auto registry = search::Registry::Load(package_, defs_, custom);
  if (!registry.ok()) return std::move(registry).error();
  // Without custom definitions the fingerprint is the package's alone, as before they existed;
  // with them, what of each one the rows depend on, so a new description reindexes nothing.
  std::set<std::string> previous_keys;
  if (previous != nullptr) {
    for (const search::SearchParamDefinition* definition : previous->CustomDefinitions()) {
      previous_keys.insert(search::DefinitionKey(*definition));
    }
  }
  std::vector<std::string> keys;
  for (const search::SearchParamDefinition* definition : (*registry)->CustomDefinitions()) {
    keys.push_back(search::DefinitionKey(*definition));
    if (previous != nullptr && !previous_keys.contains(keys.back())) {
      (*registry)->MarkRowsPending(definition);
    }
  }
  std::string fingerprint;
  if (keys.empty()) {
    fingerprint = search::DefinitionsFingerprint(package_);
  } else {
    std::sort(keys.begin(), keys.end());
    std::vector<std::string> texts = package_;
    texts.insert(texts.end(), keys.begin(), keys.end());
    fingerprint = search::DefinitionsFingerprint(texts);
  }
  return Built{.registry = std::shared_ptr<const search::Registry>(std::move(registry).value()),
               .fingerprint = std::move(fingerprint),
               .stored = std::move(stored)};
}

}  // namespace server::main
