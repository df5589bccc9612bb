#include "fhir/fhirpath/decimal.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace fhir::fhirpath {
namespace {

constexpr int kMaxDigits = 38;

// Mantissas stay below 10^38 so that every value prints and parses back.
bool FitsDigits(Int128 v) {
  const Int128 limit = PowerOfTen(kMaxDigits);
  return v < limit && v > -limit;
}

// Brings a and b to the same scale; false when that overflows.
bool Align(const Decimal& a, const Decimal& b, Int128* ma, Int128* mb, int* scale) {
  *scale = std::max(a.scale(), b.scale());
  auto ra = a.Rescaled(*scale);
  auto rb = b.Rescaled(*scale);
  if (!ra || !rb) return false;
  *ma = ra->mantissa();
  *mb = rb->mantissa();
  return true;
}

// Divides rounding half away from zero.
Int128 DivideRounded(Int128 n, Int128 d) {
  Int128 q = n / d;
  Int128 r = n % d;
  if (r < 0) r = -r;
  Int128 ad = d < 0 ? -d : d;
  if (r * 2 >= ad) q += ((n < 0) != (d < 0)) ? -1 : 1;
  return q;
}

}  // namespace

Int128 PowerOfTen(int n) {
  Int128 v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

std::optional<Decimal> Decimal::Parse(std::string_view text) {
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) negative = text[i++] == '-';
  Int128 mantissa = 0;
  int scale = 0;
  int digits = 0;
  bool any = false;
  auto add_digit = [&](char c) {
    if (digits > 0 || c != '0') ++digits;
    mantissa = mantissa * 10 + (c - '0');
  };
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    add_digit(text[i++]);
    any = true;
    if (digits > kMaxDigits) return std::nullopt;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    bool fraction = false;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      add_digit(text[i++]);
      ++scale;
      fraction = true;
      if (digits > kMaxDigits || scale > kMaxDigits) return std::nullopt;
    }
    if (!fraction) return std::nullopt;
  }
  if (!any) return std::nullopt;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool negative_exponent = false;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) negative_exponent = text[i++] == '-';
    int exponent = 0;
    bool exponent_digits = false;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      exponent = exponent * 10 + (text[i++] - '0');
      exponent_digits = true;
      if (exponent > 1000) return std::nullopt;
    }
    if (!exponent_digits) return std::nullopt;
    if (negative_exponent) {
      scale += exponent;
      if (scale > kMaxDigits) return std::nullopt;
    } else if (exponent <= scale) {
      scale -= exponent;
    } else {
      int grow = exponent - scale;
      if (digits + grow > kMaxDigits) return std::nullopt;
      mantissa *= PowerOfTen(grow);
      scale = 0;
    }
  }
  if (i != text.size()) return std::nullopt;
  return Decimal(negative ? -mantissa : mantissa, scale);
}

std::optional<Decimal> Decimal::FromDouble(double value) {
  if (!std::isfinite(value)) return std::nullopt;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", value);
  auto d = Parse(buf);
  if (!d) return std::nullopt;
  return d->Normalized();
}

