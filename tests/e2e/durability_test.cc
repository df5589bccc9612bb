// End-to-end: crash durability. A server on a data directory the test keeps takes a write load
// from several threads (creates with distinct content, and updates of a few shared resources so
// that versions pile up) and is killed with SIGKILL in the middle of it: alone, or together with
// its PostgreSQL as in a machine crash. A new server on the same directory must then show every
// acknowledged write with the acknowledged content, gapless version histories, and nothing
// half-written: every stored version carries a complete marker of a request the test sent.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fhir/element.h"
#include "fhir/json/json.h"
#include "tests/support/http_client.h"
#include "tests/support/server_process.h"
#include "tests/support/test_definitions.h"

namespace {

using testing_support::Answer;
using testing_support::Call;
using testing_support::ServerProcess;

constexpr int kThreads = 4;
constexpr int kSharedPatients = 3;
constexpr char kSystem[] = "urn:fhirhub:durability";

// One request of the load, and what the server acknowledged for it.
struct Write {
  std::string type;  // Patient or Observation
  std::string id;    // the target of an update; the new id of an acknowledged create
  std::string marker;
  bool update = false;
  int status = 0;  // 0: no answer (the connection failed)
  int version = 0;
  bool acknowledged() const { return status >= 200 && status < 300; }
};

// Each resource carries its marker at the start (identifier), in the middle and, with ":end", in
// its last element, with padding in between: a version cut short or mixed with another fails
// CompleteMarker.
std::string Padding(const std::string& marker) {
  std::string padding;
  for (int i = 0; i < 80; ++i) padding += marker + "/" + std::to_string(i) + " ";
  return padding;
}

std::string PatientJson(const std::string& marker, const std::string& id = "") {
  std::string json = R"({"resourceType":"Patient",)";
  if (!id.empty()) json += R"("id":")" + id + R"(",)";
  return json + R"("identifier":[{"system":")" + kSystem + R"(","value":")" + marker +
         R"("}],"name":[{"family":")" + marker + R"(","given":[")" + Padding(marker) +
         R"("]}],"address":[{"text":")" + marker + R"(:end"}]})";
}

std::string ObservationJson(const std::string& marker) {
  return R"({"resourceType":"Observation","identifier":[{"system":")" + std::string(kSystem) +
         R"(","value":")" + marker + R"("}],"status":"final","code":{"text":")" + marker +
         R"("},"valueString":")" + Padding(marker) + R"(","note":[{"text":")" + marker +
         R"(:end"}]})";
}

std::string Value(const fhir::Node* node, std::initializer_list<std::string_view> path) {
  for (std::string_view name : path) {
    if (node == nullptr) return "";
    node = node->Child(name);
  }
  return node != nullptr && node->has_value ? std::string(node->value) : "";
}

// The marker of a resource (the root node of a Patient or Observation), or nullopt when its
// parts do not agree.
std::optional<std::string> CompleteMarker(const fhir::Node* resource) {
  const std::string marker = Value(resource, {"identifier", "value"});
  if (marker.empty()) return std::nullopt;
  const std::string type = resource->type != nullptr ? resource->type->name : "";
  bool complete = false;
  if (type == "Patient") {
    complete = Value(resource, {"name", "family"}) == marker &&
               Value(resource, {"name", "given"}) == Padding(marker) &&
               Value(resource, {"address", "text"}) == marker + ":end";
  } else if (type == "Observation") {
    complete = Value(resource, {"code", "text"}) == marker &&
               Value(resource, {"value"}) == Padding(marker) &&
               Value(resource, {"note", "text"}) == marker + ":end";
  }
  if (!complete) return std::nullopt;
  return marker;
}

class DurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Short, under /tmp: the cluster's socket path must stay within 107 bytes.
    char dir[] = "/tmp/fhirhub-dur-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    seed_ = std::random_device{}();
    std::printf("random seed %u\n", seed_);
  }
  void TearDown() override {
    server_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // Progress with the time since the test began, to see where a slow run spends it.
  void Phase(const char* what) const {
    std::printf("%6.1f s  %s\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - began_).count(),
                what);
  }

  void StartServer() {
    server_ = ServerProcess::OnDataDir(FHIRHUB_BINARY, dir_,
                                       {"--fhir-package", testing_support::PackageDir().string()});
    ASSERT_TRUE(server_->ok()) << "fhirhub did not start on " << dir_;
    Phase("server started");
  }

  // Creates the resources that the load updates concurrently.
  void CreateSharedPatients() {
    for (int i = 0; i < kSharedPatients; ++i) {
      Write write{.type = "Patient", .marker = "shared-" + std::to_string(i) + "-v1"};
      Answer created = Call(server_->port(), "POST", "/fhir/Patient", PatientJson(write.marker));
      ASSERT_EQ(created.status, 201) << created.body;
      write.status = created.status;
      Acknowledge(write, created);
      ASSERT_FALSE(write.id.empty());
      shared_.push_back(write.id);
      writes_.push_back(write);
    }
  }

  // Fills in the id and version of an answered write from the resource in the answer, which
  // must carry the write's own marker.
  static void Acknowledge(Write& write, const Answer& answer) {
    auto resource = fhir::json::Parse(answer.body, testing_support::Definitions());
    ASSERT_TRUE(resource.ok()) << answer.body;
    EXPECT_EQ(CompleteMarker(resource->root()), write.marker) << answer.body;
    write.id = Value(resource->root(), {"id"});
    write.version = std::atoi(Value(resource->root(), {"meta", "versionId"}).c_str());
  }

  // Runs the load until `threshold` writes were acknowledged, then calls `crash` while the
  // threads keep sending, and collects every request they made.
  void LoadAndCrash(const std::function<void()>& crash) {
    std::mt19937 pick_threshold(seed_);
    const int threshold = std::uniform_int_distribution<int>(40, 160)(pick_threshold);
    std::printf("crash after %d acknowledged writes\n", threshold);
    std::atomic<bool> stop{false};
    std::mutex mutex;
    std::condition_variable progress;
    int acknowledged = 0;
    std::vector<std::vector<Write>> per_thread(kThreads);
    std::vector<std::thread> threads;
    const int port = server_->port();
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937 random(seed_ + static_cast<unsigned>(t) + 1);
        for (int k = 0; !stop.load(); ++k) {
          Write write;
          write.marker = "t" + std::to_string(t) + "-" + std::to_string(k);
          const int kind = std::uniform_int_distribution<int>(0, 9)(random);
          std::string method = "POST";
          std::string uri;
          std::string body;
          if (kind < 4) {
            write.type = "Patient";
            uri = "/fhir/Patient";
            body = PatientJson(write.marker);
          } else if (kind < 7) {
            write.type = "Observation";
            uri = "/fhir/Observation";
            body = ObservationJson(write.marker);
          } else {
            write.type = "Patient";
            write.update = true;
            write.id = shared_[std::uniform_int_distribution<int>(0, kSharedPatients - 1)(random)];
            method = "PUT";
            uri = "/fhir/Patient/" + write.id;
            body = PatientJson(write.marker, write.id);
          }
          try {
            Answer answer = Call(port, method, uri, body);
            write.status = answer.status;
            if (write.acknowledged()) Acknowledge(write, answer);
          } catch (const std::exception&) {
            // The server is gone: this write has no answer, and nor would the next.
            per_thread[t].push_back(write);
            break;
          }
          per_thread[t].push_back(write);
          if (write.acknowledged()) {
            std::lock_guard lock(mutex);
            ++acknowledged;
            progress.notify_all();
          }
        }
      });
    }
    bool reached = false;
    {
      std::unique_lock lock(mutex);
      reached = progress.wait_for(lock, std::chrono::seconds(30),
                                  [&] { return acknowledged >= threshold; });
    }
    crash();
    Phase("crashed");
    stop = true;
    for (std::thread& thread : threads) thread.join();
    for (auto& writes : per_thread) writes_.insert(writes_.end(), writes.begin(), writes.end());
    ASSERT_TRUE(reached) << "the load did not reach " << threshold << " acknowledged writes";
    int answered = 0;
    for (const Write& write : writes_) {
      if (write.acknowledged()) ++answered;
      EXPECT_FALSE(write.status >= 400 && write.status < 500)
          << write.marker << " answered " << write.status;
    }
    std::printf("%zu writes sent, %d acknowledged\n", writes_.size(), answered);
  }

  // The pid in the lock file of the server's PostgreSQL.
  pid_t PostmasterPid() const {
    std::ifstream in(std::filesystem::path(dir_) / "pgdata" / "postmaster.pid");
    pid_t pid = -1;
    in >> pid;
    return pid;
  }

  // Every version of every resource, from the system history, checked for a complete marker.
  // Keys: type/id -> version -> marker.
  std::map<std::string, std::map<int, std::string>> AllVersions() {
    std::map<std::string, std::map<int, std::string>> versions;
    const std::string origin = server_->base_url().substr(0, server_->base_url().rfind("/fhir"));
    std::string uri = "/fhir/_history?_count=1000";
    while (!uri.empty()) {
      Answer page = Call(server_->port(), "GET", uri);
      EXPECT_EQ(page.status, 200) << page.body;
      auto bundle = fhir::json::Parse(page.body, testing_support::Definitions());
      EXPECT_TRUE(bundle.ok()) << "a history page does not parse: " << page.body;
      if (page.status != 200 || !bundle.ok()) break;
      for (const fhir::Node* entry : bundle->root()->Children("entry")) {
        const fhir::Node* resource = entry->Child("resource");
        EXPECT_NE(resource, nullptr) << "no resource in a history entry (nothing is deleted)";
        if (resource == nullptr) continue;
        const std::string key = std::string(resource->type->name) + "/" + Value(resource, {"id"});
        const int version = std::atoi(Value(resource, {"meta", "versionId"}).c_str());
        auto marker = CompleteMarker(resource);
        EXPECT_TRUE(marker.has_value()) << key << " version " << version << " is incomplete";
        EXPECT_TRUE(versions[key].emplace(version, marker.value_or("")).second)
            << key << " version " << version << " is there twice";
      }
      uri.clear();
      for (const fhir::Node* link : bundle->root()->Children("link")) {
        if (Value(link, {"relation"}) == "next") uri = Value(link, {"url"}).substr(origin.size());
      }
    }
    return versions;
  }

  // After the restart: what was acknowledged is there as acknowledged; every version of every
  // resource is complete and comes from a request the test sent; histories have no gaps.
  void CheckAfterRestart() {
    std::map<std::string, const Write*> sent;  // by marker
    std::map<std::pair<std::string, int>, std::string> acknowledged_versions;
    for (const Write& write : writes_) {
      sent[write.marker] = &write;
      if (!write.acknowledged()) continue;
      EXPECT_TRUE(
          acknowledged_versions.emplace(std::pair(write.id, write.version), write.marker).second)
          << "version " << write.version << " of " << write.id << " was acknowledged twice";
      // By version: the shared resources have moved on since their creation.
      const std::string uri =
          "/fhir/" + write.type + "/" + write.id + "/_history/" + std::to_string(write.version);
      Answer read = Call(server_->port(), "GET", uri);
      ASSERT_EQ(read.status, 200) << "acknowledged " << write.marker << " lost: GET " << uri;
      auto resource = fhir::json::Parse(read.body, testing_support::Definitions());
      ASSERT_TRUE(resource.ok()) << read.body;
      EXPECT_EQ(CompleteMarker(resource->root()), write.marker) << read.body;
      EXPECT_EQ(Value(resource->root(), {"meta", "versionId"}), std::to_string(write.version));
    }

    Phase("acknowledged writes read back");
    const auto versions = AllVersions();
    std::set<std::string> seen;
    std::size_t stored = 0;
    for (const auto& [key, by_version] : versions) {
      stored += by_version.size();
      int expected = 1;
      for (const auto& [version, marker] : by_version) {
        EXPECT_EQ(version, expected++) << key << " has a gap in its versions";
        auto it = sent.find(marker);
        if (it == sent.end()) {
          ADD_FAILURE() << key << " version " << version << " holds '" << marker
                        << "', which no request sent";
          continue;
        }
        const Write& write = *it->second;
        EXPECT_TRUE(seen.insert(marker).second) << marker << " is stored twice";
        EXPECT_EQ(write.update, version > 1) << key << " version " << version << ": " << marker;
        // An update names its target, and an acknowledged create learnt its id.
        if (write.update || write.acknowledged()) {
          EXPECT_EQ(key, write.type + "/" + write.id) << marker;
        }
        if (write.acknowledged()) {
          EXPECT_EQ(version, write.version) << marker;
        }
      }
    }
    for (const std::string& id : shared_) {
      auto it = versions.find("Patient/" + id);
      ASSERT_NE(it, versions.end());
      // The instance history too: versions n..1, newest first, each once.
      Answer history =
          Call(server_->port(), "GET", "/fhir/Patient/" + id + "/_history?_count=1000");
      ASSERT_EQ(history.status, 200) << history.body;
      auto bundle = fhir::json::Parse(history.body, testing_support::Definitions());
      ASSERT_TRUE(bundle.ok()) << history.body;
      std::vector<int> listed;
      for (const fhir::Node* entry : bundle->root()->Children("entry")) {
        listed.push_back(std::atoi(Value(entry, {"resource", "meta", "versionId"}).c_str()));
      }
      std::vector<int> expected(it->second.size());
      for (std::size_t i = 0; i < expected.size(); ++i) {
        expected[i] = static_cast<int>(expected.size() - i);
      }
      EXPECT_EQ(listed, expected) << "history of Patient/" << id;
      Answer current = Call(server_->port(), "GET", "/fhir/Patient/" + id);
      EXPECT_EQ(current.Header("etag"), "W/\"" + std::to_string(it->second.size()) + "\"");
      std::printf("Patient/%s has %zu versions\n", id.c_str(), it->second.size());
    }
    std::printf("%zu versions stored after the restart\n", stored);
    Phase("checked");
  }

  std::string dir_;
  const std::chrono::steady_clock::time_point began_ = std::chrono::steady_clock::now();
  unsigned seed_ = 0;
  std::unique_ptr<ServerProcess> server_;
  std::vector<std::string> shared_;
  std::vector<Write> writes_;
};

TEST_F(DurabilityTest, AcknowledgedWritesSurviveTheServerBeingKilled) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(CreateSharedPatients());
  // Its PostgreSQL is orphaned: it shuts down on the signal the death of its parent sends, and
  // may still be running when the next server starts.
  ASSERT_NO_FATAL_FAILURE(LoadAndCrash([this] { server_->Kill(); }));
  ASSERT_NO_FATAL_FAILURE(StartServer());
  CheckAfterRestart();
}

TEST_F(DurabilityTest, AcknowledgedWritesSurviveAMachineCrash) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(CreateSharedPatients());
  const pid_t postmaster = PostmasterPid();
  ASSERT_GT(postmaster, 0);
  // The postmaster leads a process group of all its processes: killing the group stops
  // PostgreSQL at once, with no shutdown of any kind, as a power cut would; then fhirhub.
  ASSERT_NO_FATAL_FAILURE(LoadAndCrash([&] {
    EXPECT_EQ(kill(-postmaster, SIGKILL), 0);
    server_->Kill();
  }));
  ASSERT_NO_FATAL_FAILURE(StartServer());
  CheckAfterRestart();
}

}  // namespace
