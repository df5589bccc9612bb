// End-to-end: the audit trail of the real fhirhub binary with development tokens. Requests of
// every kind (reads, searches, writes, history, batch and transaction entries, refused
// authentication, refused access, requests the HTTP side refused before dispatch) leave exactly
// one record each, every record is committed
// before its answer, and a server killed with SIGKILL under a write load loses no record of a
// request it acknowledged. Regulators find records by patient, agent, entity, action and outcome,
// $verify reports the chain intact, and `fhirhub audit export` gives them as NDJSON.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/security/keys.h"
#include "tests/support/http_client.h"
#include "tests/support/server_process.h"
#include "tests/support/test_definitions.h"

namespace {

using testing_support::Answer;
using testing_support::Call;
using testing_support::ServerProcess;

constexpr char kJson[] = "application/fhir+json";

std::string Token(const ServerProcess& server, const std::string& args) {
  std::string output;
  const int status = testing_support::RunCommand(
      std::string(FHIRHUB_BINARY) + " token --data-dir " + server.data_dir() + " " + args, output);
  EXPECT_EQ(status, 0) << output;
  while (!output.empty() && output.back() == '\n') output.pop_back();
  return output;
}

Answer Send(const ServerProcess& server, const std::string& method, const std::string& path,
            const std::string& token, const std::string& body = "") {
  std::map<std::string, std::string> headers;
  if (!token.empty()) headers["Authorization"] = "Bearer " + token;
  return Call(server.port(), method, path, body, kJson, headers);
}

// The resources of a searchset answer.
std::vector<std::string> Resources(const Answer& answer) {
  std::vector<std::string> out;
  rapidjson::Document doc;
  doc.Parse(answer.body.c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("entry")) return out;
  for (const auto& entry : doc["entry"].GetArray()) {
    out.push_back(std::string(entry["resource"]["resourceType"].GetString()) + "/" +
                  entry["resource"]["id"].GetString());
  }
  return out;
}

// The sequence number of the newest audit record.
long long Newest(const ServerProcess& server, const std::string& regulator) {
  Answer newest = Send(server, "GET", "/fhir/AuditEvent?_sort=-date&_count=1", regulator);
  EXPECT_EQ(newest.status, 200) << newest.body;
  std::vector<std::string> found = Resources(newest);
  if (found.empty()) return 0;
  return std::stoll(found.front().substr(found.front().find('/') + 1));
}

std::vector<std::string> DevArgs() {
  return {"--fhir-package", testing_support::PackageDir().string(), "--auth", "dev"};
}

TEST(AuditTrailTest, EveryInteractionLeavesExactlyOneRecord) {
  ServerProcess server(FHIRHUB_BINARY, DevArgs());
  ASSERT_TRUE(server.ok());
  const std::string admin = Token(server, "--role administrator");
  const std::string regulator = Token(server, "--role regulator");
  const std::string reader = Token(server, "--role clinician --scope user/Patient.rs");

  const long long before = Newest(server, regulator);  // its own record comes after it
  const std::string patient = R"({"resourceType":"Patient","id":"au1","name":[{"family":"Li"}]})";
  struct Step {
    std::string method, path, token, body;
    int status;
    int records;
  };
  const std::vector<Step> steps = {
      {"PUT", "/fhir/Patient/au1", admin, patient, 201, 1},
      {"GET", "/fhir/Patient/au1", admin, "", 200, 1},
      {"GET", "/fhir/Patient/au1/_history/1", admin, "", 200, 1},
      {"GET", "/fhir/Patient?name=Li", admin, "", 200, 1},
      {"GET", "/fhir/Patient/au1/_history", admin, "", 200, 1},
      {"POST", "/fhir/Observation", admin,
       R"({"resourceType":"Observation","status":"final","code":{"text":"x"},)"
       R"("subject":{"reference":"Patient/au1"}})",
       201, 1},
      {"GET", "/fhir/Patient/au1", "", "", 401, 1},
      {"GET", "/fhir/Patient/au1", "not-a-token", "", 401, 1},
      {"DELETE", "/fhir/Patient/au1", reader, "", 403, 1},
      {"POST", "/fhir", admin,
       R"({"resourceType":"Bundle","type":"batch","entry":[)"
       R"({"request":{"method":"GET","url":"Patient/au1"}},)"
       R"({"request":{"method":"GET","url":"Patient?name=Li"}}]})",
       200, 3},
      {"POST", "/fhir", admin,
       R"({"resourceType":"Bundle","type":"transaction","entry":[)"
       R"({"request":{"method":"PUT","url":"Patient/au2"},"resource":{"resourceType":"Patient",)"
       R"("id":"au2"}},{"request":{"method":"PUT","url":"Patient/au3"},"resource":{)"
       R"("resourceType":"Patient","id":"au3"}}]})",
       200, 3},
      {"DELETE", "/fhir/Patient/au3", admin, "", 204, 1},
      // Refused by the HTTP side before dispatch: a body that is not JSON, a bad _summary, a path
      // outside the FHIR API.
      {"POST", "/fhir/Patient", admin, "{not json", 400, 1},
      {"GET", "/fhir/Patient?_summary=sometimes", admin, "", 400, 1},
      {"GET", "/wp-login.php", "", "", 404, 1},
  };
  int expected = 1;  // the first Newest's own record
  for (const Step& step : steps) {
    Answer answer = Send(server, step.method, step.path, step.token, step.body);
    EXPECT_EQ(answer.status, step.status) << step.method << " " << step.path << ": " << answer.body;
    expected += step.records;
  }
  // A head over the limit, which never becomes a request.
  std::map<std::string, std::string> fields;
  for (int i = 0; i < 101; ++i) fields["X-F" + std::to_string(i)] = "v";
  EXPECT_EQ(Call(server.port(), "GET", "/fhir/metadata", "", "", fields).status, 431);
  expected += 1;
  EXPECT_EQ(Newest(server, regulator) - before, expected);

  // Found by patient, agent, entity, action and outcome.
  auto count = [&](const std::string& query) {
    return Resources(Send(server, "GET", "/fhir/AuditEvent?_count=1000&" + query, regulator))
        .size();
  };
  EXPECT_GE(count("patient=au1"), 5u);
  EXPECT_GE(count("agent=sub:dev-administrator"), 10u);
  EXPECT_EQ(count("entity=Patient/au3&action=D"), 1u);
  EXPECT_EQ(count("outcome=8&date=ge2020-01-01"), 3u);
  EXPECT_EQ(count("outcome=4&date=ge2020-01-01"), 4u);
  Answer verify = Send(server, "GET", "/fhir/AuditEvent/$verify", regulator);
  ASSERT_EQ(verify.status, 200) << verify.body;
  EXPECT_NE(verify.body.find(R"("name":"intact","valueBoolean":true)"), std::string::npos)
      << verify.body;
  EXPECT_EQ(Send(server, "GET", "/fhir/AuditEvent", admin).status, 200);
  EXPECT_EQ(Send(server, "GET", "/fhir/AuditEvent", reader).status, 403);
  EXPECT_EQ(Send(server, "DELETE", "/fhir/AuditEvent/1", admin).status, 403);
}

TEST(AuditTrailTest, AKilledServerKeepsTheRecordOfEveryAcknowledgedRequest) {
  const std::string dir = "/tmp/fhirhub-audit-kill-" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  auto server = ServerProcess::OnDataDir(FHIRHUB_BINARY, dir, DevArgs());
  ASSERT_TRUE(server->ok());
  const std::string admin = Token(*server, "--role administrator");
  std::mutex mutex;
  std::vector<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        const std::string id = "k" + std::to_string(t) + "-" + std::to_string(i);
        Answer put;
        try {
          put = Send(*server, "PUT", "/fhir/Patient/" + id, admin,
                     R"({"resourceType":"Patient","id":")" + id + R"("})");
        } catch (const std::exception&) {
          return;  // the server is gone
        }
        if (put.status == 201) {
          std::lock_guard lock(mutex);
          acknowledged.push_back(id);
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));
  server->Kill();
  stop = true;
  for (std::thread& writer : writers) writer.join();
  ASSERT_GT(acknowledged.size(), 10u);

