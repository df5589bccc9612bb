// What the HL7 v2 mappings share while mapping one message: the message, the concept maps, the
// warnings, the Bundle being built, and the conversions of HL7 data types to FHIR ones (CX to
// Identifier, XPN to HumanName, CWE to CodeableConcept, DTM to dateTime ...). Internal to
// mappings/hl7v2.
#ifndef MAPPINGS_HL7V2_CONTEXT_H_
#define MAPPINGS_HL7V2_CONTEXT_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/result.h"
#include "mappings/hl7v2/concept_maps.h"
#include "mappings/hl7v2/er7.h"
#include "mappings/hl7v2/json_value.h"
#include "mappings/hl7v2/mapper.h"

namespace mappings::hl7v2 {

// The position of one repetition of a field: what the conversions read.
struct FieldRef {
  const Segment& segment;
  std::size_t field;
  std::size_t repetition = 1;
  // The value, with the HL7 null ("") read as empty.
  std::string Get(std::size_t component, std::size_t subcomponent = 1) const {
    std::string value = segment.Get(field, repetition, component, subcomponent);
    return value == "\"\"" ? std::string() : value;
  }
  std::string Location(std::size_t component = 0) const {
    return segment.Location(field, repetition, component);
  }
};

class Context {
 public:
  Context(const Message& message, const ConceptMaps& maps);

  const Message& message() const { return message_; }
  const ConceptMaps& maps() const { return maps_; }
  void Warn(std::string text) { warnings_.push_back(std::move(text)); }
  // MSH-11 is T (training) or D (debugging): everything written is test data.
  bool test_data() const { return test_data_; }

  // Adds an entry; returns its fullUrl, a urn:uuid derived from `key` (so the same message gives
  // the same Bundle). `url` is the request URL ("Patient?identifier=..." for a conditional
  // update, "Observation" for a create); `if_none_exist` the create's condition. `source` is the
  // HL7 position the entry is mapped from (see Mapped::entry_sources): what an ACK names when
  // the server refuses the entry. Test data (the whole message, or this resource when
  // `test_data`) get the HTEST security label.
  std::string Add(Json resource, std::string_view method, std::string url,
                  std::string if_none_exist, std::string_view key, std::string source,
                  bool test_data = false);
  // Adds a PATCH entry: `parameters` a FHIRPath Patch, `url` its (conditional) target, `source`
  // as for Add. Nothing is labelled: the patch changes a resource that already is what it is.
  void AddPatch(Json parameters, std::string url, std::string_view key, std::string source);
  // The fullUrl an entry added with `key` has (or will have).
  static std::string FullUrl(std::string_view key);
  // The result: the Bundle of the entries added, the source of each, the warnings. Everything
  // is moved out.
  Mapped Finish();

  // A search condition on one identifier ("identifier=system|value", percent-encoded), with
  // the test-data label condition that keeps test and clinical data apart (`test_data`: this
  // resource is test data even when the message is not).
  std::string IdentifierQuery(std::string_view system, std::string_view value,
                              bool test_data = false) const;
  // An identifier system of this message's source for what it numbers itself ("observation",
  // "encounter", ...): urn:fhirhub:hl7v2:<kind>:<sending facility>.
  std::string SourceSystem(std::string_view kind) const;

  // HL7 data types to FHIR JSON; each returns an empty Json when the field is empty.
  Json Identifier(const FieldRef& cx) const;  // CX
  // The system of an HD assigning authority (namespace, universal id, universal id type).
  static std::string AuthoritySystem(std::string_view namespace_id, std::string_view universal_id,
                                     std::string_view universal_id_type);
  Json HumanName(const FieldRef& xpn) const;                                   // XPN
  Json Address(const FieldRef& xad) const;                                     // XAD
  Json ContactPoint(const FieldRef& xtn, std::string_view default_use) const;  // XTN
  // CWE/CE: the identifier and the alternate identifier as codings, the text (or original text).
  Json CodeableConcept(const FieldRef& cwe) const;
  Json Coding(std::string_view code, std::string_view display, std::string_view system) const;
  // XCN as a Reference by identifier and display.
  Json PractitionerReference(const FieldRef& xcn) const;
  // A concept map translation as a Coding; empty when `code` is not in the map.
  Json Translated(std::string_view map_id, std::string_view code) const;
  // The target code of a translation, or "".
  std::string TranslatedCode(std::string_view map_id, std::string_view code) const;
  // DTM to FHIR dateTime (an offset added when the time has none, see docs/hl7v2.md); warns
  // and returns "" when it is not a date.
  std::string DateTime(std::string_view dtm, std::string_view location);
  // DTM to FHIR date.
  std::string Date(std::string_view dtm, std::string_view location);
  // A HL7 coding system name (CWE.3: "LN", "I10", "HL70001", an OID) as a FHIR system URI.
  static std::string CodeSystemUri(std::string_view name);

 private:
  struct Entry {
    std::string full_url;
    Json resource;
    std::string method;
    std::string url;
    std::string if_none_exist;
    std::string source;
  };

  const Message& message_;
  const ConceptMaps& maps_;
  bool test_data_ = false;
  std::string default_offset_;
  std::string facility_;
  std::vector<std::string> warnings_;
  std::vector<Entry> entries_;
};

// An HL7 NM value that FHIR can hold as a decimal: optional sign, digits, optional fraction.
bool IsDecimal(std::string_view text);
// An NM value (IsDecimal) as a JSON number: no leading '+' nor leading zeros.
std::string JsonDecimal(std::string_view text);
// Percent-encodes everything but unreserved characters (RFC 3986).
std::string PercentEncode(std::string_view text);
// The HL7 null ("") and absent both read as empty.
inline bool Valued(std::string_view value) { return !value.empty() && value != "\"\""; }

}  // namespace mappings::hl7v2

#endif  // MAPPINGS_HL7V2_CONTEXT_H_
