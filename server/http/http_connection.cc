#include "server/http/http_connection.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponseImpl.h>
#include <Poco/Net/HTTPServerSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Timespan.h>
#include <Poco/Timestamp.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <istream>
#include <memory>
#include <string>

#include "fhir/error.h"
#include "server/http/connection_socket.h"
#include "server/http/negotiation.h"

namespace server::http {

namespace {

// How often a connection waiting for its next request checks whether the server stops or other
// connections wait for a worker thread.
constexpr auto kWaitSlice = std::chrono::milliseconds(200);

// Poco's HTTPServerSession, with the bytes it has buffered beyond the last request (the start of
// a pipelined one) in view.
class Session : public Poco::Net::HTTPServerSession {
 public:
  using HTTPServerSession::HTTPServerSession;
  int Buffered() const { return buffered(); }
  // Hands the buffered bytes back to `connection`, which returns them to the next reads: read
  // through it, the head of a pipelined request is counted against the limits in full.
  void ReturnBuffered(ConnectionSocketImpl& connection) {
    char buffer[1024];
    while (buffered() > 0) {
      const int n = read(buffer, sizeof buffer);
      if (n <= 0) break;
      connection.Unread(buffer, static_cast<std::size_t>(n));
    }
  }
};

// Poco's own head limits (MessageHeader) that ConnectionSocketImpl does not check first: the total
// length of a value folded over several lines. Poco reports it only by this text.
bool IsHeadLimit(const Poco::Exception& e) {
  const std::string& text = e.message();
  return text.find("Too many header fields") != std::string::npos ||
         text.find("Folded field value too long") != std::string::npos;
}

class HttpConnection : public Poco::Net::TCPServerConnection {
 public:
  HttpConnection(const Poco::Net::StreamSocket& socket, const HttpOptions& options,
                 const FhirHandler& handler, ConnectionGate& gate, LingeringCloser& closer,
                 Poco::Net::HTTPServerParams::Ptr params)
      : TCPServerConnection(socket),
        options_(options),
        handler_(handler),
        gate_(gate),
        closer_(closer),
        params_(std::move(params)) {}

  void run() override {
    gate_.Started(socket());
    bool linger = false;
    try {
      linger = Serve();
    } catch (...) {
      // Nothing escapes into Poco, and the details (which may hold PHI) are not logged; the
      // connection closes.
    }
    gate_.Finished(socket());
    if (auto* connection = dynamic_cast<ConnectionSocketImpl*>(socket().impl())) {
      connection->EndTls();
    }
    if (linger) closer_.Close(socket());
  }

 private:
  enum class Next { kKeepAlive, kClose, kCloseAfterAnswer };

  // Serves requests until the connection should close; true when the last thing written was an
  // answer (the close then lingers).
  bool Serve() {
    auto* socket_impl = dynamic_cast<ConnectionSocketImpl*>(socket().impl());
    if (socket_impl == nullptr) return false;
    ConnectionSocketImpl& connection = *socket_impl;
    connection.SetSendTimeout(
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.request_timeout));
    Session session(socket(), params_);
    const Clock::time_point started = Clock::now();
    for (bool first = true;; first = false) {
      Clock::time_point deadline;
      if (first) {
        // The first request's time runs from the start: connecting and staying silent is not a
        // way to hold a worker thread longer.
        deadline = started + options_.request_timeout;
        if (!WaitForRequest(session, connection, deadline, false)) return false;
      } else {
        if (!WaitForRequest(session, connection, Clock::now() + options_.keep_alive, true))
          return false;
        deadline = Clock::now() + options_.request_timeout;
      }
      connection.BeginRequest(deadline, options_.max_header_bytes);
      session.ReturnBuffered(connection);
      const Next next = ServeOne(session, connection);
      if (next != Next::kKeepAlive) return next == Next::kCloseAfterAnswer;
    }
  }

  // True once a request starts arriving; false when the connection should close first.
  bool WaitForRequest(Session& session, ConnectionSocketImpl& connection,
                      Clock::time_point deadline, bool idle) {
    if (session.Buffered() > 0) return true;
    while (!gate_.stopping()) {
      const auto remaining = deadline - Clock::now();
      if (remaining <= Clock::duration::zero()) return false;
      const auto slice = std::chrono::duration_cast<std::chrono::microseconds>(
          std::min<Clock::duration>(remaining, kWaitSlice));
      if (connection.Ready(slice, Poco::Net::Socket::SELECT_READ)) return true;
      // An idle keep-alive connection gives its thread to a connection waiting for one, but
      // only once it has been idle for a whole slice: a client whose next request is already on
      // its way must not find the connection closed under it.
      if (idle && gate_.waiting() > 0) return false;
    }
    return false;
  }

  Next ServeOne(Session& session, ConnectionSocketImpl& connection) {
    Poco::Net::HTTPServerResponseImpl response(session);
    std::unique_ptr<Poco::Net::HTTPServerRequestImpl> request;
    try {
      request =
          std::make_unique<Poco::Net::HTTPServerRequestImpl>(response, session, params_.get());
    } catch (const Poco::Exception& e) {
      return AnswerUnreadable(session, connection, &e);
    } catch (const std::exception&) {
      return AnswerUnreadable(session, connection, nullptr);
    }
    // The socket ends the stream where a head exceeds a limit, and the client may end it too;
    // Poco's parser takes the end of the stream for the end of the head: the cut head parses as a
    // shorter request, which must be refused, not served.
    if (connection.head_too_large() || !connection.head_complete()) {
      return AnswerUnreadable(session, connection, nullptr);
    }
    response.setDate(Poco::Timestamp());
    response.setVersion(request->getVersion());
    response.setKeepAlive(request->getKeepAlive() && !gate_.stopping());
    handler_.Handle(*request, response, connection);
    if (!response.sent() || !response.getKeepAlive() || gate_.stopping() ||
        connection.timed_out() || !DrainBody(*request)) {
      return Next::kCloseAfterAnswer;
    }
    return Next::kKeepAlive;
  }

