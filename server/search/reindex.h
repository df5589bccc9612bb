// Keeping the search index in step with the search parameter definitions. The index state records
// which definitions (by fingerprint) built the rows; when the server starts with other
// definitions (an upgrade, or data written before resources were indexed) the Reindexer rebuilds
// every current resource's rows, a batch per transaction, with the batch's resources locked
// against writers only while their rows are replaced. The position is saved with each batch, so an
// interrupted run resumes where it stopped. Searches keep working meanwhile; until the run
// completes they may miss resources not reindexed yet.
#ifndef SERVER_SEARCH_REINDEX_H_
#define SERVER_SEARCH_REINDEX_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/result.h"
#include "server/search/registry.h"
#include "server/store/store.h"

namespace server::search {

// A fingerprint of the definitions the index rows are built from: the SearchParameter texts and
// the version of the extraction rules. Not a security hash: it only tells definitions apart.
std::string DefinitionsFingerprint(const std::vector<std::string>& search_parameter_jsons);

class Reindexer {
 public:
  // `store` and `registry` must outlive the reindexer.
  Reindexer(store::Store& store, const Registry& registry, std::string fingerprint)
      : store_(store), registry_(registry), fingerprint_(std::move(fingerprint)) {}

  // Rebuilds what the index state says is missing: nothing when the index was completed with
  // this fingerprint, else from the saved position (from the start when the fingerprint changed
  // or `full`). Returns how many resources were reindexed; stops early, with the position saved,
  // once `stop` is set. `progress` is called after each batch with the running count.
  fhir::Result<std::int64_t> Run(const std::atomic<bool>& stop, bool full,
                                 const std::function<void(std::int64_t)>& progress) const;

 private:
  store::Store& store_;
  const Registry& registry_;
  const std::string fingerprint_;
};

}  // namespace server::search

#endif  // SERVER_SEARCH_REINDEX_H_
