#include "fhir/json/json.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/test_definitions.h"

namespace fhir::json {
namespace {

Result<Resource> ParseText(std::string_view json) {
  return Parse(json, testing_support::Definitions());
}

// Forwards SAX events to a Document, turning each number into a string tagged with a leading
// '#', so that numbers compare by their exact text and never equal a string.
struct NumberTagger {
  rapidjson::Document& doc;
  bool Null() { return doc.Null(); }
  bool Bool(bool b) { return doc.Bool(b); }
  bool Int(int i) { return doc.Int(i); }
  bool Uint(unsigned u) { return doc.Uint(u); }
  bool Int64(int64_t i) { return doc.Int64(i); }
  bool Uint64(uint64_t u) { return doc.Uint64(u); }
  bool Double(double d) { return doc.Double(d); }
  bool RawNumber(const char* str, rapidjson::SizeType len, bool) {
    std::string tagged = "#";
    tagged.append(str, len);
    return doc.String(tagged.data(), static_cast<rapidjson::SizeType>(tagged.size()), true);
  }
  bool String(const char* str, rapidjson::SizeType len, bool copy) {
    return doc.String(str, len, copy);
  }
  bool StartObject() { return doc.StartObject(); }
  bool Key(const char* str, rapidjson::SizeType len, bool copy) { return doc.Key(str, len, copy); }
  bool EndObject(rapidjson::SizeType n) { return doc.EndObject(n); }
  bool StartArray() { return doc.StartArray(); }
  bool EndArray(rapidjson::SizeType n) { return doc.EndArray(n); }
};

// The JSON value of `json`, for comparisons that ignore member order but not number text.
rapidjson::Document JsonValue(std::string_view json) {
  struct Generator {
    std::string_view json;
    bool operator()(rapidjson::Document& doc) const {
      rapidjson::MemoryStream stream(json.data(), json.size());
      NumberTagger tagger{doc};
      rapidjson::Reader reader;
      return !reader.Parse<rapidjson::kParseNumbersAsStringsFlag>(stream, tagger).IsError();
    }
  } generator{json};
  rapidjson::Document doc;
  doc.Populate(generator);
  return doc;
}

// True when `written` is `original` without the whitespace between tokens. Raw pointers keep
// this cheap in unoptimised sanitizer builds.
bool EqualsMinified(std::string_view original, std::string_view written) {
  const char* p = original.data();
  const char* const end = p + original.size();
  const char* w = written.data();
  const char* const w_end = w + written.size();
  bool in_string = false;
  for (; p < end; ++p) {
    const char c = *p;
    if (!in_string && (c == ' ' || c == '\n' || c == '\r' || c == '\t')) continue;
    if (w == w_end || *w != c) return false;
    ++w;
    if (!in_string) {
      in_string = c == '"';
    } else if (c == '\\') {
      if (++p == end || w == w_end || *w != *p) return false;
      ++w;
    } else if (c == '"') {
      in_string = false;
    }
  }
  return w == w_end;
}

bool SameJson(std::string_view a, std::string_view b) {
  const rapidjson::Document va = JsonValue(a);
  const rapidjson::Document vb = JsonValue(b);
  return !va.IsNull() && va == vb;
}

TEST(JsonParseTest, BuildsTheDomInDefinitionOrder) {
  auto parsed = ParseText(R"({"resourceType":"Patient","gender":"female","id":"p1",
      "name":[{"family":"Chalmers","given":["Peter","James"]},{"text":"Jim"}],
      "birthDate":"1974-12-25","active":true,"multipleBirthInteger":2})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().text();
  const Node* root = parsed->root();
  EXPECT_EQ(parsed->resource_type(), "Patient");
  std::vector<std::string> names;
  for (const Node* c : root->children) names.push_back(c->JsonName());
  EXPECT_EQ(names, (std::vector<std::string>{"id", "active", "name", "name", "gender", "birthDate",
                                             "multipleBirthInteger"}));
  const std::vector<const Node*> given = root->Child("name")->Children("given");
  ASSERT_EQ(given.size(), 2u);
  EXPECT_EQ(given[0]->value, "Peter");
  EXPECT_EQ(given[1]->value, "James");
  EXPECT_EQ(root->Child("active")->value, "true");
  EXPECT_EQ(root->Child("multipleBirth")->type->name, "integer");
  EXPECT_EQ(root->Child("multipleBirth")->value, "2");
}

TEST(JsonParseTest, FindsResourceTypeAfterOtherMembers) {
  auto parsed = ParseText(R"({"id":"x","contained":[{"id":"o","resourceType":"Organization",
      "name":"Acme"}],"resourceType":"Patient","gender":"male"})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().text();
  EXPECT_EQ(parsed->resource_type(), "Patient");
  const Node* contained = parsed->root()->Child("contained");
  ASSERT_NE(contained, nullptr);
  EXPECT_EQ(contained->type->name, "Organization");
  EXPECT_EQ(contained->Child("name")->value, "Acme");
}

