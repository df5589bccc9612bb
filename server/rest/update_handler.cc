#include "server/rest/update_handler.h"

#include <string>

#include "server/rest/interaction_support.h"

namespace server::rest {

fhir::Result<FhirResponse> UpdateHandler::Handle(const FhirRequest& request,
                                                 const PathParams& params) const {
  const std::string& type = params.at("type");
  const std::string& id = params.at("id");
  auto body = RequireBody(request, type);
  if (!body.ok()) return std::move(body).error();
  const fhir::Node* body_id = (*body)->root()->Child("id");
  if (body_id == nullptr || !body_id->has_value) {
    return fhir::Error::Invalid("rest.missing-id", "An update must carry the resource id",
                                type + ".id");
  }
  if (body_id->value != id) {
    return fhir::Error::Invalid("rest.id-mismatch", "The resource id must equal the id in the URL",
                                type + ".id");
  }
  auto expected = ParseIfMatch(request);
  if (!expected.ok()) return std::move(expected).error();

  store::ResourceVersion stored{.type = type, .id = id};
  auto written = InTransaction(store_, request, [&](store::Transaction& tx) {
    return tx.Write({.type = type,
                     .id = id,
                     .expected_version = *expected,
                     .render = [&](const store::VersionStamp& stamp) -> fhir::Result<std::string> {
                       stored.json = RenderForStore(**body, id, stamp);
                       return stored.json;
                     }});
  });
  if (!written.ok()) return std::move(written).error();
  stored.stamp = written->stamp;
  return WriteAnswer(request, written->created ? 201 : 200, stored, defs_);
}

}  // namespace server::rest
