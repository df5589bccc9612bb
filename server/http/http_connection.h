// One client connection of the HTTP server, served on one of Poco's worker threads: requests are
// read one after another (keep-alive) and answered by the FhirHandler, within the limits of
// HttpOptions. Modelled on Poco's HTTPServerConnection, which answers a request it cannot read
// with a bare 400; here every such failure gets its own answer with an OperationOutcome:
//   - a head larger than max_header_bytes, or with too many or too long fields: 431;
//   - a request that has not fully arrived request_timeout after its first byte (after the
//     connection was accepted, for the first request): 408; nothing is sent when no byte came;
//   - a head that is not HTTP: 400.
// The connection then closes through the LingeringCloser. A connection waits for its next request
// at most keep_alive and not at all while other connections wait for a worker thread, and is
// closed without an answer then.
#ifndef SERVER_HTTP_HTTP_CONNECTION_H_
#define SERVER_HTTP_HTTP_CONNECTION_H_

#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/TCPServerConnectionFactory.h>

#include "server/http/connection_gate.h"
#include "server/http/fhir_handler.h"
#include "server/http/http_server.h"
#include "server/http/lingering_closer.h"

namespace server::http {

class HttpConnectionFactory : public Poco::Net::TCPServerConnectionFactory {
 public:
  // Everything passed must outlive the connections.
  HttpConnectionFactory(const HttpOptions& options, const FhirHandler& handler,
                        ConnectionGate& gate, LingeringCloser& closer);

  Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override;

 private:
  const HttpOptions& options_;
  const FhirHandler& handler_;
  ConnectionGate& gate_;
  LingeringCloser& closer_;
  Poco::Net::HTTPServerParams::Ptr params_;
};

}  // namespace server::http

#endif  // SERVER_HTTP_HTTP_CONNECTION_H_
