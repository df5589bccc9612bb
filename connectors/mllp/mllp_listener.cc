#include "connectors/mllp/mllp_listener.h"

#include <Poco/Exception.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/Net/TCPServerParams.h>
#include <Poco/ThreadPool.h>
#include <Poco/Timespan.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <utility>

#include "server/security/tls.h"

namespace connectors::mllp {

namespace security = server::security;

struct PeerFilter::Network {
  Poco::Net::IPAddress address;
  Poco::Net::IPAddress mask;
};

fhir::Result<PeerFilter> PeerFilter::Parse(const std::vector<std::string>& allowed) {
  PeerFilter filter;
  for (const std::string& entry : allowed) {
    const std::size_t slash = entry.find('/');
    Poco::Net::IPAddress address;
    if (!Poco::Net::IPAddress::tryParse(entry.substr(0, slash), address)) {
      return fhir::Error::Invalid("connectors.mllp-allowed-peer",
                                  "'" + entry + "' is not an IP address or network");
    }
    const unsigned bits = address.family() == Poco::Net::AddressFamily::IPv4 ? 32 : 128;
    unsigned prefix = bits;
    if (slash != std::string::npos) {
      const std::string digits = entry.substr(slash + 1);
      if (digits.empty() || digits.size() > 3 ||
          !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
          std::stoul(digits) > bits) {
        return fhir::Error::Invalid("connectors.mllp-allowed-peer",
                                    "'" + entry + "' has no valid prefix length");
      }
      prefix = static_cast<unsigned>(std::stoul(digits));
    }
    Poco::Net::IPAddress mask(prefix, address.family());
    filter.networks_.push_back(std::make_shared<const Network>(Network{address & mask, mask}));
  }
  return filter;
}

bool PeerFilter::Allows(std::string_view address) const {
  if (networks_.empty()) return true;
  Poco::Net::IPAddress peer;
  if (!Poco::Net::IPAddress::tryParse(std::string(address), peer)) return false;
  // An IPv4 peer on an IPv6 socket appears as ::ffff:a.b.c.d.
  if (peer.family() == Poco::Net::AddressFamily::IPv6 && peer.isIPv4Mapped()) {
    Poco::Net::IPAddress v4;
    if (Poco::Net::IPAddress::tryParse(peer.toString().substr(7), v4)) peer = v4;
  }
  return std::any_of(networks_.begin(), networks_.end(), [&](const auto& network) {
    return network->address.family() == peer.family() && (peer & network->mask) == network->address;
  });
}

namespace {

// How often a waiting connection looks whether the listener is stopping.
const Poco::Timespan kStopCheck(0, 250'000);

struct Shared {
  const ListenerOptions& options;
  MessageHandler& handler;
  std::shared_ptr<const security::TlsContext> tls;  // null: plain TCP
  std::atomic<bool> stopping{false};
  // Connections admitted and not yet ended.
  std::atomic<int> open{0};
};

void SendAll(Poco::Net::StreamSocket& socket, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const int n = socket.sendBytes(bytes.data() + sent, static_cast<int>(bytes.size() - sent));
    if (n <= 0) throw Poco::IOException("connection closed while sending");
    sent += static_cast<std::size_t>(n);
  }
}

class MllpConnection : public Poco::Net::TCPServerConnection {
 public:
  MllpConnection(const Poco::Net::StreamSocket& socket, Shared& shared)
      : Poco::Net::TCPServerConnection(socket), shared_(shared) {}
  ~MllpConnection() override { --shared_.open; }

  void run() override {
    std::string peer;
    try {
      peer = socket().peerAddress().host().toString();
      Serve(peer);
      if (tls_ != nullptr) tls_->Shutdown();
    } catch (const Poco::Exception& e) {
      std::fprintf(stderr, "fhirhub: MLLP connection from %s closed: %s\n", peer.c_str(),
                   e.className());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "fhirhub: MLLP connection from %s closed: %s\n", peer.c_str(), e.what());
    }
  }

 private:
  using Clock = std::chrono::steady_clock;
  using Status = security::TlsConnection::Status;

