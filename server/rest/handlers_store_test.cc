// The instance interactions through the router, against PostgreSQL.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include "fhir/json/json.h"
#include "server/rest/create_handler.h"
#include "server/rest/delete_handler.h"
#include "server/rest/history_handler.h"
#include "server/rest/read_handler.h"
#include "server/rest/router.h"
#include "server/rest/update_handler.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/step_clock.h"
#include "tests/support/test_definitions.h"
#include "tests/support/test_registry.h"

namespace server::rest {
namespace {

class CountingIds final : public IdGenerator {
 public:
  std::string NewId() override { return "gen-" + std::to_string(++next_); }

 private:
  std::atomic<int> next_{0};
};

std::string_view Header(const FhirResponse& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "";
}

std::string_view MessageId(const FhirResponse& response) {
  return response.body->root()
      ->Child("issue")
      ->Child("details")
      ->Child("coding")
      ->Child("code")
      ->value;
}

class HandlersTest : public ::testing::Test {
 protected:
  // The router's answer with a stored resource's text parsed, as the HTTP adapter does.
  FhirResponse Dispatch(const FhirRequest& request) {
    FhirResponse response = router_.Dispatch(request);
    EXPECT_TRUE(MaterializeBody(&response, defs_).ok());
    return response;
  }

  HandlersTest()
      : defs_(testing_support::Definitions()),
        router_(defs_),
        read_(Store(), defs_),
        create_(Store(), defs_, testing_support::SearchRegistry(), ids_),
        update_(Store(), defs_, testing_support::SearchRegistry(), ids_),
        delete_(Store(), testing_support::SearchRegistry()),
        history_(Store(), defs_) {
    router_.Add(Method::kGet, "{type}/{id}",
                [this](const auto& r, const auto& p) { return read_.Read(r, p); });
    router_.Add(Method::kGet, "{type}/{id}/_history/{vid}",
                [this](const auto& r, const auto& p) { return read_.VRead(r, p); });
    router_.Add(Method::kGet, "{type}/{id}/_history",
                [this](const auto& r, const auto& p) { return history_.Instance(r, p); });
    router_.Add(Method::kGet, "{type}/_history",
                [this](const auto& r, const auto& p) { return history_.Type(r, p); });
    router_.Add(Method::kGet, "_history",
                [this](const auto& r, const auto& p) { return history_.System(r, p); });
    router_.Add(Method::kPost, "{type}",
                [this](const auto& r, const auto& p) { return create_.Handle(r, p); });
    router_.Add(Method::kPut, "{type}/{id}",
                [this](const auto& r, const auto& p) { return update_.Handle(r, p); });
    router_.Add(Method::kDelete, "{type}/{id}",
                [this](const auto& r, const auto& p) { return delete_.Handle(r, p); });
  }

  store::Store& Store() {
    if (!store_) store_ = testing_support::PgTestCluster::Get().NewStore(clock_, 4);
    return *store_;
  }

  FhirResponse Send(Method method, std::string path, std::string body = "", Headers headers = {}) {
    FhirRequest request;
    request.method = method;
    request.path = std::move(path);
    request.base_url = "http://h/fhir";
    request.headers = std::move(headers);
    if (!body.empty()) {
      auto parsed = fhir::json::Parse(body, defs_);
      EXPECT_TRUE(parsed.ok()) << body;
      if (parsed.ok()) request.body = std::move(parsed).value();
    }
    return Dispatch(request);
  }

  std::string Json(const FhirResponse& response) { return fhir::json::Write(*response.body); }

