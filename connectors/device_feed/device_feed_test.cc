#include "connectors/device_feed/device_feed.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "fhir/json/json.h"
#include "server/rest/interaction_support.h"
#include "tests/support/test_definitions.h"

namespace connectors::device_feed {
namespace {

using server::rest::FhirRequest;
using server::rest::FhirResponse;
using server::rest::JsonString;
using server::rest::Method;
using server::rest::Principal;

// Patients by identifier and Observations by their ifNoneExist criterion, answering as the
// server's pipeline would.
class FakeSink : public FhirSink {
 public:
  void AddPatient(std::string id, std::string system, std::string value) {
    patients_.push_back({std::move(id), std::move(system), std::move(value)});
  }
  // Writes of this Patient's Observations are refused, as a Consent would.
  void Refuse(std::string patient) { refused_ = "Patient/" + std::move(patient); }
  std::size_t observations() const { return observations_.size(); }
  // How many versions were written in all: one per Observation when nothing was written twice.
  int versions() const {
    int n = 0;
    for (const auto& [id, version] : observations_) n += version;
    return n;
  }
  std::string subject_of(std::size_t i) const { return subjects_[i]; }

  fhir::Result<FhirResponse> Send(const Principal&, FhirRequest request) const override {
    if (request.method == Method::kGet && request.path == "Patient") return Search(request);
    if (request.method == Method::kGet && request.path == "Observation") return Existing(request);
    if (request.method == Method::kGet && request.path.starts_with("Patient/")) {
      for (const Patient& p : patients_) {
        if ("Patient/" + p.id == request.path) return FhirResponse{};
      }
      return fhir::Error::NotFound("rest.not-found", "no such Patient");
    }
    if (request.method == Method::kPost && request.path.empty()) return Batch(request);
    return fhir::Error::NotFound("rest.unknown-path", "unexpected request");
  }

 private:
  struct Patient {
    std::string id, system, value;
  };

  fhir::Result<FhirResponse> Search(const FhirRequest& request) const {
    const std::string values(request.Param("identifier").value_or(""));
    std::string json = R"({"resourceType":"Bundle","type":"searchset","entry":[)";
    bool first = true;
    for (const Patient& p : patients_) {
      if (values.find(p.system + "|" + p.value) == std::string::npos) continue;
      json += std::string(first ? "" : ",") + R"({"resource":{"resourceType":"Patient","id":)" +
              JsonString(p.id) + R"(,"identifier":[{"system":)" + JsonString(p.system) +
              R"(,"value":)" + JsonString(p.value) + "}]}}";
      first = false;
    }
    // FHIR JSON has no empty arrays.
    return server::rest::BundleResponse(first ? R"({"resourceType":"Bundle","type":"searchset"})"
                                              : json + "]}");
  }

  // The Observations among the _id list, with their versions.
  fhir::Result<FhirResponse> Existing(const FhirRequest& request) const {
    std::lock_guard lock(mutex_);
    const std::string ids = "," + std::string(request.Param("_id").value_or("")) + ",";
    std::string json;
    for (const auto& [id, version] : observations_) {
      if (ids.find("," + id + ",") == std::string::npos) continue;
      json += std::string(json.empty() ? "" : ",") +
              R"({"resource":{"resourceType":"Observation","id":)" + JsonString(id) +
              R"(,"meta":{"versionId":")" + std::to_string(version) +
              R"("},"status":"final","code":{"text":"x"}}})";
    }
    return server::rest::BundleResponse(
        json.empty() ? R"({"resourceType":"Bundle","type":"searchset"})"
                     : R"({"resourceType":"Bundle","type":"searchset","entry":[)" + json + "]}");
  }

  fhir::Result<FhirResponse> Batch(const FhirRequest& request) const {
    std::lock_guard lock(mutex_);
    const bool transaction = request.body->root()->Child("type")->value == "transaction";
    const auto entries = request.body->root()->Children("entry");
    auto refused = [&](const fhir::Node* entry) {
      return entry->Child("resource")->Child("subject")->Child("reference")->value == refused_;
    };
    if (transaction && std::any_of(entries.begin(), entries.end(), refused)) {
      return fhir::Error::Forbidden("consent.denied", "refused");
    }
    std::string json = std::string(R"({"resourceType":"Bundle","type":")") +
                       (transaction ? "transaction-response" : "batch-response") + R"(","entry":[)";
    bool first = true;
    for (const fhir::Node* entry : entries) {
      if (refused(entry)) {
        json +=
            std::string(first ? "" : ",") +
            R"({"response":{"status":"403","outcome":{"resourceType":"OperationOutcome",)" +
            R"("issue":[{"severity":"error","code":"forbidden","details":{"text":"refused"}}]}}})";
        first = false;
        continue;
      }
      const std::string url(entry->Child("request")->Child("url")->value);
      const std::string id = url.substr(url.find('/') + 1);
      auto [it, created] = observations_.emplace(id, 1);
      if (created) {
        const fhir::Node* subject = entry->Child("resource")->Child("subject");
        subjects_.emplace_back(subject->Child("reference")->value);
      } else {
        ++it->second;
      }
      json += std::string(first ? "" : ",") + R"({"response":{"status":)" +
              JsonString(created ? "201 Created" : "200 OK") + R"(,"location":)" +
              JsonString(url + "/_history/" + std::to_string(it->second)) + "}}";
      first = false;
    }
    return server::rest::BundleResponse(json + "]}");
  }

  std::vector<Patient> patients_;
  std::string refused_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, int> observations_;  // id -> version
  mutable std::vector<std::string> subjects_;
};

