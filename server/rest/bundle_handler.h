// POST [base] with a Bundle of type "batch" or "transaction" (http.html#transaction).
//
// Each entry's request (method, url, ifMatch, ifNoneMatch, ifNoneExist, ifModifiedSince) is
// routed like a request of its own through the same Router, so every interaction behaves the
// same inside a Bundle as outside it.
//
// batch: entries are independent, each in a transaction of its own; the answer is a
// batch-response with a status (and an OperationOutcome for failures) per entry.
//
// transaction: all entries or none, in one store transaction that commits before the answer.
// Processing follows the specification: first the ids are settled (a new id for each create, the
// match of each conditional create and conditional update, found before anything is written),
// then every reference to an entry's fullUrl (urn:uuid: or urn:oid:, in Reference.reference,
// uri/url elements and narrative) and every conditional reference ("Patient?_id=...") is
// rewritten to "Type/id", then entries run in the order DELETE, POST, PUT/PATCH, GET/HEAD. The
// answer is a transaction-response whose entries follow the request's order, each with status,
// location, etag, lastModified and the resource (unless Prefer: return=minimal). The first
// failing entry fails the whole transaction with its own status and an OperationOutcome whose
// locations point into that entry (Bundle.entry[n]).
//
// Errors: 400 rest.bundle-type, rest.bundle-entry (an entry without request, method or url, or
// with a resource where none belongs), rest.duplicate-entry (two entries for one resource), 404/
// 412 rest.unresolved-reference and rest.multiple-matches for conditional references, and each
// entry's own. Thread-safe.
#ifndef SERVER_REST_BUNDLE_HANDLER_H_
#define SERVER_REST_BUNDLE_HANDLER_H_

#include "fhir/model/definitions.h"
#include "fhir/result.h"
#include "server/rest/dispatcher.h"
#include "server/rest/fhir_request.h"
#include "server/rest/interaction_support.h"
#include "server/rest/resource_gate.h"
#include "server/rest/router.h"
#include "server/search/registry.h"
#include "server/store/store.h"
#include "server/terminology/terminology.h"

namespace server::rest {

class BundleHandler {
 public:
  // All must outlive the handler. `router` routes the entries (the pipeline, or a Router); it may
  // be the one that routes to this handler (an entry that is itself a Bundle POST is refused).
  // Without `terminology`, conditional entries and references refuse the terminology modifiers
  // (conditional.h).
  BundleHandler(store::Store& store, const Dispatcher& router, const fhir::model::Definitions& defs,
                const search::Registry& registry, IdGenerator& ids,
                const terminology::Terminology* terminology = nullptr)
      : store_(store),
        router_(router),
        defs_(defs),
        registry_(registry),
        ids_(ids),
        terminology_(terminology) {}

  // No path parameters.
  fhir::Result<FhirResponse> Handle(const FhirRequest& request, const PathParams& params) const;

 private:
  struct Entry;
  fhir::Result<std::vector<Entry>> ReadEntries(const FhirRequest& request) const;
  fhir::Result<FhirResponse> Batch(const FhirRequest& request, std::vector<Entry>& entries) const;
  fhir::Result<FhirResponse> Transaction(const FhirRequest& request,
                                         std::vector<Entry>& entries) const;
  // Settles ids and rewrites references, then runs the entries in `tx`; fills each entry's answer.
  // `gate` screens what conditional creates found (the Bundle request's gate; may be null).
  fhir::Result<void> RunTransaction(store::Transaction& tx, std::vector<Entry>& entries,
                                    ResourceGate* gate) const;
  fhir::Result<FhirResponse> Answer(const FhirRequest& request, std::string_view type,
                                    const std::vector<Entry>& entries) const;

  store::Store& store_;
  const Dispatcher& router_;
  const fhir::model::Definitions& defs_;
  const search::Registry& registry_;
  IdGenerator& ids_;
  const terminology::Terminology* terminology_;
};

}  // namespace server::rest

#endif  // SERVER_REST_BUNDLE_HANDLER_H_
