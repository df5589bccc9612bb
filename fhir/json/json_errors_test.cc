// Faults found by json::Parse: each kind with its message id and FHIRPath location.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fhir/json/json.h"
#include "tests/support/test_definitions.h"

namespace fhir::json {
namespace {

struct Fault {
  std::string id;
  std::string expression;
  bool operator==(const Fault&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Fault& f) {
  return out << f.id << " @ " << f.expression;
}

std::vector<Fault> Faults(std::string_view json, const ParseOptions& options = {}) {
  auto parsed = Parse(json, testing_support::Definitions(), options);
  std::vector<Fault> out;
  if (parsed.ok()) return out;
  EXPECT_EQ(parsed.error().http_status(), 400);
  for (const Issue& issue : parsed.error().issues()) {
    out.push_back({issue.message_id, issue.expression});
  }
  return out;
}

// A Patient with `members` after its resourceType.
std::string Patient(std::string_view members) {
  return R"({"resourceType":"Patient",)" + std::string(members) + "}";
}

using Faults_ = std::vector<Fault>;

TEST(JsonErrorsTest, Syntax) {
  EXPECT_EQ(Faults(""), (Faults_{{"json.syntax", ""}}));
  EXPECT_EQ(Faults(R"({"resourceType":"Patient","name":[{"given":["a")"),
            (Faults_{{"json.syntax", "Patient.name[0].given[0]"}}));
  EXPECT_EQ(Faults(R"({"resourceType":"Patient"} x)"), (Faults_{{"json.syntax", ""}}));
  EXPECT_EQ(Faults(std::string(R"({"resourceType":"Patient"})") + '\0' + "x"),
            (Faults_{{"json.syntax", ""}}));
  EXPECT_EQ(Faults(Patient(R"("active":tru)")), (Faults_{{"json.syntax", "Patient.active"}}));
  EXPECT_EQ(Faults(Patient(R"("id":"a",)")), (Faults_{{"json.syntax", "Patient.id"}}));
}

TEST(JsonErrorsTest, InvalidUtf8) {
  EXPECT_EQ(Faults(Patient("\"id\":\"a\xff\"")), (Faults_{{"json.invalid-utf8", ""}}));
  EXPECT_EQ(Faults(Patient("\"id\":\"\xc0\xaf\"")), (Faults_{{"json.invalid-utf8", ""}}));
  EXPECT_EQ(Faults(Patient("\"id\":\"\xed\xa0\x80\"")), (Faults_{{"json.invalid-utf8", ""}}));
  // An escaped lone low surrogate decodes to bytes that are not UTF-8.
  EXPECT_EQ(Faults(Patient(R"("name":[{"text":"a\udc00"}])")),
            (Faults_{{"json.invalid-utf8", "Patient.name[0].text"}}));
  EXPECT_EQ(Faults(Patient(R"("name":[{"text":"a\ud800"}])")),
            (Faults_{{"json.syntax", "Patient.name[0].text"}}));
}

TEST(JsonErrorsTest, ResourceType) {
  EXPECT_EQ(Faults(R"({"id":"a"})"), (Faults_{{"json.missing-resource-type", ""}}));
  EXPECT_EQ(Faults("{}"), (Faults_{{"json.missing-resource-type", ""}}));
  EXPECT_EQ(Faults(R"({"resourceType":"Patientx","id":"a"})"),
            (Faults_{{"json.unknown-resource-type", ""}}));
  EXPECT_EQ(Faults(R"({"resourceType":"DomainResource"})"),
            (Faults_{{"json.unknown-resource-type", ""}}));
  EXPECT_EQ(Faults(R"({"resourceType":"HumanName"})"),
            (Faults_{{"json.unknown-resource-type", ""}}));
  EXPECT_EQ(Faults(R"({"resourceType":1})"), (Faults_{{"json.wrong-type", "resourceType"}}));
  EXPECT_EQ(Faults(R"({"resourceType":"Patient","resourceType":"Patient"})"),
            (Faults_{{"json.duplicate-key", "Patient.resourceType"}}));
  EXPECT_EQ(Faults(R"(["Patient"])"), (Faults_{{"json.wrong-type", ""}}));
  EXPECT_EQ(Faults(R"("Patient")"), (Faults_{{"json.wrong-type", ""}}));
  EXPECT_EQ(Faults(Patient(R"("contained":[{"resourceType":"Resource"},{"id":"x"},{}])")),
            (Faults_{{"json.unknown-resource-type", "Patient.contained[0]"},
                     {"json.missing-resource-type", "Patient.contained[1]"},
                     {"json.missing-resource-type", "Patient.contained[2]"}}));
}

TEST(JsonErrorsTest, UnknownElement) {
  EXPECT_EQ(Faults(Patient(R"("foo":{"bar":[1]},"name":[{"famly":"x"}])")),
            (Faults_{{"json.unknown-element", "Patient.foo"},
                     {"json.unknown-element", "Patient.name[0].famly"}}));
  EXPECT_EQ(Faults(Patient(R"("valueString":"x","_name":{"id":"a"})")),
            (Faults_{{"json.unknown-element", "Patient.valueString"},
                     {"json.unknown-element", "Patient._name"}}));
  EXPECT_EQ(Faults(Patient(R"("_gender":{"value":"male"})")),
            (Faults_{{"json.unknown-element", "Patient.gender.value"}}));
  EXPECT_EQ(Faults(R"({"resourceType":"Observation","valueFoo":1})"),
            (Faults_{{"json.unknown-element", "Observation.valueFoo"}}));
}

TEST(JsonErrorsTest, WrongJsonType) {
  EXPECT_EQ(Faults(Patient(R"("active":"true","gender":1,"birthDate":true,"name":["x"],)"
                           R"("multipleBirthInteger":"2","id":{"a":1})")),
            (Faults_{{"json.wrong-type", "Patient.active"},
                     {"json.wrong-type", "Patient.gender"},
                     {"json.wrong-type", "Patient.birthDate"},
                     {"json.wrong-type", "Patient.name[0]"},
                     {"json.wrong-type", "Patient.multipleBirthInteger"},
                     {"json.wrong-type", "Patient.id"}}));
  EXPECT_EQ(Faults(Patient(R"("_gender":"x","name":[{"given":[["a"]]}])")),
            (Faults_{{"json.wrong-type", "Patient.gender"},
                     {"json.wrong-type", "Patient.name[0].given[0]"}}));
}

TEST(JsonErrorsTest, ArrayOrSingle) {
  EXPECT_EQ(Faults(Patient(R"("name":{"family":"x"},"gender":["male"],)"
                           R"("address":[{"line":"a"}])")),
            (Faults_{{"json.expected-array", "Patient.name"},
                     {"json.expected-single", "Patient.gender"},
                     {"json.expected-array", "Patient.address[0].line"}}));
}

TEST(JsonErrorsTest, InvalidPrimitive) {
  EXPECT_EQ(Faults(Patient(R"("birthDate":"1970-13-01","multipleBirthInteger":1.5,)"
                           R"("name":[{"given":["a","b"],"period":{"start":"2020-1-01"}}],)"
                           R"("id":"a b")")),
            (Faults_{{"json.invalid-primitive", "Patient.birthDate"},
                     {"json.invalid-primitive", "Patient.multipleBirthInteger"},
                     {"json.invalid-primitive", "Patient.name[0].period.start"},
                     {"json.invalid-primitive", "Patient.id"}}));
  EXPECT_EQ(Faults(Patient(R"("multipleBirthInteger":12345678901234567890)")),
            (Faults_{{"json.invalid-primitive", "Patient.multipleBirthInteger"}}));
  EXPECT_EQ(Faults(R"({"resourceType":"Observation","valueQuantity":{"value":1e2}})"), Faults_{});
}

TEST(JsonErrorsTest, Empty) {
  EXPECT_EQ(Faults(Patient(R"("name":[],"gender":"","address":[{}],"maritalStatus":{})")),
            (Faults_{{"json.empty", "Patient.name"},
                     {"json.empty", "Patient.gender"},
                     {"json.empty", "Patient.address[0]"},
                     {"json.empty", "Patient.maritalStatus"}}));
  EXPECT_EQ(Faults(Patient(R"("_gender":{})")), (Faults_{{"json.empty", "Patient.gender"}}));
}

TEST(JsonErrorsTest, DuplicateKeys) {
  EXPECT_EQ(
      Faults(Patient(R"("id":"a","gender":"male","id":"b","name":[{"given":["x"]}],)"
                     R"("name":[{"given":["y"]}])")),
      (Faults_{{"json.duplicate-key", "Patient.id"}, {"json.duplicate-key", "Patient.name"}}));
  EXPECT_EQ(Faults(R"({"resourceType":"Observation","valueString":"a","valueBoolean":true})"),
            (Faults_{{"json.duplicate-key", "Observation.valueBoolean"}}));
  EXPECT_EQ(
      Faults(R"({"resourceType":"Observation","valueString":"a","_valueBoolean":{"id":"x"}})"),
      (Faults_{{"json.duplicate-key", "Observation.valueBoolean"}}));
  EXPECT_EQ(Faults(Patient(R"("_gender":{"id":"a"},"_gender":{"id":"b"})")),
            (Faults_{{"json.duplicate-key", "Patient.gender"}}));
}

TEST(JsonErrorsTest, Nulls) {
  EXPECT_EQ(Faults(Patient(R"("gender":null,"name":[null],"_birthDate":null)")),
            (Faults_{{"json.null", "Patient.gender"},
                     {"json.null", "Patient.name[0]"},
                     {"json.null", "Patient.birthDate"}}));
  // A null item needs something at the same position in the other array.
  EXPECT_EQ(Faults(Patient(R"("name":[{"given":["a",null]}])")),
            (Faults_{{"json.null", "Patient.name[0].given[1]"}}));
  EXPECT_EQ(Faults(Patient(R"("name":[{"given":["a",null],"_given":[{"id":"x"},null]}])")),
            (Faults_{{"json.null", "Patient.name[0].given[1]"}}));
  EXPECT_EQ(Faults(Patient(R"("name":[{"_given":[null,{"id":"x"}],"given":["a",null]}])")),
            Faults_{});
}

TEST(JsonErrorsTest, MisalignedExtensions) {
  EXPECT_EQ(Faults(Patient(R"("name":[{"given":["a","b"],"_given":[{"id":"x"}]}])")),
            (Faults_{{"json.misaligned-extension", "Patient.name[0].given"}}));
  EXPECT_EQ(Faults(Patient(R"("name":[{"_given":[{"id":"x"}],"given":["a","b"]}])")),
            (Faults_{{"json.misaligned-extension", "Patient.name[0].given"}}));
  // "_x" without "x" is allowed: the value is absent.
  EXPECT_EQ(Faults(Patient(R"("name":[{"_given":[{"id":"x"}]}])")), Faults_{});
}

TEST(JsonErrorsTest, LocationsInsideNestedResources) {
  EXPECT_EQ(
      Faults(R"({"resourceType":"Bundle","type":"collection","entry":[{"resource":)"
             R"({"resourceType":"Patient","id":"a"}},{"resource":{"resourceType":"Patient",)"
             R"("birthDate":"x","contained":[{"resourceType":"Observation","status":1}]}}]})"),
      (Faults_{{"json.invalid-primitive", "Bundle.entry[1].resource.birthDate"},
               {"json.wrong-type", "Bundle.entry[1].resource.contained[0].status"}}));
  EXPECT_EQ(Faults(R"({"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Foo"}}]})"),
            (Faults_{{"json.unknown-resource-type", "Bundle.entry[0].resource"}}));
  EXPECT_EQ(Faults(R"({"resourceType":"Parameters","parameter":[{"name":"p","resource":)"
                   R"({"birthDate":"1","resourceType":"Patient"}}]})"),
            (Faults_{{"json.invalid-primitive", "Parameters.parameter[0].resource.birthDate"}}));
}

TEST(JsonErrorsTest, PrimitiveExtensionLocations) {
  EXPECT_EQ(
      Faults(Patient(R"("name":[{"given":["a","b"],"_given":[null,{"extension":[)"
                     R"({"url":"http://x","valueDate":"2020-13"}]}]}])")),
      (Faults_{{"json.invalid-primitive", "Patient.name[0].given[1].extension[0].valueDate"}}));
}

TEST(JsonErrorsTest, CollectsEveryFaultUpToTheLimit) {
  std::string members = R"("id":"ok")";
  for (int i = 0; i < 30; ++i) members += ",\"x" + std::to_string(i) + "\":1";
  EXPECT_EQ(Faults(Patient(members)).size(), 30u);
  const std::vector<Fault> limited = Faults(Patient(members), {.max_issues = 5});
  ASSERT_EQ(limited.size(), 5u);
  EXPECT_EQ(limited.back(), (Fault{"json.unknown-element", "Patient.x4"}));
}

TEST(JsonErrorsTest, TooDeep) {
  // Deep nesting stops the reader at the limit, so it never recurses far.
  const size_t n = 100000;
  EXPECT_EQ(Faults(std::string(n, '[') + std::string(n, ']')),
            (Faults_{{"json.wrong-type", ""}, {"json.too-deep", ""}}));
  std::string nested = R"({"resourceType":"Patient","extension":)";
  for (int i = 0; i < 200; ++i) nested += R"([{"url":"http://x","extension":)";
  EXPECT_EQ(Faults(nested).back().id, "json.too-deep");

  std::string deep = R"({"resourceType":"Patient","extension":[{"url":"u","extension":)";
  deep += R"([{"url":"u","valueString":"x"}]}]})";
  EXPECT_EQ(Faults(deep, {.max_depth = 5}), Faults_{});
  const std::vector<Fault> too_deep = Faults(deep, {.max_depth = 4});
  ASSERT_EQ(too_deep.size(), 1u);
  EXPECT_EQ(too_deep[0], (Fault{"json.too-deep", "Patient.extension[0].extension"}));
}

TEST(JsonErrorsTest, MessagesDescribeTheRuleNotTheValue) {
  auto parsed = Parse(Patient(R"("birthDate":"secret-1970")"), testing_support::Definitions());
  ASSERT_FALSE(parsed.ok());
  const Issue& issue = parsed.error().issues().front();
  EXPECT_EQ(issue.message_id, "json.invalid-primitive");
  EXPECT_EQ(issue.text.find("secret"), std::string::npos);
  EXPECT_EQ(issue.type, IssueType::kValue);
}

}  // namespace
}  // namespace fhir::json
