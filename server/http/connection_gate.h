// The door of the HTTP server: counts the open connections (accepted, whether served or waiting for
// a worker thread) and turns away those beyond the limit with a ready-made 503 answer, written
// from the accepting thread without reading the request, so a crowd of idle clients cannot make
// new ones wait unanswered. It also knows the live connections, so Stop can end their waits.
// Thread-safe: accept runs on Poco's accepting thread, the rest on the connections' threads.
#ifndef SERVER_HTTP_CONNECTION_GATE_H_
#define SERVER_HTTP_CONNECTION_GATE_H_

#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/TCPServer.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include "server/http/lingering_closer.h"

namespace server::http {

class ConnectionGate : public Poco::Net::TCPServerConnectionFilter {
 public:
  // `busy_answer` is the whole HTTP message sent to a connection turned away. `closer` must
  // outlive the gate.
  ConnectionGate(int max_connections, std::string busy_answer, LingeringCloser& closer);

  // Poco's filter: true admits the connection (it then must call Started and Finished once).
  bool accept(const Poco::Net::StreamSocket& socket) override;

  // A worker thread began or ended serving `socket`.
  void Started(const Poco::Net::StreamSocket& socket);
  void Finished(const Poco::Net::StreamSocket& socket);

  // Admitted connections that no worker thread serves yet.
  int waiting() const { return open_.load() - active_.load(); }
  int open() const { return open_.load(); }
  bool stopping() const { return stopping_.load(); }

  // Turns away every new connection and ends the reads of the live ones (their requests in flight
  // are still answered).
  void Stop();

 private:
  const int max_connections_;
  const std::string busy_answer_;
  LingeringCloser& closer_;
  std::atomic<int> open_{0};
  std::atomic<int> active_{0};
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::map<const void*, Poco::Net::StreamSocket> live_;
};

}  // namespace server::http

#endif  // SERVER_HTTP_CONNECTION_GATE_H_
