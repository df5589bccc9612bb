// Search (search.html), answered as a Bundle of type "searchset": the matches in id order (or
// by _sort), `_count` per page (default 100, at most 1000), resources added by _include and
// _revinclude (search.mode "include"), a self link with the parameters applied and a next link
// with a keyset cursor, so paging stays correct while others write. `total` is given when it is
// free (the whole result on the first page) or asked for (_total, _summary=count). Parameters
// ignored under Prefer: handling=lenient are reported in an OperationOutcome entry (search.mode
// "outcome"). The parameters themselves: search_params.h. Thread-safe.
//   GET  [base]/{type}?...                type level
//   POST [base]/{type}/_search            the same, parameters in a form body (and the URL)
//   GET  [base]/{compartment}/{id}/{type} within a compartment, e.g. Patient/123/Observation
//   GET  [base]?_type=...&...             system level: the types of _type, or every type
//   POST [base]/_search                   the same, parameters in a form body (and the URL)
#ifndef SERVER_REST_SEARCH_HANDLER_H_
#define SERVER_REST_SEARCH_HANDLER_H_

#include <optional>
#include <string>

#include "fhir/model/definitions.h"
#include "fhir/result.h"
#include "server/rest/fhir_request.h"
#include "server/rest/router.h"
#include "server/search/compartments.h"
#include "server/search/registry.h"
#include "server/store/store.h"
#include "server/terminology/terminology.h"

namespace server::rest {

class SearchHandler {
 public:
  // Everything passed must outlive the handler.
  // `terminology` (the package's value sets and code systems) serves the token modifiers :in,
  // :not-in, :below and :above, with the ValueSet and CodeSystem resources stored on the server
  // (stored_terminology.h).
  SearchHandler(store::Store& store, const fhir::model::Definitions& defs,
                const search::Registry& registry, const search::Compartments& compartments,
                const terminology::Terminology& terminology, const store::Clock& clock)
      : store_(store),
        defs_(defs),
        registry_(registry),
        compartments_(compartments),
        terminology_(terminology),
        clock_(clock) {}

  // Path parameter: type.
  fhir::Result<FhirResponse> Type(const FhirRequest& request, const PathParams& params) const;
  // Path parameter: type. 415 http.unsupported-media-type for a body that is not a form.
  fhir::Result<FhirResponse> Post(const FhirRequest& request, const PathParams& params) const;
  // Path parameters: compartment, id, type. 400 search.not-in-compartment when no resource of
  // the type belongs to such a compartment.
  fhir::Result<FhirResponse> Compartment(const FhirRequest& request,
                                         const PathParams& params) const;
  // System level (search_params.h, ParseSystemSearch); no path parameters.
  fhir::Result<FhirResponse> System(const FhirRequest& request, const PathParams& params) const;
  // System level with a form body. 415 http.unsupported-media-type for a body that is not a form.
  fhir::Result<FhirResponse> SystemPost(const FhirRequest& request, const PathParams& params) const;

 private:
  // Runs the search of `type` (every type of _type, or every type, when empty) with `query` and
  // answers the Bundle; `path` is the request path the links repeat (without the query).
  fhir::Result<FhirResponse> Run(const FhirRequest& request, const std::string& type,
                                 const QueryParams& query, const std::string& path,
                                 std::optional<store::CompartmentFilter> compartment) const;

  store::Store& store_;
  const fhir::model::Definitions& defs_;
  const search::Registry& registry_;
  const search::Compartments& compartments_;
  const terminology::Terminology& terminology_;
  const store::Clock& clock_;
};

}  // namespace server::rest

#endif  // SERVER_REST_SEARCH_HANDLER_H_
