// End-to-end: create, read, vread, update, delete and instance history against the real fhirhub
// binary over a real socket, in JSON and XML, with the HTTP headers integrators rely on.
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

constexpr char kJson[] = "application/fhir+json";
constexpr char kXml[] = "application/fhir+xml";

using testing_support::Answer;
using testing_support::Call;

class CrudTest : public testing_support::ServerSuite<::testing::Test> {};

TEST_F(CrudTest, CreateReadUpdateDeleteInJson) {
  ASSERT_TRUE(server().ok());
  Answer created = Call(Port(), "POST", "/fhir/Patient",
                        R"({"resourceType":"Patient","name":[{"family":"Wang"}]})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string location = created.Header("location");
  const std::string prefix = server().base_url() + "/Patient/";
  ASSERT_EQ(location.rfind(prefix, 0), 0u) << location;
  const std::string id =
      location.substr(prefix.size(), location.find('/', prefix.size()) - prefix.size());
  EXPECT_EQ(location, prefix + id + "/_history/1");
  EXPECT_EQ(created.Header("etag"), "W/\"1\"");
  EXPECT_FALSE(created.Header("last-modified").empty());
  auto resource = fhir::json::Parse(created.body, testing_support::Definitions());
  ASSERT_TRUE(resource.ok()) << created.body;
  EXPECT_EQ(resource->root()->Child("id")->value, id);
  EXPECT_EQ(resource->root()->Child("meta")->Child("versionId")->value, "1");

  Answer read = Call(Port(), "GET", "/fhir/Patient/" + id);
  EXPECT_EQ(read.status, 200);
  EXPECT_EQ(read.body, created.body);
  EXPECT_EQ(read.Header("etag"), "W/\"1\"");
  Answer head = Call(Port(), "HEAD", "/fhir/Patient/" + id);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("etag"), "W/\"1\"");
  EXPECT_TRUE(head.body.empty());

  const std::string update =
      R"({"resourceType":"Patient","id":")" + id + R"(","name":[{"family":"Li"}]})";
  Answer stale =
      Call(Port(), "PUT", "/fhir/Patient/" + id, update, kJson, {{"If-Match", "W/\"7\""}});
  EXPECT_EQ(stale.status, 412);
  EXPECT_NE(stale.body.find("store.version-conflict"), std::string::npos);
  Answer updated = Call(Port(), "PUT", "/fhir/Patient/" + id, update, kJson,
                        {{"If-Match", "W/\"1\""}, {"Prefer", "return=minimal"}});
  EXPECT_EQ(updated.status, 200);
  EXPECT_EQ(updated.Header("etag"), "W/\"2\"");
  EXPECT_TRUE(updated.body.empty());

  Answer v1 = Call(Port(), "GET", "/fhir/Patient/" + id + "/_history/1");
  EXPECT_EQ(v1.status, 200);
  EXPECT_NE(v1.body.find("Wang"), std::string::npos);

  Answer deleted = Call(Port(), "DELETE", "/fhir/Patient/" + id);
  EXPECT_EQ(deleted.status, 204);
  Answer gone = Call(Port(), "GET", "/fhir/Patient/" + id);
  EXPECT_EQ(gone.status, 410);
  EXPECT_NE(gone.body.find("rest.deleted"), std::string::npos);

  Answer history = Call(Port(), "GET", "/fhir/Patient/" + id + "/_history");
  ASSERT_EQ(history.status, 200);
  auto bundle = fhir::json::Parse(history.body, testing_support::Definitions());
  ASSERT_TRUE(bundle.ok()) << history.body;
  EXPECT_EQ(bundle->root()->Child("type")->value, "history");
  EXPECT_EQ(bundle->root()->Children("entry").size(), 3u);
}

TEST_F(CrudTest, CreateOnUpdateInXml) {
  ASSERT_TRUE(server().ok());
  const std::string xml =
      R"(<Patient xmlns="http://hl7.org/fhir"><id value="xml-1"/><active value="true"/></Patient>)";
  Answer created = Call(Port(), "PUT", "/fhir/Patient/xml-1", xml, kXml, {{"Accept", kXml}});
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.Header("location"), server().base_url() + "/Patient/xml-1/_history/1");
  auto resource = fhir::xml::Parse(created.body, testing_support::Definitions());
  ASSERT_TRUE(resource.ok()) << created.body;
  EXPECT_EQ(resource->root()->Child("meta")->Child("versionId")->value, "1");
}

TEST_F(CrudTest, BadRequestsAreOperationOutcomes) {
  ASSERT_TRUE(server().ok());
  Answer malformed = Call(Port(), "POST", "/fhir/Patient",
                          R"({"resourceType":"Patient","bogus":1,"active":"yes"})");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_NE(malformed.body.find("json.unknown-element"), std::string::npos) << malformed.body;
  EXPECT_NE(malformed.body.find("json.wrong-type"), std::string::npos) << malformed.body;

  Answer bad_xml = Call(Port(), "POST", "/fhir/Patient",
                        R"(<Patient xmlns="http://hl7.org/fhir"><bogus/></Patient>)", kXml);
  EXPECT_EQ(bad_xml.status, 400);
  EXPECT_NE(bad_xml.body.find("OperationOutcome"), std::string::npos) << bad_xml.body;

  Answer media = Call(Port(), "POST", "/fhir/Patient", "name=x", "text/plain");
  EXPECT_EQ(media.status, 415);
  EXPECT_NE(media.body.find("http.unsupported-media-type"), std::string::npos) << media.body;

  Answer mismatch =
      Call(Port(), "PUT", "/fhir/Patient/a", R"({"resourceType":"Patient","id":"b"})");
  EXPECT_EQ(mismatch.status, 400);
  EXPECT_NE(mismatch.body.find("rest.id-mismatch"), std::string::npos);

  Answer unknown = Call(Port(), "GET", "/fhir/Patient/never-created");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(unknown.body.find("OperationOutcome"), std::string::npos);
}

TEST_F(CrudTest, MetadataListsTheInteractions) {
  ASSERT_TRUE(server().ok());
  Answer metadata = Call(Port(), "GET", "/fhir/metadata?_elements=rest");
  ASSERT_EQ(metadata.status, 200);
  for (const char* code :
       {"\"read\"", "\"vread\"", "\"create\"", "\"update\"", "\"delete\"", "\"history-instance\"",
        "\"history-type\"", "\"history-system\"", "\"Observation\""}) {
    EXPECT_NE(metadata.body.find(code), std::string::npos) << code;
  }
}

TEST(CrudLimitTest, OversizedBodyIs413) {
  testing_support::ServerProcess server(
      FHIRHUB_BINARY,
      {"--fhir-package", testing_support::PackageDir().string(), "--max-body-bytes", "1000"});
  ASSERT_TRUE(server.ok());
  const std::string big =
      R"({"resourceType":"Basic","code":{"text":")" + std::string(2000, 'x') + R"("}})";
  Answer refused = Call(server.port(), "POST", "/fhir/Basic", big);
  EXPECT_EQ(refused.status, 413);
  EXPECT_NE(refused.body.find("http.body-too-large"), std::string::npos) << refused.body;
  Answer small =
      Call(server.port(), "POST", "/fhir/Basic", R"({"resourceType":"Basic","code":{"text":"x"}})");
  EXPECT_EQ(small.status, 201) << small.body;
}

}  // namespace
