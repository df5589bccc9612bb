#include "fhir/model/primitive.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace fhir::model {
namespace {

// The R4 size limit of string (and of the types derived from it).
constexpr size_t kMaxStringBytes = size_t{1024} * 1024;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// \s of the R4 regular expressions (Java/XML Schema): space, tab, LF, VT, FF, CR.
bool IsRegexSpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// A cursor over the text; each Take* consumes on success only.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  bool done() const { return pos_ == text_.size(); }
  bool Peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  bool Take(char c) {
    if (!Peek(c)) return false;
    ++pos_;
    return true;
  }
  bool Take(std::string_view s) {
    if (text_.substr(pos_).substr(0, s.size()) != s) return false;
    pos_ += s.size();
    return true;
  }
  // Exactly `n` digits, as a number.
  bool TakeDigits(int n, int* value) {
    if (pos_ + static_cast<size_t>(n) > text_.size()) return false;
    int v = 0;
    for (int i = 0; i < n; ++i) {
      char c = text_[pos_ + static_cast<size_t>(i)];
      if (!IsDigit(c)) return false;
      v = v * 10 + (c - '0');
    }
    pos_ += static_cast<size_t>(n);
    *value = v;
    return true;
  }
  // One or more digits; returns how many.
  size_t TakeDigitRun() {
    size_t start = pos_;
    while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
    return pos_ - start;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

bool IsLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

enum class DatePrecision { kYear, kMonth, kDay };

// YYYY, YYYY-MM or YYYY-MM-DD, with the year 0001-9999 and a day that exists in its month.
bool TakeDate(Scanner& s, DatePrecision* precision) {
  int year = 0;
  if (!s.TakeDigits(4, &year) || year == 0) return false;
  *precision = DatePrecision::kYear;
  if (!s.Take('-')) return true;
  int month = 0;
  if (!s.TakeDigits(2, &month) || month < 1 || month > 12) return false;
  *precision = DatePrecision::kMonth;
  if (!s.Take('-')) return true;
  int day = 0;
  if (!s.TakeDigits(2, &day) || day < 1 || day > DaysInMonth(year, month)) return false;
  *precision = DatePrecision::kDay;
  return true;
}

// hh:mm:ss(.fraction)?; second 60 is a leap second, which the R4 expressions allow.
bool TakeTime(Scanner& s) {
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (!s.TakeDigits(2, &hour) || hour > 23 || !s.Take(':')) return false;
  if (!s.TakeDigits(2, &minute) || minute > 59 || !s.Take(':')) return false;
  if (!s.TakeDigits(2, &second) || second > 60) return false;
  return !s.Take('.') || s.TakeDigitRun() > 0;
}

// Z, or +hh:mm / -hh:mm from -14:00 to +14:00.
bool TakeZone(Scanner& s) {
  if (s.Take('Z')) return true;
  if (!s.Take('+') && !s.Take('-')) return false;
  int hour = 0;
  int minute = 0;
  if (!s.TakeDigits(2, &hour) || !s.Take(':') || !s.TakeDigits(2, &minute)) return false;
  return hour < 14 ? minute <= 59 : hour == 14 && minute == 0;
}

bool IsDate(std::string_view text) {
  Scanner s(text);
  DatePrecision precision;
  return TakeDate(s, &precision) && s.done();
}

bool IsDateTime(std::string_view text) {
  Scanner s(text);
  DatePrecision precision;
  if (!TakeDate(s, &precision)) return false;
  if (s.done()) return true;
  // A time is allowed only after a full date, and then the zone is required.
  return precision == DatePrecision::kDay && s.Take('T') && TakeTime(s) && TakeZone(s) && s.done();
}

bool IsInstant(std::string_view text) {
  Scanner s(text);
  DatePrecision precision;
  return TakeDate(s, &precision) && precision == DatePrecision::kDay && s.Take('T') &&
         TakeTime(s) && TakeZone(s) && s.done();
}

bool IsTime(std::string_view text) {
  Scanner s(text);
  return TakeTime(s) && s.done();
}

// -?(0|[1-9][0-9]*) within [min, max]; `allow_minus` for integer.
bool IsInteger(std::string_view text, bool allow_minus, int64_t min, int64_t max) {
  size_t i = 0;
  bool negative = false;
  if (allow_minus && !text.empty() && text[0] == '-') {
    negative = true;
    i = 1;
  }
  std::string_view digits = text.substr(i);
  if (digits.empty() || digits.size() > 10) return false;
  if (digits.size() > 1 && digits[0] == '0') return false;
  int64_t value = 0;
  for (char c : digits) {
    if (!IsDigit(c)) return false;
    value = value * 10 + (c - '0');
  }
  if (negative) value = -value;
  return value >= min && value <= max;
}

// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, which is also the JSON number grammar.
bool IsDecimal(std::string_view text) {
  Scanner s(text);
  s.Take('-');
  if (!s.Take('0') && s.TakeDigitRun() == 0) return false;
  if (s.Take('.') && s.TakeDigitRun() == 0) return false;
  if (s.Take('e') || s.Take('E')) {
    if (!s.Take('+')) s.Take('-');
    if (s.TakeDigitRun() == 0) return false;
  }
  return s.done();
}

// Well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF) without C0
// control characters other than tab, LF and CR, which XML cannot carry.
bool IsCleanUtf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    // Eight bytes at a time while they are printable ASCII (no high bit, none below 0x20).
    while (end - p >= 8) {
      uint64_t word;
      std::memcpy(&word, p, sizeof word);
      constexpr uint64_t kHigh = 0x8080808080808080ull;
      constexpr uint64_t kSpaces = 0x2020202020202020ull;
      if (((word | ((word - kSpaces) & ~word)) & kHigh) != 0) break;
      p += 8;
    }
    if (p >= end) break;
    unsigned char c = *p;
    if (c < 0x80) {
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return false;
      ++p;
      continue;
    }
    int extra;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (end - p <= extra) return false;
    for (int i = 1; i <= extra; ++i) {
      if ((p[i] & 0xC0u) != 0x80u) return false;
      cp = (cp << 6) | (p[i] & 0x3Fu);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    p += extra + 1;
  }
  return true;
}

// [ \r\n\t\S]+ and at most 1 MiB: vertical tab and form feed are the only whitespace excluded.
bool IsString(std::string_view text) {
  return !text.empty() && text.size() <= kMaxStringBytes && IsCleanUtf8(text);
}

// [^\s]+(\s[^\s]+)*: tokens separated by single whitespace characters.
bool IsCode(std::string_view text) {
  if (!IsString(text) || IsRegexSpace(text.front()) || IsRegexSpace(text.back())) return false;
  for (size_t i = 1; i < text.size(); ++i) {
    if (IsRegexSpace(text[i]) && IsRegexSpace(text[i - 1])) return false;
  }
  return true;
}

// [A-Za-z0-9\-\.]{1,64}
bool IsId(std::string_view text) {
  return !text.empty() && text.size() <= 64 && std::ranges::all_of(text, [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || IsDigit(c) || c == '-' || c == '.';
  });
}

// \S+ (the R4 expression allows empty, but FHIR forbids empty values).
bool IsUri(std::string_view text) {
  return !text.empty() && std::ranges::none_of(text, IsRegexSpace) && IsCleanUtf8(text);
}

// urn:oid:[0-2](\.(0|[1-9][0-9]*))+
bool IsOid(std::string_view text) {
  Scanner s(text);
  if (!s.Take("urn:oid:")) return false;
  if (!s.Take('0') && !s.Take('1') && !s.Take('2')) return false;
  int arcs = 0;
  while (s.Take('.')) {
    // An arc is 0 or has no leading zero.
    if (s.Take('0') ? s.TakeDigitRun() > 0 : s.TakeDigitRun() == 0) return false;
    ++arcs;
  }
  return arcs > 0 && s.done();
}

// urn:uuid: followed by 8-4-4-4-12 lowercase hexadecimal digits.
bool IsUuid(std::string_view text) {
  constexpr std::string_view kPrefix = "urn:uuid:";
  if (text.size() != kPrefix.size() + 36 || !text.starts_with(kPrefix)) return false;
  std::string_view uuid = text.substr(kPrefix.size());
  for (size_t i = 0; i < uuid.size(); ++i) {
    char c = uuid[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!IsDigit(c) && !(c >= 'a' && c <= 'f')) {
      return false;
    }
  }
  return true;
}

// Character classes of base64Binary, one table lookup per character: the data can be megabytes.
enum Base64Class : uint8_t { kB64Invalid, kB64Alphabet, kB64Pad, kB64Space };

constexpr std::array<uint8_t, 256> kBase64Classes = [] {
  std::array<uint8_t, 256> table{};
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = kB64Alphabet;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = kB64Alphabet;
  for (int c = '0'; c <= '9'; ++c) table[c] = kB64Alphabet;
  table['+'] = table['/'] = kB64Alphabet;
  table['='] = kB64Pad;
  table[' '] = table['\t'] = table['\n'] = table['\r'] = kB64Space;
  return table;
}();

// (\s*([0-9a-zA-Z\+/=]){4}\s*)+ with the padding rules of RFC 4648: '=' only at the end of the
// last quantum, at most two of them. Whitespace may separate quanta (as in MIME line breaks).
bool IsBase64(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  size_t count = 0;  // characters of the alphabet and padding seen
  size_t padding = 0;
  while (p < end) {
    // The common case: a run of alphabet characters.
    const auto* run = p;
    while (p < end && kBase64Classes[*p] == kB64Alphabet) ++p;
    if (p != run) {
      if (padding > 0) return false;
      count += static_cast<size_t>(p - run);
      continue;
    }
    switch (kBase64Classes[*p]) {
      case kB64Space:
        if (count % 4 != 0) return false;
        break;
      case kB64Pad:
        ++padding;
        if (padding > 2 || count % 4 < 2) return false;
        ++count;
        break;
      default:
        return false;
    }
    ++p;
  }
  return count > 0 && count % 4 == 0;
}

}  // namespace

