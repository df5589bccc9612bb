// PID -> Patient, after the v2-to-FHIR segment map PID[Patient], with the Chinese identity
// number, sex and ethnicity codes of primary care.
#include <algorithm>

#include "mappings/hl7v2/cn_identity.h"
#include "mappings/hl7v2/segment_mappings.h"

namespace mappings::hl7v2 {
namespace {

constexpr std::string_view kEthnicityExtension = "urn:fhirhub:extension:ethnicity";
constexpr std::string_view kGbt3304 = "urn:oid:2.16.156.10011.2.3.3.3";

// A 身份证 number by its assigning authority or identifier type (see docs/hl7v2.md).
bool IsCnIdentity(const FieldRef& cx) {
  const std::string authority = cx.Get(4, 1);
  const std::string universal = cx.Get(4, 2);
  const std::string type = cx.Get(5);
  return universal == "2.16.156.10011.1.3" || authority == "2.16.156.10011.1.3" ||
         authority == "身份证" || authority == "居民身份证" || type == "NNCHN";
}

Json Gender(Context& context, const Segment& pid) {
  const std::string sex = pid.Get(8);
  if (!Valued(sex)) return {};
  // GB/T 2261.1 uses digits, HL7 table 0001 letters: the two never collide.
  std::string gender = context.TranslatedCode("gbt2261.1-administrative-gender", sex);
  if (gender.empty()) gender = context.TranslatedCode("v2-0001-administrative-gender", sex);
  if (gender.empty()) {
    context.Warn(pid.Location(8) + ": sex code not in GB/T 2261.1 nor HL7 table 0001; left out");
    return {};
  }
  return Json::String(gender);
}

Json Ethnicity(Context& context, const Segment& pid) {
  const FieldRef cwe{pid, 22};
  const std::string code = cwe.Get(1);
  const std::string text = cwe.Get(2);
  if (code.empty() && text.empty()) return {};
  const MappedCode* mapped = context.maps().Translate("gbt3304-ethnicity", code);
  if (mapped == nullptr) mapped = context.maps().Translate("gbt3304-ethnicity", text);
  if (mapped == nullptr) {
    // Not a GB/T 3304 code: another country's ethnic group table, kept as sent.
    return Json::Object()
        .Set("url", kEthnicityExtension)
        .Set("valueCodeableConcept", context.CodeableConcept(cwe));
  }
  if (mapped->code != code) {
    context.Warn(pid.Location(22, 1, 1) + ": legacy ethnicity code read as GB/T 3304 " +
                 mapped->code);
  }
  Json ethnic_group =
      Json::Object()
          .Set("coding",
               Json::Array().Push(context.Coding(mapped->code, mapped->display, kGbt3304)))
          .Set("text", text.empty() ? mapped->display : text);
  return Json::Object().Set("url", kEthnicityExtension).Set("valueCodeableConcept", ethnic_group);
}

}  // namespace

fhir::Result<PatientIdentifiers> ReadPatientIdentifiers(Context& context, const Segment& segment,
                                                        std::size_t field) {
  PatientIdentifiers out;
  out.identifiers = Json::Array();
  std::string first_system, first_value, first_location;
  const std::string message_date = context.message().Get("MSH-7").substr(0, 8);
  for (std::size_t r = 1; r <= segment.RepetitionCount(field); ++r) {
    FieldRef cx{segment, field, r};
    const std::string value = cx.Get(1);
    if (value.empty()) continue;
    if (!IsCnIdentity(cx)) {
      Json id = context.Identifier(cx);
      if (first_value.empty()) {
        first_system = id.Find("system")->text();
        first_value = value;
        first_location = cx.Location(1);
      }
      out.identifiers.Push(std::move(id));
      continue;
    }
    CnIdentityCheck check = CheckCnIdentity(value, message_date);
    Json type = Json::Object()
                    .Set("coding", Json::Array().Push(context.Coding(
                                       "NI", "National unique individual identifier",
                                       "http://terminology.hl7.org/CodeSystem/v2-0203")))
                    .Set("text", "居民身份证");
    if (!check.valid) {
      // Kept for people to see, but no longer a key: a mistyped number must not merge two
      // residents.
      context.Warn(cx.Location(1) + ": " + check.problem + "; not used to match the patient");
      out.identifiers.Push(Json::Object().Set("use", "temp").Set("type", type).Set("value", value));
      continue;
    }
    if (check.upgraded) {
      context.Warn(cx.Location(1) + ": 15-digit 身份证 upgraded to its 18-digit form");
    }
    if (out.value.empty()) {
      out.system = std::string(kCnIdentitySystem);
      out.value = check.normalized;
      out.location = cx.Location(1);
    }
    out.identifiers.Push(Json::Object()
                             .Set("use", "official")
                             .Set("type", type)
                             .Set("system", kCnIdentitySystem)
                             .Set("value", check.normalized));
  }
  if (out.value.empty()) {
    out.system = first_system;
    out.value = first_value;
    out.location = first_location;
  }
  if (out.value.empty()) {
    return fhir::Error::Invalid("hl7v2.required-field-missing",
                                std::string(segment.name()) + "-" + std::to_string(field) +
                                    " has no identifier to match the patient by",
                                segment.Location(field, 1, 1));
  }
  return out;
}

fhir::Result<PatientEntry> MapPatient(Context& context, const Segment& pid, bool authoritative) {
  Json patient = Json::Object().Set("resourceType", "Patient");
  auto matched = ReadPatientIdentifiers(context, pid, 3);
  if (!matched.ok()) return std::move(matched).error();
  PatientEntry entry{.full_url = "", .system = matched->system, .value = matched->value};
  const std::string source = matched->location;
  Json identifiers = std::move(matched->identifiers);
  // PID-2 and PID-4 (external and alternate ids of older versions) are identifiers too.
  for (std::size_t field : {2, 4}) {
    for (std::size_t r = 1; r <= pid.RepetitionCount(field); ++r) {
      identifiers.Push(context.Identifier(FieldRef{pid, field, r}));
    }
  }
  patient.Set("extension", Json::Array().Push(Ethnicity(context, pid)));
  patient.Set("identifier", std::move(identifiers));
  patient.Set("active", Json::Bool(true));
  Json names = Json::Array();
  for (std::size_t r = 1; r <= pid.RepetitionCount(5); ++r) {
    names.Push(context.HumanName(FieldRef{pid, 5, r}));
  }
  patient.Set("name", std::move(names));
  Json telecom = Json::Array();
  for (std::size_t r = 1; r <= pid.RepetitionCount(13); ++r) {
    telecom.Push(context.ContactPoint(FieldRef{pid, 13, r}, "home"));
  }
  for (std::size_t r = 1; r <= pid.RepetitionCount(14); ++r) {
    telecom.Push(context.ContactPoint(FieldRef{pid, 14, r}, "work"));
  }
  patient.Set("telecom", std::move(telecom));
  patient.Set("gender", Gender(context, pid));
  patient.Set("birthDate", context.Date(pid.Get(7), pid.Location(7)));
  const std::string death = pid.Get(29);
  if (Valued(death)) {
    patient.Set("deceasedDateTime", context.DateTime(death, pid.Location(29)));
  } else if (pid.Get(30) == "Y" || pid.Get(30) == "N") {
    patient.Set("deceasedBoolean", Json::Bool(pid.Get(30) == "Y"));
  }
  Json addresses = Json::Array();
  for (std::size_t r = 1; r <= pid.RepetitionCount(11); ++r) {
    addresses.Push(context.Address(FieldRef{pid, 11, r}));
  }
  patient.Set("address", std::move(addresses));
  if (Json marital = context.Translated("v2-0002-marital-status", pid.Get(16)); !marital.empty()) {
    patient.Set("maritalStatus", Json::Object().Set("coding", Json::Array().Push(marital)));
  }
  const std::string multiple = pid.Get(24);
  const std::string order = pid.Get(25);
  if (!order.empty() && order.size() <= 2 &&
      std::all_of(order.begin(), order.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    patient.Set("multipleBirthInteger", Json::Number(std::to_string(std::stoi(order))));
  } else if (multiple == "Y" || multiple == "N") {
    patient.Set("multipleBirthBoolean", Json::Bool(multiple == "Y"));
  }
  patient.Set("communication", Json::Array().Push(Json::Object().Set(
                                   "language", context.CodeableConcept(FieldRef{pid, 15}))));

  const std::string query = context.IdentifierQuery(entry.system, entry.value);
  const std::string key = "Patient|" + entry.system + "|" + entry.value;
  if (authoritative) {
    entry.full_url = context.Add(std::move(patient), "PUT", "Patient?" + query, "", key, source);
  } else {
    entry.full_url = context.Add(std::move(patient), "POST", "Patient", query, key, source);
  }
  return entry;
}

}  // namespace mappings::hl7v2
