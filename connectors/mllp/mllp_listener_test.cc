// The listener and the client over loopback, with a handler that echoes what it was given.
#include "connectors/mllp/mllp_listener.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "connectors/mllp/mllp_client.h"

namespace connectors::mllp {
namespace {

using namespace std::chrono_literals;

class EchoHandler : public MessageHandler {
 public:
  std::string Handle(const FrameDecoder::Frame& frame, std::string_view peer_address) override {
    const char* kinds[] = {"none", "message", "too-large", "broken"};
    return std::string(kinds[static_cast<int>(frame.kind)]) + " from " + std::string(peer_address) +
           ": " + frame.content;
  }
};

class MllpListenerTest : public ::testing::Test {
 protected:
  void Start(ListenerOptions options) {
    options.port = 0;
    listener_ = std::make_unique<MllpListener>(std::move(options), handler_);
    auto started = listener_->Start();
    ASSERT_TRUE(started.ok()) << started.error().text();
  }
  std::unique_ptr<MllpClient> Connect() {
    auto client = MllpClient::Connect("127.0.0.1", listener_->port(), 5000ms);
    EXPECT_TRUE(client.ok()) << client.error().text();
    return client.ok() ? std::move(client).value() : nullptr;
  }

  EchoHandler handler_;
  std::unique_ptr<MllpListener> listener_;
};

TEST_F(MllpListenerTest, AnswersEachMessageInOrder) {
  Start({});
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  auto first = client->Exchange("MSH|1\r");
  ASSERT_TRUE(first.ok()) << first.error().text();
  EXPECT_EQ(*first, "message from 127.0.0.1: MSH|1\r");
  // Two messages and junk in one write: two answers, in order.
  ASSERT_TRUE(client->SendRaw("\r\n" + Frame("MSH|2\r") + "x" + Frame("MSH|3\r")).ok());
  auto second = client->Receive();
  auto third = client->Receive();
  ASSERT_TRUE(second.ok() && third.ok());
  EXPECT_EQ(*second, "message from 127.0.0.1: MSH|2\r");
  EXPECT_EQ(*third, "message from 127.0.0.1: MSH|3\r");
}

TEST_F(MllpListenerTest, ServesConcurrentSenders) {
  Start({});
  std::vector<std::thread> senders;
  std::vector<int> answered(8, 0);
  for (int s = 0; s < 8; ++s) {
    senders.emplace_back([&, s] {
      auto client = MllpClient::Connect("127.0.0.1", listener_->port(), 5000ms);
      if (!client.ok()) return;
      for (int i = 0; i < 20; ++i) {
        const std::string message = "MSH|" + std::to_string(s) + "-" + std::to_string(i) + "\r";
        auto answer = (*client)->Exchange(message);
        if (answer.ok() && *answer == "message from 127.0.0.1: " + message) ++answered[s];
      }
    });
  }
  for (std::thread& sender : senders) sender.join();
  EXPECT_EQ(answered, std::vector<int>(8, 20));
}

TEST_F(MllpListenerTest, HandsOverTooLargeAndBrokenFrames) {
  Start({.max_message_bytes = 10});
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  auto large = client->Exchange("MSH|0123456789abcdef\r");
  ASSERT_TRUE(large.ok());
  EXPECT_EQ(*large, "too-large from 127.0.0.1: MSH|012345");
  ASSERT_TRUE(client->SendRaw("\x0bMSH|cut" + Frame("MSH|ok\r")).ok());
  auto broken = client->Receive();
  auto ok = client->Receive();
  ASSERT_TRUE(broken.ok() && ok.ok());
  EXPECT_EQ(*broken, "broken from 127.0.0.1: MSH|cut");
  EXPECT_EQ(*ok, "message from 127.0.0.1: MSH|ok\r");
}

TEST_F(MllpListenerTest, ClosesAConnectionWhoseMessageDoesNotComplete) {
  Start({.message_timeout = 1s});
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->SendRaw("\x0bMSH|never ends").ok());
  auto answer = client->Receive();
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().message_id(), "connectors.mllp-closed");
}

TEST_F(MllpListenerTest, RefusesPeersThatAreNotAllowed) {
  Start({.allowed_peers = {"10.0.0.0/8"}});
  auto client = MllpClient::Connect("127.0.0.1", listener_->port(), 5000ms);
  ASSERT_TRUE(client.ok());
  auto answer = (*client)->Exchange("MSH|1\r");
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().message_id(), "connectors.mllp-closed");
}

TEST_F(MllpListenerTest, ClosesConnectionsBeyondTheLimit) {
  Start({.max_connections = 1});
  auto first = Connect();
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(first->Exchange("MSH|1\r").ok());
  auto second = Connect();
  ASSERT_NE(second, nullptr);
  auto refused = second->Exchange("MSH|2\r");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message_id(), "connectors.mllp-closed");
  // The first connection is still served.
  EXPECT_TRUE(first->Exchange("MSH|3\r").ok());
}

TEST(PeerFilter, MatchesAddressesAndNetworks) {
  auto filter = PeerFilter::Parse({"10.1.0.0/16", "192.168.5.7", "fd00::/8"});
  ASSERT_TRUE(filter.ok()) << filter.error().text();
  EXPECT_TRUE(filter->Allows("10.1.200.3"));
  EXPECT_FALSE(filter->Allows("10.2.0.1"));
  EXPECT_TRUE(filter->Allows("192.168.5.7"));
  EXPECT_FALSE(filter->Allows("192.168.5.8"));
  EXPECT_TRUE(filter->Allows("fd12::1"));
  EXPECT_TRUE(filter->Allows("::ffff:10.1.0.9"));
  EXPECT_FALSE(filter->Allows("not an address"));
  auto any = PeerFilter::Parse({});
  ASSERT_TRUE(any.ok());
  EXPECT_TRUE(any->Allows("203.0.113.1"));
}

TEST(PeerFilter, NamesTheBadEntry) {
  for (const char* bad : {"10.0.0.0/33", "host.example", "10.0.0.0/", "10.0.0.0/x"}) {
    auto filter = PeerFilter::Parse({bad});
    ASSERT_FALSE(filter.ok()) << bad;
    EXPECT_EQ(filter.error().message_id(), "connectors.mllp-allowed-peer");
    EXPECT_NE(filter.error().text().find(bad), std::string::npos);
  }
}

}  // namespace
}  // namespace connectors::mllp
