// GET [base]/{type}?...: type-level search with the parameters this server indexes so far, `_id`
// and `_lastUpdated` (see search_params.h), answered as a Bundle of type "searchset": the
// matches in id order, `_count` per page (default 100, at most 1000), a self link with the
// parameters applied and a next link with a keyset cursor, so paging stays correct while others
// write. `total` is given when the whole result fits on the first page. Parameters ignored under
// Prefer: handling=lenient are reported in an OperationOutcome entry (search.mode "outcome").
// Thread-safe.
#ifndef SERVER_REST_SEARCH_HANDLER_H_
#define SERVER_REST_SEARCH_HANDLER_H_

#include "fhir/model/definitions.h"
#include "fhir/result.h"
#include "server/rest/fhir_request.h"
#include "server/rest/router.h"
#include "server/search/registry.h"
#include "server/store/store.h"

namespace server::rest {

class SearchHandler {
 public:
  // `store`, `defs`, `registry` and `clock` must outlive the handler.
  SearchHandler(store::Store& store, const fhir::model::Definitions& defs,
                const search::Registry& registry, const store::Clock& clock)
      : store_(store), defs_(defs), registry_(registry), clock_(clock) {}

  // Path parameter: type.
  fhir::Result<FhirResponse> Type(const FhirRequest& request, const PathParams& params) const;

 private:
  store::Store& store_;
  const fhir::model::Definitions& defs_;
  const search::Registry& registry_;
  const store::Clock& clock_;
};

}  // namespace server::rest

#endif  // SERVER_REST_SEARCH_HANDLER_H_
