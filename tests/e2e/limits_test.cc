// End-to-end: the request limits of `fhirhub serve` (head size, timeouts, open connections, body
// size) against the real binary, each answered with an OperationOutcome; and JSON Patch bodies
// passing the HTTP layer unparsed. Slow and silent clients are raw sockets, since a real HTTP
// client cannot be made to stop halfway.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/json/json.h"
#include "tests/support/http_client.h"
#include "tests/support/server_process.h"
#include "tests/support/server_suite.h"
#include "tests/support/test_definitions.h"

namespace {

using testing_support::Answer;
using namespace std::chrono_literals;

// Generous: the server's own limits in these tests are one or two seconds.
constexpr auto kReadLimit = 15s;

// A plain TCP connection to the server on loopback.
class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 &&
        ::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool ok() const { return fd_ >= 0; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Ends what this side sends (a half-close); the answer can still be read.
  void CloseSending() { ::shutdown(fd_, SHUT_WR); }

  // Everything the server sends until it closes the connection. `closed` tells whether it did
  // within `limit`.
  std::string ReadUntilClosed(bool& closed, std::chrono::milliseconds limit = kReadLimit) {
    std::string text;
    closed = false;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return text;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return text;
      char buffer[4096];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) {
        closed = true;
        return text;
      }
      text.append(buffer, static_cast<size_t>(n));
    }
  }

  // One answer with a Content-Length body, leaving the connection open.
  std::string ReadAnswer(std::chrono::milliseconds limit = kReadLimit) {
    std::string text;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (true) {
      const size_t end = text.find("\r\n\r\n");
      if (end != std::string::npos) {
        const size_t at = text.find("Content-Length: ");
        const size_t length = at == std::string::npos ? 0 : std::stoul(text.substr(at + 16));
        if (text.size() >= end + 4 + length) return text;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return text;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return text;
      char buffer[4096];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) return text;
      text.append(buffer, static_cast<size_t>(n));
    }
  }

 private:
  int fd_ = -1;
};

