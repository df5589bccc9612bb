// feed_load: drives the station device feed of a running fhirhub over HTTP/1.1 on loopback and
// reports measurements per second, batch latency and errors. bench/feed_load.sh runs it;
// docs/performance.md has the command and figures.
//
//   feed_load --port PORT [--mode feed|batch|transaction] [--concurrency 4] [--batch 50]
//   [--duration 15]
//             [--batches N] [--residents 200] [--host 127.0.0.1] [--base /fhir] [--token JWT]
//
// Before the timed phase it creates (PUT) `residents` Patients with identity card numbers. Each
// of `concurrency` keep-alive connections then sends one batch at a time, each of `batch` new
// measurements (blood pressure, glucose, SpO2, weight, temperature, heart rate in turn) of
// residents taken in turn:
//   feed    POST [base]/station-feed, the vendor JSON batch (docs/station-feed.md)
//   batch        POST [base], the same Observations (mapped by mappings/station, so the ones the
//                feed writes but for their ids) as a FHIR batch Bundle of plain creates (POST),
//                subjects by Patient id: what a REST client would send, the reference for the
//                feed, which also finds the residents' Patients by identifier and the
//                measurements written before by id
//   transaction  the same as a transaction Bundle (one commit, as the feed writes them)
// An answer other than 200, or with fewer "201 Created" entries than measurements, is an error.
// The last line is machine-readable for the script:
//   RESULT mode=M batches=N measurements=K seconds=S mps=R p50_ms=A p99_ms=B errors=E
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/server_address.h"
#include "mappings/station/station_mapping.h"

namespace bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string base = "/fhir";
  std::string mode = "feed";
  std::string token;
  int concurrency = 4;
  int batch = 50;
  double duration = 15;
  long long batches = 0;  // 0: run for `duration`
  int residents = 200;
};

[[noreturn]] void Usage(const char* why) {
  std::fprintf(stderr,
               "feed_load: %s\nusage: feed_load --port PORT [--mode feed|batch|transaction] "
               "[--concurrency 4] "
               "[--batch 50] [--duration 15] [--batches N] [--residents 200] [--host H] "
               "[--base /fhir] [--token JWT]\n",
               why);
  std::exit(2);
}

long long Number(const char* name, const char* text, long long min, long long max) {
  char* end = nullptr;
  const long long value = std::strtoll(text, &end, 10);
  if (*text == '\0' || *end != '\0' || value < min || value > max) {
    Usage((std::string("bad value for ") + name).c_str());
  }
  return value;
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) Usage("a flag without its value");
    const char* value = argv[++i];
    if (flag == "--host") {
      o.host = value;
    } else if (flag == "--port") {
      o.port = static_cast<uint16_t>(Number("--port", value, 1, 65535));
    } else if (flag == "--base") {
      o.base = value;
    } else if (flag == "--mode") {
      o.mode = value;
      if (o.mode != "feed" && o.mode != "batch" && o.mode != "transaction") {
        Usage("--mode is feed, batch or transaction");
      }
    } else if (flag == "--token") {
      o.token = value;
    } else if (flag == "--concurrency") {
      o.concurrency = static_cast<int>(Number("--concurrency", value, 1, 256));
    } else if (flag == "--batch") {
      o.batch = static_cast<int>(Number("--batch", value, 1, 1000));
    } else if (flag == "--duration") {
      o.duration = static_cast<double>(Number("--duration", value, 1, 3600));
    } else if (flag == "--batches") {
      o.batches = Number("--batches", value, 1, 1000000000);
    } else if (flag == "--residents") {
      o.residents = static_cast<int>(Number("--residents", value, 1, 1000));
    } else {
      Usage("unknown flag");
    }
  }
  if (o.port == 0) Usage("--port is required");
  return o;
}

// The identity card number of resident `i`: 17 digits and the GB 11643 check character.
std::string IdCard(int i) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "110105%04d0101%03d", 1940 + i / 1000 % 50, i % 1000);
  static constexpr int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (int k = 0; k < 17; ++k) sum += (digits[k] - '0') * kWeights[k];
  return std::string(digits) + "10X98765432"[sum % 11];
}

