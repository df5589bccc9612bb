// ORU^R01 -> DiagnosticReport (OBR), Observation (OBX, NTE), Device (OBX-18), after the
// v2-to-FHIR segment maps OBR[DiagnosticReport] and OBX[Observation], with the IHE PCD-01
// conventions of bedside monitors and station devices: MDC codes (translated to LOINC where
// mdc-loinc.json has them), MDC units to UCUM, the containment of OBX-4, devices by EUI-64.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "mappings/hl7v2/segment_mappings.h"

namespace mappings::hl7v2 {
namespace {

constexpr std::string_view kMdc = "urn:iso:std:iso:11073:10101";
constexpr std::string_view kUcum = "http://unitsofmeasure.org";
// The PHD/PCD identifier system of an EUI-64 system id.
constexpr std::string_view kEui64 = "urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680";
constexpr std::string_view kSubIdExtension = "urn:fhirhub:extension:hl7v2-obx-sub-id";

Json Reference(std::string_view url) { return Json::Object().Set("reference", url); }

struct Report {
  std::size_t obr = 0;
  std::string full_url;
  std::string base;                  // what observation identifiers start with
  std::vector<std::size_t> results;  // indexes in observations_
  Json resource;
  std::string system, value;
  std::string source;  // the order number it is found by, else the OBR
};

class OruMapper {
 public:
  OruMapper(Context& context, PatientEntry patient) : context_(context), patient_(patient) {}

  fhir::Result<void> Run() {
    const Message& message = context_.message();
    for (std::size_t i = 0; i < message.segment_count(); ++i) {
      Segment segment = message.segment(i);
      const std::string_view name = segment.name();
      if (name == "OBR") {
        auto started = StartReport(segment);
        if (!started.ok()) return started;
      } else if (name == "OBX") {
        MapObservation(segment);
      } else if (name == "NTE" && last_observation_ != nullptr) {
        const std::string text = segment.Get(3);
        if (Valued(text)) {
          Json* notes = last_observation_->Find("note");
          if (notes == nullptr) {
            last_observation_->Set("note", Json::Array().Push(Json::Object().Set("text", text)));
          } else {
            notes->Push(Json::Object().Set("text", text));
          }
        }
      } else if (name == "PID" && seen_pid_) {
        return fhir::Error::Invalid(
            "hl7v2.segment-sequence", "results of one patient per message are mapped",
            std::string(name) + "(" + std::to_string(segment.ordinal()) + ")");
      } else if (name == "PID") {
        seen_pid_ = true;
      }
    }
    FinishPanels();
    for (auto& observation : observations_) {
      const std::string query =
          context_.IdentifierQuery(observation.system, observation.value, observation.test_data);
      context_.Add(std::move(observation.resource), "POST", "Observation", query, observation.key,
                   std::move(observation.source), observation.test_data);
    }
    for (auto& report : reports_) {
      // A report of test results only is test data; otherwise it lists its clinical results
      // alone, so test data stay out of what clinicians read.
      const bool test_data =
          !report.results.empty() &&
          std::all_of(report.results.begin(), report.results.end(),
                      [this](std::size_t i) { return observations_[i].test_data; });
      Json results = Json::Array();
      for (std::size_t i : report.results) {
        if (observations_[i].test_data == test_data) {
          results.Push(Reference(Context::FullUrl(observations_[i].key)));
        }
      }
      report.resource.Set("result", std::move(results));
      const std::string query = context_.IdentifierQuery(report.system, report.value, test_data);
      context_.Add(std::move(report.resource), "POST", "DiagnosticReport", query,
                   "DiagnosticReport|" + report.system + "|" + report.value,
                   std::move(report.source), test_data);
    }
    return {};
  }

 private:
  struct Observation {
    Json resource;
    std::string system, value, key, sub_id;
    bool panel_candidate = false;
    // Test or demonstration data of the device (OBX-8), in a message that may be production.
    bool test_data = false;
    std::string location;
    std::string source;  // the OBX
  };

