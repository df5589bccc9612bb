#include "bench/rest_load_resources.h"

#include <cstdio>

namespace bench {

namespace {

// Elements are written in R4 definition order, as a conforming client would.

std::string DateTime(uint64_t variant, int minutes_later = 0) {
  const int minute = static_cast<int>(variant % 50) + minutes_later;
  char text[40];
  std::snprintf(text, sizeof text, "2026-%02d-%02dT%02d:%02d:00+08:00",
                static_cast<int>(1 + variant / 28 % 12), static_cast<int>(1 + variant % 28),
                static_cast<int>(7 + variant % 12), minute);
  return text;
}

std::string Date(uint64_t variant, int first_year) {
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02d-%02d", first_year + static_cast<int>(variant % 40),
                static_cast<int>(1 + variant % 12), static_cast<int>(1 + variant % 28));
  return text;
}

void Head(std::string& out, std::string_view type, std::string_view id) {
  out.append(R"({"resourceType":")").append(type).append("\"");
  if (!id.empty()) out.append(R"(,"id":")").append(id).append("\"");
}

void Identifier(std::string& out, std::string_view system, std::string_view prefix,
                uint64_t variant) {
  out.append(R"(,"identifier":[{"system":")").append(system).append(R"(","value":")");
  out.append(prefix).append(std::to_string(variant)).append("\"}]");
}

void Reference(std::string& out, std::string_view element, std::string_view type,
               std::string_view id) {
  if (id.empty()) return;
  out.append(",\"").append(element).append(R"(":{"reference":")");
  out.append(type).append("/").append(id).append("\"}");
}

void Coding(std::string& out, std::string_view system, std::string_view code,
            std::string_view display) {
  out.append(R"({"system":")").append(system).append(R"(","code":")").append(code);
  out.append(R"(","display":")").append(display).append("\"}");
}

void Quantity(std::string& out, std::string_view value, std::string_view unit,
              std::string_view ucum) {
  out.append(R"({"value":)").append(value).append(R"(,"unit":")").append(unit);
  out.append(R"(","system":"http://unitsofmeasure.org","code":")").append(ucum).append("\"}");
}

constexpr std::string_view kLoinc = "http://loinc.org";
constexpr std::string_view kSnomed = "http://snomed.info/sct";
constexpr std::string_view kStation = "urn:oid:2.16.156.10011.2.5.1.4";

void VitalSign(std::string& out, std::string_view id, std::string_view patient,
               std::string_view encounter, uint64_t variant, std::string_view code,
               std::string_view display, std::string_view text) {
  Head(out, "Observation", id);
  Identifier(out, kStation, "OBS-", variant);
  out.append(R"(,"status":")").append(id.empty() ? "final" : "amended").append("\"");
  out.append(R"(,"category":[{"coding":[)");
  Coding(out, "http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs",
         "Vital Signs");
  out.append(R"(]}],"code":{"coding":[)");
  Coding(out, kLoinc, code, display);
  out.append(R"(],"text":")").append(text).append("\"}");
  Reference(out, "subject", "Patient", patient);
  Reference(out, "encounter", "Encounter", encounter);
  out.append(R"(,"effectiveDateTime":")").append(DateTime(variant)).append("\"");
  out.append(R"(,"performer":[{"display":"玉林社区卫生服务中心 张晓红"}])");
}

void BloodPressure(std::string& out, std::string_view id, std::string_view patient,
                   std::string_view encounter, uint64_t variant) {
  VitalSign(out, id, patient, encounter, variant, "85354-9",
            "Blood pressure panel with all children optional", "血压");
  out.append(R"(,"interpretation":[{"coding":[)");
  Coding(out, "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "N", "Normal");
  out.append(R"(]}],"bodySite":{"coding":[)");
  Coding(out, kSnomed, "368209003", "Right arm");
  out.append(R"(]},"device":{"display":"智慧健康站 电子血压计 HBP-1320"},"component":[)");
  out.append(R"({"code":{"coding":[)");
  Coding(out, kLoinc, "8480-6", "Systolic blood pressure");
  out.append(R"(]},"valueQuantity":)");
  Quantity(out, std::to_string(105 + variant % 50), "mmHg", "mm[Hg]");
  out.append(R"(},{"code":{"coding":[)");
  Coding(out, kLoinc, "8462-4", "Diastolic blood pressure");
  out.append(R"(]},"valueQuantity":)");
  Quantity(out, std::to_string(65 + variant % 30), "mmHg", "mm[Hg]");
  out.append("}]}");
}

}  // namespace

