// `fhirhub serve`: loads the definitions, opens the database (the embedded cluster unless
// --database-url is given) with its schema up to date, wires the router and serves HTTP until
// SIGINT/SIGTERM, then stops the embedded cluster.
#include <pthread.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <string>

#include "conformance/capability_statement.h"
#include "server/http/http_server.h"
#include "server/main/command_line.h"
#include "server/main/database.h"
#include "server/main/fhir_package.h"
#include "server/rest/capabilities_handler.h"
#include "server/rest/router.h"

namespace server::main {

namespace {

std::string NowUtc() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

}  // namespace

int RunServe(const std::vector<std::string>& args) {
  auto cl = CommandLine::Parse(args, {}, {"host", "port", "fhir-package", "database-url", "data-dir"});
  if (!cl.ok()) {
    std::fprintf(stderr, "fhirhub serve: %s\n", cl.error().text().c_str());
    return 2;
  }
  http::HttpOptions options;
  options.host = cl->GetOrEnv("host").value_or("127.0.0.1");
  const std::string port_text = cl->GetOrEnv("port").value_or("8080");
  char* end = nullptr;
  const long port = std::strtol(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || port < 0 || port > 65535) {
    std::fprintf(stderr, "fhirhub serve: --port must be a number from 0 to 65535\n");
    return 2;
  }
  options.port = static_cast<uint16_t>(port);

  // Block the termination signals before any thread starts, so that only sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const auto started = std::chrono::steady_clock::now();
  auto defs = LoadDefinitions(cl->GetOrEnv("fhir-package"));
  if (!defs.ok()) {
    std::fprintf(stderr, "fhirhub serve: %s\n", defs.error().text().c_str());
    return 1;
  }
  const auto loaded_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - started)
                             .count();
  std::fprintf(stderr, "fhirhub: FHIR R4 definitions loaded (%zu types) in %lld ms\n",
               (*defs)->types().size(), static_cast<long long>(loaded_ms));

  auto db = OpenDatabase(*cl);
  if (!db.ok()) {
    std::fprintf(stderr, "fhirhub serve: %s\n", db.error().text().c_str());
    return 1;
  }
  std::fprintf(stderr, "fhirhub: database ready (%s, %d migration%s applied)\n",
               db->cluster != nullptr ? "embedded cluster" : "external server",
               db->migrations_applied, db->migrations_applied == 1 ? "" : "s");

  conformance::ServerDescription description;
  description.software_version = FHIRHUB_VERSION;
  description.date = NowUtc();
  description.formats = {"application/fhir+json", "application/fhir+xml"};
  const rest::CapabilitiesHandler capabilities(description, **defs);

  rest::Router router(**defs);
  router.Add(rest::Method::kGet, "metadata",
             [&capabilities](const rest::FhirRequest& request, const rest::PathParams& params) {
               return capabilities.Handle(request, params);
             });

  http::HttpServer server(options, router, **defs);
  if (auto result = server.Start(); !result.ok()) {
    std::fprintf(stderr, "fhirhub serve: %s\n", result.error().text().c_str());
    return 1;
  }
  std::printf("fhirhub %s serving FHIR R4 at http://%s:%u%s\n", FHIRHUB_VERSION,
              options.host.c_str(), static_cast<unsigned>(server.port()),
              options.base_path.c_str());
  std::fflush(stdout);

  int signal = 0;
  sigwait(&signals, &signal);
  std::fprintf(stderr, "fhirhub: stopping (signal %d)\n", signal);
  server.Stop();
  if (db->cluster != nullptr) {
    if (auto stopped = db->cluster->Stop(); !stopped.ok()) {
      std::fprintf(stderr, "fhirhub serve: %s\n", stopped.error().text().c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace server::main
