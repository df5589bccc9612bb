#include "bench/server_address.h"

#include <netdb.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace bench {

std::optional<ServerAddress> ResolveServer(const char* program, const std::string& host,
                                           uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    std::fprintf(stderr, "%s: %s: %s\n", program, host.c_str(), gai_strerror(rc));
    return std::nullopt;
  }
  std::optional<ServerAddress> server;
  std::string error = "no address";
  for (addrinfo* a = found; a != nullptr && !server; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0 || connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      error = std::strerror(errno);
    } else {
      server.emplace();
      std::memcpy(&server->address, a->ai_addr, a->ai_addrlen);
      server->size = a->ai_addrlen;
    }
    if (fd >= 0) close(fd);
  }
  freeaddrinfo(found);
  if (!server) {
    std::fprintf(stderr, "%s: cannot connect to %s:%s: %s\n", program, host.c_str(),
                 service.c_str(), error.c_str());
  }
  return server;
}

std::string CommonHeaders(const std::string& host, uint16_t port, const std::string& token) {
  std::string headers =
      "Host: " + host + ":" + std::to_string(port) + "\r\nAccept: application/fhir+json\r\n";
  if (!token.empty()) headers += "Authorization: Bearer " + token + "\r\n";
  return headers;
}

}  // namespace bench
