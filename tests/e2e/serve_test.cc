// End-to-end: the real fhirhub binary, a real socket, a real HTTP client.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "fhir/json/json.h"
#include "fhir/xml/xml.h"
#include "tests/support/http_client.h"
#include "tests/support/server_process.h"
#include "tests/support/server_suite.h"
#include "tests/support/test_definitions.h"

namespace {

using testing_support::Answer;

Answer Get(int port, const std::string& uri, const std::string& accept = "") {
  std::map<std::string, std::string> headers;
  if (!accept.empty()) headers["Accept"] = accept;
  return testing_support::Call(port, "GET", uri, "", "", headers);
}

class ServeTest : public testing_support::ServerSuite<::testing::Test> {};

TEST_F(ServeTest, MetadataIsACapabilityStatementInJson) {
  ASSERT_TRUE(server().ok());
  Answer answer = Get(server().port(), "/fhir/metadata");
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(answer.Header("content-type"), "application/fhir+json; charset=utf-8");
  auto cs = fhir::json::Parse(answer.body, testing_support::Definitions());
  ASSERT_TRUE(cs.ok()) << answer.body;
  EXPECT_EQ(cs->resource_type(), "CapabilityStatement");
  EXPECT_EQ(cs->root()->Child("fhirVersion")->value, "4.0.1");
  EXPECT_EQ(cs->root()->Child("implementation")->Child("url")->value, server().base_url());
}

TEST_F(ServeTest, MetadataInXmlByAcceptAndByFormat) {
  ASSERT_TRUE(server().ok());
  for (const Answer& answer : {Get(server().port(), "/fhir/metadata", "application/fhir+xml"),
                               Get(server().port(), "/fhir/metadata?_format=xml")}) {
    EXPECT_EQ(answer.status, 200);
    EXPECT_EQ(answer.Header("content-type"), "application/fhir+xml; charset=utf-8");
    auto cs = fhir::xml::Parse(answer.body, testing_support::Definitions());
    ASSERT_TRUE(cs.ok()) << answer.body;
    EXPECT_EQ(cs->resource_type(), "CapabilityStatement");
  }
}

TEST_F(ServeTest, SummaryAndElementsShapeTheAnswer) {
  ASSERT_TRUE(server().ok());
  Answer answer = Get(server().port(), "/fhir/metadata?_elements=fhirVersion,format");
  ASSERT_EQ(answer.status, 200);
  auto cs = fhir::json::Parse(answer.body, testing_support::Definitions());
  ASSERT_TRUE(cs.ok()) << answer.body;
  EXPECT_NE(cs->root()->Child("fhirVersion"), nullptr);
  EXPECT_EQ(cs->root()->Child("software"), nullptr);
  EXPECT_NE(answer.body.find("SUBSETTED"), std::string::npos);

  Answer bad = Get(server().port(), "/fhir/metadata?_summary=maybe");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("summary.invalid"), std::string::npos);
}

TEST_F(ServeTest, HealthzAnswers) {
  ASSERT_TRUE(server().ok());
  Answer answer = Get(server().port(), "/healthz");
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(answer.body, "{\"status\":\"up\"}");
}

TEST_F(ServeTest, ErrorsAreOperationOutcomes) {
  ASSERT_TRUE(server().ok());
  struct Case {
    std::string uri;
    std::string accept;
    int status;
    std::string message_id;
  };
  for (const Case& c : std::vector<Case>{
           {"/fhir/Patient/1/extra", "", 404, "rest.unknown-path"},
           {"/elsewhere", "", 404, "http.outside-base"},
           {"/fhir/metadata", "text/html", 406, "http.not-acceptable"},
           {"/fhir/metadata?_format=turtle", "", 400, "http.format-unknown"},
           {"/fhir/metadata?mode=terminology", "", 501, "metadata.terminology-unsupported"},
       }) {
    Answer answer = Get(server().port(), c.uri, c.accept);
    EXPECT_EQ(answer.status, c.status) << c.uri;
    auto outcome = fhir::json::Parse(answer.body, testing_support::Definitions());
    ASSERT_TRUE(outcome.ok()) << answer.body;
    EXPECT_EQ(outcome->resource_type(), "OperationOutcome");
    EXPECT_NE(answer.body.find(c.message_id), std::string::npos) << answer.body;
  }
}

TEST(ServeStopTest, StopsCleanlyOnSigterm) {
  testing_support::ServerProcess server(FHIRHUB_BINARY,
                                        {"--fhir-package", testing_support::PackageDir().string()});
  ASSERT_TRUE(server.ok());
  EXPECT_EQ(server.Stop(), 0);
}

}  // namespace
