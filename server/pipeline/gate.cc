#include "server/pipeline/gate.h"

#include <algorithm>
#include <utility>

#include "fhir/json/json.h"
#include "server/pipeline/auth/roles.h"
#include "server/search/extract.h"

namespace server::pipeline {

namespace {

constexpr std::string_view kRoleSystem = "urn:fhirhub:role";

// Consent search over the index: the Consents of `patients`, or every active Consent.
store::SearchQuery ConsentQuery(const std::set<std::string>& patients) {
  store::SearchQuery query;
  query.type = "Consent";
  query.count = 1000;
  // Run for every resident a request touches: the same few shapes, values of similar cost.
  query.reuse_plan = true;
  if (patients.empty()) {
    store::IndexCondition active;
    active.kind = store::IndexKind::kToken;
    active.param = "status";
    active.any.push_back(store::TokenTest{.code = "active"});
    query.conditions.push_back(std::move(active));
    return query;
  }
  store::IndexCondition of;
  of.kind = store::IndexKind::kReference;
  of.param = "patient";
  for (const std::string& patient : patients) {
    of.any.push_back(store::ReferenceTest{.target_type = "Patient", .target_id = patient});
  }
  query.conditions.push_back(std::move(of));
  return query;
}

int Severity(consent::Verdict verdict) {
  switch (verdict) {
    case consent::Verdict::kPermit:
      return 0;
    case consent::Verdict::kMask:
      return 1;
    case consent::Verdict::kDeny:
      return 2;
  }
  return 2;
}

}  // namespace

std::vector<std::string> ConsentRoles(const rest::Principal& principal) {
  std::vector<std::string> roles;
  for (rest::Role role : principal.roles) {
    roles.push_back(std::string(kRoleSystem) + "|" + std::string(auth::RoleName(role)));
  }
  return roles;
}

RequestGate::RequestGate(const GateOptions& options, const fhir::model::Definitions& defs,
                         const search::Registry& registry, const search::Compartments& compartments,
                         const rest::Principal& principal, const auth::ScopeSet& scopes,
                         std::chrono::system_clock::time_point now)
    : options_(options),
      defs_(defs),
      registry_(registry),
      compartments_(compartments),
      principal_(principal),
      scopes_(scopes),
      now_(now),
      accessor_(consent::AccessorFor(principal, ConsentRoles(principal))) {}

bool RequestGate::MayRead(const std::string& type) const {
  auto [it, inserted] = readable_.try_emplace(type, false);
  if (inserted) {
    // A resource an include brings, or a history entry, is released only to who may read its
    // type; one the token reads only under a query constraint is not released on its own.
    auto grant = auth::Decide(principal_, scopes_, auth::Permission::kRead, type);
    it->second = grant.ok() && grant->unconstrained();
  }
  return it->second;
}

fhir::Result<void> RequestGate::LoadPolicies(store::Transaction& tx,
                                             const std::set<std::string>& patients) {
  std::set<std::string> missing;
  for (const std::string& patient : patients) {
    if (!policies_.contains(patient)) missing.insert(patient);
  }
  if (missing.empty()) return {};
  std::map<std::string, std::vector<fhir::Resource>, std::less<>> consents;
  store::SearchQuery query = ConsentQuery(missing);
  for (;;) {
    auto page = tx.Search(query);
    if (!page.ok()) return std::move(page).error();
    for (const store::ResourceVersion& version : page->entries) {
      auto parsed = fhir::json::Parse(version.json, defs_);
      if (!parsed.ok()) continue;  // stored resources parse; a Consent that does not, counts not
      std::optional<std::string> patient = consent::ConsentPatient(*parsed);
      if (patient && missing.contains(*patient)) {
        consents[*patient].push_back(std::move(parsed).value());
      }
    }
    if (!page->next) break;
    query.after = page->next;
  }
  for (const std::string& patient : missing) {
    auto found = consents.find(patient);
    policies_.emplace(patient, consent::ConsentPolicy::From(found == consents.end()
                                                                ? std::vector<fhir::Resource>()
                                                                : std::move(found->second),
                                                            options_.consent_default));
  }
  return {};
}

consent::Decision RequestGate::Decide(const std::vector<std::string>& owners,
                                      const fhir::Resource& resource,
                                      consent::Operation operation) const {
  consent::Decision worst;
  for (const std::string& owner : owners) {
    auto policy = policies_.find(owner);
    if (policy == policies_.end()) continue;
    consent::Decision decision = policy->second.Decide(accessor_, resource, operation, now_);
    if (Severity(decision.verdict) > Severity(worst.verdict) ||
        (decision.break_glass && !worst.break_glass &&
         Severity(decision.verdict) == Severity(worst.verdict))) {
      worst = std::move(decision);
    }
  }
  return worst;
}

fhir::Result<void> RequestGate::Screen(store::Transaction& tx,
                                       std::span<rest::Outgoing> resources) {
  struct Parsed {
    fhir::Resource resource;
    std::vector<std::string> owners;
  };
  std::vector<std::optional<Parsed>> parsed(resources.size());
  std::set<std::string> owners;
  const std::optional<std::string>& context = principal_.patient;
  auto withhold = [&](rest::Outgoing& outgoing, std::string reason) {
    outgoing.withheld = true;
    ++withheld_;
    reasons_[*outgoing.type + "/" + *outgoing.id] = std::move(reason);
  };
  for (size_t i = 0; i < resources.size(); ++i) {
    rest::Outgoing& outgoing = resources[i];
    if (!MayRead(*outgoing.type) && !written_types_.contains(*outgoing.type) &&
        !(outgoing.match && constrained_.contains(*outgoing.type)) &&
        !verified_.contains(*outgoing.type + "/" + *outgoing.id)) {
      withhold(outgoing, "auth.scope-denied");
      continue;
    }
    const bool in_compartment =
        *outgoing.type == "Patient" || compartments_.Params("Patient", *outgoing.type) != nullptr;
    if (!in_compartment || (!options_.consent && !context)) continue;
    if (outgoing.json->empty()) {
      // A delete entry of a history: nothing to read, and nothing to tell whose it was.
      if (context && !(*outgoing.type == "Patient" && *outgoing.id == *context)) {
        withhold(outgoing, "auth.patient-context");
      }
      continue;
    }
    auto resource = fhir::json::Parse(*outgoing.json, defs_);
    if (!resource.ok()) {
      withhold(outgoing, "consent.unreadable");
      continue;
    }
    Parsed item{std::move(resource).value(), {}};
    item.owners = search::CompartmentOwners(registry_, compartments_, "Patient", item.resource);
    if (context &&
        std::find(item.owners.begin(), item.owners.end(), *context) == item.owners.end()) {
      withhold(outgoing, "auth.patient-context");
      continue;
    }
    owners.insert(item.owners.begin(), item.owners.end());
    parsed[i] = std::move(item);
  }
  if (!options_.consent) owners.clear();
  if (auto loaded = LoadPolicies(tx, owners); !loaded.ok()) return loaded;
  for (size_t i = 0; i < resources.size(); ++i) {
    rest::Outgoing& outgoing = resources[i];
    if (outgoing.withheld) continue;
    if (parsed[i]) {
      consent::Decision decision =
          Decide(parsed[i]->owners, parsed[i]->resource, consent::Operation::kRead);
      if (decision.verdict == consent::Verdict::kDeny) {
        withhold(outgoing, "consent.denied");
        continue;
      }
      if (decision.verdict == consent::Verdict::kMask) {
        auto masked = consent::Mask(parsed[i]->resource);
        if (!masked.ok()) {
          withhold(outgoing, "consent.denied");
          continue;
        }
        *outgoing.json = fhir::json::Write(*masked);
      }
      break_glass_ = break_glass_ || decision.break_glass;
      patients_.insert(parsed[i]->owners.begin(), parsed[i]->owners.end());
    }
    released_.push_back(*outgoing.type + "/" + *outgoing.id);
  }
  return {};
}

fhir::Error RequestGate::Refusal(const rest::Outgoing& resource) const {
  const std::string reference = *resource.type + "/" + *resource.id;
  if (options_.hide_withheld) {
    return fhir::Error::NotFound("rest.unknown-resource", reference + " does not exist");
  }
  auto reason = reasons_.find(reference);
  const std::string id = reason == reasons_.end() ? "auth.denied" : reason->second;
  if (id == "consent.denied") {
    return fhir::Error::Forbidden(id,
                                  "The patient's consent does not permit access to " + reference);
  }
  if (id == "auth.patient-context") {
    return fhir::Error::Forbidden(id, reference + " is outside the patient context of this token");
  }
  return fhir::Error::Forbidden(id, "This token does not permit reading " + reference);
}

fhir::Result<void> RequestGate::MayCount(store::Transaction& tx, const std::string& type) {
  if (!type.empty() && type != "Patient" && compartments_.Params("Patient", type) == nullptr) {
    return {};
  }
  if (!options_.consent) return {};
  auto refused = [&] {
    return fhir::Error::Forbidden("consent.count-refused",
                                  "Counts are not given while residents' consent filters what "
                                  "a search returns: a count would tell what was withheld");
  };
  if (options_.consent_default == consent::DefaultPolicy::kOptIn) return refused();
  auto active = tx.Count(ConsentQuery({}));
  if (!active.ok()) return std::move(active).error();
  if (*active > 0) return refused();
  return {};
}

fhir::Result<void> RequestGate::MayWrite(store::Transaction& tx, const fhir::Resource& resource) {
  std::vector<std::string> owners =
      search::CompartmentOwners(registry_, compartments_, "Patient", resource);
  if (principal_.patient) {
    // A resource of the Patient compartment written in a patient context must stay in it, however
    // the request came to write it (a create, an update, a patch moving its subject).
    const std::string type(resource.resource_type());
    const bool shared = type != "Patient" && compartments_.Params("Patient", type) == nullptr;
    if (!shared && std::find(owners.begin(), owners.end(), *principal_.patient) == owners.end()) {
      return fhir::Error::Forbidden(
          "auth.patient-context",
          "A write in this patient context must belong to Patient/" + *principal_.patient);
    }
  }
  if (owners.empty() || !options_.consent) return {};
  if (auto loaded = LoadPolicies(tx, std::set<std::string>(owners.begin(), owners.end()));
      !loaded.ok()) {
    return loaded;
  }
  consent::Decision decision = Decide(owners, resource, consent::Operation::kWrite);
  patients_.insert(owners.begin(), owners.end());
  if (decision.verdict != consent::Verdict::kPermit) {
    return fhir::Error::Forbidden("consent.denied",
                                  "The patient's consent does not permit this write");
  }
  break_glass_ = break_glass_ || decision.break_glass;
  return {};
}

}  // namespace server::pipeline
