#include "server/search/reindex.h"

#include <cstdio>

#include "fhir/json/json.h"
#include "server/search/extract.h"

namespace server::search {

namespace {

// Resources per transaction: small enough that writers of a batch's resources wait briefly.
constexpr int kBatch = 200;

// Changes whenever extract.cc turns values into rows differently, so that a new server rebuilds
// rows an older one wrote.
constexpr std::string_view kExtractionRules = "fhirhub-index-2";

}  // namespace

std::string DefinitionsFingerprint(const std::vector<std::string>& search_parameter_jsons) {
  // FNV-1a, 64 bits, over the rules' version and every text with its length.
  std::uint64_t hash = 14695981039346656037ull;
  auto mix = [&hash](std::string_view bytes) {
    for (unsigned char byte : bytes) {
      hash ^= byte;
      hash *= 1099511628211ull;
    }
  };
  mix(kExtractionRules);
  for (const std::string& text : search_parameter_jsons) {
    mix(std::to_string(text.size()));
    mix(text);
  }
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(hash));
  return out;
}

fhir::Result<std::int64_t> Reindexer::Run(const std::atomic<bool>& stop, bool full,
                                          const std::function<void(std::int64_t)>& progress) const {
  std::int64_t done = 0;
  bool first = true;
  while (!stop.load()) {
    auto tx = store_.Begin();
    if (!tx.ok()) return std::move(tx).error();
    auto state = (*tx)->ReadIndexState();
    if (!state.ok()) return std::move(state).error();
    if (state->fingerprint != fingerprint_ || (first && full)) {
      *state = store::IndexState{.fingerprint = fingerprint_};
    } else if (state->complete) {
      return done;
    }
    first = false;
    auto batch = (*tx)->LockCurrent(state->position, kBatch);
    if (!batch.ok()) return std::move(batch).error();
    for (const store::ResourceVersion& version : *batch) {
      // A stored text that no longer parses keeps no rows rather than stopping the run.
      store::IndexEntries rows;
      if (auto resource = fhir::json::Parse(version.json, registry_.definitions()); resource.ok()) {
        if (auto extracted = ExtractIndex(registry_, *resource); extracted.ok()) {
          rows = std::move(extracted).value();
        }
      }
      if (auto replaced = (*tx)->ReplaceIndex(version.type, version.id, rows); !replaced.ok()) {
        return std::move(replaced).error();
      }
    }
    if (batch->empty()) {
      state->complete = true;
    } else {
      state->position = store::ResourceKey{batch->back().type, batch->back().id};
    }
    if (auto saved = (*tx)->WriteIndexState(*state); !saved.ok()) return std::move(saved).error();
    if (auto committed = (*tx)->Commit(); !committed.ok()) return std::move(committed).error();
    done += static_cast<std::int64_t>(batch->size());
    if (!batch->empty() && progress) progress(done);
    if (state->complete) break;
  }
  return done;
}

}  // namespace server::search
