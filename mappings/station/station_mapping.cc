#include "mappings/station/station_mapping.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>
#include <cstdio>
#include <set>
#include <utility>

namespace mappings::station {

namespace {

using Json = rapidjson::Value;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr std::string_view kLoinc = "http://loinc.org";
constexpr std::string_view kUcum = "http://unitsofmeasure.org";
constexpr std::string_view kCategorySystem =
    "http://terminology.hl7.org/CodeSystem/observation-category";

// The errors of one item, gathered so that a vendor sees every fault of an item at once.
class Faults {
 public:
  explicit Faults(std::string prefix) : prefix_(std::move(prefix)) {}

  void Add(std::string_view field, std::string message_id, std::string text) {
    std::string location = prefix_;
    if (!field.empty()) location += "." + std::string(field);
    fhir::Issue issue{fhir::Severity::kError, fhir::IssueType::kInvalid, std::move(message_id),
                      location + ": " + text, location};
    if (error_) {
      error_->Add(std::move(issue));
    } else {
      error_.emplace(422, std::move(issue));
    }
  }
  bool empty() const { return !error_.has_value(); }
  fhir::Error Take() { return std::move(*error_); }

 private:
  std::string prefix_;
  std::optional<fhir::Error> error_;
};

std::string_view Text(const Json& value) { return {value.GetString(), value.GetStringLength()}; }

bool IsAsciiOf(std::string_view text, std::string_view extra, std::size_t max) {
  if (text.empty() || text.size() > max) return false;
  for (char c : text) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && extra.find(c) == std::string_view::npos) return false;
  }
  return true;
}

// A member that must be a non-empty string; nullptr (with a fault) otherwise.
const Json* RequiredString(const Json& object, const char* name, std::string_view field,
                           Faults& faults) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || it->value.IsNull()) {
    faults.Add(field, "station.missing-field", "is required");
    return nullptr;
  }
  if (!it->value.IsString() || it->value.GetStringLength() == 0) {
    faults.Add(field, "station.wrong-type", "must be a non-empty string");
    return nullptr;
  }
  return &it->value;
}

// An optional string member: empty when absent; a fault when present and not a string.
std::string OptionalString(const Json& object, const char* name, std::string_view field,
                           std::size_t max, Faults& faults) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || it->value.IsNull()) return {};
  if (!it->value.IsString() || it->value.GetStringLength() > max) {
    faults.Add(field, "station.wrong-type",
               "must be a string of at most " + std::to_string(max) + " bytes");
    return {};
  }
  return std::string(Text(it->value));
}

int Digits(std::string_view text, std::size_t at, std::size_t count) {
  if (at + count > text.size()) return -1;
  int value = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

// A FHIR dateTime down to the second with its zone: YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm|-hh:mm).
bool IsZonedTime(std::string_view t) {
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':') {
    return false;
  }
  const int year = Digits(t, 0, 4), month = Digits(t, 5, 2), day = Digits(t, 8, 2);
  const int hour = Digits(t, 11, 2), minute = Digits(t, 14, 2), second = Digits(t, 17, 2);
  if (year < 1900 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 ||
      minute < 0 || minute > 59 || second < 0 || second > 59) {
    return false;
  }
  std::size_t i = 19;
  if (t[i] == '.') {
    ++i;
    const std::size_t start = i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
    if (i == start || i - start > 9) return false;
  }
  if (i + 1 == t.size() && t[i] == 'Z') return true;
  if (i + 6 != t.size() || (t[i] != '+' && t[i] != '-') || t[i + 3] != ':') return false;
  const int zone_hour = Digits(t, i + 1, 2), zone_minute = Digits(t, i + 4, 2);
  return zone_hour >= 0 && zone_hour <= 14 && zone_minute >= 0 && zone_minute <= 59;
}

