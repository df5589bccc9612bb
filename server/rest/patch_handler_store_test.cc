// The PATCH interaction through the router, against PostgreSQL.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "fhir/json/json.h"
#include "server/rest/interaction_support.h"
#include "server/rest/patch_handler.h"
#include "server/rest/router.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/step_clock.h"
#include "tests/support/test_definitions.h"
#include "tests/support/test_registry.h"

namespace server::rest {
namespace {

// A store that runs a hook right after the next Read of any of its transactions returns, so a
// test can put another writer between a patch's read and its write without timing.
class InterleavingStore final : public store::Store {
 public:
  explicit InterleavingStore(store::Store& inner) : inner_(inner) {}

  void AfterNextRead(std::function<void()> hook) { hook_ = std::move(hook); }

  fhir::Result<std::unique_ptr<store::Transaction>> Begin() override {
    auto tx = inner_.Begin();
    if (!tx.ok()) return std::move(tx).error();
    return std::unique_ptr<store::Transaction>(new Tx(std::move(tx).value(), *this));
  }

 private:
  class Tx final : public store::Transaction {
   public:
    Tx(std::unique_ptr<store::Transaction> inner, InterleavingStore& store)
        : inner_(std::move(inner)), store_(store) {}
    fhir::Result<store::ResourceVersion> Read(const std::string& type,
                                              const std::string& id) override {
      auto result = inner_->Read(type, id);
      if (auto hook = std::exchange(store_.hook_, nullptr)) hook();
      return result;
    }
    fhir::Result<store::ResourceVersion> ReadVersion(const std::string& type, const std::string& id,
                                                     std::int64_t version) override {
      return inner_->ReadVersion(type, id, version);
    }
    fhir::Result<store::HistoryPage> History(const store::HistoryQuery& query) override {
      return inner_->History(query);
    }
    fhir::Result<store::SearchPage> Search(const store::SearchQuery& query) override {
      return inner_->Search(query);
    }
    fhir::Result<std::int64_t> Count(const store::SearchQuery& query) override {
      return inner_->Count(query);
    }
    fhir::Result<std::vector<store::ResourceVersion>> Include(
        const store::IncludeQuery& query) override {
      return inner_->Include(query);
    }
    fhir::Result<store::IndexState> ReadIndexState() override { return inner_->ReadIndexState(); }
    fhir::Result<void> WriteIndexState(const store::IndexState& state) override {
      return inner_->WriteIndexState(state);
    }
    fhir::Result<std::vector<store::ResourceVersion>> LockCurrent(
        const std::optional<store::ResourceKey>& after, int count) override {
      return inner_->LockCurrent(after, count);
    }
    fhir::Result<void> ReplaceIndex(const std::string& type, const std::string& id,
                                    const store::IndexEntries& index) override {
      return inner_->ReplaceIndex(type, id, index);
    }
    fhir::Result<store::WriteResult> Write(const store::WriteOp& op) override {
      return inner_->Write(op);
    }
    fhir::Result<void> LockResources(const std::vector<store::ResourceKey>& keys) override {
      return inner_->LockResources(keys);
    }
    fhir::Result<void> LockCriteria(const std::vector<std::string>& criteria) override {
      return inner_->LockCriteria(criteria);
    }
    fhir::Result<void> Commit() override { return inner_->Commit(); }
    fhir::Result<void> Rollback() override { return inner_->Rollback(); }

   private:
    std::unique_ptr<store::Transaction> inner_;
    InterleavingStore& store_;
  };

  store::Store& inner_;
  std::function<void()> hook_;
};

std::string_view Header(const FhirResponse& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "";
}

std::string_view MessageId(const FhirResponse& response) {
  if (!response.body || response.body->resource_type() != "OperationOutcome") return "";
  return response.body->root()
      ->Child("issue")
      ->Child("details")
      ->Child("coding")
      ->Child("code")
      ->value;
}

constexpr std::string_view kJsonPatch = "application/json-patch+json";

// base64 of [{"op":"replace","path":"/gender","value":"other"}]
constexpr std::string_view kBase64Patch =
    "W3sib3AiOiJyZXBsYWNlIiwicGF0aCI6Ii9nZW5kZXIiLCJ2YWx1ZSI6Im90aGVyIn1d";

std::string FhirPathReplaceGender(std::string_view gender) {
  return R"({"resourceType":"Parameters","parameter":[{"name":"operation","part":[)"
         R"({"name":"type","valueCode":"replace"},{"name":"path","valueString":"Patient.gender"},)"
         R"({"name":"value","valueCode":")" +
         std::string(gender) + R"("}]}]})";
}

