// The sockets of the HTTP server. ListeningSocket is a Poco ServerSocket whose accepted connections
// are ConnectionSocketImpls: stream sockets that enforce, below Poco's HTTP parser, the limits Poco
// does not know: a deadline for receiving a request, the size of a request head, and a deadline for
// sending an answer. When a limit is hit the socket records which one, so the connection can answer
// 408 or 431 instead of the generic error Poco's parser raises.
//
// With TLS (the listening socket was given a security::TlsContext) the socket is non-blocking and
// every byte passes through its TlsConnection, under the same deadlines; the handshake runs with
// the first request's receive.
//
// A ConnectionSocketImpl is used by one connection thread at a time; it is not thread-safe.
#ifndef SERVER_HTTP_CONNECTION_SOCKET_H_
#define SERVER_HTTP_CONNECTION_SOCKET_H_

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocketImpl.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "server/security/tls.h"

namespace server::http {

using Clock = std::chrono::steady_clock;

class ConnectionSocketImpl : public Poco::Net::StreamSocketImpl {
 public:
  explicit ConnectionSocketImpl(poco_socket_t fd) : StreamSocketImpl(fd) {}

  // From now on the connection speaks TLS through `tls`; the socket becomes non-blocking.
  void StartTls(std::unique_ptr<security::TlsConnection> tls);
  // The connection's TLS, or null for plain TCP.
  const security::TlsConnection* tls() const { return tls_.get(); }
  // Sends TLS close_notify, when the connection speaks TLS; before the socket is closed.
  void EndTls();

  // Poco's own limits on a request head (MessageHeader), enforced here too so that every head it
  // would refuse is recognised as too large rather than malformed.
  static constexpr std::size_t kMaxHeaderFields = 100;
  static constexpr std::size_t kMaxFieldNameBytes = 256;
  static constexpr std::size_t kMaxFieldValueBytes = 8192;
  // Poco's HTTPRequest refuses a request target of 16384 bytes or more.
  static constexpr std::size_t kMaxRequestLineBytes = 16384;

  // Starts a request: from now on receiving fails with Poco::TimeoutException once `deadline` has
  // passed, and the bytes up to the blank line that ends the head are counted. Past
  // `max_head_bytes`, or past the field limits above, the socket reports end of stream and
  // head_too_large() becomes true. Poco's parser may take that end of stream for the end of a
  // shorter head and raise nothing, so head_too_large() must be checked after a head parsed too.
  void BeginRequest(Clock::time_point deadline, std::size_t max_head_bytes);
  // Bytes read from the connection before the current request began (Poco's session buffers
  // ahead, so a pipelined request's head may have arrived with the previous request): receiving
  // returns them before any new ones, and counts them as part of the head like those.
  void Unread(const char* data, std::size_t size) { unread_.append(data, size); }
  // An answer must be sent within `timeout` of its first byte, else sending fails with
  // Poco::TimeoutException. Zero: no limit. The clock restarts with BeginRequest and BeginAnswer.
  void SetSendTimeout(std::chrono::milliseconds timeout);
  // The next bytes sent start a new answer (after an interim "100 Continue" and the body it asked
  // for, the final answer gets the whole send timeout).
  void BeginAnswer() { send_deadline_.reset(); }

  // Whether the socket becomes ready for `mode` (Poco::Net::Socket::SELECT_READ or SELECT_WRITE)
  // within `timeout`. poll(2) on the descriptor: Poco's Socket::poll sets up and tears down an
  // epoll instance per call, three system calls where one does.
  bool Ready(std::chrono::microseconds timeout, int mode);

  bool timed_out() const { return timed_out_; }
  bool head_too_large() const { return head_too_large_; }
  // Whether the blank line that ends the current request's head arrived. Poco's parser takes the
  // end of the stream (a client that closed its side early) for the end of a head too: a head
  // cut short that way parses as a shorter request, which must be refused, not served.
  bool head_complete() const { return head_started_ && !in_head_; }
  // Bytes of the current request head received so far (0: the client sent nothing yet).
  std::size_t head_bytes() const { return head_bytes_; }

  using StreamSocketImpl::receiveBytes;
  using StreamSocketImpl::sendBytes;
  int receiveBytes(void* buffer, int length, int flags = 0) override;
  int sendBytes(const void* buffer, int length, int flags = 0) override;

 private:
  // Waits until the socket is ready for `mode`; false when `deadline` passed first.
  bool WaitReady(Clock::time_point deadline, int mode);
  void CountHead(const char* data, std::size_t size);
  int ReceiveTls(void* buffer, int length);
  int SendTls(const void* buffer, int length);

  std::unique_ptr<security::TlsConnection> tls_;
  std::string unread_;
  std::optional<Clock::time_point> receive_deadline_;
  std::chrono::milliseconds send_timeout_{0};
  std::optional<Clock::time_point> send_deadline_;
  std::size_t max_head_bytes_ = 0;
  std::size_t head_bytes_ = 0;
  bool in_head_ = false;
  bool head_started_ = false;    // a byte other than leading white space arrived
  std::size_t line_length_ = 0;  // characters of the current head line, CR not counted
  std::size_t lines_ = 0;        // complete lines since the request line began
  std::size_t fields_ = 0;
  std::size_t name_length_ = 0;   // of the current field
  std::size_t value_length_ = 0;  // of the current field, from its first non-blank character
  bool in_value_ = false;
  bool timed_out_ = false;
  bool head_too_large_ = false;
};

// A listening socket whose accepted connections are ConnectionSocketImpls.
class ListeningSocket : public Poco::Net::ServerSocket {
 public:
  // Binds (reusing the address) and listens with `backlog` pending connections; throws
  // Poco::Exception when the address cannot be bound. With `tls`, accepted connections speak TLS.
  ListeningSocket(const Poco::Net::SocketAddress& address, int backlog,
                  std::shared_ptr<const security::TlsContext> tls = nullptr);
};

}  // namespace server::http

#endif  // SERVER_HTTP_CONNECTION_SOCKET_H_
