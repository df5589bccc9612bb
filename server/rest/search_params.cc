#include "server/rest/search_params.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <optional>

#include "fhir/model/primitive.h"

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

// Reads exactly `width` digits at `*at`; nullopt otherwise.
std::optional<int> Digits(std::string_view text, size_t* at, size_t width) {
  if (*at + width > text.size()) return std::nullopt;
  int value = 0;
  for (size_t i = 0; i < width; ++i) {
    const char c = text[*at + i];
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  *at += width;
  return value;
}

bool Expect(std::string_view text, size_t* at, char c) {
  if (*at >= text.size() || text[*at] != c) return false;
  ++*at;
  return true;
}

// The ranges a date value can denote, most significant first.
enum class Precision { kYear, kMonth, kDay, kMinute, kSecond, kFraction };

std::optional<TimeRange> ParseRange(std::string_view text) {
  using namespace std::chrono;
  size_t at = 0;
  auto year = Digits(text, &at, 4);
  if (!year) return std::nullopt;
  int month = 1;
  int day = 1;
  Precision precision = Precision::kYear;
  if (Expect(text, &at, '-')) {
    auto m = Digits(text, &at, 2);
    if (!m || *m < 1 || *m > 12) return std::nullopt;
    month = *m;
    precision = Precision::kMonth;
    if (Expect(text, &at, '-')) {
      auto d = Digits(text, &at, 2);
      if (!d) return std::nullopt;
      day = *d;
      precision = Precision::kDay;
    }
  }
  const year_month_day date{std::chrono::year(*year), std::chrono::month(month),
                            std::chrono::day(day)};
  if (!date.ok()) return std::nullopt;
  sys_time<microseconds> begin = sys_days(date);
  long long fraction_unit = 1'000'000;
  if (precision == Precision::kDay && Expect(text, &at, 'T')) {
    auto hour = Digits(text, &at, 2);
    if (!hour || *hour > 23 || !Expect(text, &at, ':')) return std::nullopt;
    auto minute = Digits(text, &at, 2);
    if (!minute || *minute > 59) return std::nullopt;
    begin += hours(*hour) + minutes(*minute);
    precision = Precision::kMinute;
    if (Expect(text, &at, ':')) {
      auto second = Digits(text, &at, 2);
      if (!second || *second > 59) return std::nullopt;
      begin += seconds(*second);
      precision = Precision::kSecond;
      if (Expect(text, &at, '.')) {
        long long micros = 0;
        size_t digits = 0;
        while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
          // Digits past the store's microseconds cannot narrow the range further.
          if (digits < 6) {
            micros = micros * 10 + (text[at] - '0');
            fraction_unit /= 10;
          }
          ++digits;
          ++at;
        }
        if (digits == 0) return std::nullopt;
        begin += microseconds(micros * fraction_unit);
        precision = Precision::kFraction;
      }
    }
    if (Expect(text, &at, 'Z')) {
    } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
      const int sign = text[at] == '+' ? 1 : -1;
      ++at;
      auto oh = Digits(text, &at, 2);
      if (!oh || *oh > 14 || !Expect(text, &at, ':')) return std::nullopt;
      auto om = Digits(text, &at, 2);
      if (!om || *om > 59) return std::nullopt;
      // 08:30+08:00 is 00:30 UTC.
      begin -= sign * (hours(*oh) + minutes(*om));
    }
  }
  if (at != text.size()) return std::nullopt;
  sys_time<microseconds> end;
  switch (precision) {
    case Precision::kYear:
      end = sys_days(year_month_day{date.year() + years(1), January, std::chrono::day(1)});
      break;
    case Precision::kMonth:
      end = sys_days(year_month_day{date.year() / date.month() / 1} + months(1));
      break;
    case Precision::kDay:
      end = begin + days(1);
      break;
    case Precision::kMinute:
      end = begin + minutes(1);
      break;
    case Precision::kSecond:
      end = begin + seconds(1);
      break;
    case Precision::kFraction:
      end = begin + microseconds(fraction_unit);
      break;
  }
  return TimeRange{begin, end};
}

// Splits at commas not escaped with a backslash, unescaping "\,".
std::vector<std::string> SplitAlternatives(std::string_view value) {
  std::vector<std::string> out(1);
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 1 < value.size()) {
      out.back() += value[++i];
    } else if (value[i] == ',') {
      out.emplace_back();
    } else {
      out.back() += value[i];
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
  auto range = ParseTimeRange(value, kName);
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

fhir::Result<TimeRange> ParseTimeRange(std::string_view text, std::string_view parameter) {
  if (auto range = ParseRange(text)) return *range;
  return fhir::Error::Invalid("search.invalid-date",
                              "'" + std::string(text) +
                                  "' is not a FHIR date, dateTime or instant such as "
                                  "2024-03-01T08:30:00+08:00",
                              std::string(parameter));
}

bool LenientHandling(const FhirRequest& request) {
  auto prefer = request.Header("prefer");
  return prefer && prefer->find("handling=lenient") != std::string_view::npos;
}

fhir::Result<ParsedSearch> ParseSearch(std::string_view type, const QueryParams& params,
                                       bool lenient, store::Timestamp now) {
  ParsedSearch parsed;
  parsed.query.type = std::string(type);
  for (const auto& [name, value] : params) {
    if (name == "_id") {
      std::vector<std::string> ids;
      for (std::string& id : SplitAlternatives(value)) {
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
      for (const std::string& alternative : SplitAlternatives(value)) {
        auto interval = LastUpdatedInterval(alternative, now);
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
