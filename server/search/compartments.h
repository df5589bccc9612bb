// Compartments (compartmentdefinition.html): which resources belong to a patient's, an
// encounter's, a practitioner's, a related person's or a device's compartment, and through which
// reference parameters, from the package's CompartmentDefinition resources. Immutable after
// loading; safe to share between threads.
#ifndef SERVER_SEARCH_COMPARTMENTS_H_
#define SERVER_SEARCH_COMPARTMENTS_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fhir/result.h"

namespace server::search {

class Compartments {
 public:
  // Parses CompartmentDefinition JSON texts; only the five base compartments (Patient,
  // Encounter, RelatedPerson, Practitioner, Device) are kept, other definitions (examples) are
  // skipped. Fails when a text is not a CompartmentDefinition.
  static fhir::Result<std::unique_ptr<Compartments>> Load(const std::vector<std::string>& jsons);

  // The reference parameters of `resource_type` that put a resource into a compartment of
  // `compartment_type`; nullptr when no resource of the type belongs to such a compartment.
  const std::vector<std::string>* Params(std::string_view compartment_type,
                                         std::string_view resource_type) const;

 private:
  std::map<std::pair<std::string, std::string>, std::vector<std::string>, std::less<>> params_;
};

}  // namespace server::search

#endif  // SERVER_SEARCH_COMPARTMENTS_H_
