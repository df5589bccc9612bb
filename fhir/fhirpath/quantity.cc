#include "fhir/fhirpath/quantity.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace fhir::fhirpath {
namespace {

// Base dimensions: m, s, g, rad, K, C, cd, mol, international units, calendar months.
enum Dim { kM, kS, kG, kRad, kK, kC, kCd, kMol, kIu, kCalMonth };

struct Atom {
  const char* code;
  const char* factor;  // in base units
  std::array<int8_t, CanonicalUnit::kDimensions> exponents;
  bool metric;  // accepts a prefix
  int8_t temperature;
};

//                          m   s   g rad  K  C cd mol IU mo
constexpr Atom kAtoms[] = {
    {"m", "1", {1, 0, 0, 0, 0, 0, 0, 0, 0, 0}, true, 0},
    {"s", "1", {0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, true, 0},
    {"g", "1", {0, 0, 1, 0, 0, 0, 0, 0, 0, 0}, true, 0},
    {"rad", "1", {0, 0, 0, 1, 0, 0, 0, 0, 0, 0}, true, 0},
    {"K", "1", {0, 0, 0, 0, 1, 0, 0, 0, 0, 0}, true, 0},
    {"C", "1", {0, 0, 0, 0, 0, 1, 0, 0, 0, 0}, true, 0},
    {"cd", "1", {0, 0, 0, 0, 0, 0, 1, 0, 0, 0}, true, 0},
    {"mol", "1", {0, 0, 0, 0, 0, 0, 0, 1, 0, 0}, true, 0},
    {"eq", "1", {0, 0, 0, 0, 0, 0, 0, 1, 0, 0}, true, 0},
    {"osm", "1", {0, 0, 0, 0, 0, 0, 0, 1, 0, 0}, true, 0},
    {"kat", "1", {0, -1, 0, 0, 0, 0, 0, 1, 0, 0}, true, 0},
    {"U", "0.000000016666666666666667", {0, -1, 0, 0, 0, 0, 0, 1, 0, 0}, true, 0},
    {"[IU]", "1", {0, 0, 0, 0, 0, 0, 0, 0, 1, 0}, true, 0},
    {"[iU]", "1", {0, 0, 0, 0, 0, 0, 0, 0, 1, 0}, true, 0},
    {"[arb'U]", "1", {0, 0, 0, 0, 0, 0, 0, 0, 1, 0}, false, 0},
    {"L", "0.001", {3, 0, 0, 0, 0, 0, 0, 0, 0, 0}, true, 0},
    {"l", "0.001", {3, 0, 0, 0, 0, 0, 0, 0, 0, 0}, true, 0},
    {"t", "1000000", {0, 0, 1, 0, 0, 0, 0, 0, 0, 0}, true, 0},
    {"min", "60", {0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"h", "3600", {0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"d", "86400", {0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"wk", "604800", {0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"mo", "2629800", {0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"a", "31557600", {0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"Hz", "1", {0, -1, 0, 0, 0, 0, 0, 0, 0, 0}, true, 0},
    {"N", "1000", {1, -2, 1, 0, 0, 0, 0, 0, 0, 0}, true, 0},
    {"Pa", "1000", {-1, -2, 1, 0, 0, 0, 0, 0, 0, 0}, true, 0},
    {"bar", "100000000", {-1, -2, 1, 0, 0, 0, 0, 0, 0, 0}, true, 0},
    {"atm", "101325000", {-1, -2, 1, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"m[Hg]", "133322000", {-1, -2, 1, 0, 0, 0, 0, 0, 0, 0}, true, 0},
    {"m[H2O]", "9806650", {-1, -2, 1, 0, 0, 0, 0, 0, 0, 0}, true, 0},
    {"[psi]", "6894757.2931783", {-1, -2, 1, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"J", "1000", {2, -2, 1, 0, 0, 0, 0, 0, 0, 0}, true, 0},
    {"W", "1000", {2, -3, 1, 0, 0, 0, 0, 0, 0, 0}, true, 0},
    {"cal", "4184", {2, -2, 1, 0, 0, 0, 0, 0, 0, 0}, true, 0},
    {"[Cal]", "4184000", {2, -2, 1, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"A", "1", {0, -1, 0, 0, 0, 1, 0, 0, 0, 0}, true, 0},
    {"V", "1000", {2, -2, 1, 0, 0, -1, 0, 0, 0, 0}, true, 0},
    {"Cel", "1", {0, 0, 0, 0, 1, 0, 0, 0, 0, 0}, true, 1},
    {"[degF]", "1", {0, 0, 0, 0, 1, 0, 0, 0, 0, 0}, false, 2},
    {"[in_i]", "0.0254", {1, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"[ft_i]", "0.3048", {1, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"[yd_i]", "0.9144", {1, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"[mi_i]", "1609.344", {1, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"[lb_av]", "453.59237", {0, 0, 1, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"[oz_av]", "28.349523125", {0, 0, 1, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"[gr]", "0.06479891", {0, 0, 1, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"[stone_av]", "6350.29318", {0, 0, 1, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"[gal_us]", "0.003785411784", {3, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"[qt_us]", "0.000946352946", {3, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"[pt_us]", "0.000473176473", {3, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"[foz_us]", "0.0000295735295625", {3, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"[tsp_us]", "0.00000492892159375", {3, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"[tbs_us]", "0.0000147867647812", {3, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"[drp]", "0.00000005", {3, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"%", "0.01", {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"[ppth]", "0.001", {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"[ppm]", "0.000001", {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"[ppb]", "0.000000001", {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"10*", "10", {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"10^", "10", {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"[pi]", "3.14159265358979323846", {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false, 0},
    {"deg", "0.0174532925199432957692", {0, 0, 0, 1, 0, 0, 0, 0, 0, 0}, false, 0},
    {"[hp_X]", "1", {0, 0, 0, 0, 0, 0, 0, 0, 1, 0}, false, 0},
    {"[CFU]", "1", {0, 0, 0, 0, 0, 0, 0, 0, 1, 0}, true, 0},
};

struct Prefix {
  const char* code;
  int exponent;
};
constexpr Prefix kPrefixes[] = {{"da", 1},  {"Y", 24},  {"Z", 21},  {"E", 18},  {"P", 15},
                                {"T", 12},  {"G", 9},   {"M", 6},   {"k", 3},   {"h", 2},
                                {"d", -1},  {"c", -2},  {"m", -3},  {"u", -6},  {"n", -9},
                                {"p", -12}, {"f", -15}, {"a", -18}, {"z", -21}, {"y", -24}};

struct Calendar {
  const char* singular;
  const char* plural;
  const char* ucum;  // nullptr for year and month: they have their own dimension
  int months;
  DurationUnit duration;
};
constexpr Calendar kCalendar[] = {
    {"year", "years", nullptr, 12, DurationUnit::kYear},
    {"month", "months", nullptr, 1, DurationUnit::kMonth},
    {"week", "weeks", "wk", 0, DurationUnit::kWeek},
    {"day", "days", "d", 0, DurationUnit::kDay},
    {"hour", "hours", "h", 0, DurationUnit::kHour},
    {"minute", "minutes", "min", 0, DurationUnit::kMinute},
    {"second", "seconds", "s", 0, DurationUnit::kSecond},
    {"millisecond", "milliseconds", "ms", 0, DurationUnit::kMillisecond},
};

const Calendar* FindCalendar(std::string_view unit) {
  for (const Calendar& c : kCalendar) {
    if (unit == c.singular || unit == c.plural) return &c;
  }
  return nullptr;
}

Decimal PowerOfTenDecimal(int exponent) {
  return exponent >= 0 ? Decimal(PowerOfTen(exponent), 0) : Decimal(1, -exponent);
}

std::optional<Decimal> Power(const Decimal& base, int exponent) {
  Decimal out = Decimal::FromInteger(1);
  int n = exponent < 0 ? -exponent : exponent;
  for (int i = 0; i < n; ++i) {
    auto next = Decimal::Multiply(out, base);
    if (!next) return std::nullopt;
    out = *next;
  }
  if (exponent < 0) return Decimal::Divide(Decimal::FromInteger(1), out);
  return out;
}

bool Combine(CanonicalUnit* acc, const CanonicalUnit& unit, int sign) {
  auto f = sign > 0 ? Decimal::Multiply(acc->factor, unit.factor)
                    : Decimal::Divide(acc->factor, unit.factor);
  if (!f) return false;
  acc->factor = *f;
  for (int i = 0; i < CanonicalUnit::kDimensions; ++i) {
    acc->exponents[i] = static_cast<int8_t>(acc->exponents[i] + sign * unit.exponents[i]);
  }
  return true;
}

// Parser of UCUM unit expressions (the subset without unit-level arithmetic on numbers beyond
// integer factors).
class UnitParser {
 public:
  explicit UnitParser(std::string_view text) : text_(text) {}

  std::optional<CanonicalUnit> Parse() {
    CanonicalUnit acc;
    if (text_.empty()) return std::nullopt;
    int sign = 1;
    if (Peek('/')) {
      ++pos_;
      sign = -1;
    }
    if (!Term(&acc, sign)) return std::nullopt;
    if (pos_ != text_.size()) return std::nullopt;
    return acc;
  }

 private:
  bool Peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }

  bool Term(CanonicalUnit* acc, int sign) {
    if (!Component(acc, sign)) return false;
    while (Peek('.') || Peek('/')) {
      int next = text_[pos_++] == '.' ? 1 : -1;
      if (!Component(acc, next)) return false;
    }
    return true;
  }

  bool Component(CanonicalUnit* acc, int sign) {
    if (Peek('(')) {
      ++pos_;
      CanonicalUnit inner;
      if (!Term(&inner, 1) || !Peek(')')) return false;
      ++pos_;
      SkipAnnotation();
      return Combine(acc, inner, sign);
    }
    if (Peek('{')) {
      return SkipAnnotation();
    }
    size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != '.' && text_[pos_] != '/' && text_[pos_] != '(' &&
           text_[pos_] != ')' && text_[pos_] != '{') {
      if (text_[pos_] == '[') {
        while (pos_ < text_.size() && text_[pos_] != ']') ++pos_;
        if (pos_ == text_.size()) return false;
      }
      ++pos_;
    }
    std::string_view symbol = text_.substr(start, pos_ - start);
    SkipAnnotation();
    auto unit = Simple(symbol);
    if (!unit) return false;
    return Combine(acc, *unit, sign);
  }

  bool SkipAnnotation() {
    if (!Peek('{')) return true;
    while (pos_ < text_.size() && text_[pos_] != '}') ++pos_;
    if (pos_ == text_.size()) return false;
    ++pos_;
    return true;
  }

  static std::optional<CanonicalUnit> Simple(std::string_view symbol) {
    if (symbol.empty()) return std::nullopt;
    // A plain integer factor ("1", "1000").
    bool all_digits = true;
    for (char c : symbol) all_digits = all_digits && c >= '0' && c <= '9';
    if (all_digits) {
      auto d = Decimal::Parse(symbol);
      if (!d) return std::nullopt;
      CanonicalUnit u;
      u.factor = *d;
      return u;
    }
    // A trailing exponent ("m2", "s-1", "10*3"), never inside brackets.
    size_t end = symbol.size();
    while (end > 0 && symbol[end - 1] >= '0' && symbol[end - 1] <= '9') --end;
    if (end > 0 && end < symbol.size() && (symbol[end - 1] == '-' || symbol[end - 1] == '+')) --end;
    int exponent = 1;
    std::string_view body = symbol;
    if (end < symbol.size() && end > 0) {
      exponent = std::atoi(std::string(symbol.substr(end)).c_str());
      body = symbol.substr(0, end);
    }
    auto base = AtomWithPrefix(body);
    if (!base) return std::nullopt;
    if (exponent == 1) return base;
    if (base->temperature != 0) return std::nullopt;
    CanonicalUnit u;
    auto f = Power(base->factor, exponent);
    if (!f) return std::nullopt;
    u.factor = *f;
    for (int i = 0; i < CanonicalUnit::kDimensions; ++i) {
      u.exponents[i] = static_cast<int8_t>(base->exponents[i] * exponent);
    }
    return u;
  }

  static std::optional<CanonicalUnit> FromAtom(const Atom& atom, int prefix_exponent) {
    CanonicalUnit u;
    auto f = Decimal::Parse(atom.factor);
    if (!f) return std::nullopt;
    auto scaled = Decimal::Multiply(*f, PowerOfTenDecimal(prefix_exponent));
    if (!scaled) return std::nullopt;
    u.factor = *scaled;
    u.exponents = atom.exponents;
    u.temperature = atom.temperature;
    return u;
  }

  static std::optional<CanonicalUnit> AtomWithPrefix(std::string_view body) {
    for (const Atom& atom : kAtoms) {
      if (body == atom.code) return FromAtom(atom, 0);
    }
    for (const Prefix& prefix : kPrefixes) {
      size_t n = std::strlen(prefix.code);
      if (body.size() <= n || body.substr(0, n) != prefix.code) continue;
      std::string_view rest = body.substr(n);
      for (const Atom& atom : kAtoms) {
        if (atom.metric && rest == atom.code) {
          if (atom.temperature != 0) return std::nullopt;
          return FromAtom(atom, prefix.exponent);
        }
      }
    }
    return std::nullopt;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// The value in base units.
std::optional<Decimal> ToBase(const Decimal& value, const CanonicalUnit& unit) {
  switch (unit.temperature) {
    case 1:
      return Decimal::Add(value, *Decimal::Parse("273.15"));
    case 2: {
      auto sum = Decimal::Add(value, *Decimal::Parse("459.67"));
      if (!sum) return std::nullopt;
      auto scaled = Decimal::Multiply(*sum, Decimal::FromInteger(5));
      if (!scaled) return std::nullopt;
      return Decimal::Divide(*scaled, Decimal::FromInteger(9));
    }
    default:
      return Decimal::Multiply(value, unit.factor);
  }
}

std::optional<Decimal> FromBase(const Decimal& base, const CanonicalUnit& unit) {
  switch (unit.temperature) {
    case 1:
      return Decimal::Subtract(base, *Decimal::Parse("273.15"));
    case 2: {
      auto scaled = Decimal::Multiply(base, Decimal::FromInteger(9));
      if (!scaled) return std::nullopt;
      auto divided = Decimal::Divide(*scaled, Decimal::FromInteger(5));
      if (!divided) return std::nullopt;
      return Decimal::Subtract(*divided, *Decimal::Parse("459.67"));
    }
    default:
      return Decimal::Divide(base, unit.factor);
  }
}

bool NeedsParentheses(std::string_view unit) {
  return unit.find_first_of("./") != std::string_view::npos;
}

// Calendar keywords other than year and month are written as their UCUM units in products.
std::string_view AsUcum(std::string_view unit) {
  const Calendar* c = FindCalendar(unit);
  return c != nullptr && c->ucum != nullptr ? std::string_view(c->ucum) : unit;
}

}  // namespace

std::optional<CanonicalUnit> Canonicalize(std::string_view unit) {
  if (const Calendar* c = FindCalendar(unit)) {
    if (c->ucum != nullptr) return Canonicalize(c->ucum);
    CanonicalUnit u;
    u.factor = Decimal::FromInteger(c->months);
    u.exponents[kCalMonth] = 1;
    return u;
  }
  return UnitParser(unit).Parse();
}

bool IsCalendarKeyword(std::string_view unit) { return FindCalendar(unit) != nullptr; }

std::optional<DurationUnit> DurationUnitOf(std::string_view unit) {
  if (const Calendar* c = FindCalendar(unit)) return c->duration;
  for (const Calendar& c : kCalendar) {
    if (c.ucum != nullptr && unit == c.ucum) return c.duration;
  }
  return std::nullopt;
}

std::optional<Decimal> ConvertQuantity(const Quantity& b, std::string_view unit) {
  if (b.unit == unit) return b.value;
  auto from = Canonicalize(b.unit);
  auto to = Canonicalize(unit);
  if (!from || !to || from->exponents != to->exponents) return std::nullopt;
  auto base = ToBase(b.value, *from);
  if (!base) return std::nullopt;
  return FromBase(*base, *to);
}

std::optional<int> CompareQuantities(const Quantity& a, const Quantity& b) {
  if (a.unit == b.unit) return Decimal::Compare(a.value, b.value);
  auto ua = Canonicalize(a.unit);
  auto ub = Canonicalize(b.unit);
  if (!ua || !ub || ua->exponents != ub->exponents) return std::nullopt;
  auto va = ToBase(a.value, *ua);
  auto vb = ToBase(b.value, *ub);
  if (!va || !vb) return std::nullopt;
  return Decimal::Compare(*va, *vb);
}

bool EquivalentQuantities(const Quantity& a, const Quantity& b) {
  auto converted = ConvertQuantity(b, a.unit);
  if (!converted) return false;
  int digits = std::min(a.value.scale(), b.value.scale());
  return Decimal::Compare(a.value.Rounded(digits), converted->Rounded(digits)) == 0;
}

std::string MultiplyUnits(std::string_view a, std::string_view b) {
  a = AsUcum(a);
  b = AsUcum(b);
  if (a == "1") return std::string(b);
  if (b == "1") return std::string(a);
  std::string out(a);
  out += '.';
  if (NeedsParentheses(b)) {
    out += '(';
    out += b;
    out += ')';
  } else {
    out += b;
  }
  return out;
}

std::string DivideUnits(std::string_view a, std::string_view b) {
  a = AsUcum(a);
  b = AsUcum(b);
  if (b == "1") return std::string(a);
  if (a == b) return "1";
  std::string out(a);
  out += '/';
  if (NeedsParentheses(b)) {
    out += '(';
    out += b;
    out += ')';
  } else {
    out += b;
  }
  return out;
}

}  // namespace fhir::fhirpath
