#include "bench/rest_load_client.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Timespan.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <istream>
#include <iterator>
#include <ostream>

namespace bench {

namespace {

// Longer than the server's request timeout (30 s): a stuck server shows as an error, not a hang.
constexpr int kSocketTimeoutSeconds = 60;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

class RawClient : public HttpClient {
 public:
  RawClient(std::string host, uint16_t port) : host_(std::move(host)), port_(port) {
    host_header_ = host_ + ":" + std::to_string(port_);
  }
  ~RawClient() override { Close(); }

  bool Send(std::string_view method, std::string_view target, std::string_view body,
            HttpAnswer& out) override {
    BuildRequest(method, target, body);
    for (int attempt = 0;; ++attempt) {
      const bool reused = fd_ >= 0;
      if (!reused && !Connect(out)) return false;
      bool got_bytes = false;
      if (WriteAll(out) && ReadAnswer(method, out, got_bytes)) return true;
      Close();
      // Only a reused connection that the server closed before answering is retried: the
      // request never reached a handler then.
      if (!reused || got_bytes || attempt > 0) return false;
    }
  }

  uint64_t reconnects() const override { return connects_ > 0 ? connects_ - 1 : 0; }

 private:
  void BuildRequest(std::string_view method, std::string_view target, std::string_view body) {
    request_.clear();
    request_.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ");
    request_.append(host_header_).append("\r\nAccept: application/fhir+json\r\n");
    if (!body.empty()) {
      request_.append("Content-Type: application/fhir+json\r\nContent-Length: ");
      request_.append(std::to_string(body.size())).append("\r\n");
    }
    request_.append("\r\n").append(body);
  }

  bool Connect(HttpAnswer& out) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(port_);
    if (int rc = getaddrinfo(host_.c_str(), port.c_str(), &hints, &found); rc != 0) {
      out.error = std::string("getaddrinfo: ") + gai_strerror(rc);
      return false;
    }
    for (addrinfo* a = found; a != nullptr && fd_ < 0; a = a->ai_next) {
      fd_ = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd_ < 0) continue;
      if (connect(fd_, a->ai_addr, a->ai_addrlen) != 0) {
        out.error = std::string("connect: ") + std::strerror(errno);
        Close();
      }
    }
    freeaddrinfo(found);
    if (fd_ < 0) return false;
    // Requests and answers are small and strictly alternate: Nagle would only add delay.
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval timeout{.tv_sec = kSocketTimeoutSeconds, .tv_usec = 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    ++connects_;
    buffer_.clear();
    start_ = 0;
    return true;
  }

  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  bool WriteAll(HttpAnswer& out) {
    size_t sent = 0;
    while (sent < request_.size()) {
      ssize_t n = send(fd_, request_.data() + sent, request_.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        out.error = std::string("send: ") + std::strerror(errno);
        return false;
      }
      sent += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads more bytes into buffer_; false on EOF or error.
  bool Fill(HttpAnswer& out, bool& got_bytes) {
    if (start_ > 0 && start_ == buffer_.size()) {
      buffer_.clear();
      start_ = 0;
    }
    const size_t old_size = buffer_.size();
    buffer_.resize(old_size + 16384);
    ssize_t n;
    do {
      n = recv(fd_, buffer_.data() + old_size, 16384, 0);
    } while (n < 0 && errno == EINTR);
    buffer_.resize(old_size + (n > 0 ? static_cast<size_t>(n) : 0));
    if (n > 0) {
      got_bytes = true;
      return true;
    }
    out.error =
        n == 0 ? "connection closed by the server" : std::string("recv: ") + strerror(errno);
    return false;
  }

  // The position of "\r\n" at or after `from`, reading more as needed; npos on failure.
  size_t FindLineEnd(size_t from, HttpAnswer& out, bool& got_bytes) {
    for (;;) {
      size_t pos = buffer_.find("\r\n", from);
      if (pos != std::string::npos) return pos;
      from = buffer_.size() > 0 ? buffer_.size() - 1 : 0;
      if (!Fill(out, got_bytes)) return std::string::npos;
    }
  }

  bool ReadAnswer(std::string_view method, HttpAnswer& out, bool& got_bytes) {
    out.status = 0;
    out.location.clear();
    out.body.clear();
    out.error.clear();
    // The head.
    size_t head_end;
    for (;;) {
      head_end = buffer_.find("\r\n\r\n", start_);
      if (head_end != std::string::npos) break;
      if (!Fill(out, got_bytes)) return false;
    }
    std::string_view head(buffer_.data() + start_, head_end - start_);
    size_t line_end = head.find("\r\n");
    std::string_view status_line = head.substr(0, line_end);
    if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") {
      out.error = "malformed status line";
      return false;
    }
    out.status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
    long long content_length = -1;
    bool chunked = false;
    bool close_after = status_line.substr(0, 8) == "HTTP/1.0";
    while (line_end != std::string_view::npos) {
      head.remove_prefix(line_end + 2);
      line_end = head.find("\r\n");
      std::string_view field = head.substr(0, line_end);
      size_t colon = field.find(':');
      if (colon == std::string_view::npos) continue;
      std::string_view name = field.substr(0, colon);
      std::string_view value = Trim(field.substr(colon + 1));
      if (EqualsIgnoreCase(name, "content-length")) {
        content_length = std::atoll(std::string(value).c_str());
      } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
        chunked = EqualsIgnoreCase(value, "chunked");
      } else if (EqualsIgnoreCase(name, "connection")) {
        close_after = EqualsIgnoreCase(value, "close");
      } else if (EqualsIgnoreCase(name, "location")) {
        out.location = value;
      }
    }
    start_ = head_end + 4;
    // The body.
    const bool no_body = method == "HEAD" || out.status == 204 || out.status == 304 ||
                         (out.status >= 100 && out.status < 200);
    if (no_body) {
    } else if (chunked) {
      if (!ReadChunked(out, got_bytes)) return false;
    } else if (content_length >= 0) {
      while (buffer_.size() - start_ < static_cast<size_t>(content_length)) {
        if (!Fill(out, got_bytes)) return false;
      }
      out.body.assign(buffer_, start_, static_cast<size_t>(content_length));
      start_ += static_cast<size_t>(content_length);
    } else {
      // Delimited by the end of the connection.
      HttpAnswer ignored;
      while (Fill(ignored, got_bytes)) {
      }
      out.body.assign(buffer_, start_);
      start_ = buffer_.size();
      close_after = true;
    }
    if (close_after) Close();
    return true;
  }

