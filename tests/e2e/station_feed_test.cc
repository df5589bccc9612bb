// End-to-end: the station device feed of the real fhirhub binary (`--auth dev`): a vendor batch
// of valid and invalid measurements answered item by item, retries that duplicate nothing,
// measurements of unknown residents kept pending until their Patient is created (the periodic
// sweep) or an operator resolves or discards them, and the roles that may use the feed.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/server_process.h"
#include "tests/support/server_suite.h"

namespace {

using testing_support::Answer;
using testing_support::Call;

constexpr char kIdCard[] = "urn:oid:2.16.156.10011.1.3";
constexpr char kKnownCard[] = "11010519491231002X";
constexpr char kHealthRecord[] = "urn:fhirhub:health-record-number";

struct FeedArgs {
  static std::vector<std::string> ServerArgs() {
    return {"--auth", "dev", "--token-clock-skew", "0", "--station-sweep-seconds", "1"};
  }
};

class StationFeedTest : public testing_support::ServerSuite<::testing::Test, FeedArgs> {
 protected:
  static void SetUpTestSuite() {
    ServerSuite::SetUpTestSuite();
    if (!server().ok()) return;
    tokens_ = new std::map<std::string, std::string>();
    for (const char* role : {"administrator", "station-operator", "clinician", "connector"}) {
      (*tokens_)[role] = Token(std::string("--role ") + role);
    }
    Answer put = Send("PUT", "/fhir/Patient/res1", "administrator",
                      std::string(R"({"resourceType":"Patient","id":"res1","identifier":[)") +
                          R"({"system":")" + kIdCard + R"(","value":")" + kKnownCard + R"("}]})");
    ASSERT_TRUE(put.status == 200 || put.status == 201) << put.body;
  }
  static void TearDownTestSuite() {
    delete tokens_;
    tokens_ = nullptr;
    ServerSuite::TearDownTestSuite();
  }
  void SetUp() override { ASSERT_TRUE(server().ok()); }

  static std::string Token(const std::string& args) {
    std::string output;
    const int status = testing_support::RunCommand(
        std::string(FHIRHUB_BINARY) + " token --data-dir " + server().data_dir() + " " + args,
        output);
    EXPECT_EQ(status, 0) << output;
    while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
    return output;
  }

  static Answer Send(const std::string& method, const std::string& path, const std::string& role,
                     const std::string& body = "",
                     const std::string& type = "application/fhir+json") {
    return Call(Port(), method, path, body, type,
                {{"Authorization", "Bearer " + tokens_->at(role)}});
  }

  static Answer Feed(const std::string& batch, const std::string& role = "station-operator") {
    return Send("POST", "/fhir/station-feed", role, batch, "application/json");
  }

  // A batch of station ST-E2E; each item is (id, type, resident type, resident value, value
  // JSON, unit).
  struct Item {
    std::string id, type, resident_type, resident, value, unit;
  };
  static std::string Batch(const std::vector<Item>& items) {
    std::string json =
        R"({"station":{"id":"ST-E2E","name":"E2E station"},"device":{"serial":"SN-1","model":"M1"},"items":[)";
    for (std::size_t i = 0; i < items.size(); ++i) {
      const Item& item = items[i];
      json += std::string(i > 0 ? "," : "") + R"({"id":")" + item.id + R"(","type":")" + item.type +
              R"(","resident":{"type":")" + item.resident_type + R"(","value":")" + item.resident +
              R"("},"value":)" + item.value +
              (item.unit.empty() ? "" : R"(,"unit":")" + item.unit + "\"") +
              R"(,"time":"2026-11-22T09:30:00+08:00"})";
    }
    return json + "]}";
  }

  // Per entry of a batch-response: its status, location and first issue's expression.
  struct Result {
    std::string status, location, expression;
  };
  static std::vector<Result> Results(const Answer& answer) {
    std::vector<Result> out;
    rapidjson::Document doc;
    doc.Parse(answer.body.c_str());
    if (!doc.IsObject() || !doc.HasMember("entry")) return out;
    for (const auto& entry : doc["entry"].GetArray()) {
      const auto& response = entry["response"];
      Result result{response["status"].GetString(), "", ""};
      if (response.HasMember("location")) result.location = response["location"].GetString();
      if (response.HasMember("outcome")) {
        const auto& issue = response["outcome"]["issue"][0];
        if (issue.HasMember("expression")) result.expression = issue["expression"][0].GetString();
      }
      out.push_back(result);
    }
    return out;
  }

  // The Observations of a measurement id of ST-E2E, as the administrator finds them.
  static rapidjson::Document Observations(const std::string& id) {
    Answer found =
        Send("GET", "/fhir/Observation?identifier=urn:fhirhub:station-feed:ST-E2E%7C" + id,
             "administrator");
    EXPECT_EQ(found.status, 200) << found.body;
    rapidjson::Document doc;
    doc.Parse(found.body.c_str());
    return doc;
  }
  static std::size_t CountOf(const std::string& id) {
    rapidjson::Document doc = Observations(id);
    return doc.IsObject() && doc.HasMember("entry") ? doc["entry"].Size() : 0;
  }

  static inline std::map<std::string, std::string>* tokens_ = nullptr;
};