// One blocking keep-alive connection.
class Connection {
 public:
  explicit Connection(const ServerAddress& server) : server_(server) {}
  ~Connection() { Close(); }

  // Sends one request and reads its answer; the status (0 when the exchange failed) and body.
  int Exchange(const std::string& request, std::string& body) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (fd_ < 0 && !Open()) return 0;
      if (SendAll(request)) {
        const int status = Read(body);
        if (status != 0) return status;
      }
      // A kept-alive connection the server closed: once more on a new one.
      Close();
    }
    return 0;
  }

 private:
  bool Open() {
    fd_ = socket(server_.address.ss_family, SOCK_STREAM, 0);
    if (fd_ < 0) return false;
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const timeval timeout{60, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    if (connect(fd_, reinterpret_cast<const sockaddr*>(&server_.address), server_.size) != 0) {
      Close();
      return false;
    }
    buffer_.clear();
    return true;
  }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  bool SendAll(std::string_view data) {
    while (!data.empty()) {
      const ssize_t sent = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (sent <= 0) return false;
      data.remove_prefix(static_cast<size_t>(sent));
    }
    return true;
  }
  bool Fill() {
    char chunk[65536];
    const ssize_t got = recv(fd_, chunk, sizeof chunk, 0);
    if (got <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(got));
    return true;
  }
  // The answer's status and body (Content-Length framing, which fhirhub uses); 0 on failure.
  int Read(std::string& body) {
    size_t head_end;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return 0;
    }
    const std::string head = buffer_.substr(0, head_end);
    const int status = std::atoi(head.c_str() + head.find(' ') + 1);
    size_t length = 0;
    std::string lower = head;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    if (size_t at = lower.find("content-length:"); at != std::string::npos) {
      length = std::strtoull(lower.c_str() + at + 15, nullptr, 10);
    }
    while (buffer_.size() < head_end + 4 + length) {
      if (!Fill()) return 0;
    }
    body = buffer_.substr(head_end + 4, length);
    buffer_.erase(0, head_end + 4 + length);
    return status;
  }

  const ServerAddress& server_;
  int fd_ = -1;
  std::string buffer_;
};

std::string Request(const Options& o, const std::string& method, const std::string& path,
                    const std::string& type, const std::string& body) {
  return method + " " + o.base + path + " HTTP/1.1\r\n" + CommonHeaders(o.host, o.port, o.token) +
         "Content-Type: " + type + "\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

// Batch `n` of connection `c`: the vendor JSON of `o.batch` new measurements.
std::string VendorBatch(const Options& o, const std::string& run, int c, long long n) {
  static const char* kItems[] = {
      R"("type":"blood-pressure","value":{"systolic":128,"diastolic":82},"unit":"mmHg")",
      R"("type":"glucose","value":108,"unit":"mg/dL")",
      R"("type":"spo2","value":97,"unit":"%")",
      R"("type":"weight","value":130,"unit":"jin")",
      R"("type":"temperature","value":36.6,"unit":"Cel")",
      R"("type":"heart-rate","value":72,"unit":"/min")",
  };
  std::string json = R"({"station":{"id":"LOAD-)" + run +
                     R"("},"device":{"serial":"SN-LOAD","model":"M1"},"items":[)";
  for (int i = 0; i < o.batch; ++i) {
    const long long k = n * o.batch + i;
    json += std::string(i > 0 ? "," : "") + R"({"id":"c)" + std::to_string(c) + "-" +
            std::to_string(k) + R"(",)" + kItems[k % 6] +
            R"(,"resident":{"type":"id-card","value":")" +
            IdCard(static_cast<int>((k + c * 7) % o.residents)) +
            R"("},"time":"2026-11-22T09:30:00+08:00"})";
  }
  return json + "]}";
}

