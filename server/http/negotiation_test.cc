#include "server/http/negotiation.h"

#include <gtest/gtest.h>

namespace server::http {
namespace {

Format Ok(fhir::Result<Format> result) {
  EXPECT_TRUE(result.ok());
  return result.ok() ? *result : Format::kJson;
}

TEST(NegotiationTest, DefaultsToJson) {
  EXPECT_EQ(Ok(ResponseFormat(std::nullopt, std::nullopt)), Format::kJson);
  EXPECT_EQ(Ok(ResponseFormat(std::nullopt, "*/*")), Format::kJson);
  EXPECT_EQ(Ok(ResponseFormat(std::nullopt, "")), Format::kJson);
}

TEST(NegotiationTest, FormatParameterWinsOverAccept) {
  EXPECT_EQ(Ok(ResponseFormat("xml", "application/fhir+json")), Format::kXml);
  EXPECT_EQ(Ok(ResponseFormat("application/fhir+json", "application/fhir+xml")), Format::kJson);
  // A '+' decoded from a query string becomes a space.
  EXPECT_EQ(Ok(ResponseFormat("application/fhir xml", std::nullopt)), Format::kXml);
  EXPECT_EQ(Ok(ResponseFormat("text/xml", std::nullopt)), Format::kXml);
}

TEST(NegotiationTest, UnknownFormatParameterIsInvalid) {
  auto result = ResponseFormat("turtle", std::nullopt);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().http_status(), 400);
  EXPECT_EQ(result.error().message_id(), "http.format-unknown");
  EXPECT_EQ(result.error().issues()[0].expression, "_format");
}

TEST(NegotiationTest, AcceptUsesQualityValues) {
  EXPECT_EQ(Ok(ResponseFormat(std::nullopt, "application/fhir+xml")), Format::kXml);
  EXPECT_EQ(
      Ok(ResponseFormat(std::nullopt, "application/fhir+json;q=0.5, application/fhir+xml;q=0.9")),
      Format::kXml);
  EXPECT_EQ(Ok(ResponseFormat(std::nullopt, "text/html, application/xml;q=0.8, */*;q=0.1")),
            Format::kXml);
  EXPECT_EQ(Ok(ResponseFormat(std::nullopt, "application/fhir+json; fhirVersion=4.0")),
            Format::kJson);
}

TEST(NegotiationTest, NothingAcceptableIs406) {
  auto result = ResponseFormat(std::nullopt, "text/html, image/png");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().http_status(), 406);
}

TEST(NegotiationTest, RequestBodyFormat) {
  EXPECT_EQ(Ok(RequestFormat("application/fhir+json; charset=UTF-8")), Format::kJson);
  EXPECT_EQ(Ok(RequestFormat("Application/FHIR+XML")), Format::kXml);
  auto result = RequestFormat("text/plain");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().http_status(), 415);
}

TEST(NegotiationTest, OtherFhirVersionsAreNotServed) {
  EXPECT_EQ(Ok(ResponseFormat(std::nullopt, "application/fhir+json; fhirVersion=4.0.1")),
            Format::kJson);
  EXPECT_EQ(Ok(ResponseFormat(std::nullopt,
                              "application/fhir+xml; fhirVersion=3.0, application/fhir+json")),
            Format::kJson);
  auto stu3 = ResponseFormat(std::nullopt, "application/fhir+json; fhirVersion=3.0");
  ASSERT_FALSE(stu3.ok());
  EXPECT_EQ(stu3.error().http_status(), 406);
  auto body = RequestFormat("application/fhir+json; fhirVersion=\"5.0\"");
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.error().http_status(), 415);
  EXPECT_EQ(body.error().message_id(), "http.unsupported-fhir-version");
  EXPECT_EQ(Ok(RequestFormat("application/fhir+json;fhirVersion=4.0")), Format::kJson);
}

}  // namespace
}  // namespace server::http
