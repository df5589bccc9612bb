// fhirhub: the FHIR R4 server and its tools, one executable with subcommands.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "server/main/command_line.h"

namespace {

constexpr std::string_view kUsage = R"(fhirhub: FHIR R4 interoperability server for primary care

usage: fhirhub <command> [options]

commands:
  serve     serve the FHIR REST API over HTTP
              --host H            address to listen on (default 127.0.0.1)
              --port N            port (default 8080; 0 picks a free one)
              --fhir-package P    R4 definitions: package folder or .tgz
              --profiles DIR      SearchParameter JSON files to search by besides the package's
              --database-url URL  external PostgreSQL (default: the embedded cluster)
              --data-dir DIR      embedded cluster directory (default var/postgres)
              --max-body-bytes N  largest request body accepted (default 16777216)
              --max-header-bytes N  largest request head accepted (default 16384)
              --request-timeout-seconds N  time allowed to send a request (default 30)
              --keep-alive-seconds N  idle keep-alive connections close after (default 15)
              --max-connections N  open connections; beyond, 503 (default 256)
              --max-threads N     worker threads (default 16)
              --listen-backlog N  connections waiting to be accepted (default 64)
              --mllp-port N       also receive HL7 v2 over MLLP on this port (off by default;
                                  --mllp-host, --mllp-allow, --mllp-tls-*, --mllp-scope ...:
                                  docs/configuration.md)
              --mappings DIR      ConceptMap files of the HL7 v2 mappings
  migrate   apply database schema migrations and exit
              --database-url URL  PostgreSQL to migrate (default: the embedded cluster)
  reindex   rebuild the search index and exit (a server also does so by itself at start when
            the search parameter definitions changed)
              --full              rebuild everything, not only what is out of date
              --database-url URL, --data-dir DIR, --fhir-package P, --profiles DIR  as for serve
              --data-dir DIR      embedded cluster directory (default var/postgres)
  audit verify  check the audit log's hash chain and checkpoints; exit 0 intact, 1 broken
              --public-key PEM    also verify the checkpoints' signatures with this key
              --database-url URL, --data-dir DIR  as for serve
  audit checkpoint  sign the audit log's newest entry and store the checkpoint
              --private-key PEM   the signing key (P-256, SM2 or RSA; unencrypted)
              --database-url URL, --data-dir DIR  as for serve
  connectors dead-letters  list the messages connectors could not process (open ones; --all
            also the replayed)
              --id N [--raw]      one dead letter; --raw prints its message as received
              --database-url URL, --data-dir DIR  as for serve (beside a running server too)
  connectors replay  send open dead letters to the MLLP listener again; those answered AA are
            marked replayed
              --id N              only this one
              --host H --port P   the listener (required); --timeout S (default 30)
              --database-url URL, --data-dir DIR  as for serve (beside a running server too)
  convert   convert one resource between JSON and XML
              --to json|xml       output format (required)
              --pretty            indent the output
              --fhir-package P    as for serve
              FILE|-              input file, or - for standard input
  fhirpath  evaluate a FHIRPath expression, printing typed JSON results
              --resource FILE     FHIR JSON or XML input (or -)
              --var NAME=VALUE    a %NAME string variable (repeatable)
              --batch FILE|-      JSON Lines {"expression","resource","variables"}
                                  -> one {"result":[...]} or {"error":"..."} line each
              --fhir-package P    as for serve
              EXPRESSION
  token     print a development access token (JWT, ES256) signed with the development key
              --role R            clinician, station-operator, connector, regulator or
                                  administrator (required)
              --patient ID        patient context; the default scope becomes patient/*.rs
              --scope "S1 S2"     SMART scopes (default: the role's)
              --subject SUB       sub (default dev-<role>)
              --fhir-user REF     fhirUser, e.g. Practitioner/1
              --organization REF  fhirhub_organization, e.g. Organization/1
              --purpose CODE      purpose of use, e.g. TREAT (repeatable)
              --lifetime SECONDS  validity (default 3600)
              --data-dir DIR      where dev-token-key.pem is kept (default var; created with
                                  mode 0600 on first use)
              --print-jwks        print the key's JWKS instead of a token
  hl7 map   print the FHIR transaction Bundle an HL7 v2 message maps to (no server)
              --mappings DIR      ConceptMap files of the HL7 v2 mappings (default: the
                                  source tree's mappings/hl7v2/conceptmaps)
              FILE|-              one message, several, or an FHS/BHS batch
  hl7 send  send HL7 v2 messages to an MLLP listener and print each acknowledgement; exit 0
            only when all were AA
              --host H --port P   the listener (required); --timeout S (default 30)
              --tls               speak TLS, verifying the listener's certificate and name
              --tls-ca PEM        the CAs to trust (default: the system's)
              --tls-certificate PEM --tls-private-key PEM   this sender's, for mutual TLS
              FILE...             files of one message or several (\r, \n or \r\n line ends)
  help      show this text

serve's and migrate's options and --fhir-package may also be set in the environment as FHIRHUB_<OPTION>,
e.g. FHIRHUB_PORT=9090, FHIRHUB_FHIR_PACKAGE=/opt/fhir/hl7.fhir.r4.examples-4.0.1.tgz.
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::fwrite(kUsage.data(), 1, kUsage.size(), args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  if (command == "serve") return server::main::RunServe(args);
  if (command == "convert") return server::main::RunConvert(args);
  if (command == "fhirpath") return server::main::RunFhirpath(args);
  if (command == "migrate") return server::main::RunMigrate(args);
  if (command == "reindex") return server::main::RunReindex(args);
  if (command == "token") return server::main::RunToken(args);
  if (command == "audit") return server::main::RunAudit(args);
  if (command == "connectors") return server::main::RunConnectors(args);
  if (command == "hl7") return server::main::RunHl7(args);
  std::fprintf(stderr, "fhirhub: unknown command '%s' (see fhirhub --help)\n", command.c_str());
  return 2;
}