  server = ServerProcess::OnDataDir(FHIRHUB_BINARY, dir, DevArgs());
  ASSERT_TRUE(server->ok());
  const std::string regulator = Token(*server, "--role regulator");
  for (const std::string& id : acknowledged) {
    Answer found =
        Send(*server, "GET", "/fhir/AuditEvent?entity=Patient/" + id + "&action=U", regulator);
    ASSERT_EQ(found.status, 200) << found.body;
    EXPECT_EQ(Resources(found).size(), 1u) << "no record of the acknowledged PUT of " << id;
  }
  Answer verify = Send(*server, "GET", "/fhir/AuditEvent/$verify", regulator);
  EXPECT_NE(verify.body.find(R"("name":"intact","valueBoolean":true)"), std::string::npos)
      << verify.body;
  server->Stop();

  // The export for regulators: one AuditEvent per line, each acknowledged PUT among them.
  std::string exported;
  ASSERT_EQ(testing_support::RunCommand(
                std::string(FHIRHUB_BINARY) + " audit export --data-dir " + dir + " 2>/dev/null",
                exported),
            0)
      << exported;
  size_t lines = 0;
  for (size_t at = 0; (at = exported.find("\n", at)) != std::string::npos; ++at) ++lines;
  EXPECT_GE(lines, acknowledged.size());
  EXPECT_EQ(exported.rfind(R"({"resourceType":"AuditEvent","id":"1",)", 0), 0u)
      << exported.substr(0, 200);
  for (const std::string& id : acknowledged) {
    EXPECT_NE(exported.find(R"("reference":"Patient/)" + id + "\""), std::string::npos) << id;
  }
  std::filesystem::remove_all(dir);
}

TEST(AuditTrailTest, TheServerSignsCheckpointsOfTheChain) {
  auto key = server::security::PrivateKey::Generate(server::security::KeyAlgorithm::kEcP256);
  ASSERT_TRUE(key.ok());
  const std::string pem = "/tmp/fhirhub-audit-key-" + std::to_string(getpid()) + ".pem";
  std::ofstream(pem) << key->ToPem();
  std::vector<std::string> args = DevArgs();
  args.insert(args.end(), {"--audit-signing-key", pem, "--audit-checkpoint-seconds", "10"});
  ServerProcess server(FHIRHUB_BINARY, args);
  ASSERT_TRUE(server.ok());
  const std::string regulator = Token(server, "--role regulator");
  ASSERT_EQ(Send(server, "GET", "/fhir/AuditEvent?_count=1", regulator).status, 200);
  // The head moved: within the next period it is signed.
  Answer verify;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  do {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    verify = Send(server, "GET", "/fhir/AuditEvent/$verify", regulator);
  } while (verify.body.find(R"("name":"checkpoints","valueInteger":0)") != std::string::npos &&
           std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(verify.body.find(R"("name":"checkpoints","valueInteger":0)"), std::string::npos)
      << verify.body;
  EXPECT_NE(verify.body.find(R"("name":"intact","valueBoolean":true)"), std::string::npos)
      << verify.body;
  std::filesystem::remove(pem);
}

}  // namespace