// An HTTP answer read from a raw connection.
struct RawAnswer {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

RawAnswer ParseAnswer(const std::string& text) {
  RawAnswer answer;
  const size_t end = text.find("\r\n\r\n");
  if (text.rfind("HTTP/1.", 0) != 0 || end == std::string::npos) return answer;
  answer.status = std::stoi(text.substr(9, 3));
  size_t line = text.find("\r\n") + 2;
  while (line < end) {
    const size_t next = text.find("\r\n", line);
    const std::string field = text.substr(line, next - line);
    const size_t colon = field.find(':');
    if (colon != std::string::npos) {
      std::string name = field.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      answer.headers[name] = field.substr(field.find_first_not_of(' ', colon + 1));
    }
    line = next + 2;
  }
  answer.body = text.substr(end + 4);
  return answer;
}

// The answer is an OperationOutcome in JSON whose issue carries `message_id`.
void ExpectOutcome(const std::string& body, const std::string& message_id) {
  auto outcome = fhir::json::Parse(body, testing_support::Definitions());
  ASSERT_TRUE(outcome.ok()) << body;
  EXPECT_EQ(outcome->resource_type(), "OperationOutcome");
  EXPECT_NE(body.find("\"" + message_id + "\""), std::string::npos) << body;
}

struct LimitsTestArgs {
  static std::vector<std::string> ServerArgs() {
    return {"--max-header-bytes",   "2048", "--request-timeout-seconds", "1",
            "--keep-alive-seconds", "1",    "--max-body-bytes",          "1000"};
  }
};

class LimitsTest : public testing_support::ServerSuite<::testing::Test, LimitsTestArgs> {};

TEST_F(LimitsTest, HeadWithinTheLimitIsServed) {
  ASSERT_TRUE(server().ok());
  Answer answer = testing_support::Call(Port(), "GET", "/fhir/metadata?_elements=fhirVersion", "",
                                        "", {{"X-Padding", std::string(1500, 'a')}});
  EXPECT_EQ(answer.status, 200) << answer.body;
}

TEST_F(LimitsTest, HugeHeaderIs431) {
  ASSERT_TRUE(server().ok());
  Answer answer = testing_support::Call(Port(), "GET", "/fhir/metadata", "", "",
                                        {{"X-Padding", std::string(3000, 'a')}});
  EXPECT_EQ(answer.status, 431);
  EXPECT_EQ(answer.Header("content-type"), "application/fhir+json; charset=utf-8");
  ExpectOutcome(answer.body, "http.headers-too-large");
}

TEST_F(LimitsTest, HeadFarBeyondTheLimitIs431) {
  ASSERT_TRUE(server().ok());
  // Far more than the server reads before it answers: the answer must survive the unread rest.
  RawConnection connection(Port());
  ASSERT_TRUE(connection.ok());
  std::string request = "GET /fhir/metadata HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 60; ++i)
    request += "X-Padding-" + std::to_string(i) + ": " + std::string(4000, 'b') + "\r\n";
  request += "\r\n";
  connection.Send(request);
  bool closed = false;
  RawAnswer answer = ParseAnswer(connection.ReadUntilClosed(closed));
  EXPECT_EQ(answer.status, 431);
  ExpectOutcome(answer.body, "http.headers-too-large");
  EXPECT_TRUE(closed);
}

TEST_F(LimitsTest, AHeadCutShortByTheClientIsRefusedNotServed) {
  ASSERT_TRUE(server().ok());
  RawConnection connection(Port());
  ASSERT_TRUE(connection.ok());
  // No blank line: the client closes its side before the head ended.
  ASSERT_TRUE(connection.Send("GET /fhir/metadata HTTP/1.1\r\nHost: x\r\n"));
  connection.CloseSending();
  bool closed = false;
  RawAnswer answer = ParseAnswer(connection.ReadUntilClosed(closed));
  EXPECT_EQ(answer.status, 400);
  ExpectOutcome(answer.body, "http.malformed-request");
  EXPECT_TRUE(closed);
}

TEST_F(LimitsTest, TooManyHeaderFieldsIs431) {
  ASSERT_TRUE(server().ok());
  std::map<std::string, std::string> headers;
  for (int i = 0; i < 101; ++i) headers["X-F" + std::to_string(i)] = "v";
  Answer answer = testing_support::Call(Port(), "GET", "/fhir/metadata", "", "", headers);
  EXPECT_EQ(answer.status, 431);
  ExpectOutcome(answer.body, "http.headers-too-large");
}

TEST_F(LimitsTest, MalformedHeadIs400) {
  ASSERT_TRUE(server().ok());
  RawConnection connection(Port());
  ASSERT_TRUE(connection.ok());
  connection.Send("GET /fhir/metadata HTTP/1.1\r\nHost: x\r\nContent-Length: many\r\n\r\n");
  bool closed = false;
  RawAnswer answer = ParseAnswer(connection.ReadUntilClosed(closed));
  EXPECT_EQ(answer.status, 400);
  ExpectOutcome(answer.body, "http.malformed-request");
  EXPECT_TRUE(closed);
}

TEST_F(LimitsTest, HalfAHeadIs408AndTheConnectionCloses) {
  ASSERT_TRUE(server().ok());
  RawConnection connection(Port());
  ASSERT_TRUE(connection.ok());
  connection.Send("GET /fhir/metadata HTTP/1.1\r\nHost: x\r\n");
  bool closed = false;
  RawAnswer answer = ParseAnswer(connection.ReadUntilClosed(closed));
  EXPECT_EQ(answer.status, 408);
  EXPECT_EQ(answer.headers["connection"], "Close");
  ExpectOutcome(answer.body, "http.request-timeout");
  EXPECT_TRUE(closed);
}

TEST_F(LimitsTest, HeadSentByteByByteIsStillBoundedByTheTimeout) {
  ASSERT_TRUE(server().ok());
  RawConnection connection(Port());
  ASSERT_TRUE(connection.ok());
  // A byte every 100 ms (for at least 4 s) keeps any per-read timeout from firing, but not the
  // request's 1 s deadline: the answer comes while the client is still sending.
  const std::string head = "GET /fhir/metadata HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  std::string text;
  bool closed = false;
  for (size_t i = 0; i < 40 && text.empty() && !closed; ++i) {
    connection.Send(std::string_view(head).substr(i % head.size(), 1));
    text = connection.ReadUntilClosed(closed, 100ms);
  }
  ASSERT_FALSE(text.empty()) << "no answer while the head trickled in";
  if (!closed) text += connection.ReadUntilClosed(closed);
  RawAnswer answer = ParseAnswer(text);
  EXPECT_EQ(answer.status, 408);
  ExpectOutcome(answer.body, "http.request-timeout");
}

TEST_F(LimitsTest, SlowBodyIs408) {
  ASSERT_TRUE(server().ok());
  RawConnection connection(Port());
  ASSERT_TRUE(connection.ok());
  connection.Send(
      "POST /fhir/Basic HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n"
      "Content-Length: 100\r\n\r\n{\"resourceType\":");
  bool closed = false;
  RawAnswer answer = ParseAnswer(connection.ReadUntilClosed(closed));
  EXPECT_EQ(answer.status, 408);
  ExpectOutcome(answer.body, "http.request-timeout");
  EXPECT_TRUE(closed);
}

TEST_F(LimitsTest, SilentConnectionIsClosedWithoutAnAnswer) {
  ASSERT_TRUE(server().ok());
  RawConnection connection(Port());
  ASSERT_TRUE(connection.ok());
  bool closed = false;
  EXPECT_EQ(connection.ReadUntilClosed(closed), "");
  EXPECT_TRUE(closed);
}

TEST_F(LimitsTest, IdleKeepAliveConnectionIsClosedWithoutAnAnswer) {
  ASSERT_TRUE(server().ok());
  RawConnection connection(Port());
  ASSERT_TRUE(connection.ok());
  connection.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  RawAnswer first = ParseAnswer(connection.ReadAnswer());
  EXPECT_EQ(first.status, 200);
  bool closed = false;
  EXPECT_EQ(connection.ReadUntilClosed(closed), "");
  EXPECT_TRUE(closed);
}

TEST_F(LimitsTest, KeepAliveCarriesSeveralRequests) {
  ASSERT_TRUE(server().ok());
  RawConnection connection(Port());
  ASSERT_TRUE(connection.ok());
  for (int i = 0; i < 3; ++i) {
    connection.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(ParseAnswer(connection.ReadAnswer()).status, 200) << i;
  }
}

TEST_F(LimitsTest, OversizedBodyIs413) {
  ASSERT_TRUE(server().ok());
  const std::string big =
      R"({"resourceType":"Basic","code":{"text":")" + std::string(2000, 'x') + R"("}})";
  Answer answer = testing_support::Call(Port(), "POST", "/fhir/Basic", big);
  EXPECT_EQ(answer.status, 413);
  ExpectOutcome(answer.body, "http.body-too-large");
}

TEST_F(LimitsTest, JsonPatchReachesTheRouterUnparsed) {
  ASSERT_TRUE(server().ok());
  Answer created = testing_support::Call(Port(), "POST", "/fhir/Patient",
                                         R"({"resourceType":"Patient","active":false})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string location = created.Header("location");
  const std::string path = location.substr(location.find("/fhir/"),
                                           location.find("/_history") - location.find("/fhir/"));
  const std::string patch = R"([{"op":"replace","path":"/active","value":true}])";
  // Parsed as a resource, the array would be refused (400 or 415) before any interaction ran.
  // Whether PATCH is served decides between the patched resource and 405 from the router.
  Answer patched = testing_support::Call(Port(), "PATCH", path, patch,
                                         "application/json-patch+json; charset=utf-8");
  if (patched.status == 405) {
    ExpectOutcome(patched.body, "rest.method-not-allowed");
  } else {
    EXPECT_EQ(patched.status, 200) << patched.body;
    EXPECT_NE(patched.body.find("\"active\":true"), std::string::npos) << patched.body;
  }

  // The same document is not a resource anywhere else.
  Answer posted =
      testing_support::Call(Port(), "POST", "/fhir/Patient", patch, "application/json-patch+json");
  EXPECT_EQ(posted.status, 415);
  ExpectOutcome(posted.body, "http.unsupported-media-type");

  Answer other = testing_support::Call(Port(), "PATCH", path, patch, "text/plain");
  EXPECT_EQ(other.status, 415);
  ExpectOutcome(other.body, "http.unsupported-media-type");
}

TEST_F(LimitsTest, JsonPatchBodyStillHasTheSizeLimit) {
  ASSERT_TRUE(server().ok());
  const std::string patch =
      R"([{"op":"add","path":"/text","value":")" + std::string(2000, 'y') + R"("}])";
  Answer answer = testing_support::Call(Port(), "PATCH", "/fhir/Patient/p1", patch,
                                        "application/json-patch+json");
  EXPECT_EQ(answer.status, 413);
  ExpectOutcome(answer.body, "http.body-too-large");
}

TEST(ConnectionLimitTest, ConnectionBeyondTheLimitIs503) {
  testing_support::ServerProcess server(FHIRHUB_BINARY,
                                        {"--fhir-package", testing_support::PackageDir().string(),
                                         "--max-connections", "3", "--max-threads", "4"});
  ASSERT_TRUE(server.ok());
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<RawConnection>(server.port()));
    ASSERT_TRUE(held.back()->ok());
  }
  RawConnection extra(server.port());
  ASSERT_TRUE(extra.ok());
  bool closed = false;
  RawAnswer answer = ParseAnswer(extra.ReadUntilClosed(closed));
  EXPECT_EQ(answer.status, 503);
  EXPECT_EQ(answer.headers["retry-after"], "1");
  ExpectOutcome(answer.body, "http.too-many-connections");
  EXPECT_TRUE(closed);

