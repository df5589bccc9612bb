// Conditional interactions (conditional create, update and delete, and conditional references in
// transactions) select resources by search criteria: "identifier=...", the query of
// If-None-Exist or of a conditional URL. They use the same parameters as GET [type]?..., but
// strictly: an unsupported parameter is refused, since ignoring it would widen the match.
#ifndef SERVER_REST_CONDITIONAL_H_
#define SERVER_REST_CONDITIONAL_H_

#include <string>
#include <string_view>
#include <vector>

#include "fhir/result.h"
#include "server/rest/fhir_request.h"
#include "server/search/registry.h"
#include "server/store/store.h"
#include "server/terminology/terminology.h"

namespace server::rest {

// The criteria of If-None-Exist ("identifier=x", also accepted as "Patient?identifier=x"), or
// nullopt when the request has none. 400 rest.missing-criteria when the header is empty.
fhir::Result<std::optional<QueryParams>> IfNoneExistCriteria(const FhirRequest& request);

// The criteria of a conditional update or delete: the request's query without the parameters
// that shape the answer (_format, _pretty, _summary, _elements).
QueryParams ConditionalCriteria(const FhirRequest& request);

// The text by which a transaction locks `criteria` of `type` (store::Transaction::LockCriteria):
// "Type?" and the parameters in a fixed order, so that criteria differing only in the order of
// their parameters lock alike.
std::string CriteriaKey(std::string_view type, const QueryParams& criteria);

// Up to two current resources of `type` matching `criteria`: enough to tell none, one and
// several apart. The criteria are locked in `tx` first (CriteriaKey), so a conditional
// interaction that found no match can write before another with the same criteria searches. 400
// rest.missing-criteria for empty criteria, and the search errors of ParseSearch; `where` names the
// header or URL the criteria came from. With `terminology` (the package's), the token modifiers
// :in, :not-in, :below and :above resolve value sets and code systems as a search does
// (StoredTerminology, in `tx`); without, they are refused.
fhir::Result<std::vector<store::ResourceVersion>> FindMatches(
    store::Transaction& tx, const search::Registry& registry, std::string_view type,
    const QueryParams& criteria, std::string_view where,
    const terminology::Terminology* terminology = nullptr);

// 412 rest.multiple-matches: the criteria in `where` select more than one resource.
fhir::Error MultipleMatches(std::string_view where);

}  // namespace server::rest

#endif  // SERVER_REST_CONDITIONAL_H_
