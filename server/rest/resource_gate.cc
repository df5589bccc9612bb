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

}  // namespace server::rest