TEST(JsonParseTest, KeepsDecimalsAndIntegersExactly) {
  for (std::string_view value : {"1.50", "1e2", "-0.0", "12345678901234567890", "0.000001",
                                 "3.14159265358979323846264338327950288", "1E-7"}) {
    const std::string json =
        R"({"resourceType":"Observation","status":"final","code":{"text":"x"},)"
        R"("valueQuantity":{"value":)" +
        std::string(value) + R"(,"unit":"mg"}})";
    auto parsed = ParseText(json);
    ASSERT_TRUE(parsed.ok()) << value << ": " << parsed.error().text();
    const Node* quantity = parsed->root()->Child("value");
    ASSERT_NE(quantity, nullptr);
    EXPECT_EQ(quantity->JsonName(), "valueQuantity");
    EXPECT_EQ(quantity->Child("value")->value, value);
    EXPECT_EQ(Write(*parsed), json);
  }
}

TEST(JsonParseTest, PrimitiveExtensionsWithoutValue) {
  const std::string json =
      R"({"resourceType":"Patient","_birthDate":{"id":"b","extension":[{"url":"http://x",)"
      R"("valueDateTime":"1970-01-01T10:00:00Z"}]}})";
  auto parsed = ParseText(json);
  ASSERT_TRUE(parsed.ok()) << parsed.error().text();
  const Node* birth = parsed->root()->Child("birthDate");
  ASSERT_NE(birth, nullptr);
  EXPECT_FALSE(birth->has_value);
  ASSERT_EQ(birth->children.size(), 2u);
  EXPECT_EQ(birth->Child("id")->value, "b");
  EXPECT_EQ(birth->Child("extension")->Child("url")->value, "http://x");
  EXPECT_EQ(Write(*parsed), json);
}

// "given" and "_given" pair by position in whichever order they come; null pads either side.
TEST(JsonParseTest, AlignsRepeatedPrimitiveExtensionsInEitherOrder) {
  const std::string values = R"("given":["Ann",null,"Eve"])";
  const std::string extras =
      R"("_given":[null,{"extension":[{"url":"http://a","valueCode":"x"}]},{"id":"e"}])";
  const std::string expected =
      R"({"resourceType":"Patient","name":[{)" + values + "," + extras + "}]}";
  for (const std::string& body : {values + "," + extras, extras + "," + values}) {
    auto parsed = ParseText(R"({"resourceType":"Patient","name":[{)" + body + "}]}");
    ASSERT_TRUE(parsed.ok()) << parsed.error().text();
    const std::vector<const Node*> given = parsed->root()->Child("name")->Children("given");
    ASSERT_EQ(given.size(), 3u);
    EXPECT_EQ(given[0]->value, "Ann");
    EXPECT_TRUE(given[0]->children.empty());
    EXPECT_FALSE(given[1]->has_value);
    EXPECT_EQ(given[1]->Child("extension")->Child("url")->value, "http://a");
    EXPECT_EQ(given[2]->value, "Eve");
    EXPECT_EQ(given[2]->Child("id")->value, "e");
    EXPECT_EQ(Write(*parsed), expected);
  }
}

TEST(JsonParseTest, ReadsContainedBundleAndParametersResources) {
  auto bundle = ParseText(R"({"resourceType":"Bundle","type":"collection","entry":[
      {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"a"}},
      {"resource":{"resourceType":"Parameters","parameter":[{"name":"p",
        "resource":{"resourceType":"Observation","status":"final","code":{"text":"t"},
          "contained":[{"resourceType":"Device","id":"d"}]}}]}}]})");
  ASSERT_TRUE(bundle.ok()) << bundle.error().text();
  const std::vector<const Node*> entries = bundle->root()->Children("entry");
  ASSERT_EQ(entries.size(), 2u);
  const Node* patient = entries[0]->Child("resource");
  EXPECT_TRUE(patient->is_resource());
  EXPECT_EQ(patient->type->name, "Patient");
  EXPECT_EQ(patient->Child("id")->value, "a");
  const Node* observation = entries[1]->Child("resource")->Child("parameter")->Child("resource");
  EXPECT_EQ(observation->type->name, "Observation");
  EXPECT_EQ(observation->Child("contained")->type->name, "Device");
}

