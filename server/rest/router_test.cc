#include "server/rest/router.h"

#include <gtest/gtest.h>

#include "server/rest/capabilities_handler.h"
#include "tests/support/test_definitions.h"

namespace server::rest {
namespace {

FhirRequest Get(std::string path) {
  FhirRequest request;
  request.path = std::move(path);
  return request;
}

std::string_view FirstMessageId(const FhirResponse& response) {
  return response.body->root()
      ->Child("issue")
      ->Child("details")
      ->Child("coding")
      ->Child("code")
      ->value;
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() : router_(testing_support::Definitions()) {
    router_.Add(Method::kGet, "{type}/{id}", [](const FhirRequest&, const PathParams& params) {
      FhirResponse response;
      response.headers.emplace_back("x-matched", params.at("type") + "/" + params.at("id"));
      return fhir::Result<FhirResponse>(std::move(response));
    });
    router_.Add(Method::kDelete, "{type}/{id}", [](const FhirRequest&, const PathParams&) {
      return fhir::Result<FhirResponse>(fhir::Error::Conflict("test.conflict", "conflict"));
    });
  }
  Router router_;
};

TEST_F(RouterTest, CapturesTypeAndId) {
  FhirResponse response = router_.Dispatch(Get("Patient/abc-1"));
  EXPECT_EQ(response.status, 200);
  ASSERT_EQ(response.headers.size(), 1u);
  EXPECT_EQ(response.headers[0].second, "Patient/abc-1");
}

TEST_F(RouterTest, UnknownTypeOrInvalidIdIsNotFound) {
  for (const char* path : {"Nonsense/1", "Patient/bad id", "Patient", "Patient/1/extra"}) {
    FhirResponse response = router_.Dispatch(Get(path));
    EXPECT_EQ(response.status, 404) << path;
    EXPECT_EQ(FirstMessageId(response), "rest.unknown-path") << path;
  }
}

TEST_F(RouterTest, WrongMethodIs405WithAllow) {
  FhirRequest request = Get("Patient/1");
  request.method = Method::kPatch;
  FhirResponse response = router_.Dispatch(request);
  EXPECT_EQ(response.status, 405);
  ASSERT_EQ(response.headers.size(), 1u);
  EXPECT_EQ(response.headers[0].first, "allow");
  EXPECT_EQ(response.headers[0].second, "DELETE, GET, HEAD");
}

TEST_F(RouterTest, HandlerErrorsBecomeOperationOutcomes) {
  FhirRequest request = Get("Patient/1");
  request.method = Method::kDelete;
  FhirResponse response = router_.Dispatch(request);
  EXPECT_EQ(response.status, 409);
  EXPECT_EQ(response.body->resource_type(), "OperationOutcome");
  EXPECT_EQ(FirstMessageId(response), "test.conflict");
}

TEST(RouterVersionTest, CapturesIdAndVersionSeparately) {
  Router router(testing_support::Definitions());
  router.Add(Method::kGet, "{type}/{id}/_history/{vid}",
             [](const FhirRequest&, const PathParams& params) {
               FhirResponse response;
               response.headers.emplace_back("x-matched", params.at("id") + "@" + params.at("vid"));
               return fhir::Result<FhirResponse>(std::move(response));
             });
  FhirResponse response = router.Dispatch(Get("Patient/p1/_history/3"));
  ASSERT_EQ(response.headers.size(), 1u);
  EXPECT_EQ(response.headers[0].second, "p1@3");
  EXPECT_EQ(router.Dispatch(Get("Patient/p1/history/3")).status, 404);
}

TEST(CapabilitiesHandlerTest, AnswersStatementAndRefusesUnknownMode) {
  conformance::ServerDescription server;
  server.date = "2026-11-22";
  server.formats = {"application/fhir+json"};
  Router router(testing_support::Definitions());
  CapabilitiesHandler handler(server, testing_support::Definitions());
  router.Add(Method::kGet, "metadata", [&handler](const FhirRequest& r, const PathParams& p) {
    return handler.Handle(r, p);
  });

  FhirRequest get = Get("metadata");
  get.base_url = "http://example.org/fhir";
  FhirResponse ok = router.Dispatch(get);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body->resource_type(), "CapabilityStatement");
  EXPECT_EQ(ok.body->root()->Child("implementation")->Child("url")->value, get.base_url);

  FhirRequest bad = Get("metadata");
  bad.query.emplace_back("mode", "everything");
  EXPECT_EQ(router.Dispatch(bad).status, 400);
  bad.query.back().second = "terminology";
  EXPECT_EQ(router.Dispatch(bad).status, 501);
}

}  // namespace
}  // namespace server::rest
