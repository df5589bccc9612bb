#include "server/rest/create_handler.h"

#include <string>

namespace server::rest {

fhir::Result<FhirResponse> CreateHandler::Handle(const FhirRequest& request,
                                                 const PathParams& params) const {
  const std::string& type = params.at("type");
  auto body = RequireBody(request, type);
  if (!body.ok()) return std::move(body).error();
  store::ResourceVersion stored{.type = type, .id = ids_.NewId()};
  auto written = InTransaction(store_, request, [&](store::Transaction& tx) {
    return tx.Write({.type = type,
                     .id = stored.id,
                     .render = [&](const store::VersionStamp& stamp) -> fhir::Result<std::string> {
                       stored.json = RenderForStore(**body, stored.id, stamp);
                       return stored.json;
                     }});
  });
  if (!written.ok()) return std::move(written).error();
  stored.stamp = written->stamp;
  return WriteAnswer(request, 201, stored, defs_);
}

}  // namespace server::rest
