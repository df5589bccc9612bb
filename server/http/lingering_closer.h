// Closes connections gracefully without holding a worker thread. Closing a TCP socket while the
// client's data is still unread makes the kernel send a reset, and the client may then lose the
// answer it was about to read (a 413, 431, 408 or 503 in particular, sent before the request was
// read). The closer therefore shuts down the sending side (the answer is followed by FIN), discards
// what the client still sends until it closes or the linger time passes, and only then closes.
// One thread serves all lingering sockets. Thread-safe.
#ifndef SERVER_HTTP_LINGERING_CLOSER_H_
#define SERVER_HTTP_LINGERING_CLOSER_H_

#include <Poco/Net/StreamSocket.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

namespace server::http {

class LingeringCloser {
 public:
  // At most `max_sockets` linger at once; beyond that a socket is closed at once.
  LingeringCloser(std::chrono::milliseconds linger, std::size_t max_sockets);
  // Closes every socket still lingering.
  ~LingeringCloser();

  LingeringCloser(const LingeringCloser&) = delete;
  LingeringCloser& operator=(const LingeringCloser&) = delete;

  // Takes over `socket` after the last answer was written on it. Never throws.
  void Close(Poco::Net::StreamSocket socket) noexcept;

 private:
  struct Entry {
    Poco::Net::StreamSocket socket;
    std::chrono::steady_clock::time_point deadline;
  };

  void Run();
  // Reads and discards what is waiting; false once the client closed or the socket failed.
  bool Drain(int fd);
  static void CloseNow(Poco::Net::StreamSocket& socket) noexcept;

  const std::chrono::milliseconds linger_;
  const std::size_t max_sockets_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Entry> entries_;  // appended by Close, removed only by the closer's thread
  bool stopping_ = false;
  std::vector<char> scratch_;
  std::thread thread_;
};

}  // namespace server::http

#endif  // SERVER_HTTP_LINGERING_CLOSER_H_
