#include "server/http/connection_socket.h"

#include <Poco/Exception.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocketImpl.h>
#include <Poco/Timespan.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace server::http {

namespace {

// How long a TLS read or write may wait when no deadline was set for it.
constexpr auto kTlsDefaultWait = std::chrono::seconds(60);

class ListeningSocketImpl : public Poco::Net::ServerSocketImpl {
 public:
  explicit ListeningSocketImpl(std::shared_ptr<const security::TlsContext> tls)
      : tls_(std::move(tls)) {}

  Poco::Net::SocketImpl* acceptConnection(Poco::Net::SocketAddress& client) override {
    if (sockfd() == POCO_INVALID_SOCKET) throw Poco::Net::InvalidSocketException();
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    int fd = -1;
    do {
      length = sizeof address;
      fd = ::accept4(sockfd(), reinterpret_cast<sockaddr*>(&address), &length, SOCK_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) error(errno);
    try {
      client = Poco::Net::SocketAddress(reinterpret_cast<const sockaddr*>(&address), length);
    } catch (...) {
      ::close(fd);
      throw;
    }
    auto* connection = new ConnectionSocketImpl(fd);
    if (tls_ != nullptr) {
      auto tls = tls_->Accept(fd);
      if (tls == nullptr) {
        connection->release();  // closes fd
        throw Poco::Net::NetException("no TLS connection could be set up");
      }
      connection->StartTls(std::move(tls));
    }
    return connection;
  }

 protected:
  ~ListeningSocketImpl() override = default;

 private:
  const std::shared_ptr<const security::TlsContext> tls_;
};

}  // namespace

void ConnectionSocketImpl::BeginRequest(Clock::time_point deadline, std::size_t max_head_bytes) {
  receive_deadline_ = deadline;
  max_head_bytes_ = max_head_bytes;
  send_deadline_.reset();
  head_bytes_ = 0;
  in_head_ = true;
  head_started_ = false;
  line_length_ = 0;
  lines_ = 0;
  fields_ = 0;
  name_length_ = 0;
  value_length_ = 0;
  in_value_ = false;
  timed_out_ = false;
  head_too_large_ = false;
}

void ConnectionSocketImpl::SetSendTimeout(std::chrono::milliseconds timeout) {
  send_timeout_ = timeout;
}

void ConnectionSocketImpl::StartTls(std::unique_ptr<security::TlsConnection> tls) {
  const int flags = ::fcntl(sockfd(), F_GETFL);
  if (flags < 0 || ::fcntl(sockfd(), F_SETFL, flags | O_NONBLOCK) < 0) error(errno);
  tls_ = std::move(tls);
}

void ConnectionSocketImpl::EndTls() {
  if (tls_ != nullptr) tls_->Shutdown();
}

int ConnectionSocketImpl::ReceiveTls(void* buffer, int length) {
  const Clock::time_point deadline = receive_deadline_.value_or(Clock::now() + kTlsDefaultWait);
  for (;;) {
    const security::TlsConnection::Io io = tls_->Read(buffer, length);
    switch (io.status) {
      case security::TlsConnection::Status::kDone:
        return io.bytes;
      case security::TlsConnection::Status::kClosed:
        return 0;
      case security::TlsConnection::Status::kFailed:
        // A failed handshake (no valid client certificate, not TLS at all) or a broken record.
        throw Poco::Net::ConnectionResetException("TLS");
      case security::TlsConnection::Status::kWantRead:
      case security::TlsConnection::Status::kWantWrite:
        if (!WaitReady(deadline, io.status == security::TlsConnection::Status::kWantRead
                                     ? SELECT_READ
                                     : SELECT_WRITE)) {
          timed_out_ = true;
          throw Poco::TimeoutException();
        }
    }
  }
}

int ConnectionSocketImpl::SendTls(const void* buffer, int length) {
  if (send_timeout_.count() > 0 && !send_deadline_) send_deadline_ = Clock::now() + send_timeout_;
  const Clock::time_point deadline = send_deadline_.value_or(Clock::now() + kTlsDefaultWait);
  const char* data = static_cast<const char*>(buffer);
  int sent = 0;
  while (sent < length) {
    const security::TlsConnection::Io io = tls_->Write(data + sent, length - sent);
    switch (io.status) {
      case security::TlsConnection::Status::kDone:
        sent += io.bytes;
        break;
      case security::TlsConnection::Status::kClosed:
      case security::TlsConnection::Status::kFailed:
        throw Poco::Net::ConnectionResetException("TLS");
      case security::TlsConnection::Status::kWantRead:
      case security::TlsConnection::Status::kWantWrite:
        if (!WaitReady(deadline, io.status == security::TlsConnection::Status::kWantRead
                                     ? SELECT_READ
                                     : SELECT_WRITE)) {
          throw Poco::TimeoutException();
        }
    }
  }
  return sent;
}

int ConnectionSocketImpl::receiveBytes(void* buffer, int length, int flags) {
  // Once the head is too large, the rest of it is not read: the parser sees the end of the stream.
  if (head_too_large_) return 0;
  int received = -1;
  if (!unread_.empty()) {
    received = static_cast<int>(std::min(unread_.size(), static_cast<std::size_t>(length)));
    std::memcpy(buffer, unread_.data(), static_cast<std::size_t>(received));
    if ((flags & MSG_PEEK) == 0) unread_.erase(0, static_cast<std::size_t>(received));
  } else if (tls_ != nullptr) {
    received = ReceiveTls(buffer, length);
  } else if (receive_deadline_) {
    // The bytes are usually there already (the wait for the next request saw them arrive): read
    // before waiting, and wait only when there is nothing yet.
    const ssize_t n =
        ::recv(sockfd(), buffer, static_cast<std::size_t>(length), flags | MSG_DONTWAIT);
    if (n >= 0) {
      received = static_cast<int>(n);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      error(errno);
    } else if (!WaitReady(*receive_deadline_, SELECT_READ)) {
      timed_out_ = true;
      throw Poco::TimeoutException();
    }
  }
  if (received < 0) received = StreamSocketImpl::receiveBytes(buffer, length, flags);
  if (received > 0 && in_head_ && (flags & MSG_PEEK) == 0) {
    CountHead(static_cast<const char*>(buffer), static_cast<std::size_t>(received));
  }
  return head_too_large_ ? 0 : received;
}

int ConnectionSocketImpl::sendBytes(const void* buffer, int length, int flags) {
  if (tls_ != nullptr) return SendTls(buffer, length);
  if (send_timeout_.count() <= 0) return StreamSocketImpl::sendBytes(buffer, length, flags);
  // Poco hands an answer over in blocks of a few KiB; one deadline for them all keeps a client that
  // reads a byte now and then from holding the connection's thread for longer than the timeout.
  if (!send_deadline_) send_deadline_ = Clock::now() + send_timeout_;
  const Clock::time_point deadline = *send_deadline_;
  const char* data = static_cast<const char*>(buffer);
  int sent = 0;
  while (sent < length) {
    const ssize_t n = ::send(sockfd(), data + sent, static_cast<std::size_t>(length - sent),
                             flags | MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      sent += static_cast<int>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) error(errno);
    // The socket buffer is full: wait for the client to read, within the deadline.
    if (!WaitReady(deadline, SELECT_WRITE)) throw Poco::TimeoutException();
  }
  return sent;
}

bool ConnectionSocketImpl::Ready(std::chrono::microseconds timeout, int mode) {
  if ((mode & Poco::Net::Socket::SELECT_READ) && !unread_.empty()) return true;
  // Bytes TLS has decrypted already do not make the socket readable.
  if (tls_ != nullptr && (mode & Poco::Net::Socket::SELECT_READ) && tls_->Pending()) return true;
  pollfd fd{.fd = sockfd(), .events = 0, .revents = 0};
  if (mode & Poco::Net::Socket::SELECT_READ) fd.events |= POLLIN;
  if (mode & Poco::Net::Socket::SELECT_WRITE) fd.events |= POLLOUT;
  const auto end = Clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(end - Clock::now()).count();
    const int n = ::poll(&fd, 1, static_cast<int>(std::max<long long>(left, 0)));
    if (n > 0) return true;  // ready, or an error or hang-up that the next call reports
    if (n == 0) return false;
    if (errno != EINTR) error(errno);
  }
}

