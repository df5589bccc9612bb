#include "fhir/patch/json_patch.h"

#include <gtest/gtest.h>

#include <string>

#include "fhir/json/json.h"
#include "tests/support/test_definitions.h"

namespace fhir::patch {
namespace {

std::string Apply(std::string_view doc, std::string_view patch) {
  auto result = ApplyJsonPatchToJson(doc, patch);
  if (!result.ok()) return "error " + result.error().message_id() + " " + result.error().text();
  return *result;
}

// "status message-id expression" of the error, or "ok".
std::string Fault(std::string_view doc, std::string_view patch) {
  auto result = ApplyJsonPatchToJson(doc, patch);
  if (result.ok()) return "ok";
  const Issue& issue = result.error().issues().front();
  return std::to_string(result.error().http_status()) + " " + issue.message_id + " " +
         issue.expression;
}

TEST(JsonPatchTest, KeepsNumbersAsWritten) {
  EXPECT_EQ(Apply(R"({"a":1.50,"b":[1e2]})", R"([{"op":"add","path":"/c","value":2.0}])"),
            R"({"a":1.50,"b":[1e2],"c":2.0})");
}

TEST(JsonPatchTest, EscapedPointersAndArrayEnd) {
  EXPECT_EQ(Apply(R"({"a/b":{"~":[1]}})", R"([{"op":"add","path":"/a~1b/~0/-","value":2},)"
                                          R"({"op":"add","path":"/a~1b/~0/0","value":0}])"),
            R"({"a/b":{"~":[0,1,2]}})");
  EXPECT_EQ(Apply(R"({"":1})", R"([{"op":"replace","path":"/","value":2}])"), R"({"":2})");
}

TEST(JsonPatchTest, MoveCopyRemoveAndWholeDocument) {
  EXPECT_EQ(Apply(R"({"a":[1,2,3],"b":{}})", R"([{"op":"move","from":"/a/0","path":"/b/x"},)"
                                             R"({"op":"copy","from":"/a","path":"/b/y"},)"
                                             R"({"op":"remove","path":"/a/1"}])"),
            R"({"a":[2],"b":{"x":1,"y":[2,3]}})");
  EXPECT_EQ(Apply(R"({"a":1})", R"([{"op":"replace","path":"","value":[true,null]}])"),
            "[true,null]");
  EXPECT_EQ(Apply(R"({"a":1})", R"([{"op":"move","from":"/a","path":"/a"}])"), R"({"a":1})");
}

TEST(JsonPatchTest, TestComparesByValue) {
  EXPECT_EQ(Fault(R"({"n":1,"o":{"a":1,"b":[2.0]}})",
                  R"([{"op":"test","path":"/n","value":1.0},)"
                  R"({"op":"test","path":"/n","value":10e-1},)"
                  R"({"op":"test","path":"/o","value":{"b":[2],"a":1}}])"),
            "ok");
  EXPECT_EQ(Fault(R"({"n":1})", R"([{"op":"test","path":"/n","value":"1"}])"),
            "422 patch.failed /0");
  EXPECT_EQ(Fault(R"({"o":{"a":1}})", R"([{"op":"test","path":"/o","value":{"a":1,"b":2}}])"),
            "422 patch.failed /0");
  EXPECT_EQ(Fault(R"({"n":0})", R"([{"op":"test","path":"/n","value":-0.0}])"), "ok");
}

TEST(JsonPatchTest, MalformedPatchesAre400WithTheirLocation) {
  const std::string doc = R"({"a":[1]})";
  EXPECT_EQ(Fault(doc, "[{"), "400 patch.invalid ");
  EXPECT_EQ(Fault(doc, R"({"op":"add"})"), "400 patch.invalid ");
  EXPECT_EQ(Fault(doc, R"([1])"), "400 patch.invalid /0");
  EXPECT_EQ(Fault(doc, R"([{"op":"test","path":"/a","value":[1]},{"op":"merge","path":"/a"}])"),
            "400 patch.invalid /1/op");
  EXPECT_EQ(Fault(doc, R"([{"path":"/a"}])"), "400 patch.invalid /0/op");
  EXPECT_EQ(Fault(doc, R"([{"op":"remove"}])"), "400 patch.invalid /0/path");
  EXPECT_EQ(Fault(doc, R"([{"op":"remove","path":5}])"), "400 patch.invalid /0/path");
  EXPECT_EQ(Fault(doc, R"([{"op":"remove","path":"a"}])"), "400 patch.invalid /0/path");
  EXPECT_EQ(Fault(doc, R"([{"op":"remove","path":"/~2"}])"), "400 patch.invalid /0/path");
  EXPECT_EQ(Fault(doc, R"([{"op":"remove","path":"/a~"}])"), "400 patch.invalid /0/path");
  EXPECT_EQ(Fault(doc, R"([{"op":"add","path":"/b"}])"), "400 patch.invalid /0/value");
  EXPECT_EQ(Fault(doc, R"([{"op":"copy","path":"/b"}])"), "400 patch.invalid /0/from");
  EXPECT_EQ(Fault(doc, R"([{"op":"move","from":"/a","path":"/a/0"}])"),
            "400 patch.invalid /0/from");
  // A malformed later operation is reported even when an earlier one would fail.
  EXPECT_EQ(Fault(doc, R"([{"op":"remove","path":"/zz"},{"op":"add","path":"/b"}])"),
            "400 patch.invalid /1/value");
}

TEST(JsonPatchTest, OperationsThatCannotApplyAre422WithTheirIndex) {
  const std::string doc = R"({"a":[1,2],"s":"x"})";
  EXPECT_EQ(Fault(doc, R"([{"op":"remove","path":"/a/0"},{"op":"remove","path":"/b"}])"),
            "422 patch.failed /1");
  EXPECT_EQ(Fault(doc, R"([{"op":"remove","path":"/a/2"}])"), "422 patch.failed /0");
  EXPECT_EQ(Fault(doc, R"([{"op":"remove","path":"/a/-"}])"), "422 patch.failed /0");
  EXPECT_EQ(Fault(doc, R"([{"op":"remove","path":"/a/01"}])"), "422 patch.failed /0");
  EXPECT_EQ(Fault(doc, R"([{"op":"add","path":"/a/3","value":0}])"), "422 patch.failed /0");
  EXPECT_EQ(Fault(doc, R"([{"op":"add","path":"/s/x","value":0}])"), "422 patch.failed /0");
  EXPECT_EQ(Fault(doc, R"([{"op":"replace","path":"/b","value":0}])"), "422 patch.failed /0");
  EXPECT_EQ(Fault(doc, R"([{"op":"move","from":"/b","path":"/c"}])"), "422 patch.failed /0");
  EXPECT_EQ(Fault(doc, R"([{"op":"copy","from":"/a/9","path":"/c"}])"), "422 patch.failed /0");
  EXPECT_EQ(Fault(doc, R"([{"op":"remove","path":""}])"), "422 patch.failed /0");
  auto failed = ApplyJsonPatchToJson(doc, R"([{"op":"test","path":"/s","value":"y"}])");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().text(),
            "JSON Patch operation 0 (test) failed: the value at /s is not the value tested for");
  EXPECT_EQ(Fault("{", "[]"), "422 patch.invalid-document ");
  // Each copy doubles the array (17 values at first): the copies pass a million values in all
  // at operation 15.
  std::string doubling = "[";
  for (int i = 0; i < 25; ++i) {
    doubling += std::string(i == 0 ? "" : ",") + R"({"op":"copy","from":"/a","path":"/a/-"})";
  }
  auto grown =
      ApplyJsonPatchToJson(R"({"a":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]})", doubling + "]");
  ASSERT_FALSE(grown.ok());
  EXPECT_EQ(grown.error().message_id(), "patch.failed");
  EXPECT_EQ(grown.error().issues().front().expression, "/15");
}

TEST(JsonPatchTest, PatchesAFhirResource) {
  const auto& defs = testing_support::Definitions();
  const std::string patient =
      R"({"resourceType":"Patient","id":"p1","gender":"male","name":[{"family":"A"}]})";
  auto patched = ApplyJsonPatch(patient,
                                R"([{"op":"replace","path":"/gender","value":"female"},)"
                                R"({"op":"add","path":"/name/0/given","value":["B"]}])",
                                defs);
  ASSERT_TRUE(patched.ok()) << patched.error().text();
  EXPECT_EQ(json::Write(*patched),
            R"({"resourceType":"Patient","id":"p1","name":[{"family":"A","given":["B"]}],)"
            R"("gender":"female"})");
}

TEST(JsonPatchTest, AnInvalidResultIs422WithEveryFault) {
  const auto& defs = testing_support::Definitions();
  auto patched = ApplyJsonPatch(R"({"resourceType":"Patient","id":"p1"})",
                                R"([{"op":"add","path":"/colour","value":"blue"},)"
                                R"({"op":"add","path":"/birthDate","value":"yesterday"}])",
                                defs);
  ASSERT_FALSE(patched.ok());
  EXPECT_EQ(patched.error().http_status(), 422);
  ASSERT_EQ(patched.error().issues().size(), 2u);
  EXPECT_EQ(patched.error().issues()[0].message_id, "json.unknown-element");
  EXPECT_EQ(patched.error().issues()[1].message_id, "json.invalid-primitive");
  EXPECT_EQ(patched.error().issues()[1].expression, "Patient.birthDate");

  auto not_a_resource = ApplyJsonPatch(R"({"resourceType":"Patient"})",
                                       R"([{"op":"remove","path":"/resourceType"}])", defs);
  ASSERT_FALSE(not_a_resource.ok());
  EXPECT_EQ(not_a_resource.error().http_status(), 422);
  EXPECT_EQ(not_a_resource.error().message_id(), "json.missing-resource-type");
}

}  // namespace
}  // namespace fhir::patch
