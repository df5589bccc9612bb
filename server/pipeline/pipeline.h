// The request pipeline: every request, and every entry of a batch or transaction Bundle, passes
// through it on its way to the router, and nothing reaches the handlers around it.
//
//   authenticate (Authenticator: bearer token, or none when authentication is off)
//   -> authorize  (SMART scopes within the principal's roles, per resource type; v2 query
//                  constraints added to searches; the patient context's compartment)
//   -> consent    (a write a resident's consent forbids is refused)
//   -> handler    (through the router; every resource it sends passes the RequestGate)
//   -> audit      (one record per interaction, durable before the answer leaves; the records
//                  of a Bundle's entries are made durable together with the Bundle's own)
//
// Thread-safe: one Pipeline serves every connection; each request gets its own gate.
#ifndef SERVER_PIPELINE_PIPELINE_H_
#define SERVER_PIPELINE_PIPELINE_H_

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "fhir/model/definitions.h"
#include "server/audit/audit_writer.h"
#include "server/pipeline/audit/audit_event.h"
#include "server/pipeline/authenticator.h"
#include "server/pipeline/gate.h"
#include "server/pipeline/interaction.h"
#include "server/pipeline/rate_limiter.h"
#include "server/rest/dispatcher.h"
#include "server/rest/router.h"
#include "server/search/compartments.h"
#include "server/search/registry.h"
#include "server/store/store.h"

namespace server::pipeline {

// Waits until a submitted audit record is durable; its error when it could not be made so.
using AuditReceipt = std::function<fhir::Result<void>()>;

// Where audit records go. Submit queues a record and returns at once; the record is durable
// once its receipt has returned. Thread-safe.
class AuditTrail {
 public:
  virtual ~AuditTrail() = default;
  virtual AuditReceipt Submit(const audit::AuditRecord& record, store::Timestamp when) = 0;
};

// The audit log behind its group-commit writer: each record becomes an AuditEvent (BALP) stored
// with its search keys (patients; agents as "sub:...", "client:...", the user's and the
// organization's references; entities).
class WriterTrail : public AuditTrail {
 public:
  explicit WriterTrail(audit::AuditWriter& writer) : writer_(writer) {}
  AuditReceipt Submit(const audit::AuditRecord& record, store::Timestamp when) override;

 private:
  audit::AuditWriter& writer_;
};

// No audit trail: for measuring what auditing costs (`--audit off`, only with `--auth off`).
class NoAuditTrail : public AuditTrail {
 public:
  AuditReceipt Submit(const audit::AuditRecord&, store::Timestamp) override {
    return [] { return fhir::Result<void>(); };
  }
};

struct PipelineOptions {
  GateOptions gate;
  // The server's identity in audit records (AuditEvent.source.observer).
  std::string server_id = "fhirhub";
  // Request rate limits per client; null: none. Must outlive the pipeline.
  RateLimiter* limiter = nullptr;
};

class Pipeline : public rest::Dispatcher {
 public:
  // All must outlive the pipeline. `fixed` is the registry of requests that carry none.
  Pipeline(PipelineOptions options, const rest::Router& router, store::Store& store,
           const fhir::model::Definitions& defs, const search::Registry& fixed,
           const search::Compartments& compartments, const Authenticator& authenticator,
           AuditTrail& audit, const store::Clock& clock);

  rest::FhirResponse Dispatch(rest::FhirRequest& request) const override;
  fhir::Result<rest::FhirResponse> Route(rest::FhirRequest& request) const override;
  // Audits the refusal, with no principal (the request was never authenticated).
  fhir::Result<void> Refused(const rest::FhirRequest& request,
                             const fhir::Error& error) const override;

 private:
  // How long the request's client must wait when it is over its rate limit (429); by the token's
  // client, else its subject, else the sender's address.
  std::optional<std::chrono::seconds> Throttle(const rest::FhirRequest& request) const;
  // Authorizes, checks consent and routes a request whose principal is set.
  fhir::Result<rest::FhirResponse> Run(rest::FhirRequest& request, const Interaction& what,
                                       RequestGate& gate, const auth::ScopeSet& scopes) const;
  // The scopes' v2 query constraints on a search, added to its query.
  fhir::Result<void> Constrain(rest::FhirRequest& request, const auth::Grant& grant) const;
  // Whether the resource an interaction on one resource reads or changes may be reached: it is
  // read through the gate first (patient context, consent, the scopes' constraints).
  fhir::Result<void> CheckTarget(const rest::FhirRequest& request, const Interaction& what,
                                 const auth::Grant& grant, RequestGate& gate) const;
  // Records the interaction; an error when the record could not be made durable.
  fhir::Result<void> Audit(const rest::FhirRequest& request, const Interaction& what,
                           const RequestGate* gate, const rest::FhirResponse& response,
                           const fhir::Error* error) const;

  const PipelineOptions options_;
  const rest::Router& router_;
  store::Store& store_;
  const fhir::model::Definitions& defs_;
  const search::Registry& fixed_;
  const search::Compartments& compartments_;
  const Authenticator& authenticator_;
  AuditTrail& audit_;
  const store::Clock& clock_;
};

}  // namespace server::pipeline

#endif  // SERVER_PIPELINE_PIPELINE_H_
