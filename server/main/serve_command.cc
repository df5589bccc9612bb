// `fhirhub serve`: loads the definitions, opens the database (the embedded cluster unless
// --database-url is given) with its schema up to date, wires the store, the interaction handlers
// and the router, and serves HTTP until SIGINT/SIGTERM, then stops the embedded cluster.
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <set>
#include <string>
#include <thread>

#include "conformance/capability_statement.h"
#include "server/http/http_server.h"
#include "server/main/command_line.h"
#include "server/main/database.h"
#include "server/main/fhir_package.h"
#include "server/main/http_options.h"
#include "server/rest/bundle_handler.h"
#include "server/rest/capabilities_handler.h"
#include "server/rest/create_handler.h"
#include "server/rest/delete_handler.h"
#include "server/rest/history_handler.h"
#include "server/rest/interaction_support.h"
#include "server/rest/patch_handler.h"
#include "server/rest/read_handler.h"
#include "server/rest/router.h"
#include "server/rest/search_handler.h"
#include "server/rest/update_handler.h"
#include "server/search/criteria.h"
#include "server/search/extract.h"
#include "server/search/full_text.h"
#include "server/search/reindex.h"
#include "server/store/pg/pg_store.h"

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

// The search parameters a type can be searched by: every one of its SearchParameter definitions
// with an index, and the full-text _text and _content (composites without known components and
// other special parameters are not searchable).
std::vector<conformance::SearchParamCapability> SearchParams(const search::Registry& registry,
                                                             const std::string& type) {
  std::vector<conformance::SearchParamCapability> out;
  for (const search::SearchParam* param : registry.ForType(type)) {
    if (!search::IsResourceColumn(param->code()) && !search::IsFullText(*param) &&
        (!search::IndexKindOf(param->type()) || !param->expression ||
         (param->type() == search::ParamType::kComposite && param->components.empty()))) {
      continue;
    }
    out.push_back(
        {param->code(), std::string(search::ParamTypeName(param->type())), param->definition->url});
  }
  return out;
}

// Wires the store, the handlers and the router, and serves until one of `signals` arrives. The
// store (and its connections) is gone when this returns, before the database is stopped.
int Serve(const http::HttpOptions& options, const fhir::model::Definitions& defs,
          const search::Registry& registry, const search::Compartments& compartments,
          const std::string& fingerprint, const std::string& conninfo, const sigset_t& signals) {
  const store::SystemClock clock{};
  store::pg::PgStore pg_store(store::pg::PoolOptions{.conninfo = conninfo}, clock);
  rest::RandomIdGenerator ids;

  conformance::ServerDescription description;
  description.software_version = FHIRHUB_VERSION;
  description.date = NowUtc();
  description.formats = {"application/fhir+json", "application/fhir+xml"};
  for (const fhir::model::TypeDef* type : defs.resources()) {
    if (type->is_abstract) continue;
    description.resources.push_back(
        {.type = type->name,
         .interactions = {"read", "vread", "update", "delete", "history-instance", "history-type",
                          "create", "search-type", "patch"},
         .versioning = "versioned-update",
         .read_history = true,
         .update_create = true,
         .conditional_create = true,
         .conditional_update = true,
         .conditional_delete = "single",
         .search_params = SearchParams(registry, type->name)});
  }
  description.system_interactions = {"transaction", "batch", "history-system"};
  const rest::CapabilitiesHandler capabilities(description, defs);
  const rest::ReadHandler read(pg_store, defs);
  const rest::CreateHandler create(pg_store, defs, registry, ids);
  const rest::UpdateHandler update(pg_store, defs, registry, ids);
  const rest::DeleteHandler remove(pg_store, registry);
  const rest::HistoryHandler history(pg_store, defs);
  const rest::SearchHandler search(pg_store, defs, registry, compartments, clock);
  const rest::PatchHandler patch(pg_store, defs, registry);

  rest::Router router(defs);
  // Bundle entries are routed by the same router, so they behave as requests of their own.
  const rest::BundleHandler bundle(pg_store, router, defs, registry, ids);
  router.Add(rest::Method::kPost, "",
             [&bundle](const rest::FhirRequest& request, const rest::PathParams& params) {
               return bundle.Handle(request, params);
             });
  router.Add(rest::Method::kPatch, "{type}/{id}",
             [&patch](const rest::FhirRequest& request, const rest::PathParams& params) {
               return patch.Handle(request, params);
             });
  router.Add(rest::Method::kGet, "{type}",
             [&search](const rest::FhirRequest& request, const rest::PathParams& params) {
               return search.Type(request, params);
             });
  router.Add(rest::Method::kPost, "{type}/_search",
             [&search](const rest::FhirRequest& request, const rest::PathParams& params) {
               return search.Post(request, params);
             });
  router.Add(rest::Method::kGet, "{compartment}/{id}/{type}",
             [&search](const rest::FhirRequest& request, const rest::PathParams& params) {
               return search.Compartment(request, params);
             });
  router.Add(rest::Method::kPut, "{type}",
             [&update](const rest::FhirRequest& request, const rest::PathParams& params) {
               return update.Conditional(request, params);
             });
  router.Add(rest::Method::kDelete, "{type}",
             [&remove](const rest::FhirRequest& request, const rest::PathParams& params) {
               return remove.Conditional(request, params);
             });
  router.Add(rest::Method::kGet, "metadata",
             [&capabilities](const rest::FhirRequest& request, const rest::PathParams& params) {
               return capabilities.Handle(request, params);
             });
  router.Add(rest::Method::kPost, "{type}",
             [&create](const rest::FhirRequest& request, const rest::PathParams& params) {
               return create.Handle(request, params);
             });
  router.Add(rest::Method::kGet, "{type}/{id}",
             [&read](const rest::FhirRequest& request, const rest::PathParams& params) {
               return read.Read(request, params);
             });
  router.Add(rest::Method::kPut, "{type}/{id}",
             [&update](const rest::FhirRequest& request, const rest::PathParams& params) {
               return update.Handle(request, params);
             });
  router.Add(rest::Method::kDelete, "{type}/{id}",
             [&remove](const rest::FhirRequest& request, const rest::PathParams& params) {
               return remove.Handle(request, params);
             });
  router.Add(rest::Method::kGet, "{type}/{id}/_history",
             [&history](const rest::FhirRequest& request, const rest::PathParams& params) {
               return history.Instance(request, params);
             });
  router.Add(rest::Method::kGet, "{type}/_history",
             [&history](const rest::FhirRequest& request, const rest::PathParams& params) {
               return history.Type(request, params);
             });
  router.Add(rest::Method::kGet, "_history",
             [&history](const rest::FhirRequest& request, const rest::PathParams& params) {
               return history.System(request, params);
             });
  router.Add(rest::Method::kGet, "{type}/{id}/_history/{vid}",
             [&read](const rest::FhirRequest& request, const rest::PathParams& params) {
               return read.VRead(request, params);
             });

  http::HttpServer server(options, router, defs);
  if (auto result = server.Start(); !result.ok()) {
    std::fprintf(stderr, "fhirhub serve: %s\n", result.error().text().c_str());
    return 1;
  }
  std::printf("fhirhub %s serving FHIR R4 at http://%s:%u%s\n", FHIRHUB_VERSION,
              options.host.c_str(), static_cast<unsigned>(server.port()),
              options.base_path.c_str());
  std::fflush(stdout);

  // Index rows built with other definitions (or none, for data written before) are rebuilt in
  // the background while the server answers.
  std::atomic<bool> stop_reindexing{false};
  std::thread reindexing([&] {
    const search::Reindexer reindexer(pg_store, registry, fingerprint);
    auto done = reindexer.Run(stop_reindexing, /*full=*/false, [](std::int64_t count) {
      std::fprintf(stderr, "fhirhub: search index: %lld resources reindexed\n",
                   static_cast<long long>(count));
    });
    // Only the message id: a database's text may quote values.
    if (!done.ok()) {
      std::fprintf(stderr,
                   "fhirhub: search index: reindexing stopped (%s); it resumes at the next "
                   "start\n",
                   done.error().message_id().c_str());
    }
  });

  int signal = 0;
  sigwait(&signals, &signal);
  std::fprintf(stderr, "fhirhub: stopping (signal %d)\n", signal);
  stop_reindexing = true;
  server.Stop();
  reindexing.join();
  return 0;
}

}  // namespace

