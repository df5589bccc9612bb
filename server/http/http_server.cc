#include "server/http/http_server.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/URI.h>

#include <cctype>
#include <exception>
#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "fhir/json/json.h"
#include "fhir/outcome.h"
#include "fhir/subset.h"
#include "fhir/xml/xml.h"
#include "server/http/negotiation.h"

namespace server::http {

namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The comma-separated names of _elements, trimmed, empty ones dropped.
std::vector<std::string> SplitList(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

void Send(Poco::Net::HTTPServerResponse& out, bool head, int status, std::string_view content_type,
          const std::string& body) {
  out.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
  if (!content_type.empty()) out.setContentType(std::string(content_type));
  out.setContentLength64(static_cast<Poco::Int64>(body.size()));
  if (head) {
    out.send();
    return;
  }
  out.sendBuffer(body.data(), body.size());
}

class FhirRequestHandler : public Poco::Net::HTTPRequestHandler {
 public:
  FhirRequestHandler(const HttpOptions& options, const rest::Router& router,
                     const fhir::model::Definitions& defs)
      : options_(options), router_(router), defs_(defs) {}

  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    const bool head = request.getMethod() == Poco::Net::HTTPRequest::HTTP_HEAD;
    try {
      Handle(request, response, head);
    } catch (const std::exception&) {
      // The details stay out of the answer and out of the logs (they may hold PHI).
      if (!response.sent()) {
        WriteError(
            response, head, Format::kJson,
            fhir::Error::Internal("server.internal", "The server failed to process the request"));
      }
    }
  }

 private:
  void Handle(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
              bool head) {
    Poco::URI uri(request.getURI());
    const std::string& path = uri.getPath();
    if (path == "/healthz") {
      Send(response, head, 200, "application/json", "{\"status\":\"up\"}");
      return;
    }

    rest::FhirRequest fhir_request;
    for (const auto& [key, value] : uri.getQueryParameters()) {
      fhir_request.query.emplace_back(key, value);
    }
    for (const auto& [name, value] : request) {
      fhir_request.headers.emplace_back(Lower(name), value);
    }
    auto format = ResponseFormat(fhir_request.Param("_format"), fhir_request.Header("accept"));
    if (!format.ok()) {
      WriteError(response, head, Format::kJson, format.error());
      return;
    }

    const std::string& base = options_.base_path;
    if (path.compare(0, base.size(), base) != 0 ||
        (path.size() > base.size() && path[base.size()] != '/')) {
      WriteError(
          response, head, *format,
          fhir::Error::NotFound("http.outside-base", "The FHIR API is served under " + base));
      return;
    }
    auto summary = fhir::ParseSummaryMode(fhir_request.Param("_summary").value_or("false"));
    if (!summary.ok()) {
      WriteError(response, head, *format, summary.error());
      return;
    }
    std::vector<std::string> elements;
    if (auto list = fhir_request.Param("_elements")) elements = SplitList(*list);

    fhir_request.method = rest::ParseMethod(request.getMethod());
    fhir_request.path = path.substr(std::min(path.size(), base.size() + 1));
    fhir_request.base_url = "http://" + request.getHost() + base;

    auto request_body = ReadBody(request);
    if (!request_body.ok()) {
      // The rest of a refused body may still be in flight: do not read it as the next request.
      response.setKeepAlive(false);
      WriteError(response, head, *format, request_body.error());
      return;
    }
    if (request_body->has_value()) fhir_request.body = std::move(**request_body);

    rest::FhirResponse fhir_response = router_.Dispatch(fhir_request);
    for (const auto& [name, value] : fhir_response.headers) response.set(name, value);
    if (fhir_response.body.has_value() && fhir_response.status < 300 &&
        (*summary != fhir::SummaryMode::kFalse || !elements.empty())) {
      fhir_response.body = fhir::Subset(*fhir_response.body, *summary, elements);
    }
    const bool pretty = fhir_request.Param("_pretty") == std::optional<std::string_view>("true");
    std::string body;
    if (fhir_response.body.has_value()) body = Serialize(*fhir_response.body, *format, pretty);
    Send(response, head, fhir_response.status,
         fhir_response.body.has_value() ? ContentType(*format) : std::string_view(), body);
  }

  // The request's resource, nullopt when it has no body.
  fhir::Result<std::optional<fhir::Resource>> ReadBody(Poco::Net::HTTPServerRequest& request) {
    const Poco::Int64 declared = request.getContentLength64();
    const auto limit = static_cast<Poco::Int64>(options_.max_body_bytes);
    if (declared > limit) return BodyTooLarge();
    if (declared == 0 || (declared < 0 && !request.getChunkedTransferEncoding())) {
      return std::optional<fhir::Resource>();
    }
    std::string text;
    std::istream& in = request.stream();
    char buffer[65536];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
      text.append(buffer, static_cast<size_t>(in.gcount()));
      if (text.size() > options_.max_body_bytes) return BodyTooLarge();
    }
    if (text.empty()) return std::optional<fhir::Resource>();
    auto body_format = RequestFormat(request.getContentType());
    if (!body_format.ok()) return std::move(body_format).error();
    auto parsed = *body_format == Format::kXml ? fhir::xml::Parse(text, defs_)
                                               : fhir::json::Parse(text, defs_);
    if (!parsed.ok()) return std::move(parsed).error();
    return std::optional<fhir::Resource>(std::move(parsed).value());
  }

