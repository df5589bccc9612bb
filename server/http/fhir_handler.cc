#include "server/http/fhir_handler.h"

#include <Poco/Net/HTTPRequest.h>
#include <Poco/URI.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fhir/json/json.h"
#include "fhir/outcome.h"
#include "fhir/subset.h"
#include "fhir/xml/xml.h"
#include "server/rest/interaction_support.h"

namespace server::http {

struct FhirHandler::Body {
  std::optional<fhir::Resource> resource;
  std::string raw;
  std::string content_type;
};

namespace {

constexpr std::string_view kJsonPatch = "application/json-patch+json";
constexpr std::string_view kForm = "application/x-www-form-urlencoded";

// Whether an answer is a search's Bundle (either as the text the handler wrote or as a tree).
bool IsSearchset(const rest::FhirResponse& answer) {
  if (!answer.json.empty()) {
    return answer.json.starts_with(R"({"resourceType":"Bundle","type":"searchset")");
  }
  if (!answer.body.has_value() || answer.body->resource_type() != "Bundle") return false;
  const fhir::Node* type = answer.body->root()->Child("type");
  return type != nullptr && type->value == "searchset";
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The media type of a Content-Type value: parameters and white space dropped, lower case.
std::string MediaType(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  return Lower(std::string(type));
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
  // Health records are neither cached on the way nor rendered as anything but data.
  out.set("Cache-Control", "no-store");
  out.set("X-Content-Type-Options", "nosniff");
  out.set("X-Frame-Options", "DENY");
  out.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  out.set("Referrer-Policy", "no-referrer");
  out.setContentLength64(static_cast<Poco::Int64>(body.size()));
  if (head) {
    out.send();
    return;
  }
  out.sendBuffer(body.data(), body.size());
}

std::string Serialize(const fhir::Resource& resource, Format format, bool pretty) {
  if (format == Format::kXml) return fhir::xml::Write(resource, {.pretty = pretty});
  return fhir::json::Write(resource, {.pretty = pretty});
}

}  // namespace

FhirHandler::FhirHandler(const HttpOptions& options, const rest::Dispatcher& router,
                         const fhir::model::Definitions& defs, rest::RegistrySource* registries)
    : options_(options), router_(router), defs_(defs), registries_(registries) {}

void FhirHandler::Handle(Poco::Net::HTTPServerRequest& request,
                         Poco::Net::HTTPServerResponse& response,
                         ConnectionSocketImpl& socket) const noexcept {
  const bool head = request.getMethod() == Poco::Net::HTTPRequest::HTTP_HEAD;
  try {
    Handle(request, response, socket, head);
  } catch (...) {
    // The details stay out of the answer and out of the logs (they may hold PHI).
    try {
      if (!response.sent()) {
        response.setKeepAlive(false);
        WriteError(
            response, head, Format::kJson,
            fhir::Error::Internal("server.internal", "The server failed to process the request"));
      }
    } catch (...) {
      // The answer cannot be written; the connection closes.
    }
    response.setKeepAlive(false);
  }
}

std::string FhirHandler::OutcomeJson(const fhir::Error& error) const {
  return fhir::json::Write(fhir::ToOperationOutcome(error, defs_), {.pretty = false});
}

void FhirHandler::Handle(Poco::Net::HTTPServerRequest& request,
                         Poco::Net::HTTPServerResponse& response, ConnectionSocketImpl& socket,
                         bool head) const {
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
  fhir_request.method = rest::ParseMethod(request.getMethod());
  fhir_request.path = path;
  fhir_request.peer_address = request.clientAddress().host().toString();
  auto format = ResponseFormat(fhir_request.Param("_format"), fhir_request.Header("accept"));
  if (!format.ok()) {
    WriteRefusal(response, head, Format::kJson, fhir_request, format.error());
    return;
  }

  const std::string& base = options_.base_path;
  if (path.compare(0, base.size(), base) != 0 ||
      (path.size() > base.size() && path[base.size()] != '/')) {
    WriteRefusal(
        response, head, *format, fhir_request,
        fhir::Error::NotFound("http.outside-base", "The FHIR API is served under " + base));
    return;
  }
  fhir_request.path = path.substr(std::min(path.size(), base.size() + 1));
  // _summary=count is a search's own: the search handler answers it (a Bundle with the total and
  // no entries), which is not reduced further; any other answer to it is refused below.
  std::string_view summary_text = fhir_request.Param("_summary").value_or("false");
  const bool count_only = summary_text == "count";
  auto summary = fhir::ParseSummaryMode(count_only ? "false" : summary_text);
  if (!summary.ok()) {
    WriteRefusal(response, head, *format, fhir_request, summary.error());
    return;
  }
  std::vector<std::string> elements;
  if (auto list = fhir_request.Param("_elements")) elements = SplitList(*list);

  // HTTP/1.0 clients may leave Host out; the address they reached stands in for it.
  const std::string host =
      request.has("Host") ? request.getHost() : request.serverAddress().toString();
  fhir_request.base_url = (socket.tls() != nullptr ? "https://" : "http://") + host + base;
  if (socket.tls() != nullptr && socket.tls()->peer()) {
    const security::PeerCertificate& peer = *socket.tls()->peer();
    fhir_request.client_certificate =
        rest::ClientCertificate{peer.subject, peer.fingerprint_sha256, peer.dns_names, peer.uris};
  }

  auto body = ReadBody(request, response, socket);
  if (!body.ok()) {
    WriteRefusal(response, head, *format, fhir_request, body.error());
    return;
  }
  fhir_request.body = std::move(body->resource);
  fhir_request.raw_body = std::move(body->raw);
  fhir_request.content_type = std::move(body->content_type);

  if (registries_ != nullptr) fhir_request.registry = registries_->Current();
  rest::FhirResponse fhir_response = router_.Dispatch(fhir_request);
  if (registries_ != nullptr) registries_->Answered(fhir_request, fhir_response);
  if (count_only && fhir_response.status < 300 && !IsSearchset(fhir_response)) {
    WriteError(response, head, *format, fhir::ParseSummaryMode("count").error());
    return;
  }
  const bool subset = *summary != fhir::SummaryMode::kFalse || !elements.empty();
  const bool pretty = fhir_request.Param("_pretty") == std::optional<std::string_view>("true");
  if (!fhir_response.json.empty()) {
    // A stored resource: its text is the answer unless another format or shape is asked for.
    if (*format == Format::kJson && !pretty && !(subset && fhir_response.status < 300)) {
      for (const auto& [name, value] : fhir_response.headers) response.set(name, value);
      Send(response, head, fhir_response.status, ContentType(*format), fhir_response.json);
      return;
    }
    if (auto parsed = rest::MaterializeBody(&fhir_response, defs_); !parsed.ok()) {
      WriteError(response, head, *format, parsed.error());
      return;
    }
  }
  for (const auto& [name, value] : fhir_response.headers) response.set(name, value);
  if (fhir_response.body.has_value() && fhir_response.status < 300 && subset) {
    // The matches of a search or history are reduced, not the Bundle that carries them.
    const fhir::Node* bundle_type = fhir_response.body->resource_type() == "Bundle"
                                        ? fhir_response.body->root()->Child("type")
                                        : nullptr;
    if (bundle_type != nullptr &&
        (bundle_type->value == "searchset" || bundle_type->value == "history")) {
      fhir_response.body = fhir::SubsetEntries(*fhir_response.body, *summary, elements);
    } else {
      fhir_response.body = fhir::Subset(*fhir_response.body, *summary, elements);
    }
  }
  std::string text;
  if (fhir_response.body.has_value()) text = Serialize(*fhir_response.body, *format, pretty);
  Send(response, head, fhir_response.status,
       fhir_response.body.has_value() ? ContentType(*format) : std::string_view(), text);
}

fhir::Result<FhirHandler::Body> FhirHandler::ReadBody(Poco::Net::HTTPServerRequest& request,
                                                      Poco::Net::HTTPServerResponse& response,
                                                      ConnectionSocketImpl& socket) const {
  const bool chunked = request.getChunkedTransferEncoding();
  const Poco::Int64 declared = request.hasContentLength() ? request.getContentLength64() : -1;
  if (chunked && declared >= 0) {
    // Two framings that may disagree: a proxy in front could see another request boundary.
    response.setKeepAlive(false);
    return fhir::Error::Invalid("http.ambiguous-length",
                                "The request has both Content-Length and chunked encoding");
  }
  if (declared > static_cast<Poco::Int64>(options_.max_body_bytes)) {
    // The body stays unread: it must not be taken for the next request.
    response.setKeepAlive(false);
    return BodyTooLarge();
  }
  // A request with neither framing has no body (RFC 9112, section 6.3).
  if (!chunked && declared <= 0) return Body{};
  if (request.getExpectContinue()) response.sendContinue();

  std::string text;
  std::istream& in = request.stream();
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(in.gcount()));
    if (text.size() > options_.max_body_bytes) {
      response.setKeepAlive(false);
      return BodyTooLarge();
    }
  }
  socket.BeginAnswer();
  if (socket.timed_out()) {
    response.setKeepAlive(false);
    return fhir::Error::Timeout("http.request-timeout",
                                "The request did not arrive within " +
                                    std::to_string(options_.request_timeout.count()) + " seconds");
  }
  if (in.bad() || (declared >= 0 && static_cast<Poco::Int64>(text.size()) < declared)) {
    response.setKeepAlive(false);
    return fhir::Error::Invalid("http.incomplete-body",
                                "The request body ended before its announced end");
  }
  if (text.empty()) return Body{};