  fhir::Result<void> StartReport(const Segment& obr) {
    Report report;
    report.obr = obr.ordinal();
    Json code = context_.CodeableConcept(FieldRef{obr, 4});
    if (code.empty()) {
      return fhir::Error::Invalid("hl7v2.required-field-missing",
                                  "OBR-4 (universal service identifier) is empty",
                                  obr.Location(4, 1, 1));
    }
    // The filler order number identifies the report; the placer's when the filler sent none;
    // else this message.
    Json identifier;
    std::string type;
    for (std::size_t field : {3, 2}) {
      FieldRef ei{obr, field};
      if (ei.Get(1).empty()) continue;
      std::string system = Context::AuthoritySystem(ei.Get(2), ei.Get(3), ei.Get(4));
      if (system.empty()) system = context_.SourceSystem(field == 3 ? "filler" : "placer");
      identifier = Json::Object().Set("system", system).Set("value", ei.Get(1));
      type = field == 3 ? "FILL" : "PLAC";
      report.source = ei.Location(1);
      break;
    }
    if (identifier.empty()) {
      report.source = obr.Location();
      identifier =
          Json::Object()
              .Set("system", context_.SourceSystem("report"))
              .Set("value", context_.message().Get("MSH-10") + "-" + std::to_string(obr.ordinal()));
    }
    report.system = identifier.Find("system")->text();
    report.value = identifier.Find("value")->text();
    report.base = report.value;
    if (!type.empty()) {
      identifier.Set(
          "type", Json::Object().Set(
                      "coding", Json::Array().Push(context_.Coding(
                                    type, "", "http://terminology.hl7.org/CodeSystem/v2-0203"))));
    }
    report.full_url = Context::FullUrl("DiagnosticReport|" + report.system + "|" + report.value);
    Json resource = Json::Object().Set("resourceType", "DiagnosticReport");
    resource.Set("identifier", Json::Array().Push(std::move(identifier)));
    std::string status = context_.TranslatedCode("v2-0123-diagnostic-report-status", obr.Get(25));
    resource.Set("status", status.empty() ? "final" : status);
    Json category = Json::Array();
    if (const std::string section = obr.Get(24); Valued(section)) {
      category.Push(Json::Object().Set(
          "coding", Json::Array().Push(context_.Coding(
                        section, "", "http://terminology.hl7.org/CodeSystem/v2-0074"))));
    }
    resource.Set("category", std::move(category));
    resource.Set("code", std::move(code));
    resource.Set("subject", Reference(patient_.full_url));
    report_time_ = context_.DateTime(obr.Get(7), obr.Location(7));
    resource.Set("effectiveDateTime", report_time_);
    std::string issued = context_.DateTime(obr.Get(22), obr.Location(22));
    if (issued.size() > 10) resource.Set("issued", issued);
    report.resource = std::move(resource);
    reports_.push_back(std::move(report));
    return {};
  }

  // The observation's code: the LOINC translation of an MDC code first, the codes as sent after.
  Json Code(const Segment& obx, std::string* loinc) {
    FieldRef cwe{obx, 3};
    Json result = context_.CodeableConcept(cwe);
    const bool mdc = cwe.Get(3) == "MDC" || cwe.Get(2).starts_with("MDC_");
    if (!mdc) return result;
    const MappedCode* mapped = context_.maps().Translate("mdc-loinc", cwe.Get(1));
    if (mapped == nullptr) mapped = context_.maps().Translate("mdc-loinc", cwe.Get(2));
    Json codings = Json::Array();
    if (mapped != nullptr) {
      *loinc = mapped->code;
      codings.Push(context_.Coding(mapped->code, mapped->display, mapped->system));
    }
    codings.Push(context_.Coding(cwe.Get(1), cwe.Get(2), kMdc));
    codings.Push(context_.Coding(cwe.Get(4), cwe.Get(5), Context::CodeSystemUri(cwe.Get(6))));
    result.Set("coding", std::move(codings));
    return result;
  }

