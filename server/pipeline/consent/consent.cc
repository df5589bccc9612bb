#include "server/pipeline/consent/consent.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <functional>
#include <string_view>
#include <utility>

namespace server::consent {
namespace {

using fhir::Node;

constexpr std::string_view kScopeSystem = "http://terminology.hl7.org/CodeSystem/consentscope";
constexpr std::string_view kActionSystem = "http://terminology.hl7.org/CodeSystem/consentaction";
constexpr std::string_view kActReasonSystem = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
constexpr std::string_view kObligationSystem =
    "http://terminology.hl7.org/CodeSystem/v3-ObligationPolicy";
constexpr std::string_view kConfidentialitySystem =
    "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";
constexpr std::string_view kResourceTypesSystem = "http://hl7.org/fhir/resource-types";
constexpr std::string_view kLoincSystem = "http://loinc.org";
constexpr std::string_view kActCodeSystem = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
constexpr std::string_view kObservationValueSystem =
    "http://terminology.hl7.org/CodeSystem/v3-ObservationValue";
constexpr std::string_view kRedacted = "REDACTED";

constexpr std::array<std::string_view, 4> kPrivacyLoinc = {"59284-0", "57016-8", "57017-6",
                                                           "64292-6"};
constexpr std::array<std::string_view, 5> kPrivacyActCodes = {"IDSCL", "INFA", "INFAO", "INFASO",
                                                              "INFR"};

std::string_view Value(const Node* node) {
  return node != nullptr && node->has_value ? node->value : std::string_view();
}

std::string_view ChildValue(const Node* node, std::string_view name) {
  return node != nullptr ? Value(node->Child(name)) : std::string_view();
}

template <size_t N>
bool OneOf(std::string_view value, const std::array<std::string_view, N>& values) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

bool Contains(const std::vector<std::string>& values, std::string_view value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// The codings of a CodeableConcept.
std::vector<const Node*> Codings(const Node* codeable) {
  return codeable != nullptr ? codeable->Children("coding") : std::vector<const Node*>{};
}

// "Type/id" of a reference text: a base URL and a "/_history/n" suffix are dropped; references
// that are not of that shape (contained "#x", "urn:uuid:...") are kept as they are.
std::string NormalizeReference(std::string_view reference) {
  if (const size_t history = reference.find("/_history/"); history != std::string_view::npos) {
    reference = reference.substr(0, history);
  }
  const size_t last = reference.rfind('/');
  if (last == std::string_view::npos || last == 0) return std::string(reference);
  const size_t before = reference.rfind('/', last - 1);
  if (before == std::string_view::npos) return std::string(reference);
  return std::string(reference.substr(before + 1));
}

// The normalized reference of a Reference node, or "" when it has none.
std::string ReferenceOf(const Node* reference) {
  const std::string_view text = ChildValue(reference, "reference");
  return text.empty() ? std::string() : NormalizeReference(text);
}

// --- Dates -------------------------------------------------------------------------------------

struct Instants {
  int64_t first = 0;  // first instant, epoch milliseconds
  int64_t end = 0;    // first instant after the value's precision
};

bool ReadInt(std::string_view text, size_t pos, size_t digits, int& out) {
  if (pos + digits > text.size()) return false;
  const char* begin = text.data() + pos;
  const auto [ptr, ec] = std::from_chars(begin, begin + digits, out);
  return ec == std::errc() && ptr == begin + digits;
}

int64_t DaysFromCivil(int year, unsigned month, unsigned day) {
  using namespace std::chrono;
  return sys_days(std::chrono::year(year) / std::chrono::month(month) / std::chrono::day(day))
      .time_since_epoch()
      .count();
}

// The instants a FHIR date, dateTime or instant covers: "2015" covers the year, "2015-02-04" the
// day, "2015-02-04T14:34:28.123+10:00" one millisecond (one second without a fraction). Values
// without a time are taken in UTC. nullopt for text that is none of these forms.
std::optional<Instants> ParseInstants(std::string_view text) {
  constexpr int64_t kDay = 86'400'000;
  int year = 0;
  int month = 1;
  int day = 1;
  if (!ReadInt(text, 0, 4, year)) return std::nullopt;
  if (text.size() == 4) {
    return Instants{DaysFromCivil(year, 1, 1) * kDay, DaysFromCivil(year + 1, 1, 1) * kDay};
  }
  if (text[4] != '-' || !ReadInt(text, 5, 2, month) || month < 1 || month > 12) {
    return std::nullopt;
  }
  if (text.size() == 7) {
    const int64_t first = DaysFromCivil(year, month, 1) * kDay;
    const int64_t end = month == 12 ? DaysFromCivil(year + 1, 1, 1) * kDay
                                    : DaysFromCivil(year, month + 1, 1) * kDay;
    return Instants{first, end};
  }
  if (text[7] != '-' || !ReadInt(text, 8, 2, day) || day < 1 || day > 31) return std::nullopt;
  const int64_t midnight = DaysFromCivil(year, month, day) * kDay;
  if (text.size() == 10) return Instants{midnight, midnight + kDay};

  int hour = 0;
  int minute = 0;
  int second = 0;
  if (text[10] != 'T' || !ReadInt(text, 11, 2, hour) || text.size() < 16 || text[13] != ':' ||
      !ReadInt(text, 14, 2, minute)) {
    return std::nullopt;
  }
  size_t pos = 16;
  if (pos < text.size() && text[pos] == ':') {
    if (!ReadInt(text, pos + 1, 2, second)) return std::nullopt;
    pos += 3;
  }
  int64_t millis = 0;
  int64_t span = 1000;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int64_t scale = 100;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      millis += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    span = 1;
  }
  int64_t offset_minutes = 0;
  if (pos < text.size()) {
    if (text[pos] == 'Z') {
      ++pos;
    } else if (text[pos] == '+' || text[pos] == '-') {
      int offset_hours = 0;
      int offset_mins = 0;
      if (!ReadInt(text, pos + 1, 2, offset_hours) || pos + 3 >= text.size() ||
          text[pos + 3] != ':' || !ReadInt(text, pos + 4, 2, offset_mins)) {
        return std::nullopt;
      }
      offset_minutes = (offset_hours * 60 + offset_mins) * (text[pos] == '-' ? -1 : 1);
      pos += 6;
    }
  }
  if (pos != text.size()) return std::nullopt;
  const int64_t first =
      midnight + ((hour * 60 + minute - offset_minutes) * 60 + second) * 1000 + millis;
  return Instants{first, first + span};
}

// True when the Period node contains `instant` (epoch milliseconds): from its start's first
// instant, up to the end of its end's precision. A bound that cannot be read fails closed
// (contains nothing).
bool PeriodContains(const Node* period, int64_t instant) {
  if (const Node* start = period->Child("start"); start != nullptr && start->has_value) {
    const std::optional<Instants> bound = ParseInstants(start->value);
    if (!bound || instant < bound->first) return false;
  }
  if (const Node* end = period->Child("end"); end != nullptr && end->has_value) {
    const std::optional<Instants> bound = ParseInstants(end->value);
    if (!bound || instant >= bound->end) return false;
  }
  return true;
}

// The first instant of the resource's clinically relevant date (see the header), or nullopt.
std::optional<int64_t> RelevantDate(const Node& root) {
  auto date_of = [](const Node* node) -> std::optional<int64_t> {
    if (node == nullptr || node->type == nullptr) return std::nullopt;
    const std::string_view type = node->type->name;
    std::string_view text;
    if (type == "Period") {
      text = ChildValue(node, "start");
    } else if (type == "dateTime" || type == "instant" || type == "date") {
      text = Value(node);
    }
    if (text.empty()) return std::nullopt;
    const std::optional<Instants> instants = ParseInstants(text);
    return instants ? std::optional<int64_t>(instants->first) : std::nullopt;
  };
  for (std::string_view name :
       {"effective", "issued", "authoredOn", "recordedDate", "onset", "period"}) {
    if (std::optional<int64_t> date = date_of(root.Child(name))) return date;
  }
  if (const Node* meta = root.Child("meta")) return date_of(meta->Child("lastUpdated"));
  return std::nullopt;
}

int64_t EpochMillis(std::chrono::system_clock::time_point now) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
}

// --- Consents ----------------------------------------------------------------------------------

bool IsPrivacyConsent(const Node& root) {
  const Node* scope = root.Child("scope");
  const std::vector<const Node*> scope_codings = Codings(scope);
  if (!scope_codings.empty()) {
    return std::any_of(scope_codings.begin(), scope_codings.end(), [](const Node* coding) {
      return ChildValue(coding, "system") == kScopeSystem &&
             ChildValue(coding, "code") == "patient-privacy";
    });
  }
  for (const Node* category : root.Children("category")) {
    for (const Node* coding : Codings(category)) {
      const std::string_view system = ChildValue(coding, "system");
      const std::string_view code = ChildValue(coding, "code");
      if ((system == kLoincSystem && OneOf(code, kPrivacyLoinc)) ||
          (system == kActCodeSystem && OneOf(code, kPrivacyActCodes))) {
        return true;
      }
    }
  }
  return false;
}

// What the request is, precomputed once per Decide.
struct Request {
  const Accessor& accessor;
  std::vector<std::string> accessor_references;  // normalized
  const fhir::Resource& resource;
  std::string resource_reference;  // "Type/id", or "" without an id
  Operation operation;
  int64_t now = 0;
};

bool ActorMatches(const Node* actor, const Request& request) {
  const std::string reference = ReferenceOf(actor->Child("reference"));
  if (!reference.empty() && Contains(request.accessor_references, reference)) return true;
  for (const Node* coding : Codings(actor->Child("role"))) {
    std::string role(ChildValue(coding, "system"));
    role += '|';
    role += ChildValue(coding, "code");
    if (Contains(request.accessor.roles, role)) return true;
  }
  return false;
}

bool PurposeMatches(const Node* coding, const Request& request) {
  const std::string_view system = ChildValue(coding, "system");
  if (!system.empty() && system != kActReasonSystem) return false;
  const std::string_view code = ChildValue(coding, "code");
  return !code.empty() && Contains(request.accessor.purposes, code);
}

bool ClassMatches(const Node* coding, const Request& request) {
  const std::string_view system = ChildValue(coding, "system");
  const std::string_view code = ChildValue(coding, "code");
  if (code.empty()) return false;
  if (system == kResourceTypesSystem) return code == request.resource.resource_type();
  if (!system.empty()) return false;
  if (code == request.resource.resource_type()) return true;
  const Node* meta = request.resource.root()->Child("meta");
  if (meta == nullptr) return false;
  for (const Node* profile : meta->Children("profile")) {
    if (Value(profile) == code) return true;
  }
  return false;
}

bool CodeMatches(const Node* codeable, const Request& request) {
  const Node* code_element = request.resource.root()->Child("code");
  if (code_element == nullptr) return false;
  for (const Node* wanted : Codings(codeable)) {
    const std::string_view system = ChildValue(wanted, "system");
    const std::string_view code = ChildValue(wanted, "code");
    if (code.empty()) continue;
    if (code_element->is_primitive()) {
      if (system.empty() && Value(code_element) == code) return true;
      continue;
    }
    for (const Node* have : Codings(code_element)) {
      if (ChildValue(have, "code") == code &&
          (system.empty() || ChildValue(have, "system") == system)) {
        return true;
      }
    }
  }
  return false;
}

// The rank of a v3-Confidentiality code (U < L < M < N < R < V), or -1.
int ConfidentialityRank(std::string_view code) {
  constexpr std::array<std::string_view, 6> kOrder = {"U", "L", "M", "N", "R", "V"};
  const auto it = std::find(kOrder.begin(), kOrder.end(), code);
  return it == kOrder.end() ? -1 : static_cast<int>(it - kOrder.begin());
}

bool SecurityLabelMatches(const Node* label, const Request& request) {
  const Node* meta = request.resource.root()->Child("meta");
  if (meta == nullptr) return false;
  const std::string_view system = ChildValue(label, "system");
  const std::string_view code = ChildValue(label, "code");
  const int ceiling = system == kConfidentialitySystem ? ConfidentialityRank(code) : -1;
  for (const Node* security : meta->Children("security")) {
    if (ChildValue(security, "system") != system) continue;
    const std::string_view have = ChildValue(security, "code");
    if (have == code) return true;
    if (ceiling >= 0) {
      const int rank = ConfidentialityRank(have);
      if (rank >= 0 && rank <= ceiling) return true;
    }
  }
  return false;
}

// Every Reference.reference in the subtree, normalized.
void CollectReferences(const Node& node, std::vector<std::string>& out) {
  if (node.type != nullptr && node.type->name == "Reference") {
    if (std::string reference = ReferenceOf(&node); !reference.empty()) {
      out.push_back(std::move(reference));
    }
  }
  for (const Node* child : node.children) CollectReferences(*child, out);
}

bool DataMatches(const Node* data, const Request& request) {
  const std::string reference = ReferenceOf(data->Child("reference"));
  if (reference.empty()) return false;
  const std::string_view meaning = ChildValue(data, "meaning");
  if (reference == request.resource_reference && meaning != "authoredby") return true;
  std::vector<std::string> references;
  const Node& root = *request.resource.root();
  if (meaning == "dependents") {
    CollectReferences(root, references);
  } else if (meaning == "authoredby") {
    for (std::string_view name : {"author", "recorder", "asserter", "requester", "performer"}) {
      for (const Node* element : root.Children(name)) {
        const Node* target = element->type != nullptr && element->type->name == "Reference"
                                 ? element
                                 : element->Child("actor");
        if (std::string found = ReferenceOf(target); !found.empty()) {
          references.push_back(std::move(found));
        }
      }
    }
  }
  return Contains(references, reference);
}

bool ActionMatches(const Node* codeable, const Request& request) {
  for (const Node* coding : Codings(codeable)) {
    const std::string_view system = ChildValue(coding, "system");
    if (!system.empty() && system != kActionSystem) continue;
    const std::string_view code = ChildValue(coding, "code");
    if (request.operation == Operation::kRead &&
        (code == "access" || code == "use" || code == "disclose")) {
      return true;
    }
    if (request.operation == Operation::kWrite && (code == "correct" || code == "collect")) {
      return true;
    }
  }
  return false;
}

// True when every criterion `provision` has matches the request (each repeating criterion by any
// of its entries).
bool ProvisionMatches(const Node& provision, const Request& request) {
  auto any = [&provision, &request](std::string_view name, auto&& matches) {
    const std::vector<const Node*> entries = provision.Children(name);
    return entries.empty() || std::any_of(entries.begin(), entries.end(), [&](const Node* entry) {
             return matches(entry, request);
           });
  };
  if (const Node* period = provision.Child("period");
      period != nullptr && !PeriodContains(period, request.now)) {
    return false;
  }
  if (const Node* data_period = provision.Child("dataPeriod"); data_period != nullptr) {
    const std::optional<int64_t> date = RelevantDate(*request.resource.root());
    if (!date || !PeriodContains(data_period, *date)) return false;
  }
  const bool labels_match = [&] {
    bool has_criterion = false;
    for (const Node* label : provision.Children("securityLabel")) {
      if (ChildValue(label, "system") == kObligationSystem) continue;
      has_criterion = true;
      if (SecurityLabelMatches(label, request)) return true;
    }
    return !has_criterion;
  }();
  return labels_match && any("actor", ActorMatches) && any("purpose", PurposeMatches) &&
         any("class", ClassMatches) && any("code", CodeMatches) && any("data", DataMatches) &&
         any("action", ActionMatches);
}

bool HasMaskObligation(const Node& provision) {
  for (const Node* label : provision.Children("securityLabel")) {
    const std::string_view code = ChildValue(label, "code");
    if (ChildValue(label, "system") == kObligationSystem && (code == "MASK" || code == "REDACT")) {
      return true;
    }
  }
  return false;
}

// Restrictiveness, for ties: deny over mask over permit.
int Rank(Verdict verdict) {
  switch (verdict) {
    case Verdict::kDeny:
      return 2;
    case Verdict::kMask:
      return 1;
    case Verdict::kPermit:
      return 0;
  }
  return 2;
}

struct Outcome {
  Verdict verdict = Verdict::kDeny;
  int depth = 0;
  std::string path;  // FHIRPath of the deciding provision within the Consent
};

// The outcome of the deepest matching typed provision under (and including) `provision`, or
// nullopt when the provision does not match or nothing typed matches.
std::optional<Outcome> Evaluate(const Node& provision, std::string_view inherited_type, int depth,
                                const std::string& path, const Request& request) {
  if (!ProvisionMatches(provision, request)) return std::nullopt;
  std::string_view type = ChildValue(&provision, "type");
  if (type.empty()) type = inherited_type;

  std::optional<Outcome> best;
  const std::vector<const Node*> nested = provision.Children("provision");
  for (size_t i = 0; i < nested.size(); ++i) {
    const std::string child_path = path + ".provision[" + std::to_string(i) + "]";
    std::optional<Outcome> outcome = Evaluate(*nested[i], type, depth + 1, child_path, request);
    if (!outcome) continue;
    if (!best || outcome->depth > best->depth ||
        (outcome->depth == best->depth && Rank(outcome->verdict) > Rank(best->verdict))) {
      best = std::move(outcome);
    }
  }
  if (best) return best;
  if (type == "permit") return Outcome{Verdict::kPermit, depth, path};
  if (type == "deny") {
    return Outcome{HasMaskObligation(provision) ? Verdict::kMask : Verdict::kDeny, depth, path};
  }
  return std::nullopt;
}

std::string_view VerdictWord(Verdict verdict) {
  switch (verdict) {
    case Verdict::kPermit:
      return "permitted";
    case Verdict::kDeny:
      return "denied";
    case Verdict::kMask:
      return "masked";
  }
  return "denied";
}

bool IsBreakGlass(const Accessor& accessor) {
  return Contains(accessor.purposes, "BTG") || Contains(accessor.purposes, "ETREAT");
}

}  // namespace

