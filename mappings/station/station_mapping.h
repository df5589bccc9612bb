// The station feed mapping: a vendor's JSON measurement batch (docs/station-feed.md) -> per item
// either a normalised measurement, ready to become one Observation after the FHIR vital-signs
// profile, or the errors of that item, each naming the JSON location of the fault
// ("items[3].value.systolic"). Pure: no I/O, no clock. Thread-safe (no state).
//
// Units are normalised to one UCUM unit per quantity (mm[Hg], mmol/L, kg, cm, Cel, %, /min);
// values outside the physiologically possible range are refused per field.
#ifndef MAPPINGS_STATION_STATION_MAPPING_H_
#define MAPPINGS_STATION_STATION_MAPPING_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/result.h"

namespace mappings::station {

// The identifier system of the resident identity card number (身份证).
inline constexpr std::string_view kIdCardSystem = "urn:oid:2.16.156.10011.1.3";

// Systems the mapping does not fix; the server's configuration names them.
struct MappingContext {
  // The system of the resident health record number (居民健康档案编号).
  std::string health_record_system = "urn:fhirhub:health-record-number";
  // The system of the medical insurance card number (医保卡号).
  std::string insurance_card_system = "urn:fhirhub:insurance-card-number";
  // Observation.identifier.system is this followed by the station id; the value is the
  // measurement id, so a station's measurement id names one Observation.
  std::string feed_system_prefix = "urn:fhirhub:station-feed:";
  // Device.identifier.system of the device serial numbers, and of the stations
  // (performer.identifier.system).
  std::string device_system = "urn:fhirhub:station-device-serial";
  std::string station_system = "urn:fhirhub:station";
};

struct Identifier {
  std::string system;
  std::string value;
};

// One quantity as stored: value text (shortest decimal, at most the precision measured) and
// its UCUM unit.
struct Quantity {
  std::string value;
  std::string unit;  // UCUM code
  std::string display_unit;
};

struct Component {
  std::string loinc;
  std::string display;
  Quantity quantity;
};

// One measurement, validated and normalised.
struct Measurement {
  std::string id;    // the vendor's measurement id
  std::string type;  // "blood-pressure", "glucose", ...
  std::string station_id;
  std::string station_name;  // may be empty
  std::string device_serial;
  std::string device_model;  // may be empty
  std::string device_type;   // may be empty
  Identifier resident;
  std::string time;  // FHIR dateTime with seconds and zone
  std::vector<std::string> quality;
  // The Observation's code and category; exactly one of value, components (blood pressure) or
  // both (ECG: a conclusion and a heart rate).
  std::string loinc;
  std::string display;
  std::string category;  // "vital-signs", "laboratory", "procedure"
  std::optional<Quantity> value;
  std::string value_text;  // ECG conclusion
  std::vector<Component> components;
  // The item with the batch's station and device: a batch of one in the vendor format, which
  // Parse maps back to this measurement (the pending queue keeps it).
  std::string source;
};

struct Item {
  int index = 0;
  std::string id;  // the measurement id as sent, when it was a string; empty otherwise
  fhir::Result<Measurement> measurement;
};

struct Batch {
  std::string station_id;
  std::vector<Item> items;
};

// Parses and maps a batch. An error of the whole batch (not JSON, no station, no items array,
// more than `max_items` items) is 400 station.invalid-batch with the location; otherwise every
// item has its measurement or its errors (422 station.invalid-item, one issue per field, each
// issue's expression the field's JSON location).
fhir::Result<Batch> Parse(std::string_view json, const MappingContext& context,
                          std::size_t max_items = 1000);

// The Observation of `measurement` as FHIR JSON, its subject `subject_reference`
// ("Patient/123") and, when not empty, its id. Deterministic: the same input gives the same text.
std::string ObservationJson(const Measurement& measurement, std::string_view subject_reference,
                            const MappingContext& context, std::string_view id = {});

// Observation.identifier of a measurement: the feed system of its station and its id.
Identifier ObservationIdentifier(const Measurement& measurement, const MappingContext& context);

}  // namespace mappings::station

#endif  // MAPPINGS_STATION_STATION_MAPPING_H_