class PatchHandlerTest : public ::testing::Test {
 protected:
  // The router's answer with a stored resource's text parsed, as the HTTP adapter does.
  FhirResponse Dispatch(const FhirRequest& request) {
    FhirResponse response = router_.Dispatch(request);
    EXPECT_TRUE(MaterializeBody(&response, defs_).ok());
    return response;
  }

  // Only the patch handler is under test: the other writes and reads go to the store directly.
  PatchHandlerTest()
      : defs_(testing_support::Definitions()),
        router_(defs_),
        interleaving_(PgStore()),
        patch_(interleaving_, defs_, testing_support::SearchRegistry()) {
    router_.Add(Method::kPatch, "{type}/{id}",
                [this](const auto& r, const auto& p) { return patch_.Handle(r, p); });
  }

  store::Store& PgStore() {
    if (!store_) store_ = testing_support::PgTestCluster::Get().NewStore(clock_, 4);
    return *store_;
  }

  FhirRequest Request(std::string path, Headers headers = {}) {
    FhirRequest request;
    request.method = Method::kPatch;
    request.path = std::move(path);
    request.base_url = "http://h/fhir";
    request.headers = std::move(headers);
    return request;
  }

  // Writes a version of Patient/`id` as an update would; returns its version.
  std::int64_t Put(const std::string& id, std::string_view json, bool is_delete = false) {
    fhir::Resource resource = Parse(json);
    auto tx = PgStore().Begin();
    EXPECT_TRUE(tx.ok());
    if (!tx.ok()) return 0;
    auto written = (*tx)->Write({.type = "Patient",
                                 .id = id,
                                 .is_delete = is_delete,
                                 .render = [&](const store::VersionStamp& stamp) {
                                   return RenderForStore(resource, id, stamp,
                                                         testing_support::SearchRegistry());
                                 }});
    EXPECT_TRUE(written.ok()) << written.error().text();
    EXPECT_TRUE((*tx)->Commit().ok());
    return written.ok() ? written->stamp.version : 0;
  }

  // The stored current version of Patient/`id` as JSON, meta left out unless `with_meta`.
  std::string Current(const std::string& id, bool with_meta = false) {
    auto tx = PgStore().Begin();
    EXPECT_TRUE(tx.ok());
    if (!tx.ok()) return "";
    auto read = (*tx)->Read("Patient", id);
    EXPECT_TRUE(read.ok()) << read.error().text();
    if (!read.ok()) return "";
    fhir::Resource resource = Parse(read->json);
    fhir::Node* root = resource.root();
    auto& kids = root->children;
    if (!with_meta)
      kids.erase(std::remove(kids.begin(), kids.end(), root->Child("meta")), kids.end());
    return fhir::json::Write(resource);
  }

  FhirResponse JsonPatch(std::string path, std::string patch, Headers headers = {}) {
    FhirRequest request = Request(std::move(path), std::move(headers));
    request.content_type = std::string(kJsonPatch);
    request.raw_body = std::move(patch);
    return Dispatch(request);
  }

  FhirResponse ResourcePatch(std::string path, std::string_view body, Headers headers = {}) {
    FhirRequest request = Request(std::move(path), std::move(headers));
    request.content_type = "application/fhir+json";
    request.body = Parse(body);
    return Dispatch(request);
  }

  fhir::Resource Parse(std::string_view json) {
    auto parsed = fhir::json::Parse(json, defs_);
    EXPECT_TRUE(parsed.ok()) << json;
    return parsed.ok() ? std::move(parsed).value() : fhir::Resource();
  }

  std::string Json(const FhirResponse& response) {
    return response.body ? fhir::json::Write(*response.body) : "";
  }

  const fhir::model::Definitions& defs_;
  testing_support::StepClock clock_;
  std::unique_ptr<store::Store> store_;
  Router router_;
  InterleavingStore interleaving_;
  PatchHandler patch_;
};