// The same measurements as a FHIR Bundle of type `o.mode`, subjects by Patient id.
std::string BundleOf(const std::string& vendor, const Options& o) {
  const mappings::station::MappingContext context;
  auto batch = mappings::station::Parse(vendor, context, static_cast<size_t>(o.batch));
  std::string json = R"({"resourceType":"Bundle","type":")" + o.mode + R"(","entry":[)";
  if (!batch.ok()) return json + "]}";
  bool first = true;
  for (const auto& item : batch->items) {
    if (!item.measurement.ok()) continue;
    const auto& m = *item.measurement;
    const std::string patient = "Patient/load-" + m.resident.value;
    json += std::string(first ? "" : ",") + R"({"resource":)" +
            mappings::station::ObservationJson(m, patient, context) +
            R"(,"request":{"method":"POST","url":"Observation"}})";
    first = false;
  }
  return json + "]}";
}

size_t Count(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

int Main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  auto server = ResolveServer("feed_load", o.host, o.port);
  if (!server) return 1;
  {
    Connection setup(*server);
    std::string body;
    for (int i = 0; i < o.residents; ++i) {
      const std::string card = IdCard(i);
      const std::string patient =
          R"({"resourceType":"Patient","id":"load-)" + card +
          R"(","identifier":[{"system":"urn:oid:2.16.156.10011.1.3","value":")" + card + R"("}]})";
      const int status = setup.Exchange(
          Request(o, "PUT", "/Patient/load-" + card, "application/fhir+json", patient), body);
      if (status != 200 && status != 201) {
        std::fprintf(stderr, "feed_load: creating the residents failed (%d): %s\n", status,
                     body.substr(0, 300).c_str());
        return 1;
      }
    }
  }
  // Measurement ids new to this run, so every batch creates Observations.
  const std::string run = std::to_string(
      std::chrono::system_clock::now().time_since_epoch().count() / 1000 % 100000000000);
  std::atomic<long long> next{0};
  std::atomic<long long> errors{0};
  std::mutex mutex;
  std::vector<double> latencies;
  std::string first_error;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(o.duration));
  std::vector<std::thread> threads;
  for (int c = 0; c < o.concurrency; ++c) {
    threads.emplace_back([&, c] {
      Connection connection(*server);
      std::vector<double> mine;
      std::string body;
      while (true) {
        const long long n = next.fetch_add(1);
        if (o.batches > 0 ? n >= o.batches : Clock::now() >= deadline) break;
        const std::string vendor = VendorBatch(o, run, c, n);
        const std::string request =
            o.mode == "feed" ? Request(o, "POST", "/station-feed", "application/json", vendor)
                             : Request(o, "POST", "", "application/fhir+json", BundleOf(vendor, o));
        const auto sent = Clock::now();
        const int status = connection.Exchange(request, body);
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
        if (status != 200 || Count(body, "201 Created") != static_cast<size_t>(o.batch)) {
          ++errors;
          std::lock_guard lock(mutex);
          if (first_error.empty()) {
            first_error = std::to_string(status) + ": " + body.substr(0, 400);
          }
        }
      }
      std::lock_guard lock(mutex);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  for (auto& thread : threads) thread.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(latencies.begin(), latencies.end());
  auto percentile = [&](double p) {
    return latencies.empty() ? 0.0
                             : latencies[std::min(latencies.size() - 1,
                                                  static_cast<size_t>(p * latencies.size()))];
  };
  const size_t measurements = latencies.size() * static_cast<size_t>(o.batch);
  if (!first_error.empty()) std::fprintf(stderr, "feed_load: error: %s\n", first_error.c_str());
  std::printf(
      "RESULT mode=%s batches=%zu measurements=%zu seconds=%.3f mps=%.1f p50_ms=%.2f p99_ms=%.2f "
      "errors=%lld\n",
      o.mode.c_str(), latencies.size(), measurements, seconds, measurements / seconds,
      percentile(0.5), percentile(0.99), errors.load());
  return errors > 0 ? 1 : 0;
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) { return bench::Main(argc, argv); }