// GB 11643: 17 digits and an ISO 7064 MOD 11-2 check character.
bool IsIdCardNumber(std::string_view number) {
  if (number.size() != 18) return false;
  static constexpr int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  static constexpr std::string_view kCheck = "10X98765432";
  int sum = 0;
  for (int i = 0; i < 17; ++i) {
    if (number[i] < '0' || number[i] > '9') return false;
    sum += (number[i] - '0') * kWeights[i];
  }
  const char check = number[17] == 'x' ? 'X' : number[17];
  return kCheck[sum % 11] == check;
}

// A unit a measurement type accepts, and how to reach its normal unit: normal = value * factor
// + offset.
struct UnitRule {
  std::string_view name;
  double factor;
  double offset = 0;
};

// A quantity of one measurement type: its normal UCUM unit, the units accepted, the possible
// range in the normal unit and the decimals kept.
struct QuantityRule {
  std::string_view ucum;
  std::string_view display;
  std::vector<UnitRule> units;
  double min;
  double max;
  int decimals;
};

const QuantityRule kPressure{"mm[Hg]", "mmHg", {{"mmHg", 1}, {"mm[Hg]", 1}, {"kPa", 7.50062}},
                             0,        0,      0};
const QuantityRule kSystolic{kPressure.ucum, kPressure.display, kPressure.units, 40, 300, 0};
const QuantityRule kDiastolic{kPressure.ucum, kPressure.display, kPressure.units, 20, 200, 0};
const QuantityRule kHeartRate{"/min", "/min", {{"/min", 1}, {"bpm", 1}, {"次/分", 1}}, 20, 300, 0};
// Glucose: 1 mmol/L = 18.016 mg/dL (molar mass 180.16 g/mol).
const QuantityRule kGlucose{"mmol/L", "mmol/L", {{"mmol/L", 1}, {"mg/dL", 1 / 18.016}}, 0.5, 60, 1};
const QuantityRule kSpo2{"%", "%", {{"%", 1}}, 50, 100, 0};
const QuantityRule kHeight{"cm", "cm", {{"cm", 1}, {"m", 100}}, 30, 250, 1};
// 斤 (jin) is 0.5 kg.
const QuantityRule kWeight{"kg", "kg", {{"kg", 1}, {"g", 0.001}, {"jin", 0.5}, {"斤", 0.5}},
                           2,    300,  1};
const QuantityRule kTemperature{"Cel",
                                "°C",
                                {{"Cel", 1},
                                 {"°C", 1},
                                 {"℃", 1},
                                 {"C", 1},
                                 {"[degF]", 5.0 / 9, -32 * 5.0 / 9},
                                 {"°F", 5.0 / 9, -32 * 5.0 / 9},
                                 {"℉", 5.0 / 9, -32 * 5.0 / 9}},
                                30,
                                45,
                                1};

std::string Format(double value, int decimals) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  std::string out = text;
  if (out == "-0") out = "0";
  return out;
}

const UnitRule* FindUnit(const QuantityRule& rule, std::string_view unit) {
  for (const UnitRule& candidate : rule.units) {
    if (candidate.name == unit) return &candidate;
  }
  return nullptr;
}

std::string UnitList(const QuantityRule& rule) {
  std::string out;
  for (const UnitRule& unit : rule.units) out += (out.empty() ? "" : ", ") + std::string(unit.name);
  return out;
}

// The unit of an item: its "unit" member, or `fallback` when the type has one implied unit.
const UnitRule* ItemUnit(const Json& item, const QuantityRule& rule, Faults& faults) {
  auto it = item.FindMember("unit");
  if (it == item.MemberEnd() || it->value.IsNull()) {
    if (rule.units.size() == 1) return &rule.units.front();
    faults.Add("unit", "station.missing-field", "is required (one of " + UnitList(rule) + ")");
    return nullptr;
  }
  if (!it->value.IsString()) {
    faults.Add("unit", "station.wrong-type", "must be a string");
    return nullptr;
  }
  const UnitRule* unit = FindUnit(rule, Text(it->value));
  if (unit == nullptr) {
    faults.Add("unit", "station.unknown-unit", "must be one of " + UnitList(rule));
  }
  return unit;
}