TEST_F(StationFeedTest, MixedBatchIsAnsweredPerItem) {
  const std::string batch = Batch({
      {"mix-1", "blood-pressure", "id-card", kKnownCard, R"({"systolic":17.3,"diastolic":10.9})",
       "kPa"},
      {"mix-2", "glucose", "id-card", kKnownCard, "900", "mmol/L"},
      {"mix-3", "weight", "health-record", "HR-MIX-UNKNOWN", "130", "jin"},
      {"mix-4", "spo2", "id-card", "110105194912310021", "97", "%"},
  });
  Answer answer = Feed(batch);
  ASSERT_EQ(answer.status, 200) << answer.body;
  const std::vector<Result> results = Results(answer);
  ASSERT_EQ(results.size(), 4u) << answer.body;
  EXPECT_EQ(results[0].status, "201 Created");
  EXPECT_TRUE(results[0].location.find("/Observation/") != std::string::npos)
      << results[0].location;
  EXPECT_EQ(results[1].status, "422");
  EXPECT_EQ(results[1].expression, "items[1].value");
  EXPECT_EQ(results[2].status, "202 Accepted");
  EXPECT_TRUE(results[2].location.starts_with("station-feed/pending/")) << results[2].location;
  EXPECT_EQ(results[3].status, "422");
  EXPECT_EQ(results[3].expression, "items[3].resident.value");

  rapidjson::Document found = Observations("mix-1");
  ASSERT_EQ(found["entry"].Size(), 1u);
  const auto& observation = found["entry"][0]["resource"];
  EXPECT_STREQ(observation["subject"]["reference"].GetString(), "Patient/res1");
  EXPECT_STREQ(observation["code"]["coding"][0]["code"].GetString(), "85354-9");
  EXPECT_STREQ(observation["component"][0]["code"]["coding"][0]["code"].GetString(), "8480-6");
  EXPECT_EQ(observation["component"][0]["valueQuantity"]["value"].GetInt(), 130);
  EXPECT_STREQ(observation["component"][0]["valueQuantity"]["code"].GetString(), "mm[Hg]");
  EXPECT_STREQ(observation["device"]["identifier"]["value"].GetString(), "SN-1");
  EXPECT_STREQ(observation["performer"][0]["identifier"]["value"].GetString(), "ST-E2E");
  EXPECT_EQ(CountOf("mix-2"), 0u);
}

TEST_F(StationFeedTest, RetriedBatchDuplicatesNothing) {
  const std::string batch = Batch({
      {"retry-1", "temperature", "id-card", kKnownCard, "36.6", "Cel"},
      {"retry-2", "height", "health-record", "HR-RETRY-UNKNOWN", "1.7", "m"},
  });
  const std::vector<Result> first = Results(Feed(batch));
  const std::vector<Result> second = Results(Feed(batch));
  ASSERT_EQ(first.size(), 2u);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(first[0].status, "201 Created");
  EXPECT_EQ(second[0].status, "200 OK");
  EXPECT_EQ(second[0].location, first[0].location);
  EXPECT_EQ(first[1].status, "202 Accepted");
  EXPECT_EQ(second[1].location, first[1].location);
  EXPECT_EQ(CountOf("retry-1"), 1u);
}