  const fhir::model::Definitions& defs_;
  testing_support::StepClock clock_;
  CountingIds ids_;
  std::unique_ptr<store::Store> store_;
  Router router_;
  ReadHandler read_;
  CreateHandler create_;
  UpdateHandler update_;
  DeleteHandler delete_;
  HistoryHandler history_;
};

TEST_F(HandlersTest, CreateAssignsIdAndMetaThenReads) {
  FhirResponse created =
      Send(Method::kPost, "Patient", R"({"resourceType":"Patient","id":"ignored","active":true})");
  ASSERT_EQ(created.status, 201) << Json(created);
  EXPECT_EQ(Header(created, "location"), "http://h/fhir/Patient/gen-1/_history/1");
  EXPECT_EQ(Header(created, "etag"), "W/\"1\"");
  EXPECT_EQ(Header(created, "last-modified"), "Tue, 14 Nov 2023 22:13:21 GMT");
  EXPECT_EQ(Json(created), R"({"resourceType":"Patient","id":"gen-1","meta":{"versionId":"1",)"
                           R"("lastUpdated":"2023-11-14T22:13:21.000000Z"},"active":true})");

  FhirResponse read = Send(Method::kGet, "Patient/gen-1");
  EXPECT_EQ(read.status, 200);
  EXPECT_EQ(Header(read, "etag"), "W/\"1\"");
  EXPECT_EQ(Json(read), Json(created));

  FhirResponse unchanged = Send(Method::kGet, "Patient/gen-1", "", {{"if-none-match", "W/\"1\""}});
  EXPECT_EQ(unchanged.status, 304);
  EXPECT_FALSE(unchanged.body.has_value());
  EXPECT_EQ(Send(Method::kGet, "Patient/gen-1", "", {{"if-none-match", "W/\"0\""}}).status, 200);
}

TEST_F(HandlersTest, PreferMinimalAndOperationOutcome) {
  FhirResponse none = Send(Method::kPost, "Patient", R"({"resourceType":"Patient"})",
                           {{"prefer", "return=minimal"}});
  EXPECT_EQ(none.status, 201);
  EXPECT_FALSE(none.body.has_value());
  FhirResponse outcome = Send(Method::kPost, "Patient", R"({"resourceType":"Patient"})",
                              {{"prefer", "return=OperationOutcome"}});
  EXPECT_EQ(outcome.status, 201);
  EXPECT_EQ(outcome.body->resource_type(), "OperationOutcome");
}

TEST_F(HandlersTest, UpdateCreatesThenVersionsAndChecksIfMatch) {
  const std::string body = R"({"resourceType":"Patient","id":"p1","gender":"male"})";
  FhirResponse first = Send(Method::kPut, "Patient/p1", body);
  EXPECT_EQ(first.status, 201) << Json(first);
  FhirResponse second = Send(Method::kPut, "Patient/p1", body, {{"if-match", "W/\"1\""}});
  EXPECT_EQ(second.status, 200) << Json(second);
  EXPECT_EQ(Header(second, "etag"), "W/\"2\"");
  FhirResponse stale = Send(Method::kPut, "Patient/p1", body, {{"if-match", "W/\"1\""}});
  EXPECT_EQ(stale.status, 412);
  EXPECT_EQ(MessageId(stale), "store.version-conflict");

  FhirResponse old = Send(Method::kGet, "Patient/p1/_history/1");
  EXPECT_EQ(old.status, 200);
  EXPECT_EQ(old.body->root()->Child("meta")->Child("versionId")->value, "1");
  EXPECT_EQ(Send(Method::kGet, "Patient/p1/_history/3").status, 404);
  EXPECT_EQ(Send(Method::kGet, "Patient/p1/_history/x").status, 404);
}

TEST_F(HandlersTest, UpdateRejectsWrongBodies) {
  FhirResponse mismatch =
      Send(Method::kPut, "Patient/p1", R"({"resourceType":"Patient","id":"p2"})");
  EXPECT_EQ(mismatch.status, 400);
  EXPECT_EQ(MessageId(mismatch), "rest.id-mismatch");
  FhirResponse missing = Send(Method::kPut, "Patient/p1", R"({"resourceType":"Patient"})");
  EXPECT_EQ(MessageId(missing), "rest.missing-id");
  FhirResponse type = Send(Method::kPut, "Patient/p1", R"({"resourceType":"Group","id":"p1"})");
  EXPECT_EQ(MessageId(type), "rest.type-mismatch");
  FhirResponse empty = Send(Method::kPut, "Patient/p1");
  EXPECT_EQ(MessageId(empty), "rest.missing-body");
  EXPECT_EQ(Send(Method::kGet, "Patient/p1").status, 404);
}

TEST_F(HandlersTest, DeleteThenReadIsGoneAndHistoryShowsAll) {
  Send(Method::kPut, "Patient/p1", R"({"resourceType":"Patient","id":"p1"})");
  Send(Method::kPut, "Patient/p1", R"({"resourceType":"Patient","id":"p1","active":false})");
  FhirResponse deleted = Send(Method::kDelete, "Patient/p1");
  EXPECT_EQ(deleted.status, 204);
  EXPECT_EQ(Header(deleted, "etag"), "W/\"3\"");
  FhirResponse gone = Send(Method::kGet, "Patient/p1");
  EXPECT_EQ(gone.status, 410);
  EXPECT_EQ(MessageId(gone), "rest.deleted");
  EXPECT_EQ(Send(Method::kDelete, "Patient/p1").status, 204);
  EXPECT_EQ(Send(Method::kDelete, "Patient/nobody").status, 404);

  FhirResponse history = Send(Method::kGet, "Patient/p1/_history");
  ASSERT_EQ(history.status, 200) << Json(history);
  const auto entries = history.body->root()->Children("entry");
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0]->Child("request")->Child("method")->value, "DELETE");
  EXPECT_EQ(entries[0]->Child("resource"), nullptr);
  EXPECT_EQ(entries[1]->Child("response")->Child("etag")->value, "W/\"2\"");
  EXPECT_NE(entries[2]->Child("resource"), nullptr);

  FhirRequest first_page;
  first_page.path = "Patient/p1/_history";
  first_page.query = {{"_count", "2"}};
  FhirResponse page = Dispatch(first_page);
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.body->root()->Children("entry").size(), 2u);
  EXPECT_EQ(page.body->root()->Children("link").size(), 2u);  // self and next
  EXPECT_EQ(Send(Method::kGet, "Patient/nobody/_history").status, 404);
}

TEST_F(HandlersTest, TypeAndSystemHistory) {
  Send(Method::kPut, "Patient/p1", R"({"resourceType":"Patient","id":"p1"})");
  Send(Method::kPut, "Group/g1",
       R"({"resourceType":"Group","id":"g1","type":"person",)"
       R"("actual":true})");
  Send(Method::kPut, "Patient/p2", R"({"resourceType":"Patient","id":"p2"})");

  FhirResponse patients = Send(Method::kGet, "Patient/_history");
  ASSERT_EQ(patients.status, 200) << Json(patients);
  const auto entries = patients.body->root()->Children("entry");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0]->Child("fullUrl")->value, "http://h/fhir/Patient/p2");
  EXPECT_EQ(entries[1]->Child("fullUrl")->value, "http://h/fhir/Patient/p1");

  FhirResponse all = Send(Method::kGet, "_history");
  ASSERT_EQ(all.status, 200) << Json(all);
  EXPECT_EQ(all.body->root()->Children("entry").size(), 3u);
  FhirResponse none = Send(Method::kGet, "Observation/_history");
  EXPECT_EQ(none.status, 200);
  EXPECT_EQ(none.body->root()->Children("entry").size(), 0u);
}

}  // namespace
}  // namespace server::rest
