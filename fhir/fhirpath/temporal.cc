#include "fhir/fhirpath/temporal.h"

namespace fhir::fhirpath {
namespace {

constexpr int64_t kMillisPerDay = 86400000;

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Days since 1970-01-01 of a civil date (proleptic Gregorian), after H. Hinnant.
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, int* m, int* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}
  bool done() const { return pos_ == text_.size(); }
  bool Peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  bool Accept(char c) {
    if (!Peek(c)) return false;
    ++pos_;
    return true;
  }
  // Exactly `n` digits.
  bool Digits(int n, int* out) {
    if (pos_ + n > text_.size()) return false;
    int v = 0;
    for (int i = 0; i < n; ++i) {
      char c = text_[pos_ + i];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    pos_ += n;
    *out = v;
    return true;
  }
  // One or more digits, the first three significant (a fraction of a second, in milliseconds).
  bool Fraction(int* millis) {
    int v = 0;
    int count = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      if (count < 3) v = v * 10 + (text_[pos_] - '0');
      ++count;
      ++pos_;
    }
    if (count == 0) return false;
    for (int i = count; i < 3; ++i) v *= 10;
    *millis = v;
    return true;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

bool ParseDatePart(Scanner& s, Temporal* t) {
  int v;
  if (!s.Digits(4, &v)) return false;
  t->year = v;
  t->precision = TemporalPrecision::kYear;
  if (!s.Accept('-')) return true;
  if (!s.Digits(2, &v) || v < 1 || v > 12) return false;
  t->month = static_cast<uint8_t>(v);
  t->precision = TemporalPrecision::kMonth;
  if (!s.Accept('-')) return true;
  if (!s.Digits(2, &v) || v < 1 || v > DaysInMonth(t->year, t->month)) return false;
  t->day = static_cast<uint8_t>(v);
  t->precision = TemporalPrecision::kDay;
  return true;
}

bool ParseTimePart(Scanner& s, Temporal* t) {
  int v;
  if (!s.Digits(2, &v) || v > 23) return false;
  t->hour = static_cast<uint8_t>(v);
  t->precision = TemporalPrecision::kHour;
  if (!s.Accept(':')) return true;
  if (!s.Digits(2, &v) || v > 59) return false;
  t->minute = static_cast<uint8_t>(v);
  t->precision = TemporalPrecision::kMinute;
  if (!s.Accept(':')) return true;
  if (!s.Digits(2, &v) || v > 60) return false;
  t->second = static_cast<uint8_t>(v > 59 ? 59 : v);
  t->precision = TemporalPrecision::kSecond;
  if (!s.Accept('.')) return true;
  if (!s.Fraction(&v)) return false;
  t->millisecond = static_cast<uint16_t>(v);
  t->precision = TemporalPrecision::kMillisecond;
  return true;
}

bool ParseOffset(Scanner& s, Temporal* t) {
  if (s.Accept('Z')) {
    t->has_offset = true;
    t->utc_z = true;
    return true;
  }
  bool negative = s.Peek('-');
  if (!s.Accept('+') && !s.Accept('-')) return true;
  int h, m;
  if (!s.Digits(2, &h) || h > 14 || !s.Accept(':') || !s.Digits(2, &m) || m > 59) return false;
  t->has_offset = true;
  t->offset_minutes = static_cast<int16_t>((negative ? -1 : 1) * (h * 60 + m));
  return true;
}

int64_t EpochMillis(const Temporal& t) {
  return DaysFromCivil(t.year, t.month, t.day) * kMillisPerDay +
         ((t.hour * 60 + t.minute) * 60 + t.second) * int64_t{1000} + t.millisecond;
}

void SetFromEpochMillis(int64_t ms, Temporal* t) {
  int64_t days = FloorDiv(ms, kMillisPerDay);
  int64_t rest = ms - days * kMillisPerDay;
  int64_t y;
  int m, d;
  CivilFromDays(days, &y, &m, &d);
  t->year = static_cast<int32_t>(y);
  t->month = static_cast<uint8_t>(m);
  t->day = static_cast<uint8_t>(d);
  t->hour = static_cast<uint8_t>(rest / 3600000);
  t->minute = static_cast<uint8_t>(rest / 60000 % 60);
  t->second = static_cast<uint8_t>(rest / 1000 % 60);
  t->millisecond = static_cast<uint16_t>(rest % 1000);
}

// Seconds and milliseconds are one field for comparison.
int Level(const Temporal& t) {
  return static_cast<int>(t.precision) > 6 ? 6 : static_cast<int>(t.precision);
}

int64_t Field(const Temporal& t, int level) {
  switch (level) {
    case 1:
      return t.year;
    case 2:
      return t.month;
    case 3:
      return t.day;
    case 4:
      return t.hour;
    case 5:
      return t.minute;
    default:
      return t.second * 1000 + t.millisecond;
  }
}

Temporal ToUtc(const Temporal& t) {
  Temporal u = t;
  if (!t.has_offset || t.offset_minutes == 0) return u;
  SetFromEpochMillis(EpochMillis(t) - t.offset_minutes * int64_t{60000}, &u);
  u.offset_minutes = 0;
  return u;
}

}  // namespace

std::optional<Temporal> Temporal::ParseDate(std::string_view text) {
  Temporal t;
  Scanner s(text);
  if (!ParseDatePart(s, &t) || !s.done()) return std::nullopt;
  return t;
}

std::optional<Temporal> Temporal::ParseDateTime(std::string_view text) {
  Temporal t;
  t.kind = TemporalKind::kDateTime;
  Scanner s(text);
  if (!ParseDatePart(s, &t)) return std::nullopt;
  if (s.Accept('T')) {
    if (t.precision != TemporalPrecision::kDay || !ParseTimePart(s, &t) || !ParseOffset(s, &t)) {
      return std::nullopt;
    }
  }
  if (!s.done()) return std::nullopt;
  return t;
}

std::optional<Temporal> Temporal::ParseTime(std::string_view text) {
  Temporal t;
  t.kind = TemporalKind::kTime;
  t.year = 0;
  Scanner s(text);
  if (!ParseTimePart(s, &t) || !s.done()) return std::nullopt;
  return t;
}

std::optional<Temporal> Temporal::ParseLiteral(std::string_view text) {
  if (!text.empty() && text[0] == 'T') return ParseTime(text.substr(1));
  Temporal t;
  Scanner s(text);
  if (!ParseDatePart(s, &t)) return std::nullopt;
  if (s.Accept('T')) {
    t.kind = TemporalKind::kDateTime;
    if (!s.done()) {
      if (t.precision != TemporalPrecision::kDay || !ParseTimePart(s, &t) || !ParseOffset(s, &t)) {
        return std::nullopt;
      }
    }
  }
  if (!s.done()) return std::nullopt;
  return t;
}

namespace {

// Appends n in decimal, zero-padded to `width` digits. Without snprintf: toString() and the
// output of every date go through here.
void AppendPadded(std::string& out, int n, int width) {
  if (n < 0) {
    out += '-';
    n = -n;
    --width;
  }
  char digits[12];
  int count = 0;
  do {
    digits[count++] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n > 0 || count < width);
  while (count > 0) out += digits[--count];
}

}  // namespace

std::string Temporal::ToString() const {
  std::string out;
  if (kind != TemporalKind::kTime) {
    AppendPadded(out, year, 4);
    if (precision >= TemporalPrecision::kMonth) {
      out += '-';
      AppendPadded(out, month, 2);
    }
    if (precision >= TemporalPrecision::kDay) {
      out += '-';
      AppendPadded(out, day, 2);
    }
    if (precision < TemporalPrecision::kHour) return out;
    out += 'T';
  }
  AppendPadded(out, hour, 2);
  if (precision >= TemporalPrecision::kMinute) {
    out += ':';
    AppendPadded(out, minute, 2);
  }
  if (precision >= TemporalPrecision::kSecond) {
    out += ':';
    AppendPadded(out, second, 2);
  }
  if (precision >= TemporalPrecision::kMillisecond) {
    out += '.';
    AppendPadded(out, millisecond, 3);
  }
  if (kind == TemporalKind::kDateTime && has_offset) {
    if (utc_z && offset_minutes == 0) {
      out += 'Z';
    } else {
      int m = offset_minutes < 0 ? -offset_minutes : offset_minutes;
      out += offset_minutes < 0 ? '-' : '+';
      AppendPadded(out, m / 60, 2);
      out += ':';
      AppendPadded(out, m % 60, 2);
    }
  }
  return out;
}

int Temporal::PrecisionDigits() const {
  if (kind == TemporalKind::kTime) {
    static constexpr int kTimeDigits[] = {0, 0, 0, 0, 2, 4, 6, 9};
    return kTimeDigits[static_cast<int>(precision)];
  }
  static constexpr int kDigits[] = {0, 4, 6, 8, 10, 12, 14, 17};
  return kDigits[static_cast<int>(precision)];
}

std::optional<int> CompareTemporal(const Temporal& a, const Temporal& b) {
  Temporal x = a;
  Temporal y = b;
  if (a.has_time() && b.has_time()) {
    if (a.has_offset != b.has_offset) return std::nullopt;
    x = ToUtc(a);
    y = ToUtc(b);
  }
  const int la = Level(x);
  const int lb = Level(y);
  const int first = x.kind == TemporalKind::kTime ? 4 : 1;
  for (int level = first; level <= 6; ++level) {
    if (level > la && level > lb) return 0;
    if (level > la || level > lb) return std::nullopt;
    int64_t fa = Field(x, level);
    int64_t fb = Field(y, level);
    if (fa != fb) return fa < fb ? -1 : 1;
  }
  return 0;
}

bool EquivalentTemporal(const Temporal& a, const Temporal& b) {
  if (Level(a) != Level(b)) return false;
  auto c = CompareTemporal(a, b);
  return c.has_value() && *c == 0;
}

std::optional<Temporal> AddDuration(const Temporal& value, const Decimal& amount,
                                    DurationUnit unit) {
  auto whole = amount.Truncated(0).ToInteger();
  if (!whole) return std::nullopt;
  const int64_t n = *whole;
  if (n > 1000000000 || n < -1000000000) return std::nullopt;
  Temporal t = value;
  const bool is_time = value.kind == TemporalKind::kTime;
  switch (unit) {
    case DurationUnit::kYear:
    case DurationUnit::kMonth: {
      if (is_time) return std::nullopt;
      int64_t months =
          int64_t{t.year} * 12 + (t.month - 1) + (unit == DurationUnit::kYear ? 12 * n : n);
      int64_t y = FloorDiv(months, 12);
      t.year = static_cast<int32_t>(y);
      t.month = static_cast<uint8_t>(months - y * 12 + 1);
      int dim = DaysInMonth(t.year, t.month);
      if (t.day > dim) t.day = static_cast<uint8_t>(dim);
      break;
    }
    default: {
      static constexpr int64_t kMillis[] = {
          0, 0, 7 * kMillisPerDay, kMillisPerDay, 3600000, 60000, 1000, 1};
      int64_t delta = n * kMillis[static_cast<int>(unit)];
      if (is_time) {
        if (unit == DurationUnit::kWeek || unit == DurationUnit::kDay) return std::nullopt;
        int64_t ms = ((t.hour * 60 + t.minute) * 60 + t.second) * int64_t{1000} + t.millisecond;
        ms = ((ms + delta) % kMillisPerDay + kMillisPerDay) % kMillisPerDay;
        t.hour = static_cast<uint8_t>(ms / 3600000);
        t.minute = static_cast<uint8_t>(ms / 60000 % 60);
        t.second = static_cast<uint8_t>(ms / 1000 % 60);
        t.millisecond = static_cast<uint16_t>(ms % 1000);
        return t;
      }
      // A Date has no time of day: time-valued durations count in whole days.
      if (!value.has_time()) delta = delta / kMillisPerDay * kMillisPerDay;
      SetFromEpochMillis(EpochMillis(t) + delta, &t);
      break;
    }
  }
  if (t.year < 1 || t.year > 9999) return std::nullopt;
  return t;
}

std::optional<Temporal> TemporalBoundary(const Temporal& value, int digits, bool high) {
  Temporal t = value;
  TemporalPrecision target;
  if (value.kind == TemporalKind::kTime) {
    switch (digits) {
      case 2:
        target = TemporalPrecision::kHour;
        break;
      case 4:
        target = TemporalPrecision::kMinute;
        break;
      case 6:
        target = TemporalPrecision::kSecond;
        break;
      case 9:
        target = TemporalPrecision::kMillisecond;
        break;
      default:
        return std::nullopt;
    }
  } else {
    switch (digits) {
      case 4:
        target = TemporalPrecision::kYear;
        break;
      case 6:
        target = TemporalPrecision::kMonth;
        break;
      case 8:
        target = TemporalPrecision::kDay;
        break;
      case 10:
        target = TemporalPrecision::kHour;
        break;
      case 12:
        target = TemporalPrecision::kMinute;
        break;
      case 14:
        target = TemporalPrecision::kSecond;
        break;
      case 17:
        target = TemporalPrecision::kMillisecond;
        break;
      default:
        return std::nullopt;
    }
    if (value.kind == TemporalKind::kDate && target > TemporalPrecision::kDay) return std::nullopt;
  }
  // An hour alone is not a FHIR time: it stands for hh:00.
  if (t.precision == TemporalPrecision::kHour) t.precision = TemporalPrecision::kMinute;
  const TemporalPrecision have = t.precision;
  if (have < TemporalPrecision::kMonth) t.month = high ? 12 : 1;
  if (have < TemporalPrecision::kDay)
    t.day = high ? static_cast<uint8_t>(DaysInMonth(t.year, t.month)) : 1;
  if (have < TemporalPrecision::kHour) t.hour = high ? 23 : 0;
  if (have < TemporalPrecision::kMinute) t.minute = high ? 59 : 0;
  if (have < TemporalPrecision::kSecond) t.second = high ? 59 : 0;
  if (have < TemporalPrecision::kMillisecond) t.millisecond = high ? 999 : 0;
  t.precision = target;
  if (t.kind == TemporalKind::kDateTime && target >= TemporalPrecision::kHour && !t.has_offset) {
    // The widest offsets: the earliest instant is at +14:00, the latest at -12:00.
    t.has_offset = true;
    t.offset_minutes = high ? -12 * 60 : 14 * 60;
  }
  return t;
}

}  // namespace fhir::fhirpath
