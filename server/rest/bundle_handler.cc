#include "server/rest/bundle_handler.h"

#include <algorithm>
#include <map>
#include <string>

#include "fhir/json/json.h"
#include "fhir/outcome.h"
#include "server/rest/conditional.h"
#include "server/rest/search_params.h"
#include "server/search/criteria.h"

namespace server::rest {

struct BundleHandler::Entry {
  size_t index = 0;
  std::string full_url;
  FhirRequest request;
  // A conditional create whose criteria matched this resource: nothing is written for it.
  std::optional<store::ResourceVersion> matched;
  std::optional<fhir::Result<FhirResponse>> answer;
};

namespace {

std::string Location(size_t index) { return "Bundle.entry[" + std::to_string(index) + "]"; }

fhir::Error BadEntry(size_t index, std::string text, std::string_view where = "") {
  return fhir::Error::Invalid("rest.bundle-entry", std::move(text),
                              Location(index) + std::string(where));
}

std::string_view Value(const fhir::Node* node, std::string_view child) {
  const fhir::Node* found = node->Child(child);
  return found != nullptr && found->has_value ? found->value : std::string_view();
}

// The first path segment: the resource type of an entry's url.
std::string_view TypeOf(const FhirRequest& request) {
  return std::string_view(request.path).substr(0, request.path.find('/'));
}

// An error of entry `index`, its locations moved into that entry: "Patient.name" becomes
// "Bundle.entry[3].resource.name"; a location outside the resource (a header, a parameter)
// becomes the entry's request.
fhir::Error Located(size_t index, std::string_view type, const fhir::Error& error) {
  std::vector<fhir::Issue> issues = error.issues();
  for (fhir::Issue& issue : issues) {
    std::string& where = issue.expression;
    if (!type.empty() && (where == type || where.starts_with(std::string(type) + "."))) {
      where = Location(index) + ".resource" + where.substr(type.size());
    } else if (!where.starts_with("Bundle.entry[")) {
      where = Location(index) + ".request";
    }
  }
  return fhir::Error(error.http_status(), std::move(issues));
}

std::string StatusText(int status) {
  const char* reason = "";
  switch (status) {
    case 200:
      reason = " OK";
      break;
    case 201:
      reason = " Created";
      break;
    case 204:
      reason = " No Content";
      break;
    case 304:
      reason = " Not Modified";
      break;
    case 400:
      reason = " Bad Request";
      break;
    case 401:
      reason = " Unauthorized";
      break;
    case 403:
      reason = " Forbidden";
      break;
    case 404:
      reason = " Not Found";
      break;
    case 405:
      reason = " Method Not Allowed";
      break;
    case 409:
      reason = " Conflict";
      break;
    case 410:
      reason = " Gone";
      break;
    case 412:
      reason = " Precondition Failed";
      break;
    case 415:
      reason = " Unsupported Media Type";
      break;
    case 422:
      reason = " Unprocessable Entity";
      break;
    case 500:
      reason = " Internal Server Error";
      break;
    case 503:
      reason = " Service Unavailable";
      break;
    default:
      break;
  }
  return std::to_string(status) + reason;
}

std::string_view Header(const FhirResponse& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return {};
}

// Execution order within a transaction (http.html#trules).
int Rank(Method method) {
  switch (method) {
    case Method::kDelete:
      return 0;
    case Method::kPost:
      return 1;
    case Method::kPut:
    case Method::kPatch:
      return 2;
    default:
      return 3;
  }
}

// The lock keys (CriteriaKey) of the conditional references in the tree, such as
// "Patient?identifier=x". Criteria that do not parse are left to the rewriting to report.
void ConditionalReferenceCriteria(const fhir::Node* node, std::vector<std::string>* keys) {
  if (node->type != nullptr && node->type->name == "Reference") {
    std::string_view reference = Value(node, "reference");
    const size_t question = reference.find('?');
    if (question != std::string_view::npos && !reference.starts_with('#') &&
        reference.find("://") > question) {
      auto criteria = ParseQueryString(reference.substr(question + 1));
      if (criteria.ok()) keys->push_back(CriteriaKey(reference.substr(0, question), *criteria));
    }
  }
  for (const fhir::Node* child : node->children) ConditionalReferenceCriteria(child, keys);
}

void SetValue(fhir::Resource& resource, fhir::Node* node, std::string_view value) {
  node->value = resource.Intern(value);
  node->has_value = true;
}

// Rewrites the references of one resource; conditional references are resolved in `tx`, to
// resources the Bundle's sender may see (`gate`).
class ReferenceRewriter {
 public:
  ReferenceRewriter(store::Transaction& tx, const search::Registry& registry,
                    const terminology::Terminology* terminology, ResourceGate* gate,
                    const std::map<std::string, std::string>& moved)
      : tx_(tx), registry_(registry), terminology_(terminology), gate_(gate), moved_(moved) {}