class MemoryQueue : public server::store::PendingMeasurements {
 public:
  fhir::Result<std::int64_t> Add(const server::store::PendingMeasurement& m) override {
    for (const auto& [id, queued] : queue_) {
      if (queued.station == m.station && queued.measurement_id == m.measurement_id) return id;
    }
    server::store::PendingMeasurement copy = m;
    copy.id = ++last_;
    queue_[copy.id] = copy;
    return copy.id;
  }
  fhir::Result<std::vector<server::store::PendingMeasurement>> List(std::int64_t after,
                                                                    int limit) override {
    std::vector<server::store::PendingMeasurement> out;
    for (auto it = queue_.upper_bound(after);
         it != queue_.end() && static_cast<int>(out.size()) < limit; ++it) {
      out.push_back(it->second);
    }
    return out;
  }
  fhir::Result<std::optional<server::store::PendingMeasurement>> Get(std::int64_t id) override {
    auto it = queue_.find(id);
    if (it == queue_.end()) return std::optional<server::store::PendingMeasurement>();
    return std::optional<server::store::PendingMeasurement>(it->second);
  }
  fhir::Result<bool> Remove(std::int64_t id) override { return queue_.erase(id) == 1; }
  std::size_t size() const { return queue_.size(); }

 private:
  std::map<std::int64_t, server::store::PendingMeasurement> queue_;
  std::int64_t last_ = 0;
};

constexpr const char* kKnown = "11010519491231002X";
constexpr const char* kUnknown = "HR-77";

std::string BatchText() {
  return std::string(R"({"station":{"id":"ST-1"},"device":{"serial":"D-1"},"items":[)") +
         R"({"id":"a","type":"spo2","resident":{"type":"id-card","value":")" + kKnown +
         R"("},"value":97,"time":"2026-11-22T09:00:00+08:00"},)" +
         R"({"id":"b","type":"weight","resident":{"type":"health-record","value":")" + kUnknown +
         R"("},"value":120,"unit":"jin","time":"2026-11-22T09:01:00+08:00"},)" +
         R"({"id":"c","type":"temperature","resident":{"type":"id-card","value":")" + kKnown +
         R"("},"value":50,"unit":"Cel","time":"2026-11-22T09:02:00+08:00"}]})";
}

class DeviceFeedTest : public ::testing::Test {
 protected:
  DeviceFeedTest() : feed_(sink_, queue_, testing_support::Definitions(), DeviceFeedOptions()) {
    sink_.AddPatient("p1", "urn:oid:2.16.156.10011.1.3", kKnown);
    principal_->roles = {server::rest::Role::kStationOperator};
  }

  FhirRequest Request(std::string body = {}) const {
    FhirRequest request;
    request.method = Method::kPost;
    request.raw_body = std::move(body);
    request.principal = principal_;
    return request;
  }

  // The statuses of a batch-response's entries, in order.
  std::vector<std::string> Statuses(FhirResponse& response) const {
    EXPECT_TRUE(server::rest::MaterializeBody(&response, testing_support::Definitions()).ok());
    std::vector<std::string> out;
    for (const fhir::Node* entry : response.body->root()->Children("entry")) {
      out.emplace_back(entry->Child("response")->Child("status")->value);
    }
    return out;
  }

  FakeSink sink_;
  MemoryQueue queue_;
  std::shared_ptr<Principal> principal_ = std::make_shared<Principal>();
  DeviceFeed feed_;
};

TEST_F(DeviceFeedTest, PerItemResults) {
  auto answer = feed_.Receive(Request(BatchText()));
  ASSERT_TRUE(answer.ok()) << answer.error().text();
  EXPECT_EQ(Statuses(*answer), (std::vector<std::string>{"201 Created", "202 Accepted", "422"}));
  EXPECT_EQ(sink_.observations(), 1u);
  EXPECT_EQ(sink_.subject_of(0), "Patient/p1");
  EXPECT_EQ(queue_.size(), 1u);
}