TEST(JsonParseTest, KeepsNarrativeMarkupVerbatim) {
  const std::string div =
      R"(<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>A &amp; B <b>\"bold\"</b></p></div>)";
  const std::string json =
      R"({"resourceType":"Patient","text":{"status":"generated","div":")" + div + R"("}})";
  auto parsed = ParseText(json);
  ASSERT_TRUE(parsed.ok()) << parsed.error().text();
  EXPECT_EQ(parsed->root()->Child("text")->Child("div")->value,
            R"(<div xmlns="http://www.w3.org/1999/xhtml"><p>A &amp; B <b>"bold"</b></p></div>)");
  EXPECT_EQ(Write(*parsed), json);
}

TEST(JsonParseTest, ChineseTextRoundTripsAsUtf8) {
  const std::string json =
      R"({"resourceType":"Patient","name":[{"text":"王小明","family":"王","given":["小明"]}],)"
      R"("address":[{"line":["朝阳区建国路88号"],"city":"北京市"}]})";
  auto parsed = ParseText(json);
  ASSERT_TRUE(parsed.ok()) << parsed.error().text();
  EXPECT_EQ(parsed->root()->Child("name")->Child("family")->value, "王");
  EXPECT_EQ(Write(*parsed), json);

  auto escaped = ParseText(R"({"resourceType":"Patient","name":[{"family":"\u738b"}]})");
  ASSERT_TRUE(escaped.ok()) << escaped.error().text();
  EXPECT_EQ(Write(*escaped), R"({"resourceType":"Patient","name":[{"family":"王"}]})");
}

// base64Binary has no length limit (string has 1 MiB).
TEST(JsonParseTest, HugeString) {
  const std::string big(16 << 20, 'A');
  const std::string json =
      R"({"resourceType":"Binary","contentType":"text/plain","data":")" + big + R"("})";
  auto parsed = ParseText(json);
  ASSERT_TRUE(parsed.ok()) << parsed.error().text();
  EXPECT_EQ(parsed->root()->Child("data")->value.size(), big.size());
  EXPECT_EQ(Write(*parsed), json);
}

TEST(JsonParseTest, AcceptsByteOrderMark) {
  auto parsed = ParseText("\xEF\xBB\xBF{\"resourceType\":\"Patient\",\"id\":\"a\"}");
  ASSERT_TRUE(parsed.ok()) << parsed.error().text();
  EXPECT_EQ(parsed->root()->Child("id")->value, "a");
}

TEST(JsonWriteTest, EscapesOnlyWhatJsonRequires) {
  auto parsed = ParseText(R"({"resourceType":"Patient","name":[{"text":"a\"b\\c\/d\n\te\r é"}]})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().text();
  EXPECT_EQ(parsed->root()->Child("name")->Child("text")->value, "a\"b\\c/d\n\te\r é");
  EXPECT_EQ(Write(*parsed), R"({"resourceType":"Patient","name":[{"text":"a\"b\\c/d\n\te\r é"}]})");

  // Control characters are not valid FHIR strings, but whatever a DOM holds is written as JSON.
  Resource built;
  built.set_root(built.NewNode(nullptr, testing_support::Definitions().FindResource("Basic")));
  built.AddPrimitive(built.root(), "id", std::string_view("\x01\x1f\b\f", 4));
  EXPECT_EQ(Write(built), R"({"resourceType":"Basic","id":"\u0001\u001f\b\f"})");
}

// The escaping scan skips eight bytes at a time: try each special byte at every position.
TEST(JsonWriteTest, EscapesAtEveryPosition) {
  const auto& defs = testing_support::Definitions();
  for (const char special : {'\x01', '\x1f', '"', '\\', '\n', '\x7f'}) {
    for (size_t at = 0; at < 20; ++at) {
      std::string text = "abcdefghij\xE7\x8E\x8Bklmnopq";
      text[at] = special;
      Resource built;
      built.set_root(built.NewNode(nullptr, defs.FindResource("Basic")));
      built.AddPrimitive(built.root(), "id", text);
      rapidjson::Document doc;
      const std::string written = Write(built);
      doc.Parse(written.data(), written.size());
      ASSERT_FALSE(doc.HasParseError()) << written;
      EXPECT_EQ(std::string(doc["id"].GetString(), doc["id"].GetStringLength()), text) << written;
    }
  }
}

