#include "server/rest/search_params.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <iterator>
#include <memory>
#include <optional>

#include "server/search/criteria.h"
#include "server/terminology/expansion.h"

namespace server::rest {

namespace {

using std::chrono::microseconds;

fhir::Error InvalidValue(std::string_view parameter, std::string text) {
  return fhir::Error::Invalid("search.invalid-value", std::move(text), std::string(parameter));
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

fhir::Result<std::string> Decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      const int high = i + 2 < text.size() ? HexDigit(text[i + 1]) : -1;
      const int low = high >= 0 ? HexDigit(text[i + 2]) : -1;
      if (low < 0) {
        return InvalidValue(text, "A '%' in the query must start an escape such as %2C");
      }
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

fhir::Result<store::TimeInterval> LastUpdatedInterval(std::string_view value,
                                                      store::Timestamp now) {
  constexpr std::string_view kName = "_lastUpdated";
  std::string_view prefix = "eq";
  if (value.size() >= 2 && value[0] >= 'a' && value[0] <= 'z') {
    prefix = value.substr(0, 2);
    value.remove_prefix(2);
  }
  auto range = search::ParseTimeRange(value, kName);
  if (!range.ok()) return std::move(range).error();
  store::TimeInterval interval;
  if (prefix == "eq" || prefix == "ne") {
    interval = {range->begin, range->end, prefix == "ne"};
  } else if (prefix == "gt" || prefix == "sa") {
    interval.from = range->end;
  } else if (prefix == "ge") {
    interval.from = range->begin;
  } else if (prefix == "lt" || prefix == "eb") {
    interval.before = range->begin;
  } else if (prefix == "le") {
    interval.before = range->end;
  } else if (prefix == "ap") {
    // Approximately: widened on each side by a tenth of its distance from now.
    auto slack = [&](store::Timestamp t) { return (t > now ? t - now : now - t) / 10; };
    interval = {range->begin - slack(range->begin), range->end + slack(range->end)};
  } else {
    return InvalidValue(kName, "Unknown prefix '" + std::string(prefix) +
                                   "'; use eq, ne, gt, lt, ge, le, sa, eb or ap");
  }
  return interval;
}

void Append(std::string* applied, std::string_view name, std::string_view value) {
  if (!applied->empty()) *applied += '&';
  *applied += name;
  *applied += '=';
  *applied += PercentEncode(value);
}

// A cursor as the store writes them: an id, or hex.
bool IsCursor(std::string_view value) {
  constexpr size_t kMaxCursor = 8192;
  if (value.empty() || value.size() > kMaxCursor) return false;
  return std::all_of(value.begin(), value.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.';
  });
}

// "a, b, c", or with another separator.
std::string Join(const std::vector<std::string>& names, const char* separator = ", ") {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : separator) + name;
  return out;
}

fhir::Error UnknownParameter(std::string_view name, std::string_view type) {
  return fhir::Error::Invalid("search.unknown-parameter",
                              "The search parameter " + std::string(name) +
                                  " is not supported on " + std::string(type) + " by this server",
                              std::string(name));
}

// _sort=a,-b: `_id`, `_lastUpdated` or indexed parameters of the type.
fhir::Result<std::vector<store::SortKey>> ParseSort(const search::Registry& registry,
                                                    std::string_view type, std::string_view value) {
  std::vector<store::SortKey> keys;
  for (const std::string& item : search::SplitAlternatives(value)) {
    std::string_view code = item;
    store::SortKey key;
    if (code.starts_with('-')) {
      key.descending = true;
      code.remove_prefix(1);
    }
    key.param = std::string(code);
    if (code != "_id" && code != "_lastUpdated") {
      const search::SearchParam* param = registry.Find(type, code);
      const auto kind =
          param != nullptr && param->expression ? search::IndexKindOf(param->type()) : std::nullopt;
      if (!kind || *kind == store::IndexKind::kComposite) {
        return fhir::Error::Invalid(
            "search.invalid-sort",
            "_sort: " + std::string(type) + " cannot be sorted by '" + std::string(code) + "'",
            "_sort");
      }
      key.kind = *kind;
      for (const search::SearchParam* part : param->union_of) key.union_of.push_back(part->code());
    }
    keys.push_back(std::move(key));
  }
  return keys;
}

// _include=Type:param[:target] (or Type:*, *); _revinclude likewise; :iterate on either.
// `searched`: the types searched; empty for every type.
fhir::Result<IncludeSpec> ParseInclude(const search::Registry& registry,
                                       const std::vector<std::string>& searched,
                                       std::string_view name, std::string_view value) {
  IncludeSpec spec;
  spec.reverse = name.starts_with("_revinclude");
  spec.iterate = name.ends_with(":iterate");
  const std::string parameter(name);
  auto invalid = [&](std::string why) { return InvalidValue(parameter, std::move(why)); };
  if (value == "*") {
    if (spec.reverse) return invalid("_revinclude names the referring type: Type:* or Type:param");
    return spec;
  }
  const std::vector<std::string> parts = search::SplitEscaped(value, ':');
  if (parts.size() < 2 || parts.size() > 3) {
    return invalid(parameter + " takes Type:parameter or Type:parameter:targetType");
  }
  const fhir::model::Definitions& defs = registry.definitions();
  if (defs.FindResource(parts[0]) == nullptr) return invalid("Unknown resource type " + parts[0]);
  spec.source_type = parts[0];
  if (!spec.iterate && !spec.reverse && !searched.empty() &&
      std::find(searched.begin(), searched.end(), spec.source_type) == searched.end()) {
    return invalid("_include must start with " +
                   (searched.size() == 1 ? "the searched type " + searched.front()
                                         : "one of the searched types " + Join(searched)) +
                   "; use _include:iterate for included resources");
  }
  if (parts[1] != "*") {
    const search::SearchParam* param = registry.Find(spec.source_type, parts[1]);
    if (param == nullptr || param->type() != search::ParamType::kReference) {
      return invalid(parts[1] + " is not a reference parameter of " + spec.source_type);
    }
    spec.param = parts[1];
  }
  if (parts.size() == 3) {
    if (defs.FindResource(parts[2]) == nullptr) return invalid("Unknown resource type " + parts[2]);
    spec.target_type = parts[2];
  }
  return spec;
}

// The filter parameters of a search: _id, _lastUpdated, indexed parameters with modifiers,
// chains through references and _has, each added to a query as it applies to that query's type.
class Filters {
 public:
  Filters(const search::Registry& registry, store::Timestamp now, terminology::Source* terminology)
      : registry_(registry), now_(now), terminology_(terminology) {}

