// The HTTP door of the server (Poco::Net). Connections are served by HttpConnection on a pool of
// worker threads, requests answered by FhirHandler (see fhir_handler.h for the request path).
// The limits below protect the server from large, slow and numerous clients; each is answered
// with an OperationOutcome: 413 for a body over max_body_bytes, 431 for a head over
// max_header_bytes, 408 for a request that does not arrive within request_timeout, 503 (with
// Retry-After) for a connection beyond max_connections. No exception escapes into Poco.
#ifndef SERVER_HTTP_HTTP_SERVER_H_
#define SERVER_HTTP_HTTP_SERVER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "fhir/model/definitions.h"
#include "fhir/result.h"
#include "server/rest/dispatcher.h"
#include "server/rest/registry_source.h"
#include "server/security/tls.h"

namespace server::http {

struct HttpOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0 picks a free port (tests)
  std::string base_path = "/fhir";
  // Worker threads; each serves one connection at a time.
  int max_threads = 16;
  // Open connections, served or waiting for a worker thread; one more is answered 503.
  int max_connections = 256;
  // Connections the kernel completes before the server accepts them (listen backlog).
  int listen_backlog = 64;
  // A request (head and body) must arrive within this time of its first byte; a new connection's
  // first request within this time of its acceptance. The answer must be taken within it too.
  std::chrono::seconds request_timeout{30};
  // How long a connection may wait idle for its next request.
  std::chrono::seconds keep_alive{15};
  // The request line and header fields together, up to the blank line.
  std::size_t max_header_bytes = 16 * 1024;
  // Larger request bodies are refused with 413 http.body-too-large before they are parsed.
  std::size_t max_body_bytes = 16 * 1024 * 1024;
  // When set, every connection speaks TLS (https), with client certificates as the context asks;
  // a verified one reaches the pipeline in FhirRequest::client_certificate.
  std::shared_ptr<const security::TlsContext> tls;
};

class HttpServer {
 public:
  // `router`, `defs` and `registries` must outlive the server. With `registries`, each request
  // carries a snapshot of its registry (rest/registry_source.h).
  HttpServer(HttpOptions options, const rest::Dispatcher& router,
             const fhir::model::Definitions& defs, rest::RegistrySource* registries = nullptr);
  ~HttpServer();

  // Binds and starts serving; fails when the address cannot be bound.
  fhir::Result<void> Start();
  // The bound port (the real one when options.port was 0). Valid after Start.
  uint16_t port() const { return port_; }
  // Stops accepting, ends the waits of idle connections and waits for requests in flight.
  void Stop();

 private:
  struct Running;

  HttpOptions options_;
  const rest::Dispatcher& router_;
  const fhir::model::Definitions& defs_;
  rest::RegistrySource* registries_;
  std::unique_ptr<Running> running_;
  uint16_t port_ = 0;
};

}  // namespace server::http

#endif  // SERVER_HTTP_HTTP_SERVER_H_
