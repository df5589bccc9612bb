#include "mappings/station/station_mapping.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "fhir/json/json.h"
#include "tests/support/test_definitions.h"

namespace mappings::station {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// One line per item: its Observation (subject Patient/example) or its faults, location and
// message id, so a change of the mapping shows as a readable diff of the golden file.
std::string Render(const Batch& batch) {
  const MappingContext context;
  std::string out;
  for (const Item& item : batch.items) {
    out += "items[" + std::to_string(item.index) + "] ";
    if (item.measurement.ok()) {
      out += ObservationJson(*item.measurement, "Patient/example", context) + "\n";
      continue;
    }
    for (const fhir::Issue& issue : item.measurement.error().issues()) {
      out += issue.expression + " " + issue.message_id + ";";
    }
    out += "\n";
  }
  return out;
}

TEST(StationMappingTest, GoldenBatch) {
  auto batch = Parse(ReadFile(STATION_GOLDEN_DIR "/batch.json"), MappingContext());
  ASSERT_TRUE(batch.ok()) << batch.error().text();
  const std::string rendered = Render(*batch);
  const std::string golden_path = STATION_GOLDEN_DIR "/batch.expected";
  if (std::getenv("FHIRHUB_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(golden_path, std::ios::binary) << rendered;
  }
  EXPECT_EQ(rendered, ReadFile(golden_path));
}

TEST(StationMappingTest, ObservationsAreValidFhir) {
  auto batch = Parse(ReadFile(STATION_GOLDEN_DIR "/batch.json"), MappingContext());
  ASSERT_TRUE(batch.ok());
  int mapped = 0;
  for (const Item& item : batch->items) {
    if (!item.measurement.ok()) continue;
    ++mapped;
    auto parsed = fhir::json::Parse(ObservationJson(*item.measurement, "Patient/1", {}),
                                    testing_support::Definitions());
    EXPECT_TRUE(parsed.ok()) << item.index << ": " << parsed.error().text();
  }
  EXPECT_EQ(mapped, 10);
}

TEST(StationMappingTest, SourceMapsBackToTheSameMeasurement) {
  auto batch = Parse(ReadFile(STATION_GOLDEN_DIR "/batch.json"), MappingContext());
  ASSERT_TRUE(batch.ok());
  const Measurement& glucose = *batch->items[2].measurement;
  auto again = Parse(glucose.source, MappingContext());
  ASSERT_TRUE(again.ok()) << again.error().text();
  ASSERT_EQ(again->items.size(), 1u);
  ASSERT_TRUE(again->items[0].measurement.ok());
  EXPECT_EQ(ObservationJson(*again->items[0].measurement, "Patient/1", {}),
            ObservationJson(glucose, "Patient/1", {}));
  // The batch's device travels with an item that has none of its own.
  auto pressure = Parse(batch->items[0].measurement->source, MappingContext());
  ASSERT_TRUE(pressure.ok());
  EXPECT_EQ(pressure->items[0].measurement->device_serial, "YE680-0001");
}

TEST(StationMappingTest, UnitsAreNormalised) {
  auto batch = Parse(ReadFile(STATION_GOLDEN_DIR "/batch.json"), MappingContext());
  ASSERT_TRUE(batch.ok());
  const auto& items = batch->items;
  EXPECT_EQ(items[1].measurement->components[0].quantity.value, "130");  // 17.3 kPa
  EXPECT_EQ(items[1].measurement->components[1].quantity.value, "82");   // 10.9 kPa
  EXPECT_EQ(items[2].measurement->value->value, "6.0");                  // 108 mg/dL
  EXPECT_EQ(items[2].measurement->value->unit, "mmol/L");
  EXPECT_EQ(items[5].measurement->value->value, "168.0");  // 1.68 m
  EXPECT_EQ(items[6].measurement->value->value, "65.0");   // 130 斤
  EXPECT_EQ(items[7].measurement->value->value, "37.0");   // 98.6 °F
  EXPECT_EQ(items[7].measurement->value->unit, "Cel");
}

TEST(StationMappingTest, FaultsNameTheirFields) {
  auto batch = Parse(ReadFile(STATION_GOLDEN_DIR "/batch.json"), MappingContext());
  ASSERT_TRUE(batch.ok());
  const fhir::Error& error = batch->items[10].measurement.error();
  EXPECT_EQ(error.http_status(), 422);
  std::vector<std::string> locations;
  for (const fhir::Issue& issue : error.issues()) locations.push_back(issue.expression);
  EXPECT_EQ(locations,
            (std::vector<std::string>{"items[10].resident.value", "items[10].time",
                                      "items[10].value.systolic", "items[10].value.diastolic"}));
  EXPECT_EQ(batch->items[13].measurement.error().message_id(), "station.duplicate-id");
  EXPECT_EQ(batch->items[15].measurement.error().issues()[0].expression, "items[15]");
}

TEST(StationMappingTest, BatchFaults) {
  const MappingContext context;
  EXPECT_EQ(Parse("{", context).error().message_id(), "station.invalid-batch");
  EXPECT_EQ(Parse("[]", context).error().issues()[0].expression, "$");
  EXPECT_EQ(Parse(R"({"items":[]})", context).error().issues()[0].expression, "station");
  EXPECT_EQ(Parse(R"({"station":{"id":"a b"},"items":[]})", context).error().issues()[0].expression,
            "station.id");
  EXPECT_EQ(Parse(R"({"station":{"id":"S"},"items":[]})", context).error().issues()[0].expression,
            "items");
  EXPECT_EQ(
      Parse(R"({"station":{"id":"S"},"items":[1,2,3]})", context, 2).error().issues()[0].expression,
      "items");
}

}  // namespace
}  // namespace mappings::station
