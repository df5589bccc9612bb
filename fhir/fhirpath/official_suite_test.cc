// The official FHIRPath test suite for FHIR R4 (tests/data/fhirpath-r4/tests-fhir-r4.xml, from
// FHIR/fhir-test-cases). Every test must pass unless it is listed in
// official_suite_skips.txt with the reason; a listed test that passes fails the run, so the
// list stays true. Prints passed/failed/skipped per group.
//
// Expected errors (invalid="syntax|semantic|execution") pass when compilation or evaluation
// fails, whichever stage reports it. predicate="true" compares the result's existence.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "fhir/fhirpath/fhirpath.h"
#include "fhir/json/json.h"
#include "fhir/xml/xml.h"
#include "tests/support/test_definitions.h"

namespace fhir::fhirpath {
namespace {

// A minimal reader for the suite's XML: elements, attributes, text, comments, entities.
struct XmlElement {
  std::string name;
  std::map<std::string, std::string> attributes;
  std::string text;
  std::vector<std::unique_ptr<XmlElement>> children;

  std::string Attribute(const std::string& key) const {
    auto it = attributes.find(key);
    return it == attributes.end() ? std::string() : it->second;
  }
};

std::string DecodeEntities(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    size_t end = s.find(';', i);
    std::string_view entity = s.substr(i + 1, end - i - 1);
    if (entity == "lt")
      out += '<';
    else if (entity == "gt")
      out += '>';
    else if (entity == "amp")
      out += '&';
    else if (entity == "quot")
      out += '"';
    else if (entity == "apos")
      out += '\'';
    else
      out += "&" + std::string(entity) + ";";
    i = end;
  }
  return out;
}

class XmlReader {
 public:
  explicit XmlReader(std::string_view text) : text_(text) {}

  std::unique_ptr<XmlElement> Document() {
    SkipMisc();
    return Element();
  }

 private:
  void SkipMisc() {
    while (true) {
      while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
      if (text_.substr(pos_, 4) == "<!--") {
        pos_ = text_.find("-->", pos_) + 3;
      } else if (text_.substr(pos_, 2) == "<?") {
        pos_ = text_.find("?>", pos_) + 2;
      } else {
        return;
      }
    }
  }

