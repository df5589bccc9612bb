// The audit log through the FHIR API, for regulators: AuditEvent search by patient, agent,
// entity, action, outcome and date (GET [base]/AuditEvent), one record by id (its sequence
// number in the log), and $verify, which checks the whole hash chain and its signed checkpoints
// and names the first broken link. Records are read from the append-only audit log
// (server/store/audit_log.h), not from the resource tables; nothing here writes or deletes.
#ifndef SERVER_REST_AUDIT_HANDLER_H_
#define SERVER_REST_AUDIT_HANDLER_H_

#include "fhir/result.h"
#include "server/audit/audit_verify.h"
#include "server/rest/fhir_request.h"
#include "server/rest/router.h"
#include "server/store/audit_log.h"
#include "server/store/store.h"

namespace server::rest {

class AuditHandler {
 public:
  // `log` and `clock` must outlive the handler. `check` verifies checkpoint signatures; without
  // one only the chain and the checkpoints' hashes are checked.
  AuditHandler(store::AuditLog& log, audit::SignatureCheck check, const store::Clock& clock)
      : log_(log), check_(std::move(check)), clock_(clock) {}

  // GET AuditEvent: patient, agent, entity (references or the agent's identifier as recorded),
  // action (C R U D E), outcome (0 4 8 12), date (with prefixes eq ge gt le lt; repeatable),
  // _count (1..1000), _sort=date or -date; paged by a keyset cursor. 400 for anything else.
  fhir::Result<FhirResponse> Search(const FhirRequest& request, const PathParams& params) const;
  // GET AuditEvent/{id}: 404 when there is no such record.
  fhir::Result<FhirResponse> Read(const FhirRequest& request, const PathParams& params) const;
  // GET AuditEvent/$verify: a Parameters resource: intact (boolean), firstRecord (the sequence
  // number the log starts at: above 1 once retention has removed older records), records,
  // checkpoints, and for a broken log brokenAt (the sequence number), kind and text.
  fhir::Result<FhirResponse> Verify(const FhirRequest& request, const PathParams& params) const;

 private:
  store::AuditLog& log_;
  audit::SignatureCheck check_;
  const store::Clock& clock_;
};

// The stored AuditEvent JSON of an entry with its id (the sequence number) set.
std::string AuditEventWithId(const store::AuditEntry& entry);

}  // namespace server::rest

#endif  // SERVER_REST_AUDIT_HANDLER_H_