// One number of an item in its normal unit, checked against the possible range.
std::optional<Quantity> ReadQuantity(const Json* value, std::string_view field,
                                     const QuantityRule& rule, const UnitRule* unit, Faults& faults,
                                     double* normal = nullptr) {
  if (value == nullptr || value->IsNull()) {
    faults.Add(field, "station.missing-field", "is required");
    return std::nullopt;
  }
  if (!value->IsNumber()) {
    faults.Add(field, "station.wrong-type", "must be a number");
    return std::nullopt;
  }
  if (unit == nullptr) return std::nullopt;
  const double converted = value->GetDouble() * unit->factor + unit->offset;
  const double rounded =
      std::round(converted * std::pow(10, rule.decimals)) / std::pow(10, rule.decimals);
  if (!std::isfinite(converted) || rounded < rule.min || rounded > rule.max) {
    faults.Add(field, "station.out-of-range",
               "must lie between " + Format(rule.min, rule.decimals) + " and " +
                   Format(rule.max, rule.decimals) + " " + std::string(rule.display) +
                   " (physiologically possible values)");
    return std::nullopt;
  }
  if (normal != nullptr) *normal = rounded;
  return Quantity{Format(rounded, rule.decimals), std::string(rule.ucum),
                  std::string(rule.display)};
}

