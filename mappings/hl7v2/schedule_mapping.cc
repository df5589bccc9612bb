// SIU^S12 -> Appointment (SCH, TQ1, NTE, AIS, AIG, AIL, AIP), after the v2-to-FHIR segment maps
// SCH[Appointment], AIS[Appointment], AIL[Appointment] and AIP[Appointment].
#include <string>

#include "mappings/hl7v2/segment_mappings.h"

namespace mappings::hl7v2 {
namespace {

Json Reference(std::string_view url) { return Json::Object().Set("reference", url); }

std::string LocationDisplay(const Segment& segment, std::size_t field) {
  // PL: point of care ^ room ^ bed ^ facility
  std::string display;
  for (std::size_t c : {4, 1, 2, 3}) {
    std::string part = segment.Get(field, 1, c, 1);
    if (!Valued(part)) continue;
    if (!display.empty()) display += " ";
    display += part;
  }
  return display;
}

Json Participant(Json actor, Json type) {
  Json participant = Json::Object();
  if (!type.empty()) participant.Set("type", Json::Array().Push(std::move(type)));
  return participant.Set("actor", std::move(actor)).Set("status", "accepted");
}

}  // namespace

fhir::Result<void> MapSiu(Context& context) {
  const Message& message = context.message();
  const std::size_t sch_index = message.Find("SCH");
  if (sch_index == message.segment_count()) {
    return fhir::Error::Invalid("hl7v2.segment-sequence", "SIU message without SCH", "SCH");
  }
  const std::size_t pid_index = message.Find("PID");
  if (pid_index == message.segment_count()) {
    return fhir::Error::Invalid("hl7v2.segment-sequence", "SIU message without PID", "PID");
  }
  auto patient = MapPatient(context, message.segment(pid_index), false);
  if (!patient.ok()) return std::move(patient).error();
  const Segment sch = message.segment(sch_index);

  // The appointment number: SCH-1 placer, else SCH-2 filler; S12 to S26 all name the same one.
  Json identifier;
  std::string source;
  for (std::size_t field : {1, 2}) {
    FieldRef ei{sch, field};
    if (ei.Get(1).empty()) continue;
    std::string system = Context::AuthoritySystem(ei.Get(2), ei.Get(3), ei.Get(4));
    if (system.empty()) system = context.SourceSystem(field == 1 ? "placer" : "filler");
    identifier = Json::Object().Set("system", system).Set("value", ei.Get(1));
    source = ei.Location(1);
    break;
  }
  if (identifier.empty()) {
    return fhir::Error::Invalid("hl7v2.required-field-missing",
                                "SCH-1 and SCH-2 (appointment ids) are both empty",
                                sch.Location(1, 1, 1));
  }
  const std::string system = identifier.Find("system")->text();
  const std::string value = identifier.Find("value")->text();

  Json appointment = Json::Object().Set("resourceType", "Appointment");
  appointment.Set("identifier", Json::Array().Push(std::move(identifier)));
  std::string status = context.TranslatedCode("v2-0278-appointment-status", sch.Get(25));
  appointment.Set("status", status.empty() ? "booked" : status);
  Json service_types = Json::Array();
  Json participants = Json::Array();
  participants.Push(Participant(Reference(patient->full_url), {}));
  participants.Push(Participant(context.PractitionerReference(FieldRef{sch, 12}),
                                Json::Object().Set("text", "placer contact")));
  Json comments = Json::Array();
  std::string start, end;
  bool after_sch = false;
  for (std::size_t i = 0; i < message.segment_count(); ++i) {
    const Segment segment = message.segment(i);
    const std::string_view name = segment.name();
    if (name == "SCH") {
      after_sch = true;
    } else if (name == "TQ1" && start.empty()) {
      start = context.DateTime(segment.Get(7), segment.Location(7));
      end = context.DateTime(segment.Get(8), segment.Location(8));
    } else if (name == "NTE" && after_sch) {
      if (const std::string text = segment.Get(3); Valued(text)) {
        comments.Push(Json::String(text));
      }
    } else if (name == "PID") {
      after_sch = false;  // later notes belong to resources, not to the appointment
    } else if (name == "AIS") {
      service_types.Push(context.CodeableConcept(FieldRef{segment, 3}));
      if (start.empty()) start = context.DateTime(segment.Get(4), segment.Location(4));
    } else if (name == "AIP") {
      participants.Push(Participant(context.PractitionerReference(FieldRef{segment, 3}),
                                    context.CodeableConcept(FieldRef{segment, 4})));
    } else if (name == "AIL") {
      const std::string display = LocationDisplay(segment, 3);
      if (!display.empty()) {
        participants.Push(
            Participant(Json::Object().Set("type", "Location").Set("display", display), {}));
      }
    } else if (name == "AIG") {
      const std::string display =
          segment.Get(3, 1, 2).empty() ? segment.Get(3) : segment.Get(3, 1, 2);
      if (Valued(display)) {
        participants.Push(Participant(Json::Object().Set("display", display),
                                      context.CodeableConcept(FieldRef{segment, 4})));
      }
    }
  }
  appointment.Set("serviceType", std::move(service_types));
  appointment.Set("appointmentType", context.CodeableConcept(FieldRef{sch, 8}));
  appointment.Set("reasonCode", Json::Array().Push(context.CodeableConcept(FieldRef{sch, 7})));
  appointment.Set("start", start);
  appointment.Set("end", end);
  // Several notes read as one comment, one per line.
  std::string comment;
  for (const Json& line : comments.items()) {
    if (!comment.empty()) comment += "\n";
    comment += line.text();
  }
  appointment.Set("comment", comment);
  appointment.Set("participant", std::move(participants));
  const std::string query = context.IdentifierQuery(system, value);
  context.Add(std::move(appointment), "PUT", "Appointment?" + query, "",
              "Appointment|" + system + "|" + value, std::move(source));
  return {};
}

}  // namespace mappings::hl7v2