Accessor AccessorFor(const rest::Principal& principal, std::vector<std::string> roles) {
  Accessor accessor;
  if (!principal.fhir_user.empty()) accessor.references.push_back(principal.fhir_user);
  if (!principal.organization.empty()) accessor.references.push_back(principal.organization);
  accessor.roles = std::move(roles);
  for (const std::string& purpose : principal.purpose_of_use) {
    if (!purpose.empty()) accessor.purposes.push_back(purpose);
  }
  return accessor;
}

ConsentPolicy ConsentPolicy::From(std::vector<fhir::Resource> consents,
                                  DefaultPolicy default_policy) {
  std::vector<Entry> kept;
  for (fhir::Resource& consent : consents) {
    if (consent.resource_type() != "Consent") continue;
    const Node& root = *consent.root();
    if (ChildValue(&root, "status") != "active" || !IsPrivacyConsent(root)) continue;
    Entry entry;
    entry.reference = "Consent/" + std::string(ChildValue(&root, "id"));
    if (const std::string_view date = ChildValue(&root, "dateTime"); !date.empty()) {
      if (const std::optional<Instants> instants = ParseInstants(date)) {
        entry.date_ms = instants->first;
      }
    }
    entry.consent = std::move(consent);
    kept.push_back(std::move(entry));
  }
  return ConsentPolicy(std::move(kept), default_policy);
}

