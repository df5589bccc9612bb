#include "server/rest/patch_handler.h"

#include <optional>
#include <string>
#include <string_view>

#include "fhir/json/json.h"
#include "fhir/patch/fhirpath_patch.h"
#include "fhir/patch/json_patch.h"
#include "server/rest/conditional.h"
#include "server/rest/interaction_support.h"
#include "server/rest/resource_gate.h"

namespace server::rest {
namespace {

// The patch a request carries: JSON Patch text, or a FHIRPath Patch Parameters resource.
struct PatchDocument {
  std::optional<std::string> json_patch;
  const fhir::Resource* parameters = nullptr;
};

// Decodes base64Binary text, which the codecs have already checked against the FHIR rule
// (alphabet, padding, whitespace between quads).
std::string DecodeBase64(std::string_view text) {
  auto sextet = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 4 * 3);
  unsigned bits = 0;
  int count = 0;
  for (char c : text) {
    const int value = sextet(c);
    if (value < 0) continue;  // padding and whitespace
    bits = (bits << 6) | static_cast<unsigned>(value);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xFF);
    }
  }
  return out;
}

fhir::Result<PatchDocument> ReadPatch(const FhirRequest& request) {
  if (request.content_type == fhir::patch::kJsonPatchMediaType) {
    return PatchDocument{.json_patch = request.raw_body};
  }
  if (request.body.has_value() && !request.body->empty()) {
    const fhir::Resource& body = *request.body;
    if (body.resource_type() == "Parameters") return PatchDocument{.parameters = &body};
    if (body.resource_type() == "Binary") {
      const fhir::Node* content_type = body.root()->Child("contentType");
      const fhir::Node* data = body.root()->Child("data");
      if (content_type == nullptr || content_type->value != fhir::patch::kJsonPatchMediaType) {
        return fhir::Error::Invalid(
            "patch.invalid-binary",
            "A Binary patch must have contentType application/json-patch+json",
            "Binary.contentType");
      }
      if (data == nullptr || !data->has_value) {
        return fhir::Error::Invalid("patch.invalid-binary",
                                    "A Binary patch must carry the JSON Patch in data",
                                    "Binary.data");
      }
      return PatchDocument{.json_patch = DecodeBase64(data->value)};
    }
    return fhir::Error::UnsupportedMediaType(
        "patch.unsupported-media-type",
        "A FHIR resource patch body must be a Parameters resource (FHIRPath Patch), not " +
            std::string(body.resource_type()));
  }
  if (request.content_type.starts_with("application/fhir+") || request.content_type.empty()) {
    return fhir::Error::Invalid("rest.missing-body", "This interaction needs a patch body");
  }
  return fhir::Error::UnsupportedMediaType(
      "patch.unsupported-media-type",
      "PATCH takes application/json-patch+json or a FHIRPath Patch Parameters resource "
      "(application/fhir+json, application/fhir+xml)");
}