  fhir::Result<void> Rewrite(fhir::Resource& resource, size_t index) {
    resource_ = &resource;
    index_ = index;
    return Visit(resource.root());
  }

 private:
  fhir::Result<void> Visit(fhir::Node* node) {
    const std::string_view type =
        node->type != nullptr ? std::string_view(node->type->name) : std::string_view();
    if (node->has_value) {
      if (type == "uri" || type == "url") {
        if (auto it = moved_.find(std::string(node->value)); it != moved_.end()) {
          SetValue(*resource_, node, it->second);
        }
      } else if (type == "xhtml" && !moved_.empty()) {
        RewriteNarrative(node);
      }
    }
    if (type == "Reference") {
      if (fhir::Node* reference = node->Child("reference"); reference && reference->has_value) {
        if (auto done = RewriteReference(reference); !done.ok()) return done;
      }
    }
    for (fhir::Node* child : node->children) {
      if (auto done = Visit(child); !done.ok()) return done;
    }
    return {};
  }

  fhir::Result<void> RewriteReference(fhir::Node* reference) {
    const std::string value(reference->value);
    if (auto it = moved_.find(value); it != moved_.end()) {
      SetValue(*resource_, reference, it->second);
      return {};
    }
    const size_t question = value.find('?');
    if (question == std::string::npos || value.starts_with('#') || value.find("://") < question) {
      return {};
    }
    // A conditional reference: "Patient?_id=abc" must select exactly one resource.
    const std::string type = value.substr(0, question);
    auto criteria = ParseQueryString(std::string_view(value).substr(question + 1));
    if (!criteria.ok()) return Located(index_, "", criteria.error());
    auto matches = FindMatches(tx_, registry_, type, *criteria, value, terminology_);
    if (!matches.ok()) return Located(index_, "", matches.error());
    if (matches->size() != 1) {
      const bool none = matches->empty();
      return fhir::Error(
          412,
          fhir::Issue{.type = none ? fhir::IssueType::kNotFound : fhir::IssueType::kMultipleMatches,
                      .message_id = none ? "rest.unresolved-reference" : "rest.multiple-matches",
                      .text = "The conditional reference " + value +
                              (none ? " matches no resource" : " matches several resources"),
                      .expression = Location(index_) + ".resource"});
    }
    // The id of a resource the sender may not see must not end up in what the sender wrote:
    // the reference is refused as a direct read of its target would be.
    if (auto screened = ScreenMatch(gate_, tx_, matches->front(), value); !screened.ok()) {
      std::vector<fhir::Issue> issues = screened.error().issues();
      for (fhir::Issue& issue : issues) issue.expression = Location(index_) + ".resource";
      return fhir::Error(screened.error().http_status(), std::move(issues));
    }
    SetValue(*resource_, reference, type + "/" + matches->front().id);
    return {};
  }

  // Links in the narrative that point at an entry's fullUrl point at its new identity too.
  void RewriteNarrative(fhir::Node* node) {
    std::string text(node->value);
    bool changed = false;
    for (const auto& [from, to] : moved_) {
      const std::string quoted = "\"" + from + "\"";
      for (size_t at = text.find(quoted); at != std::string::npos; at = text.find(quoted, at)) {
        text.replace(at + 1, from.size(), to);
        at += to.size() + 2;
        changed = true;
      }
    }
    if (changed) SetValue(*resource_, node, text);
  }