Decision ConsentPolicy::Decide(const Accessor& accessor, const fhir::Resource& resource,
                               Operation operation,
                               std::chrono::system_clock::time_point now) const {
  Request request{accessor, {}, resource, {}, operation, EpochMillis(now)};
  for (const std::string& reference : accessor.references) {
    request.accessor_references.push_back(NormalizeReference(reference));
  }
  if (const std::string_view id =
          resource.empty() ? std::string_view() : ChildValue(resource.root(), "id");
      !id.empty()) {
    request.resource_reference = std::string(resource.resource_type()) + "/" + std::string(id);
  }

  Decision decision;
  bool decided = false;
  std::optional<int64_t> decided_date;
  if (!resource.empty()) {
    for (const Entry& entry : consents_) {
      const Node* provision = entry.consent.root()->Child("provision");
      if (provision == nullptr) continue;
      std::optional<Outcome> outcome =
          Evaluate(*provision, std::string_view(), 0, "Consent.provision", request);
      if (!outcome) continue;
      const bool newer = !decided || entry.date_ms > decided_date;
      const bool tie_and_stricter = decided && entry.date_ms == decided_date &&
                                    Rank(outcome->verdict) > Rank(decision.verdict);
      if (!newer && !tie_and_stricter) continue;
      decided = true;
      decided_date = entry.date_ms;
      decision.verdict = outcome->verdict;
      decision.consent = entry.reference;
      decision.reason = std::string(VerdictWord(outcome->verdict)) + " by " + entry.reference +
                        " " + outcome->path;
    }
  }
  if (!decided) {
    decision.verdict =
        default_policy_ == DefaultPolicy::kOptOut ? Verdict::kPermit : Verdict::kDeny;
    decision.reason = default_policy_ == DefaultPolicy::kOptOut
                          ? "permitted by the opt-out default: no Consent applies"
                          : "denied by the opt-in default: no Consent permits";
  }
  if (decision.verdict != Verdict::kPermit && IsBreakGlass(accessor)) {
    decision.verdict = Verdict::kPermit;
    decision.break_glass = true;
    decision.reason = "break-glass (" + decision.reason + ")";
  }
  return decision;
}

