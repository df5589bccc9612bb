#include "server/main/http_options.h"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

namespace server::main {

fhir::Result<long long> ParseNumber(const CommandLine& cl, std::string_view name, long long min,
                                    long long max, long long fallback) {
  auto text = cl.GetOrEnv(name);
  if (!text) return fallback;
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(text->c_str(), &end, 10);
  const std::string option = "--" + std::string(name);
  if (text->empty() || *end != '\0' || errno == ERANGE || value < min || value > max) {
    return fhir::Error::Invalid(
        "cli.invalid-option",
        option + " must be a number from " + std::to_string(min) + " to " + std::to_string(max),
        option);
  }
  return value;
}

namespace {

fhir::Error InvalidTlsOption(std::string_view name, const std::string& text) {
  const std::string option = "--" + std::string(name);
  return fhir::Error::Invalid("cli.invalid-option", option + ": " + text, option);
}

// The TLS context of --tls-certificate and --tls-private-key (both or neither), with client
// certificates as --tls-client-certificates asks, issued by --tls-client-ca.
fhir::Result<std::shared_ptr<const security::TlsContext>> ParseTls(const CommandLine& cl) {
  auto certificate = cl.GetOrEnv("tls-certificate");
  auto key = cl.GetOrEnv("tls-private-key");
  auto ca = cl.GetOrEnv("tls-client-ca");
  auto clients = cl.GetOrEnv("tls-client-certificates");
  if (!certificate && !key) {
    if (ca || clients) {
      return InvalidTlsOption(ca ? "tls-client-ca" : "tls-client-certificates",
                              "needs --tls-certificate and --tls-private-key");
    }
    return std::shared_ptr<const security::TlsContext>();
  }
  if (!certificate || !key) {
    return InvalidTlsOption(certificate ? "tls-private-key" : "tls-certificate",
                            "TLS needs both --tls-certificate and --tls-private-key");
  }
  security::TlsServerOptions tls{.certificate = *certificate, .private_key = *key};
  const std::string mode = clients.value_or(ca ? "optional" : "none");
  if (mode == "none") {
    tls.clients = security::ClientCertificates::kNone;
  } else if (mode == "optional") {
    tls.clients = security::ClientCertificates::kOptional;
  } else if (mode == "required") {
    tls.clients = security::ClientCertificates::kRequired;
  } else {
    return InvalidTlsOption("tls-client-certificates", "is none, optional or required");
  }
  if (tls.clients != security::ClientCertificates::kNone) {
    if (!ca) return InvalidTlsOption("tls-client-ca", "client certificates need their CAs");
    tls.client_ca = *ca;
  }
  auto context = security::TlsContext::Server(tls);
  if (!context.ok()) return InvalidTlsOption("tls-certificate", context.error().text());
  return context;
}

}  // namespace

const std::set<std::string, std::less<>>& HttpOptionNames() {
  static const std::set<std::string, std::less<>> names = {
      "host",
      "port",
      "max-body-bytes",
      "max-header-bytes",
      "request-timeout-seconds",
      "keep-alive-seconds",
      "max-connections",
      "max-threads",
      "listen-backlog",
      "tls-certificate",
      "tls-private-key",
      "tls-client-ca",
      "tls-client-certificates",
  };
  return names;
}

fhir::Result<http::HttpOptions> ParseHttpOptions(const CommandLine& cl) {
  http::HttpOptions options;
  options.host = cl.GetOrEnv("host").value_or(options.host);

  auto port = ParseNumber(cl, "port", 0, 65535, options.port);
  if (!port.ok()) return std::move(port).error();
  options.port = static_cast<uint16_t>(*port);

  auto body = ParseNumber(cl, "max-body-bytes", 1, 1LL << 40,
                          static_cast<long long>(options.max_body_bytes));
  if (!body.ok()) return std::move(body).error();
  options.max_body_bytes = static_cast<std::size_t>(*body);

  // Below 1 KiB ordinary requests (a long search URL, a bearer token) would be refused.
  auto header = ParseNumber(cl, "max-header-bytes", 1024, 16 * 1024 * 1024,
                            static_cast<long long>(options.max_header_bytes));
  if (!header.ok()) return std::move(header).error();
  options.max_header_bytes = static_cast<std::size_t>(*header);

  auto request_timeout =
      ParseNumber(cl, "request-timeout-seconds", 1, 3600, options.request_timeout.count());
  if (!request_timeout.ok()) return std::move(request_timeout).error();
  options.request_timeout = std::chrono::seconds(*request_timeout);

  auto keep_alive = ParseNumber(cl, "keep-alive-seconds", 1, 3600, options.keep_alive.count());
  if (!keep_alive.ok()) return std::move(keep_alive).error();
  options.keep_alive = std::chrono::seconds(*keep_alive);

  auto connections = ParseNumber(cl, "max-connections", 1, 100000, options.max_connections);
  if (!connections.ok()) return std::move(connections).error();
  options.max_connections = static_cast<int>(*connections);

  auto threads = ParseNumber(cl, "max-threads", 1, 1024, options.max_threads);
  if (!threads.ok()) return std::move(threads).error();
  options.max_threads = static_cast<int>(*threads);

  auto backlog = ParseNumber(cl, "listen-backlog", 1, 65535, options.listen_backlog);
  if (!backlog.ok()) return std::move(backlog).error();
  options.listen_backlog = static_cast<int>(*backlog);

  auto tls = ParseTls(cl);
  if (!tls.ok()) return std::move(tls).error();
  options.tls = std::move(tls).value();
  return options;
}

}  // namespace server::main
