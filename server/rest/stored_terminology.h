// The terminology a search resolves canonical URLs against: the definitions package's value sets
// and code systems first, then the ValueSet and CodeSystem resources stored on this server (the
// current one whose `url`, and `version` when given, match; the most recently written when
// several do), read through the search's own transaction, so a value set is usable as soon as
// its write commits, and within a transaction Bundle after the entry that writes it. A stored
// resource is read and parsed at most once per StoredTerminology.
//
// Belongs to one request (one thread) and must not outlive its transaction.
#ifndef SERVER_REST_STORED_TERMINOLOGY_H_
#define SERVER_REST_STORED_TERMINOLOGY_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "fhir/result.h"
#include "server/store/store.h"
#include "server/terminology/terminology.h"

namespace server::rest {

class StoredTerminology final : public terminology::Source {
 public:
  StoredTerminology(const terminology::Terminology& package, store::Transaction& tx)
      : package_(package), tx_(tx) {}

  // Store errors are returned as they are; a stored resource that cannot be read as a ValueSet
  // or CodeSystem is 400 terminology.invalid-value-set or terminology.invalid-code-system.
  fhir::Result<const terminology::ValueSet*> FindValueSet(std::string_view url,
                                                          std::string_view version) override;
  fhir::Result<const terminology::CodeSystem*> FindCodeSystem(std::string_view url,
                                                              std::string_view version) override;

 private:
  // The JSON of the stored resource of `type` with the url and version; nullopt when none.
  fhir::Result<std::optional<std::string>> ReadStored(std::string_view type, std::string_view url,
                                                      std::string_view version);

  const terminology::Terminology& package_;
  store::Transaction& tx_;
  // "url|version" -> the stored resource, or nullptr when the store has none.
  std::map<std::string, std::unique_ptr<terminology::ValueSet>, std::less<>> value_sets_;
  std::map<std::string, std::unique_ptr<terminology::CodeSystem>, std::less<>> code_systems_;
};

}  // namespace server::rest

#endif  // SERVER_REST_STORED_TERMINOLOGY_H_
