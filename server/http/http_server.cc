#include "server/http/http_server.h"

#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/Net/TCPServerParams.h>
#include <Poco/ThreadPool.h>
#include <Poco/Timespan.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <string>
#include <utility>

#include "server/http/connection_gate.h"
#include "server/http/connection_socket.h"
#include "server/http/fhir_handler.h"
#include "server/http/http_connection.h"
#include "server/http/lingering_closer.h"
#include "server/http/negotiation.h"

namespace server::http {

namespace {

// How long a closing connection keeps discarding what the client still sends, so that the
// client reads the last answer before the connection resets.
constexpr std::chrono::milliseconds kLinger{2000};
// Seconds a client turned away for too many connections is asked to wait.
constexpr int kRetryAfterSeconds = 1;

// The whole 503 message, written from the accepting thread to connections beyond the limit.
std::string BusyAnswer(const FhirHandler& handler) {
  const std::string body = handler.OutcomeJson(fhir::Error::Unavailable(
      "http.too-many-connections", "The server has too many open connections; retry later"));
  return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: " +
         std::string(ContentType(Format::kJson)) +
         "\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nRetry-After: " + std::to_string(kRetryAfterSeconds) +
         "\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace

// Declared in the order of construction; destroyed in reverse, so the server is gone before
// the pool its threads belong to, and both before what the connections use.
struct HttpServer::Running {
  FhirHandler handler;
  LingeringCloser closer;
  Poco::AutoPtr<ConnectionGate> gate;
  Poco::ThreadPool pool;
  std::unique_ptr<Poco::Net::TCPServer> server;

  Running(const HttpOptions& options, const rest::Dispatcher& router,
          const fhir::model::Definitions& defs, rest::RegistrySource* registries)
      : handler(options, router, defs, registries),
        closer(kLinger, static_cast<std::size_t>(options.max_connections)),
        gate(new ConnectionGate(options.max_connections, BusyAnswer(handler), closer)),
        pool(std::min(2, options.max_threads), options.max_threads) {}
};

HttpServer::HttpServer(HttpOptions options, const rest::Dispatcher& router,
                       const fhir::model::Definitions& defs, rest::RegistrySource* registries)
    : options_(std::move(options)), router_(router), defs_(defs), registries_(registries) {}

HttpServer::~HttpServer() { Stop(); }

fhir::Result<void> HttpServer::Start() {
  try {
    ListeningSocket socket(Poco::Net::SocketAddress(options_.host, options_.port),
                           options_.listen_backlog, options_.tls);
    port_ = socket.address().port();
    auto running = std::make_unique<Running>(options_, router_, defs_, registries_);
    auto* params = new Poco::Net::TCPServerParams;  // owned by the server (reference counted)
    params->setMaxThreads(options_.max_threads);
    // The gate admits at most max_connections, so Poco's queue never drops an admitted one.
    params->setMaxQueued(options_.max_connections);
    running->server = std::make_unique<Poco::Net::TCPServer>(
        new HttpConnectionFactory(options_, running->handler, *running->gate, running->closer),
        running->pool, socket, params);
    running->server->setConnectionFilter(running->gate);
    running->server->start();
    running_ = std::move(running);
    return {};
  } catch (const Poco::Exception& e) {
    return fhir::Error::Unavailable("http.bind", "Cannot listen on " + options_.host + ":" +
                                                     std::to_string(options_.port) + ": " +
                                                     e.displayText());
  } catch (const std::exception& e) {
    return fhir::Error::Unavailable("http.start", std::string("Cannot start serving: ") + e.what());
  }
}

void HttpServer::Stop() {
  if (!running_) return;
  running_->gate->Stop();
  running_->server->stop();
  running_->pool.joinAll();
  running_.reset();
}

}  // namespace server::http
