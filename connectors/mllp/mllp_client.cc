#include "connectors/mllp/mllp_client.h"

#include <Poco/Exception.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Timespan.h>

#include <utility>

#include "connectors/mllp/mllp_frame.h"

namespace connectors::mllp {
namespace {

using Clock = std::chrono::steady_clock;
using Status = server::security::TlsConnection::Status;

// Answers are acknowledgements; a listener that sends more than this in one frame is not one.
constexpr std::size_t kMaxAnswerBytes = 16 * 1024 * 1024;

Poco::Timespan Span(std::chrono::milliseconds timeout) {
  return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(timeout.count()) * 1000);
}

fhir::Error TlsFailed(const std::string& what, const std::string& failure) {
  return fhir::Error::Unavailable("connectors.mllp-tls", what + ": " + failure);
}

}  // namespace

struct MllpClient::Connection {
  Poco::Net::StreamSocket socket;
  std::chrono::milliseconds timeout;
  FrameDecoder decoder{kMaxAnswerBytes};
  std::unique_ptr<server::security::TlsConnection> tls;  // null: plain TCP

  // Waits for the readiness a TLS operation asked for; false when `deadline` passed first.
  bool Wait(Status status, Clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    return socket.poll(Span(left), status == Status::kWantWrite ? Poco::Net::Socket::SELECT_WRITE
                                                                : Poco::Net::Socket::SELECT_READ);
  }

  // Why a TLS send failed, in the listener's words when it gave them: a listener that refuses
  // the client's certificate after the handshake (TLS 1.3) sends an alert and closes, and the send
  // then fails on the closed connection ("connection reset") with the alert still unread.
  std::string SendFailure() {
    const std::string failure = tls->failure();
    char byte = 0;
    if (tls->Read(&byte, 1).status == Status::kFailed) return tls->failure();
    return failure;
  }
};

MllpClient::MllpClient(std::unique_ptr<Connection> connection)
    : connection_(std::move(connection)) {}

MllpClient::~MllpClient() {
  if (connection_) {
    try {
      if (connection_->tls) connection_->tls->Shutdown();
      connection_->socket.close();
    } catch (const Poco::Exception&) {
      // Closing a broken connection has nothing left to report.
    }
  }
}

fhir::Result<std::unique_ptr<MllpClient>> MllpClient::Connect(
    const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout,
    std::shared_ptr<const server::security::TlsContext> tls) {
  const std::string where = host + ":" + std::to_string(port);
  try {
    auto connection = std::make_unique<Connection>();
    connection->timeout = timeout;
    connection->socket.connect(Poco::Net::SocketAddress(host, port), Span(timeout));
    connection->socket.setNoDelay(true);
    if (tls == nullptr) {
      connection->socket.setSendTimeout(Span(timeout));
      return std::unique_ptr<MllpClient>(new MllpClient(std::move(connection)));
    }
    // TLS runs non-blocking, each wait a poll under the deadline.
    connection->socket.setBlocking(false);
    connection->tls = tls->Connect(connection->socket.impl()->sockfd(), host);
    if (connection->tls == nullptr) {
      return TlsFailed("TLS with " + where, "no TLS connection could be set up");
    }
    const Clock::time_point deadline = Clock::now() + timeout;
    for (;;) {
      const server::security::TlsConnection::Io io = connection->tls->Handshake();
      if (io.status == Status::kDone) break;
      if (io.status == Status::kClosed || io.status == Status::kFailed) {
        return TlsFailed("TLS handshake with " + where + " failed",
                         connection->tls->failure().empty() ? "the listener closed the connection"
                                                            : connection->tls->failure());
      }
      if (!connection->Wait(io.status, deadline)) {
        return fhir::Error::Timeout("connectors.mllp-timeout",
                                    "TLS handshake with " + where + " not completed in time");
      }
    }
    return std::unique_ptr<MllpClient>(new MllpClient(std::move(connection)));
  } catch (const Poco::Exception& e) {
    return fhir::Error::Unavailable("connectors.mllp-connect",
                                    "Cannot connect to " + where + ": " + e.displayText());
  }
}

fhir::Result<void> MllpClient::SendRaw(std::string_view bytes) {
  if (!connection_) return fhir::Error::Unavailable("connectors.mllp-closed", "not connected");
  try {
    const Clock::time_point deadline = Clock::now() + connection_->timeout;
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const char* data = bytes.data() + sent;
      const int length = static_cast<int>(bytes.size() - sent);
      if (!connection_->tls) {
        const int n = connection_->socket.sendBytes(data, length);
        if (n <= 0) throw Poco::IOException("connection closed");
        sent += static_cast<std::size_t>(n);
        continue;
      }
      const server::security::TlsConnection::Io io = connection_->tls->Write(data, length);
      switch (io.status) {
        case Status::kDone:
          sent += static_cast<std::size_t>(io.bytes);
          break;
        case Status::kWantRead:
        case Status::kWantWrite:
          if (!connection_->Wait(io.status, deadline)) {
            connection_.reset();
            return fhir::Error::Timeout("connectors.mllp-timeout",
                                        "Cannot send within the timeout");
          }
          break;
        case Status::kClosed:
          connection_.reset();
          return fhir::Error::Unavailable("connectors.mllp-closed",
                                          "The listener closed the connection");
        case Status::kFailed: {
          const std::string failure = connection_->SendFailure();
          connection_.reset();
          return TlsFailed("Cannot send over TLS", failure);
        }
      }
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
  const auto deadline = Clock::now() + connection_->timeout;
  std::string buffer(64 * 1024, '\0');
  const auto closed = [this] {
    connection_.reset();
    return fhir::Error::Unavailable("connectors.mllp-closed",
                                    "The listener closed the connection before answering");
  };
  const auto timed_out = [this] {
    connection_.reset();
    return fhir::Error::Timeout("connectors.mllp-timeout", "No acknowledgement within the timeout");
  };
  try {
    for (;;) {
      FrameDecoder::Frame frame = connection_->decoder.Next();
      if (frame.kind == FrameDecoder::Kind::kMessage) return std::move(frame.content);
      if (frame.kind != FrameDecoder::Kind::kNone) {
        connection_.reset();
        return fhir::Error::Invalid("connectors.mllp-answer", "The answer is not a whole frame");
      }
      int n = 0;
      if (connection_->tls) {
        const server::security::TlsConnection::Io io =
            connection_->tls->Read(buffer.data(), static_cast<int>(buffer.size()));
        switch (io.status) {
          case Status::kDone:
            n = io.bytes;
            break;
          case Status::kWantRead:
          case Status::kWantWrite:
            if (!connection_->Wait(io.status, deadline)) return timed_out();
            continue;
          case Status::kClosed:
            return closed();
          case Status::kFailed: {
            const std::string failure = connection_->tls->failure();
            connection_.reset();
            return TlsFailed("The listener ended TLS", failure);
          }
        }
      } else {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0 ||
            !connection_->socket.poll(Span(left), Poco::Net::Socket::SELECT_READ)) {
          return timed_out();
        }
        n = connection_->socket.receiveBytes(buffer.data(), static_cast<int>(buffer.size()));
        if (n <= 0) return closed();
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
