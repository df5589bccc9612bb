// The query of a type-level or system-level search as the store runs it: query strings decoded,
// `_id` and `_lastUpdated` (kept on the resource itself), every other parameter of the type's
// SearchParameter definitions as a condition on its index rows (server/search/criteria.h), and
// the result parameters. GET [type]?..., conditional create/update/delete and conditional
// references in transactions all share it.
//
//   auto parsed = ParseSearch(registry, "Patient", request.query, LenientHandling(request), now);
//   tx.Search(parsed->query);
//
// Errors (400): search.unknown-parameter (a parameter this server does not know for the type,
// unless the client asked for lenient handling), search.invalid-value (a malformed value, prefix
// or modifier), search.invalid-date, search.unsupported-modifier, search.unsupported-parameter,
// search.invalid-sort, and those of the terminology modifiers (server/terminology/expansion.h);
// at system level also search.unknown-type (a _type that is no concrete resource type). Each
// names the parameter in the expression. Pure functions apart from what `terminology`
// reads, thread-safe.
#ifndef SERVER_REST_SEARCH_PARAMS_H_
#define SERVER_REST_SEARCH_PARAMS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/result.h"
#include "server/rest/fhir_request.h"
#include "server/search/registry.h"
#include "server/store/store.h"
#include "server/terminology/terminology.h"

namespace server::rest {

// "a=1&b=x%20y" -> {{"a","1"},{"b","x y"}}: '&'-separated, '+' and %XX decoded. A leading '?' is
// skipped. Bad percent escapes are 400 search.invalid-value.
fhir::Result<QueryParams> ParseQueryString(std::string_view text);

// The inverse for one value: everything but unreserved characters percent-encoded.
std::string PercentEncode(std::string_view text);

// Prefer: handling=lenient asks that unknown parameters be ignored rather than refused.
bool LenientHandling(const FhirRequest& request);

// An _include or _revinclude: Type:param[:target], Type:* or * (source_type and param empty).
struct IncludeSpec {
  bool reverse = false;
  bool iterate = false;
  std::string source_type;
  std::string param;
  std::optional<std::string> target_type;
};

// _total: how hard to work for Bundle.total.
enum class TotalMode { kDefault, kNone, kEstimate, kAccurate };

struct ParsedSearch {
  store::SearchQuery query;
  std::vector<IncludeSpec> includes;
  TotalMode total = TotalMode::kDefault;
  bool count_only = false;  // _summary=count
  // The parameters applied, encoded as a query string (for the Bundle's self link).
  std::string applied;
  // Parameters ignored under lenient handling.
  std::vector<std::string> ignored;
};

// Builds the store query for a type-level search from its parameters (name/value pairs as
// received; commas separate alternatives, repeats must all hold). `now` anchors the `ap` prefix.
// `name:modifier` applies a modifier; `ref[:Type].name` chains through a reference parameter
// (up to four levels) and `_has:Type:ref:name` selects by what refers to the resource. The result
// parameters `_count`, `_cursor`, `_sort`, `_include`, `_revinclude`, `_total` and
// `_summary=count` are read too; `_format`, `_pretty`, `_elements` and other `_summary` values
// shape the answer and are skipped here. `terminology` resolves the value sets and code systems
// of the token modifiers :in, :not-in, :below and :above; without one they are refused
// (search.unsupported-modifier).
fhir::Result<ParsedSearch> ParseSearch(const search::Registry& registry, std::string_view type,
                                       const QueryParams& params, bool lenient,
                                       store::Timestamp now,
                                       terminology::Source* terminology = nullptr);

// Builds the store query of a system-level search (GET [base]?...): the resources of the types
// listed in `_type` (commas separate types; a repeated `_type` keeps the types of both), or of
// every type without one. Parameters defined for every resource type (SystemParameter), `_id`,
// `_lastUpdated` and `_has` hold for every type; with `_type`, a parameter that every listed
// type defines holds with each type's own definition (query.types). `_sort` takes `_id`,
// `_lastUpdated` and parameters of every searched type with one kind of index; `_include` starts
// from a searched type. The self link's parameters (`applied`) start with the `_type` applied.
fhir::Result<ParsedSearch> ParseSystemSearch(const search::Registry& registry,
                                             const QueryParams& params, bool lenient,
                                             store::Timestamp now,
                                             terminology::Source* terminology = nullptr);

// Whether a parameter is defined for every resource type (SearchParameter.base Resource), as
// `_tag`, `_profile`, `_security` and `_source` are: a search across every type takes it.
bool IsSystemParameter(const search::SearchParam& param);

// The parameters IsSystemParameter holds for, by code.
std::vector<const search::SearchParam*> SystemParameters(const search::Registry& registry);

}  // namespace server::rest

#endif  // SERVER_REST_SEARCH_PARAMS_H_