  Body body;
  body.content_type = MediaType(request.getContentType());
  if (request.getMethod() == "POST" && body.content_type == kForm) {
    // The parameters of a POST [type]/_search; the search reads them.
    body.raw = std::move(text);
    return body;
  }
  if (request.getMethod() == "PATCH" && body.content_type == kJsonPatch) {
    // A JSON Patch document is not a resource; the interaction reads it.
    body.raw = std::move(text);
    return body;
  }
  auto body_format = RequestFormat(request.getContentType());
  if (!body_format.ok()) return std::move(body_format).error();
  auto parsed =
      *body_format == Format::kXml ? fhir::xml::Parse(text, defs_) : fhir::json::Parse(text, defs_);
  if (!parsed.ok()) return std::move(parsed).error();
  body.resource = std::move(parsed).value();
  return body;
}

fhir::Error FhirHandler::BodyTooLarge() const {
  return fhir::Error::TooLarge(
      "http.body-too-large",
      "The request body exceeds " + std::to_string(options_.max_body_bytes) + " bytes");
}

void FhirHandler::WriteError(Poco::Net::HTTPServerResponse& response, bool head, Format format,
                             const fhir::Error& error) const {
  Send(response, head, error.http_status(), ContentType(format),
       Serialize(fhir::ToOperationOutcome(error, defs_), format, false));
}

fhir::Error FhirHandler::Refuse(const rest::FhirRequest& request, fhir::Error error) const {
  auto recorded = router_.Refused(request, error);
  if (!recorded.ok()) return std::move(recorded).error();
  return error;
}

void FhirHandler::WriteRefusal(Poco::Net::HTTPServerResponse& response, bool head, Format format,
                               const rest::FhirRequest& request, const fhir::Error& error) const {
  WriteError(response, head, format, Refuse(request, error));
}

}  // namespace server::http
