// One HTTP request of the FHIR API, from Poco's parsed request to the written answer: reads the
// body (up to HttpOptions::max_body_bytes, 413 beyond; 408 when it does not arrive in time),
// parses it by its Content-Type (FHIR JSON or XML into FhirRequest::body, a JSON Patch document of
// a PATCH into FhirRequest::raw_body, 415 for anything else; 400 with every fault the parser found
// for a malformed resource), negotiates the answer's format, hands the request to the router and
// writes its answer in JSON or XML. Also answers GET /healthz for load balancers.
// Never throws: anything unexpected is answered with a 500 OperationOutcome that reveals no
// internals. Stateless after construction; safe to share between connection threads.
#ifndef SERVER_HTTP_FHIR_HANDLER_H_
#define SERVER_HTTP_FHIR_HANDLER_H_

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <string>

#include "fhir/error.h"
#include "fhir/model/definitions.h"
#include "server/http/connection_socket.h"
#include "server/http/http_server.h"
#include "server/http/negotiation.h"
#include "server/rest/dispatcher.h"
#include "server/rest/registry_source.h"

namespace server::http {

class FhirHandler {
 public:
  // `options`, `router`, `defs` and `registries` must outlive the handler. With `registries`,
  // each request carries the registry it arrived with, and the source hears of its answer.
  FhirHandler(const HttpOptions& options, const rest::Dispatcher& router,
              const fhir::model::Definitions& defs, rest::RegistrySource* registries = nullptr);

  // Answers `request`, whose bytes arrive through `socket`. Sets the answer's keep-alive to false
  // when the connection must not carry another request (the body was refused unread, or did not
  // arrive in time).
  void Handle(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
              ConnectionSocketImpl& socket) const noexcept;

  // The OperationOutcome of `error` in JSON, for answers given before a request could be parsed.
  std::string OutcomeJson(const fhir::Error& error) const;
  // Has the refusal of a request that could not be read recorded (rest::Dispatcher::Refused);
  // returns the error to answer: `error`, or the recording's own failure.
  fhir::Error Refuse(const rest::FhirRequest& request, fhir::Error error) const;

 private:
  struct Body;
  void Handle(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
              ConnectionSocketImpl& socket, bool head) const;
  // Reads the body; a `raw` one is kept as text (HttpOptions::raw_body_paths).
  fhir::Result<Body> ReadBody(Poco::Net::HTTPServerRequest& request,
                              Poco::Net::HTTPServerResponse& response, ConnectionSocketImpl& socket,
                              bool raw) const;
  fhir::Error BodyTooLarge() const;
  void WriteError(Poco::Net::HTTPServerResponse& response, bool head, Format format,
                  const fhir::Error& error) const;
  // WriteError for a request refused before dispatch, recorded first (Refuse).
  void WriteRefusal(Poco::Net::HTTPServerResponse& response, bool head, Format format,
                    const rest::FhirRequest& request, const fhir::Error& error) const;

  const HttpOptions& options_;
  const rest::Dispatcher& router_;
  const fhir::model::Definitions& defs_;
  rest::RegistrySource* registries_;
};

}  // namespace server::http

#endif  // SERVER_HTTP_FHIR_HANDLER_H_
