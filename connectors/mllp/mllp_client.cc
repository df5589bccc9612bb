#include "connectors/mllp/mllp_client.h"

#include <Poco/Exception.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Timespan.h>

#include <utility>

#include "connectors/mllp/mllp_frame.h"

namespace connectors::mllp {
namespace {

// Answers are acknowledgements; a listener that sends more than this in one frame is not one.
constexpr std::size_t kMaxAnswerBytes = 16 * 1024 * 1024;

Poco::Timespan Span(std::chrono::milliseconds timeout) {
  return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(timeout.count()) * 1000);
}

}  // namespace

struct MllpClient::Connection {
  Poco::Net::StreamSocket socket;
  std::chrono::milliseconds timeout;
  FrameDecoder decoder{kMaxAnswerBytes};
};

MllpClient::MllpClient(std::unique_ptr<Connection> connection)
    : connection_(std::move(connection)) {}

MllpClient::~MllpClient() {
  if (connection_) {
    try {
      connection_->socket.close();
    } catch (const Poco::Exception&) {
      // Closing a broken connection has nothing left to report.
    }
  }
}

fhir::Result<std::unique_ptr<MllpClient>> MllpClient::Connect(const std::string& host,
                                                              std::uint16_t port,
                                                              std::chrono::milliseconds timeout) {
  try {
    auto connection = std::make_unique<Connection>();
    connection->timeout = timeout;
    connection->socket.connect(Poco::Net::SocketAddress(host, port), Span(timeout));
    connection->socket.setNoDelay(true);
    connection->socket.setSendTimeout(Span(timeout));
    return std::unique_ptr<MllpClient>(new MllpClient(std::move(connection)));
  } catch (const Poco::Exception& e) {
    return fhir::Error::Unavailable(
        "connectors.mllp-connect",
        "Cannot connect to " + host + ":" + std::to_string(port) + ": " + e.displayText());
  }
}

fhir::Result<void> MllpClient::SendRaw(std::string_view bytes) {
  if (!connection_) return fhir::Error::Unavailable("connectors.mllp-closed", "not connected");
  try {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const int n =
          connection_->socket.sendBytes(bytes.data() + sent, static_cast<int>(bytes.size() - sent));
      if (n <= 0) throw Poco::IOException("connection closed");
      sent += static_cast<std::size_t>(n);
    }
    return {};
  } catch (const Poco::Exception& e) {
    connection_.reset();
    return fhir::Error::Unavailable("connectors.mllp-closed",
                                    "Cannot send: " + std::string(e.displayText()));
  }
}

fhir::Result<std::string> MllpClient::Receive() {
  if (!connection_) return fhir::Error::Unavailable("connectors.mllp-closed", "not connected");
  const auto deadline = std::chrono::steady_clock::now() + connection_->timeout;
  std::string buffer(64 * 1024, '\0');
  try {
    for (;;) {
      FrameDecoder::Frame frame = connection_->decoder.Next();
      if (frame.kind == FrameDecoder::Kind::kMessage) return std::move(frame.content);
      if (frame.kind != FrameDecoder::Kind::kNone) {
        connection_.reset();
        return fhir::Error::Invalid("connectors.mllp-answer", "The answer is not a whole frame");
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 ||
          !connection_->socket.poll(Span(left), Poco::Net::Socket::SELECT_READ)) {
        connection_.reset();
        return fhir::Error::Timeout("connectors.mllp-timeout",
                                    "No acknowledgement within the timeout");
      }
      const int n =
          connection_->socket.receiveBytes(buffer.data(), static_cast<int>(buffer.size()));
      if (n <= 0) {
        connection_.reset();
        return fhir::Error::Unavailable("connectors.mllp-closed",
                                        "The listener closed the connection before answering");
      }
      connection_->decoder.Feed(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    }
  } catch (const Poco::Exception& e) {
    connection_.reset();
    return fhir::Error::Unavailable("connectors.mllp-closed",
                                    "Cannot receive: " + std::string(e.displayText()));
  }
}

fhir::Result<std::string> MllpClient::Exchange(std::string_view message) {
  if (auto sent = SendRaw(Frame(message)); !sent.ok()) return std::move(sent).error();
  return Receive();
}

}  // namespace connectors::mllp
