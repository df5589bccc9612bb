#include "server/rest/interaction_support.h"

#include <gtest/gtest.h>

#include <set>

#include "fhir/json/json.h"
#include "fhir/model/primitive.h"
#include "tests/support/test_definitions.h"
#include "tests/support/test_registry.h"

namespace server::rest {
namespace {

using std::chrono::microseconds;

FhirRequest WithHeader(std::string name, std::string value) {
  FhirRequest request;
  request.headers.emplace_back(std::move(name), std::move(value));
  return request;
}

TEST(InteractionSupportTest, FormatsInstantsWithMicroseconds) {
  const store::Timestamp t{microseconds(1'700'000'000'123'456)};
  EXPECT_EQ(FormatInstant(t), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(FormatHttpDate(t), "Tue, 14 Nov 2023 22:13:20 GMT");
}

TEST(InteractionSupportTest, JsonStringsEscapeWhatJsonMustAndKeepTheRest) {
  EXPECT_EQ(JsonString("a\"b\\c"), R"("a\"b\\c")");
  // A control character in a search link or an outcome's text is kept, escaped, not dropped.
  EXPECT_EQ(JsonString(std::string("x\ny\x01z", 5)), R"("x\ny\u0001z")");
  EXPECT_EQ(JsonString("张三"), "\"张三\"");
}

TEST(InteractionSupportTest, ReadsIfMatchVersions) {
  EXPECT_EQ(*ParseIfMatch(WithHeader("if-match", "W/\"3\"")).value(), 3);
  EXPECT_EQ(*ParseIfMatch(WithHeader("if-match", "\"12\"")).value(), 12);
  EXPECT_FALSE(ParseIfMatch(FhirRequest{}).value().has_value());
  for (const char* bad : {"W/\"x\"", "", "W/\"0\"", "\"3"}) {
    auto parsed = ParseIfMatch(WithHeader("if-match", bad));
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().message_id(), "rest.invalid-if-match");
    EXPECT_EQ(parsed.error().http_status(), 400);
  }
}

TEST(InteractionSupportTest, ReadsReturnPreference) {
  EXPECT_EQ(ParseReturnPreference(FhirRequest{}), ReturnPreference::kRepresentation);
  EXPECT_EQ(ParseReturnPreference(WithHeader("prefer", "return=minimal")),
            ReturnPreference::kMinimal);
  EXPECT_EQ(ParseReturnPreference(WithHeader("prefer", "handling=strict; return=OperationOutcome")),
            ReturnPreference::kOperationOutcome);
  EXPECT_EQ(ParseReturnPreference(WithHeader("prefer", "return=representation")),
            ReturnPreference::kRepresentation);
}

TEST(InteractionSupportTest, RandomIdsAreDistinctFhirIds) {
  RandomIdGenerator ids;
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string id = ids.NewId();
    EXPECT_EQ(id.size(), 36u);
    EXPECT_TRUE(fhir::model::IsValidPrimitive(fhir::model::PrimitiveKind::kId, id)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(InteractionSupportTest, RenderReplacesIdAndMetaAndIndexesTheResult) {
  auto patient = fhir::json::Parse(
      R"({"resourceType":"Patient","id":"old","meta":{"versionId":"9","lastUpdated":"2020-01-01T00:00:00Z","source":"s"},"active":true})",
      testing_support::Definitions());
  ASSERT_TRUE(patient.ok());
  const store::VersionStamp stamp{2, store::Timestamp{microseconds(1'700'000'000'000'000)}};
  const search::Registry& registry = testing_support::SearchRegistry();
  auto rendered = RenderForStore(*patient, "new", stamp, registry);
  ASSERT_TRUE(rendered.ok());
  EXPECT_EQ(rendered->json,
            R"({"resourceType":"Patient","id":"new","meta":{"versionId":"2",)"
            R"("lastUpdated":"2023-11-14T22:13:20.000000Z","source":"s"},"active":true})");
  // The rows come from the rendered resource: meta.source as it stands, active as a token.
  std::set<std::pair<std::string, std::string>> tokens;
  for (const auto& row : rendered->index.tokens) tokens.emplace(row.param, row.code);
  EXPECT_TRUE(tokens.contains({"active", "true"}));
  std::set<std::pair<std::string, std::string>> uris;
  for (const auto& row : rendered->index.uris) uris.emplace(row.param, row.value);
  EXPECT_TRUE(uris.contains({"_source", "s"}));
  auto bare = fhir::json::Parse(R"({"resourceType":"Basic","code":{"text":"x"}})",
                                testing_support::Definitions());
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(RenderForStore(*bare, "b1", stamp, registry)->json,
            R"({"resourceType":"Basic","id":"b1","meta":{"versionId":"2",)"
            R"("lastUpdated":"2023-11-14T22:13:20.000000Z"},"code":{"text":"x"}})");
}

}  // namespace
}  // namespace server::rest