  std::unique_ptr<XmlElement> Element() {
    auto e = std::make_unique<XmlElement>();
    ++pos_;  // '<'
    size_t start = pos_;
    while (!std::isspace(static_cast<unsigned char>(text_[pos_])) && text_[pos_] != '>' &&
           text_[pos_] != '/') {
      ++pos_;
    }
    e->name = std::string(text_.substr(start, pos_ - start));
    while (true) {
      while (std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
      if (text_[pos_] == '/') {
        pos_ += 2;
        return e;
      }
      if (text_[pos_] == '>') {
        ++pos_;
        break;
      }
      size_t eq = text_.find('=', pos_);
      std::string key(text_.substr(pos_, eq - pos_));
      char quote = text_[eq + 1];
      size_t close = text_.find(quote, eq + 2);
      e->attributes[key] = DecodeEntities(text_.substr(eq + 2, close - eq - 2));
      pos_ = close + 1;
    }
    while (true) {
      size_t lt = text_.find('<', pos_);
      e->text += DecodeEntities(text_.substr(pos_, lt - pos_));
      pos_ = lt;
      if (text_.substr(pos_, 4) == "<!--") {
        pos_ = text_.find("-->", pos_) + 3;
      } else if (text_.substr(pos_, 2) == "</") {
        pos_ = text_.find('>', pos_) + 1;
        return e;
      } else {
        e->children.push_back(Element());
      }
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
};

std::filesystem::path SuiteDir() { return testing_support::TestDataDir() / "fhirpath-r4"; }

std::map<std::string, std::string> LoadSkips() {
  std::map<std::string, std::string> skips;
  std::istringstream in(testing_support::ReadFile(std::filesystem::path(__FILE__).parent_path() /
                                                  "official_suite_skips.txt"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t tab = line.find('\t');
    skips[line.substr(0, tab)] = tab == std::string::npos ? "" : line.substr(tab + 1);
  }
  return skips;
}

class Inputs {
 public:
  // nullptr with *error set when the file cannot be read.
  const Resource* Get(const std::string& file, std::string* error) {
    if (file.empty()) return nullptr;
    auto it = cache_.find(file);
    if (it != cache_.end()) {
      if (it->second == nullptr) *error = errors_[file];
      return it->second.get();
    }
    std::string text = testing_support::ReadFile(SuiteDir() / file);
    const auto& defs = testing_support::Definitions();
    // observation-example.xml has an extension after status, out of definition order.
    auto parsed = file.ends_with(".json") ? json::Parse(text, defs)
                                          : xml::Parse(text, defs, {.allow_out_of_order = true});
    std::unique_ptr<Resource> r;
    if (parsed.ok()) {
      r = std::make_unique<Resource>(std::move(parsed).value());
    } else {
      *error = errors_[file] = "cannot read " + file + ": " + parsed.error().text();
    }
    return (cache_[file] = std::move(r)).get();
  }

 private:
  std::map<std::string, std::unique_ptr<Resource>> cache_;
  std::map<std::string, std::string> errors_;
};

std::string Rendered(const Value& v) {
  std::string type(OutputTypeName(v));
  std::string text = OutputText(v);
  if (type == "date" || type == "dateTime" || type == "instant") return "@" + text;
  if (type == "time") return "@T" + text;
  return text;
}

// Runs one test; returns "" when it passes, else what went wrong.
std::string RunTest(const XmlElement& test, Inputs& inputs) {
  const XmlElement* expression = nullptr;
  std::vector<const XmlElement*> outputs;
  for (const auto& c : test.children) {
    if (c->name == "expression") expression = c.get();
    if (c->name == "output") outputs.push_back(c.get());
  }
  if (expression == nullptr) return "no expression";
  const bool expect_error = !expression->Attribute("invalid").empty();
  std::string input_error;
  const Resource* input = inputs.Get(test.Attribute("inputfile"), &input_error);
  if (!input_error.empty()) return input_error;
  auto compiled = Expression::Compile(expression->text, testing_support::Definitions());
  if (!compiled.ok()) {
    return expect_error ? "" : "compile error: " + compiled.error().text();
  }
  EvaluationContext ctx;
  if (input != nullptr) ctx.resource = input->root();
  auto result = compiled->Evaluate(ctx);
  if (!result.ok()) return expect_error ? "" : "evaluation error: " + result.error().text();
  if (expect_error) return "expected an error, got " + std::to_string(result->size()) + " items";

  std::vector<std::string> actual;
  std::vector<std::string> actual_typed;
  if (test.Attribute("predicate") == "true") {
    actual.push_back(result->empty() ? "false" : "true");
    actual_typed.push_back("boolean:" + actual.back());
  } else {
    for (const Value& v : *result) {
      actual.push_back(Rendered(v));
      actual_typed.push_back(std::string(OutputTypeName(v)) + ":" + actual.back());
    }
  }
  std::vector<std::string> expected;
  std::vector<std::string> expected_typed;
  bool typed = true;
  for (const XmlElement* o : outputs) {
    expected.push_back(o->text);
    std::string type = o->Attribute("type");
    if (type.empty()) typed = false;
    expected_typed.push_back(type + ":" + o->text);
  }
  std::vector<std::string>& got = typed ? actual_typed : actual;
  std::vector<std::string>& want = typed ? expected_typed : expected;
  if (test.Attribute("ordered") == "false") {
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
  }
  if (got == want) return "";
  std::string message = "expected [";
  for (const auto& s : want) message += s + "; ";
  message += "] got [";
  for (const auto& s : got) message += s + "; ";
  return message + "]";
}

TEST(OfficialSuiteTest, PassesExceptListedSkips) {
  auto root = XmlReader(testing_support::ReadFile(SuiteDir() / "tests-fhir-r4.xml")).Document();
  ASSERT_EQ(root->name, "tests");
  auto skips = LoadSkips();
  Inputs inputs;
  std::set<std::string> seen;
  int total = 0, passed = 0, skipped = 0;
  for (const auto& group : root->children) {
    if (group->name != "group") continue;
    int group_passed = 0, group_failed = 0, group_skipped = 0;
    for (const auto& test : group->children) {
      if (test->name != "test") continue;
      // Names are not unique in the suite: later duplicates get "#2", "#3", ...
      std::string name = test->Attribute("name");
      if (name.empty()) name = group->Attribute("name") + "-unnamed";
      std::string key = name;
      for (int n = 2; seen.count(key) != 0; ++n) key = name + "#" + std::to_string(n);
      seen.insert(key);
      ++total;
      std::string failure = RunTest(*test, inputs);
      const bool listed = skips.count(key) != 0;
      if (listed) {
        ++group_skipped;
        ++skipped;
        EXPECT_FALSE(failure.empty())
            << key << " passes now: remove it from official_suite_skips.txt";
      } else if (failure.empty()) {
        ++group_passed;
        ++passed;
      } else {
        ++group_failed;
        ADD_FAILURE() << key << " (" << group->Attribute("name") << "): " << failure
                      << "\n  expression: " << test->children.front()->text;
      }
    }
    std::printf("%-32s passed %3d  failed %3d  skipped %3d\n", group->Attribute("name").c_str(),
                group_passed, group_failed, group_skipped);
  }
  for (const auto& [name, reason] : skips) {
    EXPECT_TRUE(seen.count(name) != 0) << "skip list names an unknown test: " << name;
  }
  std::printf("official suite: %d tests, %d passed (%.1f%%), %d skipped\n", total, passed,
              100.0 * passed / total, skipped);
}

}  // namespace
}  // namespace fhir::fhirpath
