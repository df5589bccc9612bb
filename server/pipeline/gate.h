// RequestGate: the pipeline's ResourceGate for one request (or one Bundle entry). It releases a
// resource only when the principal may read its type (scopes and roles), it lies in the patient
// context's compartment when the token has one, and the residents' consent permits it (or masks
// it); a break-glass purpose of use overrides a consent deny and is noted for the audit record.
// It also gathers, for that record, the patients and resources the answer concerned. One object
// per request, used by the request's thread only.
#ifndef SERVER_PIPELINE_GATE_H_
#define SERVER_PIPELINE_GATE_H_

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "fhir/model/definitions.h"
#include "server/pipeline/auth/scopes.h"
#include "server/pipeline/consent/consent.h"
#include "server/rest/principal.h"
#include "server/rest/resource_gate.h"
#include "server/search/compartments.h"
#include "server/search/registry.h"

namespace server::pipeline {

struct GateOptions {
  // Whether residents' consent is enforced at all; off only for measuring what it costs, with
  // authentication off too.
  bool consent = true;
  consent::DefaultPolicy consent_default = consent::DefaultPolicy::kOptOut;
  // Answer a direct read of a withheld resource with 404, as if it did not exist, instead of 403.
  bool hide_withheld = false;
};

class RequestGate : public rest::ResourceGate {
 public:
  // Everything must outlive the gate.
  RequestGate(const GateOptions& options, const fhir::model::Definitions& defs,
              const search::Registry& registry, const search::Compartments& compartments,
              const rest::Principal& principal, const auth::ScopeSet& scopes,
              std::chrono::system_clock::time_point now);

  fhir::Result<void> Screen(store::Transaction& tx, std::span<rest::Outgoing> resources) override;
  fhir::Error Refusal(const rest::Outgoing& resource) const override;
  fhir::Result<void> MayCount(store::Transaction& tx, const std::string& type) override;

  // The token reads `type` only under query constraints (SMART v2), and the request's own search
  // carries them: its matches of that type may be released.
  void Constrained(const std::string& type) { constrained_.insert(type); }
  // `reference` ("Type/id") was found by the token's query constraints.
  void Verified(const std::string& reference) { verified_.insert(reference); }
  // The request writes resources of `type`, which the scopes allowed: what it changes is screened
  // for the patient context and consent even when the token may not read the type.
  void Writes(const std::string& type) { written_types_.insert(type); }

  // The decision on storing `resource` (what a create, update or patch writes): 403
  // auth.patient-context when a patient context's token would write outside that patient's
  // compartment, 403 consent.denied when a Consent of one of its patients forbids it.
  fhir::Result<void> MayWrite(store::Transaction& tx, const fhir::Resource& resource) override;

  // For the audit record: the patients whose resources were released or written (ids), the
  // resources released ("Type/id"), and whether a break-glass purpose overrode a deny.
  const std::set<std::string>& patients() const { return patients_; }
  const std::vector<std::string>& released() const { return released_; }
  bool break_glass() const { return break_glass_; }
  int withheld() const { return withheld_; }

 private:
  // The policies of these patients, read once per request and kept for its other answers.
  fhir::Result<void> LoadPolicies(store::Transaction& tx, const std::set<std::string>& patients);
  // The worst decision of the patients' policies on the resource.
  consent::Decision Decide(const std::vector<std::string>& owners, const fhir::Resource& resource,
                           consent::Operation operation) const;
  bool MayRead(const std::string& type) const;

  const GateOptions& options_;
  const fhir::model::Definitions& defs_;
  const search::Registry& registry_;
  const search::Compartments& compartments_;
  const rest::Principal& principal_;
  const auth::ScopeSet& scopes_;
  const std::chrono::system_clock::time_point now_;
  consent::Accessor accessor_;
  std::map<std::string, consent::ConsentPolicy, std::less<>> policies_;
  mutable std::map<std::string, bool, std::less<>> readable_;
  std::map<std::string, std::string, std::less<>> reasons_;  // "Type/id" -> why withheld
  std::set<std::string, std::less<>> constrained_;
  std::set<std::string, std::less<>> verified_;
  std::set<std::string, std::less<>> written_types_;
  std::set<std::string> patients_;
  std::vector<std::string> released_;
  bool break_glass_ = false;
  int withheld_ = 0;
};

// The role codes a consent provision's actor.role can name for the fhirhub roles:
// urn:fhirhub:role|clinician, ... (auth::RoleName).
std::vector<std::string> ConsentRoles(const rest::Principal& principal);

}  // namespace server::pipeline

#endif  // SERVER_PIPELINE_GATE_H_
