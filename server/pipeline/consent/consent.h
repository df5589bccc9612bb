// The consent policy: what a patient's FHIR R4 Consent resources (scope patient-privacy) allow an
// accessor to read or write. A pure library: no I/O and no clock; the caller loads the patient's
// Consents, passes the current instant, and applies the Decision (docs/consent.md).
//
// Which Consents count. A Consent counts when its status is `active` (draft, proposed, rejected,
// inactive and entered-in-error do not: setting a Consent inactive revokes it), its scope is
// http://terminology.hl7.org/CodeSystem/consentscope|patient-privacy (or the scope carries no
// coding and a category is a privacy one: LOINC 59284-0, 57016-8, 57017-6, 64292-6 or v3-ActCode
// IDSCL, INFA, INFAO, INFASO, INFR), and its root provision's period, when present, contains now.
//
// The provision tree. A provision matches a request when every criterion it has matches; a
// criterion that repeats matches when any of its entries does:
// - actor: the actor's reference equals one of the accessor's references, or a coding of the
//   actor's role equals one of the accessor's roles (as "system|code"). References compare as
//   "Type/id": a base URL and a "/_history/n" suffix are ignored; a Group is not expanded.
// - purpose: the coding's code is one of the accessor's purposes (the system, when present, must
//   be http://terminology.hl7.org/CodeSystem/v3-ActReason).
// - class: the coding names the resource type (system http://hl7.org/fhir/resource-types or no
//   system), or, without a system, equals one of the resource's meta.profile canonicals.
// - code: a coding equals a coding of the resource's `code` element (the system is compared when
//   the provision's coding has one).
// - securityLabel: the resource's meta.security carries the label (system and code); a
//   http://terminology.hl7.org/CodeSystem/v3-Confidentiality label is a high-water mark, as R4
//   defines it: "R" covers resources labelled U, L, M, N or R. Codings of
//   http://terminology.hl7.org/CodeSystem/v3-ObligationPolicy are obligations, not criteria.
// - dataPeriod: the resource's clinically relevant date lies in the period. The date is the first
//   present of effective[x], issued, authoredOn, recordedDate, onset[x], period.start and
//   meta.lastUpdated (a Period counts by its start); a partial date counts by its first instant.
//   A resource without such a date does not match.
// - data: a reference names the resource ("Type/id"). For meaning `instance` and `related` the
//   reference must be the resource itself (the instances a related resource refers to are not
//   resolved); for `dependents` also a resource that refers to it anywhere; for `authoredby` a
//   resource whose author, recorder, asserter, requester or performer is the referenced one.
// - action: a coding of http://terminology.hl7.org/CodeSystem/consentaction (or without system)
//   covers the operation: a read is access, use or disclose; a write is correct or collect.
// - period: the period contains now.
// A provision's type (permit or deny) applies to what it matches; a provision without a type
// takes its parent's. R4 defines no type for the root provision, yet its examples give one: a
// root type is read like any other. Nested provisions are exceptions: they are considered only
// where their parent matches, and the deepest matching provision with a type decides (among
// siblings that match at the same depth, deny wins over permit). A Consent without a provision, or
// whose matching provisions have no type, decides nothing.
//
// Several Consents. Among the counting Consents that decide the request, the one with the latest
// `dateTime` decides (a Consent without a dateTime is older than any with one; dates compare by
// their first instant); on a tie deny wins over mask, and mask over permit. When no Consent
// decides, the DefaultPolicy does.
//
// Masking. A deny whose deciding provision has a securityLabel coding
// http://terminology.hl7.org/CodeSystem/v3-ObligationPolicy|MASK or |REDACT yields kMask: the
// caller releases Mask(resource) instead of the resource.
//
// Break-glass. When the accessor's purposes include BTG or ETREAT, a deny or mask (from a Consent
// or from the opt-in default) becomes kPermit with break_glass set; the caller audits it.
//
// The policy is immutable after From and safe to share between threads.
#ifndef SERVER_PIPELINE_CONSENT_CONSENT_H_
#define SERVER_PIPELINE_CONSENT_CONSENT_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fhir/element.h"
#include "fhir/result.h"
#include "server/rest/principal.h"