  // Adds the condition of `name`=`value` to `query`; false when the name is not a parameter of
  // query.type.
  fhir::Result<bool> Add(store::SearchQuery& query, std::string_view name, std::string_view value,
                         int depth) const {
    constexpr int kMaxDepth = 4;
    if (depth > kMaxDepth) {
      return InvalidValue(
          name, "Chains and _has nest at most " + std::to_string(kMaxDepth) + " levels deep");
    }
    if (name == "_id") return Ids(query, value);
    if (name == "_lastUpdated") return LastUpdated(query, value);
    if (name.starts_with("_has:")) return Has(query, name, value, depth);
    const size_t dot = name.find('.');
    const std::string_view head = name.substr(0, dot);
    const size_t colon = head.find(':');
    const search::SearchParam* param = registry_.Find(query.type, head.substr(0, colon));
    if (param == nullptr) return false;
    const std::string_view modifier =
        colon == std::string_view::npos ? std::string_view() : head.substr(colon + 1);
    if (dot != std::string_view::npos) {
      return Chain(query, *param, modifier, name.substr(dot + 1), value, depth);
    }
    if (name.starts_with("_id:") || name.starts_with("_lastUpdated:")) {
      return InvalidValue(name, "The modifier of " + std::string(name) + " is not supported");
    }
    auto condition = search::ParseCriterion(registry_.definitions(), *param, modifier, value, now_,
                                            terminology_);
    if (!condition.ok()) return std::move(condition).error();
    if (modifier == "in" || modifier == "not-in" || modifier == "below" || modifier == "above") {
      // Each code is a test of the statement: the budget is the search's, not one parameter's.
      for (const store::RowTest& test : condition->any) {
        const auto* token = std::get_if<store::TokenTest>(&test);
        if (token != nullptr && token->system && !token->system->empty()) ++codes_;
      }
      if (codes_ > terminology::kMaxCodes) {
        return fhir::Error::Invalid("search.value-set-too-large",
                                    "The value sets and codes of this search have more than " +
                                        std::to_string(terminology::kMaxCodes) +
                                        " codes in all, more than a search can test",
                                    std::string(name));
      }
    }
    query.conditions.push_back(std::move(condition).value());
    return true;
  }