// Applies `patch` to the current version of type/id in `tx` and writes the result, conditional
// on the version read (and on `if_match`); the JSON stored goes to `stored`.
fhir::Result<store::WriteResult> ApplyAndWrite(store::Transaction& tx, const FhirRequest& request,
                                               const fhir::model::Definitions& defs,
                                               const search::Registry& registry,
                                               const std::string& type, const std::string& id,
                                               const PatchDocument& patch,
                                               std::optional<std::int64_t> if_match,
                                               store::ResourceVersion* stored) {
  auto current = tx.Read(type, id);
  if (!current.ok()) return std::move(current).error();
  const std::int64_t version = current->stamp.version;
  if (current->deleted) {
    return fhir::Error::Gone(
        "rest.deleted", type + "/" + id + " was deleted in version " + std::to_string(version));
  }
  if (if_match && *if_match != version) {
    return fhir::Error::PreconditionFailed(
        "store.version-conflict", "If-Match names version " + std::to_string(*if_match) +
                                      " but the current version is " + std::to_string(version));
  }
  fhir::Result<fhir::Resource> patched = fhir::Resource();
  if (patch.json_patch) {
    patched = fhir::patch::ApplyJsonPatch(current->json, *patch.json_patch, defs);
  } else {
    auto resource = fhir::json::Parse(current->json, defs);
    if (!resource.ok()) {
      return fhir::Error::Internal("rest.stored-unreadable", "A stored resource could not be read");
    }
    patched = fhir::patch::ApplyFhirPathPatch(*resource, *patch.parameters, defs);
  }
  if (!patched.ok()) return std::move(patched).error();
  const fhir::Node* patched_id = patched->root()->Child("id");
  if (patched->resource_type() != type || patched_id == nullptr || patched_id->value != id) {
    return fhir::Error::Unprocessable(
        "patch.id-changed", "A patch must not change the resource's type or id", type + ".id");
  }
  // The consent decision is on the patched resource, what would be stored.
  if (auto permitted = ScreenWrite(request.gate, tx, *patched); !permitted.ok()) {
    return std::move(permitted).error();
  }
  // Conditional on the version just read: a writer that got in between makes this fail
  // rather than have its update silently overwritten.
  auto write = tx.Write({.type = type,
                         .id = id,
                         .expected_version = version,
                         .method = "PATCH",
                         .render = [&](const store::VersionStamp& stamp) {
                           auto rendered =
                               RenderForStore(*patched, id, stamp, RegistryFor(request, registry));
                           if (rendered.ok()) stored->json = rendered->json;
                           return rendered;
                         }});
  if (!write.ok() && !if_match && write.error().message_id() == "store.version-conflict") {
    return fhir::Error::Conflict(
        "patch.concurrent-update",
        type + "/" + id + " changed while the patch was applied; retry the patch");
  }
  return write;
}

}  // namespace

fhir::Result<FhirResponse> PatchHandler::Handle(const FhirRequest& request,
                                                const PathParams& params) const {
  const std::string& type = params.at("type");
  const std::string& id = params.at("id");
  auto patch = ReadPatch(request);
  if (!patch.ok()) return std::move(patch).error();
  auto if_match = ParseIfMatch(request);
  if (!if_match.ok()) return std::move(if_match).error();

  store::ResourceVersion stored{.type = type, .id = id};
  auto written = InTransaction(store_, request, [&](store::Transaction& tx) {
    return ApplyAndWrite(tx, request, defs_, registry_, type, id, *patch, *if_match, &stored);
  });
  if (!written.ok()) return std::move(written).error();
  stored.stamp = written->stamp;
  return WriteAnswer(request, 200, stored, defs_);
}

fhir::Result<FhirResponse> PatchHandler::Conditional(const FhirRequest& request,
                                                     const PathParams& params) const {
  const std::string& type = params.at("type");
  auto patch = ReadPatch(request);
  if (!patch.ok()) return std::move(patch).error();
  auto if_match = ParseIfMatch(request);
  if (!if_match.ok()) return std::move(if_match).error();
  const QueryParams criteria = ConditionalCriteria(request);

  store::ResourceVersion stored{.type = type};
  auto written = InTransaction(
      store_, request, [&](store::Transaction& tx) -> fhir::Result<store::WriteResult> {
        auto matches = FindMatches(tx, RegistryFor(request, registry_), type, criteria, type + "?",
                                   terminology_);
        if (!matches.ok()) return std::move(matches).error();
        if (matches->size() > 1) return MultipleMatches(type + "?");
        if (matches->empty()) {
          return fhir::Error(404, fhir::Issue{.type = fhir::IssueType::kNotFound,
                                              .message_id = "rest.no-match",
                                              .text = "No " + type + " matches the criteria",
                                              .expression = type + "?"});
        }
        // Only what the sender may see can be changed through criteria.
        if (auto screened = ScreenMatch(request.gate, tx, matches->front(), type + "?");
            !screened.ok()) {
          return std::move(screened).error();
        }
        stored.id = matches->front().id;
        return ApplyAndWrite(tx, request, defs_, registry_, type, stored.id, *patch, *if_match,
                             &stored);
      });
  if (!written.ok()) return std::move(written).error();
  stored.stamp = written->stamp;
  return WriteAnswer(request, 200, stored, defs_);
}

}  // namespace server::rest