  fhir::Error BodyTooLarge() const {
    return fhir::Error::TooLarge(
        "http.body-too-large",
        "The request body exceeds " + std::to_string(options_.max_body_bytes) + " bytes");
  }

  static std::string Serialize(const fhir::Resource& resource, Format format, bool pretty) {
    if (format == Format::kXml) return fhir::xml::Write(resource, {.pretty = pretty});
    return fhir::json::Write(resource, {.pretty = pretty});
  }

  void WriteError(Poco::Net::HTTPServerResponse& response, bool head, Format format,
                  const fhir::Error& error) {
    Send(response, head, error.http_status(), ContentType(format),
         Serialize(fhir::ToOperationOutcome(error, defs_), format, false));
  }

  const HttpOptions& options_;
  const rest::Router& router_;
  const fhir::model::Definitions& defs_;
};

class HandlerFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  HandlerFactory(const HttpOptions& options, const rest::Router& router,
                 const fhir::model::Definitions& defs)
      : options_(options), router_(router), defs_(defs) {}

  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new FhirRequestHandler(options_, router_, defs_);
  }

 private:
  const HttpOptions& options_;
  const rest::Router& router_;
  const fhir::model::Definitions& defs_;
};

}  // namespace

HttpServer::HttpServer(HttpOptions options, const rest::Router& router,
                       const fhir::model::Definitions& defs)
    : options_(std::move(options)), router_(router), defs_(defs) {}

HttpServer::~HttpServer() { Stop(); }

fhir::Result<void> HttpServer::Start() {
  try {
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress(options_.host, options_.port), 64);
    port_ = socket.address().port();
    auto* params = new Poco::Net::HTTPServerParams;  // owned by the server (reference counted)
    params->setMaxThreads(options_.max_threads);
    params->setMaxQueued(options_.max_queued);
    params->setTimeout(Poco::Timespan(options_.timeout.count(), 0));
    params->setKeepAlive(true);
    server_ = std::make_unique<Poco::Net::HTTPServer>(new HandlerFactory(options_, router_, defs_),
                                                      socket, params);
    server_->start();
    return {};
  } catch (const Poco::Exception& e) {
    return fhir::Error::Unavailable("http.bind", "Cannot listen on " + options_.host + ":" +
                                                     std::to_string(options_.port) + ": " +
                                                     e.displayText());
  }
}

void HttpServer::Stop() {
  if (server_) {
    server_->stopAll(false);
    server_.reset();
  }
}

}  // namespace server::http
