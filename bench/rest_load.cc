// rest_load: drives a running fhirhub over HTTP/1.1 on loopback and reports requests per second,
// latency percentiles and errors. bench/rest_load.sh runs it beside pgbench on the same
// PostgreSQL; docs/performance.md has the commands and figures.
//
//   rest_load --port PORT [--mode read|create|crud|show] [--concurrency 16] [--duration 15]
//             [--requests N] [--ids 1000] [--host 127.0.0.1] [--base /fhir] [--client raw|poco]
//
// Each of `concurrency` threads keeps one keep-alive connection and sends one request at a time.
//   read    GET Patient/{id}, ids drawn at random from `ids` Patients created beforehand
//   create  POST Observation (a blood-pressure panel of about 1 kB) referring to a Patient
//           created beforehand
//   crud    per iteration, 36 requests: create a Patient and 8 resources referring to it
//           (rest_load_resources.h), read each, update each, delete each (the Patient last)
//   show    prints the bodies one CRUD iteration creates, one per line, and exits
// The timed phase ends after `duration` seconds, or after `requests` requests when given; set-up
// requests are not counted. Any answer other than 2xx, and any failed exchange, is an error: the
// first few are printed, and the exit status is 1 when there was any.
//
// The last line is machine-readable for the script:
//   RESULT mode=M requests=N seconds=S rps=R p50_ms=A p95_ms=B p99_ms=C errors=E reconnects=K
#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/rest_load_client.h"
#include "bench/rest_load_resources.h"

namespace bench {
namespace {

using Clock = std::chrono::steady_clock;

enum class Mode { kRead, kCreate, kCrud, kShow };
enum Method { kGet, kPost, kPut, kDelete, kMethodCount };
constexpr std::string_view kMethodNames[kMethodCount] = {"GET", "POST", "PUT", "DELETE"};
constexpr int kErrorSamples = 5;

struct Options {
  Mode mode = Mode::kRead;
  std::string mode_name = "read";
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string base = "/fhir";
  int concurrency = 16;
  double duration_seconds = 15;
  long long requests = 0;  // 0: bounded by duration
  int ids = 1000;
  bool poco = false;
};

[[noreturn]] void Usage(const char* message) {
  std::fprintf(stderr,
               "rest_load: %s\nusage: rest_load --port PORT [--mode read|create|crud|show] "
               "[--concurrency N] [--duration SECONDS] [--requests N] [--ids N] [--host HOST] "
               "[--base PATH] [--client raw|poco]\n",
               message);
  std::exit(2);
}

long long Number(const char* name, const char* text, long long min, long long max) {
  char* end = nullptr;
  long long value = std::strtoll(text, &end, 10);
  if (*text == '\0' || *end != '\0' || value < min || value > max) {
    Usage((std::string(name) + " must be a number from " + std::to_string(min) + " to " +
           std::to_string(max))
              .c_str());
  }
  return value;
}

Options ParseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i += 2) {
    const std::string_view name = argv[i];
    if (i + 1 >= argc) Usage(("missing value of " + std::string(name)).c_str());
    const char* value = argv[i + 1];
    if (name == "--mode") {
      static const std::map<std::string_view, Mode> modes = {{"read", Mode::kRead},
                                                             {"create", Mode::kCreate},
                                                             {"crud", Mode::kCrud},
                                                             {"show", Mode::kShow}};
      auto found = modes.find(value);
      if (found == modes.end()) Usage("unknown --mode");
      o.mode = found->second;
      o.mode_name = value;
    } else if (name == "--host") {
      o.host = value;
    } else if (name == "--port") {
      o.port = static_cast<uint16_t>(Number("--port", value, 1, 65535));
    } else if (name == "--base") {
      o.base = value;
    } else if (name == "--concurrency") {
      o.concurrency = static_cast<int>(Number("--concurrency", value, 1, 4096));
    } else if (name == "--duration") {
      o.duration_seconds = static_cast<double>(Number("--duration", value, 1, 86400));
    } else if (name == "--requests") {
      o.requests = Number("--requests", value, 1, 1LL << 40);
    } else if (name == "--ids") {
      o.ids = static_cast<int>(Number("--ids", value, 1, 10000000));
    } else if (name == "--client") {
      if (std::string_view(value) != "raw" && std::string_view(value) != "poco") {
        Usage("--client must be raw or poco");
      }
      o.poco = std::string_view(value) == "poco";
    } else {
      Usage(("unknown option " + std::string(name)).c_str());
    }
  }
  if (o.mode != Mode::kShow && o.port == 0) Usage("--port is required");
  return o;
}

// The id in a Location header (".../Type/{id}/_history/{vid}") or, without one, in the body.
std::string IdOf(const HttpAnswer& answer) {
  std::string_view location = answer.location;
  if (size_t history = location.rfind("/_history/"); history != std::string_view::npos) {
    location = location.substr(0, history);
  }
  if (size_t slash = location.rfind('/'); slash != std::string_view::npos) {
    return std::string(location.substr(slash + 1));
  }
  size_t key = answer.body.find(R"("id":")");
  if (key == std::string::npos) return "";
  size_t start = key + 6;
  return answer.body.substr(start, answer.body.find('"', start) - start);
}