  void Serve(const std::string& peer) {
    Poco::Net::StreamSocket& stream = socket();
    stream.setNoDelay(true);
    if (shared_.tls != nullptr) {
      if (!StartTls(peer)) return;
    } else {
      stream.setSendTimeout(Poco::Timespan(shared_.options.message_timeout.count(), 0));
    }
    FrameDecoder decoder(shared_.options.max_message_bytes);
    std::string buffer(64 * 1024, '\0');
    Clock::time_point last_traffic = Clock::now();
    Clock::time_point message_started{};
    while (!shared_.stopping.load()) {
      if (!Readable()) {
        const Clock::time_point now = Clock::now();
        if (decoder.InMessage() && now - message_started > shared_.options.message_timeout) {
          std::fprintf(stderr, "fhirhub: MLLP message from %s not completed in time; closing\n",
                       peer.c_str());
          return;
        }
        if (!decoder.InMessage() && now - last_traffic > shared_.options.idle_timeout) return;
        continue;
      }
      const int n = Receive(buffer);
      if (n == 0) return;
      last_traffic = Clock::now();
      if (n < 0) continue;
      const bool was_in_message = decoder.InMessage();
      decoder.Feed(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
      bool answered = false;
      for (FrameDecoder::Frame frame = decoder.Next(); frame.kind != FrameDecoder::Kind::kNone;
           frame = decoder.Next()) {
        Send(Frame(shared_.handler.Handle(frame, peer)));
        answered = true;
      }
      if (decoder.InMessage() && (!was_in_message || answered)) message_started = Clock::now();
    }
  }

  // Runs the TLS handshake, which must complete within the message timeout; false (logged) when
  // it does not: not TLS at all, no valid client certificate, too slow.
  bool StartTls(const std::string& peer) {
    socket().setBlocking(false);
    tls_ = shared_.tls->Accept(socket().impl()->sockfd());
    if (tls_ == nullptr) throw std::runtime_error("no TLS connection could be set up");
    const Clock::time_point deadline = Clock::now() + shared_.options.message_timeout;
    for (;;) {
      const security::TlsConnection::Io io = tls_->Handshake();
      switch (io.status) {
        case Status::kDone:
          return true;
        case Status::kWantRead:
        case Status::kWantWrite:
          if (shared_.stopping.load()) return false;
          if (Clock::now() > deadline) {
            std::fprintf(stderr,
                         "fhirhub: MLLP connection from %s: TLS handshake not completed "
                         "in time; closing\n",
                         peer.c_str());
            return false;
          }
          Wait(io.status);
          break;
        case Status::kClosed:
        case Status::kFailed:
          std::fprintf(stderr, "fhirhub: MLLP connection from %s: TLS handshake failed: %s\n",
                       peer.c_str(),
                       tls_->failure().empty() ? "closed by the peer" : tls_->failure().c_str());
          return false;
      }
    }
  }

  // Waits (a stop check at most) for the readiness a TLS operation asked for.
  void Wait(Status status) {
    socket().poll(kStopCheck, status == Status::kWantWrite ? Poco::Net::Socket::SELECT_WRITE
                                                           : Poco::Net::Socket::SELECT_READ);
  }

  // Whether bytes arrived, waiting a stop check at most. TLS may hold decrypted bytes that the
  // socket no longer shows as readable.
  bool Readable() {
    if (tls_ != nullptr ? tls_->Pending() : socket().available() > 0) return true;
    return socket().poll(kStopCheck, Poco::Net::Socket::SELECT_READ);
  }

  // Bytes received into `buffer`: 0 at the end of the stream, -1 when TLS has only part of a
  // record so far.
  int Receive(std::string& buffer) {
    if (tls_ == nullptr) {
      return socket().receiveBytes(buffer.data(), static_cast<int>(buffer.size()));
    }
    const security::TlsConnection::Io io =
        tls_->Read(buffer.data(), static_cast<int>(buffer.size()));
    switch (io.status) {
      case Status::kDone:
        return io.bytes;
      case Status::kClosed:
        return 0;
      case Status::kWantRead:
      case Status::kWantWrite:
        if (io.status == Status::kWantWrite) Wait(io.status);
        return -1;
      case Status::kFailed:
        break;
    }
    throw std::runtime_error("TLS: " + tls_->failure());
  }

  // Sends all of `bytes` within the message timeout.
  void Send(const std::string& bytes) {
    if (tls_ == nullptr) {
      SendAll(socket(), bytes);
      return;
    }
    const Clock::time_point deadline = Clock::now() + shared_.options.message_timeout;
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const security::TlsConnection::Io io =
          tls_->Write(bytes.data() + sent, static_cast<int>(bytes.size() - sent));
      switch (io.status) {
        case Status::kDone:
          sent += static_cast<std::size_t>(io.bytes);
          break;
        case Status::kWantRead:
        case Status::kWantWrite:
          if (Clock::now() > deadline) throw std::runtime_error("answer not sent in time");
          Wait(io.status);
          break;
        case Status::kClosed:
          throw std::runtime_error("connection closed while sending");
        case Status::kFailed:
          throw std::runtime_error("TLS: " + tls_->failure());
      }
    }
  }

  Shared& shared_;
  std::unique_ptr<security::TlsConnection> tls_;  // null: plain TCP
};

class MllpConnectionFactory : public Poco::Net::TCPServerConnectionFactory {
 public:
  explicit MllpConnectionFactory(Shared& shared) : shared_(shared) {}
  Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override {
    return new MllpConnection(socket, shared_);
  }

