#include "mappings/hl7v2/context.h"

#include <algorithm>
#include <cctype>
#include <cstdint>

namespace mappings::hl7v2 {
namespace {

constexpr std::string_view kActReason = "http://terminology.hl7.org/CodeSystem/v3-ActReason";

bool IsOid(std::string_view text) {
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text.front()))) return false;
  bool dot = false;
  for (char c : text) {
    if (c == '.') {
      dot = true;
    } else if (!std::isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return dot && text.back() != '.';
}

bool IsUri(std::string_view text) {
  return text.starts_with("http://") || text.starts_with("https://") || text.starts_with("urn:");
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Two 64-bit FNV-1a hashes of the key, laid out as an RFC 9562 version 8 (custom) UUID.
std::string KeyUuid(std::string_view key) {
  std::uint64_t a = 0xcbf29ce484222325ULL, b = 0x84222325cbf29ce4ULL;
  for (char c : key) {
    a = (a ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    b = (b ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    b ^= b >> 29;
  }
  unsigned char bytes[16];
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<unsigned char>(a >> (56 - 8 * i));
    bytes[8 + i] = static_cast<unsigned char>(b >> (56 - 8 * i));
  }
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0F) | 0x80);
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3F) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 15]);
  }
  return out;
}

// "+0800" -> "+08:00"; "" when not an offset.
std::string Offset(std::string_view tz) {
  if (tz.size() != 5 || (tz[0] != '+' && tz[0] != '-') || !AllDigits(tz.substr(1))) return {};
  return std::string(tz.substr(0, 3)) + ":" + std::string(tz.substr(3));
}

}  // namespace

bool IsDecimal(std::string_view text) {
  std::size_t i = 0;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
  std::size_t digits = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i, ++digits;
  if (i < text.size() && text[i] == '.') {
    ++i;
    std::size_t fraction = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i, ++fraction;
    if (fraction == 0) return false;
  }
  return digits > 0 && i == text.size();
}