struct Shared {
  explicit Shared(const Options& options)
      : sync(options.concurrency + 1), remaining(options.requests) {}
  std::barrier<> sync;
  Clock::time_point deadline;
  std::atomic<long long> remaining;  // requests left when bounded by a count
  bool abort = false;                // set-up failed: the timed phase sends nothing
  std::vector<std::string> ids;      // Patients created for read and create modes
  std::mutex ids_mu;
};

class Worker {
 public:
  Worker(const Options& options, int index, Shared& shared)
      : options_(options),
        index_(index),
        shared_(shared),
        client_(options.poco ? MakePocoClient(options.host, options.port)
                             : MakeRawClient(options.host, options.port)),
        random_(static_cast<uint32_t>(index) * 7919u + 1u),
        variant_(static_cast<uint64_t>(index) * 1000000007ull) {}

  void Run() {
    SetUp();
    shared_.sync.arrive_and_wait();  // set-up done
    shared_.sync.arrive_and_wait();  // deadline set: go
    timed_ = true;
    switch (options_.mode) {
      case Mode::kRead:
        while (Read()) {
        }
        break;
      case Mode::kCreate:
        while (Create()) {
        }
        break;
      case Mode::kCrud:
        while (CrudIteration()) {
        }
        break;
      case Mode::kShow:
        break;
    }
  }

  const std::vector<uint32_t>& latencies(Method m) const { return latencies_[m]; }
  uint64_t errors() const { return errors_; }
  uint64_t reconnects() const { return client_->reconnects(); }
  const std::vector<std::string>& error_samples() const { return error_samples_; }

 private:
  // Patients for read (this thread's share of `ids`) and create (one per thread).
  void SetUp() {
    if (options_.mode == Mode::kCrud) return;
    int count = options_.mode == Mode::kCreate ? 1 : options_.ids / options_.concurrency;
    if (options_.mode == Mode::kRead && index_ < options_.ids % options_.concurrency) ++count;
    std::vector<std::string> mine;
    for (int i = 0; i < count; ++i) {
      Render(Kind::kPatient, "", "", "", ++variant_, body_);
      if (!Send(kPost, options_.base + "/Patient", body_)) continue;
      mine.push_back(IdOf(answer_));
    }
    std::lock_guard lock(shared_.ids_mu);
    shared_.ids.insert(shared_.ids.end(), mine.begin(), mine.end());
    if (options_.mode == Mode::kCreate && !mine.empty()) patient_ = mine.front();
  }

  bool Stopping() {
    if (shared_.abort) return true;
    if (options_.requests > 0) return shared_.remaining.fetch_sub(1) <= 0;
    return Clock::now() >= shared_.deadline;
  }

  // Sends one request; false when it failed or the answer was not 2xx (an error, counted).
  bool Send(Method method, const std::string& target, const std::string& body) {
    const auto start = Clock::now();
    const bool sent = client_->Send(kMethodNames[method], target, body, answer_);
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
    if (timed_) latencies_[method].push_back(static_cast<uint32_t>(micros));
    if (sent && answer_.status >= 200 && answer_.status < 300) return true;
    ++errors_;
    if (error_samples_.size() < kErrorSamples) {
      std::string sample = std::string(kMethodNames[method]) + " " + target + ": ";
      if (sent) {
        sample += std::to_string(answer_.status) + " " + answer_.body.substr(0, 300);
      } else {
        sample += answer_.error;
      }
      error_samples_.push_back(std::move(sample));
    }
    return false;
  }

  bool Read() {
    if (Stopping()) return false;
    const std::string& id = shared_.ids[random_() % shared_.ids.size()];
    Send(kGet, options_.base + "/Patient/" + id, "");
    return true;
  }

  bool Create() {
    if (Stopping()) return false;
    Render(Kind::kBloodPressure, "", patient_, "", ++variant_, body_);
    Send(kPost, options_.base + "/Observation", body_);
    return true;
  }

  // One CRUD iteration; false once the timed phase is over.
  bool CrudIteration() {
    std::string ids[kRecord.size()];
    std::string paths[kRecord.size()];
    const uint64_t variant = ++variant_;
    for (size_t i = 0; i < kRecord.size(); ++i) {
      if (Stopping()) return false;
      const std::string type(TypeName(kRecord[i]));
      Render(kRecord[i], "", ids[0], i > 1 ? ids[1] : "", variant, body_);
      // A failed create leaves later resources without their reference: start a new iteration.
      if (!Send(kPost, options_.base + "/" + type, body_)) return true;
      ids[i] = IdOf(answer_);
      paths[i] = options_.base + "/" + type + "/" + ids[i];
    }
    for (size_t i = 0; i < kRecord.size(); ++i) {
      if (Stopping()) return false;
      Send(kGet, paths[i], "");
    }
    for (size_t i = 0; i < kRecord.size(); ++i) {
      if (Stopping()) return false;
      Render(kRecord[i], ids[i], ids[0], i > 1 ? ids[1] : "", variant + 1, body_);
      Send(kPut, paths[i], body_);
    }
    // Referring resources first, the Patient last, as a client cleaning up would.
    for (size_t i = kRecord.size(); i-- > 0;) {
      if (Stopping()) return false;
      Send(kDelete, paths[i], "");
    }
    return true;
  }