 private:
  static fhir::Result<bool> Ids(store::SearchQuery& query, std::string_view value) {
    std::vector<std::string> ids;
    for (const std::string& alternative : search::SplitAlternatives(value)) {
      std::string id = search::Unescape(alternative);
      if (id.empty()) return InvalidValue("_id", "_id needs a resource id");
      ids.push_back(std::move(id));
    }
    std::sort(ids.begin(), ids.end());
    if (query.ids) {
      // A repeated _id: both must hold, so only ids in both lists can match.
      std::vector<std::string> both;
      std::set_intersection(query.ids->begin(), query.ids->end(), ids.begin(), ids.end(),
                            std::back_inserter(both));
      ids = std::move(both);
    }
    query.ids = std::move(ids);
    return true;
  }

  fhir::Result<bool> LastUpdated(store::SearchQuery& query, std::string_view value) const {
    std::vector<store::TimeInterval> alternatives;
    for (const std::string& alternative : search::SplitAlternatives(value)) {
      auto interval = LastUpdatedInterval(search::Unescape(alternative), now_);
      if (!interval.ok()) return std::move(interval).error();
      alternatives.push_back(*interval);
    }
    query.last_updated.push_back(std::move(alternatives));
    return true;
  }

  // ref[:Type].rest=value: the reference refers to a resource (of Type, or of any target type
  // that knows `rest`) for which rest=value holds.
  fhir::Result<bool> Chain(store::SearchQuery& query, const search::SearchParam& param,
                           std::string_view modifier, std::string_view rest, std::string_view value,
                           int depth) const {
    const std::string& code = param.code();
    if (param.type() != search::ParamType::kReference) {
      return InvalidValue(code, code + " is not a reference parameter, so it cannot be chained");
    }
    std::vector<std::string> targets;
    if (!modifier.empty()) {
      if (registry_.definitions().FindResource(modifier) == nullptr) {
        return InvalidValue(code, "Unknown resource type " + std::string(modifier));
      }
      targets.emplace_back(modifier);
    } else {
      targets = param.definition->target;
    }
    store::IndexCondition condition{.kind = store::IndexKind::kReference, .param = code};
    for (const std::string& target : targets) {
      auto inner = std::make_shared<store::SearchQuery>();
      inner->type = target;
      auto known = Add(*inner, rest, value, depth + 1);
      if (!known.ok()) return std::move(known).error();
      if (*known) condition.any.push_back(store::ReferenceTest{.target = std::move(inner)});
    }
    if (condition.any.empty()) {
      return InvalidValue(code, "No resource type that " + code + " refers to has a parameter " +
                                    std::string(rest));
    }
    query.conditions.push_back(std::move(condition));
    return true;
  }

  // _has:Type:ref:rest=value: some Type whose `ref` refers to the resource has rest=value.
  fhir::Result<bool> Has(store::SearchQuery& query, std::string_view name, std::string_view value,
                         int depth) const {
    const std::string parameter(name);
    std::string_view spec = name.substr(5);
    const size_t first = spec.find(':');
    const size_t second = first == std::string_view::npos ? first : spec.find(':', first + 1);
    if (second == std::string_view::npos || second + 1 >= spec.size()) {
      return InvalidValue(parameter, "_has takes _has:Type:reference:parameter=value");
    }
    const std::string source(spec.substr(0, first));
    const std::string reference(spec.substr(first + 1, second - first - 1));
    const std::string_view rest = spec.substr(second + 1);
    if (registry_.definitions().FindResource(source) == nullptr) {
      return InvalidValue(parameter, "Unknown resource type " + source);
    }
    const search::SearchParam* param = registry_.Find(source, reference);
    if (param == nullptr || param->type() != search::ParamType::kReference) {
      return InvalidValue(parameter, reference + " is not a reference parameter of " + source);
    }
    auto inner = std::make_shared<store::SearchQuery>();
    inner->type = source;
    auto known = Add(*inner, rest, value, depth + 1);
    if (!known.ok()) return std::move(known).error();
    if (!*known) return UnknownParameter(rest, source);
    query.has.push_back({.source_type = source, .param = reference, .source = std::move(inner)});
    return true;
  }

  const search::Registry& registry_;
  store::Timestamp now_;
  terminology::Source* terminology_;
  // Codes of :in, :not-in, :below and :above so far, chains and _has included.
  mutable size_t codes_ = 0;
};

}  // namespace

fhir::Result<QueryParams> ParseQueryString(std::string_view text) {
  if (text.starts_with('?')) text.remove_prefix(1);
  QueryParams params;
  while (!text.empty()) {
    const size_t amp = text.find('&');
    std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    auto name = Decode(pair.substr(0, eq));
    if (!name.ok()) return std::move(name).error();
    auto value = Decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!value.ok()) return std::move(value).error();
    params.emplace_back(std::move(name).value(), std::move(value).value());
  }
  return params;
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
  }
  return out;
}

