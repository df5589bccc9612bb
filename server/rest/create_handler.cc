#include "server/rest/create_handler.h"

#include <string>

#include "server/rest/conditional.h"
#include "server/rest/resource_gate.h"

namespace server::rest {

fhir::Result<FhirResponse> CreateHandler::Handle(const FhirRequest& request,
                                                 const PathParams& params) const {
  const std::string& type = params.at("type");
  auto body = RequireBody(request, type);
  if (!body.ok()) return std::move(body).error();
  auto criteria = IfNoneExistCriteria(request);
  if (!criteria.ok()) return std::move(criteria).error();

  // What was stored, or the resource that already matched a conditional create.
  store::ResourceVersion stored{.type = type};
  bool created = false;
  auto done = InTransaction(store_, request, [&](store::Transaction& tx) -> fhir::Result<void> {
    if (*criteria) {
      auto matches = FindMatches(tx, RegistryFor(request, registry_), type, **criteria,
                                 "If-None-Exist", terminology_);
      if (!matches.ok()) return std::move(matches).error();
      if (matches->size() > 1) return MultipleMatches("If-None-Exist");
      if (matches->size() == 1) {
        stored = std::move(matches->front());
        created = false;
        // The match is answered only to whom may see it.
        return ScreenMatch(request.gate, tx, stored, "If-None-Exist");
      }
    }
    if (auto permitted = ScreenWrite(request.gate, tx, **body); !permitted.ok()) return permitted;
    stored.id = request.assigned_id.empty() ? ids_.NewId() : request.assigned_id;
    auto written = tx.Write({.type = type,
                             .id = stored.id,
                             .new_id = true,
                             .method = "POST",
                             .render = [&](const store::VersionStamp& stamp) {
                               auto rendered = RenderForStore(**body, stored.id, stamp,
                                                              RegistryFor(request, registry_));
                               if (rendered.ok()) stored.json = rendered->json;
                               return rendered;
                             }});
    if (!written.ok()) return std::move(written).error();
    stored.stamp = written->stamp;
    created = true;
    return {};
  });
  if (!done.ok()) return std::move(done).error();
  return WriteAnswer(request, created ? 201 : 200, stored, defs_);
}

}  // namespace server::rest