  Json Quantity(std::string_view number, const Segment& obx) {
    Json quantity = Json::Object().Set("value", Json::Number(JsonDecimal(number)));
    FieldRef units{obx, 6};
    const std::string code = units.Get(1);
    const std::string text = units.Get(2);
    const std::string system = units.Get(3);
    if (system == "UCUM") {
      quantity.Set("unit", text.empty() ? code : text).Set("system", kUcum).Set("code", code);
      return quantity;
    }
    const MappedCode* ucum = context_.maps().Translate("mdc-ucum", code);
    if (ucum == nullptr) ucum = context_.maps().Translate("mdc-ucum", text);
    if (ucum != nullptr) {
      quantity.Set("unit", ucum->display.empty() ? ucum->code : ucum->display)
          .Set("system", kUcum)
          .Set("code", ucum->code);
      return quantity;
    }
    quantity.Set("unit", text.empty() ? code : text);
    return quantity;
  }

  // OBX-5 by OBX-2; a value that cannot be read as its type is kept as text or left out, with a
  // warning.
  void Value(const Segment& obx, Json* observation) {
    const std::string type = obx.Get(2);
    const std::string first = obx.Get(5);
    if (obx.RepetitionCount(5) == 0 || !Valued(first)) return;
    const std::string where = obx.Location(5);
    if (type == "NM") {
      if (!IsDecimal(first)) {
        context_.Warn(where + ": not a number (OBX-2 is NM); kept as text");
        observation->Set("valueString", first);
        return;
      }
      observation->Set("valueQuantity", Quantity(first, obx));
      return;
    }
    if (type == "SN") {
      // comparator ^ number ^ separator ^ number
      const std::string comparator = obx.Get(5, 1, 1);
      const std::string n1 = obx.Get(5, 1, 2);
      const std::string separator = obx.Get(5, 1, 3);
      const std::string n2 = obx.Get(5, 1, 4);
      if (separator.empty() && IsDecimal(n1) &&
          (comparator.empty() || comparator == "<" || comparator == ">" || comparator == "<=" ||
           comparator == ">=")) {
        Json quantity = Quantity(n1, obx);
        quantity.Set("comparator", comparator);
        observation->Set("valueQuantity", std::move(quantity));
        return;
      }
      if ((separator == "-" || separator == ":" || separator == "/") && IsDecimal(n1) &&
          IsDecimal(n2)) {
        if (separator == "-") {
          observation->Set(
              "valueRange",
              Json::Object().Set("low", Quantity(n1, obx)).Set("high", Quantity(n2, obx)));
        } else {
          observation->Set(
              "valueRatio",
              Json::Object()
                  .Set("numerator", Json::Object().Set("value", Json::Number(JsonDecimal(n1))))
                  .Set("denominator", Json::Object().Set("value", Json::Number(JsonDecimal(n2)))));
        }
        return;
      }
      context_.Warn(where + ": not a structured numeric (OBX-2 is SN); kept as text");
      observation->Set("valueString", std::string(obx.Raw(5)));
      return;
    }
    if (type == "CE" || type == "CWE" || type == "CNE" || type == "CF") {
      observation->Set("valueCodeableConcept", context_.CodeableConcept(FieldRef{obx, 5}));
      return;
    }
    if (type == "DT" || type == "TS" || type == "DTM") {
      observation->Set("valueDateTime", context_.DateTime(first, where));
      return;
    }
    if (type == "ST" || type == "TX" || type == "FT" || type == "IS" || type == "ID" ||
        type == "NA" || type == "TM" || type.empty()) {
      // Repetitions of a text value are lines of one text.
      std::string text;
      for (std::size_t r = 1; r <= obx.RepetitionCount(5); ++r) {
        if (r > 1) text += "\n";
        text += obx.Get(5, r, 1);
        if (type == "NA") {
          for (std::size_t c = 2; c <= obx.ComponentCount(5, r); ++c)
            text += " " + obx.Get(5, r, c);
        }
      }
      observation->Set("valueString", text);
      return;
    }
    context_.Warn(where + ": OBX-2 value type " + type + " is not mapped; value left out");
  }

