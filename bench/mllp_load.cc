// mllp_load: HL7 v2 over MLLP into a running fhirhub, end to end (parse, map, commit, ACK), and
// the same data POSTed over REST as the transaction Bundles the mapping makes of it, for
// reference. bench/mllp_load.sh runs both against one server; docs/performance.md has the
// commands and figures.
//
//   mllp_load --mode mllp|rest --port PORT [--host 127.0.0.1] [--base /fhir] [--messages 4000]
//             [--concurrency 8] [--observations 10] [--patients 50] [--run NAME]
//             [--mappings DIR]
//
// Each of `concurrency` senders has its own connection and sends its share of `messages`
// ORU^R01 messages one at a time, waiting for each answer (original-mode acknowledgement, or
// the HTTP answer): a message carries `observations` OBX segments and belongs to one of the
// sender's `patients` patients, whose first message creates the Patient. Identifiers (MSH-10,
// OBR-3, PID-3) start with `run`, so each run writes new data. In rest mode the messages are
// mapped to Bundles before the clock starts (with the mapping files of --mappings) and POSTed to
// the base; what is timed is the HTTP exchange alone. As a sender would, each sends a message
// again (up to 5 times) when the answer asks for a retry: AE for a passing failure (mllp), 409
// or 503 (rest); the timed exchange then includes the retries, which are counted. Any other
// answer than AA (mllp) or 200 (rest) is an error; the first few are printed and the exit
// status is 1 when there was any.
//
// The last line is machine-readable for the script:
//   RESULT mode=M messages=N seconds=S rate=R p50_ms=A p99_ms=B errors=E retries=K
#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "connectors/mllp/mllp_client.h"
#include "mappings/hl7v2/er7.h"
#include "mappings/hl7v2/mapper.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string mode = "mllp";
  std::string host = "127.0.0.1";
  int port = 0;
  std::string base = "/fhir";
  int messages = 4000;
  int concurrency = 8;
  int observations = 10;
  int patients = 50;
  std::string run = "run";
  std::string mappings = FHIRHUB_DEFAULT_HL7V2_MAPPINGS;
};

std::string Oru(const Options& options, int sender, int index) {
  const std::string id = options.run + "-" + std::to_string(sender) + "-" + std::to_string(index);
  const std::string patient =
      options.run + "-P" + std::to_string(sender) + "-" + std::to_string(index % options.patients);
  std::string message = "MSH|^~\\&|LAB|HOSP|FHIRHUB|CENTER|20240102030405||ORU^R01^ORU_R01|" + id +
                        "|P|2.5.1\rPID|1||" + patient +
                        "^^^HOSP^MR||Load^Patient||19700101|F\rOBR|1|P" + id + "^HIS|F" + id +
                        "^LAB|24331-1^Lipid panel^LN|||20240102030000\r";
  for (int i = 1; i <= options.observations; ++i) {
    message += "OBX|" + std::to_string(i) + "|NM|8867-4^Heart rate^LN||" +
               std::to_string(60 + (index + i) % 40) + "|/min^^UCUM|60-100||||F|||20240102030000\r";
  }
  return message;
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const std::size_t at = std::min(sorted.size() - 1, static_cast<std::size_t>(p * sorted.size()));
  return sorted[at];
}

constexpr int kAttempts = 5;

class Errors {
 public:
  void Add(const std::string& what) {
    std::lock_guard lock(mutex_);
    if (++count_ <= 5) std::fprintf(stderr, "mllp_load: %s\n", what.c_str());
  }
  int count() {
    std::lock_guard lock(mutex_);
    return count_;
  }
  std::atomic<int> retries{0};

 private:
  std::mutex mutex_;
  int count_ = 0;
};

// A passing failure: the sender is asked to send the message again.
bool AskedToRetry(const mappings::hl7v2::Message& ack) {
  return ack.Get("MSA-1") == "AE" &&
         (ack.text().find("store.serialization-failure") != std::string_view::npos ||
          ack.text().find("store.unavailable") != std::string_view::npos);
}