TEST_F(DeviceFeedTest, ARefusedObservationLeavesTheOthersWritten) {
  sink_.AddPatient("p3", DeviceFeedOptions().mapping.health_record_system, kUnknown);
  sink_.Refuse("p3");
  auto answer = feed_.Receive(Request(BatchText()));
  ASSERT_TRUE(answer.ok()) << answer.error().text();
  EXPECT_EQ(Statuses(*answer), (std::vector<std::string>{"201 Created", "403", "422"}));
  EXPECT_EQ(sink_.observations(), 1u);
}

TEST_F(DeviceFeedTest, RetryDuplicatesNothing) {
  ASSERT_TRUE(feed_.Receive(Request(BatchText())).ok());
  auto again = feed_.Receive(Request(BatchText()));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Statuses(*again), (std::vector<std::string>{"200 OK", "202 Accepted", "422"}));
  EXPECT_EQ(sink_.observations(), 1u);
  EXPECT_EQ(sink_.versions(), 1);
  EXPECT_EQ(queue_.size(), 1u);
}

TEST_F(DeviceFeedTest, SweepWritesOnceThePatientExists) {
  ASSERT_TRUE(feed_.Receive(Request(BatchText())).ok());
  auto none = feed_.Sweep(*principal_, "");
  ASSERT_TRUE(none.ok()) << none.error().text();
  EXPECT_EQ(*none, 0);
  sink_.AddPatient("p2", DeviceFeedOptions().mapping.health_record_system, kUnknown);
  auto one = feed_.Sweep(*principal_, "");
  ASSERT_TRUE(one.ok()) << one.error().text();
  EXPECT_EQ(*one, 1);
  EXPECT_EQ(*feed_.Sweep(*principal_, ""), 0);
  EXPECT_EQ(queue_.size(), 0u);
  EXPECT_EQ(sink_.observations(), 2u);
  EXPECT_EQ(sink_.subject_of(1), "Patient/p2");
  // A retry after the sweep finds the Observation there.
  auto again = feed_.Receive(Request(BatchText()));
  EXPECT_EQ(Statuses(*again), (std::vector<std::string>{"200 OK", "200 OK", "422"}));
}

TEST_F(DeviceFeedTest, OperatorResolvesAndDiscards) {
  ASSERT_TRUE(feed_.Receive(Request(BatchText())).ok());
  FhirRequest resolve = Request();
  resolve.query = {{"patient", "Patient/missing"}};
  EXPECT_EQ(feed_.Resolve(resolve, "1").error().message_id(), "station.invalid-patient");
  resolve.query = {{"patient", "Patient/p1"}};
  auto resolved = feed_.Resolve(resolve, "1");
  ASSERT_TRUE(resolved.ok()) << resolved.error().text();
  EXPECT_EQ(Statuses(*resolved), (std::vector<std::string>{"201 Created"}));
  EXPECT_EQ(sink_.subject_of(1), "Patient/p1");
  EXPECT_EQ(feed_.Resolve(resolve, "1").error().message_id(), "station.unknown-pending");
  // The vendor's retry finds the resolved measurement written, and queues nothing.
  auto retried = feed_.Receive(Request(BatchText()));
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(Statuses(*retried), (std::vector<std::string>{"200 OK", "200 OK", "422"}));
  EXPECT_EQ(queue_.size(), 0u);

  FhirRequest batch = Request(BatchText());
  batch.raw_body.replace(batch.raw_body.find(R"("id":"b")"), 8, R"("id":"d")");
  ASSERT_TRUE(feed_.Receive(batch).ok());
  ASSERT_EQ(queue_.size(), 1u);
  EXPECT_EQ(feed_.Discard(Request(), "2")->status, 204);
  EXPECT_EQ(feed_.Discard(Request(), "2").error().http_status(), 404);
  EXPECT_EQ(feed_.Discard(Request(), "x").error().http_status(), 404);
}

TEST_F(DeviceFeedTest, ListsThePendingQueue) {
  ASSERT_TRUE(feed_.Receive(Request(BatchText())).ok());
  FhirRequest list = Request();
  list.method = Method::kGet;
  auto page = feed_.ListPending(list);
  ASSERT_TRUE(page.ok());
  ASSERT_TRUE(server::rest::MaterializeBody(&*page, testing_support::Definitions()).ok());
  const auto parameters = page->body->root()->Children("parameter");
  ASSERT_EQ(parameters.size(), 1u);
  // An empty queue is a Parameters resource without parameters.
  ASSERT_TRUE(feed_.Discard(Request(), "1").ok());
  auto empty = feed_.ListPending(list);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(server::rest::MaterializeBody(&*empty, testing_support::Definitions()).ok());
  list.query = {{"_count", "0"}};
  EXPECT_EQ(feed_.ListPending(list).error().message_id(), "station.invalid-query");
}

TEST_F(DeviceFeedTest, UnreadableBatch) {
  auto answer = feed_.Receive(Request("not json"));
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().http_status(), 400);
  EXPECT_EQ(answer.error().message_id(), "station.invalid-batch");
}

}  // namespace
}  // namespace connectors::device_feed
