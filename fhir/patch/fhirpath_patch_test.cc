#include "fhir/patch/fhirpath_patch.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "fhir/json/json.h"
#include "tests/support/test_definitions.h"

namespace fhir::patch {
namespace {

// One operation parameter: type, path and further parts given as JSON.
std::string Op(std::string_view type, std::string_view path, std::string_view parts = "") {
  std::string out = R"({"name":"operation","part":[{"name":"type","valueCode":")" +
                    std::string(type) + R"("},{"name":"path","valueString":")" + std::string(path) +
                    "\"}";
  if (!parts.empty()) out += "," + std::string(parts);
  return out + "]}";
}

std::string Params(std::initializer_list<std::string> ops) {
  std::string out = R"({"resourceType":"Parameters","parameter":[)";
  bool first = true;
  for (const std::string& op : ops) {
    if (!first) out += ",";
    first = false;
    out += op;
  }
  return out + "]}";
}

Resource Read(std::string_view json) {
  auto parsed = json::Parse(json, testing_support::Definitions());
  EXPECT_TRUE(parsed.ok()) << json << "\n" << (parsed.ok() ? "" : parsed.error().text());
  return parsed.ok() ? std::move(parsed).value() : Resource();
}

// The patched resource as JSON, or "<status> <message id> <expression>" of the error.
std::string Patch(std::string_view resource, const std::string& patch) {
  Resource input = Read(resource);
  Resource parameters = Read(patch);
  auto result = ApplyFhirPathPatch(input, parameters, testing_support::Definitions());
  if (result.ok()) return json::Write(*result);
  const Issue& issue = result.error().issues().front();
  return std::to_string(result.error().http_status()) + " " + issue.message_id + " " +
         issue.expression;
}

constexpr std::string_view kPatient =
    R"({"resourceType":"Patient","id":"p1","identifier":[{"value":"a"},{"value":"b"}],)"
    R"("gender":"male","birthDate":"1970-01-01","_birthDate":{"extension":[{"url":"http://x",)"
    R"("valueString":"e"}]}})";

TEST(FhirPathPatchTest, AddsChoiceElementsByEitherName) {
  EXPECT_EQ(Patch(R"({"resourceType":"Patient"})",
                  Params({Op("add", "Patient",
                             R"({"name":"name","valueString":"deceased"},)"
                             R"({"name":"value","valueBoolean":true})")})),
            R"({"resourceType":"Patient","deceasedBoolean":true})");
  EXPECT_EQ(Patch(R"({"resourceType":"Patient"})",
                  Params({Op("add", "Patient",
                             R"({"name":"name","valueString":"deceasedDateTime"},)"
                             R"({"name":"value","valueDateTime":"2020"})")})),
            R"({"resourceType":"Patient","deceasedDateTime":"2020"})");
  EXPECT_EQ(Patch(R"({"resourceType":"Patient"})",
                  Params({Op("add", "Patient",
                             R"({"name":"name","valueString":"deceasedDateTime"},)"
                             R"({"name":"value","valueBoolean":true})")})),
            "422 patch.failed Parameters.parameter[0]");
}

TEST(FhirPathPatchTest, ConvertsPrimitiveTextToTheElementsType) {
  EXPECT_EQ(Patch(kPatient, Params({Op("replace", "Patient.gender",
                                       R"({"name":"value","valueString":"female"})")})),
            R"({"resourceType":"Patient","id":"p1","identifier":[{"value":"a"},{"value":"b"}],)"
            R"("gender":"female","birthDate":"1970-01-01","_birthDate":{"extension":[{"url":)"
            R"("http://x","valueString":"e"}]}})");
  EXPECT_EQ(Patch(kPatient, Params({Op("replace", "Patient.birthDate",
                                       R"({"name":"value","valueString":"not a date"})")})),
            "422 patch.failed Parameters.parameter[0]");
  EXPECT_EQ(Patch(kPatient, Params({Op("replace", "Patient.birthDate",
                                       R"({"name":"value","valueBoolean":false})")})),
            "422 patch.failed Parameters.parameter[0]");
  EXPECT_EQ(
      Patch(kPatient,
            Params({Op("replace", "Patient.gender", R"({"name":"value","valueBoolean":true})")})),
      "422 patch.failed Parameters.parameter[0]");
  EXPECT_EQ(Patch(kPatient, Params({Op("replace", "Patient.identifier[0].value",
                                       R"({"name":"value","valueInteger":7})")})),
            "422 patch.failed Parameters.parameter[0]");
  const std::string narrative = R"({"resourceType":"Patient","text":{"status":"generated",)"
                                R"("div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">a</div>"}})";
  EXPECT_EQ(Patch(narrative, Params({Op("replace", "Patient.text.div",
                                        R"({"name":"value","valueString":)"
                                        R"("<div xmlns='http://www.w3.org/1999/xhtml'>)"
                                        R"(<p>b</p></div>"})")})),
            R"({"resourceType":"Patient","text":{"status":"generated",)"
            R"("div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>b</p></div>"}})");
  EXPECT_EQ(Patch(narrative, Params({Op("replace", "Patient.text.div",
                                        R"({"name":"value","valueString":"<div>unclosed"})")})),
            "422 patch.failed Parameters.parameter[0]");
}