  // The connections held open are served.
  held[0]->Send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(ParseAnswer(held[0]->ReadUntilClosed(closed)).status, 200);
}

// The server at its default limits: a 16 KiB head, beyond which a head reaches the fixed limits
// of fields before the total. A head cut at a limit must be refused, not parsed as a shorter one.
class DefaultLimitsTest : public testing_support::ServerSuite<> {
 protected:
  // A GET of the capability statement whose head holds `fields` (each "Name: value\r\n") besides
  // Host; the connection is kept alive unless the server closes it.
  static std::string Request(const std::string& fields) {
    return "GET /fhir/metadata?_elements=fhirVersion HTTP/1.1\r\nHost: x\r\n" + fields + "\r\n";
  }
  // The request line and the Host field of Request.
  static constexpr std::size_t kFixedHeadBytes = 60;

  // Sends the request and reads until the server closes the connection.
  static RawAnswer Refused(const std::string& fields, bool& closed) {
    RawConnection connection(Port());
    EXPECT_TRUE(connection.ok());
    connection.Send(Request(fields));
    return ParseAnswer(connection.ReadUntilClosed(closed));
  }
  // Sends the request and reads its answer.
  static RawAnswer Served(const std::string& fields) {
    RawConnection connection(Port());
    EXPECT_TRUE(connection.ok());
    connection.Send(Request(fields));
    return ParseAnswer(connection.ReadAnswer());
  }
};

