// RDE^O11 -> MedicationRequest (ORC, RXE, RXR, TQ1, NTE), after the v2-to-FHIR segment maps
// ORC[...] and RXO/RXR/TQ1[MedicationRequest], RXE read like RXO (the encoded order).
#include <string>
#include <vector>

#include "mappings/hl7v2/segment_mappings.h"

namespace mappings::hl7v2 {
namespace {

Json Reference(std::string_view url) { return Json::Object().Set("reference", url); }

struct Prescription {
  Json resource;
  Json dosage;
  std::string method, system, value;
  std::string source;  // the order number it is found by, else the RXE
};

class RdeMapper {
 public:
  RdeMapper(Context& context, PatientEntry patient) : context_(context), patient_(patient) {}

  fhir::Result<void> Run() {
    const Message& message = context_.message();
    std::size_t orc = message.segment_count();
    std::size_t timing = message.segment_count();
    for (std::size_t i = 0; i < message.segment_count(); ++i) {
      const Segment segment = message.segment(i);
      const std::string_view name = segment.name();
      if (name == "ORC") {
        orc = i;
        timing = message.segment_count();
        in_order_ = false;
      } else if (name == "TQ1" && timing == message.segment_count()) {
        timing = i;
      } else if (name == "RXE") {
        if (orc == message.segment_count()) {
          return fhir::Error::Invalid("hl7v2.segment-sequence", "RXE without its ORC", "RXE");
        }
        auto added = Add(message.segment(orc), segment, timing);
        if (!added.ok()) return added;
        in_order_ = true;
      } else if (name == "RXR" && in_order_) {
        Json& dosage = prescriptions_.back().dosage;
        if (dosage.Find("route") == nullptr) {
          dosage.Set("route", context_.CodeableConcept(FieldRef{segment, 1}));
          dosage.Set("site", context_.CodeableConcept(FieldRef{segment, 2}));
          dosage.Set("method", context_.CodeableConcept(FieldRef{segment, 4}));
        }
      } else if (name == "NTE" && in_order_) {
        const std::string text = segment.Get(3);
        if (!Valued(text)) continue;
        Json& resource = prescriptions_.back().resource;
        if (Json* notes = resource.Find("note")) {
          notes->Push(Json::Object().Set("text", text));
        } else {
          resource.Set("note", Json::Array().Push(Json::Object().Set("text", text)));
        }
      }
    }
    if (prescriptions_.empty()) {
      return fhir::Error::Invalid("hl7v2.segment-sequence", "RDE message without ORC and RXE",
                                  "RXE");
    }
    for (Prescription& p : prescriptions_) {
      p.resource.Set("dosageInstruction", Json::Array().Push(std::move(p.dosage)));
      const std::string query = context_.IdentifierQuery(p.system, p.value);
      const std::string key = "MedicationRequest|" + p.system + "|" + p.value;
      if (p.method == "PUT") {
        context_.Add(std::move(p.resource), "PUT", "MedicationRequest?" + query, "", key,
                     std::move(p.source));
      } else {
        context_.Add(std::move(p.resource), "POST", "MedicationRequest", query, key,
                     std::move(p.source));
      }
    }
    return {};
  }

 private:
  // A quantity of `amount` in the CWE units at `units`; empty (with a warning) when `amount` is
  // not a number.
  Json Amount(const Segment& segment, std::size_t amount, std::size_t units) {
    const std::string value = segment.Get(amount);
    if (!Valued(value)) return {};
    if (!IsDecimal(value)) {
      context_.Warn(segment.Location(amount) + ": not a number; left out");
      return {};
    }
    FieldRef cwe{segment, units};
    const std::string unit = cwe.Get(2).empty() ? cwe.Get(1) : cwe.Get(2);
    Json quantity = Json::Object().Set("value", Json::Number(JsonDecimal(value)));
    quantity.Set("unit", unit);
    if (cwe.Get(3) == "UCUM")
      quantity.Set("system", "http://unitsofmeasure.org").Set("code", cwe.Get(1));
    return quantity;
  }