bool LenientHandling(const FhirRequest& request) {
  auto prefer = request.Header("prefer");
  return prefer && prefer->find("handling=lenient") != std::string_view::npos;
}

namespace {

// What a search covers: one type (type level), or at system level the types of _type, every
// type when `types` is empty.
struct Scope {
  bool system = false;
  std::vector<std::string> types;
};

// The type whose definitions stand for those of every type: any concrete one.
std::string AnyType(const search::Registry& registry) {
  for (const fhir::model::TypeDef* type : registry.definitions().resources()) {
    if (!type->is_abstract) return type->name;
  }
  return "";
}

std::string ScopeName(const Scope& scope) {
  if (!scope.system) return scope.types.front();
  return scope.types.empty() ? "every resource type" : Join(scope.types);
}

// Adds a filter parameter of a system-level search to `query`; false when it is not a parameter
// of every searched type. Parameters of every type are the query's own; others each type's.
fhir::Result<bool> AddSystemFilter(const search::Registry& registry, const Filters& filters,
                                   const Scope& scope, store::SearchQuery& query,
                                   std::string_view name, std::string_view value) {
  if (name == "_id" || name == "_lastUpdated" || name.starts_with("_has:")) {
    return filters.Add(query, name, value, 0);
  }
  const std::string_view code = name.substr(0, name.find_first_of(":."));
  const std::string first = scope.types.empty() ? AnyType(registry) : scope.types.front();
  const search::SearchParam* param = registry.Find(first, code);
  if (param == nullptr) return false;
  if (IsSystemParameter(*param)) {
    store::SearchQuery one{.type = first};
    auto known = filters.Add(one, name, value, 0);
    if (!known.ok() || !*known) return known;
    for (store::IndexCondition& condition : one.conditions) {
      query.conditions.push_back(std::move(condition));
    }
    return true;
  }
  if (scope.types.empty()) return false;
  for (const std::string& type : scope.types) {
    if (registry.Find(type, code) == nullptr) return false;
  }
  for (store::SearchQuery& typed : query.types) {
    auto known = filters.Add(typed, name, value, 0);
    if (!known.ok() || !*known) return known;
  }
  return true;
}

// _sort at system level: the keys must mean one kind of value for every searched type.
fhir::Result<std::vector<store::SortKey>> ParseSystemSort(const search::Registry& registry,
                                                          const Scope& scope,
                                                          std::string_view value) {
  auto refuse = [&](std::string_view code) {
    return fhir::Error::Invalid("search.invalid-sort",
                                "_sort: a search of " + ScopeName(scope) +
                                    " cannot be sorted by '" + std::string(code) + "'",
                                "_sort");
  };
  if (scope.types.empty()) {
    const std::string any = AnyType(registry);
    for (const std::string& item : search::SplitAlternatives(value)) {
      const std::string_view code = std::string_view(item).substr(item.starts_with('-') ? 1 : 0);
      if (code == "_id" || code == "_lastUpdated") continue;
      const search::SearchParam* param = registry.Find(any, code);
      if (param == nullptr || !IsSystemParameter(*param)) return refuse(code);
    }
    return ParseSort(registry, any, value);
  }
  std::optional<std::vector<store::SortKey>> keys;
  for (const std::string& type : scope.types) {
    auto typed = ParseSort(registry, type, value);
    if (!typed.ok()) return std::move(typed).error();
    if (!keys) {
      keys = std::move(typed).value();
      continue;
    }
    for (size_t i = 0; i < keys->size(); ++i) {
      if ((*keys)[i].kind != (*typed)[i].kind) return refuse((*keys)[i].param);
    }
  }
  return std::move(keys).value();
}

fhir::Result<ParsedSearch> Parse(const search::Registry& registry, const Scope& scope,
                                 const QueryParams& params, bool lenient, store::Timestamp now,
                                 terminology::Source* terminology) {
  ParsedSearch parsed;
  if (scope.system) {
    for (const std::string& type : scope.types) parsed.query.types.push_back({.type = type});
  } else {
    parsed.query.type = scope.types.front();
  }
  const Filters filters(registry, now, terminology);
  for (const auto& [name, value] : params) {
    if (name == "_count") {
      int count = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), count);
      if (value.empty() || ec != std::errc() || end != value.data() + value.size() || count < 1 ||
          count > 1000) {
        return InvalidValue(name, "_count must be an integer from 1 to 1000");
      }
      parsed.query.count = count;
    } else if (name == "_cursor") {
      if (!IsCursor(value)) return InvalidValue(name, "_cursor must be the value of a next link");
      parsed.query.after = value;
    } else if (name == "_sort") {
      auto sort = scope.system ? ParseSystemSort(registry, scope, value)
                               : ParseSort(registry, scope.types.front(), value);
      if (!sort.ok()) return std::move(sort).error();
      parsed.query.sort = std::move(sort).value();
      Append(&parsed.applied, name, value);
    } else if (name == "_include" || name == "_revinclude" || name == "_include:iterate" ||
               name == "_revinclude:iterate") {
      auto include = ParseInclude(registry, scope.types, name, value);
      if (!include.ok()) return std::move(include).error();
      parsed.includes.push_back(std::move(include).value());
      Append(&parsed.applied, name, value);
    } else if (name == "_total") {
      if (value == "none") {
        parsed.total = TotalMode::kNone;
      } else if (value == "estimate") {
        parsed.total = TotalMode::kEstimate;
      } else if (value == "accurate") {
        parsed.total = TotalMode::kAccurate;
      } else {
        return InvalidValue(name, "_total must be none, estimate or accurate");
      }
      Append(&parsed.applied, name, value);
    } else if (name == "_summary") {
      parsed.count_only = value == "count";
    } else if (name == "_format" || name == "_pretty" || name == "_elements" ||
               (scope.system && name == "_type")) {
      continue;
    } else {
      auto known = scope.system
                       ? AddSystemFilter(registry, filters, scope, parsed.query, name, value)
                       : filters.Add(parsed.query, name, value, 0);
      if (!known.ok()) return std::move(known).error();
      if (*known) {
        Append(&parsed.applied, name, value);
      } else if (lenient) {
        parsed.ignored.push_back(name);
      } else {
        return UnknownParameter(name, ScopeName(scope));
      }
    }
  }
  return parsed;
}

}  // namespace