TEST_F(DefaultLimitsTest, FieldValueBeyondTheFieldLimitIs431) {
  ASSERT_TRUE(server().ok());
  bool closed = false;
  RawAnswer answer = Refused("X-Padding: " + std::string(9000, 'a') + "\r\n", closed);
  EXPECT_EQ(answer.status, 431);
  ExpectOutcome(answer.body, "http.headers-too-large");
  EXPECT_TRUE(closed);
}

TEST_F(DefaultLimitsTest, FieldValueAtTheFieldLimitIsServed) {
  ASSERT_TRUE(server().ok());
  RawAnswer answer = Served("X-Padding: " + std::string(8192, 'a') + "\r\n");
  EXPECT_EQ(answer.status, 200) << answer.body;
}

TEST_F(DefaultLimitsTest, FieldFarBeyondEveryLimitIs431) {
  ASSERT_TRUE(server().ok());
  bool closed = false;
  RawAnswer answer = Refused("X-Padding: " + std::string(100000, 'a') + "\r\n", closed);
  EXPECT_EQ(answer.status, 431);
  ExpectOutcome(answer.body, "http.headers-too-large");
  EXPECT_TRUE(closed);
}

TEST_F(DefaultLimitsTest, FieldNameBeyondTheFieldLimitIs431) {
  ASSERT_TRUE(server().ok());
  bool closed = false;
  RawAnswer answer = Refused("X-" + std::string(300, 'n') + ": v\r\n", closed);
  EXPECT_EQ(answer.status, 431);
  ExpectOutcome(answer.body, "http.headers-too-large");
  EXPECT_TRUE(closed);
}