int RunServe(const std::vector<std::string>& args) {
  std::set<std::string, std::less<>> valued = {"fhir-package", "database-url", "data-dir"};
  valued.insert(HttpOptionNames().begin(), HttpOptionNames().end());
  auto cl = CommandLine::Parse(args, {}, valued);
  if (!cl.ok()) {
    std::fprintf(stderr, "fhirhub serve: %s\n", cl.error().text().c_str());
    return 2;
  }
  auto parsed = ParseHttpOptions(*cl);
  if (!parsed.ok()) {
    std::fprintf(stderr, "fhirhub serve: %s\n", parsed.error().text().c_str());
    return 2;
  }
  const http::HttpOptions& options = *parsed;

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
  std::string fingerprint;
  auto registry = LoadSearchParameters(cl->GetOrEnv("fhir-package"), **defs, &fingerprint);
  if (!registry.ok()) {
    std::fprintf(stderr, "fhirhub serve: %s\n", registry.error().text().c_str());
    return 1;
  }
  auto compartments = LoadCompartments(cl->GetOrEnv("fhir-package"));
  if (!compartments.ok()) {
    std::fprintf(stderr, "fhirhub serve: %s\n", compartments.error().text().c_str());
    return 1;
  }
  const auto loaded_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - started)
                             .count();
  std::fprintf(stderr,
               "fhirhub: FHIR R4 definitions loaded (%zu types, %zu search parameters) in %lld "
               "ms\n",
               (*defs)->types().size(), (*registry)->definition_count(),
               static_cast<long long>(loaded_ms));

  auto db = OpenDatabase(*cl);
  if (!db.ok()) {
    std::fprintf(stderr, "fhirhub serve: %s\n", db.error().text().c_str());
    return 1;
  }
  std::fprintf(stderr, "fhirhub: database ready (%s, %d migration%s applied)\n",
               db->cluster != nullptr ? "embedded cluster" : "external server",
               db->migrations_applied, db->migrations_applied == 1 ? "" : "s");

  int status =
      Serve(options, **defs, **registry, **compartments, fingerprint, db->conninfo, signals);
  if (db->cluster != nullptr) {
    if (auto stopped = db->cluster->Stop(); !stopped.ok()) {
      std::fprintf(stderr, "fhirhub serve: %s\n", stopped.error().text().c_str());
      return 1;
    }
  }
  return status;
}

}  // namespace server::main
