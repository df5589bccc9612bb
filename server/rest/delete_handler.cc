#include "server/rest/delete_handler.h"

#include "server/rest/conditional.h"
#include "server/rest/interaction_support.h"
#include "server/rest/resource_gate.h"

namespace server::rest {

namespace {

FhirResponse Deleted(const std::optional<store::WriteResult>& written) {
  FhirResponse response;
  response.status = 204;
  if (written) response.headers.emplace_back("etag", WeakETag(written->stamp.version));
  return response;
}

}  // namespace

fhir::Result<FhirResponse> DeleteHandler::Handle(const FhirRequest& request,
                                                 const PathParams& params) const {
  auto expected = ParseIfMatch(request);
  if (!expected.ok()) return std::move(expected).error();
  auto written = InTransaction(store_, request, [&](store::Transaction& tx) {
    return tx.Write({.type = params.at("type"),
                     .id = params.at("id"),
                     .expected_version = *expected,
                     .is_delete = true,
                     .method = "DELETE"});
  });
  if (!written.ok()) return std::move(written).error();
  return Deleted(*written);
}

fhir::Result<FhirResponse> DeleteHandler::Conditional(const FhirRequest& request,
                                                      const PathParams& params) const {
  const std::string& type = params.at("type");
  const QueryParams criteria = ConditionalCriteria(request);
  auto written = InTransaction(
      store_, request,
      [&](store::Transaction& tx) -> fhir::Result<std::optional<store::WriteResult>> {
        auto matches = FindMatches(tx, RegistryFor(request, registry_), type, criteria, type + "?",
                                   terminology_);
        if (!matches.ok()) return std::move(matches).error();
        if (matches->size() > 1) return MultipleMatches(type + "?");
        if (matches->empty()) return std::optional<store::WriteResult>();
        store::ResourceVersion& match = matches->front();
        // Only what the sender may see can be deleted through criteria.
        if (auto screened = ScreenMatch(request.gate, tx, match, type + "?"); !screened.ok()) {
          return std::move(screened).error();
        }
        auto deleted = tx.Write({.type = type,
                                 .id = match.id,
                                 .expected_version = match.stamp.version,
                                 .is_delete = true,
                                 .method = "DELETE"});
        if (!deleted.ok()) return std::move(deleted).error();
        return std::optional<store::WriteResult>(*deleted);
      });
  if (!written.ok()) return std::move(written).error();
  return Deleted(*written);
}

}  // namespace server::rest
