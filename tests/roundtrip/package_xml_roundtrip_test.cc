// Every resource of the R4 package (hl7.fhir.r4.examples@4.0.1: definitions, terminology and
// examples, 190 MB of JSON) read from JSON, written as XML and read back from XML must give the
// resource read from the JSON file, so the JSON written from it is the JSON the file holds. The
// few package files that are not valid FHIR (kInvalidFiles) must instead be rejected, for their
// known fault.
//
// The check is on the resource DOMs rather than on re-read JSON text: reading 190 MB of JSON twice
// more doubles the run time in sanitizer builds, and xml_json_pairs_test already compares the
// JSON text of 873 examples end to end. Narratives are compared as XHTML infosets: the package's
// narrative strings are not all in the canonical serialisation the XML parser produces
// (<td></td>, CRLF line ends, newlines inside attribute values), and XML cannot tell those apart
// from their canonical forms. Files are processed on all cores; the codecs are thread-safe.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "fhir/json/json.h"
#include "fhir/xml/xml.h"
#include "tests/roundtrip/compare.h"
#include "tests/support/test_definitions.h"

namespace {

namespace fs = std::filesystem;

// Package files that are not valid FHIR, with the fault the JSON parser must find in each.
struct InvalidFile {
  std::string_view name;
  std::string_view message_id;
  std::string_view expression;
};
constexpr InvalidFile kInvalidFiles[] = {
    // Its id has 67 characters; ids are limited to 64.
    {"SearchParameter-questionnaireresponse-extensions-QuestionnaireResponse-item-subject.json",
     "json.invalid-primitive", "SearchParameter.id"},
};

const InvalidFile* FindInvalid(const fs::path& file) {
  for (const InvalidFile& invalid : kInvalidFiles) {
    if (file.filename() == invalid.name) return &invalid;
  }
  return nullptr;
}

std::string First(const fhir::Error& error) {
  const fhir::Issue& issue = error.issues().front();
  return issue.message_id + " at " + issue.expression + ": " + issue.text;
}

// The first fault of one file's round trip, or "".
std::string RoundTrip(const fs::path& file, const fhir::model::Definitions& defs) {
  auto from_json = fhir::json::Parse(testing_support::ReadFile(file), defs);
  if (const InvalidFile* invalid = FindInvalid(file); invalid != nullptr) {
    if (from_json.ok()) return "accepted, but it is invalid";
    const fhir::Issue& issue = from_json.error().issues().front();
    if (issue.message_id == invalid->message_id && issue.expression == invalid->expression) {
      return {};
    }
    return "rejected for another reason: " + First(from_json.error());
  }
  if (!from_json.ok()) return "JSON: " + First(from_json.error());
  auto from_xml = fhir::xml::Parse(fhir::xml::Write(*from_json), defs);
  if (!from_xml.ok()) return "written XML: " + First(from_xml.error());
  return roundtrip::DomDifference(*from_json->root(), *from_xml->root(),
                                  roundtrip::DivComparison::kInfoset);
}

TEST(PackageXmlRoundTripTest, EveryResourceRoundTripsThroughXml) {
  const auto& defs = testing_support::Definitions();
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(testing_support::PackageDir())) {
    const std::string name = entry.path().filename().string();
    // package.json and .index.json describe the package; they are not resources.
    if (entry.path().extension() != ".json" || name == "package.json" || name[0] == '.') continue;
    files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GT(files.size(), 5000u);

  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string> faults(files.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < files.size(); i = next++) faults[i] = RoundTrip(files[i], defs);
  };
  std::vector<std::thread> workers(std::max(1u, std::thread::hardware_concurrency()));
  for (std::thread& worker : workers) worker = std::thread(work);
  for (std::thread& worker : workers) worker.join();
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);

  int passed = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    if (faults[i].empty()) {
      ++passed;
    } else {
      ADD_FAILURE() << files[i].filename().string() << ": " << faults[i];
    }
  }
  EXPECT_EQ(passed, static_cast<int>(files.size()));
  RecordProperty("files", static_cast<int>(files.size()));
  RecordProperty("passed", passed);
  RecordProperty("milliseconds", static_cast<int>(elapsed.count()));
}

}  // namespace