std::string Decimal::ToString() const {
  Int128 v = mantissa_ < 0 ? -mantissa_ : mantissa_;
  std::string digits;
  do {
    digits.push_back(static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  } while (v != 0);
  while (static_cast<int>(digits.size()) <= scale_) digits.push_back('0');
  std::reverse(digits.begin(), digits.end());
  std::string out;
  if (mantissa_ < 0) out.push_back('-');
  if (scale_ > 0) {
    out.append(digits, 0, digits.size() - scale_);
    out.push_back('.');
    out.append(digits, digits.size() - scale_, std::string::npos);
  } else {
    out += digits;
  }
  return out;
}

double Decimal::ToDouble() const {
  // Through text, so that the conversion is correctly rounded.
  return std::strtod(ToString().c_str(), nullptr);
}

std::optional<int64_t> Decimal::ToInteger() const {
  Int128 p = PowerOfTen(scale_);
  if (mantissa_ % p != 0) return std::nullopt;
  Int128 v = mantissa_ / p;
  if (v > INT64_MAX || v < INT64_MIN) return std::nullopt;
  return static_cast<int64_t>(v);
}

std::optional<Decimal> Decimal::Rescaled(int scale) const {
  if (scale <= scale_) return *this;
  if (scale > kMaxDigits) return std::nullopt;
  Int128 f = PowerOfTen(scale - scale_);
  Int128 out;
  if (__builtin_mul_overflow(mantissa_, f, &out) || !FitsDigits(out)) return std::nullopt;
  return Decimal(out, scale);
}

Decimal Decimal::Rounded(int digits) const {
  if (digits >= scale_) return *this;
  return Decimal(DivideRounded(mantissa_, PowerOfTen(scale_ - digits)), digits);
}

Decimal Decimal::Truncated(int digits) const {
  if (digits >= scale_) return *this;
  return Decimal(mantissa_ / PowerOfTen(scale_ - digits), digits);
}

Decimal Decimal::Floor() const {
  Decimal t = Truncated(0);
  if (mantissa_ < 0 && Compare(t, *this) != 0) return Decimal(t.mantissa_ - 1, 0);
  return t;
}

Decimal Decimal::Ceiling() const {
  Decimal t = Truncated(0);
  if (mantissa_ > 0 && Compare(t, *this) != 0) return Decimal(t.mantissa_ + 1, 0);
  return t;
}

Decimal Decimal::Normalized() const {
  Decimal d = *this;
  while (d.scale_ > 0 && d.mantissa_ % 10 == 0) {
    d.mantissa_ /= 10;
    --d.scale_;
  }
  return d;
}

std::optional<Decimal> Decimal::Add(const Decimal& a, const Decimal& b) {
  Int128 ma, mb, out;
  int scale;
  if (!Align(a, b, &ma, &mb, &scale)) return std::nullopt;
  if (__builtin_add_overflow(ma, mb, &out) || !FitsDigits(out)) return std::nullopt;
  return Decimal(out, scale);
}

std::optional<Decimal> Decimal::Subtract(const Decimal& a, const Decimal& b) {
  return Add(a, b.Negated());
}

std::optional<Decimal> Decimal::Multiply(const Decimal& a, const Decimal& b) {
  Int128 out;
  Decimal x = a;
  Decimal y = b;
  // Dropping trailing zeros first keeps long-scaled operands (after conversions) in range.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!__builtin_mul_overflow(x.mantissa_, y.mantissa_, &out) && FitsDigits(out) &&
        x.scale_ + y.scale_ <= kMaxDigits) {
      Decimal result(out, x.scale_ + y.scale_);
      if (result.scale_ > kMaxScale) result = result.Rounded(kMaxScale);
      return result;
    }
    x = x.Normalized();
    y = y.Normalized();
  }
  return std::nullopt;
}

std::optional<Decimal> Decimal::Divide(const Decimal& a, const Decimal& b) {
  if (b.mantissa_ == 0) return std::nullopt;
  // a/b = (ma * 10^k) / mb at scale (a.scale + k - b.scale); pick k for kDivisionScale decimals.
  int k = kDivisionScale + b.scale_ - a.scale_;
  Int128 n = a.mantissa_;
  Int128 d = b.mantissa_;
  if (k >= 0) {
    if (k > kMaxDigits) return std::nullopt;
    if (__builtin_mul_overflow(n, PowerOfTen(k), &n)) return std::nullopt;
  } else {
    if (-k > kMaxDigits) return std::nullopt;
    if (__builtin_mul_overflow(d, PowerOfTen(-k), &d)) return std::nullopt;
  }
  Int128 q = DivideRounded(n, d);
  if (!FitsDigits(q)) return std::nullopt;
  return Decimal(q, kDivisionScale).Normalized();
}

std::optional<Decimal> Decimal::IntegerDivide(const Decimal& a, const Decimal& b) {
  Int128 ma, mb;
  int scale;
  if (b.mantissa_ == 0 || !Align(a, b, &ma, &mb, &scale)) return std::nullopt;
  return Decimal(ma / mb, 0);
}

std::optional<Decimal> Decimal::Modulo(const Decimal& a, const Decimal& b) {
  Int128 ma, mb;
  int scale;
  if (b.mantissa_ == 0 || !Align(a, b, &ma, &mb, &scale)) return std::nullopt;
  return Decimal(ma % mb, scale);
}

int Decimal::Compare(const Decimal& a, const Decimal& b) {
  Int128 ma, mb;
  int scale;
  if (Align(a, b, &ma, &mb, &scale)) return ma < mb ? -1 : (ma > mb ? 1 : 0);
  // Alignment overflows only when magnitudes differ widely; signs and doubles then decide.
  double da = a.ToDouble();
  double db = b.ToDouble();
  return da < db ? -1 : (da > db ? 1 : 0);
}

}  // namespace fhir::fhirpath
