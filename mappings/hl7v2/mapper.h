// HL7 v2 messages to FHIR R4 transaction Bundles, after HL7's v2-to-FHIR mapping tables, with
// the code translations read from ConceptMap files (see concept_maps.h and docs/hl7v2.md).
//
// Mapped: ADT^A01/A04/A08/A28/A31 (Patient by conditional update, RelatedPerson, Encounter,
// AllergyIntolerance, Condition), ADT^A40 (conditional FHIRPath Patches: the surviving Patient
// gets a `replaces` link, the merged one becomes inactive and `replaced-by` the survivor),
// ORU^R01 (lab results and IHE PCD-01 device observations: DiagnosticReport, Observation,
// Device; the Patient only created when no Patient has its identifier), ORM^O01 (ServiceRequest
// by its order number), RDE^O11 (MedicationRequest) and SIU^S12 (Appointment). Every resource a
// message creates carries an identifier derived from the message (filler order number, sending
// facility and MSH-10, set ids) and is written conditionally, so a message sent twice writes
// nothing new. Messages with MSH-11 T or D (training, debugging) are test data: every resource
// is labelled HTEST and matches only other test data; so is a device result whose OBX-8 says
// TEST or DEMO (IHE PCD-01 measurement status).
//
// Pure: no I/O after Load and no clock (times come from the message). Thread-safe after Load.
#ifndef MAPPINGS_HL7V2_MAPPER_H_
#define MAPPINGS_HL7V2_MAPPER_H_

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "fhir/result.h"
#include "mappings/hl7v2/concept_maps.h"
#include "mappings/hl7v2/er7.h"

namespace mappings::hl7v2 {

struct Mapped {
  std::string bundle_json;  // a transaction Bundle, FHIR R4 JSON
  // What was sent but could not be mapped as sent (a 身份证 with a wrong check digit, an unknown
  // code); each starts with the HL7 position ("PID-3[2].1: ..."). Never holds patient data.
  std::vector<std::string> warnings;
  // For each entry of the Bundle, in order, the HL7 position it was mapped from, as errors name
  // positions: the identifier field for a resource found by one ("PID-3[1].1" for the Patient,
  // "MRG-1[1].1" for the patient an ADT^A40 merges, "PV1-19[1].1" for an Encounter by its visit
  // number), else the segment ("OBX(3)", "AL1(2)"). The server locates what it refuses in the
  // Bundle ("Bundle.entry[2].request"); this turns that back into a place in the message.
  std::vector<std::string> entry_sources;
};

class Mapper {
 public:
  // Reads the ConceptMap files of `conceptmaps_dir`; an error when one the mappings need is
  // missing or a file is not a valid ConceptMap.
  static fhir::Result<Mapper> Load(const std::filesystem::path& conceptmaps_dir);

  // An error for a message that cannot be mapped, each issue's expression the HL7 position
  // ("PID-3[1].1") so it can go into ERR-2 and its message id the table 0357 condition (see
  // AckErrorsFor in ack.h); message types not mapped give hl7v2.unsupported-message-type (200)
  // at MSH-9.
  fhir::Result<Mapped> Map(const Message& message) const;

 private:
  explicit Mapper(std::shared_ptr<const ConceptMaps> maps) : maps_(std::move(maps)) {}
  std::shared_ptr<const ConceptMaps> maps_;
};

}  // namespace mappings::hl7v2

#endif  // MAPPINGS_HL7V2_MAPPER_H_
