#include "server/http/connection_gate.h"

#include <sys/socket.h>

#include <utility>

namespace server::http {

ConnectionGate::ConnectionGate(int max_connections, std::string busy_answer,
                               LingeringCloser& closer)
    : max_connections_(max_connections), busy_answer_(std::move(busy_answer)), closer_(closer) {}

bool ConnectionGate::accept(const Poco::Net::StreamSocket& socket) {
  // Only this (accepting) thread increments, so the check and the increment cannot interleave
  // with another admission.
  if (!stopping_.load() && open_.load() < max_connections_) {
    ++open_;
    return true;
  }
  // A fresh socket's send buffer is empty, so the short answer goes out without blocking.
  ::send(socket.impl()->sockfd(), busy_answer_.data(), busy_answer_.size(),
         MSG_DONTWAIT | MSG_NOSIGNAL);
  closer_.Close(socket);
  return false;
}

void ConnectionGate::Started(const Poco::Net::StreamSocket& socket) {
  ++active_;
  std::lock_guard lock(mutex_);
  live_.emplace(socket.impl(), socket);
  // A connection that started after Stop must not wait for a request either.
  if (stopping_.load()) ::shutdown(socket.impl()->sockfd(), SHUT_RD);
}

void ConnectionGate::Finished(const Poco::Net::StreamSocket& socket) {
  {
    std::lock_guard lock(mutex_);
    live_.erase(socket.impl());
  }
  --active_;
  --open_;
}

void ConnectionGate::Stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  // Reads return end of stream at once; answers can still be written.
  for (const auto& [key, socket] : live_) ::shutdown(socket.impl()->sockfd(), SHUT_RD);
}

}  // namespace server::http