bool ConnectionSocketImpl::WaitReady(Clock::time_point deadline, int mode) {
  const auto remaining =
      std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
  return remaining.count() > 0 && Ready(remaining, mode);
}

void ConnectionSocketImpl::CountHead(const char* data, std::size_t size) {
  std::size_t used = size;
  for (std::size_t i = 0; i < size && !head_too_large_; ++i) {
    const char c = data[i];
    if (c == '\n') {
      // Poco's parser skips white space before the request line, so only a blank line after it
      // ends the head.
      if (head_started_ && line_length_ == 0) {
        in_head_ = false;
        used = i + 1;
        break;
      }
      if (head_started_) ++lines_;
      line_length_ = 0;
      name_length_ = 0;
      value_length_ = 0;
      in_value_ = false;
      continue;
    }
    if (c == '\r') continue;
    const bool blank = c == ' ' || c == '\t';
    if (!head_started_) {
      if (blank) continue;
      head_started_ = true;
    }
    if (lines_ > 0 && line_length_ == 0) {
      // A line that starts with white space continues the previous field's value.
      if (blank) {
        in_value_ = true;
      } else if (++fields_ > kMaxHeaderFields) {
        head_too_large_ = true;
      }
    }
    ++line_length_;
    if (lines_ == 0) {
      if (line_length_ > kMaxRequestLineBytes) head_too_large_ = true;
      continue;
    }
    if (!in_value_) {
      if (c == ':') {
        in_value_ = true;
      } else if (++name_length_ > kMaxFieldNameBytes) {
        head_too_large_ = true;
      }
    } else if ((value_length_ > 0 || !blank) && ++value_length_ > kMaxFieldValueBytes) {
      head_too_large_ = true;
    }
  }
  head_bytes_ += used;
  if (head_bytes_ > max_head_bytes_) head_too_large_ = true;
}

ListeningSocket::ListeningSocket(const Poco::Net::SocketAddress& address, int backlog,
                                 std::shared_ptr<const security::TlsContext> tls)
    : Poco::Net::ServerSocket(new ListeningSocketImpl(std::move(tls)), true) {
  impl()->bind(address, true);
  impl()->listen(backlog);
}

}  // namespace server::http
