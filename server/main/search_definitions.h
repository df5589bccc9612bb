// The search parameter definitions `fhirhub serve` and `fhirhub reindex` run with: the FHIR
// package's, the SearchParameter files of the profiles directory (--profiles), and the active
// SearchParameter resources stored in the database, in that order of precedence, loaded into one
// Registry together with the fingerprint of what its index rows depend on.
#ifndef SERVER_MAIN_SEARCH_DEFINITIONS_H_
#define SERVER_MAIN_SEARCH_DEFINITIONS_H_

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fhir/model/definitions.h"
#include "fhir/result.h"
#include "server/search/registry.h"
#include "server/store/store.h"

namespace server::main {

class SearchDefinitions {
 public:
  // A registry with its fingerprint (search/reindex.h) and the texts of the stored definitions
  // it was built from.
  struct Built {
    std::shared_ptr<const search::Registry> registry;
    std::string fingerprint;
    std::vector<std::string> stored;
  };

  // Reads the package's SearchParameter files and, when `profiles_dir` is given, every *.json
  // file in it (not recursing). Each file must be a SearchParameter; those with status active or
  // draft are used, each checked as a custom definition (search/custom_params.h). Fails naming
  // the first file that cannot be read or fails the checks. `defs` must outlive the object.
  static fhir::Result<std::unique_ptr<SearchDefinitions>> Load(
      const std::optional<std::string>& package,
      const std::optional<std::filesystem::path>& profiles_dir,
      const fhir::model::Definitions& defs);

  // The texts of the active SearchParameter resources `store` holds, in id order.
  static fhir::Result<std::vector<std::string>> ReadStored(store::Store& store);

  // The registry of the package, the profiles and `stored` (texts as ReadStored gives them).
  // A stored definition that no longer loads (its code now taken by a profile, say) is left out.
  // With `previous`, the registry it replaces, custom definitions that differ from all of
  // previous' are marked Registry::MarkRowsPending.
  fhir::Result<Built> Build(std::vector<std::string> stored,
                            const search::Registry* previous = nullptr) const;

  size_t profile_count() const { return profiles_.size(); }

 private:
  SearchDefinitions(const fhir::model::Definitions& defs, std::vector<std::string> package,
                    std::vector<std::string> profiles)
      : defs_(defs), package_(std::move(package)), profiles_(std::move(profiles)) {}

  const fhir::model::Definitions& defs_;
  std::vector<std::string> package_;
  std::vector<std::string> profiles_;
};

}  // namespace server::main

#endif  // SERVER_MAIN_SEARCH_DEFINITIONS_H_
