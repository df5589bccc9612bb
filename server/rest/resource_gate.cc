#include "server/rest/resource_gate.h"

namespace server::rest {

fhir::Result<void> ScreenOne(ResourceGate* gate, store::Transaction& tx,
                             store::ResourceVersion& version) {
  if (gate == nullptr || version.deleted) return {};
  Outgoing outgoing{&version.type, &version.id, &version.json};
  if (auto screened = gate->Screen(tx, std::span(&outgoing, 1)); !screened.ok()) return screened;
  if (outgoing.withheld) return gate->Refusal(outgoing);
  return {};
}

fhir::Result<void> ScreenMatch(ResourceGate* gate, store::Transaction& tx,
                               store::ResourceVersion& version, std::string_view where) {
  auto screened = ScreenOne(gate, tx, version);
  if (screened.ok()) return screened;
  const int status = screened.error().http_status();
  std::vector<fhir::Issue> issues = screened.error().issues();
  for (fhir::Issue& issue : issues) {
    issue.text = status == 404 ? "No resource matches " + std::string(where)
                               : "What " + std::string(where) +
                                     " selects is withheld from this "
                                     "request";
    issue.expression = std::string(where);
  }
  return fhir::Error(status, std::move(issues));
}

fhir::Result<void> ScreenWrite(ResourceGate* gate, store::Transaction& tx,
                               const fhir::Resource& resource) {
  if (gate == nullptr) return {};
  return gate->MayWrite(tx, resource);
}

}  // namespace server::rest
