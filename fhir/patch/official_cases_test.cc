// The official patch test cases for R4 (tests/data/fhir-patch-r4, from FHIR/fhir-test-cases):
// json-patch-tests.json (JSON Patch) and fhir-patch-tests.xml (FHIRPath Patch). Every case runs;
// a case the library does not pass must be listed in official_cases_skips.txt with the reason,
// and a listed case that passes fails the run, so the list stays true.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>

#include "fhir/json/json.h"
#include "fhir/patch/fhirpath_patch.h"
#include "fhir/patch/json_patch.h"
#include "fhir/xml/xml.h"
#include "tests/support/test_definitions.h"

namespace fhir::patch {
namespace {

std::filesystem::path CasesDir() { return testing_support::TestDataDir() / "fhir-patch-r4"; }

// name -> reason, from "name<TAB>reason" lines; '#' starts a comment line.
std::map<std::string, std::string> LoadSkips() {
  std::map<std::string, std::string> skips;
  std::istringstream in(testing_support::ReadFile(std::filesystem::path(__FILE__).parent_path() /
                                                  "official_cases_skips.txt"));
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line.front() == '#') continue;
    const size_t tab = line.find('\t');
    skips[line.substr(0, tab)] = tab == std::string::npos ? "" : line.substr(tab + 1);
  }
  return skips;
}

// Tallies one suite's outcomes against the skip list.
class Tally {
 public:
  explicit Tally(std::string suite) : suite_(std::move(suite)), skips_(LoadSkips()) {}

  // `failure` is empty when the case passed.
  void Record(const std::string& name, const std::string& failure) {
    const std::string key = suite_ + ": " + name;
    EXPECT_TRUE(seen_.insert(key).second) << "duplicate case name " << key;
    ++total_;
    if (skips_.count(key) != 0) {
      ++skipped_;
      EXPECT_FALSE(failure.empty())
          << key << " passes now: remove it from official_cases_skips.txt";
    } else if (failure.empty()) {
      ++passed_;
    } else {
      ADD_FAILURE() << key << ": " << failure;
    }
  }

  ~Tally() {
    for (const auto& [name, reason] : skips_) {
      if (name.starts_with(suite_ + ": ")) {
        EXPECT_TRUE(seen_.count(name) != 0) << "skip list names an unknown case: " << name;
      }
    }
    std::printf("%s: %d cases, %d passed, %d skipped\n", suite_.c_str(), total_, passed_, skipped_);
  }

  int total() const { return total_; }

 private:
  std::string suite_;
  std::map<std::string, std::string> skips_;
  std::set<std::string> seen_;
  int total_ = 0, passed_ = 0, skipped_ = 0;
};

std::string Compact(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return buffer.GetString();
}

std::string RunJsonCase(const rapidjson::Value& test) {
  const std::string doc = Compact(test["doc"]);
  const std::string patch = Compact(test["patch"]);
  auto result = ApplyJsonPatchToJson(doc, patch);
  if (test.HasMember("error")) {
    if (result.ok()) return "expected an error, got " + *result;
    if (result.error().http_status() != 422 || result.error().message_id() != "patch.failed") {
      return "expected 422 patch.failed, got " + std::to_string(result.error().http_status()) +
             " " + result.error().message_id();
    }
    return "";
  }
  if (!result.ok()) return "failed: " + result.error().text();
  rapidjson::Document got;
  got.Parse(result->c_str());
  // RapidJSON's equality ignores object member order and compares numbers by value.
  if (got.HasParseError() || got != test["expected"]) {
    return "expected " + Compact(test["expected"]) + " got " + *result;
  }
  return "";
}

TEST(OfficialCasesTest, JsonPatch) {
  rapidjson::Document cases;
  cases.Parse(testing_support::ReadFile(CasesDir() / "json-patch-tests.json").c_str());
  ASSERT_FALSE(cases.HasParseError());
  ASSERT_TRUE(cases.IsArray());
  Tally tally("json");
  for (const auto& test : cases.GetArray())
    tally.Record(test["comment"].GetString(), RunJsonCase(test));
  EXPECT_EQ(tally.total(), 16);
}

// One <case> of fhir-patch-tests.xml, cut out of the text: the file is a flat list of cases whose
// parts hold one FHIR resource each, which the XML codec reads.
struct XmlCase {
  std::string name;
  std::string input, diff, output;
  std::optional<std::string> error;
};

// The text between <tag> and </tag> in [from, to), or nullopt.
std::optional<std::string> Inner(const std::string& text, size_t from, size_t to,
                                 const std::string& tag) {
  const size_t open = text.find("<" + tag + ">", from);
  if (open == std::string::npos || open >= to) return std::nullopt;
  const size_t start = open + tag.size() + 2;
  const size_t close = text.find("</" + tag + ">", start);
  if (close == std::string::npos || close > to) return std::nullopt;
  return text.substr(start, close - start);
}

std::string Attribute(const std::string& text, size_t at, const std::string& name) {
  const size_t start = text.find(name + "=\"", at) + name.size() + 2;
  return text.substr(start, text.find('"', start) - start);
}

std::vector<XmlCase> ReadXmlCases(const std::string& text) {
  std::vector<XmlCase> cases;
  for (size_t at = text.find("<case "); at != std::string::npos; at = text.find("<case ", at)) {
    const size_t end = text.find("</case>", at);
    XmlCase c;
    c.name = Attribute(text, at, "name");
    c.input = Inner(text, at, end, "input").value_or("");
    c.diff = Inner(text, at, end, "diff").value_or("");
    c.output = Inner(text, at, end, "output").value_or("");
    if (const size_t error = text.find("<error ", at); error < end) {
      c.error = Attribute(text, error, "msg");
    }
    cases.push_back(std::move(c));
    at = end;
  }
  return cases;
}

std::string RunXmlCase(const XmlCase& test) {
  const auto& defs = testing_support::Definitions();
  auto input = xml::Parse(test.input, defs);
  if (!input.ok()) return "input does not parse: " + input.error().text();
  auto diff = xml::Parse(test.diff, defs);
  if (!diff.ok()) return "diff does not parse: " + diff.error().text();
  auto result = ApplyFhirPathPatch(*input, *diff, defs);
  if (test.error) {
    if (result.ok()) return "expected an error (" + *test.error + "), got " + json::Write(*result);
    if (result.error().http_status() != 422) {
      return "expected 422, got " + std::to_string(result.error().http_status()) + " " +
             result.error().message_id() + ": " + result.error().text();
    }
    return "";
  }
  if (!result.ok()) return "failed: " + result.error().message_id() + ": " + result.error().text();
  auto output = xml::Parse(test.output, defs);
  if (!output.ok()) return "output does not parse: " + output.error().text();
  const std::string got = json::Write(*result);
  const std::string want = json::Write(*output);
  if (got != want) return "expected " + want + "\n  got " + got;
  return "";
}

TEST(OfficialCasesTest, FhirPathPatch) {
  const auto cases = ReadXmlCases(testing_support::ReadFile(CasesDir() / "fhir-patch-tests.xml"));
  Tally tally("fhirpath");
  for (const XmlCase& test : cases) tally.Record(test.name, RunXmlCase(test));
  EXPECT_EQ(tally.total(), 33);
}

}  // namespace
}  // namespace fhir::patch
