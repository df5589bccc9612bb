// MllpListener: the TCP (optionally TLS) door for HL7 v2 over MLLP. Each connection is served by
// one worker thread, which reads frames (mllp_frame.h) and hands each one to the MessageHandler,
// then writes the handler's answer back framed, in order: a sender that waits for each
// acknowledgement before the next message (original mode) gets them one by one, and a sender
// that streams gets them in the order it sent.
//
// Limits: at most max_connections connections at once (beyond, new ones are closed at once); a
// message larger than max_message_bytes is handed over as FrameDecoder::Kind::kTooLarge; a
// message must arrive within message_timeout of its <VT>, else the connection is closed; a
// connection without traffic for idle_timeout is closed. Who may connect: the address the
// listener binds (loopback by default), the allowed peer addresses and networks, and with TLS and
// a client CA only senders with a certificate issued by that CA.
//
// TLS is the HTTP server's (server/security/tls.h: TLS 1.2 and later, one cipher and
// renegotiation policy): the handshake runs on the connection's thread and must complete within
// message_timeout; a connection whose handshake fails (plain TCP, no valid client certificate)
// is closed and logged with libssl's reason.
//
// No exception escapes into Poco: a failing connection is closed and logged without message
// content.
#ifndef CONNECTORS_MLLP_MLLP_LISTENER_H_
#define CONNECTORS_MLLP_MLLP_LISTENER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/mllp/mllp_frame.h"
#include "fhir/result.h"

namespace connectors::mllp {

struct ListenerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 2575;  // 0 picks a free port (tests)
  // Open connections, each served by a thread of its own (MLLP connections are long-lived);
  // connections beyond are closed as they arrive.
  int max_connections = 64;
  int listen_backlog = 64;
  std::size_t max_message_bytes = 4 * 1024 * 1024;
  std::chrono::seconds message_timeout{30};
  std::chrono::seconds idle_timeout{600};
  // Peers allowed to connect: IPv4 or IPv6 addresses, or networks as address/prefix
  // ("10.1.0.0/16"). Empty: any peer that can reach the bound address.
  std::vector<std::string> allowed_peers;
  // TLS: PEM files of the server's certificate (chain) and unencrypted private key; both or
  // neither. With `tls_client_ca` (a PEM bundle), senders must present a certificate issued by
  // one of its CAs.
  std::string tls_certificate;
  std::string tls_private_key;
  std::string tls_client_ca;
};

// What the listener does with each frame. Thread-safe: called concurrently from the
// connections' threads.
class MessageHandler {
 public:
  virtual ~MessageHandler() = default;
  // The answer to `frame` (an HL7 message, unframed), to be sent back framed. `peer_address` is
  // the sender's IP address.
  virtual std::string Handle(const FrameDecoder::Frame& frame, std::string_view peer_address) = 0;
};

// Which peers may connect: ListenerOptions::allowed_peers, parsed.
class PeerFilter {
 public:
  // connectors.mllp-allowed-peer (400) names the entry that is not an address or network.
  static fhir::Result<PeerFilter> Parse(const std::vector<std::string>& allowed);
  // True for every address when no entry was given.
  bool Allows(std::string_view address) const;

 private:
  struct Network;
  std::vector<std::shared_ptr<const Network>> networks_;
};

class MllpListener {
 public:
  // `handler` must outlive the listener.
  MllpListener(ListenerOptions options, MessageHandler& handler);
  ~MllpListener();
  MllpListener(const MllpListener&) = delete;
  MllpListener& operator=(const MllpListener&) = delete;

  // Binds and starts serving: connectors.mllp-bind (503) when the address cannot be bound,
  // connectors.mllp-options (400) for invalid options (allowed peers, TLS files).
  fhir::Result<void> Start();
  // The bound port (the real one when options.port was 0). Valid after Start.
  std::uint16_t port() const { return port_; }
  // Stops accepting, lets each connection finish the message it is handling (its answer is
  // sent) and closes them.
  void Stop();

 private:
  struct Running;

  ListenerOptions options_;
  MessageHandler& handler_;
  std::unique_ptr<Running> running_;
  std::uint16_t port_ = 0;
};

}  // namespace connectors::mllp

#endif  // CONNECTORS_MLLP_MLLP_LISTENER_H_
