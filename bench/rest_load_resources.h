// The FHIR R4 resources the REST load generator (rest_load.cc) sends: a patient's record as a
// village health station would write it (a Patient, an Encounter, a Condition, three vital-sign
// Observations, a MedicationRequest, a Procedure and an AllergyIntolerance), as compact JSON.
//
// Each body varies with `variant` (values, times, identifiers), so consecutive writes are not
// byte-identical, and is valid R4 as the server checks it. Render returns a create body when
// `id` is empty and an update body (with "id") otherwise; `patient` and `encounter` are the ids
// the resource refers to (`encounter` may be empty: no reference to it).
#ifndef BENCH_REST_LOAD_RESOURCES_H_
#define BENCH_REST_LOAD_RESOURCES_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace bench {

enum class Kind {
  kPatient,
  kEncounter,
  kCondition,
  kBloodPressure,  // Observation
  kHeartRate,      // Observation
  kBodyWeight,     // Observation
  kMedicationRequest,
  kProcedure,
  kAllergyIntolerance,
};

// The order in which one CRUD iteration creates, reads and updates them (deletes go backwards).
inline constexpr std::array<Kind, 9> kRecord = {
    Kind::kPatient,           Kind::kEncounter, Kind::kCondition,
    Kind::kBloodPressure,     Kind::kHeartRate, Kind::kBodyWeight,
    Kind::kMedicationRequest, Kind::kProcedure, Kind::kAllergyIntolerance,
};

std::string_view TypeName(Kind kind);

void Render(Kind kind, std::string_view id, std::string_view patient, std::string_view encounter,
            uint64_t variant, std::string& out);

}  // namespace bench

#endif  // BENCH_REST_LOAD_RESOURCES_H_