  // OBX-11 by HL7's map of table 0085, then fhirhub's for the codes HL7 leaves without target;
  // "final" when OBX-11 is empty (older senders leave it out), "unknown" for a code not in the
  // table.
  std::string Status(const Segment& obx) {
    const std::string code = obx.Get(11);
    if (!Valued(code)) return "final";
    for (std::string_view map :
         {"v2-0085-observation-status", "fhirhub-v2-0085-observation-status"}) {
      if (std::string status = context_.TranslatedCode(map, code); !status.empty()) return status;
    }
    context_.Warn(obx.Location(11) + ": result status " + code +
                  " is not in HL7 table 0085; status unknown");
    return "unknown";
  }

  // IHE PCD-01 reports the IEEE 11073 measurement status of a device's result in OBX-8 (the
  // abnormal flags): TEST (test-data) and DEMO (demo-data) are values a device produced in a test
  // or demonstration mode, not measured on the patient.
  static bool DeviceTestData(const Segment& obx) {
    for (std::size_t r = 1; r <= obx.RepetitionCount(8); ++r) {
      const std::string flag = obx.Get(8, r);
      if (flag == "TEST" || flag == "DEMO") return true;
    }
    return false;
  }

  // Devices of OBX-18: EUI-64 system ids and vendor ids. Returns the Device's fullUrl.
  std::string Device(const Segment& obx) {
    Json identifiers = Json::Array();
    std::string source;  // the identifier the Device is found by
    for (std::size_t r = 1; r <= obx.RepetitionCount(18); ++r) {
      FieldRef ei{obx, 18, r};
      const std::string id = ei.Get(1);
      if (id.empty()) continue;
      if (source.empty()) source = ei.Location(1);
      std::string system;
      if (ei.Get(4) == "EUI-64") {
        system = std::string(kEui64);
      } else {
        system = Context::AuthoritySystem(ei.Get(2), ei.Get(3), ei.Get(4));
      }
      if (system.empty()) system = context_.SourceSystem("device");
      std::string value = id;
      if (system == kEui64) std::transform(value.begin(), value.end(), value.begin(), ::toupper);
      identifiers.Push(Json::Object().Set("system", system).Set("value", value));
    }
    if (identifiers.empty()) return {};
    const Json& first = identifiers.items().front();
    const std::string system = first.Find("system")->text();
    const std::string value = first.Find("value")->text();
    const std::string key = "Device|" + system + "|" + value;
    if (auto it = devices_.find(key); it != devices_.end()) return it->second;
    Json device = Json::Object().Set("resourceType", "Device");
    device.Set("identifier", std::move(identifiers));
    // No Device.patient: monitors and station devices serve many residents in turn.
    device.Set("status", "active");
    const std::string query = context_.IdentifierQuery(system, value);
    std::string url = context_.Add(std::move(device), "POST", "Device", query, key, source);
    devices_.emplace(key, url);
    return url;
  }

