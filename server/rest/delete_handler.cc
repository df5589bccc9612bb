#include "server/rest/delete_handler.h"

#include "server/rest/interaction_support.h"

namespace server::rest {

fhir::Result<FhirResponse> DeleteHandler::Handle(const FhirRequest& request,
                                                 const PathParams& params) const {
  auto expected = ParseIfMatch(request);
  if (!expected.ok()) return std::move(expected).error();
  auto written = InTransaction(store_, request, [&](store::Transaction& tx) {
    return tx.Write({.type = params.at("type"),
                     .id = params.at("id"),
                     .expected_version = *expected,
                     .is_delete = true});
  });
  if (!written.ok()) return std::move(written).error();
  FhirResponse response;
  response.status = 204;
  response.headers.emplace_back("etag", WeakETag(written->stamp.version));
  return response;
}

}  // namespace server::rest
