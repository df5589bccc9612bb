// ResourceGate: the last check on what leaves the server, and on what the residents' consent lets
// a request write. Handlers hand it every resource they are about to send (a read, the matches and
// includes of a search page, history entries) and send only what it releases, possibly in a
// reduced (masked) form; and every resource they are about to store, in the transaction that
// stores it. The pipeline implements it with the
// request's principal (scopes, patient context) and the residents' consent; rest/ only declares
// it, so handlers stay free of policy.
#ifndef SERVER_REST_RESOURCE_GATE_H_
#define SERVER_REST_RESOURCE_GATE_H_

#include <span>
#include <string>

#include "fhir/element.h"
#include "fhir/result.h"
#include "server/store/store.h"

namespace server::rest {

// One resource on its way out: its type and id, and its JSON (empty for a delete entry of a
// history). Screening sets `withheld`, or replaces `json` with a masked form.
struct Outgoing {
  const std::string* type = nullptr;
  const std::string* id = nullptr;
  std::string* json = nullptr;
  // A match of the request's own search (not an include), so it met the search's criteria.
  bool match = false;
  bool withheld = false;
};

class ResourceGate {
 public:
  virtual ~ResourceGate() = default;

  // Screens the resources of one answer together (one lookup of consent for all of them), reading
  // what it needs through `tx`, the transaction the handler read them in. Fails only when that
  // lookup fails; then the handler answers the error.
  virtual fhir::Result<void> Screen(store::Transaction& tx, std::span<Outgoing> resources) = 0;

  // The answer to a direct read of a withheld resource: 403, or 404 where the deployment hides
  // the existence of what it withholds.
  virtual fhir::Error Refusal(const Outgoing& resource) const = 0;

  // Whether a search of `type` may report how many resources match (`_summary=count`,
  // `_total=accurate`): not when screening could withhold some of them, since the number would
  // tell what was withheld. Fails with the error to answer.
  virtual fhir::Result<void> MayCount(store::Transaction& tx, const std::string& type) = 0;

  // Whether the request may store `resource` (what a create, update or patch would write), read
  // through `tx`, the transaction that writes it, so that a Consent committed before it is
  // decided on. Fails with the error to answer.
  virtual fhir::Result<void> MayWrite(store::Transaction& tx, const fhir::Resource& resource) = 0;
};

// Screens one resource read directly: the error to answer when it is withheld.
fhir::Result<void> ScreenOne(ResourceGate* gate, store::Transaction& tx,
                             store::ResourceVersion& version);

// Screens a resource that search criteria selected (`where`: the header or URL they came from).
// The error to answer names the criteria, not the resource, whose id the sender did not know.
fhir::Result<void> ScreenMatch(ResourceGate* gate, store::Transaction& tx,
                               store::ResourceVersion& version, std::string_view where);

// The gate's decision on storing `resource`; no gate permits everything.
fhir::Result<void> ScreenWrite(ResourceGate* gate, store::Transaction& tx,
                               const fhir::Resource& resource);

}  // namespace server::rest

#endif  // SERVER_REST_RESOURCE_GATE_H_