TEST_F(StationFeedTest, PendingMeasurementIsWrittenOnceThePatientExists) {
  Answer answer = Feed(Batch({{"late-1", "heart-rate", "health-record", "HR-LATE", "70", "/min"}}));
  ASSERT_EQ(Results(answer).at(0).status, "202 Accepted") << answer.body;
  Answer pending = Send("GET", "/fhir/station-feed/pending", "station-operator");
  ASSERT_EQ(pending.status, 200) << pending.body;
  EXPECT_NE(pending.body.find("HR-LATE"), std::string::npos);

  Answer created = Send("POST", "/fhir/Patient", "administrator",
                        std::string(R"({"resourceType":"Patient","identifier":[{"system":")") +
                            kHealthRecord + R"(","value":"HR-LATE"}]})");
  ASSERT_EQ(created.status, 201) << created.body;
  // The sweep runs every second; the measurement appears within a few.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (CountOf("late-1") == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(CountOf("late-1"), 1u);
  pending = Send("GET", "/fhir/station-feed/pending", "station-operator");
  EXPECT_EQ(pending.body.find("HR-LATE"), std::string::npos) << pending.body;
  // The vendor's retry now finds it written.
  answer = Feed(Batch({{"late-1", "heart-rate", "health-record", "HR-LATE", "70", "/min"}}));
  EXPECT_EQ(Results(answer).at(0).status, "200 OK") << answer.body;
  EXPECT_EQ(CountOf("late-1"), 1u);
}

TEST_F(StationFeedTest, OperatorResolvesAndDiscards) {
  Answer answer = Feed(Batch({
      {"op-1", "spo2", "insurance-card", "IC-OP-1", "96", "%"},
      {"op-2", "spo2", "insurance-card", "IC-OP-2", "95", "%"},
  }));
  const std::vector<Result> results = Results(answer);
  ASSERT_EQ(results.size(), 2u) << answer.body;
  const std::string resolve = "/fhir/" + results[0].location + "/$resolve?patient=Patient/res1";
  Answer unknown_patient =
      Send("POST", "/fhir/" + results[0].location + "/$resolve?patient=Patient/nobody",
           "station-operator");
  EXPECT_EQ(unknown_patient.status, 400) << unknown_patient.body;
  Answer resolved = Send("POST", resolve, "station-operator");
  ASSERT_EQ(resolved.status, 200) << resolved.body;
  EXPECT_EQ(Results(resolved).at(0).status, "201 Created");
  EXPECT_EQ(CountOf("op-1"), 1u);
  EXPECT_EQ(Observations("op-1")["entry"][0]["resource"]["subject"]["reference"].GetString(),
            std::string("Patient/res1"));
  EXPECT_EQ(Send("POST", resolve, "station-operator").status, 404);
  // The vendor's retry of the resolved measurement finds it written; nothing is queued again.
  Answer retried = Feed(Batch({{"op-1", "spo2", "insurance-card", "IC-OP-1", "96", "%"}}));
  EXPECT_EQ(Results(retried).at(0).status, "200 OK") << retried.body;
  EXPECT_EQ(CountOf("op-1"), 1u);

  EXPECT_EQ(Send("DELETE", "/fhir/" + results[1].location, "station-operator").status, 204);
  EXPECT_EQ(Send("DELETE", "/fhir/" + results[1].location, "station-operator").status, 404);
  EXPECT_EQ(CountOf("op-2"), 0u);
}

TEST_F(StationFeedTest, OnlyItsRolesReachTheFeed) {
  const std::string batch = Batch({{"role-1", "spo2", "id-card", kKnownCard, "99", "%"}});
  EXPECT_EQ(Feed(batch, "clinician").status, 403);
  EXPECT_EQ(Send("GET", "/fhir/station-feed/pending", "clinician").status, 403);
  EXPECT_EQ(Send("GET", "/fhir/station-feed/pending", "connector").status, 403);
  Answer anonymous = Call(Port(), "POST", "/fhir/station-feed", batch, "application/json");
  EXPECT_EQ(anonymous.status, 401);
  Answer by_connector = Feed(batch, "connector");
  EXPECT_EQ(by_connector.status, 200) << by_connector.body;
  EXPECT_EQ(CountOf("role-1"), 1u);
}

TEST_F(StationFeedTest, UnreadableBatchIsRefusedWhole) {
  Answer answer = Feed(R"({"station":{"id":"ST-E2E"},"items":"none"})");
  EXPECT_EQ(answer.status, 400);
  EXPECT_NE(answer.body.find("station.invalid-batch"), std::string::npos) << answer.body;
  EXPECT_NE(answer.body.find("\"items\""), std::string::npos) << answer.body;
}

}  // namespace