fhir::Result<ParsedSearch> ParseSearch(const search::Registry& registry, std::string_view type,
                                       const QueryParams& params, bool lenient,
                                       store::Timestamp now, terminology::Source* terminology) {
  return Parse(registry, Scope{.types = {std::string(type)}}, params, lenient, now, terminology);
}

fhir::Result<ParsedSearch> ParseSystemSearch(const search::Registry& registry,
                                             const QueryParams& params, bool lenient,
                                             store::Timestamp now,
                                             terminology::Source* terminology) {
  Scope scope{.system = true};
  bool listed = false;
  for (const auto& [name, value] : params) {
    if (name != "_type") continue;
    std::vector<std::string> types;
    for (const std::string& alternative : search::SplitAlternatives(value)) {
      std::string type = search::Unescape(alternative);
      const fhir::model::TypeDef* def = registry.definitions().FindResource(type);
      if (def == nullptr || def->is_abstract) {
        return fhir::Error::Invalid("search.unknown-type",
                                    "_type: '" + type + "' is not a resource type of FHIR R4",
                                    "_type");
      }
      if (std::find(types.begin(), types.end(), type) == types.end()) {
        types.push_back(std::move(type));
      }
    }
    if (types.empty()) return InvalidValue("_type", "_type needs one or more resource types");
    if (listed) {
      // A repeated _type: both must hold, so only types in both lists are searched.
      std::erase_if(scope.types, [&](const std::string& type) {
        return std::find(types.begin(), types.end(), type) == types.end();
      });
    } else {
      scope.types = std::move(types);
      listed = true;
    }
  }
  if (listed && scope.types.empty()) {
    return InvalidValue("_type", "The repeated _type parameters have no type in common");
  }
  auto parsed = Parse(registry, scope, params, lenient, now, terminology);
  if (!parsed.ok() || !listed) return parsed;
  std::string applied;
  Append(&applied, "_type", Join(scope.types, ","));
  parsed->applied = applied + (parsed->applied.empty() ? "" : "&") + parsed->applied;
  return parsed;
}

bool IsSystemParameter(const search::SearchParam& param) {
  const std::vector<std::string>& base = param.definition->base;
  return std::find(base.begin(), base.end(), "Resource") != base.end();
}

std::vector<const search::SearchParam*> SystemParameters(const search::Registry& registry) {
  std::vector<const search::SearchParam*> out;
  for (const search::SearchParam* param : registry.ForType(AnyType(registry))) {
    if (IsSystemParameter(*param)) out.push_back(param);
  }
  return out;
}

}  // namespace server::rest
