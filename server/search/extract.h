// The search index rows of a resource: every search parameter of its type evaluated over it and
// each result converted by the parameter's type. Thread-safe: a pure function of its arguments.
#ifndef SERVER_SEARCH_EXTRACT_H_
#define SERVER_SEARCH_EXTRACT_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fhir/element.h"
#include "fhir/result.h"
#include "server/search/compartments.h"
#include "server/search/normalize.h"
#include "server/search/registry.h"
#include "server/store/index_entries.h"

namespace server::search {

// Rows are deduplicated. Values that do not convert (a string where a date is expected, a
// malformed date) and parameters whose evaluation fails on this resource are skipped: odd data
// never fails a write. Special parameters give no rows; a composite gives its components' rows, one
// group per item (see index_entries.h); `_text` and `_content` give a full-text document each
// (full_text.h). Fails only for an empty resource.
//
// `_id` and `_lastUpdated` (IsResourceColumn) give no rows either: the store keeps them with the
// resource itself.
fhir::Result<server::store::IndexEntries> ExtractIndex(const Registry& registry,
                                                       const fhir::Resource& resource);

// A UCUM quantity in base units: the value ("1 kg" -> "1000") and the text of the base units'
// exponents in a fixed order ("g", "m-3.g", "1" for a dimensionless unit); temperatures convert
// to kelvin with their offsets. nullopt when the value is not a decimal or the unit does not
// convert. Indexing and search both use it, so their canonical forms agree.
// The `param` of the rows of a composite's component `index` (from 0): "code-value-quantity$1".
std::string ComponentCode(std::string_view composite, size_t index);

// The search parameters kept with the resource itself (`_id`, `_lastUpdated`) rather than in
// index rows.
bool IsResourceColumn(std::string_view code);

std::optional<std::pair<std::string, std::string>> CanonicalQuantity(std::string_view value,
                                                                     std::string_view code);

// The ids of the resources of `compartment_type` ("Patient") whose compartment holds `resource`:
// its own id when it is of that type, and the targets of that type of its compartment links
// (relative references; an Observation's subject and performer). Empty for a resource outside
// such compartments.
std::vector<std::string> CompartmentOwners(const Registry& registry,
                                           const Compartments& compartments,
                                           std::string_view compartment_type,
                                           const fhir::Resource& resource);

}  // namespace server::search

#endif  // SERVER_SEARCH_EXTRACT_H_
