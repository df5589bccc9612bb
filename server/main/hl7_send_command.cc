// `fhirhub hl7 send`: an MLLP client for vendors, integrators and tests.
//
//   fhirhub hl7 send --host H --port P [--timeout SECONDS]
//                    [--tls [--tls-ca PEM] [--tls-certificate PEM --tls-private-key PEM]] FILE...
//     Sends the messages of each file (one or several, segments ended by \r, \n or \r\n, batch
//     envelopes left out; connectors/mllp/message_file.h) one after the other on one connection,
//     waiting for each acknowledgement, and prints it with its segments on lines of their own,
//     after a line "FILE #N: CODE" (MSA-1). Exits 0 when every message was answered AA, 1 when one
//     was not, 2 on a usage error, 3 when a file cannot be read or the listener does not answer.
//     With --tls the connection speaks TLS: the listener's certificate must chain to a CA of
//     --tls-ca (else of the system's trust store) and name --host; --tls-certificate and
//     --tls-private-key are the sender's for mutual TLS. A TLS failure (untrusted or misnamed
//     certificate, the listener refusing the sender's) exits 3 with libssl's reason.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "connectors/mllp/message_file.h"
#include "connectors/mllp/mllp_client.h"
#include "server/main/command_line.h"
#include "server/main/mllp_tools.h"

namespace server::main {
namespace {

constexpr const char* kUsage =
    "usage: fhirhub hl7 send --host H --port P [--timeout SECONDS]\n"
    "                        [--tls [--tls-ca PEM] [--tls-certificate PEM --tls-private-key PEM]]\n"
    "                        FILE...\n";

}  // namespace

int RunHl7Send(const std::vector<std::string>& args) {
  auto cl = CommandLine::Parse(args, MllpTargetFlags(), MllpTargetOptions());
  if (!cl.ok()) {
    std::fprintf(stderr, "fhirhub hl7 send: %s\n", cl.error().text().c_str());
    return 2;
  }
  auto target = ParseMllpTarget(*cl);
  if (!target.ok() || cl->positional().empty()) {
    if (!target.ok()) std::fprintf(stderr, "fhirhub hl7 send: %s\n", target.error().text().c_str());
    std::fputs(kUsage, stderr);
    return 2;
  }
  auto client = connectors::mllp::MllpClient::Connect(target->host, target->port, target->timeout,
                                                      target->tls);
  if (!client.ok()) {
    std::fprintf(stderr, "fhirhub hl7 send: %s\n", client.error().text().c_str());
    return 3;
  }
  bool all_accepted = true;
  for (const std::string& path : cl->positional()) {
    auto file = ReadFileText(path);
    if (!file) {
      std::fprintf(stderr, "fhirhub hl7 send: cannot read %s\n", path.c_str());
      return 3;
    }
    const std::vector<std::string> messages = connectors::mllp::SplitMessages(*file);
    if (messages.empty()) {
      std::fprintf(stderr, "fhirhub hl7 send: %s holds no message\n", path.c_str());
      all_accepted = false;
    }
    for (std::size_t i = 0; i < messages.size(); ++i) {
      auto ack = (*client)->Exchange(messages[i]);
      if (!ack.ok()) {
        std::fprintf(stderr, "fhirhub hl7 send: %s #%zu: %s\n", path.c_str(), i + 1,
                     ack.error().text().c_str());
        return 3;
      }
      const std::string code = AckCode(*ack);
      std::printf("%s #%zu: %s\n%s\n", path.c_str(), i + 1, code.empty() ? "?" : code.c_str(),
                  AckForDisplay(*ack).c_str());
      if (code != "AA") all_accepted = false;
    }
  }
  std::fflush(stdout);
  return all_accepted ? 0 : 1;
}

}  // namespace server::main
