// ADT^A01/A04/A08/A28/A31 -> Patient, RelatedPerson (NK1), Encounter (PV1), AllergyIntolerance
// (AL1), Condition (DG1), after the v2-to-FHIR segment maps of those names.
#include <string>

#include "mappings/hl7v2/segment_mappings.h"

namespace mappings::hl7v2 {
namespace {

Json Reference(std::string_view url) { return Json::Object().Set("reference", url); }

// A key from parts that identify a thing within one patient: hashed into an identifier value,
// so no name or code appears in the identifier or the request URL.
std::string Digest(std::string_view key) {
  std::string uuid = Context::FullUrl(key);
  return uuid.substr(std::string_view("urn:uuid:").size());
}

void MapRelatedPerson(Context& context, const Segment& nk1, const PatientEntry& patient) {
  Json person = Json::Object().Set("resourceType", "RelatedPerson");
  Json identifiers = Json::Array();
  // The entry's source: the identifier it is found by, else the segment.
  std::string source;
  for (std::size_t r = 1; r <= nk1.RepetitionCount(33); ++r) {
    const FieldRef cx{nk1, 33, r};
    Json identifier = context.Identifier(cx);
    if (source.empty() && !identifier.empty()) source = cx.Location(1);
    identifiers.Push(std::move(identifier));
  }
  std::string system, value;
  if (!identifiers.items().empty()) {
    system = identifiers.items().front().Find("system")->text();
    value = identifiers.items().front().Find("value")->text();
  } else {
    // No identifier sent: one derived from the patient, the name and the relationship, so the
    // same next of kin sent again is the same RelatedPerson.
    system = context.SourceSystem("related-person");
    value = Digest(patient.system + "|" + patient.value + "|" + std::string(nk1.Raw(2)) + "|" +
                   nk1.Get(3));
    identifiers.Push(Json::Object().Set("system", system).Set("value", value));
    source = nk1.Location();
  }
  person.Set("identifier", std::move(identifiers));
  person.Set("active", Json::Bool(true));
  person.Set("patient", Reference(patient.full_url));
  Json relationship = Json::Array();
  const std::string code = nk1.Get(3);
  if (Json mapped = context.Translated("v2-0063-relationship", code); !mapped.empty()) {
    relationship.Push(Json::Object()
                          .Set("coding", Json::Array().Push(mapped).Push(context.Coding(
                                             code, nk1.Get(3, 1, 2),
                                             "http://terminology.hl7.org/CodeSystem/v2-0063")))
                          .Set("text", nk1.Get(3, 1, 2)));
  } else {
    relationship.Push(context.CodeableConcept(FieldRef{nk1, 3}));
  }
  relationship.Push(context.CodeableConcept(FieldRef{nk1, 7}));
  person.Set("relationship", std::move(relationship));
  Json names = Json::Array();
  for (std::size_t r = 1; r <= nk1.RepetitionCount(2); ++r) {
    names.Push(context.HumanName(FieldRef{nk1, 2, r}));
  }
  person.Set("name", std::move(names));
  Json telecom = Json::Array();
  for (std::size_t r = 1; r <= nk1.RepetitionCount(5); ++r) {
    telecom.Push(context.ContactPoint(FieldRef{nk1, 5, r}, "home"));
  }
  for (std::size_t r = 1; r <= nk1.RepetitionCount(6); ++r) {
    telecom.Push(context.ContactPoint(FieldRef{nk1, 6, r}, "work"));
  }
  person.Set("telecom", std::move(telecom));
  Json addresses = Json::Array();
  for (std::size_t r = 1; r <= nk1.RepetitionCount(4); ++r) {
    addresses.Push(context.Address(FieldRef{nk1, 4, r}));
  }
  person.Set("address", std::move(addresses));
  const std::string query = context.IdentifierQuery(system, value);
  context.Add(std::move(person), "PUT", "RelatedPerson?" + query, "",
              "RelatedPerson|" + system + "|" + value, std::move(source));
}

std::string LocationDisplay(const Segment& pv1, std::size_t field) {
  // PL: point of care ^ room ^ bed ^ facility
  std::string display;
  for (std::size_t c : {4, 1, 2, 3}) {
    std::string part = pv1.Get(field, 1, c, 1);
    if (!Valued(part)) continue;
    if (!display.empty()) display += " ";
    display += part;
  }
  return display;
}

// Returns the Encounter's fullUrl, or "" when PV1 says nothing about a visit.
std::string MapEncounter(Context& context, const Segment& pv1, const PatientEntry& patient,
                         std::string_view event) {
  const std::string patient_class = pv1.Get(2);
  const std::string admit = pv1.Get(44);
  const std::string discharge = pv1.Get(45);
  FieldRef visit{pv1, 19};
  if (visit.Get(1).empty() && !Valued(admit) && !Valued(pv1.Get(3)) &&
      (patient_class.empty() || patient_class == "N")) {
    return {};
  }
  Json encounter = Json::Object().Set("resourceType", "Encounter");
  Json identifier = context.Identifier(visit);
  std::string system, value;
  std::string method = "PUT";
  std::string source = visit.Location(1);
  if (!identifier.empty()) {
    identifier.Set(
        "type",
        Json::Object().Set(
            "coding", Json::Array().Push(context.Coding(
                          "VN", "Visit number", "http://terminology.hl7.org/CodeSystem/v2-0203"))));
    system = identifier.Find("system")->text();
    value = identifier.Find("value")->text();
  } else {
    // No visit number: the visit of this message only, created once however often it is sent.
    system = context.SourceSystem("encounter");
    value = context.message().Get("MSH-10");
    identifier = Json::Object().Set("system", system).Set("value", value);
    method = "POST";
    source = pv1.Location();
  }
  encounter.Set(
      "identifier",
      Json::Array().Push(std::move(identifier)).Push(context.Identifier(FieldRef{pv1, 50})));
  std::string status = "unknown";
  if (Valued(discharge)) {
    status = "finished";
  } else if (Valued(admit) || event == "A01" || event == "A04") {
    status = "in-progress";
  }
  encounter.Set("status", status);
  Json encounter_class = context.Translated("v2-0004-encounter-class", patient_class);
  if (encounter_class.empty()) {
    encounter_class =
        context.Coding("UNK", "unknown", "http://terminology.hl7.org/CodeSystem/v3-NullFlavor");
  }
  encounter.Set("class", std::move(encounter_class));
  encounter.Set("type", Json::Array().Push(context.CodeableConcept(FieldRef{pv1, 4})));
  encounter.Set("serviceType", context.CodeableConcept(FieldRef{pv1, 10}));
  encounter.Set("subject", Reference(patient.full_url));
  Json participants = Json::Array();
  struct Role {
    std::size_t field;
    std::string_view code;
    std::string_view display;
  };
  for (const Role& role : {Role{7, "ATND", "attender"}, Role{8, "REF", "referrer"},
                           Role{9, "CON", "consultant"}, Role{17, "ADM", "admitter"}}) {
    for (std::size_t r = 1; r <= pv1.RepetitionCount(role.field); ++r) {
      Json individual = context.PractitionerReference(FieldRef{pv1, role.field, r});
      if (individual.empty()) continue;
      participants.Push(Json::Object()
                            .Set("type", Json::Array().Push(Json::Object().Set(
                                             "coding", Json::Array().Push(context.Coding(
                                                           role.code, role.display,
                                                           "http://terminology.hl7.org/CodeSystem/"
                                                           "v3-ParticipationType")))))
                            .Set("individual", std::move(individual)));
    }
  }
  encounter.Set("participant", std::move(participants));
  encounter.Set("period", Json::Object()
                              .Set("start", context.DateTime(admit, pv1.Location(44)))
                              .Set("end", context.DateTime(discharge, pv1.Location(45))));
  Json hospitalization = Json::Object();
  hospitalization.Set("admitSource", context.CodeableConcept(FieldRef{pv1, 14}));
  hospitalization.Set("dischargeDisposition", context.CodeableConcept(FieldRef{pv1, 36}));
  encounter.Set("hospitalization", std::move(hospitalization));
  Json locations = Json::Array();
  for (std::size_t field : {3, 6, 11, 42}) {
    std::string display = LocationDisplay(pv1, field);
    if (display.empty()) continue;
    locations.Push(Json::Object()
                       .Set("location", Json::Object().Set("display", display))
                       .Set("status", field == 3 ? "active" : "completed"));
  }
  encounter.Set("location", std::move(locations));
  const std::string query = context.IdentifierQuery(system, value);
  const std::string key = "Encounter|" + system + "|" + value;
  if (method == "PUT")
    return context.Add(std::move(encounter), "PUT", "Encounter?" + query, "", key, source);
  return context.Add(std::move(encounter), "POST", "Encounter", query, key, source);
}

void MapAllergy(Context& context, const Segment& al1, const PatientEntry& patient) {
  Json code = context.CodeableConcept(FieldRef{al1, 3});
  if (code.empty()) {
    context.Warn(al1.Location(3) + ": allergen missing; allergy left out");
    return;
  }
  const std::string system = context.SourceSystem("allergy");
  const std::string value = Digest(patient.system + "|" + patient.value + "|" + al1.Get(3, 1, 1) +
                                   "|" + al1.Get(3, 1, 2));
  Json allergy = Json::Object().Set("resourceType", "AllergyIntolerance");
  allergy.Set("identifier",
              Json::Array().Push(Json::Object().Set("system", system).Set("value", value)));
  allergy.Set("clinicalStatus",
              Json::Object().Set("coding", Json::Array().Push(context.Coding(
                                               "active", "Active",
                                               "http://terminology.hl7.org/CodeSystem/"
                                               "allergyintolerance-clinical"))));
  const std::string type = al1.Get(2);
  if (const std::string category = context.TranslatedCode("v2-0127-allergy-category", type);
      !category.empty()) {
    allergy.Set("category", Json::Array().Push(Json::String(category)));
  }
  allergy.Set("criticality", context.TranslatedCode("v2-0128-allergy-criticality", al1.Get(4)));
  allergy.Set("code", std::move(code));
  allergy.Set("patient", Reference(patient.full_url));
  allergy.Set("onsetDateTime", context.DateTime(al1.Get(6), al1.Location(6)));
  Json manifestations = Json::Array();
  for (std::size_t r = 1; r <= al1.RepetitionCount(5); ++r) {
    const std::string reaction = al1.Get(5, r);
    if (Valued(reaction)) manifestations.Push(Json::Object().Set("text", reaction));
  }
  if (!manifestations.empty()) {
    Json reaction = Json::Object().Set("manifestation", std::move(manifestations));
    reaction.Set("severity", context.TranslatedCode("v2-0128-reaction-severity", al1.Get(4)));
    allergy.Set("reaction", Json::Array().Push(std::move(reaction)));
  }
  const std::string query = context.IdentifierQuery(system, value);
  context.Add(std::move(allergy), "POST", "AllergyIntolerance", query,
              "AllergyIntolerance|" + system + "|" + value, al1.Location());
}

void MapCondition(Context& context, const Segment& dg1, const PatientEntry& patient,
                  const std::string& encounter_url) {
  Json code = context.CodeableConcept(FieldRef{dg1, 3});
  if (code.empty()) {
    const std::string description = dg1.Get(4);
    if (Valued(description)) code = Json::Object().Set("text", description);
  }
  if (code.empty()) {
    context.Warn(dg1.Location(3) + ": diagnosis code missing; diagnosis left out");
    return;
  }
  const FieldRef diagnosis_id{dg1, 20};
  Json identifier = context.Identifier(diagnosis_id);
  std::string source = diagnosis_id.Location(1);
  if (identifier.empty()) {
    source = dg1.Location();
    identifier =
        Json::Object()
            .Set("system", context.SourceSystem("condition"))
            .Set("value", Digest(patient.system + "|" + patient.value + "|" + dg1.Get(3, 1, 1) +
                                 "|" + dg1.Get(3, 1, 3) + "|" + dg1.Get(4) + "|" + dg1.Get(5)));
  }
  const std::string system = identifier.Find("system")->text();
  const std::string value = identifier.Find("value")->text();
  Json condition = Json::Object().Set("resourceType", "Condition");
  condition.Set("identifier", Json::Array().Push(std::move(identifier)));
  Json categories = Json::Array().Push(Json::Object().Set(
      "coding", Json::Array().Push(
                    context.Coding("encounter-diagnosis", "Encounter Diagnosis",
                                   "http://terminology.hl7.org/CodeSystem/condition-category"))));
  condition.Set("category", std::move(categories));
  condition.Set("code", std::move(code));
  condition.Set("subject", Reference(patient.full_url));
  if (!encounter_url.empty()) condition.Set("encounter", Reference(encounter_url));
  condition.Set("onsetDateTime", context.DateTime(dg1.Get(5), dg1.Location(5)));
  condition.Set("recorder", context.PractitionerReference(FieldRef{dg1, 16}));
  const std::string query = context.IdentifierQuery(system, value);
  context.Add(std::move(condition), "POST", "Condition", query, "Condition|" + system + "|" + value,
              std::move(source));
}

}  // namespace

fhir::Result<void> MapAdt(Context& context) {
  const Message& message = context.message();
  const std::string event = message.Get("MSH-9.2");
  const std::size_t pid_index = message.Find("PID");
  if (pid_index == message.segment_count()) {
    return fhir::Error::Invalid("hl7v2.segment-sequence", "ADT message without PID", "PID");
  }
  auto patient = MapPatient(context, message.segment(pid_index), true);
  if (!patient.ok()) return std::move(patient).error();
  std::string encounter_url;
  if (std::size_t pv1 = message.Find("PV1"); pv1 != message.segment_count()) {
    encounter_url = MapEncounter(context, message.segment(pv1), *patient, event);
  }
  for (std::size_t i = 0; i < message.segment_count(); ++i) {
    Segment segment = message.segment(i);
    if (segment.name() == "NK1") {
      if (segment.field_count() >= 2 && (!segment.Raw(2).empty() || !segment.Raw(33).empty())) {
        MapRelatedPerson(context, segment, *patient);
      }
    } else if (segment.name() == "AL1") {
      MapAllergy(context, segment, *patient);
    } else if (segment.name() == "DG1") {
      MapCondition(context, segment, *patient, encounter_url);
    }
  }
  return {};
}

}  // namespace mappings::hl7v2
