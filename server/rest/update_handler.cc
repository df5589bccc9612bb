#include "server/rest/update_handler.h"

#include <string>

#include "server/rest/conditional.h"
#include "server/rest/interaction_support.h"
#include "server/rest/resource_gate.h"

namespace server::rest {

namespace {

// The body's id, or nullptr when it has none.
const fhir::Node* BodyId(const fhir::Resource& body) {
  const fhir::Node* id = body.root()->Child("id");
  return id != nullptr && id->has_value ? id : nullptr;
}

fhir::Error IdMismatch(const std::string& type, const char* text) {
  return fhir::Error::Invalid("rest.id-mismatch", text, type + ".id");
}

}  // namespace

fhir::Result<store::WriteResult> UpdateHandler::Write(store::Transaction& tx,
                                                      const FhirRequest& request,
                                                      const fhir::Resource& body,
                                                      const std::string& id,
                                                      std::optional<std::int64_t> expected,
                                                      store::ResourceVersion* stored) const {
  if (auto permitted = ScreenWrite(request.gate, tx, body); !permitted.ok()) {
    return std::move(permitted).error();
  }
  const search::Registry& registry = RegistryFor(request, registry_);
  stored->id = id;
  auto written = tx.Write({.type = stored->type,
                           .id = id,
                           .expected_version = expected,
                           .method = "PUT",
                           .render = [&](const store::VersionStamp& stamp) {
                             auto rendered = RenderForStore(body, id, stamp, registry);
                             if (rendered.ok()) stored->json = rendered->json;
                             return rendered;
                           }});
  if (written.ok()) stored->stamp = written->stamp;
  return written;
}

fhir::Result<FhirResponse> UpdateHandler::Handle(const FhirRequest& request,
                                                 const PathParams& params) const {
  const std::string& type = params.at("type");
  const std::string& id = params.at("id");
  auto body = RequireBody(request, type);
  if (!body.ok()) return std::move(body).error();
  const fhir::Node* body_id = BodyId(**body);
  if (body_id == nullptr) {
    return fhir::Error::Invalid("rest.missing-id", "An update must carry the resource id",
                                type + ".id");
  }
  if (body_id->value != id) {
    return IdMismatch(type, "The resource id must equal the id in the URL");
  }
  auto expected = ParseIfMatch(request);
  if (!expected.ok()) return std::move(expected).error();

  store::ResourceVersion stored{.type = type};
  auto written = InTransaction(store_, request, [&](store::Transaction& tx) {
    return Write(tx, request, **body, id, *expected, &stored);
  });
  if (!written.ok()) return std::move(written).error();
  return WriteAnswer(request, written->created ? 201 : 200, stored, defs_);
}

fhir::Result<FhirResponse> UpdateHandler::Conditional(const FhirRequest& request,
                                                      const PathParams& params) const {
  const std::string& type = params.at("type");
  auto body = RequireBody(request, type);
  if (!body.ok()) return std::move(body).error();
  auto expected = ParseIfMatch(request);
  if (!expected.ok()) return std::move(expected).error();
  const QueryParams criteria = ConditionalCriteria(request);
  const fhir::Node* body_id = BodyId(**body);

  store::ResourceVersion stored{.type = type};
  auto written = InTransaction(
      store_, request, [&](store::Transaction& tx) -> fhir::Result<store::WriteResult> {
        auto matches = FindMatches(tx, RegistryFor(request, registry_), type, criteria, type + "?",
                                   terminology_);
        if (!matches.ok()) return std::move(matches).error();
        if (matches->size() > 1) return MultipleMatches(type + "?");
        if (matches->size() == 1) {
          store::ResourceVersion& match = matches->front();
          // Only what the sender may see can be changed through criteria.
          if (auto screened = ScreenMatch(request.gate, tx, match, type + "?"); !screened.ok()) {
            return std::move(screened).error();
          }
          if (body_id != nullptr && body_id->value != match.id) {
            return IdMismatch(type, "The resource id differs from the id of the matching resource");
          }
          if (*expected && **expected != match.stamp.version) {
            return fhir::Error::PreconditionFailed(
                "store.version-conflict",
                type + "/" + match.id + " is at version " + std::to_string(match.stamp.version));
          }
          return Write(tx, request, **body, match.id, match.stamp.version, &stored);
        }
        if (body_id == nullptr) {
          const std::string id = request.assigned_id.empty() ? ids_.NewId() : request.assigned_id;
          return Write(tx, request, **body, id, std::nullopt, &stored);
        }
        const std::string id(body_id->value);
        auto existing = tx.Read(type, id);
        if (existing.ok() && !existing->deleted) {
          return fhir::Error::Conflict("rest.conditional-conflict",
                                       type + "/" + id + " exists but does not match the criteria");
        }
        if (!existing.ok() && existing.error().http_status() != 404) {
          return std::move(existing).error();
        }
        return Write(tx, request, **body, id, std::nullopt, &stored);
      });
  if (!written.ok()) return std::move(written).error();
  return WriteAnswer(request, written->created ? 201 : 200, stored, defs_);
}

}  // namespace server::rest
