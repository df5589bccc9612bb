// MllpClient: the sending side of MLLP, for `fhirhub hl7 send`, `fhirhub connectors replay`, the
// tests and the load generator. One connection; Exchange sends one message and waits for the one
// frame that answers it (original-mode acknowledgement).
//
// Errors: connectors.mllp-connect (503) when the listener cannot be reached,
// connectors.mllp-timeout (408) when no whole answer arrives within the timeout,
// connectors.mllp-closed (503) when the listener closes the connection before answering,
// connectors.mllp-tls (503) when TLS fails: the listener's certificate is not trusted or does not
// name the host, the listener refused the client's certificate (or its lack of one; with TLS 1.3
// the listener says so only after the handshake, so this comes from the first Exchange). A
// listener without TLS leaves the handshake unanswered (connectors.mllp-timeout) or answers it
// with what is not TLS (connectors.mllp-tls). After an error the connection is closed. Not
// thread-safe: one client per thread.
#ifndef CONNECTORS_MLLP_MLLP_CLIENT_H_
#define CONNECTORS_MLLP_MLLP_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "fhir/result.h"
#include "server/security/tls.h"

namespace connectors::mllp {

class MllpClient {
 public:
  // With `tls` (a client context, server::security::TlsContext::Client), the connection speaks
  // TLS to `host`, whose name (or IP address) the listener's certificate must hold; the TCP
  // connection and the handshake each complete within `timeout`.
  static fhir::Result<std::unique_ptr<MllpClient>> Connect(
      const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout,
      std::shared_ptr<const server::security::TlsContext> tls = nullptr);
  ~MllpClient();
  MllpClient(const MllpClient&) = delete;
  MllpClient& operator=(const MllpClient&) = delete;

  // Sends `message` framed and returns the content of the answering frame.
  fhir::Result<std::string> Exchange(std::string_view message);
  // Sends bytes exactly as given (no framing), for tests of broken frames.
  fhir::Result<void> SendRaw(std::string_view bytes);
  // Waits for the next whole frame and returns its content.
  fhir::Result<std::string> Receive();

 private:
  struct Connection;
  explicit MllpClient(std::unique_ptr<Connection> connection);

  std::unique_ptr<Connection> connection_;
};

}  // namespace connectors::mllp

#endif  // CONNECTORS_MLLP_MLLP_CLIENT_H_
