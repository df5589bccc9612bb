#include "server/main/http_options.h"

#include <cstdlib>

namespace server::main {

const std::set<std::string, std::less<>>& HttpOptionNames() {
  static const std::set<std::string, std::less<>> names = {"host", "port", "max-body-bytes"};
  return names;
}

fhir::Result<http::HttpOptions> ParseHttpOptions(const CommandLine& cl) {
  http::HttpOptions options;
  options.host = cl.GetOrEnv("host").value_or("127.0.0.1");
  const std::string port_text = cl.GetOrEnv("port").value_or("8080");
  char* end = nullptr;
  const long port = std::strtol(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || port < 0 || port > 65535) {
    return fhir::Error::Invalid("cli.invalid-option", "--port must be a number from 0 to 65535",
                                "--port");
  }
  options.port = static_cast<uint16_t>(port);
  if (auto limit_text = cl.GetOrEnv("max-body-bytes")) {
    char* limit_end = nullptr;
    const long long limit = std::strtoll(limit_text->c_str(), &limit_end, 10);
    if (limit_text->empty() || *limit_end != '\0' || limit < 1) {
      return fhir::Error::Invalid("cli.invalid-option",
                                  "--max-body-bytes must be a positive number", "--max-body-bytes");
    }
    options.max_body_bytes = static_cast<std::size_t>(limit);
  }
  return options;
}

}  // namespace server::main
