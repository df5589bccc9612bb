#include "server/pipeline/audit/audit_event.h"

#include <algorithm>
#include <array>
#include <string_view>
#include <utility>

namespace server::audit {
namespace {

constexpr std::string_view kDicom = "http://dicom.nema.org/resources/ontology/DCM";
constexpr std::string_view kActReason = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
constexpr std::string_view kEntityType = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
constexpr std::string_view kObjectRole = "http://terminology.hl7.org/CodeSystem/object-role";

constexpr std::array<std::string_view, 17> kInteractions = {
    "read",           "vread",        "update",           "patch",
    "delete",         "history",      "history-instance", "history-type",
    "history-system", "create",       "search",           "search-type",
    "search-system",  "capabilities", "transaction",      "batch",
    "operation"};

// Appends `text` as valid UTF-8: every byte sequence that is not well-formed UTF-8 becomes U+FFFD;
// control characters other than tab, CR and LF are dropped.
std::string ValidText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      if (byte >= 0x20 || byte == '\t' || byte == '\r' || byte == '\n') out.push_back(text[i]);
      ++i;
      continue;
    }
    size_t length = 0;
    unsigned min = 0;
    unsigned code = 0;
    if (byte >= 0xC2 && byte <= 0xDF) {
      length = 2, min = 0x80, code = byte & 0x1F;
    } else if (byte >= 0xE0 && byte <= 0xEF) {
      length = 3, min = 0x800, code = byte & 0x0F;
    } else if (byte >= 0xF0 && byte <= 0xF4) {
      length = 4, min = 0x10000, code = byte & 0x07;
    }
    bool valid = length != 0 && i + length <= text.size();
    for (size_t k = 1; valid && k < length; ++k) {
      auto next = static_cast<unsigned char>(text[i + k]);
      valid = (next & 0xC0) == 0x80;
      code = (code << 6) | (next & 0x3F);
    }
    valid = valid && code >= min && code <= 0x10FFFF && (code < 0xD800 || code > 0xDFFF);
    if (valid) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  return out;
}