fhir::Result<fhir::Resource> Mask(const fhir::Resource& resource) {
  if (resource.empty()) {
    return fhir::Error::Internal("consent.mask-empty", "There is no resource to mask");
  }
  const Node& source = *resource.root();
  fhir::Resource masked;
  Node* root = masked.NewNode(source.def, source.type);
  masked.set_root(root);
  for (const Node* child : source.children) {
    const std::string_view name = child->name();
    if (name == "id" || name == "status" || name == "subject" || name == "patient") {
      fhir::Resource::InsertChild(root, masked.CopyNode(*child));
    } else if (name == "meta") {
      Node* meta = masked.NewNode(child->def, child->type);
      for (const Node* element : child->children) {
        if (element->name() != "profile") meta->children.push_back(masked.CopyNode(*element));
      }
      fhir::Resource::InsertChild(root, meta);
    }
  }
  Node* meta = root->Child("meta");
  if (meta == nullptr) meta = masked.AddChild(root, "meta");
  if (meta == nullptr) {
    return fhir::Error::Internal("consent.mask-no-meta", "The resource type has no meta element");
  }
  const std::vector<const Node*> labels = meta->Children("security");
  const bool labelled = std::any_of(labels.begin(), labels.end(), [](const Node* label) {
    return ChildValue(label, "system") == kObservationValueSystem &&
           ChildValue(label, "code") == kRedacted;
  });
  if (!labelled) {
    Node* label = masked.AddChild(meta, "security");
    masked.AddPrimitive(label, "system", kObservationValueSystem);
    masked.AddPrimitive(label, "code", kRedacted);
    masked.AddPrimitive(label, "display", "redacted");
  }
  return masked;
}

std::optional<std::string> ConsentPatient(const fhir::Resource& consent) {
  if (consent.resource_type() != "Consent") return std::nullopt;
  const std::string reference = ReferenceOf(consent.root()->Child("patient"));
  constexpr std::string_view kPrefix = "Patient/";
  if (reference.size() <= kPrefix.size() || !reference.starts_with(kPrefix)) return std::nullopt;
  return reference.substr(kPrefix.size());
}

}  // namespace server::consent