const Json* Member(const Json& object, const char* name) {
  auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

// The value of a type measured as one number.
void MapSingle(const Json& item, const QuantityRule& rule, Measurement& m, Faults& faults) {
  const UnitRule* unit = ItemUnit(item, rule, faults);
  m.value = ReadQuantity(Member(item, "value"), "value", rule, unit, faults);
}

void MapBloodPressure(const Json& item, Measurement& m, Faults& faults) {
  const Json* value = Member(item, "value");
  if (value == nullptr || !value->IsObject()) {
    faults.Add("value", value == nullptr ? "station.missing-field" : "station.wrong-type",
               "must be an object with systolic and diastolic");
    return;
  }
  const UnitRule* unit = ItemUnit(item, kPressure, faults);
  double systolic = 0, diastolic = 0;
  auto high = ReadQuantity(Member(*value, "systolic"), "value.systolic", kSystolic, unit, faults,
                           &systolic);
  auto low = ReadQuantity(Member(*value, "diastolic"), "value.diastolic", kDiastolic, unit, faults,
                          &diastolic);
  if (!high || !low) return;
  if (systolic <= diastolic) {
    faults.Add("value.diastolic", "station.out-of-range", "must be below the systolic pressure");
    return;
  }
  m.loinc = "85354-9";
  m.display = "Blood pressure panel with all children optional";
  m.components = {{"8480-6", "Systolic blood pressure", std::move(*high)},
                  {"8462-4", "Diastolic blood pressure", std::move(*low)}};
}

void MapEcg(const Json& item, Measurement& m, Faults& faults) {
  const Json* value = Member(item, "value");
  if (value == nullptr || !value->IsObject()) {
    faults.Add("value", value == nullptr ? "station.missing-field" : "station.wrong-type",
               "must be an object with heart_rate and conclusion");
    return;
  }
  auto rate = ReadQuantity(Member(*value, "heart_rate"), "value.heart_rate", kHeartRate,
                           &kHeartRate.units.front(), faults);
  const Json* conclusion = RequiredString(*value, "conclusion", "value.conclusion", faults);
  if (conclusion != nullptr && conclusion->GetStringLength() > 2000) {
    faults.Add("value.conclusion", "station.wrong-type", "must be at most 2000 bytes");
    return;
  }
  if (!rate || conclusion == nullptr) return;
  m.value_text = std::string(Text(*conclusion));
  m.components = {{"8867-4", "Heart rate", std::move(*rate)}};
}

struct TypeRule {
  std::string_view type;
  std::string_view loinc;
  std::string_view display;
  std::string_view category;
  const QuantityRule* single;  // null: blood pressure and ECG, mapped by their own functions
};

const TypeRule kTypes[] = {
    {"blood-pressure", "85354-9", "Blood pressure panel with all children optional", "vital-signs",
     nullptr},
    {"heart-rate", "8867-4", "Heart rate", "vital-signs", &kHeartRate},
    {"glucose", "15074-8", "Glucose [Moles/volume] in Blood", "laboratory", &kGlucose},
    {"spo2", "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "vital-signs",
     &kSpo2},
    {"height", "8302-2", "Body height", "vital-signs", &kHeight},
    {"weight", "29463-7", "Body weight", "vital-signs", &kWeight},
    {"temperature", "8310-5", "Body temperature", "vital-signs", &kTemperature},
    {"ecg", "11524-6", "EKG study", "procedure", nullptr},
};

const TypeRule* FindType(std::string_view name) {
  for (const TypeRule& rule : kTypes) {
    if (rule.type == name) return &rule;
  }
  return nullptr;
}

std::string TypeList() {
  std::string out;
  for (const TypeRule& rule : kTypes) out += (out.empty() ? "" : ", ") + std::string(rule.type);
  return out;
}

void MapResident(const Json& item, const MappingContext& context, Measurement& m, Faults& faults) {
  const Json* resident = Member(item, "resident");
  if (resident == nullptr || !resident->IsObject()) {
    faults.Add("resident", resident == nullptr ? "station.missing-field" : "station.wrong-type",
               "must be an object with type and value");
    return;
  }
  const Json* type = RequiredString(*resident, "type", "resident.type", faults);
  const Json* value = RequiredString(*resident, "value", "resident.value", faults);
  if (type == nullptr || value == nullptr) return;
  const std::string_view kind = Text(*type);
  const std::string_view number = Text(*value);
  if (kind == "id-card") {
    if (!IsIdCardNumber(number)) {
      faults.Add("resident.value", "station.invalid-identifier",
                 "is not an identity card number (18 characters with a valid check character)");
      return;
    }
    m.resident = {std::string(kIdCardSystem), std::string(number)};
    if (m.resident.value.back() == 'x') m.resident.value.back() = 'X';
    return;
  }
  if (kind != "health-record" && kind != "insurance-card") {
    faults.Add("resident.type", "station.unknown-identifier-type",
               "must be id-card, health-record or insurance-card");
    return;
  }
  if (!IsAsciiOf(number, "-._", 64)) {
    faults.Add("resident.value", "station.invalid-identifier",
               "must be 1 to 64 letters, digits, '-', '.' or '_'");
    return;
  }
  m.resident = {
      kind == "health-record" ? context.health_record_system : context.insurance_card_system,
      std::string(number)};
}

// The device of an item: its own "device", or the batch's.
void MapDevice(const Json* device, std::string_view field, Measurement& m, Faults& faults) {
  if (device == nullptr || !device->IsObject()) {
    faults.Add(field, device == nullptr ? "station.missing-field" : "station.wrong-type",
               "must be an object with serial (on the item or the batch)");
    return;
  }
  const std::string prefix(field);
  if (const Json* serial = RequiredString(*device, "serial", prefix + ".serial", faults)) {
    if (serial->GetStringLength() > 128) {
      faults.Add(prefix + ".serial", "station.wrong-type", "must be at most 128 bytes");
    } else {
      m.device_serial = std::string(Text(*serial));
    }
  }
  m.device_model = OptionalString(*device, "model", prefix + ".model", 128, faults);
  m.device_type = OptionalString(*device, "type", prefix + ".type", 64, faults);
}

void MapQuality(const Json& item, Measurement& m, Faults& faults) {
  const Json* quality = Member(item, "quality");
  if (quality == nullptr || quality->IsNull()) return;
  if (!quality->IsArray() || quality->Size() > 16) {
    faults.Add("quality", "station.wrong-type", "must be an array of at most 16 flags");
    return;
  }
  for (rapidjson::SizeType i = 0; i < quality->Size(); ++i) {
    const Json& flag = (*quality)[i];
    if (!flag.IsString() || !IsAsciiOf(Text(flag), "-_", 64)) {
      faults.Add("quality[" + std::to_string(i) + "]", "station.wrong-type",
                 "must be a flag of letters, digits, '-' or '_'");
      continue;
    }
    m.quality.emplace_back(Text(flag));
  }
}

// The item with the batch's station and (unless it has its own) device, as a batch of one.
std::string Source(const Json& station, const Json* batch_device, const Json& item) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  writer.Key("station");
  station.Accept(writer);
  writer.Key("items");
  writer.StartArray();
  writer.StartObject();
  for (const auto& member : item.GetObject()) {
    member.name.Accept(writer);
    member.value.Accept(writer);
  }
  if (batch_device != nullptr && !item.HasMember("device")) {
    writer.Key("device");
    batch_device->Accept(writer);
  }
  writer.EndObject();
  writer.EndArray();
  writer.EndObject();
  return buffer.GetString();
}

