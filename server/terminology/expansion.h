// ValueSet expansion and CodeSystem subsumption over a Source, for the token modifiers :in,
// :not-in, :below and :above.
//
// Expansion: `expansion.contains` when the ValueSet has one (nested entries included), else its
// `compose`: the union of the includes minus the union of the excludes, where each include or
// exclude is its explicit concepts, or every concept of its (loaded) system narrowed by its
// filters, intersected with each value set it imports. Filters: is-a, descendent-of, is-not-a,
// generalizes (on the hierarchy), =, in, not-in (on a property, or on `concept`/`code`) and
// exists. A version is only compared when given.
//
// Errors (400, each naming `parameter` in the expression): search.unknown-value-set,
// search.unknown-code-system (not loaded, or loaded without its concepts),
// search.unknown-code, search.invalid-value-set (an import cycle, a filter this server does not
// evaluate, a value set with neither expansion nor compose), search.value-set-too-large (more
// than kMaxCodes codes), and the Source's own errors. Thread-safe when the Source is used by one
// thread.
#ifndef SERVER_TERMINOLOGY_EXPANSION_H_
#define SERVER_TERMINOLOGY_EXPANSION_H_

#include <cstddef>
#include <string_view>
#include <vector>

#include "fhir/result.h"
#include "server/terminology/terminology.h"

namespace server::terminology {

// The most codes an expansion or subsumption may give: each becomes a test of the search, and a
// statement of more alternatives is not worth running.
inline constexpr size_t kMaxCodes = 10'000;

// The codes of the ValueSet `canonical` ("url" or "url|version"), sorted, each once.
fhir::Result<std::vector<Code>> Expand(Source& source, std::string_view canonical,
                                       std::string_view parameter);

enum class Subsumption {
  kBelow,  // the code and every code it subsumes
  kAbove,  // the code and every code that subsumes it
};

// The codes of `system` below or above `code` (the code included), in hierarchy order.
fhir::Result<std::vector<Code>> Subsumed(Source& source, std::string_view system,
                                         std::string_view code, Subsumption direction,
                                         std::string_view parameter);

}  // namespace server::terminology

#endif  // SERVER_TERMINOLOGY_EXPANSION_H_