TEST_F(PatchHandlerTest, JsonPatchAnswersLikeUpdate) {
  ASSERT_EQ(Put("p1", R"({"resourceType":"Patient","gender":"male"})"), 1);
  FhirResponse patched =
      JsonPatch("Patient/p1", R"([{"op":"test","path":"/gender","value":"male"},)"
                              R"({"op":"replace","path":"/gender","value":"female"},)"
                              R"({"op":"add","path":"/active","value":true}])");
  ASSERT_EQ(patched.status, 200) << Json(patched);
  EXPECT_EQ(Header(patched, "location"), "http://h/fhir/Patient/p1/_history/2");
  EXPECT_EQ(Header(patched, "etag"), "W/\"2\"");
  EXPECT_EQ(Header(patched, "last-modified"), "Tue, 14 Nov 2023 22:13:22 GMT");
  EXPECT_EQ(Json(patched), R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"2",)"
                           R"("lastUpdated":"2023-11-14T22:13:22.000000Z"},"active":true,)"
                           R"("gender":"female"})");
  EXPECT_EQ(Current("p1", true), Json(patched));

  FhirResponse minimal = JsonPatch("Patient/p1", R"([{"op":"remove","path":"/active"}])",
                                   {{"prefer", "return=minimal"}});
  EXPECT_EQ(minimal.status, 200);
  EXPECT_FALSE(minimal.body.has_value());
  EXPECT_EQ(Header(minimal, "etag"), "W/\"3\"");
}

TEST_F(PatchHandlerTest, FhirPathPatchFromAParametersBody) {
  Put("p1", R"({"resourceType":"Patient","gender":"male"})");
  FhirResponse patched = ResourcePatch("Patient/p1", FhirPathReplaceGender("female"));
  ASSERT_EQ(patched.status, 200) << Json(patched);
  EXPECT_EQ(Header(patched, "etag"), "W/\"2\"");
  EXPECT_EQ(patched.body->root()->Child("meta")->Child("versionId")->value, "2");
  EXPECT_EQ(Current("p1"), R"({"resourceType":"Patient","id":"p1","gender":"female"})");
}

TEST_F(PatchHandlerTest, BinaryBodyAsInATransactionBundle) {
  Put("p1", R"({"resourceType":"Patient","gender":"male"})");
  FhirRequest request = Request("Patient/p1");
  request.content_type = "application/fhir+json";
  request.body = Parse(R"({"resourceType":"Binary","contentType":"application/json-patch+json",)"
                       R"("data":")" +
                       std::string(kBase64Patch) + "\"}");
  // The entry runs inside the Bundle's transaction and leaves the commit to it.
  auto tx = interleaving_.Begin();
  ASSERT_TRUE(tx.ok());
  request.transaction = tx->get();
  FhirResponse patched = Dispatch(request);
  ASSERT_EQ(patched.status, 200) << Json(patched);
  EXPECT_EQ(Current("p1"), R"({"resourceType":"Patient","id":"p1","gender":"male"})");
  ASSERT_TRUE((*tx)->Commit().ok());
  EXPECT_EQ(Current("p1"), R"({"resourceType":"Patient","id":"p1","gender":"other"})");

  request.transaction = nullptr;
  request.body = Parse(R"({"resourceType":"Binary","contentType":"text/plain","data":"AAAA"})");
  FhirResponse wrong = Dispatch(request);
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(MessageId(wrong), "patch.invalid-binary");
}

