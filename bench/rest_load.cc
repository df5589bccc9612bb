// rest_load: drives a running fhirhub over HTTP/1.1 on loopback and reports requests per second,
// latency percentiles and errors. bench/rest_load.sh runs it beside pgbench on the same
// PostgreSQL; docs/performance.md has the commands and figures.
//
//   rest_load --port PORT [--mode read|create|crud|show] [--concurrency 16] [--threads 2]
//             [--duration 15] [--requests N] [--ids 1000] [--host 127.0.0.1] [--base /fhir]
//             [--token JWT] [--consent-deny Organization/ID]
//
// Each of `concurrency` keep-alive connections sends one request at a time. As in wrk, or
// pgbench -j, a few `threads` each drive their share of the connections from one epoll loop on
// non-blocking sockets, so that the load generator costs little CPU beside the server it measures
// on the same cores: each connection is a state machine that writes a request, reads and parses
// the answer (Content-Length, chunked, or up to the end of the connection), then picks the next
// request from what the answers so far said.
//   read    GET Patient/{id}, ids drawn at random from `ids` Patients created beforehand
//   create  POST Observation (a blood-pressure panel of about 1 kB) referring to a Patient
//           created beforehand
//   crud    per iteration, 36 requests: create a Patient and 8 resources referring to it
//           (rest_load_resources.h), read each, update each, delete each (the Patient last)
//   show    prints the bodies one CRUD iteration creates, one per line, and exits
// The timed phase ends after `duration` seconds, or after `requests` requests when given; set-up
// requests are not counted. Latency runs from the start of a request (its connect, when the
// connection has to be opened) to the end of its answer. Any answer other than 2xx, and any
// failed exchange, is an error: the first few are printed, and the exit status is 1 when there was
// any. A kept-alive connection that the server closed before answering is reopened and the
// request sent again once, since the server cannot have seen it; an exchange without an answer
// after 60 s fails, so that a stuck server shows as an error, not a hang.
//
// The last line is machine-readable for the script:
//   RESULT mode=M requests=N seconds=S rps=R p50_ms=A p95_ms=B p99_ms=C errors=E reconnects=K
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/rest_load_resources.h"
#include "bench/server_address.h"