  // Reads what the handler left of the request body, so that it is not taken for the next
  // request; false when the connection must close instead.
  bool DrainBody(Poco::Net::HTTPServerRequest& request) {
    if (!request.getChunkedTransferEncoding() && request.getContentLength64() <= 0) return true;
    std::istream& in = request.stream();
    if (in.eof()) return true;
    // The client waits for "100 Continue" before it sends the body, and got a final answer.
    if (request.getExpectContinue()) return false;
    char buffer[8192];
    std::size_t total = 0;
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
      total += static_cast<std::size_t>(in.gcount());
      if (total > options_.max_body_bytes) return false;
    }
    return !in.bad();
  }

  // Answers a request whose head could not be read, when there is someone to answer.
  Next AnswerUnreadable(Session& session, const ConnectionSocketImpl& connection,
                        const Poco::Exception* e) {
    const bool malformed = e != nullptr && dynamic_cast<const Poco::Net::MessageException*>(e);
    const bool network =
        e != nullptr && !malformed && dynamic_cast<const Poco::Net::NetException*>(e);
    if (connection.head_too_large() || (malformed && IsHeadLimit(*e))) {
      return Answer(
          session,
          fhir::Error::HeadersTooLarge(
              "http.headers-too-large",
              "The request head exceeds " + std::to_string(options_.max_header_bytes) + " bytes, " +
                  std::to_string(ConnectionSocketImpl::kMaxHeaderFields) + " header fields, " +
                  std::to_string(ConnectionSocketImpl::kMaxFieldNameBytes) +
                  " bytes per field name or " +
                  std::to_string(ConnectionSocketImpl::kMaxFieldValueBytes) +
                  " bytes per field value"));
    }
    // Nothing came (the client closed, or Stop ended the read): nobody waits for an answer.
    if (connection.head_bytes() == 0) return Next::kClose;
    if (connection.timed_out()) {
      return Answer(
          session,
          fhir::Error::Timeout("http.request-timeout",
                               "The request did not arrive within " +
                                   std::to_string(options_.request_timeout.count()) + " seconds"));
    }
    if (network || dynamic_cast<const Poco::Net::NoMessageException*>(e) != nullptr) {
      return Next::kClose;
    }
    return Answer(session,
                  fhir::Error::Invalid("http.malformed-request",
                                       "The request is not a well-formed HTTP/1.1 request"));
  }

  // Writes `error` as the connection's last answer, once its refusal is recorded.
  Next Answer(Session& session, const fhir::Error& refused) {
    rest::FhirRequest unread;
    try {
      unread.peer_address = socket().peerAddress().host().toString();
    } catch (const Poco::Exception&) {
      // The peer is gone; the record has no address.
    }
    const fhir::Error error = handler_.Refuse(unread, refused);
    try {
      // A fresh response: the one given to the failed request refers to it.
      Poco::Net::HTTPServerResponseImpl answer(session);
      answer.setVersion(Poco::Net::HTTPMessage::HTTP_1_1);
      answer.setStatusAndReason(
          static_cast<Poco::Net::HTTPResponse::HTTPStatus>(error.http_status()));
      answer.setDate(Poco::Timestamp());
      answer.setContentType(std::string(ContentType(Format::kJson)));
      answer.setKeepAlive(false);
      const std::string body = handler_.OutcomeJson(error);
      answer.setContentLength64(static_cast<Poco::Int64>(body.size()));
      // Not sendBuffer: it leaves the body out of a response that has no request.
      std::ostream& out = answer.send();
      out.write(body.data(), static_cast<std::streamsize>(body.size()));
      out.flush();
      if (!out.good()) return Next::kClose;
    } catch (...) {
      return Next::kClose;
    }
    return Next::kCloseAfterAnswer;
  }

  const HttpOptions& options_;
  const FhirHandler& handler_;
  ConnectionGate& gate_;
  LingeringCloser& closer_;
  Poco::Net::HTTPServerParams::Ptr params_;
};

}  // namespace

HttpConnectionFactory::HttpConnectionFactory(const HttpOptions& options, const FhirHandler& handler,
                                             ConnectionGate& gate, LingeringCloser& closer)
    : options_(options),
      handler_(handler),
      gate_(gate),
      closer_(closer),
      params_(new Poco::Net::HTTPServerParams) {
  params_->setKeepAlive(true);
  params_->setTimeout(Poco::Timespan(options.request_timeout.count(), 0));
  params_->setKeepAliveTimeout(Poco::Timespan(options.keep_alive.count(), 0));
}

Poco::Net::TCPServerConnection* HttpConnectionFactory::createConnection(
    const Poco::Net::StreamSocket& socket) {
  return new HttpConnection(socket, options_, handler_, gate_, closer_, params_);
}

}  // namespace server::http