TEST_F(PatchHandlerTest, IfMatch) {
  Put("p1", R"({"resourceType":"Patient","gender":"male"})");
  Put("p1", R"({"resourceType":"Patient","gender":"male","active":true})");
  const std::string patch = R"([{"op":"replace","path":"/gender","value":"female"}])";
  FhirResponse stale = JsonPatch("Patient/p1", patch, {{"if-match", "W/\"1\""}});
  EXPECT_EQ(stale.status, 412);
  EXPECT_EQ(MessageId(stale), "store.version-conflict");
  FhirResponse bad = JsonPatch("Patient/p1", patch, {{"if-match", "soon"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(MessageId(bad), "rest.invalid-if-match");
  FhirResponse current =
      ResourcePatch("Patient/p1", FhirPathReplaceGender("female"), {{"if-match", "W/\"2\""}});
  EXPECT_EQ(current.status, 200) << Json(current);
  EXPECT_EQ(Header(current, "etag"), "W/\"3\"");
}

TEST_F(PatchHandlerTest, UnknownAndDeletedResources) {
  const std::string patch = R"([{"op":"add","path":"/active","value":true}])";
  FhirResponse unknown = JsonPatch("Patient/nobody", patch);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(MessageId(unknown), "store.not-found");
  Put("p1", R"({"resourceType":"Patient"})");
  ASSERT_EQ(Put("p1", R"({"resourceType":"Patient"})", true), 2);
  FhirResponse gone = ResourcePatch("Patient/p1", FhirPathReplaceGender("female"));
  EXPECT_EQ(gone.status, 410);
  EXPECT_EQ(MessageId(gone), "rest.deleted");
}

TEST_F(PatchHandlerTest, BadPatchesChangeNothing) {
  Put("p1", R"({"resourceType":"Patient","gender":"male"})");
  struct Case {
    FhirResponse response;
    int status;
    std::string_view message_id;
  };
  FhirRequest text = Request("Patient/p1");
  text.content_type = "text/plain";
  text.raw_body = "gender=female";
  FhirRequest empty = Request("Patient/p1");
  empty.content_type = "application/fhir+json";
  const Case cases[] = {
      {JsonPatch("Patient/p1", R"({"op":"remove","path":"/gender"})"), 400, "patch.invalid"},
      {JsonPatch("Patient/p1", R"([{"op":"test","path":"/gender","value":"female"}])"), 422,
       "patch.failed"},
      {JsonPatch("Patient/p1", R"([{"op":"remove","path":"/birthDate"}])"), 422, "patch.failed"},
      {JsonPatch("Patient/p1", R"([{"op":"add","path":"/colour","value":"red"}])"), 422,
       "json.unknown-element"},
      {JsonPatch("Patient/p1", R"([{"op":"replace","path":"/id","value":"p2"}])"), 422,
       "patch.id-changed"},
      {ResourcePatch("Patient/p1",
                     R"({"resourceType":"Parameters","parameter":[{"name":"operation","part":[)"
                     R"({"name":"type","valueCode":"delete"},)"
                     R"({"name":"path","valueString":"Patient.id"}]}]})"),
       422, "patch.id-changed"},
      {ResourcePatch("Patient/p1",
                     R"({"resourceType":"Parameters","parameter":[{"name":"operation","part":[)"
                     R"({"name":"type","valueCode":"replace"},)"
                     R"({"name":"path","valueString":"Patient.gender"},)"
                     R"({"name":"value","valueBoolean":true}]}]})"),
       422, "patch.failed"},
      {ResourcePatch("Patient/p1", R"({"resourceType":"Parameters","parameter":[{"name":"x"}]})"),
       400, "patch.invalid"},
      {ResourcePatch("Patient/p1", R"({"resourceType":"Patient","id":"p1"})"), 415,
       "patch.unsupported-media-type"},
      {Dispatch(text), 415, "patch.unsupported-media-type"},
      {Dispatch(empty), 400, "rest.missing-body"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.response.status, c.status) << c.message_id << " " << Json(c.response);
    EXPECT_EQ(MessageId(c.response), c.message_id);
  }
  EXPECT_EQ(Current("p1", true),
            R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"1",)"
            R"("lastUpdated":"2023-11-14T22:13:21.000000Z"},"gender":"male"})");
}

TEST_F(PatchHandlerTest, AConcurrentUpdateIsNeverLost) {
  Put("p1", R"({"resourceType":"Patient","gender":"male"})");
  // Another client's update commits after the patch has read version 1 and before it writes.
  interleaving_.AfterNextRead([this] {
    EXPECT_EQ(Put("p1", R"({"resourceType":"Patient","gender":"male","active":false})"), 2);
  });
  FhirResponse lost = JsonPatch("Patient/p1", R"([{"op":"add","path":"/birthDate",)"
                                              R"("value":"1970-01-01"}])");
  EXPECT_EQ(lost.status, 409) << Json(lost);
  EXPECT_EQ(MessageId(lost), "patch.concurrent-update");
  EXPECT_EQ(Current("p1"),
            R"({"resourceType":"Patient","id":"p1","active":false,"gender":"male"})");

  // With If-Match the same race is a failed precondition.
  interleaving_.AfterNextRead(
      [this] { Put("p1", R"({"resourceType":"Patient","gender":"female"})"); });
  FhirResponse stale =
      ResourcePatch("Patient/p1", FhirPathReplaceGender("other"), {{"if-match", "W/\"2\""}});
  EXPECT_EQ(stale.status, 412) << Json(stale);
  EXPECT_EQ(MessageId(stale), "store.version-conflict");

  // Retried, the patch applies on top of the other update.
  FhirResponse retried = JsonPatch("Patient/p1", R"([{"op":"add","path":"/birthDate",)"
                                                 R"("value":"1970-01-01"}])");
  ASSERT_EQ(retried.status, 200) << Json(retried);
  EXPECT_EQ(Header(retried, "etag"), "W/\"4\"");
  EXPECT_EQ(Current("p1"),
            R"({"resourceType":"Patient","id":"p1","gender":"female","birthDate":"1970-01-01"})");
}

}  // namespace
}  // namespace server::rest
