#include "server/http/lingering_closer.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace server::http {

namespace {

// How often the lingering sockets are checked against their deadlines.
constexpr int kPollMillis = 100;
// Discarded per socket and turn, so one fast sender cannot starve the others.
constexpr int kMaxReadsPerTurn = 16;

}  // namespace

LingeringCloser::LingeringCloser(std::chrono::milliseconds linger, std::size_t max_sockets)
    : linger_(linger), max_sockets_(max_sockets), scratch_(64 * 1024) {
  thread_ = std::thread([this] { Run(); });
}

LingeringCloser::~LingeringCloser() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  for (Entry& entry : entries_) CloseNow(entry.socket);
}

void LingeringCloser::Close(Poco::Net::StreamSocket socket) noexcept {
  try {
    socket.shutdownSend();
  } catch (...) {
    // The client is gone already: nothing to linger for.
    CloseNow(socket);
    return;
  }
  try {
    std::lock_guard lock(mutex_);
    if (stopping_ || entries_.size() >= max_sockets_) {
      CloseNow(socket);
      return;
    }
    entries_.push_back({socket, std::chrono::steady_clock::now() + linger_});
  } catch (...) {
    CloseNow(socket);
    return;
  }
  wake_.notify_one();
}

void LingeringCloser::Run() {
  std::vector<pollfd> fds;
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !entries_.empty(); });
    if (stopping_) return;
    fds.clear();
    for (const Entry& entry : entries_) fds.push_back({entry.socket.impl()->sockfd(), POLLIN, 0});
    lock.unlock();
    ::poll(fds.data(), fds.size(), kPollMillis);
    lock.lock();
    // Entries may have been appended meanwhile; the first fds.size() are the ones polled.
    const auto now = std::chrono::steady_clock::now();
    for (std::size_t i = fds.size(); i-- > 0;) {
      bool done = now >= entries_[i].deadline;
      if (!done && fds[i].revents != 0) done = !Drain(fds[i].fd);
      if (done) {
        CloseNow(entries_[i].socket);
        entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
  }
}

bool LingeringCloser::Drain(int fd) {
  for (int i = 0; i < kMaxReadsPerTurn; ++i) {
    const ssize_t n = ::recv(fd, scratch_.data(), scratch_.size(), MSG_DONTWAIT);
    if (n > 0) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return true;
    return false;
  }
  return true;
}

void LingeringCloser::CloseNow(Poco::Net::StreamSocket& socket) noexcept {
  try {
    socket.close();
  } catch (...) {
    // Closing cannot fail in a way that matters here: the descriptor is released either way.
  }
}

}  // namespace server::http