  bool ReadChunked(HttpAnswer& out, bool& got_bytes) {
    for (;;) {
      size_t line_end = FindLineEnd(start_, out, got_bytes);
      if (line_end == std::string::npos) return false;
      const size_t size = std::strtoul(buffer_.c_str() + start_, nullptr, 16);
      start_ = line_end + 2;
      if (size == 0) {
        // Trailer fields, up to an empty line.
        for (;;) {
          line_end = FindLineEnd(start_, out, got_bytes);
          if (line_end == std::string::npos) return false;
          const bool empty = line_end == start_;
          start_ = line_end + 2;
          if (empty) return true;
        }
      }
      while (buffer_.size() - start_ < size + 2) {
        if (!Fill(out, got_bytes)) return false;
      }
      out.body.append(buffer_, start_, size);
      start_ += size + 2;
    }
  }

  std::string host_;
  uint16_t port_;
  std::string host_header_;
  int fd_ = -1;
  uint64_t connects_ = 0;
  std::string request_;
  std::string buffer_;  // received bytes; the unread ones start at start_
  size_t start_ = 0;
};

class PocoClient : public HttpClient {
 public:
  PocoClient(const std::string& host, uint16_t port) : session_(host, port) {
    session_.setKeepAlive(true);
    session_.setTimeout(Poco::Timespan(kSocketTimeoutSeconds, 0));
  }

  bool Send(std::string_view method, std::string_view target, std::string_view body,
            HttpAnswer& out) override {
    out.status = 0;
    out.location.clear();
    out.body.clear();
    out.error.clear();
    try {
      Poco::Net::HTTPRequest request(std::string(method), std::string(target),
                                     Poco::Net::HTTPMessage::HTTP_1_1);
      request.set("Accept", "application/fhir+json");
      if (!body.empty()) {
        request.setContentType("application/fhir+json");
        request.setContentLength64(static_cast<Poco::Int64>(body.size()));
      }
      const bool was_connected = session_.connected();
      std::ostream& os = session_.sendRequest(request);
      os.write(body.data(), static_cast<std::streamsize>(body.size()));
      Poco::Net::HTTPResponse response;
      std::istream& is = session_.receiveResponse(response);
      if (!was_connected) ++connects_;
      out.status = static_cast<int>(response.getStatus());
      out.location = response.get("Location", "");
      out.body.assign(std::istreambuf_iterator<char>(is), std::istreambuf_iterator<char>());
      return true;
    } catch (const Poco::Exception& e) {
      out.error = e.displayText();
    } catch (const std::exception& e) {
      out.error = e.what();
    }
    session_.reset();
    return false;
  }

  uint64_t reconnects() const override { return connects_ > 0 ? connects_ - 1 : 0; }

 private:
  Poco::Net::HTTPClientSession session_;
  uint64_t connects_ = 0;
};

}  // namespace

std::unique_ptr<HttpClient> MakeRawClient(const std::string& host, uint16_t port) {
  return std::make_unique<RawClient>(host, port);
}

std::unique_ptr<HttpClient> MakePocoClient(const std::string& host, uint16_t port) {
  return std::make_unique<PocoClient>(host, port);
}

}  // namespace bench