namespace bench {
namespace {

using Clock = std::chrono::steady_clock;

enum class Mode { kRead, kCreate, kCrud, kShow };
enum Method { kGet, kPost, kPut, kDelete, kMethodCount };
constexpr std::string_view kMethodNames[kMethodCount] = {"GET", "POST", "PUT", "DELETE"};
constexpr int kErrorSamples = 5;
// Longer than the server's request timeout (30 s).
constexpr auto kExchangeTimeout = std::chrono::seconds(60);
// Free space offered to each recv; answers are mostly smaller, so one recv takes a whole one.
constexpr size_t kReadSize = 16384;
// Events after which a read may make progress: data, the end of the stream, or an error.
constexpr uint32_t kReadable = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR;

struct Options {
  Mode mode = Mode::kRead;
  std::string mode_name = "read";
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string base = "/fhir";
  std::string token;  // a bearer token for every request; none when empty
  // Read mode: each Patient created beforehand gets a Consent denying this organization
  // ("Organization/x"); none when empty.
  std::string consent_deny;
  int concurrency = 16;
  int threads = 2;
  double duration_seconds = 15;
  long long requests = 0;  // 0: bounded by duration
  int ids = 1000;
};

[[noreturn]] void Usage(const char* message) {
  std::fprintf(stderr,
               "rest_load: %s\nusage: rest_load --port PORT [--mode read|create|crud|show] "
               "[--concurrency N] [--threads N] [--duration SECONDS] [--requests N] [--ids N] "
               "[--host HOST] [--base PATH] [--token JWT] [--consent-deny Organization/ID]\n",
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
    } else if (name == "--token") {
      o.token = value;
    } else if (name == "--consent-deny") {
      o.consent_deny = value;
    } else if (name == "--concurrency") {
      o.concurrency = static_cast<int>(Number("--concurrency", value, 1, 4096));
    } else if (name == "--threads") {
      o.threads = static_cast<int>(Number("--threads", value, 1, 256));
    } else if (name == "--duration") {
      o.duration_seconds = static_cast<double>(Number("--duration", value, 1, 86400));
    } else if (name == "--requests") {
      o.requests = Number("--requests", value, 1, 1LL << 40);
    } else if (name == "--ids") {
      o.ids = static_cast<int>(Number("--ids", value, 1, 10000000));
    } else {
      Usage(("unknown option " + std::string(name)).c_str());
    }
  }
  if (o.mode != Mode::kShow && o.port == 0) Usage("--port is required");
  return o;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A number in `text` as a whole, in `base`; false when it is not one.
bool ParseNumber(std::string_view text, size_t& value, int base = 10) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  return error == std::errc() && end == text.data() + text.size();
}

struct Answer {
  int status = 0;
  std::string location;  // the Location header, empty when absent
  std::string body;
};

// The id in a Location header (".../Type/{id}/_history/{vid}") or, without one, in the body.
std::string IdOf(const Answer& answer) {
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
  Shared(const Options& options, int threads) : sync(threads + 1), remaining(options.requests) {}
  std::barrier<> sync;
  bench::ServerAddress server;
  Clock::time_point deadline;
  std::atomic<long long> remaining;  // requests left when bounded by a count
  bool abort = false;                // set-up failed: the timed phase sends nothing
  std::vector<std::string> ids;      // Patients created for read and create modes
  std::mutex ids_mu;
};

// What a thread's connections share: its epoll instance, and how many of them still have
// requests to send in the current phase.
struct Loop {
  int epoll = -1;
  size_t active = 0;
};

// One keep-alive connection and the client driving it, one request at a time. The thread's loop
// starts it at the beginning of each phase and hands it the epoll events of its socket (edge-
// triggered); in between it runs as far as it can without waiting: connect, write the request,
// read and parse the answer, take it in and pick the next request.
class Connection {
 public:
  Connection(const Options& options, int index, Shared& shared, Loop& loop)
      : options_(options),
        index_(index),
        shared_(shared),
        loop_(loop),
        random_(static_cast<uint32_t>(index) * 7919u + 1u),
        variant_(static_cast<uint64_t>(index) * 1000000007ull),
        headers_(bench::CommonHeaders(options.host, options.port, options.token)),
        in_(kReadSize, '\0') {}
  ~Connection() { Close(); }

  // Begins the set-up phase (Patients for read: this connection's share of `ids`; for create: one
  // per connection), or the timed phase.
  void Start(bool timed) {
    timed_ = timed;
    if (!timed && options_.mode != Mode::kCrud) {
      setup_left_ = options_.mode == Mode::kCreate ? 1 : options_.ids / options_.concurrency;
      if (options_.mode == Mode::kRead && index_ < options_.ids % options_.concurrency) {
        ++setup_left_;
      }
    }
    state_ = State::kNext;
    Drive(0);
  }

  void OnEvent(uint32_t events) {
    if (state_ == State::kIdle) {
      // The server closed the connection between requests: open a new one for the next.
      if (events & kReadable) Close();
      return;
    }
    Drive(events);
  }

  // Fails the exchange in flight when it has taken too long.
  void CheckTimeout(Clock::time_point now) {
    if (state_ == State::kIdle || now - start_ < kExchangeTimeout) return;
    retried_ = true;
    Fail("no answer within " + std::to_string(kExchangeTimeout.count()) + " s");
    Drive(0);
  }

  const std::vector<uint32_t>& latencies(Method m) const { return latencies_[m]; }
  uint64_t errors() const { return errors_; }
  uint64_t reconnects() const { return connects_ > 0 ? connects_ - 1 : 0; }
  const std::vector<std::string>& error_samples() const { return error_samples_; }

