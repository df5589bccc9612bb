// OperationOutcome: how every fhir::Error leaves the server, in JSON or XML like any resource.
#ifndef FHIR_OUTCOME_H_
#define FHIR_OUTCOME_H_

#include <string_view>

#include "fhir/element.h"
#include "fhir/error.h"
#include "fhir/model/definitions.h"

namespace fhir {

// The code system of the stable message ids in OperationOutcome.issue.details.coding.
inline constexpr std::string_view kMessageIdSystem = "urn:fhirhub:message-id";

// One issue per Error issue: severity, code (issue type), details (message id coding and text),
// expression (FHIRPath location) when known.
Resource ToOperationOutcome(const Error& error, const model::Definitions& defs);

// An OperationOutcome with a single informational issue ("all ok"), for answers that carry no
// resource.
Resource InformationOutcome(std::string_view message_id, std::string_view text,
                            const model::Definitions& defs);

}  // namespace fhir

#endif  // FHIR_OUTCOME_H_