// A FHIR code: whitespace runs become one space, none leading or trailing.
std::string CodeText(std::string_view text) {
  std::string valid = ValidText(text);
  std::string out;
  bool pending_space = false;
  for (char c : valid) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

bool HasWhitespace(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

// JSON values as text; an empty text is an absent value, which containers leave out.
std::string Quoted(std::string_view valid_text) {
  if (valid_text.empty()) return {};
  std::string out = "\"";
  for (char c : valid_text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

std::string String(std::string_view text) { return Quoted(ValidText(text)); }
std::string Code(std::string_view text) { return Quoted(CodeText(text)); }
std::string Uri(std::string_view text) { return HasWhitespace(text) ? "" : String(text); }
std::string Bool(bool value) { return value ? "true" : "false"; }

using Members = std::vector<std::pair<std::string_view, std::string>>;

std::string Object(const Members& members) {
  std::string out;
  for (const auto& [key, value] : members) {
    if (value.empty()) continue;
    out += out.empty() ? "{\"" : ",\"";
    out += key;
    out += "\":";
    out += value;
  }
  if (!out.empty()) out += "}";
  return out;
}

std::string Array(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (item.empty()) continue;
    out += out.empty() ? "[" : ",";
    out += item;
  }
  if (!out.empty()) out += "]";
  return out;
}

std::string Coding(std::string_view system, std::string_view code, std::string_view display = {}) {
  return Object({{"system", Uri(system)}, {"code", Code(code)}, {"display", String(display)}});
}

std::string Concept(std::string coding) { return Object({{"coding", Array({std::move(coding)})}}); }

std::string Base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    unsigned n = static_cast<unsigned char>(bytes[i]) << 16 |
                 static_cast<unsigned char>(bytes[i + 1]) << 8 |
                 static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i < bytes.size()) {
    unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string_view OutcomeCode(int outcome) {
  switch (outcome) {
    case 0:
      return "0";
    case 4:
      return "4";
    case 12:
      return "12";
    default:
      return "8";
  }
}

std::string Action(char action) {
  if (std::string_view("CRUDE").find(action) == std::string_view::npos || action == '\0') {
    return {};
  }
  return Quoted(std::string(1, action));
}

std::string Subtype(std::string_view interaction) {
  if (std::find(kInteractions.begin(), kInteractions.end(), interaction) == kInteractions.end()) {
    return {};
  }
  return Array({Coding("http://hl7.org/fhir/restful-interaction", interaction, interaction)});
}

// An IP address (v4 or v6) as opposed to a host name.
bool IsIpAddress(std::string_view address) {
  bool separator = false;
  for (char c : address) {
    if (c == '.' || c == ':') {
      separator = true;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return separator;
}

std::string Identifier(const AuditRecord& record, std::string_view value) {
  if (ValidText(value).empty()) return {};
  return Object({{"system", Uri(record.issuer)}, {"value", String(value)}});
}

std::string PurposesOfUse(const AuditRecord& record) {
  std::vector<std::string> purposes;
  bool has_btg = false;
  for (const std::string& purpose : record.purpose_of_use) {
    std::string code = CodeText(purpose);
    if (code.empty()) continue;
    has_btg = has_btg || code == "BTG";
    purposes.push_back(Concept(Coding(kActReason, code)));
  }
  if (record.break_glass && !has_btg) {
    purposes.push_back(Concept(Coding(kActReason, "BTG", "break the glass")));
  }
  return Array(purposes);
}

std::string Roles(const AuditRecord& record) {
  std::vector<std::string> roles;
  for (const std::string& role : record.roles) roles.push_back(Object({{"text", String(role)}}));
  return Array(roles);
}

std::vector<std::string> Agents(const AuditRecord& record) {
  bool has_user = !ValidText(record.subject).empty() || !ValidText(record.fhir_user).empty();
  std::vector<std::string> agents;

  std::string network;
  if (!ValidText(record.network_address).empty()) {
    network = Object({{"address", String(record.network_address)},
                      {"type", Quoted(IsIpAddress(record.network_address) ? "2" : "1")}});
  }
  agents.push_back(Object({
      {"type", Concept(Coding(kDicom, "110150", "Application"))},
      {"role", has_user ? "" : Roles(record)},
      {"who", Object({{"identifier", Identifier(record, record.client_id)}})},
      {"requestor", Bool(!has_user)},
      {"network", network},
      {"purposeOfUse", has_user ? "" : PurposesOfUse(record)},
  }));

  if (has_user) {
    agents.push_back(Object({
        {"type", Concept(Coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                "IRCP", "information recipient"))},
        {"role", Roles(record)},
        {"who", Object({{"reference", String(record.fhir_user)},
                        {"identifier", Identifier(record, record.subject)}})},
        {"requestor", Bool(true)},
        {"purposeOfUse", PurposesOfUse(record)},
    }));
  }

  if (!ValidText(record.organization).empty()) {
    agents.push_back(Object({{"who", Object({{"reference", String(record.organization)}})},
                             {"requestor", Bool(false)}}));
  }

  agents.push_back(Object({
      {"type", Concept(Coding(kDicom, "110152", "Destination Role ID"))},
      {"who",
       Object({{"display", String(record.server_id.empty() ? "fhirhub" : record.server_id)}})},
      {"requestor", Bool(false)},
  }));
  return agents;
}

std::string PatientReference(std::string_view patient) {
  std::string text = ValidText(patient);
  if (text.empty() || text.starts_with("Patient/")) return text;
  return "Patient/" + text;
}

std::vector<std::string> Entities(const AuditRecord& record) {
  std::vector<std::string> entities;
  std::vector<std::string> patients;
  for (const std::string& patient : record.patients) {
    std::string reference = PatientReference(patient);
    if (reference.empty() ||
        std::find(patients.begin(), patients.end(), reference) != patients.end()) {
      continue;
    }
    patients.push_back(reference);
    entities.push_back(Object({{"what", Object({{"reference", Quoted(reference)}})},
                               {"type", Coding(kEntityType, "1", "Person")},
                               {"role", Coding(kObjectRole, "1", "Patient")}}));
  }
  std::vector<std::string> seen;
  for (const std::string& entity : record.entities) {
    std::string reference = ValidText(entity);
    if (reference.empty() ||
        std::find(patients.begin(), patients.end(), reference) != patients.end() ||
        std::find(seen.begin(), seen.end(), reference) != seen.end()) {
      continue;
    }
    seen.push_back(reference);
    entities.push_back(Object({{"what", Object({{"reference", Quoted(reference)}})},
                               {"type", Coding(kEntityType, "2", "System Object")},
                               {"role", Coding(kObjectRole, "4", "Domain Resource")}}));
  }
  if (!record.query.empty()) {
    entities.push_back(Object({{"type", Coding(kEntityType, "2", "System Object")},
                               {"role", Coding(kObjectRole, "24", "Query")},
                               {"query", Quoted(Base64(record.query))}}));
  }
  if (!ValidText(record.request_id).empty()) {
    entities.push_back(
        Object({{"what", Object({{"identifier", Object({{"value", String(record.request_id)}})}})},
                {"type", Coding("https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType",
                                "XrequestId", "transport specific unique identifier")}}));
  }
  return entities;
}

}  // namespace

std::string AuditEventJson(const AuditRecord& record) {
  std::string server_id = record.server_id.empty() ? "fhirhub" : record.server_id;
  return Object({
      {"resourceType", Quoted("AuditEvent")},
      {"type", Coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest",
                      "Restful Operation")},
      {"subtype", Subtype(record.interaction)},
      {"action", Action(record.action)},
      {"recorded", String(record.recorded)},
      {"outcome", Quoted(OutcomeCode(record.outcome))},
      {"outcomeDesc", String(record.outcome_text)},
      {"purposeOfEvent",
       record.break_glass ? Array({Concept(Coding(kActReason, "BTG", "break the glass"))}) : ""},
      {"agent", Array(Agents(record))},
      {"source",
       Object({{"observer", Object({{"display", String(server_id)}})},
               {"type", Array({Coding("http://terminology.hl7.org/CodeSystem/security-source-type",
                                      "4", "Application Server")})}})},
      {"entity", Array(Entities(record))},
  });
}

}  // namespace server::audit
