// The patient context of a request (Principal::patient, from a SMART patient-level token): every
// search reaches only that patient's compartment, whatever the query. The searched type, the
// resources a chain follows and those a `_has` starts from are each bounded: a type that belongs
// to the Patient compartment by the patient's links, Patient itself to the patient; types outside
// the compartment (Organization, Practitioner, Medication) are shared and not bounded here (scopes
// decide whether they may be read at all).
#ifndef SERVER_REST_PATIENT_CONTEXT_H_
#define SERVER_REST_PATIENT_CONTEXT_H_

#include "fhir/result.h"
#include "server/rest/fhir_request.h"
#include "server/search/compartments.h"
#include "server/store/store.h"

namespace server::rest {

// Bounds `query` (and the queries nested in it) to the compartment of the request's patient
// context; nothing when the request has none. 403 auth.patient-context for a compartment search
// of another compartment, and auth.patient-context-types for a search across types that does not
// name its types with `_type`.
fhir::Result<void> RestrictToPatient(const FhirRequest& request,
                                     const search::Compartments& compartments,
                                     store::SearchQuery* query);

}  // namespace server::rest

#endif  // SERVER_REST_PATIENT_CONTEXT_H_