  store::Transaction& tx_;
  const search::Registry& registry_;
  const terminology::Terminology* terminology_;
  ResourceGate* gate_;
  const std::map<std::string, std::string>& moved_;
  fhir::Resource* resource_ = nullptr;
  size_t index_ = 0;
};

}  // namespace

fhir::Result<FhirResponse> BundleHandler::Handle(const FhirRequest& request,
                                                 const PathParams&) const {
  auto body = RequireBody(request, "Bundle");
  if (!body.ok()) return std::move(body).error();
  const std::string_view type = Value((*body)->root(), "type");
  if (type != "transaction" && type != "batch") {
    return fhir::Error::Invalid("rest.bundle-type",
                                "Only Bundles of type transaction or batch can be processed here",
                                "Bundle.type");
  }
  auto entries = ReadEntries(request);
  if (!entries.ok()) return std::move(entries).error();
  return type == "batch" ? Batch(request, *entries) : Transaction(request, *entries);
}

fhir::Result<std::vector<BundleHandler::Entry>> BundleHandler::ReadEntries(
    const FhirRequest& request) const {
  std::vector<Entry> entries;
  const std::vector<const fhir::Node*> nodes = request.body->root()->Children("entry");
  entries.reserve(nodes.size());
  const std::string base = request.base_url + "/";
  for (size_t i = 0; i < nodes.size(); ++i) {
    const fhir::Node* node = nodes[i];
    const fhir::Node* req = node->Child("request");
    if (req == nullptr) return BadEntry(i, "Each entry needs a request", ".request");
    Entry entry;
    entry.index = i;
    entry.full_url = Value(node, "fullUrl");
    entry.request.method = ParseMethod(Value(req, "method"));
    std::string_view url = Value(req, "url");
    if (url.starts_with(base)) url.remove_prefix(base.size());
    if (url.empty() || url.find("://") != std::string_view::npos) {
      return BadEntry(i, "request.url must be a URL relative to this server's base",
                      ".request.url");
    }
    const size_t question = url.find('?');
    entry.request.path = std::string(url.substr(0, question));
    if (entry.request.path.empty() || entry.request.path.starts_with('/')) {
      return BadEntry(i, "request.url must name a resource type: Bundles cannot be nested",
                      ".request.url");
    }
    if (question != std::string_view::npos) {
      auto query = ParseQueryString(url.substr(question + 1));
      if (!query.ok()) return Located(i, "", query.error());
      entry.request.query = std::move(query).value();
    }
    for (const auto& [element, header] : {std::pair{"ifMatch", "if-match"},
                                          {"ifNoneMatch", "if-none-match"},
                                          {"ifNoneExist", "if-none-exist"}}) {
      if (std::string_view value = Value(req, element); !value.empty()) {
        entry.request.headers.emplace_back(header, std::string(value));
      }
    }
    if (std::string_view since = Value(req, "ifModifiedSince"); !since.empty()) {
      auto range = search::ParseTimeRange(since, Location(i) + ".request.ifModifiedSince");
      if (!range.ok()) return std::move(range).error();
      entry.request.headers.emplace_back("if-modified-since", FormatHttpDate(range->begin));
    }
    if (const fhir::Node* resource = node->Child("resource")) {
      fhir::Resource copy;
      fhir::Node* root = copy.CopyNode(*resource);
      root->def = nullptr;  // a top-level resource now, no longer Bundle.entry.resource
      copy.set_root(root);
      entry.request.body = std::move(copy);
      entry.request.content_type = "application/fhir+json";
    }
    entry.request.base_url = request.base_url;
    entry.request.registry = request.registry;
    entry.request.principal = request.principal;
    entry.request.peer_address = request.peer_address;
    entries.push_back(std::move(entry));
  }
  return entries;
}

fhir::Result<FhirResponse> BundleHandler::Batch(const FhirRequest& request,
                                                std::vector<Entry>& entries) const {
  for (Entry& entry : entries) {
    entry.answer = router_.Route(entry.request);
    if (entry.answer->ok()) {
      if (auto parsed = MaterializeBody(&entry.answer->value(), defs_); !parsed.ok()) {
        entry.answer = std::move(parsed).error();
      }
    }
  }
  return Answer(request, "batch-response", entries);
}

fhir::Result<FhirResponse> BundleHandler::Transaction(const FhirRequest& request,
                                                      std::vector<Entry>& entries) const {
  // Two entries that write one resource would make the outcome depend on their order.
  std::map<std::string, size_t> written;
  for (const Entry& entry : entries) {
    const Method method = entry.request.method;
    if (method != Method::kPut && method != Method::kDelete && method != Method::kPatch) continue;
    if (entry.request.path.find('/') == std::string::npos) continue;
    auto [it, fresh] = written.emplace(entry.request.path, entry.index);
    if (!fresh) {
      return fhir::Error::Invalid("rest.duplicate-entry",
                                  "Entries " + std::to_string(it->second) + " and " +
                                      std::to_string(entry.index) + " both change " +
                                      entry.request.path,
                                  Location(entry.index) + ".request.url");
    }
  }
  std::vector<Entry> done;
  auto committed =
      InTransaction(store_, request, [&](store::Transaction& tx) -> fhir::Result<void> {
        // A retried attempt starts again from the entries as received.
        done.clear();
        for (const Entry& entry : entries) {
          Entry copy;
          copy.index = entry.index;
          copy.full_url = entry.full_url;
          copy.request.method = entry.request.method;
          copy.request.path = entry.request.path;
          copy.request.query = entry.request.query;
          copy.request.headers = entry.request.headers;
          copy.request.content_type = entry.request.content_type;
          copy.request.base_url = entry.request.base_url;
          copy.request.registry = entry.request.registry;
          copy.request.principal = entry.request.principal;
          copy.request.peer_address = entry.request.peer_address;
          if (entry.request.body) copy.request.body = entry.request.body->Clone();
          done.push_back(std::move(copy));
        }
        return RunTransaction(tx, done, request.gate);
      });
  if (!committed.ok()) return std::move(committed).error();
  return Answer(request, "transaction-response", done);
}

fhir::Result<void> BundleHandler::RunTransaction(store::Transaction& tx,
                                                 std::vector<Entry>& entries,
                                                 ResourceGate* gate) const {
  // Every entry carries the Bundle's registry.
  const search::Registry& registry =
      entries.empty() ? registry_ : RegistryFor(entries.front().request, registry_);
  // 0. Lock every criterion the entries select by, all in one order: Bundles that share some of
  //    them take turns rather than deadlock, and each lookup below stays true until commit.
  std::vector<std::string> keys;
  for (const Entry& entry : entries) {
    const FhirRequest& request = entry.request;
    const std::string_view type = TypeOf(request);
    if (request.method == Method::kPost && request.path == type) {
      auto criteria = IfNoneExistCriteria(request);
      if (criteria.ok() && *criteria) keys.push_back(CriteriaKey(type, **criteria));
    } else if (request.method != Method::kGet && request.path == type && !request.query.empty()) {
      keys.push_back(CriteriaKey(type, ConditionalCriteria(request)));
    }
    if (request.body) ConditionalReferenceCriteria(request.body->root(), &keys);
  }
  if (auto locked = tx.LockCriteria(keys); !locked.ok()) return locked;
  // Then every resource an entry names by id (an update, patch or delete of Type/id), in one
  // statement and one order: their reads and writes below need no statements of their own, and
  // Bundles naming some of the same resources take turns rather than deadlock.
  std::vector<store::ResourceKey> named;
  for (const Entry& entry : entries) {
    const FhirRequest& request = entry.request;
    if (request.method != Method::kPut && request.method != Method::kPatch &&
        request.method != Method::kDelete) {
      continue;
    }
    const std::string_view type = TypeOf(request);
    const std::string_view id =
        std::string_view(request.path).substr(std::min(request.path.size(), type.size() + 1));
    if (id.empty() || id.find('/') != std::string_view::npos) continue;
    named.push_back({std::string(type), std::string(id)});
  }
  if (auto locked = tx.LockResources(named); !locked.ok()) return locked;

  // 1. Settle the identity of every created or conditionally updated resource.
  std::map<std::string, std::string> moved;  // fullUrl -> "Type/id"
  for (Entry& entry : entries) {
    FhirRequest& request = entry.request;
    const std::string type(TypeOf(request));
    std::string target;
    if (request.method == Method::kPost && request.path == type) {
      auto criteria = IfNoneExistCriteria(request);
      if (!criteria.ok()) return Located(entry.index, type, criteria.error());
      if (*criteria) {
        auto matches = FindMatches(tx, registry, type, **criteria, "If-None-Exist", terminology_);
        if (!matches.ok()) return Located(entry.index, type, matches.error());
        if (matches->size() > 1) return Located(entry.index, type, MultipleMatches("ifNoneExist"));
        if (matches->size() == 1) entry.matched = std::move(matches->front());
      }
      if (entry.matched) {
        target = type + "/" + entry.matched->id;
      } else {
        request.assigned_id = ids_.NewId();
        target = type + "/" + request.assigned_id;
        // Settled here, before any write: the create need not search again.
        std::erase_if(request.headers, [](const auto& h) { return h.first == "if-none-exist"; });
      }
    } else if (request.method == Method::kPut && request.path == type) {
      // A conditional update becomes an update of the resource its criteria settle on now,
      // before any entry has written.
      auto matches = FindMatches(tx, registry, type, ConditionalCriteria(request), "request.url",
                                 terminology_);
      if (!matches.ok()) return Located(entry.index, type, matches.error());
      if (matches->size() > 1) return Located(entry.index, type, MultipleMatches("request.url"));
      if (!request.body || request.body->resource_type() != type) {
        return BadEntry(entry.index, "A conditional update needs a " + type + " resource",
                        ".resource");
      }
      fhir::Resource& body = *request.body;
      const fhir::Node* body_id = body.root()->Child("id");
      std::string id;
      if (matches->size() == 1) {
        // Withheld matches are refused here, by the criteria: the id must not reach the answer.
        if (auto screened = ScreenMatch(gate, tx, matches->front(), "request.url");
            !screened.ok()) {
          return Located(entry.index, type, screened.error());
        }
        id = matches->front().id;
        if (body_id != nullptr && body_id->has_value && body_id->value != id) {
          return fhir::Error::Invalid(
              "rest.id-mismatch", "The resource id differs from the id of the matching resource",
              Location(entry.index) + ".resource.id");
        }
      } else if (body_id != nullptr && body_id->has_value) {
        id = std::string(body_id->value);
        auto existing = tx.Read(type, id);
        if (existing.ok() && !existing->deleted) {
          return Located(
              entry.index, type,
              fhir::Error::Conflict("rest.conditional-conflict",
                                    type + "/" + id + " exists but does not match the criteria"));
        }
      } else {
        id = ids_.NewId();
      }
      if (body_id == nullptr || !body_id->has_value) body.AddPrimitive(body.root(), "id", id);
      request.path = type + "/" + id;
      request.query.clear();
      target = request.path;
    } else if (request.method == Method::kPatch && request.path == type) {
      // A conditional patch becomes a patch of the one resource its criteria select now.
      auto matches = FindMatches(tx, registry, type, ConditionalCriteria(request), "request.url",
                                 terminology_);
      if (!matches.ok()) return Located(entry.index, type, matches.error());
      if (matches->size() > 1) return Located(entry.index, type, MultipleMatches("request.url"));
      if (matches->empty()) {
        return Located(entry.index, type,
                       fhir::Error(404, fhir::Issue{.type = fhir::IssueType::kNotFound,
                                                    .message_id = "rest.no-match",
                                                    .text = "No " + type + " matches the criteria",
                                                    .expression = "request.url"}));
      }
      if (auto screened = ScreenMatch(gate, tx, matches->front(), "request.url"); !screened.ok()) {
        return Located(entry.index, type, screened.error());
      }
      request.path = type + "/" + matches->front().id;
      request.query.clear();
      target = request.path;
    } else if (request.method == Method::kPut) {
      target = request.path;
    }
    if (!entry.full_url.empty() && !target.empty()) moved.emplace(entry.full_url, target);
  }

  // 2. Point references at the settled identities.
  ReferenceRewriter rewriter(tx, registry, terminology_, gate, moved);
  for (Entry& entry : entries) {
    if (!entry.request.body) continue;
    if (auto done = rewriter.Rewrite(*entry.request.body, entry.index); !done.ok()) return done;
  }

  // 3. Run the entries in the order the specification gives.
  std::vector<Entry*> order;
  for (Entry& entry : entries) order.push_back(&entry);
  std::stable_sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    return Rank(a->request.method) < Rank(b->request.method);
  });
  for (Entry* entry : order) {
    if (entry->matched) {
      // A conditional create that found its resource: answered as a create would be, unwritten,
      // when the Bundle's sender may see it.
      if (auto screened = ScreenMatch(gate, tx, *entry->matched, "ifNoneExist"); !screened.ok()) {
        return Located(entry->index, TypeOf(entry->request), screened.error());
      }
      FhirResponse existing;
      existing.headers.emplace_back("location", entry->request.base_url + "/" +
                                                    entry->matched->type + "/" +
                                                    entry->matched->id + "/_history/" +
                                                    std::to_string(entry->matched->stamp.version));
      AddVersionHeaders(entry->matched->stamp, &existing);
      auto parsed = fhir::json::Parse(entry->matched->json, defs_);
      if (parsed.ok()) existing.body = std::move(parsed).value();
      entry->answer = std::move(existing);
      continue;
    }
    entry->request.transaction = &tx;
    fhir::Result<FhirResponse> answer = router_.Route(entry->request);
    if (answer.ok()) {
      if (auto parsed = MaterializeBody(&answer.value(), defs_); !parsed.ok()) return parsed;
    }
    if (!answer.ok()) return Located(entry->index, TypeOf(entry->request), answer.error());
    entry->answer = std::move(answer);
  }
  return {};
}

