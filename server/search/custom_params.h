// Custom search parameters: SearchParameter resources stored on the server or read from the
// profiles directory, checked before they may join a Registry. A definition that passes
// ValidateCustomSearchParameter loads into a registry with every base type searchable by it.
//
// The rules: `url` and `code` are given, the code is not a common parameter's ("_id"); `type` is
// one the server indexes (not "special"); every `base` is a resource type; the expression selects
// something for each concrete base type and compiles; a composite's components name known,
// non-composite definitions by url and their expressions compile; and the code is not taken on a
// base type, neither by a package parameter (custom parameters never override the standard ones)
// nor by another custom definition (unless it is the same one: same url or same stored resource).
// Pure functions, thread-safe.
#ifndef SERVER_SEARCH_CUSTOM_PARAMS_H_
#define SERVER_SEARCH_CUSTOM_PARAMS_H_

#include <string>
#include <string_view>

#include "fhir/result.h"
#include "server/search/registry.h"

namespace server::search {

// The SearchParameter's status ("active", "draft", "retired", ...); empty when the text is not
// a JSON object or has none.
std::string SearchParameterStatus(std::string_view json);

// Checks one SearchParameter (its JSON text; `id`, if present, identifies the stored resource it
// replaces) against the definitions `registry` holds. Each fault is a 422 issue whose expression
// locates it ("SearchParameter.expression", "SearchParameter.base[1]"): message ids
// search.invalid-definition, and search.code-collision for a code already taken.
fhir::Result<void> ValidateCustomSearchParameter(std::string_view json, const Registry& registry);

// What of a definition the index rows depend on, as one line: for the definitions fingerprint,
// so that storing a new version of a SearchParameter with the same meaning reindexes nothing.
std::string DefinitionKey(const SearchParamDefinition& definition);

}  // namespace server::search

#endif  // SERVER_SEARCH_CUSTOM_PARAMS_H_
