// The mappings of HL7 v2 segments and message structures to FHIR resources, adding their entries
// to the Context's Bundle. Internal to mappings/hl7v2; the entry point is Mapper (mapper.h).
#ifndef MAPPINGS_HL7V2_SEGMENT_MAPPINGS_H_
#define MAPPINGS_HL7V2_SEGMENT_MAPPINGS_H_

#include <string>

#include "fhir/result.h"
#include "mappings/hl7v2/context.h"

namespace mappings::hl7v2 {

// The Patient of PID, and the identifier that matches it (system and value).
struct PatientEntry {
  std::string full_url;
  std::string system;
  std::string value;
};

// The identifiers of a patient identifier list (PID-3, MRG-1) and the one that matches the
// patient: a valid 身份证 when the list has one, else its first identifier. A 身份证 that fails
// its check is kept as a temporary identifier without system, with a warning, and never matches.
// An error at `<segment>-<field>[1].1` when the list has no identifier to match by.
struct PatientIdentifiers {
  Json identifiers;
  std::string system;
  std::string value;
  std::string location;  // the position of the matching one: "PID-3[2].1"
};
fhir::Result<PatientIdentifiers> ReadPatientIdentifiers(Context& context, const Segment& segment,
                                                        std::size_t field);

// Adds the Patient of `pid`. `authoritative` (ADT): a conditional update on the matching
// identifier, so the message's demographics replace the stored ones; otherwise (results) a
// create only when no Patient has that identifier. Matched by ReadPatientIdentifiers of PID-3.
fhir::Result<PatientEntry> MapPatient(Context& context, const Segment& pid, bool authoritative);

// ADT^A01/A04/A08/A28/A31: PID, NK1, PV1, AL1, DG1.
fhir::Result<void> MapAdt(Context& context);
// ADT^A40: PID (the surviving patient) and MRG (the patient merged into it), repeated.
fhir::Result<void> MapAdtMerge(Context& context);
// ORU^R01: PID, OBR, OBX, NTE; IHE PCD-01 device observations included.
fhir::Result<void> MapOru(Context& context);
// ORM^O01: PID, ORC, OBR, NTE.
fhir::Result<void> MapOrm(Context& context);
// RDE^O11: PID, ORC, TQ1, RXE, RXR, NTE.
fhir::Result<void> MapRde(Context& context);
// SIU^S12: SCH, TQ1, NTE, PID, AIS, AIG, AIL, AIP.
fhir::Result<void> MapSiu(Context& context);

}  // namespace mappings::hl7v2

#endif  // MAPPINGS_HL7V2_SEGMENT_MAPPINGS_H_
