#include "server/pipeline/pipeline.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <memory>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "server/rest/interaction_support.h"
#include "server/rest/registry_source.h"
#include "server/rest/search_params.h"

namespace server::pipeline {

namespace {

bool Writes(const Interaction& what) {
  return what.code == "create" || what.code == "update" || what.code == "patch" ||
         what.code == "delete";
}

// AuditEvent.outcome: 0 success, 4 minor failure (the client's request was wrong), 8 serious
// failure (refused: authentication, authorization, consent, rate limit), 12 major failure (the
// server).
int Outcome(int status) {
  if (status < 400) return 0;
  if (status == 401 || status == 403 || status == 429) return 8;
  if (status < 500) return 4;
  return 12;
}

std::string RequestId() {
  thread_local std::mt19937_64 random(std::random_device{}());
  std::array<char, 33> text{};
  std::snprintf(text.data(), text.size(), "%016llx%016llx",
                static_cast<unsigned long long>(random()),
                static_cast<unsigned long long>(random()));
  return text.data();
}

std::string QueryString(const rest::QueryParams& query) {
  std::string out;
  for (const auto& [name, value] : query) {
    if (!out.empty()) out += "&";
    out += rest::PercentEncode(name) + "=" + rest::PercentEncode(value);
  }
  return out;
}

// Whether a searchset Bundle holds a match.
bool HasMatch(rest::FhirResponse& response, const fhir::model::Definitions& defs) {
  if (!rest::MaterializeBody(&response, defs).ok() || !response.body) return false;
  for (const fhir::Node* entry : response.body->root()->Children("entry")) {
    const fhir::Node* search = entry->Child("search");
    const fhir::Node* mode = search != nullptr ? search->Child("mode") : nullptr;
    if (mode != nullptr && mode->value == "match") return true;
  }
  return false;
}

// The requests this thread is answering: the entries of a Bundle, and the Bundle a connector
// sends, run nested in the request that carries them, on its thread. The audit records of nested
// requests are submitted without waiting, and the outermost request waits for them with its own:
// a Bundle's records share group commits rather than each entry waiting for a commit of its own.
// The Bundle's answer, and so every entry's, still leaves only once all of them are durable.
struct AuditNesting {
  int depth = 0;
  std::vector<AuditReceipt> pending;  // of nested requests, submitted
};
thread_local AuditNesting nesting;

class NestedRequest {
 public:
  NestedRequest() { ++nesting.depth; }
  ~NestedRequest() {
    if (--nesting.depth > 0) return;
    // The outermost request waits in Audit; this only keeps a request that failed before its
    // audit from leaving records it never waited for to the thread's next request.
    for (const AuditReceipt& receipt : nesting.pending) (void)receipt();
    nesting.pending.clear();
  }
  NestedRequest(const NestedRequest&) = delete;
  NestedRequest& operator=(const NestedRequest&) = delete;
};

}  // namespace

Pipeline::Pipeline(PipelineOptions options, const rest::Router& router, store::Store& store,
                   const fhir::model::Definitions& defs, const search::Registry& fixed,
                   const search::Compartments& compartments, const Authenticator& authenticator,
                   AuditTrail& audit, const store::Clock& clock)
    : options_(std::move(options)),
      router_(router),
      store_(store),
      defs_(defs),
      fixed_(fixed),
      compartments_(compartments),
      authenticator_(authenticator),
      audit_(audit),
      clock_(clock) {}

rest::FhirResponse Pipeline::Dispatch(rest::FhirRequest& request) const {
  const NestedRequest nested;
  const Interaction what = Classify(request, defs_);
  auto principal = what.open ? fhir::Result<rest::Principal>(rest::Principal())
                             : authenticator_.Authenticate(request);
  if (principal.ok()) {
    request.principal = std::make_shared<const rest::Principal>(std::move(principal).value());
  }
  // Over its rate limit, a client is refused before anything else, a failed login included (by
  // its address then), so that guessing tokens is throttled too.
  if (auto wait = Throttle(request)) {
    const fhir::Error error(
        429, fhir::Issue{fhir::Severity::kError, fhir::IssueType::kThrottled, "http.rate-limited",
                         "Too many requests from this client: retry after " +
                             std::to_string(wait->count()) + " s"});
    rest::FhirResponse refused = router_.ErrorResponse(error);
    refused.headers.emplace_back("retry-after", std::to_string(wait->count()));
    if (auto audited = Audit(request, what, nullptr, refused, &error); !audited.ok()) {
      return router_.ErrorResponse(audited.error());
    }
    return refused;
  }
  if (!principal.ok()) {
    rest::FhirResponse refused = router_.ErrorResponse(principal.error());
    refused.headers.emplace_back("www-authenticate",
                                 R"(Bearer realm="fhirhub", error="invalid_token")");
    if (auto audited = Audit(request, what, nullptr, refused, &principal.error()); !audited.ok()) {
      return router_.ErrorResponse(audited.error());
    }
    return refused;
  }
  const auth::ScopeSet scopes = auth::ScopeSet::Parse(request.principal->scope);
  RequestGate gate(options_.gate, defs_, rest::RegistryFor(request, fixed_), compartments_,
                   *request.principal, scopes, clock_.Now());
  auto answer = Run(request, what, gate, scopes);
  rest::FhirResponse response =
      answer.ok() ? std::move(answer).value() : router_.ErrorResponse(request, answer.error());
  if (auto audited = Audit(request, what, &gate, response, answer.ok() ? nullptr : &answer.error());
      !audited.ok()) {
    return router_.ErrorResponse(audited.error());
  }
  return response;
}

fhir::Result<void> Pipeline::Refused(const rest::FhirRequest& request,
                                     const fhir::Error& error) const {
  // A request whose head could not be read has neither path nor headers: no interaction.
  const Interaction what =
      request.path.empty() && request.headers.empty() ? Interaction() : Classify(request, defs_);
  return Audit(request, what, nullptr, router_.ErrorResponse(error), &error);
}

std::optional<std::chrono::seconds> Pipeline::Throttle(const rest::FhirRequest& request) const {
  if (options_.limiter == nullptr) return std::nullopt;
  const rest::Principal* who = request.principal.get();
  if (who != nullptr && !who->client_id.empty()) {
    return options_.limiter->Take("client:" + who->client_id);
  }
  if (who != nullptr && !who->subject.empty() && who->method != "none") {
    return options_.limiter->Take("sub:" + who->subject);
  }
  return options_.limiter->Take("peer:" + request.peer_address);
}

fhir::Result<rest::FhirResponse> Pipeline::Route(rest::FhirRequest& request) const {
  const NestedRequest nested;
  const Interaction what = Classify(request, defs_);
  if (request.principal == nullptr) {
    return fhir::Error::Internal("pipeline.no-principal", "The request was not authenticated");
  }
  const auth::ScopeSet scopes = auth::ScopeSet::Parse(request.principal->scope);
  RequestGate gate(options_.gate, defs_, rest::RegistryFor(request, fixed_), compartments_,
                   *request.principal, scopes, clock_.Now());
  auto answer = Run(request, what, gate, scopes);
  const rest::FhirResponse recorded =
      answer.ok() ? rest::FhirResponse{answer->status, answer->headers, std::nullopt, {}}
                  : router_.ErrorResponse(answer.error());
  if (auto audited = Audit(request, what, &gate, recorded, answer.ok() ? nullptr : &answer.error());
      !audited.ok()) {
    return std::move(audited).error();
  }
  return answer;
}

fhir::Result<rest::FhirResponse> Pipeline::Run(rest::FhirRequest& request, const Interaction& what,
                                               RequestGate& gate,
                                               const auth::ScopeSet& scopes) const {
  const rest::Principal& principal = *request.principal;
  if (!what.roles.empty() &&
      std::none_of(what.roles.begin(), what.roles.end(), [&](rest::Role role) {
        return std::find(principal.roles.begin(), principal.roles.end(), role) !=
               principal.roles.end();
      })) {
    std::string names;
    for (rest::Role role : what.roles) {
      names += (names.empty() ? "" : ", ") + std::string(auth::RoleName(role));
    }
    return fhir::Error::Forbidden("auth.role-denied",
                                  "only these roles may use the station feed: " + names);
  }
  if (what.permission) {
    const std::vector<std::string> types =
        what.types.empty() ? std::vector<std::string>{"*"} : what.types;
    std::optional<auth::Grant> grant;
    for (const std::string& type : types) {
      auto decided = auth::Decide(principal, scopes, *what.permission, type);
      if (!decided.ok()) return std::move(decided).error();
      if (!grant || !decided->unconstrained()) grant = std::move(decided).value();
    }
    if (!grant->unconstrained()) {
      if (*what.permission == auth::Permission::kSearch && types.size() == 1 &&
          types.front() != "*") {
        if (auto constrained = Constrain(request, *grant); !constrained.ok()) {
          return std::move(constrained).error();
        }
        gate.Constrained(types.front());
      } else if (*what.permission != auth::Permission::kRead) {
        return fhir::Error::Forbidden(
            "auth.scope-constraint",
            "This token may " + std::string(auth::PermissionName(*what.permission)) + " " +
                types.front() +
                " only under a query constraint, which applies to reads and "
                "searches of one type");
      }
    }
    if (Writes(what)) gate.Writes(types.front());
    if (!what.id.empty() && (Writes(what) || !grant->unconstrained())) {
      if (auto target = CheckTarget(request, what, *grant, gate); !target.ok()) {
        return std::move(target).error();
      }
    }
  }
  request.gate = &gate;
  return router_.Route(request);
}

fhir::Result<void> Pipeline::Constrain(rest::FhirRequest& request, const auth::Grant& grant) const {
  if (grant.constraints.size() == 1) {
    for (const auto& [name, value] : grant.constraints.front()) {
      request.query.emplace_back(name, value);
    }
    return {};
  }
  // Alternatives of one parameter each, the same one: its values as one OR list.
  std::string name;
  std::string values;
  for (const auth::Constraint& alternative : grant.constraints) {
    if (alternative.size() != 1 || (!name.empty() && alternative.front().first != name)) {
      return fhir::Error::Forbidden(
          "auth.scope-constraint",
          "The query constraints of this token's scopes cannot be combined into one search");
    }
    name = alternative.front().first;
    values += (values.empty() ? "" : ",") + alternative.front().second;
  }
  request.query.emplace_back(name, values);
  return {};
}

fhir::Result<void> Pipeline::CheckTarget(const rest::FhirRequest& request, const Interaction& what,
                                         const auth::Grant& grant, RequestGate& gate) const {
  const std::string& type = what.types.front();
  rest::FhirRequest probe;
  probe.method = rest::Method::kGet;
  probe.base_url = request.base_url;
  probe.registry = request.registry;
  probe.principal = request.principal;
  probe.transaction = request.transaction;
  probe.gate = &gate;
  if (!grant.unconstrained()) {
    // Under a v2 constraint, the resource must be found by the constraint.
    probe.path = type;
    probe.query = {{"_id", what.id}};
    rest::FhirRequest constrained = std::move(probe);
    if (auto added = Constrain(constrained, grant); !added.ok()) return added;
    gate.Constrained(type);
    auto found = router_.Route(constrained);
    if (!found.ok()) return std::move(found).error();
    if (!HasMatch(*found, defs_)) {
      return fhir::Error::Forbidden("auth.scope-constraint",
                                    "The query constraint of this token's scopes does not "
                                    "permit " +
                                        type + "/" + what.id);
    }
    gate.Verified(type + "/" + what.id);
    return {};
  }
  // A write: the resource as it is now must be readable here (patient context, consent).
  probe.path = type + "/" + what.id;
  auto current = router_.Route(probe);
  if (current.ok()) return {};
  const int status = current.error().http_status();
  if (status == 404 || status == 410) return {};  // a create on update, or a delete again
  return std::move(current).error();
}

fhir::Result<void> Pipeline::Audit(const rest::FhirRequest& request, const Interaction& what,
                                   const RequestGate* gate, const rest::FhirResponse& response,
                                   const fhir::Error* error) const {
  audit::AuditRecord record;
  const store::Timestamp now = clock_.Now();
  record.recorded = rest::FormatInstant(now);
  record.interaction = what.code;
  record.action = what.action;
  record.outcome = Outcome(response.status);
  if (error != nullptr) record.outcome_text = error->message_id();
  if (const rest::Principal* principal = request.principal.get()) {
    record.subject = principal->subject;
    record.issuer = principal->issuer;
    record.client_id = principal->client_id;
    record.fhir_user = principal->fhir_user;
    record.organization = principal->organization;
    for (rest::Role role : principal->roles) record.roles.emplace_back(auth::RoleName(role));
    record.purpose_of_use = principal->purpose_of_use;
    if (principal->patient) record.patients.push_back(*principal->patient);
  }
  record.network_address = request.peer_address;
  std::set<std::string> entities;
  if (!what.types.empty() && !what.id.empty()) entities.insert(what.types.front() + "/" + what.id);
  for (const auto& [name, value] : response.headers) {
    if (name == "location" || name == "content-location") {
      const std::string prefix = request.base_url + "/";
      std::string reference = value.starts_with(prefix) ? value.substr(prefix.size()) : value;
      if (size_t history = reference.find("/_history/"); history != std::string::npos) {
        reference.resize(history);
      }
      entities.insert(std::move(reference));
    }
  }
  if (gate != nullptr) {
    record.break_glass = gate->break_glass();
    for (const std::string& patient : gate->patients()) {
      if (std::find(record.patients.begin(), record.patients.end(), patient) ==
          record.patients.end()) {
        record.patients.push_back(patient);
      }
    }
    entities.insert(gate->released().begin(), gate->released().end());
  }
  record.entities.assign(entities.begin(), entities.end());
  if (what.code.starts_with("search") || what.code.starts_with("history")) {
    record.query = QueryString(request.query);
  }
  record.server_id = options_.server_id;
  record.request_id = RequestId();
  AuditReceipt receipt = audit_.Submit(record, now);
  if (nesting.depth > 1) {
    nesting.pending.push_back(std::move(receipt));
    return {};
  }
  fhir::Result<void> durable = receipt();
  for (const AuditReceipt& entry : std::exchange(nesting.pending, {})) {
    if (auto done = entry(); durable.ok() && !done.ok()) durable = std::move(done);
  }
  return durable;
}

AuditReceipt WriterTrail::Submit(const audit::AuditRecord& record, store::Timestamp when) {
  store::AuditEntry entry;
  entry.recorded = when;
  entry.action = record.action;
  entry.outcome = record.outcome;
  entry.patients = record.patients;
  if (!record.subject.empty()) entry.agents.push_back("sub:" + record.subject);
  if (!record.client_id.empty()) entry.agents.push_back("client:" + record.client_id);
  if (!record.fhir_user.empty()) entry.agents.push_back(record.fhir_user);
  if (!record.organization.empty()) entry.agents.push_back(record.organization);
  entry.entities = record.entities;
  entry.event = audit::AuditEventJson(record);
  return [this, ticket = writer_.Submit(std::move(entry))]() -> fhir::Result<void> {
    if (!writer_.Wait(ticket).ok()) {
      return fhir::Error::Unavailable("audit.unavailable",
                                      "The access could not be recorded in the audit log, so it "
                                      "is not answered");
    }
    return {};
  };
}

}  // namespace server::pipeline
