// `fhirhub serve`: loads the definitions, opens the database (the embedded cluster unless
// --database-url is given) with its schema up to date, wires the store, the interaction handlers
// and the router, and serves HTTP until SIGINT/SIGTERM, then stops the embedded cluster.
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "conformance/capability_statement.h"
#include "server/audit/audit_checkpoint.h"
#include "server/audit/audit_retention.h"
#include "server/audit/audit_writer.h"
#include "server/http/http_server.h"
#include "server/main/command_line.h"
#include "server/main/database.h"
#include "server/main/dev_keys.h"
#include "server/main/fhir_package.h"
#include "server/main/http_options.h"
#include "server/main/jwks_source.h"
#include "server/main/live_registry.h"
#include "server/main/mllp_options.h"
#include "server/main/mllp_service.h"
#include "server/main/pipeline_sink.h"
#include "server/main/search_definitions.h"
#include "server/main/security_options.h"
#include "server/main/station_feed_options.h"
#include "server/pipeline/auth/smart_configuration.h"
#include "server/pipeline/authenticator.h"
#include "server/pipeline/pipeline.h"
#include "server/rest/audit_handler.h"
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
#include "server/rest/search_params.h"
#include "server/rest/update_handler.h"
#include "server/search/criteria.h"
#include "server/search/extract.h"
#include "server/search/full_text.h"
#include "server/search/reindex.h"
#include "server/store/pg/pg_audit_log.h"
#include "server/store/pg/pg_pending_measurements.h"
#include "server/store/pg/pg_store.h"
#include "server/store/pg/table_statistics.h"

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

// The parameters of a search across types: those of every resource type.
std::vector<conformance::SearchParamCapability> SystemSearchParams(
    const search::Registry& registry) {
  std::vector<conformance::SearchParamCapability> out;
  const std::vector<const search::SearchParam*> system = rest::SystemParameters(registry);
  if (system.empty()) return out;
  for (conformance::SearchParamCapability& param :
       SearchParams(registry, system.front()->resource_type)) {
    if (std::any_of(system.begin(), system.end(),
                    [&](const search::SearchParam* p) { return p->code() == param.name; })) {
      out.push_back(std::move(param));
    }
  }
  return out;
}

// The CapabilityStatement's description of the server with the search parameters of `registry`.
conformance::ServerDescription Describe(const fhir::model::Definitions& defs,
                                        const search::Registry& registry) {
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
  description.system_interactions = {"transaction", "batch", "search-system", "history-system"};
  description.system_search_params = SystemSearchParams(registry);
  return description;
}

// The capabilities handler of the registry a request carries, built once per registry.
class LiveCapabilities {
 public:
  LiveCapabilities(const fhir::model::Definitions& defs, const search::Registry& fixed)
      : defs_(defs), fixed_(fixed) {}

  fhir::Result<rest::FhirResponse> Handle(const rest::FhirRequest& request,
                                          const rest::PathParams& params) const {
    std::shared_ptr<const rest::CapabilitiesHandler> handler;
    {
      std::lock_guard lock(mutex_);
      if (handler_ == nullptr || built_for_.lock() != request.registry) {
        handler_ = std::make_shared<const rest::CapabilitiesHandler>(
            Describe(defs_, rest::RegistryFor(request, fixed_)), defs_);
        built_for_ = request.registry;
      }
      handler = handler_;
    }
    return handler->Handle(request, params);
  }

 private:
  const fhir::model::Definitions& defs_;
  const search::Registry& fixed_;
  mutable std::mutex mutex_;
  mutable std::shared_ptr<const rest::CapabilitiesHandler> handler_;
  mutable std::weak_ptr<const search::Registry> built_for_;
};

