// HTTP/1.1 clients for the REST load generator (rest_load.cc): one persistent keep-alive
// connection per client object, one request at a time.
//
// Two implementations of the same contract: RawClient writes each request with one send() and
// parses the answer from its own buffer (status, Content-Length or chunked body, Location,
// Connection: close), so that the load generator costs little CPU beside the server it measures
// on the same cores; PocoClient uses Poco::Net::HTTPClientSession, to measure what a general
// client costs (rest_load --client poco).
//
// Send never throws. It returns false when no complete answer arrived (connect, write or read
// failed, or the answer could not be parsed): `out.error` then says why and the connection is
// closed; the next Send opens a new one. A kept-alive connection that the server closed while it
// was idle is reopened and the request sent again once, since the server cannot have seen it.
// Not thread-safe: one client per thread.
#ifndef BENCH_REST_LOAD_CLIENT_H_
#define BENCH_REST_LOAD_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace bench {

struct HttpAnswer {
  int status = 0;
  std::string location;  // the Location header, empty when absent
  std::string body;
  std::string error;  // why Send returned false
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Sends `method target` with `body` as application/fhir+json (no body when empty) and waits for
  // the whole answer.
  virtual bool Send(std::string_view method, std::string_view target, std::string_view body,
                    HttpAnswer& out) = 0;
  // Connections opened after the first one (the server closed an idle one, or an error).
  virtual uint64_t reconnects() const = 0;
};

std::unique_ptr<HttpClient> MakeRawClient(const std::string& host, uint16_t port);
std::unique_ptr<HttpClient> MakePocoClient(const std::string& host, uint16_t port);

}  // namespace bench

#endif  // BENCH_REST_LOAD_CLIENT_H_