fhir::Result<Measurement> MapItem(const Json& item, int index, const Json& station,
                                  const Json* batch_device, const MappingContext& context) {
  Faults faults("items[" + std::to_string(index) + "]");
  if (!item.IsObject()) {
    faults.Add("", "station.wrong-type", "must be an object");
    return faults.Take();
  }
  Measurement m;
  if (const Json* id = RequiredString(item, "id", "id", faults)) {
    if (!IsAsciiOf(Text(*id), "-._:", 64)) {
      faults.Add("id", "station.invalid-identifier",
                 "must be 1 to 64 letters, digits, '-', '.', '_' or ':'");
    } else {
      m.id = std::string(Text(*id));
    }
  }
  MapResident(item, context, m, faults);
  const Json* own_device = Member(item, "device");
  MapDevice(own_device != nullptr ? own_device : batch_device, "device", m, faults);
  if (const Json* time = RequiredString(item, "time", "time", faults)) {
    if (!IsZonedTime(Text(*time))) {
      faults.Add("time", "station.invalid-time",
                 "must be a date and time to the second with its zone, e.g. "
                 "2026-11-22T09:30:00+08:00");
    } else {
      m.time = std::string(Text(*time));
    }
  }
  MapQuality(item, m, faults);
  const TypeRule* rule = nullptr;
  if (const Json* type = RequiredString(item, "type", "type", faults)) {
    rule = FindType(Text(*type));
    if (rule == nullptr) faults.Add("type", "station.unknown-type", "must be one of " + TypeList());
  }
  if (rule != nullptr) {
    m.type = std::string(rule->type);
    m.loinc = std::string(rule->loinc);
    m.display = std::string(rule->display);
    m.category = std::string(rule->category);
    if (rule->single != nullptr) {
      MapSingle(item, *rule->single, m, faults);
    } else if (rule->type == "blood-pressure") {
      MapBloodPressure(item, m, faults);
    } else {
      MapEcg(item, m, faults);
    }
  }
  if (!faults.empty()) return faults.Take();
  m.station_id = std::string(Text(station["id"]));
  if (auto name = station.FindMember("name");
      name != station.MemberEnd() && name->value.IsString()) {
    m.station_name = std::string(Text(name->value));
  }
  m.source = Source(station, batch_device, item);
  return m;
}

fhir::Error BatchError(std::string location, std::string text) {
  return fhir::Error::Invalid("station.invalid-batch", location + ": " + text, location);
}

