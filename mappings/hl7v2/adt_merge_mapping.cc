// ADT^A40 (merge patient, patient identifier list) -> Patient.link, after FHIR's Patient.link
// semantics (HL7's v2-to-FHIR tables have no ADT_A40 message map nor MRG[Patient] segment map):
// the surviving patient of PID `replaces` the patient of MRG-1, which becomes inactive and
// `replaced-by` the survivor. The merged patient is changed by a FHIRPath Patch on a conditional
// URL, so everything else stored about it stays.
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "mappings/hl7v2/segment_mappings.h"

namespace mappings::hl7v2 {
namespace {

// One PATIENT group: a surviving patient and the patients merged into it.
struct Group {
  Segment pid;
  std::vector<Segment> mrgs;
};

std::string SegmentLocation(const Segment& segment) {
  std::string out(segment.name());
  if (segment.ordinal() > 1) out += "(" + std::to_string(segment.ordinal()) + ")";
  return out;
}

Json Part(std::string_view name, std::string_view value_type, Json value) {
  return Json::Object().Set("name", name).Set(value_type, std::move(value));
}

Json Operation(Json parts) {
  return Json::Object().Set("name", "operation").Set("part", std::move(parts));
}

Json IdentifierJson(std::string_view system, std::string_view value) {
  return Json::Object().Set("system", system).Set("value", value);
}

// MRG-7 as a Reference display: Chinese names family name first without a space.
std::string NameDisplay(const Context& context, const Segment& mrg) {
  Json name = context.HumanName(FieldRef{mrg, 7});
  if (const Json* text = name.Find("text")) return text->text();
  std::string display;
  if (const Json* given = name.Find("given")) {
    for (const Json& part : given->items()) display += part.text() + " ";
  }
  if (const Json* family = name.Find("family")) display += family->text();
  while (!display.empty() && display.back() == ' ') display.pop_back();
  return display;
}

// The patch that retires the merged patient: inactive, and replaced by the survivor. It deletes
// before it adds, so a message sent twice leaves one link, and a patient merged again points to
// its latest survivor.
Json RetirePatch(std::string_view survivor_url, const PatientEntry& survivor) {
  Json link_value =
      Json::Array()
          .Push(Part("other", "valueReference",
                     Json::Object()
                         .Set("reference", survivor_url)
                         .Set("identifier", IdentifierJson(survivor.system, survivor.value))))
          .Push(Part("type", "valueCode", Json::String("replaced-by")));
  Json operations = Json::Array();
  operations.Push(
      Operation(Json::Array()
                    .Push(Part("type", "valueCode", Json::String("delete")))
                    .Push(Part("path", "valueString", Json::String("Patient.active")))));
  operations.Push(Operation(Json::Array()
                                .Push(Part("type", "valueCode", Json::String("add")))
                                .Push(Part("path", "valueString", Json::String("Patient")))
                                .Push(Part("name", "valueString", Json::String("active")))
                                .Push(Part("value", "valueBoolean", Json::Bool(false)))));
  operations.Push(
      Operation(Json::Array()
                    .Push(Part("type", "valueCode", Json::String("delete")))
                    .Push(Part("path", "valueString",
                               Json::String("Patient.link.where(type = 'replaced-by')")))));
  operations.Push(
      Operation(Json::Array()
                    .Push(Part("type", "valueCode", Json::String("add")))
                    .Push(Part("path", "valueString", Json::String("Patient")))
                    .Push(Part("name", "valueString", Json::String("link")))
                    .Push(Json::Object().Set("name", "value").Set("part", std::move(link_value)))));
  return Json::Object().Set("resourceType", "Parameters").Set("parameter", std::move(operations));
}

}  // namespace

fhir::Result<void> MapAdtMerge(Context& context) {
  const Message& message = context.message();
  // The PATIENT groups, one per surviving patient: a PID sent twice with the same PID-3 is one
  // Patient, written once with every link.
  std::vector<Group> groups;
  std::map<std::string, std::size_t, std::less<>> by_pid3;
  std::size_t current = 0;  // 1 + the index of the group of the last PID; 0 before the first
  for (std::size_t i = 0; i < message.segment_count(); ++i) {
    Segment segment = message.segment(i);
    if (segment.name() == "PID") {
      auto [it, fresh] = by_pid3.emplace(std::string(segment.Raw(3)), groups.size());
      if (fresh) groups.push_back(Group{segment, {}});
      current = it->second + 1;
    } else if (segment.name() == "MRG") {
      if (current == 0) {
        return fhir::Error::Invalid("hl7v2.segment-sequence",
                                    "MRG without the PID of the surviving patient before it",
                                    "PID");
      }
      groups[current - 1].mrgs.push_back(segment);
    }
  }
  if (groups.empty()) {
    return fhir::Error::Invalid("hl7v2.segment-sequence", "ADT message without PID", "PID");
  }
  std::set<std::string> merged_keys;
  for (const Group& group : groups) {
    if (group.mrgs.empty()) {
      return fhir::Error::Invalid("hl7v2.segment-sequence",
                                  "ADT^A40 needs an MRG after the PID of " +
                                      SegmentLocation(group.pid) + ": the patient to merge",
                                  "MRG");
    }
    struct Merged {
      const Segment* mrg;
      PatientIdentifiers ids;
    };
    std::vector<Merged> merged;
    Json links = Json::Array();
    for (const Segment& mrg : group.mrgs) {
      auto ids = ReadPatientIdentifiers(context, mrg, 1);
      if (!ids.ok()) return std::move(ids).error();
      if (!merged_keys.insert(ids->system + "|" + ids->value).second) {
        return fhir::Error::Invalid(
            "hl7v2.duplicate-key-identifier",
            "the patient of " + mrg.Location(1) + " is merged twice in this message",
            mrg.Location(1));
      }
      // The server resolves the reference to the one Patient with the identifier; none (a
      // patient it never heard of) refuses the whole message, nothing written.
      links.Push(Json::Object()
                     .Set("other", Json::Object()
                                       .Set("reference", "Patient?" + context.IdentifierQuery(
                                                                          ids->system, ids->value))
                                       .Set("identifier", IdentifierJson(ids->system, ids->value))
                                       .Set("display", NameDisplay(context, mrg)))
                     .Set("type", "replaces"));
      merged.push_back({&mrg, std::move(ids).value()});
    }
    auto survivor = MapPatient(context, group.pid, true, std::move(links));
    if (!survivor.ok()) return std::move(survivor).error();
    for (const Merged& m : merged) {
      if (m.ids.system == survivor->system && m.ids.value == survivor->value) {
        return fhir::Error::Invalid(
            "hl7v2.duplicate-key-identifier",
            "MRG-1 names the surviving patient of " + SegmentLocation(group.pid) + " itself",
            m.mrg->Location(1));
      }
      const std::string query = context.IdentifierQuery(m.ids.system, m.ids.value);
      context.AddPatch(RetirePatch(survivor->full_url, *survivor), "Patient?" + query,
                       "Patient-merge|" + m.ids.system + "|" + m.ids.value);
    }
  }
  return {};
}

}  // namespace mappings::hl7v2
