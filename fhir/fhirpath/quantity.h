// FHIRPath quantities and the UCUM units health data uses. A unit string is a UCUM code
// ("mg", "mm[Hg]", "10*3/uL", "kg/m2", "Cel") or a FHIRPath calendar keyword ("day", "weeks").
// Units are reduced to a decimal factor and exponents of the base dimensions, so quantities of
// the same dimension compare and add after exact conversion; temperatures (Cel, [degF]) convert
// with their offsets. Calendar years and months compare only with each other (1 year = 12
// months); the other calendar keywords equal their UCUM units (1 week = 1 'wk'). Thread-safe.
#ifndef FHIR_FHIRPATH_QUANTITY_H_
#define FHIR_FHIRPATH_QUANTITY_H_

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "fhir/fhirpath/decimal.h"
#include "fhir/fhirpath/temporal.h"

namespace fhir::fhirpath {

struct Quantity {
  Decimal value;
  std::string_view unit;  // "1" for a unitless quantity
};

// A unit reduced to base dimensions.
struct CanonicalUnit {
  static constexpr int kDimensions = 10;
  Decimal factor = Decimal::FromInteger(1);
  std::array<int8_t, kDimensions> exponents{};
  // 0: linear; 1: degree Celsius; 2: degree Fahrenheit (only as a whole unit).
  int8_t temperature = 0;
};

// nullopt when the unit is not understood.
std::optional<CanonicalUnit> Canonicalize(std::string_view unit);

// True for "year", "months", "day", ... (the FHIRPath calendar duration keywords).
bool IsCalendarKeyword(std::string_view unit);
// The duration a unit stands for in date arithmetic: calendar keywords and the UCUM time units
// "wk", "d", "h", "min", "s", "ms". The UCUM "a" and "mo" are not calendar durations: nullopt.
std::optional<DurationUnit> DurationUnitOf(std::string_view unit);

// -1, 0, 1, or nullopt when the units are not comparable (or not understood).
std::optional<int> CompareQuantities(const Quantity& a, const Quantity& b);
// FHIRPath equivalence: converted to a's unit and compared at the smaller number of decimals.
bool EquivalentQuantities(const Quantity& a, const Quantity& b);

// `b` expressed in `unit`; nullopt when not comparable.
std::optional<Decimal> ConvertQuantity(const Quantity& b, std::string_view unit);

// The unit of a product or quotient of quantities ("cm.m", "g/m"); "1" cancels.
std::string MultiplyUnits(std::string_view a, std::string_view b);
std::string DivideUnits(std::string_view a, std::string_view b);

}  // namespace fhir::fhirpath

#endif  // FHIR_FHIRPATH_QUANTITY_H_