TEST(FhirPathPatchTest, ReplacingAPrimitiveKeepsItsExtensions) {
  EXPECT_EQ(
      Patch(kPatient,
            Params({Op("replace", "Patient.birthDate", R"({"name":"value","valueDate":"1980"})"),
                    Op("delete", "Patient.identifier[1]"), Op("delete", "Patient.gender")})),
      R"({"resourceType":"Patient","id":"p1","identifier":[{"value":"a"}],)"
      R"("birthDate":"1980","_birthDate":{"extension":[{"url":"http://x",)"
      R"("valueString":"e"}]}})");
}

TEST(FhirPathPatchTest, InsertsAndMovesWithinBounds) {
  const std::string value = R"({"name":"value","valueIdentifier":{"value":"c"}})";
  EXPECT_EQ(Patch(kPatient, Params({Op("insert", "Patient.identifier",
                                       value + R"(,{"name":"index","valueInteger":2})"),
                                    Op("move", "Patient.identifier",
                                       R"({"name":"source","valueInteger":2},)"
                                       R"({"name":"destination","valueInteger":0})"),
                                    Op("delete", "Patient.birthDate")})),
            R"({"resourceType":"Patient","id":"p1","identifier":[{"value":"c"},{"value":"a"},)"
            R"({"value":"b"}],"gender":"male"})");
  EXPECT_EQ(Patch(kPatient, Params({Op("insert", "Patient.identifier",
                                       value + R"(,{"name":"index","valueInteger":3})")})),
            "422 patch.failed Parameters.parameter[0]");
  EXPECT_EQ(Patch(kPatient, Params({Op("move", "Patient.identifier",
                                       R"({"name":"source","valueInteger":0},)"
                                       R"({"name":"destination","valueInteger":2})")})),
            "422 patch.failed Parameters.parameter[0]");
  EXPECT_EQ(Patch(kPatient, Params({Op("insert", "Patient.gender",
                                       R"({"name":"value","valueCode":"other"},)"
                                       R"({"name":"index","valueInteger":0})")})),
            "422 patch.failed Parameters.parameter[0]");
  // An empty list is found through the path's last step.
  EXPECT_EQ(Patch(R"({"resourceType":"Patient"})",
                  Params({Op("insert", "Patient.identifier",
                             value + R"(,{"name":"index","valueInteger":0})")})),
            R"({"resourceType":"Patient","identifier":[{"value":"c"}]})");
}