 private:
  Shared& shared_;
};

// Admits allowed peers while fewer than max_connections are open; each admitted connection is
// counted until its MllpConnection ends. Runs on Poco's accepting thread.
class PeerGate : public Poco::Net::TCPServerConnectionFilter {
 public:
  PeerGate(PeerFilter filter, Shared& shared) : filter_(std::move(filter)), shared_(shared) {}
  bool accept(const Poco::Net::StreamSocket& socket) override {
    try {
      const std::string peer = socket.peerAddress().host().toString();
      if (!filter_.Allows(peer)) {
        std::fprintf(stderr, "fhirhub: MLLP connection from %s refused: not an allowed peer\n",
                     peer.c_str());
        return false;
      }
      if (shared_.open.load() >= shared_.options.max_connections) {
        std::fprintf(stderr, "fhirhub: MLLP connection from %s refused: %d connections open\n",
                     peer.c_str(), shared_.options.max_connections);
        return false;
      }
      ++shared_.open;
      return true;
    } catch (const Poco::Exception&) {
      // A peer that is already gone has nothing to be served.
      return false;
    }
  }

 private:
  const PeerFilter filter_;
  Shared& shared_;
};

// The listener's TLS: null for plain TCP.
fhir::Result<std::shared_ptr<const security::TlsContext>> TlsFor(const ListenerOptions& options) {
  if (options.tls_certificate.empty() != options.tls_private_key.empty()) {
    return fhir::Error::Invalid("connectors.mllp-options",
                                "TLS needs both a certificate and a private key");
  }
  if (options.tls_certificate.empty()) {
    if (!options.tls_client_ca.empty()) {
      return fhir::Error::Invalid("connectors.mllp-options", "a client CA needs TLS");
    }
    return std::shared_ptr<const security::TlsContext>();
  }
  security::TlsServerOptions tls{.certificate = options.tls_certificate,
                                 .private_key = options.tls_private_key};
  if (!options.tls_client_ca.empty()) {
    tls.client_ca = options.tls_client_ca;
    tls.clients = security::ClientCertificates::kRequired;
  }
  auto context = security::TlsContext::Server(tls);
  if (!context.ok()) return fhir::Error::Invalid("connectors.mllp-options", context.error().text());
  return context;
}

}  // namespace

// Declared in the order of construction; destroyed in reverse, so the server is gone before the
// pool its threads belong to.
struct MllpListener::Running {
  Shared shared;
  Poco::ThreadPool pool;
  std::unique_ptr<Poco::Net::TCPServer> server;

  Running(const ListenerOptions& options, MessageHandler& handler,
          std::shared_ptr<const security::TlsContext> tls)
      : shared{options, handler, std::move(tls)}, pool(1, std::max(1, options.max_connections)) {}
};

MllpListener::MllpListener(ListenerOptions options, MessageHandler& handler)
    : options_(std::move(options)), handler_(handler) {}

MllpListener::~MllpListener() { Stop(); }

fhir::Result<void> MllpListener::Start() {
  auto filter = PeerFilter::Parse(options_.allowed_peers);
  if (!filter.ok()) return std::move(filter).error();
  auto tls = TlsFor(options_);
  if (!tls.ok()) return std::move(tls).error();
  try {
    // TLS runs on each connection's thread (MllpConnection), not on the accepting one.
    Poco::Net::ServerSocket socket;
    socket.bind(Poco::Net::SocketAddress(options_.host, options_.port), /*reuseAddress=*/true);
    socket.listen(options_.listen_backlog);
    port_ = socket.address().port();
    auto running = std::make_unique<Running>(options_, handler_, std::move(tls).value());
    auto* params = new Poco::Net::TCPServerParams;  // owned by the server (reference counted)
    params->setMaxThreads(std::max(1, options_.max_connections));
    // The gate admits at most max_connections, so Poco's queue never drops an admitted one.
    params->setMaxQueued(std::max(1, options_.max_connections));
    running->server = std::make_unique<Poco::Net::TCPServer>(
        new MllpConnectionFactory(running->shared), running->pool, socket, params);
    running->server->setConnectionFilter(new PeerGate(std::move(filter).value(), running->shared));
    running->server->start();
    running_ = std::move(running);
    return {};
  } catch (const Poco::Exception& e) {
    return fhir::Error::Unavailable("connectors.mllp-bind",
                                    "Cannot listen for MLLP on " + options_.host + ":" +
                                        std::to_string(options_.port) + ": " + e.displayText());
  } catch (const std::exception& e) {
    return fhir::Error::Unavailable("connectors.mllp-bind",
                                    std::string("Cannot listen for MLLP: ") + e.what());
  }
}

void MllpListener::Stop() {
  if (!running_) return;
  running_->shared.stopping.store(true);
  running_->server->stop();
  running_->pool.joinAll();
  running_.reset();
}

}  // namespace connectors::mllp