// HL7 NM allows a leading '+' and leading zeros that JSON numbers do not.
std::string JsonDecimal(std::string_view text) {
  std::string out(text);
  if (!out.empty() && out.front() == '+') out.erase(0, 1);
  bool negative = !out.empty() && out.front() == '-';
  std::size_t start = negative ? 1 : 0;
  while (out.size() > start + 1 && out[start] == '0' && out[start + 1] != '.') out.erase(start, 1);
  return out;
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

Context::Context(const Message& message, const ConceptMaps& maps) : message_(message), maps_(maps) {
  const std::string processing = message.Get("MSH-11");
  test_data_ = processing == "T" || processing == "D";
  // Times without an offset are read in the offset of MSH-7, else China Standard Time.
  const std::string msh7 = message.Get("MSH-7");
  std::size_t sign = msh7.find_first_of("+-");
  default_offset_ = sign == std::string::npos ? std::string() : Offset(msh7.substr(sign));
  if (default_offset_.empty()) default_offset_ = "+08:00";
  facility_ = message.Get("MSH-4.2");
  if (facility_.empty()) facility_ = message.Get("MSH-4");
  if (facility_.empty()) facility_ = message.Get("MSH-3");
}

std::string Context::FullUrl(std::string_view key) { return "urn:uuid:" + KeyUuid(key); }

std::string Context::Add(Json resource, std::string_view method, std::string url,
                         std::string if_none_exist, std::string_view key, std::string source,
                         bool test_data) {
  if (test_data_ || test_data) {
    // After resourceType, where readers look for it first.
    resource.Insert(1, "meta",
                    Json::Object().Set(
                        "security", Json::Array().Push(Json::Object()
                                                           .Set("system", kActReason)
                                                           .Set("code", "HTEST")
                                                           .Set("display", "test health data"))));
  }
  std::string full_url = FullUrl(key);
  entries_.push_back({full_url, std::move(resource), std::string(method), std::move(url),
                      std::move(if_none_exist), std::move(source)});
  return full_url;
}

void Context::AddPatch(Json parameters, std::string url, std::string_view key, std::string source) {
  entries_.push_back(
      {FullUrl(key), std::move(parameters), "PATCH", std::move(url), "", std::move(source)});
}

Mapped Context::Finish() {
  Mapped out;
  Json entries = Json::Array();
  for (Entry& e : entries_) {
    out.entry_sources.push_back(std::move(e.source));
    Json request = Json::Object().Set("method", e.method).Set("url", e.url);
    request.Set("ifNoneExist", e.if_none_exist);
    entries.Push(Json::Object()
                     .Set("fullUrl", e.full_url)
                     .Set("resource", std::move(e.resource))
                     .Set("request", std::move(request)));
  }
  entries_.clear();
  out.bundle_json = Json::Object()
                        .Set("resourceType", "Bundle")
                        .Set("type", "transaction")
                        .Set("entry", std::move(entries))
                        .Dump(true);
  out.warnings = std::move(warnings_);
  return out;
}

std::string Context::IdentifierQuery(std::string_view system, std::string_view value,
                                     bool test_data) const {
  std::string query = "identifier=" + PercentEncode(system) + "|" + PercentEncode(value);
  query += test_data_ || test_data ? "&_security=" : "&_security:not=";
  query += PercentEncode(kActReason) + "|HTEST";
  return query;
}

std::string Context::SourceSystem(std::string_view kind) const {
  return "urn:fhirhub:hl7v2:" + std::string(kind) + ":" + PercentEncode(facility_);
}

std::string Context::AuthoritySystem(std::string_view namespace_id, std::string_view universal_id,
                                     std::string_view universal_id_type) {
  if (!universal_id.empty()) {
    if (universal_id_type == "UUID") return "urn:uuid:" + std::string(universal_id);
    if (IsOid(universal_id)) return "urn:oid:" + std::string(universal_id);
    if (IsUri(universal_id)) return std::string(universal_id);
  }
  if (IsOid(namespace_id)) return "urn:oid:" + std::string(namespace_id);
  if (IsUri(namespace_id)) return std::string(namespace_id);
  if (!namespace_id.empty()) return "urn:fhirhub:hl7v2:authority:" + PercentEncode(namespace_id);
  if (!universal_id.empty()) return "urn:fhirhub:hl7v2:authority:" + PercentEncode(universal_id);
  return {};
}

Json Context::Identifier(const FieldRef& cx) const {
  const std::string value = cx.Get(1);
  if (value.empty()) return {};
  Json id = Json::Object();
  const std::string type = cx.Get(5);
  if (!type.empty()) {
    id.Set("type", Json::Object().Set(
                       "coding", Json::Array().Push(Coding(
                                     type, "", "http://terminology.hl7.org/CodeSystem/v2-0203"))));
  }
  std::string system = AuthoritySystem(cx.Get(4, 1), cx.Get(4, 2), cx.Get(4, 3));
  // An identifier without assigning authority is the sending facility's own number.
  if (system.empty()) system = SourceSystem("id");
  id.Set("system", system);
  id.Set("value", value);
  return id;
}

Json Context::HumanName(const FieldRef& xpn) const {
  const std::string family = xpn.Get(1);
  Json given = Json::Array();
  given.Push(Json::String(xpn.Get(2)));
  given.Push(Json::String(xpn.Get(3)));
  Json name = Json::Object();
  name.Set("use", TranslatedCode("v2-0200-name-use", xpn.Get(7)));
  // Chinese names are written family name first, without a space.
  const std::string given_name = xpn.Get(2);
  if (std::any_of(family.begin(), family.end(),
                  [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
    name.Set("text", family + given_name);
  }
  name.Set("family", family);
  name.Set("given", std::move(given));
  name.Set("prefix", Json::Array().Push(Json::String(xpn.Get(5))));
  name.Set("suffix", Json::Array().Push(Json::String(xpn.Get(4))));
  return name;
}

Json Context::Address(const FieldRef& xad) const {
  Json lines = Json::Array();
  lines.Push(Json::String(xad.Get(1)));
  lines.Push(Json::String(xad.Get(2)));
  Json address = Json::Object();
  address.Set("use", TranslatedCode("v2-0190-address-use", xad.Get(7)));
  address.Set("line", std::move(lines));
  address.Set("city", xad.Get(3));
  address.Set("district", xad.Get(9));
  address.Set("state", xad.Get(4));
  address.Set("postalCode", xad.Get(5));
  address.Set("country", xad.Get(6));
  return address;
}

Json Context::ContactPoint(const FieldRef& xtn, std::string_view default_use) const {
  std::string value = xtn.Get(12);
  const std::string email = xtn.Get(4);
  if (value.empty() && !email.empty()) value = email;
  if (value.empty() && !xtn.Get(7).empty()) {
    value = xtn.Get(6).empty() ? xtn.Get(7) : "(" + xtn.Get(6) + ") " + xtn.Get(7);
    if (!xtn.Get(5).empty()) value = "+" + xtn.Get(5) + " " + value;
  }
  if (value.empty()) value = xtn.Get(1);
  if (value.empty()) return {};
  std::string system = email.empty() || value != email ? "phone" : "email";
  std::string use = TranslatedCode("v2-0201-contact-point-use", xtn.Get(2));
  if (const MappedCode* equipment = maps_.Translate("v2-0202-contact-point-system", xtn.Get(3))) {
    // The table maps a mobile phone to the use "mobile", the rest to a system.
    if (equipment->system == "http://hl7.org/fhir/contact-point-use") {
      use = equipment->code;
    } else {
      system = equipment->code;
    }
  }
  if (use.empty()) use = std::string(default_use);
  return Json::Object().Set("system", system).Set("value", value).Set("use", use);
}

Json Context::Coding(std::string_view code, std::string_view display,
                     std::string_view system) const {
  if (code.empty()) return {};
  return Json::Object().Set("system", system).Set("code", code).Set("display", display);
}

Json Context::CodeableConcept(const FieldRef& cwe) const {
  Json codings = Json::Array();
  codings.Push(Coding(cwe.Get(1), cwe.Get(2), CodeSystemUri(cwe.Get(3))));
  codings.Push(Coding(cwe.Get(4), cwe.Get(5), CodeSystemUri(cwe.Get(6))));
  std::string text = cwe.Get(9);
  if (text.empty()) text = cwe.Get(2);
  if (text.empty() && cwe.Get(1).empty()) text = cwe.Get(5);
  return Json::Object().Set("coding", std::move(codings)).Set("text", text);
}

Json Context::PractitionerReference(const FieldRef& xcn) const {
  const std::string id = xcn.Get(1);
  std::string display = xcn.Get(2);
  const std::string given = xcn.Get(3);
  if (!given.empty()) {
    bool cjk = std::any_of(display.begin(), display.end(),
                           [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
    display += (display.empty() || cjk) ? given : " " + given;
  }
  if (id.empty() && display.empty()) return {};
  Json reference = Json::Object();
  if (!id.empty()) {
    std::string system = AuthoritySystem(xcn.Get(9, 1), xcn.Get(9, 2), xcn.Get(9, 3));
    if (system.empty()) system = SourceSystem("practitioner");
    reference.Set("type", "Practitioner");
    reference.Set("identifier", Json::Object().Set("system", system).Set("value", id));
  }
  reference.Set("display", display);
  return reference;
}

Json Context::Translated(std::string_view map_id, std::string_view code) const {
  const MappedCode* mapped = maps_.Translate(map_id, code);
  if (mapped == nullptr) return {};
  return Coding(mapped->code, mapped->display, mapped->system);
}

std::string Context::TranslatedCode(std::string_view map_id, std::string_view code) const {
  const MappedCode* mapped = maps_.Translate(map_id, code);
  return mapped == nullptr ? std::string() : mapped->code;
}

std::string Context::DateTime(std::string_view dtm, std::string_view location) {
  if (!Valued(dtm)) return {};
  std::size_t sign = dtm.find_first_of("+-", 4);
  std::string offset = sign == std::string_view::npos ? std::string() : Offset(dtm.substr(sign));
  std::string_view digits = dtm.substr(0, sign);
  std::string_view fraction;
  if (std::size_t dot = digits.find('.'); dot != std::string_view::npos) {
    fraction = digits.substr(dot + 1);
    digits = digits.substr(0, dot);
  }
  const bool ok = AllDigits(digits) &&
                  (digits.size() == 4 || digits.size() == 6 || digits.size() == 8 ||
                   digits.size() == 10 || digits.size() == 12 || digits.size() == 14) &&
                  (sign == std::string_view::npos || !offset.empty()) &&
                  (fraction.empty() || (AllDigits(fraction) && digits.size() == 14));
  if (!ok) {
    Warn(std::string(location) + ": not an HL7 date/time; left out");
    return {};
  }
  std::string out(digits.substr(0, 4));
  if (digits.size() >= 6) out += "-" + std::string(digits.substr(4, 2));
  if (digits.size() >= 8) out += "-" + std::string(digits.substr(6, 2));
  if (digits.size() >= 10) {
    out += "T" + std::string(digits.substr(8, 2)) + ":";
    out += digits.size() >= 12 ? std::string(digits.substr(10, 2)) : "00";
    out += ":";
    out += digits.size() >= 14 ? std::string(digits.substr(12, 2)) : "00";
    if (!fraction.empty()) out += "." + std::string(fraction);
    out += offset.empty() ? default_offset_ : offset;
  }
  return out;
}

std::string Context::Date(std::string_view dtm, std::string_view location) {
  std::string date_time = DateTime(dtm, location);
  return date_time.substr(0, std::min<std::size_t>(date_time.size(), 10));
}

std::string Context::CodeSystemUri(std::string_view name) {
  struct Known {
    std::string_view name;
    std::string_view uri;
  };
  static constexpr Known kKnown[] = {
      {"LN", "http://loinc.org"},
      {"LOINC", "http://loinc.org"},
      {"SCT", "http://snomed.info/sct"},
      {"SNM", "http://snomed.info/sct"},
      {"SNOMED", "http://snomed.info/sct"},
      {"I10", "http://hl7.org/fhir/sid/icd-10"},
      {"ICD10", "http://hl7.org/fhir/sid/icd-10"},
      {"ICD-10", "http://hl7.org/fhir/sid/icd-10"},
      {"I10C", "http://hl7.org/fhir/sid/icd-10-cm"},
      {"ICD10CM", "http://hl7.org/fhir/sid/icd-10-cm"},
      {"I9", "http://hl7.org/fhir/sid/icd-9-cm"},
      {"I9C", "http://hl7.org/fhir/sid/icd-9-cm"},
      {"UCUM", "http://unitsofmeasure.org"},
      {"MDC", "urn:iso:std:iso:11073:10101"},
      {"RXNORM", "http://www.nlm.nih.gov/research/umls/rxnorm"},
      {"CVX", "http://hl7.org/fhir/sid/cvx"},
      {"CDCREC", "urn:oid:2.16.840.1.113883.6.238"},
  };
  for (const Known& k : kKnown) {
    if (k.name == name) return std::string(k.uri);
  }
  if (name.size() == 7 && (name.starts_with("HL7") || name.starts_with("hl7")) &&
      AllDigits(name.substr(3))) {
    return "http://terminology.hl7.org/CodeSystem/v2-" + std::string(name.substr(3));
  }
  if (IsOid(name)) return "urn:oid:" + std::string(name);
  if (IsUri(name)) return std::string(name);
  return {};
}

}  // namespace mappings::hl7v2