JsonRepresentation JsonRepresentationOf(PrimitiveKind kind) {
  switch (kind) {
    case PrimitiveKind::kBoolean:
      return JsonRepresentation::kBoolean;
    case PrimitiveKind::kInteger:
    case PrimitiveKind::kPositiveInt:
    case PrimitiveKind::kUnsignedInt:
    case PrimitiveKind::kDecimal:
      return JsonRepresentation::kNumber;
    default:
      return JsonRepresentation::kString;
  }
}

bool IsValidPrimitive(PrimitiveKind kind, std::string_view text) {
  constexpr int64_t kInt32Max = INT32_MAX;
  switch (kind) {
    case PrimitiveKind::kBoolean:
      return text == "true" || text == "false";
    case PrimitiveKind::kInteger:
      return IsInteger(text, true, INT32_MIN, kInt32Max);
    case PrimitiveKind::kPositiveInt:
      return IsInteger(text, false, 1, kInt32Max);
    case PrimitiveKind::kUnsignedInt:
      return IsInteger(text, false, 0, kInt32Max);
    case PrimitiveKind::kDecimal:
      return IsDecimal(text);
    case PrimitiveKind::kString:
    case PrimitiveKind::kMarkdown:
      return IsString(text);
    case PrimitiveKind::kCode:
      return IsCode(text);
    case PrimitiveKind::kId:
      return IsId(text);
    case PrimitiveKind::kUri:
    case PrimitiveKind::kUrl:
    case PrimitiveKind::kCanonical:
      return IsUri(text);
    case PrimitiveKind::kOid:
      return IsOid(text);
    case PrimitiveKind::kUuid:
      return IsUuid(text);
    case PrimitiveKind::kBase64Binary:
      return IsBase64(text);
    case PrimitiveKind::kInstant:
      return IsInstant(text);
    case PrimitiveKind::kDate:
      return IsDate(text);
    case PrimitiveKind::kDateTime:
      return IsDateTime(text);
    case PrimitiveKind::kTime:
      return IsTime(text);
    case PrimitiveKind::kXhtml:
      return !text.empty();
    case PrimitiveKind::kNone:
      return false;
  }
  return false;
}

