#include "server/main/mllp_tools.h"

#include <algorithm>

#include "mappings/hl7v2/er7.h"

namespace server::main {
namespace {

bool ParseNumber(const std::string& text, long max, long* value) {
  if (text.empty() || text.size() > 9 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  *value = std::stol(text);
  return *value >= 1 && *value <= max;
}

fhir::Result<std::shared_ptr<const security::TlsContext>> ParseTls(const CommandLine& cl) {
  auto ca = cl.Get("tls-ca");
  auto certificate = cl.Get("tls-certificate");
  auto key = cl.Get("tls-private-key");
  if (!cl.Has("tls")) {
    if (ca || certificate || key) {
      return fhir::Error::Invalid("cli.usage",
                                  "--tls-ca, --tls-certificate and --tls-private-key need --tls");
    }
    return std::shared_ptr<const security::TlsContext>();
  }
  if (certificate.has_value() != key.has_value()) {
    return fhir::Error::Invalid("cli.usage", "--tls-certificate and --tls-private-key go together");
  }
  security::TlsClientOptions options;
  if (ca) options.ca = *ca;
  if (certificate) {
    options.certificate = *certificate;
    options.private_key = *key;
  }
  return security::TlsContext::Client(options);
}

}  // namespace

const std::set<std::string, std::less<>>& MllpTargetFlags() {
  static const std::set<std::string, std::less<>> flags = {"tls"};
  return flags;
}

const std::set<std::string, std::less<>>& MllpTargetOptions() {
  static const std::set<std::string, std::less<>> options = {
      "host", "port", "timeout", "tls-ca", "tls-certificate", "tls-private-key"};
  return options;
}

fhir::Result<MllpTarget> ParseMllpTarget(const CommandLine& cl) {
  MllpTarget target;
  auto host = cl.Get("host");
  auto port = cl.Get("port");
  if (!host || host->empty() || !port) {
    return fhir::Error::Invalid("cli.usage", "--host and --port name the MLLP listener");
  }
  target.host = *host;
  long number = 0;
  if (!ParseNumber(*port, 65535, &number)) {
    return fhir::Error::Invalid("cli.usage", "--port must be a number from 1 to 65535");
  }
  target.port = static_cast<std::uint16_t>(number);
  if (auto timeout = cl.Get("timeout")) {
    if (!ParseNumber(*timeout, 3600, &number)) {
      return fhir::Error::Invalid("cli.usage", "--timeout must be 1 to 3600 seconds");
    }
    target.timeout = std::chrono::seconds(number);
  }
  auto tls = ParseTls(cl);
  if (!tls.ok()) return std::move(tls).error();
  target.tls = std::move(tls).value();
  return target;
}

std::string AckCode(std::string_view ack) {
  auto parsed = mappings::hl7v2::Parse(ack);
  return parsed.ok() ? parsed->Get("MSA-1") : std::string();
}

std::string AckForDisplay(std::string_view ack) {
  std::string text(ack);
  std::replace(text.begin(), text.end(), '\r', '\n');
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

}  // namespace server::main
