#include "server/http/connection_socket.h"

#include <Poco/Exception.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <string_view>

namespace server::http {
namespace {

using namespace std::chrono_literals;

// A ConnectionSocketImpl on one end of a socket pair; the test writes to the other end.
class ConnectionSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    socket_ = new ConnectionSocketImpl(fds[0]);
    peer_ = fds[1];
  }
  void TearDown() override {
    socket_->release();
    ::close(peer_);
  }

  void Write(std::string_view data) {
    ASSERT_EQ(::write(peer_, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  }
  // What one receive returns.
  std::string Receive() {
    char buffer[65536];
    const int n = socket_->receiveBytes(buffer, sizeof buffer);
    return std::string(buffer, static_cast<size_t>(n));
  }

  ConnectionSocketImpl* socket_ = nullptr;
  int peer_ = -1;
};

TEST_F(ConnectionSocketTest, CountsTheHeadUpToTheBlankLineOnly) {
  socket_->BeginRequest(Clock::now() + 10s, 1024);
  const std::string head =
      "\r\nPOST /fhir/Basic HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n";
  Write(head + std::string(5000, 'b'));
  std::string received;
  while (received.size() < head.size() + 5000) received += Receive();
  EXPECT_FALSE(socket_->head_too_large());
  EXPECT_EQ(socket_->head_bytes(), head.size());
}

TEST_F(ConnectionSocketTest, AHeadEndsOnlyWithItsBlankLine) {
  socket_->BeginRequest(Clock::now() + 10s, 1024);
  Write("GET /fhir/Patient/p1 HTTP/1.1\r\nHost: x\r\n");
  EXPECT_EQ(Receive().size(), 40u);
  EXPECT_FALSE(socket_->head_complete());
  // The client closes its side: the stream ends, the head stays incomplete.
  ASSERT_EQ(::shutdown(peer_, SHUT_WR), 0);
  EXPECT_EQ(Receive(), "");
  EXPECT_FALSE(socket_->head_complete());

  socket_->BeginRequest(Clock::now() + 10s, 1024);
  socket_->Unread("GET / HTTP/1.1\r\n\r\n", 18);
  EXPECT_EQ(Receive().size(), 18u);
  EXPECT_TRUE(socket_->head_complete());
}

TEST_F(ConnectionSocketTest, HeadOverTheLimitEndsTheStream) {
  socket_->BeginRequest(Clock::now() + 10s, 64);
  Write("GET /fhir/metadata HTTP/1.1\r\nHost: x\r\nX-Padding: " + std::string(100, 'a') +
        "\r\n\r\n");
  EXPECT_EQ(Receive(), "");
  EXPECT_TRUE(socket_->head_too_large());
  EXPECT_EQ(Receive(), "");
}

TEST_F(ConnectionSocketTest, HeadExactlyAtTheLimitPasses) {
  const std::string head = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  socket_->BeginRequest(Clock::now() + 10s, head.size());
  Write(head);
  EXPECT_EQ(Receive(), head);
  EXPECT_FALSE(socket_->head_too_large());
}

TEST_F(ConnectionSocketTest, BytesReadAheadComeFirstAndCountAsHead) {
  socket_->BeginRequest(Clock::now() + 10s, 64);
  socket_->Unread("GET / HTTP/1.1\r\nHost: x\r\n", 25);
  EXPECT_TRUE(socket_->Ready(0us, Poco::Net::Socket::SELECT_READ));
  Write("X-Padding: " + std::string(100, 'a') + "\r\n\r\n");
  char buffer[10];
  ASSERT_EQ(socket_->receiveBytes(buffer, sizeof buffer), 10);
  EXPECT_EQ(std::string(buffer, 10), "GET / HTTP");
  EXPECT_EQ(Receive(), "/1.1\r\nHost: x\r\n");
  EXPECT_EQ(socket_->head_bytes(), 25u);
  // The network's bytes continue the same head, which is now over the limit.
  EXPECT_EQ(Receive(), "");
  EXPECT_TRUE(socket_->head_too_large());
}

TEST(ConnectionSocketLimitsTest, FieldLimitsOfTheParserAreHeadLimits) {
  struct Case {
    std::string fields;
    bool too_large;
  };
  std::string hundred;
  for (int i = 0; i < 100; ++i) hundred += "X-F" + std::to_string(i) + ": v\r\n";
  for (const Case& c : {
           Case{hundred, false},
           Case{hundred + "X-Last: v\r\n", true},
           Case{std::string(256, 'n') + ": v\r\n", false},
           Case{std::string(257, 'n') + ": v\r\n", true},
           Case{"X-Value:  " + std::string(8192, 'v') + "\r\n", false},
           Case{"X-Value: " + std::string(8193, 'v') + "\r\n", true},
           Case{"X-Folded: a\r\n " + std::string(8000, 'v') + "\r\n", false},
       }) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    auto* socket = new ConnectionSocketImpl(fds[0]);
    socket->BeginRequest(Clock::now() + 10s, 1 << 20);
    const std::string head = "GET / HTTP/1.1\r\n" + c.fields + "\r\n";
    ASSERT_EQ(::write(fds[1], head.data(), head.size()), static_cast<ssize_t>(head.size()));
    std::string received;
    char buffer[65536];
    while (received.size() < head.size()) {
      const int n = socket->receiveBytes(buffer, sizeof buffer);
      if (n <= 0) break;
      received.append(buffer, static_cast<size_t>(n));
    }
    EXPECT_EQ(socket->head_too_large(), c.too_large) << c.fields.substr(0, 40);
    if (!c.too_large) {
      EXPECT_EQ(received, head);
    }
    socket->release();
    ::close(fds[1]);
  }
}

TEST_F(ConnectionSocketTest, RequestLineOverTheParserLimitIsAHeadLimit) {
  socket_->BeginRequest(Clock::now() + 10s, 1 << 20);
  Write("GET /" + std::string(ConnectionSocketImpl::kMaxRequestLineBytes, 'u') + " HTTP/1.1\r\n");
  std::string received;
  for (std::string part = Receive(); !part.empty(); part = Receive()) received += part;
  EXPECT_TRUE(socket_->head_too_large());
}

TEST_F(ConnectionSocketTest, ReceivingAfterTheDeadlineTimesOut) {
  socket_->BeginRequest(Clock::now() + 50ms, 1024);
  Write("GET / HTTP/1.1\r\n");
  EXPECT_EQ(Receive(), "GET / HTTP/1.1\r\n");
  EXPECT_THROW(Receive(), Poco::TimeoutException);
  EXPECT_TRUE(socket_->timed_out());
  EXPECT_EQ(socket_->head_bytes(), 16u);
}

TEST_F(ConnectionSocketTest, SendingToAClientThatDoesNotReadTimesOut) {
  socket_->SetSendTimeout(100ms);
  const std::string block(1 << 20, 'x');
  EXPECT_THROW(
      {
        for (int i = 0; i < 64; ++i)
          socket_->sendBytes(block.data(), static_cast<int>(block.size()));
      },
      Poco::TimeoutException);
}

}  // namespace
}  // namespace server::http