  const Options& options_;
  const int index_;
  Shared& shared_;
  std::unique_ptr<HttpClient> client_;
  std::minstd_rand random_;
  uint64_t variant_;
  bool timed_ = false;
  std::string patient_;
  std::string body_;
  HttpAnswer answer_;
  std::vector<uint32_t> latencies_[kMethodCount];
  uint64_t errors_ = 0;
  std::vector<std::string> error_samples_;
};

double Percentile(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)] / 1000.0;
}

int Show() {
  std::string body;
  const char* ids[] = {"PATIENT-ID", "ENCOUNTER-ID"};
  for (size_t i = 0; i < kRecord.size(); ++i) {
    Render(kRecord[i], "", i > 0 ? ids[0] : "", i > 1 ? ids[1] : "", 1, body);
    std::printf("%s\n", body.c_str());
  }
  return 0;
}

int Main(int argc, char** argv) {
  const Options options = ParseOptions(argc, argv);
  if (options.mode == Mode::kShow) return Show();

  Shared shared(options);
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::thread> threads;
  for (int i = 0; i < options.concurrency; ++i) {
    workers.push_back(std::make_unique<Worker>(options, i, shared));
  }
  for (auto& worker : workers) threads.emplace_back([&worker] { worker->Run(); });
  shared.sync.arrive_and_wait();
  uint64_t setup_errors = 0;
  for (auto& worker : workers) setup_errors += worker->errors();
  // Without its Patients the timed phase would measure nothing meaningful.
  shared.abort = setup_errors > 0 || (options.mode != Mode::kCrud && shared.ids.empty());
  if (shared.abort) {
    std::fprintf(stderr, "rest_load: %llu errors while creating the Patients to use\n",
                 static_cast<unsigned long long>(setup_errors));
  }
  const auto start = Clock::now();
  shared.deadline = start + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(options.duration_seconds));
  shared.sync.arrive_and_wait();
  for (auto& thread : threads) thread.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  std::vector<uint32_t> all;
  std::vector<uint32_t> by_method[kMethodCount];
  uint64_t errors = 0;
  uint64_t reconnects = 0;
  for (auto& worker : workers) {
    for (int m = 0; m < kMethodCount; ++m) {
      const auto& l = worker->latencies(static_cast<Method>(m));
      by_method[m].insert(by_method[m].end(), l.begin(), l.end());
      all.insert(all.end(), l.begin(), l.end());
    }
    errors += worker->errors();
    reconnects += worker->reconnects();
    for (const auto& sample : worker->error_samples()) {
      std::fprintf(stderr, "rest_load: error: %s\n", sample.c_str());
    }
  }
  std::sort(all.begin(), all.end());
  const double rps = static_cast<double>(all.size()) / seconds;
  std::printf("mode %s, %s client, concurrency %d, %.2f s\n", options.mode_name.c_str(),
              options.poco ? "poco" : "raw", options.concurrency, seconds);
  std::printf("requests %zu (%.1f/s), errors %llu, reconnects %llu\n", all.size(), rps,
              static_cast<unsigned long long>(errors), static_cast<unsigned long long>(reconnects));
  std::printf("latency ms: p50 %.2f  p95 %.2f  p99 %.2f  max %.2f\n", Percentile(all, 0.50),
              Percentile(all, 0.95), Percentile(all, 0.99), Percentile(all, 1.0));
  for (int m = 0; m < kMethodCount; ++m) {
    auto& l = by_method[m];
    if (l.empty()) continue;
    std::sort(l.begin(), l.end());
    std::printf("  %-6s %9zu requests  p50 %.2f  p95 %.2f  p99 %.2f ms\n",
                std::string(kMethodNames[m]).c_str(), l.size(), Percentile(l, 0.50),
                Percentile(l, 0.95), Percentile(l, 0.99));
  }
  std::printf(
      "RESULT mode=%s requests=%zu seconds=%.3f rps=%.1f p50_ms=%.2f p95_ms=%.2f p99_ms=%.2f "
      "errors=%llu reconnects=%llu\n",
      options.mode_name.c_str(), all.size(), seconds, rps, Percentile(all, 0.50),
      Percentile(all, 0.95), Percentile(all, 0.99), static_cast<unsigned long long>(errors),
      static_cast<unsigned long long>(reconnects));
  return errors > 0 || shared.abort ? 1 : 0;
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) { return bench::Main(argc, argv); }