 private:
  enum class State {
    kIdle,        // nothing to send in this phase
    kNext,        // to pick the next request
    kConnect,     // to open a connection for the request
    kConnecting,  // waiting for the connection
    kWrite,       // writing the request
    kRead,        // reading the answer
  };
  // The part of the answer the parser expects next.
  enum class Part { kHead, kLength, kChunkSize, kChunkData, kTrailer, kUntilClose };
  enum class Parsed { kMore, kDone, kBad };

  // Runs the state machine until it has to wait for the socket; `events` are those that woke it.
  void Drive(uint32_t events) {
    for (;;) {
      switch (state_) {
        case State::kIdle:
          return;
        case State::kNext:
          if (!Pick()) {
            state_ = State::kIdle;
            --loop_.active;
            return;
          }
          reused_ = fd_ >= 0;
          retried_ = false;
          got_bytes_ = false;
          state_ = reused_ ? State::kWrite : State::kConnect;
          events = 0;
          break;
        case State::kConnect:
          Connect();
          events = 0;
          break;
        case State::kConnecting:
          if (events == 0) return;
          Connected();
          break;
        case State::kWrite:
          if (!Write()) return;
          // The answer cannot have come yet, unless the event that woke the write says so.
          if (state_ == State::kRead && !(events & kReadable)) return;
          break;
        case State::kRead:
          if (!(events & kReadable) || !Read(events)) return;
          events = 0;
          break;
      }
    }
  }