void WriteString(Writer& writer, std::string_view text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void WriteKey(Writer& writer, std::string_view key) {
  writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

void WriteCoding(Writer& writer, std::string_view system, std::string_view code,
                 std::string_view display) {
  writer.StartObject();
  WriteKey(writer, "system");
  WriteString(writer, system);
  WriteKey(writer, "code");
  WriteString(writer, code);
  WriteKey(writer, "display");
  WriteString(writer, display);
  writer.EndObject();
}

void WriteLoincCode(Writer& writer, std::string_view loinc, std::string_view display, bool oxygen) {
  WriteKey(writer, "code");
  writer.StartObject();
  WriteKey(writer, "coding");
  writer.StartArray();
  WriteCoding(writer, kLoinc, loinc, display);
  // The vital-signs profile names oxygen saturation by 2708-6; pulse oximetry refines it.
  if (oxygen) WriteCoding(writer, kLoinc, "2708-6", "Oxygen saturation in Arterial blood");
  writer.EndArray();
  WriteKey(writer, "text");
  WriteString(writer, display);
  writer.EndObject();
}

void WriteQuantity(Writer& writer, const Quantity& quantity) {
  writer.StartObject();
  WriteKey(writer, "value");
  writer.RawValue(quantity.value.data(), quantity.value.size(), rapidjson::kNumberType);
  WriteKey(writer, "unit");
  WriteString(writer, quantity.display_unit);
  WriteKey(writer, "system");
  WriteString(writer, kUcum);
  WriteKey(writer, "code");
  WriteString(writer, quantity.unit);
  writer.EndObject();
}

void WriteLogicalReference(Writer& writer, std::string_view type, std::string_view system,
                           std::string_view value, std::string_view display) {
  writer.StartObject();
  WriteKey(writer, "type");
  WriteString(writer, type);
  WriteKey(writer, "identifier");
  writer.StartObject();
  WriteKey(writer, "system");
  WriteString(writer, system);
  WriteKey(writer, "value");
  WriteString(writer, value);
  writer.EndObject();
  if (!display.empty()) {
    WriteKey(writer, "display");
    WriteString(writer, display);
  }
  writer.EndObject();
}

}  // namespace

fhir::Result<Batch> Parse(std::string_view json, const MappingContext& context,
                          std::size_t max_items) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) {
    return fhir::Error::Invalid("station.invalid-batch",
                                "the batch is not JSON (" +
                                    std::string(rapidjson::GetParseError_En(doc.GetParseError())) +
                                    " at byte " + std::to_string(doc.GetErrorOffset()) + ")");
  }
  if (!doc.IsObject()) return BatchError("$", "the batch must be a JSON object");
  const Json* station = Member(doc, "station");
  if (station == nullptr || !station->IsObject()) {
    return BatchError("station", "must be an object with id");
  }
  const Json* station_id = Member(*station, "id");
  if (station_id == nullptr || !station_id->IsString() ||
      !IsAsciiOf(Text(*station_id), "-._:", 64)) {
    return BatchError("station.id", "must be 1 to 64 letters, digits, '-', '.', '_' or ':'");
  }
  if (const Json* name = Member(*station, "name");
      name != nullptr && !(name->IsString() && name->GetStringLength() <= 200)) {
    return BatchError("station.name", "must be a string of at most 200 bytes");
  }
  const Json* device = Member(doc, "device");
  if (device != nullptr && !device->IsObject()) return BatchError("device", "must be an object");
  const Json* items = Member(doc, "items");
  if (items == nullptr || !items->IsArray()) return BatchError("items", "must be an array");
  if (items->Size() == 0 || items->Size() > max_items) {
    return BatchError("items", "must hold 1 to " + std::to_string(max_items) + " measurements");
  }
  Batch batch;
  batch.station_id = std::string(Text(*station_id));
  batch.items.reserve(items->Size());
  std::set<std::string, std::less<>> seen;
  for (rapidjson::SizeType i = 0; i < items->Size(); ++i) {
    const Json& item = (*items)[i];
    const int index = static_cast<int>(i);
    std::string id;
    if (item.IsObject()) {
      if (auto it = item.FindMember("id"); it != item.MemberEnd() && it->value.IsString()) {
        id = std::string(Text(it->value));
      }
    }
    auto measurement = MapItem(item, index, *station, device, context);
    if (measurement.ok() && !seen.insert(measurement->id).second) {
      const std::string location = "items[" + std::to_string(index) + "].id";
      measurement = fhir::Error(
          422,
          fhir::Issue{fhir::Severity::kError, fhir::IssueType::kDuplicate, "station.duplicate-id",
                      location + ": an earlier item of this batch has the same id", location});
    }
    batch.items.push_back(Item{index, std::move(id), std::move(measurement)});
  }
  return batch;
}

