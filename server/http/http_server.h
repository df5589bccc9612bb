// The HTTP door of the server (Poco::Net). It parses requests into rest::FhirRequest, negotiates
// the format, hands them to the router and writes the response in JSON or XML. It also answers
// GET /healthz for load balancers. A request body is read up to HttpOptions::max_body_bytes (413
// beyond) and parsed by its Content-Type (415 for anything but FHIR JSON or XML; 400 with every
// fault the parser found for a malformed resource) before the router sees it. No exception escapes
// into Poco: anything unexpected is answered with a 500 OperationOutcome that reveals no internals.
#ifndef SERVER_HTTP_HTTP_SERVER_H_
#define SERVER_HTTP_HTTP_SERVER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "fhir/model/definitions.h"
#include "fhir/result.h"
#include "server/rest/router.h"

namespace Poco::Net {
class HTTPServer;
}

namespace server::http {

struct HttpOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0 picks a free port (tests)
  std::string base_path = "/fhir";
  int max_threads = 16;
  int max_queued = 128;
  std::chrono::seconds timeout{30};
  // Larger request bodies are refused with 413 http.body-too-large before they are parsed.
  std::size_t max_body_bytes = 16 * 1024 * 1024;
};

class HttpServer {
 public:
  // `router` and `defs` must outlive the server.
  HttpServer(HttpOptions options, const rest::Router& router, const fhir::model::Definitions& defs);
  ~HttpServer();

  // Binds and starts serving; fails when the address cannot be bound.
  fhir::Result<void> Start();
  // The bound port (the real one when options.port was 0). Valid after Start.
  uint16_t port() const { return port_; }
  // Stops accepting and waits for requests in flight.
  void Stop();

 private:
  HttpOptions options_;
  const rest::Router& router_;
  const fhir::model::Definitions& defs_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  uint16_t port_ = 0;
};

}  // namespace server::http

#endif  // SERVER_HTTP_HTTP_SERVER_H_