  // Sets the next request of the phase up (Issue); false when there is none.
  bool Pick() {
    if (!timed_) {
      consent_in_flight_ = !pending_consent_.empty();
      if (consent_in_flight_) {
        // The Patient just created gets its Consent: it denies an organization the reads do not
        // come from, so every read is decided by a Consent that permits it.
        body_ =
            R"({"resourceType":"Consent","status":"active","scope":{"coding":[{"system":)"
            R"("http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},)"
            R"("category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],)"
            R"("patient":{"reference":"Patient/)" +
            pending_consent_ +
            R"("},"dateTime":"2026-01-01","provision":{"type":"permit","provision":[)"
            R"({"type":"deny","actor":[{"role":{"text":"organization"},"reference":)"
            R"({"reference":")" +
            options_.consent_deny + R"("}}]}]}})";
        pending_consent_.clear();
        Issue(kPost, options_.base + "/Consent", body_);
        return true;
      }
      if (setup_left_ == 0) return false;
      --setup_left_;
      Render(Kind::kPatient, "", "", "", ++variant_, body_);
      Issue(kPost, options_.base + "/Patient", body_);
      return true;
    }
    if (Stopping()) return false;
    switch (options_.mode) {
      case Mode::kRead:
        Issue(kGet, options_.base + "/Patient/" + shared_.ids[random_() % shared_.ids.size()], "");
        break;
      case Mode::kCreate:
        Render(Kind::kBloodPressure, "", patient_, "", ++variant_, body_);
        Issue(kPost, options_.base + "/Observation", body_);
        break;
      case Mode::kCrud:
        PickCrud();
        break;
      case Mode::kShow:
        return false;
    }
    return true;
  }

  bool Stopping() {
    if (shared_.abort) return true;
    if (options_.requests > 0) return shared_.remaining.fetch_sub(1) <= 0;
    return Clock::now() >= shared_.deadline;
  }

  // Request `step_` of a CRUD iteration: the creates, then the reads, the updates, and the deletes
  // backwards (referring resources first, the Patient last, as a client cleaning up would).
  void PickCrud() {
    const size_t count = kRecord.size();
    const size_t i = step_ % count;
    if (step_ == 0) iteration_ = ++variant_;
    switch (step_ / count) {
      case 0:
        Render(kRecord[i], "", i > 0 ? ids_[0] : "", i > 1 ? ids_[1] : "", iteration_, body_);
        Issue(kPost, options_.base + "/" + std::string(TypeName(kRecord[i])), body_);
        break;
      case 1:
        Issue(kGet, paths_[i], "");
        break;
      case 2:
        Render(kRecord[i], ids_[i], ids_[0], i > 1 ? ids_[1] : "", iteration_ + 1, body_);
        Issue(kPut, paths_[i], body_);
        break;
      default:
        Issue(kDelete, paths_[count - 1 - i], "");
        break;
    }
  }

  // Takes in the answer to the request in flight (`ok`: 2xx) for the requests to come.
  void TakeIn(bool ok) {
    if (!timed_) {
      if (!ok || consent_in_flight_) return;
      if (!options_.consent_deny.empty()) pending_consent_ = IdOf(answer_);
      std::lock_guard lock(shared_.ids_mu);
      shared_.ids.push_back(IdOf(answer_));
      if (options_.mode == Mode::kCreate) patient_ = shared_.ids.back();
    } else if (options_.mode == Mode::kCrud) {
      const size_t count = kRecord.size();
      if (step_ < count) {
        // A failed create leaves later resources without their reference: start a new iteration.
        if (!ok) {
          step_ = 0;
          return;
        }
        ids_[step_] = IdOf(answer_);
        paths_[step_] =
            options_.base + "/" + std::string(TypeName(kRecord[step_])) + "/" + ids_[step_];
      }
      step_ = (step_ + 1) % (4 * count);
    }
  }

  // Writes the request text and starts the clock.
  void Issue(Method method, std::string_view target, std::string_view body) {
    method_ = method;
    target_ = target;
    request_.clear();
    request_.append(kMethodNames[method]).append(" ").append(target).append(" HTTP/1.1\r\n");
    request_.append(headers_);
    if (!body.empty()) {
      request_.append("Content-Type: application/fhir+json\r\nContent-Length: ");
      request_.append(std::to_string(body.size())).append("\r\n");
    }
    request_.append("\r\n").append(body);
    written_ = 0;
    start_ = Clock::now();
  }

  void Connect() {
    const auto* address = reinterpret_cast<const sockaddr*>(&shared_.server.address);
    fd_ = socket(address->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return Fail(std::string("socket: ") + std::strerror(errno));
    if (connect(fd_, address, shared_.server.size) != 0 && errno != EINPROGRESS) {
      return Fail(std::string("connect: ") + std::strerror(errno));
    }
    // Requests and answers are small and strictly alternate: Nagle would only add delay.
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // Registered once for both directions: each state only acts on the events it waits for.
    epoll_event event{};
    event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    event.data.ptr = this;
    if (epoll_ctl(loop_.epoll, EPOLL_CTL_ADD, fd_, &event) != 0) {
      return Fail(std::string("epoll_ctl: ") + std::strerror(errno));
    }
    state_ = State::kConnecting;
  }

  void Connected() {
    int error = 0;
    socklen_t size = sizeof error;
    if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &size) != 0) error = errno;
    if (error != 0) return Fail(std::string("connect: ") + std::strerror(error));
    ++connects_;
    state_ = State::kWrite;
  }

  // Writes what the socket takes; false when it has to wait for room.
  bool Write() {
    while (written_ < request_.size()) {
      const ssize_t n =
          send(fd_, request_.data() + written_, request_.size() - written_, MSG_NOSIGNAL);
      if (n > 0) {
        written_ += static_cast<size_t>(n);
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return false;
      } else if (errno != EINTR) {
        Fail(std::string("send: ") + std::strerror(errno));
        return true;
      }
    }
    answer_.status = 0;
    answer_.location.clear();
    answer_.body.clear();
    part_ = Part::kHead;
    state_ = State::kRead;
    return true;
  }

  // Reads what the socket holds and parses it; false when it has to wait for more. `events`: those
  // that woke the read.
  bool Read(uint32_t events) {
    for (;;) {
      if (start_of_unread_ == received_) start_of_unread_ = received_ = 0;
      if (in_.size() - received_ < kReadSize) {
        // Room at the end: drop what was parsed, or grow.
        received_ -= start_of_unread_;
        std::memmove(in_.data(), in_.data() + start_of_unread_, received_);
        start_of_unread_ = 0;
        if (in_.size() - received_ < kReadSize) in_.resize(received_ + kReadSize);
      }
      const size_t room = in_.size() - received_;
      const ssize_t n = recv(fd_, in_.data() + received_, room, 0);
      if (n > 0) {
        received_ += static_cast<size_t>(n);
        got_bytes_ = true;
        switch (Parse()) {
          case Parsed::kDone:
            Answered();
            return true;
          case Parsed::kBad:
            Fail("malformed answer");
            return true;
          case Parsed::kMore:
            // A short read emptied the socket: the next bytes bring a new edge, unless the server
            // already closed its side (the end of the stream is still to be read).
            if (static_cast<size_t>(n) < room && !(events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
              return false;
            }
            break;
        }
      } else if (n == 0) {
        if (part_ != Part::kUntilClose) {
          Fail("connection closed by the server");
          return true;
        }
        answer_.body.assign(in_, start_of_unread_, received_ - start_of_unread_);
        close_after_ = true;
        Answered();
        return true;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return false;
      } else if (errno != EINTR) {
        Fail(std::string("recv: ") + std::strerror(errno));
        return true;
      }
    }
  }

  // Parses the received bytes as far as they go.
  Parsed Parse() {
    for (;;) {
      const std::string_view in(in_.data() + start_of_unread_, received_ - start_of_unread_);
      switch (part_) {
        case Part::kHead: {
          const size_t head_end = in.find("\r\n\r\n");
          if (head_end == std::string_view::npos) return Parsed::kMore;
          if (!ParseHead(in.substr(0, head_end + 2))) return Parsed::kBad;
          start_of_unread_ += head_end + 4;
          break;
        }
        case Part::kLength:
          if (in.size() < left_) return Parsed::kMore;
          answer_.body.assign(in.substr(0, left_));
          start_of_unread_ += left_;
          return Parsed::kDone;
        case Part::kChunkSize: {
          const size_t line_end = in.find("\r\n");
          if (line_end == std::string_view::npos) return Parsed::kMore;
          // Chunk extensions, after a ';', are ignored.
          if (!ParseNumber(Trim(in.substr(0, std::min(line_end, in.find(';')))), left_, 16)) {
            return Parsed::kBad;
          }
          start_of_unread_ += line_end + 2;
          part_ = left_ == 0 ? Part::kTrailer : Part::kChunkData;
          break;
        }
        case Part::kChunkData:
          if (in.size() < left_ + 2) return Parsed::kMore;
          answer_.body.append(in.substr(0, left_));
          start_of_unread_ += left_ + 2;
          part_ = Part::kChunkSize;
          break;
        case Part::kTrailer: {
          // Trailer fields, up to an empty line.
          const size_t line_end = in.find("\r\n");
          if (line_end == std::string_view::npos) return Parsed::kMore;
          start_of_unread_ += line_end + 2;
          if (line_end == 0) return Parsed::kDone;
          break;
        }
        case Part::kUntilClose:
          return Parsed::kMore;
      }
    }
  }

  // The status line and header fields (each line with its CRLF); sets what the body is.
  bool ParseHead(std::string_view head) {
    size_t line_end = head.find("\r\n");
    const std::string_view status_line = head.substr(0, line_end);
    size_t status = 0;
    if (status_line.size() < 12 || !status_line.starts_with("HTTP/") ||
        !ParseNumber(status_line.substr(9, 3), status)) {
      return false;
    }
    answer_.status = static_cast<int>(status);
    close_after_ = status_line.starts_with("HTTP/1.0");
    bool chunked = false;
    bool has_length = false;
    left_ = 0;
    for (head.remove_prefix(line_end + 2); !head.empty(); head.remove_prefix(line_end + 2)) {
      line_end = head.find("\r\n");
      const std::string_view field = head.substr(0, line_end);
      const size_t colon = field.find(':');
      if (colon == std::string_view::npos) continue;
      const std::string_view name = field.substr(0, colon);
      const std::string_view value = Trim(field.substr(colon + 1));
      if (EqualsIgnoreCase(name, "content-length")) {
        if (!ParseNumber(value, left_)) return false;
        has_length = true;
      } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
        chunked = EqualsIgnoreCase(value, "chunked");
      } else if (EqualsIgnoreCase(name, "connection")) {
        close_after_ = EqualsIgnoreCase(value, "close");
      } else if (EqualsIgnoreCase(name, "location")) {
        answer_.location = value;
      }
    }
    if (status == 204 || status == 304 || status < 200) {
      left_ = 0;
      part_ = Part::kLength;
    } else if (chunked) {
      part_ = Part::kChunkSize;
    } else if (has_length) {
      part_ = Part::kLength;
    } else {
      part_ = Part::kUntilClose;  // delimited by the end of the connection
    }
    return true;
  }

  // The whole answer arrived.
  void Answered() {
    if (close_after_) Close();
    Record(answer_.status >= 200 && answer_.status < 300, "");
  }

  // The exchange failed: retried once on a new connection when the server closed a reused one
  // before answering (it cannot have seen the request), an error otherwise.
  void Fail(std::string error) {
    Close();
    if (reused_ && !got_bytes_ && !retried_) {
      retried_ = true;
      written_ = 0;
      state_ = State::kConnect;
      return;
    }
    answer_.status = 0;
    Record(false, error);
  }

  // Counts the exchange: its latency in the timed phase and, unless `ok`, an error (`error`: why
  // no answer came, empty when one did).
  void Record(bool ok, std::string_view error) {
    if (timed_) {
      const auto micros =
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start_).count();
      latencies_[method_].push_back(static_cast<uint32_t>(micros));
    }
    if (!ok) {
      ++errors_;
      if (error_samples_.size() < kErrorSamples) {
        std::string sample = std::string(kMethodNames[method_]) + " " + target_ + ": ";
        if (error.empty()) {
          sample += std::to_string(answer_.status) + " " + answer_.body.substr(0, 300);
        } else {
          sample += error;
        }
        error_samples_.push_back(std::move(sample));
      }
    }
    TakeIn(ok);
    state_ = State::kNext;
  }

  void Close() {
    if (fd_ >= 0) close(fd_);  // which also removes it from the epoll instance
    fd_ = -1;
    start_of_unread_ = received_ = 0;
    got_bytes_ = false;
  }

  const Options& options_;
  const int index_;
  Shared& shared_;
  Loop& loop_;
  std::minstd_rand random_;
  uint64_t variant_;
  bool timed_ = false;
  State state_ = State::kIdle;
  // The client.
  int setup_left_ = 0;  // set-up requests still to send
  std::string patient_;
  size_t step_ = 0;         // of the CRUD iteration, 0 to 35
  uint64_t iteration_ = 0;  // variant of the CRUD iteration
  std::string ids_[kRecord.size()];
  std::string paths_[kRecord.size()];
  std::string body_;
  // The exchange in flight.
  Method method_ = kGet;
  std::string target_;
  std::string request_;
  size_t written_ = 0;
  Clock::time_point start_;
  bool reused_ = false;     // sent on a connection that had answered before
  bool retried_ = false;    // already sent again on a new connection
  bool got_bytes_ = false;  // some of the answer arrived
  Part part_ = Part::kHead;
  size_t left_ = 0;  // bytes of the body (kLength) or chunk (kChunkData) expected
  bool close_after_ = false;
  Answer answer_;
  // The connection.
  const std::string headers_;
  // Set-up with --consent-deny: the Patient whose Consent is to be written next, and whether the
  // request in flight writes one.
  std::string pending_consent_;
  bool consent_in_flight_ = false;
  int fd_ = -1;
  uint64_t connects_ = 0;
  std::string in_;  // received bytes; those from start_of_unread_ to received_ are not parsed yet
  size_t start_of_unread_ = 0;
  size_t received_ = 0;
  // Results.
  std::vector<uint32_t> latencies_[kMethodCount];
  uint64_t errors_ = 0;
  std::vector<std::string> error_samples_;
};