Identifier ObservationIdentifier(const Measurement& measurement, const MappingContext& context) {
  return {context.feed_system_prefix + measurement.station_id, measurement.id};
}

std::string ObservationJson(const Measurement& m, std::string_view subject_reference,
                            const MappingContext& context, std::string_view id) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  WriteKey(writer, "resourceType");
  WriteString(writer, "Observation");
  if (!id.empty()) {
    WriteKey(writer, "id");
    WriteString(writer, id);
  }
  const Identifier identifier = ObservationIdentifier(m, context);
  WriteKey(writer, "identifier");
  writer.StartArray();
  writer.StartObject();
  WriteKey(writer, "system");
  WriteString(writer, identifier.system);
  WriteKey(writer, "value");
  WriteString(writer, identifier.value);
  writer.EndObject();
  writer.EndArray();
  WriteKey(writer, "status");
  WriteString(writer, "final");
  WriteKey(writer, "category");
  writer.StartArray();
  writer.StartObject();
  WriteKey(writer, "coding");
  writer.StartArray();
  const std::string_view category_display = m.category == "vital-signs"  ? "Vital Signs"
                                            : m.category == "laboratory" ? "Laboratory"
                                                                         : "Procedure";
  WriteCoding(writer, kCategorySystem, m.category, category_display);
  writer.EndArray();
  writer.EndObject();
  writer.EndArray();
  WriteLoincCode(writer, m.loinc, m.display, m.type == "spo2");
  WriteKey(writer, "subject");
  writer.StartObject();
  WriteKey(writer, "reference");
  WriteString(writer, subject_reference);
  writer.EndObject();
  WriteKey(writer, "effectiveDateTime");
  WriteString(writer, m.time);
  WriteKey(writer, "performer");
  writer.StartArray();
  WriteLogicalReference(writer, "Organization", context.station_system, m.station_id,
                        m.station_name);
  writer.EndArray();
  if (m.value) {
    WriteKey(writer, "valueQuantity");
    WriteQuantity(writer, *m.value);
  } else if (!m.value_text.empty()) {
    WriteKey(writer, "valueString");
    WriteString(writer, m.value_text);
  }
  if (!m.quality.empty()) {
    std::string text = "Quality flags from the device:";
    for (const std::string& flag : m.quality) text += " " + flag;
    WriteKey(writer, "note");
    writer.StartArray();
    writer.StartObject();
    WriteKey(writer, "text");
    WriteString(writer, text);
    writer.EndObject();
    writer.EndArray();
  }
  std::string device_display = m.device_model;
  if (!m.device_type.empty()) {
    device_display += (device_display.empty() ? "" : " ") + std::string("(") + m.device_type + ")";
  }
  WriteKey(writer, "device");
  WriteLogicalReference(writer, "Device", context.device_system, m.device_serial, device_display);
  if (!m.components.empty()) {
    WriteKey(writer, "component");
    writer.StartArray();
    for (const Component& component : m.components) {
      writer.StartObject();
      WriteKey(writer, "code");
      writer.StartObject();
      WriteKey(writer, "coding");
      writer.StartArray();
      WriteCoding(writer, kLoinc, component.loinc, component.display);
      writer.EndArray();
      writer.EndObject();
      WriteKey(writer, "valueQuantity");
      WriteQuantity(writer, component.quantity);
      writer.EndObject();
    }
    writer.EndArray();
  }
  writer.EndObject();
  return buffer.GetString();
}

}  // namespace mappings::station
