// FHIRPath Date, DateTime and Time values with partial precision ("2015", "2015-02-04T14",
// "T10:30") and an optional time-zone offset. Comparison follows the FHIRPath rules: fields are
// compared from the most significant down, seconds and milliseconds count as one field, and when
// one value stops before the other has decided the result is unknown (std::nullopt, which
// FHIRPath turns into an empty collection). Plain value type, thread-safe.
#ifndef FHIR_FHIRPATH_TEMPORAL_H_
#define FHIR_FHIRPATH_TEMPORAL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fhir/fhirpath/decimal.h"

namespace fhir::fhirpath {

enum class TemporalKind : uint8_t { kDate, kDateTime, kTime };

// The last field present.
enum class TemporalPrecision : uint8_t {
  kYear = 1,
  kMonth,
  kDay,
  kHour,
  kMinute,
  kSecond,
  kMillisecond,
};

// The units a duration can be added in (calendar keywords and their UCUM equivalents).
enum class DurationUnit : uint8_t {
  kYear,
  kMonth,
  kWeek,
  kDay,
  kHour,
  kMinute,
  kSecond,
  kMillisecond,
};

struct Temporal {
  TemporalKind kind = TemporalKind::kDate;
  TemporalPrecision precision = TemporalPrecision::kYear;
  int32_t year = 0;
  uint8_t month = 1;
  uint8_t day = 1;
  uint8_t hour = 0;
  uint8_t minute = 0;
  uint8_t second = 0;
  uint16_t millisecond = 0;
  bool has_offset = false;
  bool utc_z = false;  // written as "Z" rather than "+00:00"
  int16_t offset_minutes = 0;

  // FHIR lexical forms: date ("2015", "2015-02", "2015-02-04"), dateTime and instant
  // ("2015-02-04T14:34:28.123+10:00", also the date forms), time ("14:34:28").
  static std::optional<Temporal> ParseDate(std::string_view text);
  static std::optional<Temporal> ParseDateTime(std::string_view text);
  static std::optional<Temporal> ParseTime(std::string_view text);
  // A FHIRPath literal without its '@': "2015-02-04", "2015T", "2015-02-04T14:34Z", "T14:34".
  static std::optional<Temporal> ParseLiteral(std::string_view text);

  // The lexical form without '@': dates "2015-02", date-times "2015-02-04T14:34:28.123+10:00",
  // times "14:34:28.123".
  std::string ToString() const;
  // FHIRPath precision(): digits of the value (4 for a year, 17 for a date-time to milliseconds,
  // 9 for a time to milliseconds).
  int PrecisionDigits() const;
  bool has_time() const { return precision >= TemporalPrecision::kHour; }
};

// Comparison of two Date/DateTime values or of two Times: -1, 0, 1, or nullopt when the
// precisions make the answer unknown (or one value has a time-zone and the other has not).
std::optional<int> CompareTemporal(const Temporal& a, const Temporal& b);
// FHIRPath equivalence: same precision and equal; never unknown.
bool EquivalentTemporal(const Temporal& a, const Temporal& b);

// value + amount unit (subtract with a negated amount). Fractions are truncated to whole units;
// days, weeks and time units are added to Dates as whole days. nullopt when the result is out
// of range or the unit does not apply (time units on a Time only).
std::optional<Temporal> AddDuration(const Temporal& value, const Decimal& amount,
                                    DurationUnit unit);

// lowBoundary()/highBoundary() at `digits` (see PrecisionDigits); nullopt for an invalid digit
// count.
std::optional<Temporal> TemporalBoundary(const Temporal& value, int digits, bool high);

}  // namespace fhir::fhirpath

#endif  // FHIR_FHIRPATH_TEMPORAL_H_
