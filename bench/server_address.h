// The address of the fhirhub server a load generator drives, resolved once before the load.
#ifndef BENCH_SERVER_ADDRESS_H_
#define BENCH_SERVER_ADDRESS_H_

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>

namespace bench {

struct ServerAddress {
  sockaddr_storage address{};
  socklen_t size = 0;
};

// The first address of host:port that accepts a TCP connection (tried once and closed); nullopt,
// with why on stderr after "`program`: ", when none does.
std::optional<ServerAddress> ResolveServer(const char* program, const std::string& host,
                                           uint16_t port);

// The header lines every request of a load generator carries: Host, Accept (FHIR JSON) and, with
// a token, Authorization: Bearer; each ends with CRLF.
std::string CommonHeaders(const std::string& host, uint16_t port, const std::string& token);

}  // namespace bench

#endif  // BENCH_SERVER_ADDRESS_H_