// Rebuilds the search index whenever the registry's fingerprint differs from the one that built
// the rows: at start-up, and after each swap of the registry (custom search parameters), from
// the start of a rebuild again when a swap interrupts one.
void KeepIndexCurrent(store::Store& store, LiveRegistry& live) {
  std::uint64_t done_generation = 0;
  while (true) {
    live.ClearInterrupt();
    if (live.stopped()) return;
    if (live.Latest().generation == done_generation) {
      live.WaitForChange(done_generation);
      continue;
    }
    // A request that started with an older registry could otherwise write rows the old way
    // behind the rebuild.
    if (!live.WaitForOlderRequests()) return;
    const LiveRegistry::Snapshot snapshot = live.Latest();
    const search::Reindexer reindexer(store, *snapshot.registry, snapshot.fingerprint);
    auto done = reindexer.Run(live.interrupt(), /*full=*/false, [](std::int64_t count) {
      std::fprintf(stderr, "fhirhub: search index: %lld resources reindexed\n",
                   static_cast<long long>(count));
    });
    // Only the message id: a database's text may quote values.
    if (!done.ok()) {
      std::fprintf(stderr,
                   "fhirhub: search index: reindexing stopped (%s); it resumes at the next "
                   "start or change of the search parameters\n",
                   done.error().message_id().c_str());
      done_generation = snapshot.generation;
      continue;
    }
    if (live.interrupt()) continue;  // a newer registry, or the server is stopping
    done_generation = snapshot.generation;
    snapshot.registry->MarkRowsBuilt();
    if (*done > 0) std::fprintf(stderr, "fhirhub: search index: up to date\n");
  }
}

// Whether the index rows were completed with the definitions of `fingerprint`.
fhir::Result<bool> IndexCompletedWith(store::Store& store, const std::string& fingerprint) {
  auto tx = store.Begin();
  if (!tx.ok()) return std::move(tx).error();
  auto state = (*tx)->ReadIndexState();
  if (!state.ok()) return std::move(state).error();
  return state->complete && state->fingerprint == fingerprint;
}

fhir::Result<security::PrivateKey> LoadPrivateKey(const std::string& path) {
  std::optional<std::string> pem = ReadFileText(path);
  if (!pem) return fhir::Error::Invalid("cli.unreadable-file", "cannot read " + path);
  return security::PrivateKey::FromPem(*pem);
}