// Sends `payloads` one at a time on one connection; appends each exchange's milliseconds.
void SendMllp(const Options& options, const std::vector<std::string>& payloads,
              std::vector<double>* latencies, Errors* errors) {
  auto client = connectors::mllp::MllpClient::Connect(
      options.host, static_cast<std::uint16_t>(options.port), std::chrono::seconds(60));
  if (!client.ok()) {
    errors->Add(client.error().text());
    return;
  }
  for (const std::string& message : payloads) {
    const auto start = Clock::now();
    for (int attempt = 1;; ++attempt) {
      auto ack = (*client)->Exchange(message);
      if (!ack.ok()) {
        errors->Add(ack.error().text());
        return;
      }
      auto parsed = mappings::hl7v2::Parse(*ack);
      if (parsed.ok() && parsed->Get("MSA-1") == "AA") break;
      if (parsed.ok() && AskedToRetry(*parsed) && attempt < kAttempts) {
        ++errors->retries;
        continue;
      }
      std::string shown = *ack;
      std::replace(shown.begin(), shown.end(), '\r', '\n');
      errors->Add("not accepted:\n" + shown);
      break;
    }
    latencies->push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
}

void SendRest(const Options& options, const std::vector<std::string>& payloads,
              std::vector<double>* latencies, Errors* errors) {
  Poco::Net::HTTPClientSession session(options.host, static_cast<Poco::UInt16>(options.port));
  session.setKeepAlive(true);
  session.setTimeout(Poco::Timespan(60, 0));
  for (const std::string& bundle : payloads) {
    const auto start = Clock::now();
    try {
      for (int attempt = 1;; ++attempt) {
        Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, options.base,
                                       Poco::Net::HTTPMessage::HTTP_1_1);
        request.setContentType("application/fhir+json");
        request.set("Accept", "application/fhir+json");
        request.setContentLength(static_cast<std::streamsize>(bundle.size()));
        session.sendRequest(request) << bundle;
        Poco::Net::HTTPResponse response;
        std::istream& body = session.receiveResponse(response);
        std::string text((std::istreambuf_iterator<char>(body)), std::istreambuf_iterator<char>());
        const int status = response.getStatus();
        if (status == 200) break;
        if ((status == 409 || status == 503) && attempt < kAttempts) {
          ++errors->retries;
          continue;
        }
        errors->Add("HTTP " + std::to_string(status) + ": " + text.substr(0, 300));
        break;
      }
    } catch (const Poco::Exception& e) {
      errors->Add(e.displayText());
      return;
    }
    latencies->push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
}

int Usage() {
  std::fputs(
      "usage: mllp_load --mode mllp|rest --port PORT [--host H] [--base /fhir] [--messages N]\n"
      "                 [--concurrency N] [--observations N] [--patients N] [--run NAME]\n"
      "                 [--mappings DIR]\n",
      stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    const std::string value = argv[i + 1];
    if (name == "--mode") {
      options.mode = value;
    } else if (name == "--host") {
      options.host = value;
    } else if (name == "--port") {
      options.port = std::atoi(value.c_str());
    } else if (name == "--base") {
      options.base = value;
    } else if (name == "--messages") {
      options.messages = std::atoi(value.c_str());
    } else if (name == "--concurrency") {
      options.concurrency = std::atoi(value.c_str());
    } else if (name == "--observations") {
      options.observations = std::atoi(value.c_str());
    } else if (name == "--patients") {
      options.patients = std::atoi(value.c_str());
    } else if (name == "--run") {
      options.run = value;
    } else if (name == "--mappings") {
      options.mappings = value;
    } else {
      return Usage();
    }
  }
  if (argc % 2 == 0 || (options.mode != "mllp" && options.mode != "rest") || options.port <= 0 ||
      options.messages <= 0 || options.concurrency <= 0 || options.observations <= 0 ||
      options.patients <= 0) {
    return Usage();
  }

  // Each sender's payloads, made before the clock starts.
  std::vector<std::vector<std::string>> payloads(options.concurrency);
  std::optional<mappings::hl7v2::Mapper> mapper;
  if (options.mode == "rest") {
    auto loaded = mappings::hl7v2::Mapper::Load(options.mappings);
    if (!loaded.ok()) {
      std::fprintf(stderr, "mllp_load: %s\n", loaded.error().text().c_str());
      return 2;
    }
    mapper = std::move(loaded).value();
  }
  for (int m = 0; m < options.messages; ++m) {
    const int sender = m % options.concurrency;
    std::string message = Oru(options, sender, m / options.concurrency);
    if (mapper) {
      auto parsed = mappings::hl7v2::Parse(message);
      auto mapped = parsed.ok() ? mapper->Map(*parsed)
                                : fhir::Result<mappings::hl7v2::Mapped>(parsed.error());
      if (!mapped.ok()) {
        std::fprintf(stderr, "mllp_load: cannot map: %s\n", mapped.error().text().c_str());
        return 2;
      }
      message = std::move(mapped->bundle_json);
    }
    payloads[sender].push_back(std::move(message));
  }

  Errors errors;
  std::vector<std::vector<double>> latencies(options.concurrency);
  std::vector<std::thread> senders;
  const auto start = Clock::now();
  for (int s = 0; s < options.concurrency; ++s) {
    senders.emplace_back([&, s] {
      if (options.mode == "mllp") {
        SendMllp(options, payloads[s], &latencies[s], &errors);
      } else {
        SendRest(options, payloads[s], &latencies[s], &errors);
      }
    });
  }
  for (std::thread& sender : senders) sender.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  const double rate = static_cast<double>(all.size()) / seconds;
  std::printf(
      "%s: %zu messages in %.2f s: %.0f messages/s, latency p50 %.2f ms, p99 %.2f ms, %d "
      "retries\n",
      options.mode.c_str(), all.size(), seconds, rate, Percentile(all, 0.5), Percentile(all, 0.99),
      errors.retries.load());
  std::printf(
      "RESULT mode=%s messages=%zu seconds=%.3f rate=%.1f p50_ms=%.2f p99_ms=%.2f errors=%d "
      "retries=%d\n",
      options.mode.c_str(), all.size(), seconds, rate, Percentile(all, 0.5), Percentile(all, 0.99),
      errors.count(), errors.retries.load());
  return errors.count() == 0 ? 0 : 1;
}
