// The matched XML and JSON renderings of the R4 examples (tests/data/fhir-r4-xml-json-pairs): each
// file read by one codec and written by the other must equal its counterpart, and each must come
// back unchanged from a trip through the other format.
//
// The two files of a pair label test data differently (see CompareOptions::
// ignore_test_data_label), so the cross-format comparison ignores that label. Two lists in the
// data folder narrow it further, each line "file reason":
//   EXCLUDED.txt             pairs whose two files disagree in content; the cross-format
//                            comparison is skipped, the round trips still run.
//   NARRATIVE-WHITESPACE.txt pairs whose narratives are indented differently in the two files;
//                            their narratives are compared with whitespace collapsed.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "fhir/json/json.h"
#include "fhir/xml/xml.h"
#include "tests/roundtrip/compare.h"
#include "tests/support/test_definitions.h"

namespace {

namespace fs = std::filesystem;
using roundtrip::DivComparison;

fs::path PairsDir() { return testing_support::TestDataDir() / "fhir-r4-xml-json-pairs"; }

// "file reason" lines; blank lines and lines starting with '#' are skipped.
std::map<std::string, std::string> ReadList(const fs::path& path) {
  std::map<std::string, std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.find(' ');
    out[line.substr(0, space)] = space == std::string::npos ? "" : line.substr(space + 1);
  }
  return out;
}

std::vector<std::string> PairNames() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(PairsDir() / "json")) {
    if (entry.path().extension() == ".json") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string First(const fhir::Error& error) {
  const fhir::Issue& issue = error.issues().front();
  return issue.message_id + " at " + issue.expression + ": " + issue.text;
}

TEST(XmlJsonPairsTest, EveryPairConvertsBothWaysAndRoundTrips) {
  const auto& defs = testing_support::Definitions();
  const auto excluded = ReadList(PairsDir() / "EXCLUDED.txt");
  const auto narrative_whitespace = ReadList(PairsDir() / "NARRATIVE-WHITESPACE.txt");
  const std::vector<std::string> names = PairNames();
  ASSERT_EQ(names.size(), 873u);
  for (const auto& [name, reason] : excluded) {
    EXPECT_TRUE(std::binary_search(names.begin(), names.end(), name)) << "EXCLUDED.txt: " << name;
    EXPECT_FALSE(reason.empty()) << "EXCLUDED.txt: " << name << " needs a reason";
  }
  for (const auto& [name, reason] : narrative_whitespace) {
    EXPECT_TRUE(std::binary_search(names.begin(), names.end(), name))
        << "NARRATIVE-WHITESPACE.txt: " << name;
    EXPECT_FALSE(reason.empty()) << "NARRATIVE-WHITESPACE.txt: " << name << " needs a reason";
  }

  int compared = 0;
  int round_tripped = 0;
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const std::string json_text = testing_support::ReadFile(PairsDir() / "json" / (name + ".json"));
    const std::string xml_text = testing_support::ReadFile(PairsDir() / "xml" / (name + ".xml"));
    roundtrip::CompareOptions across;
    across.div = narrative_whitespace.count(name) != 0 ? DivComparison::kCollapseWhitespace
                                                       : DivComparison::kExact;
    across.ignore_test_data_label = true;

    auto from_xml = fhir::xml::Parse(xml_text, defs);
    ASSERT_TRUE(from_xml.ok()) << "XML: " << First(from_xml.error());
    auto from_json = fhir::json::Parse(json_text, defs);
    ASSERT_TRUE(from_json.ok()) << "JSON: " << First(from_json.error());
    const std::string xml_as_json = fhir::json::Write(*from_xml);
    const std::string json_as_xml = fhir::xml::Write(*from_json);

    if (excluded.count(name) == 0) {
      const std::string json_diff = roundtrip::JsonDifference(json_text, xml_as_json, across);
      EXPECT_EQ(json_diff, "") << "XML written as JSON differs from the JSON file";
      const std::string xml_diff = roundtrip::XmlDifference(xml_text, json_as_xml, across);
      EXPECT_EQ(xml_diff, "") << "JSON written as XML differs from the XML file";
      compared += json_diff.empty() && xml_diff.empty() ? 1 : 0;
    }

    // JSON -> XML -> JSON and XML -> JSON -> XML.
    auto json_back = fhir::xml::Parse(json_as_xml, defs);
    ASSERT_TRUE(json_back.ok()) << "written XML: " << First(json_back.error());
    const std::string json_diff =
        roundtrip::JsonDifference(json_text, fhir::json::Write(*json_back));
    EXPECT_EQ(json_diff, "") << "JSON -> XML -> JSON";
    auto xml_back = fhir::json::Parse(xml_as_json, defs);
    ASSERT_TRUE(xml_back.ok()) << "written JSON: " << First(xml_back.error());
    const std::string xml_diff = roundtrip::XmlDifference(xml_text, fhir::xml::Write(*xml_back));
    EXPECT_EQ(xml_diff, "") << "XML -> JSON -> XML";
    round_tripped += json_diff.empty() && xml_diff.empty() ? 1 : 0;
  }
  EXPECT_EQ(compared, static_cast<int>(names.size() - excluded.size()));
  EXPECT_EQ(round_tripped, static_cast<int>(names.size()));
  RecordProperty("pairs_compared", compared);
  RecordProperty("pairs_excluded", static_cast<int>(excluded.size()));
  RecordProperty("pairs_round_tripped", round_tripped);
}

}  // namespace
