// `fhirhub hl7`: HL7 v2 messages from the command line.
//
//   fhirhub hl7 map [--mappings DIR] FILE|-
//     Prints the transaction Bundle each message of FILE (one message, several, or an FHS/BHS
//     batch) maps to, one JSON document per message, and the mapping's warnings on standard
//     error. DIR holds the ConceptMap files (default: mappings/hl7v2/conceptmaps of the source
//     tree). Exits 0; 1 when a message does not parse or cannot be mapped (the error, with its
//     HL7 position and table 0357 code, on standard error); 2 on a usage error; 3 when FILE or
//     DIR cannot be read.
//   fhirhub hl7 send --host H --port P [--timeout SECONDS] [--tls ...] FILE...
//     Sends messages to an MLLP listener and prints each acknowledgement (hl7_send_command.cc).
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "mappings/hl7v2/ack.h"
#include "mappings/hl7v2/er7.h"
#include "mappings/hl7v2/mapper.h"
#include "server/main/command_line.h"

namespace server::main {
namespace {

constexpr const char* kUsage =
    "usage: fhirhub hl7 map [--mappings DIR] FILE|-\n"
    "       fhirhub hl7 send --host H --port P [--timeout SECONDS] [--tls [--tls-ca PEM]\n"
    "                        [--tls-certificate PEM --tls-private-key PEM]] FILE...\n";

void PrintError(std::size_t message_number, const fhir::Error& error) {
  for (const auto& e : mappings::hl7v2::AckErrorsFor(error)) {
    std::fprintf(stderr, "fhirhub hl7: message %zu: %s: %s (HL7 error %s)\n", message_number,
                 e.location.c_str(), e.text.c_str(), e.code.c_str());
  }
}

int Map(const std::vector<std::string>& args) {
  auto cl = CommandLine::Parse(args, {}, {"mappings"});
  if (!cl.ok() || cl->positional().size() != 1) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string dir = cl->Get("mappings").value_or(FHIRHUB_DEFAULT_HL7V2_MAPPINGS);
  auto mapper = mappings::hl7v2::Mapper::Load(dir);
  if (!mapper.ok()) {
    std::fprintf(stderr, "fhirhub hl7: %s\n", mapper.error().text().c_str());
    return 3;
  }
  const std::string& file = cl->positional()[0];
  std::string input;
  if (file == "-") {
    input.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else if (auto text = ReadFileText(file)) {
    input = std::move(*text);
  } else {
    std::fprintf(stderr, "fhirhub hl7: cannot read %s\n", file.c_str());
    return 3;
  }
  auto messages = mappings::hl7v2::ParseBatch(input);
  if (!messages.ok()) {
    for (const auto& e : mappings::hl7v2::AckErrorsFor(messages.error())) {
      std::fprintf(stderr, "fhirhub hl7: %s: %s (HL7 error %s)\n", e.location.c_str(),
                   e.text.c_str(), e.code.c_str());
    }
    return 1;
  }
  int status = 0;
  for (std::size_t i = 0; i < messages->size(); ++i) {
    auto mapped = mapper->Map((*messages)[i]);
    if (!mapped.ok()) {
      PrintError(i + 1, mapped.error());
      status = 1;
      continue;
    }
    for (const std::string& warning : mapped->warnings) {
      std::fprintf(stderr, "fhirhub hl7: message %zu: warning: %s\n", i + 1, warning.c_str());
    }
    std::fwrite(mapped->bundle_json.data(), 1, mapped->bundle_json.size(), stdout);
    std::fputc('\n', stdout);
  }
  return status;
}

}  // namespace

int RunHl7(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "map") return Map(rest);
  if (args[0] == "send") return RunHl7Send(rest);
  std::fprintf(stderr, "fhirhub hl7: unknown subcommand '%s'\n%s", args[0].c_str(), kUsage);
  return 2;
}

}  // namespace server::main
