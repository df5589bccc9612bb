// An exact decimal number for FHIRPath: a 128-bit integer mantissa and a decimal scale (the number
// of digits after the point), so "0.1 + 0.2 = 0.3" holds and "1.50" keeps its two decimals. The
// scale is the precision FHIRPath talks about (precision(), equivalence, boundaries). Operations
// that would overflow 38 digits return std::nullopt; callers report that as an error. A plain
// value type: copyable, thread-safe.
#ifndef FHIR_FHIRPATH_DECIMAL_H_
#define FHIR_FHIRPATH_DECIMAL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fhir::fhirpath {

__extension__ typedef __int128 Int128;

class Decimal {
 public:
  // FHIRPath's minimum decimal precision; also the scale of quotients that do not terminate.
  static constexpr int kDivisionScale = 16;
  static constexpr int kMaxScale = 30;

  constexpr Decimal() : mantissa_(0), scale_(0) {}
  constexpr Decimal(Int128 mantissa, int scale) : mantissa_(mantissa), scale_(scale) {}
  static Decimal FromInteger(int64_t value) { return Decimal(value, 0); }
  // Accepts an optional sign, digits, an optional fraction and an optional exponent ("1e2",
  // "-1.5E-3"), as JSON numbers and FHIRPath literals write them. nullopt on anything else or on
  // overflow.
  static std::optional<Decimal> Parse(std::string_view text);
  // The closest decimal to a double, with up to 15 significant digits (for ln, exp, sqrt, ...).
  static std::optional<Decimal> FromDouble(double value);

  Int128 mantissa() const { return mantissa_; }
  int scale() const { return scale_; }
  bool is_zero() const { return mantissa_ == 0; }
  bool is_negative() const { return mantissa_ < 0; }

  // The lexical form keeping the scale: "1.50", "-0.001", "100".
  std::string ToString() const;
  double ToDouble() const;
  // The integer part when it fits in 64 bits and the value has no fraction.
  std::optional<int64_t> ToInteger() const;

  Decimal Negated() const { return Decimal(-mantissa_, scale_); }
  Decimal Abs() const { return Decimal(mantissa_ < 0 ? -mantissa_ : mantissa_, scale_); }
  // The same value at a larger scale ("1.5" -> "1.500"); nullopt on overflow.
  std::optional<Decimal> Rescaled(int scale) const;
  // Rounded half away from zero to `digits` decimals (fewer digits only; more keeps the value).
  Decimal Rounded(int digits) const;
  Decimal Truncated(int digits) const;
  Decimal Floor() const;
  Decimal Ceiling() const;
  // Drops trailing fractional zeros ("2.000" -> "2").
  Decimal Normalized() const;

  static std::optional<Decimal> Add(const Decimal& a, const Decimal& b);
  static std::optional<Decimal> Subtract(const Decimal& a, const Decimal& b);
  static std::optional<Decimal> Multiply(const Decimal& a, const Decimal& b);
  // a / b rounded to kDivisionScale decimals, trailing zeros dropped; nullopt when b is zero.
  static std::optional<Decimal> Divide(const Decimal& a, const Decimal& b);
  // Truncated integer division and the matching remainder (FHIRPath div and mod).
  static std::optional<Decimal> IntegerDivide(const Decimal& a, const Decimal& b);
  static std::optional<Decimal> Modulo(const Decimal& a, const Decimal& b);
  // -1, 0 or 1, exactly (1.0 and 1.00 compare equal).
  static int Compare(const Decimal& a, const Decimal& b);

 private:
  Int128 mantissa_;
  int scale_;
};

// 10^n for 0 <= n <= 38.
Int128 PowerOfTen(int n);

}  // namespace fhir::fhirpath

#endif  // FHIR_FHIRPATH_DECIMAL_H_
