// The registry of a running server, replaced when the custom search parameters change. Requests
// take a snapshot as they arrive (rest/registry_source.h) and keep it until answered; after a
// request that may have changed a SearchParameter (a successful write to SearchParameter, or a
// batch or transaction naming one) the definitions are read again from the store and, when they
// differ, a new registry is built and swapped in before that request is answered. Its writers'
// own later requests therefore index and search with it.
//
// The background reindexer follows the swaps: each swap bumps a generation and raises
// interrupt(), which stops a rebuild in progress; the reindexer then waits until every request
// that started with an older registry has finished (so none of their writes, indexed the old way,
// can land behind it) and rebuilds with the newest one.
//
// Only this process learns of changes: servers sharing a database with it do not see its
// SearchParameter writes until they restart. Thread-safe.
#ifndef SERVER_MAIN_LIVE_REGISTRY_H_
#define SERVER_MAIN_LIVE_REGISTRY_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fhir/result.h"
#include "server/main/search_definitions.h"
#include "server/rest/registry_source.h"
#include "server/store/store.h"

namespace server::main {

class LiveRegistry final : public rest::RegistrySource {
 public:
  struct Snapshot {
    std::shared_ptr<const search::Registry> registry;
    std::string fingerprint;
    std::uint64_t generation = 0;
  };

  // `definitions` and `store` must outlive the object; `initial` is generation 1.
  LiveRegistry(const SearchDefinitions& definitions, store::Store& store,
               SearchDefinitions::Built initial);

  std::shared_ptr<const search::Registry> Current() const override;
  void Answered(const rest::FhirRequest& request, const rest::FhirResponse& response) override;

  // Reads the stored definitions and swaps in a new registry when what the index depends on
  // changed. Returns whether it swapped. On failure the registry stays as it was.
  fhir::Result<bool> Refresh();

  Snapshot Latest() const;
  // Raised by each swap and by Stop; the reindexer clears it before it takes Latest().
  const std::atomic<bool>& interrupt() const { return interrupt_; }
  void ClearInterrupt() { interrupt_ = false; }
  // Blocks until the generation is past `seen`, or Stop.
  void WaitForChange(std::uint64_t seen);
  // Blocks until no request holds a registry older than the latest, or Stop. Returns false on
  // Stop.
  bool WaitForOlderRequests();
  // Ends the waits for good and raises interrupt().
  void Stop();
  bool stopped() const;

 private:
  const SearchDefinitions& definitions_;
  store::Store& store_;
  std::mutex refresh_mutex_;  // one Refresh at a time, so the newest read is swapped in last

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  Snapshot latest_;
  std::vector<std::string> stored_;  // what latest_ was built from
  std::vector<std::weak_ptr<const search::Registry>> retired_;
  bool stopped_ = false;
  std::atomic<bool> interrupt_{false};
};

}  // namespace server::main

#endif  // SERVER_MAIN_LIVE_REGISTRY_H_
