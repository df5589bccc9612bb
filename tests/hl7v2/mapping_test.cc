// Every sample message of a mapped type (tests/data/hl7v2-samples) and every message of
// tests/data/hl7v2-cn maps to a transaction Bundle that the FHIR JSON codec accepts against the
// R4 definitions, whose urn:uuid references all resolve inside the Bundle, and that equals its
// golden file in tests/data/hl7v2-golden. Messages of other types are refused with table 0357
// code 200.
//
// After an intended change of the mappings, regenerate the golden files and review the diff:
//   FHIRHUB_UPDATE_GOLDEN=1 build/dev/tests/hl7v2/hl7v2_test --gtest_filter='Hl7v2Mapping*'
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "fhir/json/json.h"
#include "mappings/hl7v2/ack.h"
#include "mappings/hl7v2/er7.h"
#include "mappings/hl7v2/mapper.h"
#include "tests/support/test_definitions.h"

namespace mappings::hl7v2 {
namespace {

const Mapper& TheMapper() {
  static const Mapper* mapper = [] {
    auto loaded = Mapper::Load(FHIRHUB_HL7V2_CONCEPTMAPS);
    if (!loaded.ok()) {
      std::fprintf(stderr, "%s\n", loaded.error().text().c_str());
      std::abort();
    }
    return new Mapper(std::move(*loaded));
  }();
  return *mapper;
}

bool Mapped(const Message& message) {
  const std::string type = message.Get("MSH-9.1");
  const std::string event = message.Get("MSH-9.2");
  if (type == "ORU") return event == "R01";
  // Orders of tests and procedures (OBR detail); diet, supply and pharmacy orders are not mapped.
  if (type == "ORM") return event == "O01" && message.Find("OBR") != message.segment_count();
  if (type == "SIU") return event == "S12";
  if (type == "RDE") return event == "O11";
  return type == "ADT" && (event == "A01" || event == "A04" || event == "A08" || event == "A28" ||
                           event == "A31" || event == "A40");
}

void CollectReferences(const rapidjson::Value& value, std::vector<std::string>* out) {
  if (value.IsObject()) {
    for (const auto& member : value.GetObject()) {
      if (std::string_view(member.name.GetString()) == "reference" && member.value.IsString()) {
        out->push_back(member.value.GetString());
      }
      CollectReferences(member.value, out);
    }
  } else if (value.IsArray()) {
    for (const auto& item : value.GetArray()) CollectReferences(item, out);
  }
}

// The Bundle is valid R4 and self-contained.
void CheckBundle(const std::string& name, const std::string& json) {
  auto parsed = fhir::json::Parse(json, testing_support::Definitions());
  ASSERT_TRUE(parsed.ok()) << name << ": " << parsed.error().text() << " at "
                           << parsed.error().issues().front().expression;
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  ASSERT_FALSE(doc.HasParseError()) << name;
  std::set<std::string> full_urls;
  for (const auto& entry : doc["entry"].GetArray()) {
    EXPECT_TRUE(full_urls.insert(entry["fullUrl"].GetString()).second)
        << name << ": duplicate fullUrl";
    const std::string method = entry["request"]["method"].GetString();
    const std::string url = entry["request"]["url"].GetString();
    // Nothing is created unconditionally: a resent message writes nothing new.
    if (method == "POST") {
      EXPECT_TRUE(entry["request"].HasMember("ifNoneExist")) << name << ": " << url;
    } else if (method == "PATCH") {
      // A FHIRPath Patch of the resource the URL's identifier finds (ADT^A40 merged patients).
      EXPECT_EQ(std::string(entry["resource"]["resourceType"].GetString()), "Parameters") << name;
      EXPECT_NE(url.find("?identifier="), std::string::npos) << name << ": " << url;
    } else {
      EXPECT_EQ(method, "PUT") << name;
      EXPECT_NE(url.find("?identifier="), std::string::npos) << name << ": " << url;
    }
  }
  std::vector<std::string> references;
  CollectReferences(doc, &references);
  for (const std::string& reference : references) {
    if (reference.starts_with("urn:uuid:")) {
      EXPECT_TRUE(full_urls.count(reference) > 0) << name << ": dangling " << reference;
    }
  }
}

// Each entry has the HL7 position it was mapped from, one that is in the message: a segment
// ("OBX(3)"), or an identifier field with a value ("PID-3[1].1").
void CheckSources(const std::string& name, const Message& message, const hl7v2::Mapped& mapped) {
  rapidjson::Document doc;
  doc.Parse(mapped.bundle_json.data(), mapped.bundle_json.size());
  ASSERT_FALSE(doc.HasParseError()) << name;
  ASSERT_EQ(mapped.entry_sources.size(), doc["entry"].Size()) << name;
  for (const std::string& source : mapped.entry_sources) {
    const std::size_t dash = source.find('-');
    if (dash != std::string::npos) {
      EXPECT_FALSE(message.Get(source).empty()) << name << ": " << source;
      continue;
    }
    std::string segment = source.substr(0, 3);
    std::size_t ordinal = 1;
    if (source.size() > 3) ordinal = std::stoul(source.substr(4));
    EXPECT_NE(message.Find(segment, ordinal), message.segment_count()) << name << ": " << source;
  }
}

void CheckGolden(const std::string& name, const std::string& json) {
  const auto path = testing_support::TestDataDir() / "hl7v2-golden" / (name + ".json");
  if (const char* update = std::getenv("FHIRHUB_UPDATE_GOLDEN"); update != nullptr) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << json << "\n";
    return;
  }
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " missing: see the comment at the top";
  EXPECT_EQ(testing_support::ReadFile(path), json + "\n") << name << " differs from " << path;
}

std::vector<std::filesystem::path> Files(const std::string& folder) {
  std::vector<std::filesystem::path> out;
  for (const auto& entry :
       std::filesystem::directory_iterator(testing_support::TestDataDir() / folder)) {
    if (entry.path().extension() == ".hl7") out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Hl7v2MappingTest, SamplesOfMappedTypesGiveValidBundles) {
  int mapped = 0;
  for (const auto& path : Files("hl7v2-samples")) {
    auto message = Parse(testing_support::ReadFile(path));
    ASSERT_TRUE(message.ok()) << path;
    auto result = TheMapper().Map(*message);
    const std::string name = path.stem().string();
    if (!Mapped(*message)) {
      ASSERT_FALSE(result.ok()) << name;
      EXPECT_EQ(AckErrorsFor(result.error()).front().code, "200") << name;
      if (message->Get("MSH-9.1") != "ORM") {
        EXPECT_EQ(result.error().issues().front().expression, "MSH-9") << name;
      }
      continue;
    }
    ASSERT_TRUE(result.ok()) << name << ": " << result.error().text() << " at "
                             << result.error().issues().front().expression;
    CheckBundle(name, result->bundle_json);
    CheckSources(name, *message, *result);
    CheckGolden(name, result->bundle_json);
    ++mapped;
  }
  EXPECT_EQ(mapped, 33);
}

TEST(Hl7v2MappingTest, ChineseAndDeviceMessagesGiveValidBundles) {
  for (const auto& path : Files("hl7v2-cn")) {
    auto message = Parse(testing_support::ReadFile(path));
    ASSERT_TRUE(message.ok()) << path;
    auto result = TheMapper().Map(*message);
    const std::string name = path.stem().string();
    ASSERT_TRUE(result.ok()) << name << ": " << result.error().text();
    CheckBundle(name, result->bundle_json);
    CheckSources(name, *message, *result);
    CheckGolden("cn-" + name, result->bundle_json);
  }
}

TEST(Hl7v2MappingTest, TheSameMessageInGb18030AndUtf8MapsTheSame) {
  auto utf8 = Parse(
      testing_support::ReadFile(testing_support::TestDataDir() / "hl7v2-cn/adt-a01-utf8.hl7"));
  auto gb = Parse(
      testing_support::ReadFile(testing_support::TestDataDir() / "hl7v2-cn/adt-a04-gb18030.hl7"));
  ASSERT_TRUE(utf8.ok());
  ASSERT_TRUE(gb.ok());
  EXPECT_EQ(gb->charset(), "GB18030");
  for (const char* path :
       {"PID-5.1", "PID-5.2", "PID-11.1", "NK1-2.1", "PV1-3.1", "AL1-3.2", "DG1-3.2", "MSH-4.1"}) {
    EXPECT_EQ(utf8->Get(path), gb->Get(path)) << path;
  }
  EXPECT_EQ(utf8->Get("PID-5.1"), "张");
}

// Bad input never crashes and every refusal names a position: each mapped sample, with one byte
// after another replaced by a delimiter, a line end or a high byte, parses and maps or fails
// with a location.
TEST(Hl7v2MappingTest, DamagedMessagesAreRefusedWithAPosition) {
  const char replacements[] = {'|', '^', '~', '&', '\\', '\r', '\xB0'};
  int refused = 0;
  for (const char* name : {"ADT-A01-01", "ORU-R01-01", "ORM-O01-01", "RDE-O11-01", "SIU-S12-01"}) {
    const std::string original = testing_support::ReadFile(
        testing_support::TestDataDir() / "hl7v2-samples" / (std::string(name) + ".hl7"));
    for (std::size_t i = 0; i < original.size(); i += 13) {
      std::string damaged = original;
      damaged[i] = replacements[i % sizeof(replacements)];
      auto message = Parse(damaged);
      if (!message.ok()) {
        EXPECT_FALSE(message.error().issues().front().expression.empty()) << name << " " << i;
        ++refused;
        continue;
      }
      auto mapped = TheMapper().Map(*message);
      if (!mapped.ok()) {
        EXPECT_FALSE(mapped.error().issues().front().expression.empty()) << name << " " << i;
        ++refused;
      }
    }
  }
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace mappings::hl7v2
