#include "server/rest/patient_context.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace server::rest {

namespace {

fhir::Result<void> Restrict(const std::string& patient, const search::Compartments& compartments,
                            store::SearchQuery* query);

// A nested query (a chain's target, a `_has` source), copied and bounded.
fhir::Result<void> RestrictNested(const std::string& patient,
                                  const search::Compartments& compartments,
                                  std::shared_ptr<const store::SearchQuery>* nested) {
  if (*nested == nullptr) return {};
  auto copy = std::make_shared<store::SearchQuery>(**nested);
  if (auto restricted = Restrict(patient, compartments, copy.get()); !restricted.ok()) {
    return restricted;
  }
  *nested = std::move(copy);
  return {};
}

fhir::Result<void> RestrictConditions(const std::string& patient,
                                      const search::Compartments& compartments,
                                      std::vector<store::IndexCondition>* conditions) {
  for (store::IndexCondition& condition : *conditions) {
    for (store::RowTest& test : condition.any) {
      if (auto* reference = std::get_if<store::ReferenceTest>(&test)) {
        if (auto nested = RestrictNested(patient, compartments, &reference->target); !nested.ok()) {
          return nested;
        }
      } else if (auto* composite = std::get_if<store::CompositeTest>(&test)) {
        if (auto nested = RestrictConditions(patient, compartments, &composite->components);
            !nested.ok()) {
          return nested;
        }
      }
    }
  }
  return {};
}

fhir::Result<void> Restrict(const std::string& patient, const search::Compartments& compartments,
                            store::SearchQuery* query) {
  if (query->type.empty()) {
    if (query->types.empty()) {
      return fhir::Error::Forbidden(
          "auth.patient-context-types",
          "A search across types in a patient context must name its types with _type");
    }
    for (store::SearchQuery& typed : query->types) {
      if (auto restricted = Restrict(patient, compartments, &typed); !restricted.ok()) {
        return restricted;
      }
    }
  } else if (query->compartment) {
    if (query->compartment->type != "Patient" || query->compartment->id != patient) {
      return fhir::Error::Forbidden("auth.patient-context",
                                    "In this patient context only the compartment of Patient/" +
                                        patient + " can be searched");
    }
  } else if (query->type == "Patient") {
    std::vector<std::string> ids = {patient};
    if (query->ids &&
        std::find(query->ids->begin(), query->ids->end(), patient) == query->ids->end()) {
      ids.clear();
    }
    query->ids = std::move(ids);
  } else if (const std::vector<std::string>* links = compartments.Params("Patient", query->type)) {
    query->compartment = store::CompartmentFilter{"Patient", patient, *links};
  }
  if (auto conditions = RestrictConditions(patient, compartments, &query->conditions);
      !conditions.ok()) {
    return conditions;
  }
  for (store::ReverseChain& has : query->has) {
    if (auto nested = RestrictNested(patient, compartments, &has.source); !nested.ok()) {
      return nested;
    }
  }
  return {};
}

}  // namespace

fhir::Result<void> RestrictToPatient(const FhirRequest& request,
                                     const search::Compartments& compartments,
                                     store::SearchQuery* query) {
  if (request.principal == nullptr || !request.principal->patient) return {};
  return Restrict(*request.principal->patient, compartments, query);
}

}  // namespace server::rest