fhir::Result<FhirResponse> BundleHandler::Answer(const FhirRequest& request, std::string_view type,
                                                 const std::vector<Entry>& entries) const {
  const bool minimal = ParseReturnPreference(request) == ReturnPreference::kMinimal;
  std::string json = R"({"resourceType":"Bundle","type":")" + std::string(type) + "\"";
  for (const Entry& entry : entries) {
    json += entry.index == 0 ? R"(,"entry":[{)" : ",{";
    const fhir::Result<FhirResponse>& answer = *entry.answer;
    if (!answer.ok()) {
      json += R"("response":{"status":)" + JsonString(StatusText(answer.error().http_status())) +
              R"(,"outcome":)" +
              fhir::json::Write(fhir::ToOperationOutcome(
                  Located(entry.index, TypeOf(entry.request), answer.error()), defs_)) +
              "}}";
      continue;
    }
    std::string_view location = Header(*answer, "location");
    std::string resource_url(location.substr(0, location.find("/_history/")));
    const bool has_resource = answer->body && answer->body->resource_type() != "OperationOutcome";
    if (resource_url.empty() && has_resource) {
      resource_url = request.base_url + "/" + std::string(answer->body->resource_type()) + "/" +
                     std::string(Value(answer->body->root(), "id"));
    }
    if (!resource_url.empty()) json += R"("fullUrl":)" + JsonString(resource_url) + ",";
    if (has_resource && !minimal) json += R"("resource":)" + fhir::json::Write(*answer->body) + ",";
    json += R"("response":{"status":)" + JsonString(StatusText(answer->status));
    if (!location.empty()) json += R"(,"location":)" + JsonString(location);
    if (std::string_view etag = Header(*answer, "etag"); !etag.empty()) {
      json += R"(,"etag":)" + JsonString(etag);
    }
    if (has_resource) {
      const fhir::Node* meta = answer->body->root()->Child("meta");
      if (std::string_view updated = meta ? Value(meta, "lastUpdated") : ""; !updated.empty()) {
        json += R"(,"lastModified":)" + JsonString(updated);
      }
    }
    if (answer->body && !has_resource) {
      json += R"(,"outcome":)" + fhir::json::Write(*answer->body);
    }
    json += "}}";
  }
  if (!entries.empty()) json += "]";
  json += "}";
  return BundleResponse(std::move(json));
}

}  // namespace server::rest