// The authenticator `security` asks for; it says loudly when it is not the production one.
// `jwks` keeps the JWKS source of --auth on.
fhir::Result<std::unique_ptr<pipeline::Authenticator>> MakeAuthenticator(
    const SecurityOptions& security, const std::filesystem::path& data_dir,
    std::unique_ptr<JwksSource>* jwks) {
  auto seconds = [] {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  if (security.auth == AuthMode::kOff) {
    std::fprintf(stderr,
                 "fhirhub: WARNING: authentication is OFF (--auth off): every request is served "
                 "as an administrator's. For development only.\n");
    return std::unique_ptr<pipeline::Authenticator>(new pipeline::OpenAuthenticator());
  }
  security::JwtOptions jwt = security.jwt;
  pipeline::TokenAuthenticator::Keys keys;
  if (security.auth == AuthMode::kDev) {
    auto key = LoadOrCreateDevKey(data_dir);
    if (!key.ok()) return std::move(key).error();
    auto set = std::make_shared<const security::KeySet>(DevKeySet(*key));
    keys = [set](std::string_view) { return set; };
    jwt.issuers = {std::string(kDevIssuer)};
    jwt.audience = std::string(kDevAudience);
    std::fprintf(stderr,
                 "fhirhub: WARNING: development tokens (--auth dev): anyone who can read %s can "
                 "mint any token. Never use this in production.\n",
                 (data_dir / kDevKeyFile).c_str());
  } else {
    auto source = JwksSource::Open(security.jwks);
    if (!source.ok()) return std::move(source).error();
    *jwks = std::move(source).value();
    JwksSource* from = jwks->get();
    keys = [from](std::string_view kid) { return from->KeysFor(kid); };
    std::fprintf(stderr, "fhirhub: bearer tokens verified with %zu key%s from %s\n",
                 from->Keys()->size(), from->Keys()->size() == 1 ? "" : "s", security.jwks.c_str());
  }
  std::unique_ptr<pipeline::Authenticator> tokens(
      new pipeline::TokenAuthenticator(std::move(keys), jwt, security.roles, seconds));
  if (!security.certificate_clients) return tokens;
  std::fprintf(stderr, "fhirhub: %zu system client%s known by their TLS client certificates\n",
               security.certificate_clients->size(),
               security.certificate_clients->size() == 1 ? "" : "s");
  return std::unique_ptr<pipeline::Authenticator>(
      new pipeline::CertificateAuthenticator(*security.certificate_clients, std::move(tokens)));
}

// Wakes the threads that wait for the server to stop.
class StopSignal {
 public:
  void Stop() {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    changed_.notify_all();
  }
  // Waits up to `period`; true once stopped.
  bool WaitFor(std::chrono::seconds period) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, period, [this] { return stopped_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stopped_ = false;
};

// Signs the audit log's head every `period` until `stop`, when it moved on.
void SignCheckpoints(store::AuditLog& log, const security::PrivateKey& key,
                     std::chrono::seconds period, std::optional<std::chrono::days> retention,
                     StopSignal& stop) {
  std::int64_t signed_seq = -1;
  std::optional<std::chrono::steady_clock::time_point> retained;
  while (!stop.WaitFor(period)) {
    auto head = log.Head();
    if (head.ok() && head->seq != signed_seq && head->seq != 0) {
      auto checkpoint = audit::WriteCheckpoint(log, key, store::SystemClock().Now());
      if (checkpoint.ok()) {
        signed_seq = checkpoint->seq;
      } else {
        std::fprintf(stderr, "fhirhub: audit checkpoint failed (%s)\n",
                     checkpoint.error().message_id().c_str());
      }
    }
    // Retention, once a day (and in the first period after start).
    const auto now = std::chrono::steady_clock::now();
    if (!retention || (retained && now - *retained < std::chrono::hours(24))) continue;
    retained = now;
    auto removed = audit::ApplyRetention(log, store::SystemClock().Now(), *retention);
    if (!removed.ok()) {
      std::fprintf(stderr, "fhirhub: audit retention failed (%s)\n",
                   removed.error().message_id().c_str());
    } else if (removed->removed > 0) {
      std::fprintf(stderr,
                   "fhirhub: audit retention removed %lld records (up to seq %lld) recorded "
                   "more than %lld days ago\n",
                   static_cast<long long>(removed->removed),
                   static_cast<long long>(removed->through),
                   static_cast<long long>(retention->count()));
    }
  }
}

// Analyzes the store's tables each time one doubled (store/pg/table_statistics.h), every second
// until `stop`, on a connection of its own: a young table doubles in seconds under a load.
void KeepStatistics(const std::string& conninfo, StopSignal& stop) {
  std::unique_ptr<store::pg::PgConnection> conn;
  while (!stop.WaitFor(std::chrono::seconds(1))) {
    if (!conn || !conn->healthy()) {
      auto connected = store::pg::PgConnection::Connect(conninfo);
      if (!connected.ok()) continue;
      conn = std::move(connected).value();
    }
    if (auto analyzed = store::pg::AnalyzeGrownTables(*conn); !analyzed.ok()) {
      std::fprintf(stderr, "fhirhub: table statistics not refreshed (%s)\n",
                   analyzed.error().message_id().c_str());
    }
  }
}

// Who the pending queue's sweep writes as: the server itself, a connector limited to finding
// residents and creating Observations; its writes are audited under this subject.
rest::Principal SweepPrincipal() {
  rest::Principal principal;
  principal.method = "internal";
  principal.subject = "fhirhub:station-feed-sweep";
  principal.client_id = "fhirhub";
  principal.roles = {rest::Role::kConnector};
  principal.scope = "system/Patient.rs system/Observation.crus";
  return principal;
}

// Retries the pending station measurements every `period` until `stop`.
void SweepPending(const connectors::device_feed::DeviceFeed& feed, const std::string& base_url,
                  std::chrono::seconds period, StopSignal& stop) {
  const rest::Principal principal = SweepPrincipal();
  while (!stop.WaitFor(period)) {
    auto written = feed.Sweep(principal, base_url);
    // Only the message id: the text may quote a resident's identifier.
    if (!written.ok()) {
      std::fprintf(stderr, "fhirhub: station feed: pending sweep failed (%s)\n",
                   written.error().message_id().c_str());
    } else if (*written > 0) {
      std::fprintf(stderr, "fhirhub: station feed: %d pending measurement%s written\n", *written,
                   *written == 1 ? "" : "s");
    }
  }
}

// Wires the store, the handlers, the router and the pipeline in front of it, and serves until one
// of `signals` arrives. The store (and its connections) is gone when this returns, before the
// database is stopped.
int Serve(const http::HttpOptions& options, const SecurityOptions& security,
          const StationFeedOptions& station, const std::filesystem::path& data_dir,
          const fhir::model::Definitions& defs, const SearchDefinitions& definitions,
          const search::Compartments& compartments, const terminology::Terminology& terminology,
          const std::string& conninfo, const std::optional<MllpOptions>& mllp,
          const std::filesystem::path& mappings_dir, const sigset_t& signals) {
  const store::SystemClock clock{};
  store::pg::PgStore pg_store(store::pg::PoolOptions{.conninfo = conninfo}, clock);
  rest::RandomIdGenerator ids;

  // The package's and the profiles' search parameters with the active stored ones.
  auto stored = SearchDefinitions::ReadStored(pg_store);
  if (!stored.ok()) {
    std::fprintf(stderr, "fhirhub serve: %s\n", stored.error().text().c_str());
    return 1;
  }
  // The handlers' own registry is an empty one: every request carries the live registry's
  // snapshot instead, and nothing may keep an old registry alive (the reindexer waits for them).
  auto none = search::Registry::Load({}, defs);
  if (!none.ok()) return 1;
  const search::Registry& registry = **none;
  auto built = definitions.Build(*stored);
  if (!built.ok()) {
    std::fprintf(stderr, "fhirhub serve: %s\n", built.error().text().c_str());
    return 1;
  }
  auto current = IndexCompletedWith(pg_store, built->fingerprint);
  if (!current.ok()) {
    std::fprintf(stderr, "fhirhub serve: %s\n", current.error().text().c_str());
    return 1;
  }
  // Rows still to be built (a rebuild was stopped, or the definitions changed while the server
  // was down): searches by the custom parameters are flagged until the rebuild completes.
  if (!*current && !built->registry->CustomDefinitions().empty()) {
    built = definitions.Build(std::move(stored).value(), &registry);
    if (!built.ok()) {
      std::fprintf(stderr, "fhirhub serve: %s\n", built.error().text().c_str());
      return 1;
    }
  }
  std::fprintf(stderr, "fhirhub: %zu custom search parameters\n",
               built->registry->CustomDefinitions().size());
  LiveRegistry live(definitions, pg_store, std::move(built).value());

  const LiveCapabilities capabilities(defs, registry);
  const rest::ReadHandler read(pg_store, defs);
  const rest::CreateHandler create(pg_store, defs, registry, ids, &terminology);
  const rest::UpdateHandler update(pg_store, defs, registry, ids, &terminology);
  const rest::DeleteHandler remove(pg_store, registry, &terminology);
  const rest::HistoryHandler history(pg_store, defs);
  const rest::SearchHandler search(pg_store, defs, registry, compartments, terminology, clock);
  const rest::PatchHandler patch(pg_store, defs, registry, &terminology);

  std::unique_ptr<JwksSource> jwks;
  auto authenticator = MakeAuthenticator(security, data_dir, &jwks);
  if (!authenticator.ok()) {
    std::fprintf(stderr, "fhirhub serve: %s\n", authenticator.error().text().c_str());
    return 1;
  }
  store::pg::PgAuditLog audit_log(store::pg::PgAuditLogOptions{
      .pool = store::pg::PoolOptions{.conninfo = conninfo}, .hash_algorithm = security.audit_hash});
  std::optional<security::PrivateKey> checkpoint_key;
  if (security.audit_signing_key) {
    auto key = LoadPrivateKey(*security.audit_signing_key);
    if (!key.ok()) {
      std::fprintf(stderr, "fhirhub serve: %s\n", key.error().text().c_str());
      return 1;
    }
    checkpoint_key = std::move(key).value();
  }
  audit::AuditWriter audit_writer(audit_log);
  pipeline::WriterTrail writer_trail(audit_writer);
  pipeline::NoAuditTrail no_trail;
  pipeline::AuditTrail& trail =
      security.audit ? static_cast<pipeline::AuditTrail&>(writer_trail) : no_trail;
  if (!security.audit || !security.gate.consent) {
    std::fprintf(stderr, "fhirhub: WARNING: %s%s%s OFF, for measurements only\n",
                 security.gate.consent ? "" : "consent enforcement",
                 !security.audit && !security.gate.consent ? " and " : "",
                 security.audit ? "" : "audit records");
  }
  const rest::AuditHandler audit_events(
      audit_log,
      checkpoint_key ? audit::CheckpointSignatureCheck(checkpoint_key->Public())
                     : audit::SignatureCheck(),
      clock);
  auth::SmartConfigurationOptions smart;
  smart.patient_context = true;
  const std::string smart_json = auth::SmartConfigurationJson(smart);

  rest::Router router(defs);
  pipeline::PipelineOptions pipeline_options;
  pipeline_options.gate = security.gate;
  pipeline::RateLimiter limiter(security.rate_limit);
  if (security.rate_limit.per_second > 0) pipeline_options.limiter = &limiter;
  const pipeline::Pipeline pipeline(pipeline_options, router, pg_store, defs, registry,
                                    compartments, **authenticator, trail, clock);
  // Bundle entries pass through the pipeline and the same router, so they behave as requests
  // of their own.
  const rest::BundleHandler bundle(pg_store, pipeline, defs, registry, ids, &terminology);
  // The station feed writes through the pipeline as its caller (connectors/device_feed).
  const PipelineSink sink(
      pipeline, &live,
      "http://" + options.host + ":" + std::to_string(options.port) + options.base_path);
  store::pg::PgPendingMeasurements pending(store::pg::PoolOptions{.conninfo = conninfo});
  const connectors::device_feed::DeviceFeed feed(sink, pending, defs, station.feed);
  router.Add(rest::Method::kPost, std::string(pipeline::kStationFeedPath),
             [&feed](const rest::FhirRequest& request, const rest::PathParams&) {
               return feed.Receive(request);
             });
  router.Add(rest::Method::kGet, std::string(pipeline::kStationFeedPath) + "/pending",
             [&feed](const rest::FhirRequest& request, const rest::PathParams&) {
               return feed.ListPending(request);
             });
  router.Add(rest::Method::kDelete, std::string(pipeline::kStationFeedPath) + "/pending/{id}",
             [&feed](const rest::FhirRequest& request, const rest::PathParams& params) {
               return feed.Discard(request, params.at("id"));
             });
  router.Add(rest::Method::kPost,
             std::string(pipeline::kStationFeedPath) + "/pending/{id}/$resolve",
             [&feed](const rest::FhirRequest& request, const rest::PathParams& params) {
               return feed.Resolve(request, params.at("id"));
             });
  // The audit log, before the routes of every type: AuditEvents are read from it alone.
  router.Add(rest::Method::kGet, "AuditEvent",
             [&audit_events](const rest::FhirRequest& request, const rest::PathParams& params) {
               return audit_events.Search(request, params);
             });
  router.Add(rest::Method::kGet, "AuditEvent/$verify",
             [&audit_events](const rest::FhirRequest& request, const rest::PathParams& params) {
               return audit_events.Verify(request, params);
             });
  router.Add(rest::Method::kGet, "AuditEvent/{id}",
             [&audit_events](const rest::FhirRequest& request, const rest::PathParams& params) {
               return audit_events.Read(request, params);
             });
  router.Add(rest::Method::kGet, ".well-known/smart-configuration",
             [&smart_json](const rest::FhirRequest&, const rest::PathParams&) {
               rest::FhirResponse response;
               response.json = smart_json;
               return fhir::Result<rest::FhirResponse>(std::move(response));
             });
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
  router.Add(rest::Method::kPatch, "{type}",
             [&patch](const rest::FhirRequest& request, const rest::PathParams& params) {
               return patch.Conditional(request, params);
             });
  router.Add(rest::Method::kGet, "",
             [&search](const rest::FhirRequest& request, const rest::PathParams& params) {
               return search.System(request, params);
             });
  router.Add(rest::Method::kPost, "_search",
             [&search](const rest::FhirRequest& request, const rest::PathParams& params) {
               return search.SystemPost(request, params);
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

  http::HttpOptions http_options = options;
  http_options.raw_body_paths.emplace_back(pipeline::kStationFeedPath);
  http::HttpServer server(http_options, pipeline, defs, &live);
  if (auto result = server.Start(); !result.ok()) {
    std::fprintf(stderr, "fhirhub serve: %s\n", result.error().text().c_str());
    return 1;
  }
  const std::string base_url = std::string(options.tls != nullptr ? "https" : "http") + "://" +
                               options.host + ":" + std::to_string(server.port()) +
                               options.base_path;
  // HL7 v2 messages enter the same pipeline as REST requests, as the connector principal.
  std::unique_ptr<MllpService> mllp_service;
  if (mllp) {
    auto started = MllpService::Start(*mllp, mappings_dir,
                                      {.pipeline = pipeline,
                                       .registries = &live,
                                       .base_url = base_url,
                                       .defs = defs,
                                       .conninfo = conninfo,
                                       .clock = clock});
    if (!started.ok()) {
      std::fprintf(stderr, "fhirhub serve: %s\n", started.error().text().c_str());
      server.Stop();
      audit_writer.Stop();
      return 1;
    }
    mllp_service = std::move(started).value();
    std::printf("fhirhub: HL7 v2 over MLLP%s at mllp://%s:%u\n",
                mllp->listener.tls_certificate.empty() ? "" : " (TLS)", mllp->listener.host.c_str(),
                static_cast<unsigned>(mllp_service->port()));
  }
  std::printf("fhirhub %s serving FHIR R4 at %s\n", FHIRHUB_VERSION, base_url.c_str());
  std::fflush(stdout);

  // Index rows built with other definitions (or none, for data written before) are rebuilt in
  // the background while the server answers.
  std::thread reindexing([&] { KeepIndexCurrent(pg_store, live); });
  StopSignal stopping;
  std::thread checkpoints;
  if (checkpoint_key) {
    checkpoints = std::thread([&] {
      SignCheckpoints(audit_log, *checkpoint_key,
                      std::chrono::seconds(security.audit_checkpoint_seconds),
                      security.audit_retention, stopping);
    });
  }

  std::thread statistics([&] { KeepStatistics(conninfo, stopping); });

  std::thread sweeping;
  if (station.sweep.count() > 0) {
    const std::string base_url =
        "http://" + options.host + ":" + std::to_string(server.port()) + options.base_path;
    sweeping =
        std::thread([&, base_url] { SweepPending(feed, base_url, station.sweep, stopping); });
  }

  int signal = 0;
  sigwait(&signals, &signal);
  std::fprintf(stderr, "fhirhub: stopping (signal %d)\n", signal);
  live.Stop();
  stopping.Stop();
  // The MLLP listener first: its messages in flight still need the pipeline to be answered.
  if (mllp_service) mllp_service->Stop();
  server.Stop();
  // The sweep writes through the pipeline, whose audit records need the writer.
  if (sweeping.joinable()) sweeping.join();
  audit_writer.Stop();
  reindexing.join();
  statistics.join();
  if (checkpoints.joinable()) checkpoints.join();
  return 0;
}

}  // namespace

int RunServe(const std::vector<std::string>& args) {
  std::set<std::string, std::less<>> valued = {"fhir-package", "database-url", "data-dir",
                                               "profiles", "mappings"};
  valued.insert(MllpOptionNames().begin(), MllpOptionNames().end());
  valued.insert(HttpOptionNames().begin(), HttpOptionNames().end());
  valued.insert(SecurityOptionNames().begin(), SecurityOptionNames().end());
  valued.insert(StationFeedOptionNames().begin(), StationFeedOptionNames().end());
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
  auto security = ParseSecurityOptions(*cl);
  if (!security.ok()) {
    std::fprintf(stderr, "fhirhub serve: %s\n", security.error().text().c_str());
    return 2;
  }
  auto mllp = ParseMllpOptions(*cl);
  if (!mllp.ok()) {
    std::fprintf(stderr, "fhirhub serve: %s\n", mllp.error().text().c_str());
    return 2;
  }
  const std::filesystem::path mappings_dir =
      cl->GetOrEnv("mappings").value_or(FHIRHUB_DEFAULT_HL7V2_MAPPINGS);

  auto station = ParseStationFeedOptions(*cl);
  if (!station.ok()) {
    std::fprintf(stderr, "fhirhub serve: %s\n", station.error().text().c_str());
    return 2;
  }

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
  std::optional<std::filesystem::path> profiles;
  if (auto dir = cl->GetOrEnv("profiles")) profiles = *dir;
  auto definitions = SearchDefinitions::Load(cl->GetOrEnv("fhir-package"), profiles, **defs);
  if (!definitions.ok()) {
    std::fprintf(stderr, "fhirhub serve: %s\n", definitions.error().text().c_str());
    return 1;
  }
  auto compartments = LoadCompartments(cl->GetOrEnv("fhir-package"));
  if (!compartments.ok()) {
    std::fprintf(stderr, "fhirhub serve: %s\n", compartments.error().text().c_str());
    return 1;
  }
  auto terminology = LoadTerminology(cl->GetOrEnv("fhir-package"));
  if (!terminology.ok()) {
    std::fprintf(stderr, "fhirhub serve: %s\n", terminology.error().text().c_str());
    return 1;
  }
  const auto loaded_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - started)
                             .count();
  std::fprintf(stderr,
               "fhirhub: FHIR R4 definitions loaded (%zu types, %zu profile search parameters, %zu "
               "value sets, %zu code systems) in %lld ms\n",
               (*defs)->types().size(), (*definitions)->profile_count(),
               (*terminology)->value_set_count(), (*terminology)->code_system_count(),
               static_cast<long long>(loaded_ms));

  auto db = OpenDatabase(*cl);
  if (!db.ok()) {
    std::fprintf(stderr, "fhirhub serve: %s\n", db.error().text().c_str());
    return 1;
  }
  std::fprintf(stderr, "fhirhub: database ready (%s, %d migration%s applied)\n",
               db->cluster != nullptr ? "embedded cluster" : "external server",
               db->migrations_applied, db->migrations_applied == 1 ? "" : "s");

  int status = Serve(options, *security, *station, cl->GetOrEnv("data-dir").value_or("var"), **defs,
                     **definitions, **compartments, **terminology, db->conninfo, *mllp,
                     mappings_dir, signals);
  if (db->cluster != nullptr) {
    if (auto stopped = db->cluster->Stop(); !stopped.ok()) {
      std::fprintf(stderr, "fhirhub serve: %s\n", stopped.error().text().c_str());
      return 1;
    }
  }
  return status;
}

}  // namespace server::main