namespace server::consent {

enum class Verdict { kPermit, kDeny, kMask };

// Who asks.
struct Accessor {
  // FHIR references the accessor acts as: the user ("Practitioner/12", "PractitionerRole/5") and
  // the organization ("Organization/3").
  std::vector<std::string> references;
  // Role codes as "system|code", mapped from the principal's roles by the caller.
  std::vector<std::string> roles;
  // Purposes of use: codes of http://terminology.hl7.org/CodeSystem/v3-ActReason (TREAT, HPAYMT,
  // HRESCH, ETREAT, BTG, ...).
  std::vector<std::string> purposes;
};

// The accessor a principal is: its fhir_user and organization as references, its purposes of use,
// and `roles` (the caller's mapping of principal.roles to "system|code" codes). Empty fields are
// left out.
Accessor AccessorFor(const rest::Principal& principal, std::vector<std::string> roles);

struct Decision {
  Verdict verdict = Verdict::kPermit;
  // The verdict was turned into kPermit by a BTG or ETREAT purpose; the caller audits it.
  bool break_glass = false;
  // "Consent/id" of the Consent that decided; empty when the default policy decided.
  std::string consent;
  // One line for the audit record, e.g. "denied by Consent/c1 provision 1.2"; never holds
  // resource content.
  std::string reason;
};

enum class DefaultPolicy {
  kOptOut,  // permit unless a Consent denies
  kOptIn,   // deny unless a Consent permits
};

// What the request does with the resource.
enum class Operation {
  kRead,   // consent actions access, use, disclose
  kWrite,  // consent actions correct, collect
};

class ConsentPolicy {
 public:
  // The policy of one patient from that patient's Consent resources, in any status: From keeps
  // the active patient-privacy Consents (other resources are ignored); Decide leaves out those
  // whose period does not contain now. The caller selects the patient's Consents
  // (ConsentPatient); the Consents are not checked against the resources decided on.
  static ConsentPolicy From(std::vector<fhir::Resource> consents, DefaultPolicy default_policy);

  // The decision for `accessor` performing `operation` on `resource` at instant `now`.
  Decision Decide(const Accessor& accessor, const fhir::Resource& resource, Operation operation,
                  std::chrono::system_clock::time_point now) const;

  // The number of Consents kept by From.
  size_t size() const { return consents_.size(); }

 private:
  struct Entry {
    fhir::Resource consent;
    std::string reference;           // "Consent/id"
    std::optional<int64_t> date_ms;  // dateTime's first instant, epoch milliseconds
  };
  ConsentPolicy(std::vector<Entry> consents, DefaultPolicy default_policy)
      : consents_(std::move(consents)), default_policy_(default_policy) {}

  std::vector<Entry> consents_;
  DefaultPolicy default_policy_;
};

// The masked form of a resource, what a kMask verdict releases: resourceType, id, meta (less
// meta.profile, which the reduced resource no longer meets) with the security label
// http://terminology.hl7.org/CodeSystem/v3-ObservationValue|REDACTED added once, status, and the
// references to the patient (subject, patient); nothing clinical, no narrative, no contained
// resources. Fails (500) for an empty resource (consent.mask-empty) and for a type without meta
// (consent.mask-no-meta, which no R4 resource is).
fhir::Result<fhir::Resource> Mask(const fhir::Resource& resource);

// The id of the Patient a Consent is about (Consent.patient, "Patient/id" or an absolute URL
// ending so), or nullopt when the resource is not a Consent or names no Patient.
std::optional<std::string> ConsentPatient(const fhir::Resource& consent);

}  // namespace server::consent

#endif  // SERVER_PIPELINE_CONSENT_CONSENT_H_
