#include "server/rest/search_params.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <optional>

#include "fhir/model/primitive.h"
#include "server/search/criteria.h"

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

fhir::Result<ParsedSearch> ParseSearch(const search::Registry& registry, std::string_view type,
                                       const QueryParams& params, bool lenient,
                                       store::Timestamp now) {
  ParsedSearch parsed;
  parsed.query.type = std::string(type);
  for (const auto& [name, value] : params) {
    if (name == "_id") {
      std::vector<std::string> ids;
      for (const std::string& alternative : search::SplitAlternatives(value)) {
        std::string id = search::Unescape(alternative);
        if (id.empty()) return InvalidValue(name, "_id needs a resource id");
        ids.push_back(std::move(id));
      }
      std::sort(ids.begin(), ids.end());
      if (parsed.query.ids) {
        // A repeated _id: both must hold, so only ids in both lists can match.
        std::vector<std::string> both;
        std::set_intersection(parsed.query.ids->begin(), parsed.query.ids->end(), ids.begin(),
                              ids.end(), std::back_inserter(both));
        ids = std::move(both);
      }
      parsed.query.ids = std::move(ids);
      Append(&parsed.applied, name, value);
    } else if (name == "_lastUpdated") {
      std::vector<store::TimeInterval> alternatives;
      for (const std::string& alternative : search::SplitAlternatives(value)) {
        auto interval = LastUpdatedInterval(search::Unescape(alternative), now);
        if (!interval.ok()) return std::move(interval).error();
        alternatives.push_back(*interval);
      }
      parsed.query.last_updated.push_back(std::move(alternatives));
      Append(&parsed.applied, name, value);
    } else if (name == "_count") {
      int count = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), count);
      if (value.empty() || ec != std::errc() || end != value.data() + value.size() || count < 1 ||
          count > 1000) {
        return InvalidValue(name, "_count must be an integer from 1 to 1000");
      }
      parsed.query.count = count;
    } else if (name == "_cursor") {
      if (!fhir::model::IsValidPrimitive(fhir::model::PrimitiveKind::kId, value)) {
        return InvalidValue(name, "_cursor must be the value of a next link");
      }
      parsed.query.after = value;
    } else if (name == "_format" || name == "_pretty" || name == "_summary" ||
               name == "_elements") {
      continue;
    } else if (name.find(':') != std::string::npos &&
               (name.starts_with("_id:") || name.starts_with("_lastUpdated:"))) {
      return InvalidValue(name, "The modifier of " + name + " is not supported");
    } else if (const size_t colon = name.find(':');
               const search::SearchParam* param =
                   name.find('.') == std::string::npos
                       ? registry.Find(type, std::string_view(name).substr(0, colon))
                       : nullptr) {
      const std::string_view modifier = colon == std::string::npos
                                            ? std::string_view()
                                            : std::string_view(name).substr(colon + 1);
      auto condition = search::ParseCriterion(registry.definitions(), *param, modifier, value, now);
      if (!condition.ok()) return std::move(condition).error();
      parsed.query.conditions.push_back(std::move(condition).value());
      Append(&parsed.applied, name, value);
    } else if (lenient) {
      parsed.ignored.push_back(name);
    } else {
      return fhir::Error::Invalid("search.unknown-parameter",
                                  "The search parameter " + name + " is not supported on " +
                                      std::string(type) + " by this server",
                                  name);
    }
  }
  return parsed;
}

}  // namespace server::rest