// One thread and its share of the connections.
class Worker {
 public:
  Worker() : loop_{.epoll = epoll_create1(EPOLL_CLOEXEC)} {
    if (loop_.epoll < 0) {
      std::fprintf(stderr, "rest_load: epoll_create1: %s\n", std::strerror(errno));
      std::exit(1);
    }
  }
  ~Worker() {
    connections_.clear();  // their sockets first
    close(loop_.epoll);
  }

  void Add(const Options& options, int index, Shared& shared) {
    connections_.push_back(std::make_unique<Connection>(options, index, shared, loop_));
  }

  void Run(Shared& shared) {
    RunPhase(false);
    shared.sync.arrive_and_wait();  // set-up done
    shared.sync.arrive_and_wait();  // deadline set: go
    RunPhase(true);
  }

  const std::vector<std::unique_ptr<Connection>>& connections() const { return connections_; }

 private:
  // Until no connection has anything more to send.
  void RunPhase(bool timed) {
    loop_.active = connections_.size();
    for (auto& connection : connections_) connection->Start(timed);
    auto next_check = Clock::now() + std::chrono::seconds(1);
    epoll_event events[64];
    while (loop_.active > 0) {
      const int n = epoll_wait(loop_.epoll, events, static_cast<int>(std::size(events)), 1000);
      for (int i = 0; i < n; ++i) {
        static_cast<Connection*>(events[i].data.ptr)->OnEvent(events[i].events);
      }
      if (const auto now = Clock::now(); now >= next_check) {
        for (auto& connection : connections_) connection->CheckTimeout(now);
        next_check = now + std::chrono::seconds(1);
      }
    }
  }