// Many small fields, each within the field limits, that together exceed the 16 KiB head.
std::string SmallFields(std::size_t total_bytes) {
  std::string fields;
  for (int i = 0; fields.size() < total_bytes; ++i) {
    const std::string name = "X-F" + std::to_string(100 + i) + ": ";
    const std::size_t value = std::min<std::size_t>(200, total_bytes - fields.size());
    fields +=
        name + std::string(value < name.size() + 2 ? 1 : value - name.size() - 2, 'b') + "\r\n";
  }
  return fields;
}

TEST_F(DefaultLimitsTest, HeadOfManySmallFieldsBeyondTheLimitIs431) {
  ASSERT_TRUE(server().ok());
  const std::string fields = SmallFields(17000 - kFixedHeadBytes - 2);
  ASSERT_EQ(Request(fields).size(), 17000u);
  ASSERT_LT(std::count(fields.begin(), fields.end(), '\n'), 99);
  bool closed = false;
  RawAnswer answer = Refused(fields, closed);
  EXPECT_EQ(answer.status, 431);
  ExpectOutcome(answer.body, "http.headers-too-large");
  EXPECT_TRUE(closed);
}

TEST_F(DefaultLimitsTest, HeadWithinTheLimitIsServed) {
  ASSERT_TRUE(server().ok());
  const std::string fields = SmallFields(16000 - kFixedHeadBytes - 2);
  ASSERT_EQ(Request(fields).size(), 16000u);
  ASSERT_LT(std::count(fields.begin(), fields.end(), '\n'), 99);
  RawAnswer answer = Served(fields);
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_NE(answer.body.find("4.0.1"), std::string::npos) << answer.body;
}

TEST_F(DefaultLimitsTest, PipelinedHeadBeyondTheLimitsIs431) {
  ASSERT_TRUE(server().ok());
  // Sent at once, the second head arrives partly with the first request, read ahead of it.
  for (const std::string& fields : {"X-Padding: " + std::string(9000, 'a') + "\r\n",
                                    SmallFields(17000 - kFixedHeadBytes - 2)}) {
    RawConnection connection(Port());
    ASSERT_TRUE(connection.ok());
    connection.Send(Request("") + Request(fields));
    bool closed = false;
    const std::string text = connection.ReadUntilClosed(closed);
    const size_t second = text.find("HTTP/1.1 ", 1);
    ASSERT_NE(second, std::string::npos) << text;
    EXPECT_EQ(ParseAnswer(text.substr(0, second)).status, 200);
    RawAnswer answer = ParseAnswer(text.substr(second));
    EXPECT_EQ(answer.status, 431);
    ExpectOutcome(answer.body, "http.headers-too-large");
    EXPECT_TRUE(closed);
  }
}

TEST(LimitOptionsTest, InvalidValuesAreRefusedNamingTheOption) {
  struct Case {
    std::string args;
    std::string env;
    std::string option;
  };
  for (const Case& c : std::vector<Case>{
           {"--max-header-bytes 100", "", "--max-header-bytes"},
           {"--request-timeout-seconds 0", "", "--request-timeout-seconds"},
           {"--keep-alive-seconds x", "", "--keep-alive-seconds"},
           {"--max-connections -1", "", "--max-connections"},
           {"--max-threads 0", "", "--max-threads"},
           {"--listen-backlog 99999999999999999999", "", "--listen-backlog"},
           {"--max-body-bytes 0", "", "--max-body-bytes"},
           {"", "FHIRHUB_MAX_CONNECTIONS=none", "--max-connections"},
       }) {
    std::string output;
    const int status = testing_support::RunCommand(
        c.env + " " + std::string(FHIRHUB_BINARY) + " serve " + c.args, output);
    EXPECT_EQ(status, 2) << c.args << c.env << ": " << output;
    EXPECT_NE(output.find(c.option + " must be a number from"), std::string::npos)
        << c.args << c.env << ": " << output;
  }
}

}  // namespace