TEST(FhirPathPatchTest, PathsMustSelectWhatTheOperationNeeds) {
  const std::string gender = R"({"name":"name","valueString":"gender"},)"
                             R"({"name":"value","valueCode":"other"})";
  EXPECT_EQ(Patch(kPatient, Params({Op("add", "Patient", gender)})),
            "422 patch.failed Parameters.parameter[0]");  // gender does not repeat
  EXPECT_EQ(Patch(kPatient, Params({Op("add", "Patient.identifier",
                                       R"({"name":"name","valueString":"system"},)"
                                       R"({"name":"value","valueUri":"urn:x"})")})),
            "422 patch.failed Parameters.parameter[0]");  // two identifiers
  EXPECT_EQ(Patch(kPatient, Params({Op("add", "Patient",
                                       R"({"name":"name","valueString":"x"},)"
                                       R"({"name":"value","valueCode":"y"})")})),
            "422 patch.failed Parameters.parameter[0]");  // no such element
  EXPECT_EQ(Patch(kPatient, Params({Op("delete", "Patient.identifier")})),
            "422 patch.failed Parameters.parameter[0]");
  EXPECT_EQ(Patch(kPatient, Params({Op("delete", "Patient")})),
            "422 patch.failed Parameters.parameter[0]");
  EXPECT_EQ(
      Patch(kPatient, Params({Op("replace", "Patient.maritalStatus",
                                 R"({"name":"value","valueCodeableConcept":{"text":"x"}})")})),
      "422 patch.failed Parameters.parameter[0]");
  EXPECT_EQ(Patch(kPatient, Params({Op("replace", "Patient.identifier.count()",
                                       R"({"name":"value","valueInteger":1})")})),
            "422 patch.failed Parameters.parameter[0]");
  EXPECT_EQ(Patch(kPatient, Params({Op("delete", "Patient.contact"), Op("delete", "Patient.id")})),
            R"({"resourceType":"Patient","identifier":[{"value":"a"},{"value":"b"}],)"
            R"("gender":"male","birthDate":"1970-01-01","_birthDate":{"extension":[{"url":)"
            R"("http://x","valueString":"e"}]}})");
}

TEST(FhirPathPatchTest, AddsBackboneElementsFromPartsAndContainedResources) {
  EXPECT_EQ(Patch(R"({"resourceType":"Patient"})",
                  Params({Op("add", "Patient",
                             R"({"name":"name","valueString":"contact"},)"
                             R"({"name":"value","part":[{"name":"gender","valueCode":"female"},)"
                             R"({"name":"name","valueHumanName":{"family":"F"}}]})"),
                          Op("add", "Patient",
                             R"({"name":"name","valueString":"contained"},)"
                             R"({"name":"value","resource":{"resourceType":"Organization",)"
                             R"("id":"o1","name":"O"}})")})),
            R"({"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o1",)"
            R"("name":"O"}],"contact":[{"name":{"family":"F"},"gender":"female"}]})");
  EXPECT_EQ(Patch(R"({"resourceType":"Patient"})",
                  Params({Op("add", "Patient",
                             R"({"name":"name","valueString":"contact"},)"
                             R"({"name":"value","part":[{"name":"colour","valueCode":"red"}]})")})),
            "422 patch.failed Parameters.parameter[0]");
}

TEST(FhirPathPatchTest, MalformedPatchesAre400) {
  auto fault = [](const std::string& patch) {
    return Patch(R"({"resourceType":"Patient"})", patch);
  };
  EXPECT_EQ(Patch(R"({"resourceType":"Patient"})", R"({"resourceType":"Patient"})"),
            "400 patch.invalid ");
  EXPECT_EQ(fault(R"({"resourceType":"Parameters","parameter":[{"name":"op"}]})"),
            "400 patch.invalid Parameters.parameter[0].name");
  EXPECT_EQ(fault(Params({Op("upsert", "Patient")})),
            "400 patch.invalid Parameters.parameter[0].part[0]");
  EXPECT_EQ(fault(Params({Op("delete", "Patient.name", R"({"name":"colour","valueString":"x"})")})),
            "400 patch.invalid Parameters.parameter[0].part[2]");
  EXPECT_EQ(fault(Params({Op("delete", "Patient.name", R"({"name":"path","valueString":"x"})")})),
            "400 patch.invalid Parameters.parameter[0].part[2]");
  EXPECT_EQ(fault(Params({Op("delete", "Patient.name.where(")})),
            "400 patch.invalid Parameters.parameter[0]");
  EXPECT_EQ(fault(Params({Op("add", "Patient", R"({"name":"value","valueCode":"x"})")})),
            "400 patch.invalid Parameters.parameter[0]");  // no name
  EXPECT_EQ(fault(Params({Op("delete", "Patient.name", R"({"name":"index","valueInteger":0})")})),
            "400 patch.invalid Parameters.parameter[0]");  // index does not apply
  EXPECT_EQ(fault(Params({Op("insert", "Patient.name",
                             R"({"name":"index","valueString":"0"},)"
                             R"({"name":"value","valueString":"x"})")})),
            "400 patch.invalid Parameters.parameter[0].part[2]");
  EXPECT_EQ(fault(Params(
                {Op("replace", "Patient.gender",
                    R"({"name":"value","valueCode":"x","part":[{"name":"a","valueCode":"b"}]})")})),
            "400 patch.invalid Parameters.parameter[0].part[2]");
  // Every operation is read before any applies, so a malformed later one is a 400 even when an
  // earlier one would apply.
  EXPECT_EQ(fault(Params({Op("delete", "Patient.identifier[5]"), Op("move", "Patient.name")})),
            "400 patch.invalid Parameters.parameter[1]");
}

TEST(FhirPathPatchTest, AnEmptyPatchChangesNothingAndTheInputIsUntouched) {
  Resource input = Read(kPatient);
  const std::string before = json::Write(input);
  auto same = ApplyFhirPathPatch(input, Read(R"({"resourceType":"Parameters"})"),
                                 testing_support::Definitions());
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(json::Write(*same), before);
  auto changed = ApplyFhirPathPatch(input, Read(Params({Op("delete", "Patient.gender")})),
                                    testing_support::Definitions());
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(json::Write(input), before);
  EXPECT_NE(json::Write(*changed), before);
}

}  // namespace
}  // namespace fhir::patch