  void MapObservation(const Segment& obx) {
    last_observation_ = nullptr;
    Report* report = reports_.empty() ? nullptr : &reports_.back();
    std::string loinc;
    Json code = Code(obx, &loinc);
    const std::string sub_id = obx.Get(4);
    const std::string device_url = Device(obx);
    const bool no_value = obx.Get(2).empty() && obx.RepetitionCount(5) == 0;
    if (code.empty()) {
      context_.Warn(obx.Location(3) + ": observation identifier missing; observation left out");
      return;
    }
    // In PCD-01 an OBX without value type and value names a containment level (MDS, VMD,
    // channel) or a compound measurement: a panel when its code has a LOINC.
    if (no_value && loinc.empty()) return;
    Observation observation;
    observation.sub_id = sub_id;
    observation.panel_candidate = no_value;
    observation.location = obx.Location(4);
    observation.source = obx.Location();
    const std::string base = report != nullptr ? report->base : context_.message().Get("MSH-10");
    observation.system = context_.SourceSystem("observation");
    observation.value = base + "-" + std::to_string(obx.ordinal());
    observation.key = "Observation|" + observation.system + "|" + observation.value;
    Json resource = Json::Object().Set("resourceType", "Observation");
    if (Valued(sub_id)) {
      resource.Set("extension",
                   Json::Array().Push(
                       Json::Object().Set("url", kSubIdExtension).Set("valueString", sub_id)));
    }
    resource.Set(
        "identifier",
        Json::Array().Push(
            Json::Object().Set("system", observation.system).Set("value", observation.value)));
    resource.Set("status", Status(obx));
    if (report != nullptr) {
      Json category =
          report->resource.Find("category") ? *report->resource.Find("category") : Json::Array();
      resource.Set("category", std::move(category));
    }
    resource.Set("code", std::move(code));
    resource.Set("subject", Reference(patient_.full_url));
    std::string effective = context_.DateTime(obx.Get(14), obx.Location(14));
    resource.Set("effectiveDateTime", effective.empty() ? report_time_ : effective);
    if (!no_value) Value(obx, &resource);
    Json interpretation = Json::Array();
    for (std::size_t r = 1; r <= obx.RepetitionCount(8); ++r) {
      Json coding = context_.Translated("v2-0078-interpretation", obx.Get(8, r));
      if (!coding.empty()) {
        interpretation.Push(Json::Object().Set("coding", Json::Array().Push(std::move(coding))));
      }
    }
    resource.Set("interpretation", std::move(interpretation));
    resource.Set("method", context_.CodeableConcept(FieldRef{obx, 17}));
    if (!device_url.empty()) resource.Set("device", Reference(device_url));
    const std::string range = obx.Get(7);
    if (Valued(range)) {
      Json reference_range = Json::Object();
      std::size_t dash = range.find('-', 1);
      std::string low = dash == std::string::npos ? "" : range.substr(0, dash);
      std::string high = dash == std::string::npos ? "" : range.substr(dash + 1);
      if (IsDecimal(low) && IsDecimal(high)) {
        reference_range.Set("low", Quantity(low, obx)).Set("high", Quantity(high, obx));
      } else {
        reference_range.Set("text", range);
      }
      resource.Set("referenceRange", Json::Array().Push(std::move(reference_range)));
    }
    observation.test_data = DeviceTestData(obx);
    observation.resource = std::move(resource);
    observations_.push_back(std::move(observation));
    last_observation_ = &observations_.back().resource;
    if (report != nullptr) report->results.push_back(observations_.size() - 1);
  }

  // A compound's members are the observations after it whose OBX-4 continues its own
  // ("1.1.1.1" contains "1.1.1.1.1").
  void FinishPanels() {
    for (std::size_t i = 0; i < observations_.size(); ++i) {
      Observation& panel = observations_[i];
      if (!panel.panel_candidate) continue;
      Json members = Json::Array();
      for (std::size_t j = i + 1; j < observations_.size(); ++j) {
        const Observation& member = observations_[j];
        // Test and clinical data are not mixed in one panel either.
        if (!panel.sub_id.empty() && member.sub_id.starts_with(panel.sub_id + ".") &&
            member.test_data == panel.test_data) {
          members.Push(Reference(Context::FullUrl(member.key)));
        }
      }
      if (members.empty()) {
        context_.Warn(panel.location + ": compound observation without members");
      }
      panel.resource.Set("hasMember", std::move(members));
    }
  }

  Context& context_;
  PatientEntry patient_;
  bool seen_pid_ = false;
  std::string report_time_;
  std::vector<Report> reports_;
  std::vector<Observation> observations_;
  Json* last_observation_ = nullptr;
  std::map<std::string, std::string> devices_;
};

}  // namespace

fhir::Result<void> MapOru(Context& context) {
  const Message& message = context.message();
  const std::size_t pid_index = message.Find("PID");
  if (pid_index == message.segment_count()) {
    return fhir::Error::Invalid("hl7v2.segment-sequence", "ORU message without PID", "PID");
  }
  auto patient = MapPatient(context, message.segment(pid_index), false);
  if (!patient.ok()) return std::move(patient).error();
  OruMapper mapper(context, *patient);
  return mapper.Run();
}

}  // namespace mappings::hl7v2
