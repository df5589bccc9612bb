#include "server/main/mllp_options.h"

#include <chrono>
#include <string_view>
#include <vector>

#include "server/main/http_options.h"
#include "server/pipeline/auth/scopes.h"
#include "server/security/tls.h"

namespace server::main {
namespace {

// The comma-separated entries of `text`, blanks around them dropped.
std::vector<std::string> List(std::string_view text) {
  std::vector<std::string> items;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) items.emplace_back(item);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  return items;
}

fhir::Error Invalid(std::string_view option, std::string text) {
  return fhir::Error::Invalid("cli.invalid-option", "--" + std::string(option) + " " + text,
                              "--" + std::string(option));
}

// Reads the TLS files as the listener will, so that a file that cannot be used stops the server
// before it starts, naming its option.
fhir::Result<void> CheckTlsFiles(const connectors::mllp::ListenerOptions& listener) {
  if (listener.tls_certificate.empty()) return {};
  security::TlsServerOptions tls{.certificate = listener.tls_certificate,
                                 .private_key = listener.tls_private_key};
  if (auto context = security::TlsContext::Server(tls); !context.ok()) {
    return Invalid("mllp-tls-certificate", "and --mllp-tls-private-key: " + context.error().text());
  }
  if (listener.tls_client_ca.empty()) return {};
  tls.client_ca = listener.tls_client_ca;
  tls.clients = security::ClientCertificates::kRequired;
  if (auto context = security::TlsContext::Server(tls); !context.ok()) {
    return Invalid("mllp-tls-client-ca", context.error().text());
  }
  return {};
}

}  // namespace

const std::set<std::string, std::less<>>& MllpOptionNames() {
  static const std::set<std::string, std::less<>> names = {
      "mllp-port",
      "mllp-host",
      "mllp-allow",
      "mllp-max-connections",
      "mllp-max-message-bytes",
      "mllp-message-timeout-seconds",
      "mllp-idle-timeout-seconds",
      "mllp-tls-certificate",
      "mllp-tls-private-key",
      "mllp-tls-client-ca",
      "mllp-scope",
      "mllp-processing-ids",
      "mllp-concurrent-transactions",
  };
  return names;
}

fhir::Result<std::optional<MllpOptions>> ParseMllpOptions(const CommandLine& cl) {
  if (!cl.GetOrEnv("mllp-port")) return std::optional<MllpOptions>();
  MllpOptions options;
  connectors::mllp::ListenerOptions& listener = options.listener;
  auto port = ParseNumber(cl, "mllp-port", 0, 65535, 0);
  if (!port.ok()) return std::move(port).error();
  listener.port = static_cast<std::uint16_t>(*port);
  listener.host = cl.GetOrEnv("mllp-host").value_or(listener.host);
  if (auto allow = cl.GetOrEnv("mllp-allow")) {
    listener.allowed_peers = List(*allow);
    if (auto filter = connectors::mllp::PeerFilter::Parse(listener.allowed_peers); !filter.ok()) {
      return Invalid("mllp-allow",
                     "has an entry that is not an IP address or network: " + filter.error().text());
    }
  }
  auto connections = ParseNumber(cl, "mllp-max-connections", 1, 4096, listener.max_connections);
  if (!connections.ok()) return std::move(connections).error();
  listener.max_connections = static_cast<int>(*connections);
  auto bytes = ParseNumber(cl, "mllp-max-message-bytes", 1024, 1LL << 30,
                           static_cast<long long>(listener.max_message_bytes));
  if (!bytes.ok()) return std::move(bytes).error();
  listener.max_message_bytes = static_cast<std::size_t>(*bytes);
  options.handler.max_message_bytes = listener.max_message_bytes;
  auto message_timeout =
      ParseNumber(cl, "mllp-message-timeout-seconds", 1, 3600, listener.message_timeout.count());
  if (!message_timeout.ok()) return std::move(message_timeout).error();
  listener.message_timeout = std::chrono::seconds(*message_timeout);
  auto idle_timeout =
      ParseNumber(cl, "mllp-idle-timeout-seconds", 1, 86400, listener.idle_timeout.count());
  if (!idle_timeout.ok()) return std::move(idle_timeout).error();
  listener.idle_timeout = std::chrono::seconds(*idle_timeout);
  listener.tls_certificate = cl.GetOrEnv("mllp-tls-certificate").value_or("");
  listener.tls_private_key = cl.GetOrEnv("mllp-tls-private-key").value_or("");
  listener.tls_client_ca = cl.GetOrEnv("mllp-tls-client-ca").value_or("");
  if (listener.tls_certificate.empty() != listener.tls_private_key.empty()) {
    return Invalid("mllp-tls-certificate", "and --mllp-tls-private-key go together");
  }
  if (!listener.tls_client_ca.empty() && listener.tls_certificate.empty()) {
    return Invalid("mllp-tls-client-ca", "needs --mllp-tls-certificate and --mllp-tls-private-key");
  }
  if (auto checked = CheckTlsFiles(listener); !checked.ok()) return std::move(checked).error();
  auto transactions = ParseNumber(cl, "mllp-concurrent-transactions", 1, 1024,
                                  options.handler.max_concurrent_transactions);
  if (!transactions.ok()) return std::move(transactions).error();
  options.handler.max_concurrent_transactions = static_cast<int>(*transactions);
  if (auto scope = cl.GetOrEnv("mllp-scope")) {
    const auth::ScopeSet scopes = auth::ScopeSet::Parse(*scope);
    if (scopes.resource_scopes().empty() || !scopes.ignored_scopes().empty()) {
      return Invalid("mllp-scope",
                     "must be SMART system scopes, e.g. \"system/Patient.cu "
                     "system/Observation.cu\"");
    }
    options.handler.scope = *scope;
  }
  if (auto ids = cl.GetOrEnv("mllp-processing-ids")) {
    options.handler.processing_ids.clear();
    for (const std::string& id : List(*ids)) {
      if (id != "P" && id != "T" && id != "D") {
        return Invalid("mllp-processing-ids", "takes P, T and D (HL7 table 0103)");
      }
      options.handler.processing_ids.insert(id);
    }
    if (options.handler.processing_ids.empty()) {
      return Invalid("mllp-processing-ids", "must accept at least one processing id");
    }
  }
  return std::optional<MllpOptions>(std::move(options));
}

}  // namespace server::main