  Loop loop_;
  std::vector<std::unique_ptr<Connection>> connections_;
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

  const int thread_count = std::min(options.threads, options.concurrency);
  Shared shared(options, thread_count);
  auto server = bench::ResolveServer("rest_load", options.host, options.port);
  if (!server) return 1;
  shared.server = *server;
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < thread_count; ++i) workers.push_back(std::make_unique<Worker>());
  for (int i = 0; i < options.concurrency; ++i) workers[i % thread_count]->Add(options, i, shared);
  std::vector<std::thread> threads;
  for (auto& worker : workers) threads.emplace_back([&worker, &shared] { worker->Run(shared); });
  shared.sync.arrive_and_wait();
  uint64_t setup_errors = 0;
  for (auto& worker : workers) {
    for (auto& connection : worker->connections()) setup_errors += connection->errors();
  }
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
    for (auto& connection : worker->connections()) {
      for (int m = 0; m < kMethodCount; ++m) {
        const auto& l = connection->latencies(static_cast<Method>(m));
        by_method[m].insert(by_method[m].end(), l.begin(), l.end());
        all.insert(all.end(), l.begin(), l.end());
      }
      errors += connection->errors();
      reconnects += connection->reconnects();
      for (const auto& sample : connection->error_samples()) {
        std::fprintf(stderr, "rest_load: error: %s\n", sample.c_str());
      }
    }
  }
  std::sort(all.begin(), all.end());
  const double rps = static_cast<double>(all.size()) / seconds;
  std::printf("mode %s, concurrency %d, %d threads, %.2f s\n", options.mode_name.c_str(),
              options.concurrency, thread_count, seconds);
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