  fhir::Result<void> Add(const Segment& orc, const Segment& rxe, std::size_t timing) {
    Json medication = context_.CodeableConcept(FieldRef{rxe, 2});
    if (medication.empty()) {
      return fhir::Error::Invalid("hl7v2.required-field-missing", "RXE-2 (give code) is empty",
                                  rxe.Location(2, 1, 1));
    }
    Prescription p;
    Json identifier;
    for (std::size_t field : {2, 3}) {
      FieldRef ei{orc, field};
      if (ei.Get(1).empty()) continue;
      std::string system = Context::AuthoritySystem(ei.Get(2), ei.Get(3), ei.Get(4));
      if (system.empty()) system = context_.SourceSystem(field == 2 ? "placer" : "filler");
      identifier =
          Json::Object()
              .Set("type", Json::Object().Set(
                               "coding", Json::Array().Push(context_.Coding(
                                             field == 2 ? "PLAC" : "FILL", "",
                                             "http://terminology.hl7.org/CodeSystem/v2-0203"))))
              .Set("system", system)
              .Set("value", ei.Get(1));
      p.source = ei.Location(1);
      break;
    }
    // An order number makes the prescription updatable (a later RDE discontinues it); without
    // one the prescription of this message is created once.
    p.method = identifier.empty() ? "POST" : "PUT";
    if (identifier.empty()) {
      p.source = rxe.Location();
      identifier =
          Json::Object()
              .Set("system", context_.SourceSystem("prescription"))
              .Set("value", context_.message().Get("MSH-10") + "-" + std::to_string(rxe.ordinal()));
    }
    p.system = identifier.Find("system")->text();
    p.value = identifier.Find("value")->text();
    Json resource = Json::Object().Set("resourceType", "MedicationRequest");
    resource.Set("identifier", Json::Array().Push(std::move(identifier)));
    std::string status = context_.TranslatedCode("v2-0038-request-status", orc.Get(5));
    if (status.empty()) status = context_.TranslatedCode("v2-0119-request-status", orc.Get(1));
    // Request statuses as MedicationRequest names them.
    if (status == "revoked") status = "cancelled";
    resource.Set("status", status.empty() ? "active" : status);
    resource.Set("intent", "order");
    resource.Set("medicationCodeableConcept", std::move(medication));
    resource.Set("subject", Reference(patient_.full_url));
    resource.Set("authoredOn", context_.DateTime(orc.Get(9), orc.Location(9)));
    resource.Set("requester", context_.PractitionerReference(FieldRef{orc, 12}));
    Json dispense = Json::Object();
    dispense.Set("quantity", Amount(rxe, 10, 11));
    if (const std::string refills = rxe.Get(12);
        !refills.empty() && refills.size() <= 6 &&
        refills.find_first_not_of("0123456789") == std::string::npos) {
      dispense.Set("numberOfRepeatsAllowed", Json::Number(std::to_string(std::stoi(refills))));
    }
    resource.Set("dispenseRequest", std::move(dispense));

    std::string text;
    for (std::size_t r = 1; r <= rxe.RepetitionCount(7); ++r) {
      std::string line = rxe.Get(7, r, 2).empty() ? rxe.Get(7, r, 1) : rxe.Get(7, r, 2);
      if (!Valued(line)) continue;
      if (!text.empty()) text += "\n";
      text += line;
    }
    p.dosage = Json::Object().Set("text", text);
    if (timing != context_.message().segment_count()) {
      const Segment tq1 = context_.message().segment(timing);
      Json repeat = Json::Object().Set(
          "boundsPeriod", Json::Object()
                              .Set("start", context_.DateTime(tq1.Get(7), tq1.Location(7)))
                              .Set("end", context_.DateTime(tq1.Get(8), tq1.Location(8))));
      Json timing_json = Json::Object().Set("repeat", std::move(repeat));
      // TQ1-3 is an RPT: its first component the repeat pattern (code & text & system).
      FieldRef rpt{tq1, 3};
      Json pattern =
          context_.Coding(rpt.Get(1, 1), rpt.Get(1, 2), Context::CodeSystemUri(rpt.Get(1, 3)));
      if (!pattern.empty()) {
        timing_json.Set("code",
                        Json::Object().Set("coding", Json::Array().Push(std::move(pattern))));
      }
      p.dosage.Set("timing", std::move(timing_json));
    }
    Json dose = Amount(rxe, 3, 5);
    if (!dose.empty()) {
      p.dosage.Set("doseAndRate",
                   Json::Array().Push(Json::Object().Set("doseQuantity", std::move(dose))));
    }
    p.resource = std::move(resource);
    prescriptions_.push_back(std::move(p));
    return {};
  }

  Context& context_;
  PatientEntry patient_;
  std::vector<Prescription> prescriptions_;
  bool in_order_ = false;  // an RXE of the current ORC was read: RXR and NTE are its own
};

}  // namespace

fhir::Result<void> MapRde(Context& context) {
  const Message& message = context.message();
  const std::size_t pid_index = message.Find("PID");
  if (pid_index == message.segment_count()) {
    return fhir::Error::Invalid("hl7v2.segment-sequence", "RDE message without PID", "PID");
  }
  auto patient = MapPatient(context, message.segment(pid_index), false);
  if (!patient.ok()) return std::move(patient).error();
  RdeMapper mapper(context, *patient);
  return mapper.Run();
}

}  // namespace mappings::hl7v2