TEST(JsonWriteTest, PrettyOutputUsesTwoSpaces) {
  auto parsed = ParseText(R"({"resourceType":"Patient","id":"x","active":false,
      "name":[{"given":["A","B"],"_given":[null,{"id":"g"}]}],"birthDate":"2000"})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().text();
  EXPECT_EQ(Write(*parsed, {.pretty = true}), R"({
  "resourceType": "Patient",
  "id": "x",
  "active": false,
  "name": [
    {
      "given": [
        "A",
        "B"
      ],
      "_given": [
        null,
        {
          "id": "g"
        }
      ]
    }
  ],
  "birthDate": "2000"
})");
}

TEST(JsonWriteTest, WritesResourcesBuiltInCode) {
  const auto& defs = testing_support::Definitions();
  Resource obs;
  obs.set_root(obs.NewNode(nullptr, defs.FindResource("Observation")));
  Node* quantity = obs.AddChild(obs.root(), "valueQuantity");
  obs.AddPrimitive(quantity, "value", "7.20");
  obs.AddPrimitive(obs.root(), "status", "final");
  Node* code = obs.AddChild(obs.root(), "code");
  obs.AddPrimitive(code, "text", "体温");
  EXPECT_EQ(Write(obs), R"({"resourceType":"Observation","status":"final","code":{"text":"体温"},)"
                        R"("valueQuantity":{"value":7.20}})");
  EXPECT_EQ(Write(Resource()), "");
}

// Parse -> write -> compare as JSON values (numbers by their text) for a few rich examples.
TEST(JsonRoundTripTest, PackageExamples) {
  for (const char* name :
       {"Patient-example.json", "Observation-example-genetics-1.json", "Questionnaire-qs1.json",
        "Bundle-bundle-example.json", "ActivityDefinition-citalopramPrescription.json",
        "QuestionnaireResponse-3141.json", "Observation-decimal.json", "Patient-pat1.json",
        "Medication-med0301.json"}) {
    const std::filesystem::path path = testing_support::PackageDir() / name;
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
    const std::string text = testing_support::ReadFile(path);
    auto parsed = ParseText(text);
    ASSERT_TRUE(parsed.ok()) << name << ": " << parsed.error().text() << " at "
                             << parsed.error().issues().front().expression;
    EXPECT_TRUE(SameJson(text, Write(*parsed))) << name;
    EXPECT_TRUE(SameJson(text, Write(*parsed, {.pretty = true}))) << name;
  }
}

// Every resource of the R4 package parses without a fault and writes back to an equal JSON
// value, except one whose id breaks the 64-character limit of the id type. Most files are in
// definition order and so must come back byte for byte (minified); the others, with sorted keys,
// are compared as JSON values. Parse and Write are pure, so the files are shared out between
// threads.
TEST(JsonRoundTripTest, EveryPackageExample) {
  const std::string invalid_id =
      "SearchParameter-questionnaireresponse-extensions-QuestionnaireResponse-item-subject.json";
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(testing_support::PackageDir())) {
    const std::filesystem::path& p = entry.path();
    if (p.extension() == ".json" && p.filename() != "package.json") files.push_back(p);
  }
  std::sort(files.begin(), files.end());
  ASSERT_GT(files.size(), 5000u);

  std::atomic<size_t> next{0};
  std::mutex mutex;
  std::vector<std::string> failures;
  auto work = [&] {
    for (size_t i = next++; i < files.size(); i = next++) {
      const std::string text = testing_support::ReadFile(files[i]);
      auto parsed = ParseText(text);
      std::string failure;
      if (files[i].filename() == invalid_id) {
        if (parsed.ok() || parsed.error().message_id() != "json.invalid-primitive" ||
            parsed.error().issues().front().expression != "SearchParameter.id") {
          failure = "expected json.invalid-primitive at SearchParameter.id";
        }
      } else if (!parsed.ok()) {
        const Issue& issue = parsed.error().issues().front();
        failure = issue.message_id + " at " + issue.expression + ": " + issue.text;
      } else if (const std::string written = Write(*parsed);
                 !EqualsMinified(text, written) && !SameJson(text, written)) {
        failure = "written JSON differs";
      }
      if (!failure.empty()) {
        std::lock_guard<std::mutex> lock(mutex);
        failures.push_back(files[i].filename().string() + ": " + failure);
      }
    }
  };
  std::vector<std::thread> threads;
  const unsigned n = std::max(1u, std::min(4u, std::thread::hardware_concurrency()));
  for (unsigned t = 0; t < n; ++t) threads.emplace_back(work);
  for (auto& t : threads) t.join();

  std::sort(failures.begin(), failures.end());
  std::string report;
  for (size_t i = 0; i < failures.size() && i < 50; ++i) report += failures[i] + "\n";
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << files.size() << " files fail:\n"
                                << report;
}

}  // namespace
}  // namespace fhir::json
