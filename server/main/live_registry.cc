#include "server/main/live_registry.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <utility>

namespace server::main {

namespace {

// How often WaitForOlderRequests looks again: requests release their snapshot without telling.
constexpr std::chrono::milliseconds kRetiredPoll{20};

// Whether a request may have written a SearchParameter: a write to the type, or a batch or
// transaction with an entry whose URL names it (a cheap test; a false alarm costs one read).
bool MayChangeSearchParameters(const rest::FhirRequest& request) {
  switch (request.method) {
    case rest::Method::kPost:
    case rest::Method::kPut:
    case rest::Method::kPatch:
    case rest::Method::kDelete:
      break;
    default:
      return false;
  }
  if (request.path.empty()) {
    if (!request.body) return false;
    for (const fhir::Node* entry : request.body->root()->Children("entry")) {
      const fhir::Node* entry_request = entry->Child("request");
      const fhir::Node* url = entry_request != nullptr ? entry_request->Child("url") : nullptr;
      if (url != nullptr && url->value.find("SearchParameter") != std::string_view::npos) {
        return true;
      }
    }
    return false;
  }
  return request.path == "SearchParameter" || request.path.starts_with("SearchParameter/") ||
         request.path.starts_with("SearchParameter?");
}

}  // namespace

LiveRegistry::LiveRegistry(const SearchDefinitions& definitions, store::Store& store,
                           SearchDefinitions::Built initial)
    : definitions_(definitions), store_(store) {
  latest_ = Snapshot{.registry = std::move(initial.registry),
                     .fingerprint = std::move(initial.fingerprint),
                     .generation = 1};
  stored_ = std::move(initial.stored);
}

std::shared_ptr<const search::Registry> LiveRegistry::Current() const {
  std::lock_guard lock(mutex_);
  return latest_.registry;
}

LiveRegistry::Snapshot LiveRegistry::Latest() const {
  std::lock_guard lock(mutex_);
  return latest_;
}

void LiveRegistry::Answered(const rest::FhirRequest& request, const rest::FhirResponse& response) {
  if (response.status >= 300 || !MayChangeSearchParameters(request)) return;
  auto swapped = Refresh();
  // Only the message id: a database's text may quote values.
  if (!swapped.ok()) {
    std::fprintf(stderr,
                 "fhirhub: search parameters: reloading failed (%s); the previous ones stay in "
                 "use\n",
                 swapped.error().message_id().c_str());
  }
}

fhir::Result<bool> LiveRegistry::Refresh() {
  std::lock_guard refreshing(refresh_mutex_);
  auto stored = SearchDefinitions::ReadStored(store_);
  if (!stored.ok()) return std::move(stored).error();
  {
    std::lock_guard lock(mutex_);
    if (*stored == stored_) return false;
  }
  auto built = definitions_.Build(std::move(stored).value(), Current().get());
  if (!built.ok()) return std::move(built).error();
  const size_t custom = built->registry->CustomDefinitions().size();
  {
    std::lock_guard lock(mutex_);
    stored_ = std::move(built->stored);
    // The same index rows: new texts (a description, a status between two other values) only.
    // The registry in use stays, and with it what it knows of its rows.
    if (built->fingerprint == latest_.fingerprint) return false;
    retired_.push_back(latest_.registry);
    latest_ = Snapshot{.registry = std::move(built->registry),
                       .fingerprint = std::move(built->fingerprint),
                       .generation = latest_.generation + 1};
    interrupt_ = true;
  }
  changed_.notify_all();
  std::fprintf(stderr, "fhirhub: search parameters reloaded (%zu custom)\n", custom);
  return true;
}

void LiveRegistry::WaitForChange(std::uint64_t seen) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return stopped_ || latest_.generation > seen; });
}

bool LiveRegistry::WaitForOlderRequests() {
  std::unique_lock lock(mutex_);
  while (true) {
    std::erase_if(retired_, [](const auto& registry) { return registry.expired(); });
    if (stopped_) return false;
    if (retired_.empty()) return true;
    changed_.wait_for(lock, kRetiredPoll);
  }
}

void LiveRegistry::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    interrupt_ = true;
  }
  changed_.notify_all();
}

bool LiveRegistry::stopped() const {
  std::lock_guard lock(mutex_);
  return stopped_;
}

}  // namespace server::main