std::string_view DescribeRule(PrimitiveKind kind) {
  switch (kind) {
    case PrimitiveKind::kBoolean:
      return "true or false";
    case PrimitiveKind::kInteger:
      return "an integer in the 32-bit range";
    case PrimitiveKind::kPositiveInt:
      return "a positive integer in the 32-bit range";
    case PrimitiveKind::kUnsignedInt:
      return "a non-negative integer in the 32-bit range";
    case PrimitiveKind::kDecimal:
      return "a decimal number";
    case PrimitiveKind::kString:
      return "a non-empty string of at most 1 MiB without control characters";
    case PrimitiveKind::kMarkdown:
      return "non-empty markdown of at most 1 MiB without control characters";
    case PrimitiveKind::kCode:
      return "a code without leading, trailing or repeated whitespace";
    case PrimitiveKind::kId:
      return "an id of 1 to 64 letters, digits, '-' and '.'";
    case PrimitiveKind::kUri:
      return "a URI without whitespace";
    case PrimitiveKind::kUrl:
      return "a URL without whitespace";
    case PrimitiveKind::kCanonical:
      return "a canonical URL without whitespace";
    case PrimitiveKind::kOid:
      return "an OID of the form urn:oid:1.2.3";
    case PrimitiveKind::kUuid:
      return "a lowercase UUID of the form urn:uuid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    case PrimitiveKind::kBase64Binary:
      return "base64-encoded data with correct padding";
    case PrimitiveKind::kInstant:
      return "an instant with seconds and a time zone";
    case PrimitiveKind::kDate:
      return "a valid date (YYYY, YYYY-MM or YYYY-MM-DD)";
    case PrimitiveKind::kDateTime:
      return "a valid dateTime (a date, or a date and time with a time zone)";
    case PrimitiveKind::kTime:
      return "a valid time (hh:mm:ss)";
    case PrimitiveKind::kXhtml:
      return "non-empty XHTML";
    case PrimitiveKind::kNone:
      return "a primitive value";
  }
  return "a primitive value";
}

}  // namespace fhir::model
