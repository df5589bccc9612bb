// What the instance-level interactions (read, vread, create, update, delete, history) share: id
// generation, the version headers (ETag W/"n", Last-Modified, Location), If-Match and Prefer
// parsing, and stamping meta.versionId/meta.lastUpdated into a resource before it is stored.
// Pure functions apart from RandomIdGenerator, which reads the system's entropy source.
#ifndef SERVER_REST_INTERACTION_SUPPORT_H_
#define SERVER_REST_INTERACTION_SUPPORT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "fhir/element.h"
#include "fhir/model/definitions.h"
#include "fhir/result.h"
#include "server/rest/fhir_request.h"
#include "server/search/registry.h"
#include "server/store/store.h"

namespace server::rest {

// The source of server-assigned ids for create. Implementations must be thread-safe.
class IdGenerator {
 public:
  virtual ~IdGenerator() = default;
  virtual std::string NewId() = 0;
};

// 122 random bits (a 64-bit Mersenne Twister per thread, seeded from std::random_device),
// written as a lower-case UUID in the version 4 layout.
class RandomIdGenerator final : public IdGenerator {
 public:
  std::string NewId() override;
};

// "2023-11-14T22:13:20.123456Z": a FHIR instant with the store's microsecond precision.
std::string FormatInstant(store::Timestamp time);
// "Tue, 14 Nov 2023 22:13:20 GMT": the HTTP-date of Last-Modified (whole seconds).
std::string FormatHttpDate(store::Timestamp time);
// The JSON string literal for `text` (fhir/json/quote.h: nothing dropped, control characters
// escaped), for building Bundles around stored JSON text.
std::string JsonString(std::string_view text);
// Parses `response->json`, if set, into `response->body`: for code that needs the resource tree
// of an answer. 500 rest.stored-unreadable when the stored text does not parse.
fhir::Result<void> MaterializeBody(FhirResponse* response, const fhir::model::Definitions& defs);

// The answer whose body is the Bundle given as JSON text (built around stored resources' text),
// sent as it is when the client asked for plain JSON and parsed (MaterializeBody) otherwise.
FhirResponse BundleResponse(std::string json);
// W/"3"
std::string WeakETag(std::int64_t version);

// The version an If-Match header names ("W/\"3\"" or "\"3\""), nullopt when the header is
// absent; 400 rest.invalid-if-match when it names no version.
fhir::Result<std::optional<std::int64_t>> ParseIfMatch(const FhirRequest& request);

// Prefer: return=... (http.html#ins-return); representation when absent or unrecognised.
enum class ReturnPreference { kMinimal, kRepresentation, kOperationOutcome };
ReturnPreference ParseReturnPreference(const FhirRequest& request);

// The resource body of a create or update: 400 rest.missing-body when there is none, 400
// rest.type-mismatch when its resourceType is not `type`.
fhir::Result<const fhir::Resource*> RequireBody(const FhirRequest& request, std::string_view type);

// A copy of `resource` with its id set to `id` and meta.versionId/meta.lastUpdated replaced by
// the stamp's, rendered as the JSON text the store keeps, with its search index rows. An active
// SearchParameter must be a valid custom search parameter for `registry`
// (search/custom_params.h): else 422 with the faults, and nothing is stored.
fhir::Result<store::Rendered> RenderForStore(const fhir::Resource& resource, std::string_view id,
                                             const store::VersionStamp& stamp,
                                             const search::Registry& registry);

// Runs `work` inside the request's transaction when the request is an entry of a transaction
// Bundle (leaving commit to the Bundle), or else in a transaction of its own that is committed
// when `work` succeeds and rolled back when it fails. The 2xx answer is built only after Commit
// has returned, so nothing is acknowledged before it is durable. A transaction of its own that
// the database aborts to break a deadlock with a concurrent one is run again, a few times.
template <typename Work>
auto InTransaction(store::Store& store, const FhirRequest& request, Work&& work)
    -> decltype(work(std::declval<store::Transaction&>())) {
  if (request.transaction != nullptr) return work(*request.transaction);
  constexpr int kAttempts = 4;
  for (int attempt = 1;; ++attempt) {
    auto tx = store.Begin();
    if (!tx.ok()) return std::move(tx).error();
    auto result = work(**tx);
    fhir::Result<void> committed;
    if (result.ok()) committed = (*tx)->Commit();
    const fhir::Error* failure = !result.ok()      ? &result.error()
                                 : !committed.ok() ? &committed.error()
                                                   : nullptr;
    if (failure == nullptr) return result;
    if (attempt == kAttempts || failure->message_id() != "store.serialization-failure") {
      if (!result.ok()) return result;  // the transaction rolls back when it goes out of scope
      return std::move(committed).error();
    }
  }
}

// The registry `request` carries (FhirRequest::registry), else `fixed`, the handler's own.
inline const search::Registry& RegistryFor(const FhirRequest& request,
                                           const search::Registry& fixed) {
  return request.registry != nullptr ? *request.registry : fixed;
}

// Adds ETag and Last-Modified for `stamp` to `response`.
void AddVersionHeaders(const store::VersionStamp& stamp, FhirResponse* response);

// The answer to a successful create or update: `status`, Location of the new version, version
// headers and a body as the client preferred (the stored resource, nothing, or an informational
// OperationOutcome).
fhir::Result<FhirResponse> WriteAnswer(const FhirRequest& request, int status,
                                       const store::ResourceVersion& stored,
                                       const fhir::model::Definitions& defs);

}  // namespace server::rest

#endif  // SERVER_REST_INTERACTION_SUPPORT_H_
