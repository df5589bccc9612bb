// Search parameters as this server applies them before the full search engine exists: query
// strings, FHIR date values as time ranges, and the type-level parameters `_id` and
// `_lastUpdated`, which GET [type]?..., conditional create/update/delete and conditional
// references in transactions all share.
//
//   auto parsed = ParseSearch("Patient", request.query, Leniency(request));
//   tx.Search(parsed->query);
//
// Errors (400): search.unknown-parameter (a parameter this server does not support, unless the
// client asked for lenient handling), search.invalid-value (a malformed value, prefix or
// modifier), search.invalid-date. Each names the parameter in the expression.
// Pure functions, thread-safe.
#ifndef SERVER_REST_SEARCH_PARAMS_H_
#define SERVER_REST_SEARCH_PARAMS_H_

#include <string>
#include <string_view>
#include <vector>

#include "fhir/result.h"
#include "server/rest/fhir_request.h"
#include "server/store/store.h"

namespace server::rest {

// "a=1&b=x%20y" -> {{"a","1"},{"b","x y"}}: '&'-separated, '+' and %XX decoded. A leading '?' is
// skipped. Bad percent escapes are 400 search.invalid-value.
fhir::Result<QueryParams> ParseQueryString(std::string_view text);

// The inverse for one value: everything but unreserved characters percent-encoded.
std::string PercentEncode(std::string_view text);

// A FHIR date, dateTime or instant as the half-open range of instants it denotes: "2024" is the
// whole year, "2024-03-01T10:00:00.5Z" the tenth of a second. A time without a zone is taken as
// UTC. 400 search.invalid-date when `text` is not such a value.
struct TimeRange {
  store::Timestamp begin;
  store::Timestamp end;  // exclusive
};
fhir::Result<TimeRange> ParseTimeRange(std::string_view text, std::string_view parameter);

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
// The result parameters `_count` and `_cursor` are read into the query; `_format`, `_pretty`,
// `_summary` and `_elements` shape the answer and are skipped here.
fhir::Result<ParsedSearch> ParseSearch(std::string_view type, const QueryParams& params,
                                       bool lenient, store::Timestamp now);

}  // namespace server::rest

#endif  // SERVER_REST_SEARCH_PARAMS_H_
