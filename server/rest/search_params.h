// The query of a type-level search as the store runs it: query strings decoded, `_id` and
// `_lastUpdated` (kept on the resource itself), every other parameter of the type's
// SearchParameter definitions as a condition on its index rows (server/search/criteria.h), and
// the result parameters. GET [type]?..., conditional create/update/delete and conditional
// references in transactions all share it.
//
//   auto parsed = ParseSearch(registry, "Patient", request.query, LenientHandling(request), now);
//   tx.Search(parsed->query);
//
// Errors (400): search.unknown-parameter (a parameter this server does not know for the type,
// unless the client asked for lenient handling), search.invalid-value (a malformed value, prefix
// or modifier), search.invalid-date, search.unsupported-modifier, search.unsupported-parameter.
// Each names the parameter in the expression. Pure functions, thread-safe.
#ifndef SERVER_REST_SEARCH_PARAMS_H_
#define SERVER_REST_SEARCH_PARAMS_H_

#include <string>
#include <string_view>
#include <vector>

#include "fhir/result.h"
#include "server/rest/fhir_request.h"
#include "server/search/registry.h"
#include "server/store/store.h"

namespace server::rest {

// "a=1&b=x%20y" -> {{"a","1"},{"b","x y"}}: '&'-separated, '+' and %XX decoded. A leading '?' is
// skipped. Bad percent escapes are 400 search.invalid-value.
fhir::Result<QueryParams> ParseQueryString(std::string_view text);

// The inverse for one value: everything but unreserved characters percent-encoded.
std::string PercentEncode(std::string_view text);

// Prefer: handling=lenient asks that unknown parameters be ignored rather than refused.
bool LenientHandling(const FhirRequest& request);

struct ParsedSearch {
  store::SearchQuery query;
  // The parameters applied, encoded as a query string (for the Bundle's self link).
  std::string applied;
  // Parameters ignored under lenient handling.
  std::vector<std::string> ignored;
};

// Builds the store query for a type-level search from its parameters (name/value pairs as
// received; commas separate alternatives, repeats must all hold). `now` anchors the `ap` prefix.
// `name:modifier` applies a modifier.
// The result parameters `_count` and `_cursor` are read into the query; `_format`, `_pretty`,
// `_summary` and `_elements` shape the answer and are skipped here.
fhir::Result<ParsedSearch> ParseSearch(const search::Registry& registry, std::string_view type,
                                       const QueryParams& params, bool lenient,
                                       store::Timestamp now);

}  // namespace server::rest

#endif  // SERVER_REST_SEARCH_PARAMS_H_