std::string_view TypeName(Kind kind) {
  switch (kind) {
    case Kind::kPatient:
      return "Patient";
    case Kind::kEncounter:
      return "Encounter";
    case Kind::kCondition:
      return "Condition";
    case Kind::kBloodPressure:
    case Kind::kHeartRate:
    case Kind::kBodyWeight:
      return "Observation";
    case Kind::kMedicationRequest:
      return "MedicationRequest";
    case Kind::kProcedure:
      return "Procedure";
    case Kind::kAllergyIntolerance:
      return "AllergyIntolerance";
  }
  return "";
}

void Render(Kind kind, std::string_view id, std::string_view patient, std::string_view encounter,
            uint64_t variant, std::string& out) {
  out.clear();
  switch (kind) {
    case Kind::kPatient: {
      Head(out, "Patient", id);
      Identifier(out, "urn:oid:2.16.156.10011.1.3", "51010719", variant);
      out.append(R"(,"active":true,"name":[{"use":"official","text":"王小明","family":"王",)");
      out.append(R"("given":["小明"]}],"telecom":[{"system":"phone","value":"138)");
      out.append(std::to_string(10000000 + variant % 90000000)).append(R"(","use":"mobile"}])");
      out.append(R"(,"gender":")").append(variant % 2 == 0 ? "male" : "female");
      out.append(R"(","birthDate":")").append(Date(variant, 1940)).append("\"");
      out.append(R"(,"address":[{"use":"home","line":["玉林北路 )");
      out.append(std::to_string(1 + variant % 200)).append(R"( 号"],"city":"成都市",)");
      out.append(R"("district":"武侯区","state":"四川省","postalCode":"610041","country":"CN"}])");
      out.append(R"(,"managingOrganization":{"display":"武侯区玉林社区卫生服务中心"}})");
      return;
    }
    case Kind::kEncounter:
      Head(out, "Encounter", id);
      Identifier(out, kStation, "ENC-", variant);
      out.append(R"(,"status":")").append(id.empty() ? "in-progress" : "finished");
      out.append(R"(","class":)");
      Coding(out, "http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB", "ambulatory");
      out.append(R"(,"type":[{"coding":[)");
      Coding(out, kSnomed, "390906007", "Follow-up encounter");
      out.append(R"(],"text":"慢病随访"}])");
      Reference(out, "subject", "Patient", patient);
      out.append(R"(,"participant":[{"individual":{"display":"张晓红"}}],"period":{"start":")");
      out.append(DateTime(variant)).append(R"(","end":")").append(DateTime(variant, 9));
      out.append(R"("},"reasonCode":[{"text":"高血压随访"}],)");
      out.append(R"("serviceProvider":{"display":"武侯区玉林社区卫生服务中心"}})");
      return;
    case Kind::kCondition:
      Head(out, "Condition", id);
      out.append(R"(,"clinicalStatus":{"coding":[)");
      Coding(out, "http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active");
      out.append(R"(]},"verificationStatus":{"coding":[)");
      Coding(out, "http://terminology.hl7.org/CodeSystem/condition-ver-status",
             id.empty() ? "provisional" : "confirmed", id.empty() ? "Provisional" : "Confirmed");
      out.append(R"(]},"category":[{"coding":[)");
      Coding(out, "http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item",
             "Problem List Item");
      out.append(R"(]}],"code":{"coding":[)");
      Coding(out, "http://hl7.org/fhir/sid/icd-10", "I10", "Essential (primary) hypertension");
      out.append(R"(],"text":"原发性高血压"})");
      Reference(out, "subject", "Patient", patient);
      Reference(out, "encounter", "Encounter", encounter);
      out.append(R"(,"onsetDateTime":")").append(Date(variant, 1990));
      out.append(R"(","recordedDate":")").append(DateTime(variant)).append("\"}");
      return;
    case Kind::kBloodPressure:
      BloodPressure(out, id, patient, encounter, variant);
      return;
    case Kind::kHeartRate:
      VitalSign(out, id, patient, encounter, variant, "8867-4", "Heart rate", "心率");
      out.append(R"(,"valueQuantity":)");
      Quantity(out, std::to_string(55 + variant % 50), "beats/minute", "/min");
      out.append("}");
      return;
    case Kind::kBodyWeight:
      VitalSign(out, id, patient, encounter, variant, "29463-7", "Body weight", "体重");
      out.append(R"(,"valueQuantity":)");
      Quantity(out, std::to_string(45 + variant % 50) + "." + std::to_string(variant % 10), "kg",
               "kg");
      out.append("}");
      return;
    case Kind::kMedicationRequest:
      Head(out, "MedicationRequest", id);
      Identifier(out, kStation, "RX-", variant);
      out.append(R"(,"status":")").append(id.empty() ? "active" : "completed");
      out.append(R"(","intent":"order","medicationCodeableConcept":{"coding":[)");
      Coding(out, "http://www.whocc.no/atc", "C08CA01", "amlodipine");
      out.append(R"(],"text":"苯磺酸氨氯地平片 5mg"})");
      Reference(out, "subject", "Patient", patient);
      Reference(out, "encounter", "Encounter", encounter);
      out.append(R"(,"authoredOn":")").append(DateTime(variant)).append("\"");
      out.append(R"(,"dosageInstruction":[{"text":"每日一次，每次 5 mg，口服",)");
      out.append(R"("timing":{"repeat":{"frequency":1,"period":1,"periodUnit":"d"}},)");
      out.append(R"("doseAndRate":[{"doseQuantity":)");
      Quantity(out, "5", "mg", "mg");
      out.append(R"(}]}],"dispenseRequest":{"quantity":)");
      Quantity(out, std::to_string(28 + variant % 3 * 14), "片", "{tbl}");
      out.append("}}");
      return;
    case Kind::kProcedure:
      Head(out, "Procedure", id);
      out.append(R"(,"status":")").append(id.empty() ? "in-progress" : "completed");
      out.append(R"(","code":{"coding":[)");
      Coding(out, kSnomed, "46973005", "Blood pressure taking");
      out.append(R"(],"text":"血压测量"})");
      Reference(out, "subject", "Patient", patient);
      Reference(out, "encounter", "Encounter", encounter);
      out.append(R"(,"performedDateTime":")").append(DateTime(variant)).append("\"");
      out.append(R"(,"performer":[{"actor":{"display":"张晓红"}}]})");
      return;
    case Kind::kAllergyIntolerance:
      Head(out, "AllergyIntolerance", id);
      out.append(R"(,"clinicalStatus":{"coding":[)");
      Coding(out, "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active",
             "Active");
      out.append(R"(]},"verificationStatus":{"coding":[)");
      Coding(out, "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
             "confirmed", "Confirmed");
      out.append(R"(]},"type":"allergy","category":["medication"],"criticality":")");
      out.append(id.empty() ? "low" : "high").append(R"(","code":{"coding":[)");
      Coding(out, kSnomed, "764146007", "Penicillin");
      out.append(R"(],"text":"青霉素"})");
      Reference(out, "patient", "Patient", patient);
      Reference(out, "encounter", "Encounter", encounter);
      out.append(R"(,"recordedDate":")").append(DateTime(variant)).append("\"}");
      return;
  }
}

}  // namespace bench
