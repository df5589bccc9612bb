// ADT^A40 (merge patient, patient identifier list) -> Patient.link, after FHIR's Patient.link
// semantics (HL7's v2-to-FHIR tables have no ADT_A40 message map nor MRG[Patient] segment map):
// the surviving patient of PID `replaces` the patient of MRG-1, which becomes inactive and
// `replaced-by` the survivor. Both are changed by FHIRPath Patches on conditional URLs, so
// everything else stored about them (demographics, earlier links) stays.
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "mappings/hl7v2/segment_mappings.h"

namespace mappings::hl7v2 {
namespace {

// One PATIENT group: a surviving patient and the patients merged into it.
struct Merged {
  Segment mrg;
  PatientIdentifiers ids;
};
struct Group {
  Segment pid;
  PatientIdentifiers ids;
  std::vector<Merged> merged;
};

// A FHIRPath string literal.
std::string FhirPathString(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

Json Part(std::string_view name, std::string_view value_type, Json value) {
  return Json::Object().Set("name", name).Set(value_type, std::move(value));
}

Json Operation(std::string_view type, std::string_view path, Json more = Json::Array()) {
  Json parts = Json::Array()
                   .Push(Part("type", "valueCode", Json::String(type)))
                   .Push(Part("path", "valueString", Json::String(path)));
  for (const Json& part : more.items()) parts.Push(part);
  return Json::Object().Set("name", "operation").Set("part", std::move(parts));
}

// Adds a Patient.link: `other` the Patient with the identifier, named by a conditional reference
// the server resolves when it runs the transaction (a patient it does not know refuses the whole
// message, nothing written).
Json AddLink(const Context& context, const PatientIdentifiers& other, std::string_view type,
             std::string_view display) {
  Json reference =
      Json::Object()
          .Set("reference", "Patient?" + context.IdentifierQuery(other.system, other.value))
          .Set("identifier", Json::Object().Set("system", other.system).Set("value", other.value))
          .Set("display", display);
  Json link = Json::Array()
                  .Push(Part("other", "valueReference", std::move(reference)))
                  .Push(Part("type", "valueCode", Json::String(type)));
  return Operation("add", "Patient",
                   Json::Array()
                       .Push(Part("name", "valueString", Json::String("link")))
                       .Push(Json::Object().Set("name", "value").Set("part", std::move(link))));
}

// A name (PID-5, MRG-7) as a Reference display: Chinese names family name first without a
// space.
std::string NameDisplay(const Context& context, const Segment& segment, std::size_t field) {
  Json name = context.HumanName(FieldRef{segment, field});
  if (const Json* text = name.Find("text")) return text->text();
  std::string display;
  if (const Json* given = name.Find("given")) {
    for (const Json& part : given->items()) display += part.text() + " ";
  }
  if (const Json* family = name.Find("family")) display += family->text();
  while (!display.empty() && display.back() == ' ') display.pop_back();
  return display;
}

// The survivor's patch: a `replaces` link to each merged patient. Each link is deleted before it
// is added (found by the identifier it carries), so a message sent twice leaves one, and the
// links of earlier merges stay.
Json SurvivorPatch(const Context& context, const Group& group) {
  Json operations = Json::Array();
  for (const Merged& m : group.merged) {
    operations.Push(Operation(
        "delete", "Patient.link.where(type = 'replaces' and other.identifier.system = " +
                      FhirPathString(m.ids.system) +
                      " and other.identifier.value = " + FhirPathString(m.ids.value) + ")"));
    operations.Push(AddLink(context, m.ids, "replaces", NameDisplay(context, m.mrg, 7)));
  }
  return Json::Object().Set("resourceType", "Parameters").Set("parameter", std::move(operations));
}

// The merged patient's patch: inactive, and replaced by the survivor. It deletes before it adds,
// so a message sent twice changes nothing, and a patient merged again points to its latest
// survivor.
Json RetirePatch(const Context& context, const Group& group) {
  Json operations = Json::Array();
  operations.Push(Operation("delete", "Patient.active"));
  operations.Push(Operation("add", "Patient",
                            Json::Array()
                                .Push(Part("name", "valueString", Json::String("active")))
                                .Push(Part("value", "valueBoolean", Json::Bool(false)))));
  operations.Push(Operation("delete", "Patient.link.where(type = 'replaced-by')"));
  operations.Push(AddLink(context, group.ids, "replaced-by", NameDisplay(context, group.pid, 5)));
  return Json::Object().Set("resourceType", "Parameters").Set("parameter", std::move(operations));
}

}  // namespace

fhir::Result<void> MapAdtMerge(Context& context) {
  const Message& message = context.message();
  // The PATIENT groups, one per surviving patient: a PID sent twice for the same patient is one
  // patch with every link.
  std::vector<Group> groups;
  std::map<std::string, std::size_t, std::less<>> by_patient;
  std::set<std::string, std::less<>> merged_keys;
  std::size_t current = 0;  // 1 + the index of the group of the last PID; 0 before the first
  for (std::size_t i = 0; i < message.segment_count(); ++i) {
    Segment segment = message.segment(i);
    if (segment.name() == "PID") {
      auto ids = ReadPatientIdentifiers(context, segment, 3);
      if (!ids.ok()) return std::move(ids).error();
      auto [it, fresh] = by_patient.emplace(ids->system + "|" + ids->value, groups.size());
      if (fresh) groups.push_back(Group{segment, std::move(ids).value(), {}});
      current = it->second + 1;
    } else if (segment.name() == "MRG") {
      if (current == 0) {
        return fhir::Error::Invalid("hl7v2.segment-sequence",
                                    "MRG without the PID of the surviving patient before it",
                                    "PID");
      }
      Group& group = groups[current - 1];
      auto ids = ReadPatientIdentifiers(context, segment, 1);
      if (!ids.ok()) return std::move(ids).error();
      const std::string key = ids->system + "|" + ids->value;
      if (by_patient.contains(key)) {
        return fhir::Error::Invalid("hl7v2.duplicate-key-identifier",
                                    "MRG-1 names a surviving patient of this message (" +
                                        group.pid.Location() + " or an earlier PID)",
                                    segment.Location(1));
      }
      if (!merged_keys.insert(key).second) {
        return fhir::Error::Invalid(
            "hl7v2.duplicate-key-identifier",
            "the patient of " + segment.Location(1) + " is merged twice in this message",
            segment.Location(1));
      }
      group.merged.push_back(Merged{segment, std::move(ids).value()});
    }
  }
  if (groups.empty()) {
    return fhir::Error::Invalid("hl7v2.segment-sequence", "ADT message without PID", "PID");
  }
  for (const Group& group : groups) {
    if (group.merged.empty()) {
      return fhir::Error::Invalid("hl7v2.segment-sequence",
                                  "ADT^A40 needs an MRG after the PID of " + group.pid.Location() +
                                      ": the patient to merge",
                                  "MRG");
    }
  }
  for (const Group& group : groups) {
    // A PID after the MRG that merged its patient away.
    if (merged_keys.contains(group.ids.system + "|" + group.ids.value)) {
      return fhir::Error::Invalid(
          "hl7v2.duplicate-key-identifier",
          "the surviving patient of " + group.pid.Location() + " is merged away in this message",
          group.pid.Location(3));
    }
    context.AddPatch(SurvivorPatch(context, group),
                     "Patient?" + context.IdentifierQuery(group.ids.system, group.ids.value),
                     "Patient-survivor|" + group.ids.system + "|" + group.ids.value,
                     group.ids.location);
    for (const Merged& m : group.merged) {
      context.AddPatch(RetirePatch(context, group),
                       "Patient?" + context.IdentifierQuery(m.ids.system, m.ids.value),
                       "Patient-merged|" + m.ids.system + "|" + m.ids.value, m.ids.location);
    }
  }
  return {};
}

}  // namespace mappings::hl7v2
