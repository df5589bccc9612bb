// FhirRequest and FhirResponse: the plain data that crosses from the HTTP adapter into the router
// and handlers and back. No Poco type appears here, so handlers are testable without sockets.
#ifndef SERVER_REST_FHIR_REQUEST_H_
#define SERVER_REST_FHIR_REQUEST_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fhir/element.h"
#include "server/rest/principal.h"
#include "server/store/store.h"

namespace server::search {
class Registry;
}  // namespace server::search

namespace server::rest {

class ResourceGate;

enum class Method { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };

Method ParseMethod(std::string_view method);

// Header names are stored lower-case.
using Headers = std::vector<std::pair<std::string, std::string>>;
using QueryParams = std::vector<std::pair<std::string, std::string>>;

struct FhirRequest {
  Method method = Method::kGet;
  // The path below the FHIR base, without leading slash: "metadata", "Patient/123".
  std::string path;
  QueryParams query;  // decoded, in request order
  Headers headers;
  std::optional<fhir::Resource> body;
  // The body as received, for media types that are not a FHIR resource (a JSON Patch document,
  // application/json-patch+json); empty otherwise. `content_type` is the request's media type
  // without parameters, lower-case.
  std::string raw_body;
  std::string content_type;
  // The absolute base URL the client used, e.g. "http://127.0.0.1:8080/fhir".
  std::string base_url;
  // Set when the request is an entry of a transaction Bundle: the interaction reads and writes in
  // this store transaction and neither commits nor rolls it back. Null for a request of its own.
  store::Transaction* transaction = nullptr;
  // For a create in a transaction Bundle: the id chosen for it before references to it were
  // rewritten. Empty otherwise, and the server picks a new id.
  std::string assigned_id;
  // The search parameters this request uses: the server's registry as it was when the request
  // arrived, held until it is answered, so that one request never sees two registries. Entries
  // of a Bundle carry the Bundle's. Null when the handlers' own fixed registry applies.
  std::shared_ptr<const search::Registry> registry;
  // Who is asking, as authenticated by the pipeline; null when no pipeline runs (handler tests),
  // which means no restriction. A patient context (Principal::patient) bounds every search to
  // that patient's compartment (patient_context.h).
  std::shared_ptr<const Principal> principal;
  // The client's network address ("127.0.0.1"), for the audit record.
  std::string peer_address;
  // The client certificate of a mutual-TLS connection; nullopt without one.
  std::optional<ClientCertificate> client_certificate;
  // Screens every resource a handler is about to send (consent, scopes, patient context); null:
  // everything is sent. Set by the pipeline for the request, and for each entry of a Bundle.
  ResourceGate* gate = nullptr;

  // The first value of a header (name in lower case) or of a query parameter, or nullopt.
  std::optional<std::string_view> Header(std::string_view lower_name) const;
  std::optional<std::string_view> Param(std::string_view name) const;
};

struct FhirResponse {
  int status = 200;
  Headers headers;                     // besides Content-Type, which the HTTP adapter sets
  std::optional<fhir::Resource> body;  // a resource, or an OperationOutcome for errors
  // In place of `body`: a stored resource as the FHIR JSON text it was stored as. The HTTP
  // adapter sends it unchanged when the answer is plain JSON, sparing a parse and a write per
  // read; anything that needs the tree calls MaterializeBody (interaction_support.h).
  std::string json;
};

}  // namespace server::rest

#endif  // SERVER_REST_FHIR_REQUEST_H_
