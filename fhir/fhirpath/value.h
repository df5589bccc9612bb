// The items FHIRPath collections hold: a node of the resource DOM (any FHIR element or resource)
// or a System value (Boolean, Integer, Decimal, String, Date, DateTime, Time, Quantity) computed
// by the expression, or a type description from type(). Values are small, trivially copyable and
// never own memory: a node points into its Resource, and text points into the Resource, the
// compiled expression, or the evaluation's storage. Whoever hands out Values keeps those alive.
#ifndef FHIR_FHIRPATH_VALUE_H_
#define FHIR_FHIRPATH_VALUE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fhir/element.h"
#include "fhir/fhirpath/decimal.h"
#include "fhir/fhirpath/quantity.h"
#include "fhir/fhirpath/temporal.h"

namespace fhir::fhirpath {

enum class ValueKind : uint8_t {
  kNode,
  kBoolean,
  kInteger,
  kDecimal,
  kString,
  kDate,
  kDateTime,
  kTime,
  kQuantity,
  kTypeInfo,  // from type(): text is the name, text2 the namespace
};

struct Value {
  Value() : node(nullptr) {}

  static Value OfNode(const Node* n) {
    Value v;
    v.kind = ValueKind::kNode;
    v.node = n;
    return v;
  }
  static Value OfBoolean(bool b) {
    Value v;
    v.kind = ValueKind::kBoolean;
    v.boolean = b;
    return v;
  }
  static Value OfInteger(int64_t i) {
    Value v;
    v.kind = ValueKind::kInteger;
    v.integer = i;
    return v;
  }
  static Value OfDecimal(const Decimal& d) {
    Value v;
    v.kind = ValueKind::kDecimal;
    v.decimal = d;
    return v;
  }
  static Value OfString(std::string_view s) {
    Value v;
    v.kind = ValueKind::kString;
    v.text = s;
    return v;
  }
  static Value OfTemporal(const Temporal& t);
  static Value OfQuantity(const Decimal& d, std::string_view unit) {
    Value v;
    v.kind = ValueKind::kQuantity;
    v.decimal = d;
    v.text = unit;
    return v;
  }
  static Value OfTypeInfo(std::string_view ns, std::string_view name) {
    Value v;
    v.kind = ValueKind::kTypeInfo;
    v.text = name;
    v.text2 = ns;
    return v;
  }

  bool is_node() const { return kind == ValueKind::kNode; }
  bool is_temporal() const {
    return kind == ValueKind::kDate || kind == ValueKind::kDateTime || kind == ValueKind::kTime;
  }
  Quantity quantity() const { return Quantity{decimal, text}; }

  ValueKind kind = ValueKind::kNode;
  union {
    const Node* node;
    bool boolean;
    int64_t integer;
    Decimal decimal;  // kDecimal, and the amount of kQuantity
    Temporal temporal;
  };
  std::string_view text;   // kString; the unit of kQuantity; the name of kTypeInfo
  std::string_view text2;  // the namespace of kTypeInfo
};

// The System value a node stands for: FHIR primitives with a value become Boolean, Integer,
// Decimal, String, Date, DateTime or Time; FHIR Quantity (and its specialisations) becomes a
// Quantity (UCUM code when the system is UCUM or absent, else the unit text). Any other node, or
// a primitive without a value, yields nullopt. System values are returned unchanged.
std::optional<Value> ToSystem(const Value& v);

// For string-like items (System String or a FHIR string/code/uri/... node with a value).
std::optional<std::string_view> StringOf(const Value& v);

// The type name as the official test suite and the CLI print it: "boolean", "integer",
// "decimal", "string", "date", "dateTime", "time", "Quantity" for System values, the FHIR type
// name ("code", "HumanName", "Patient") for nodes.
std::string_view OutputTypeName(const Value& v);
// The value as text: primitives' lexical form, "@2014-01-05" for System dates, "5.5 'mg'" for
// quantities. Complex nodes have no text form (empty string).
std::string OutputText(const Value& v);

// FHIRPath "=" on single items: nullopt when the answer is unknown (date precision, units that
// do not compare).
std::optional<bool> ItemsEqual(const Value& a, const Value& b);
// FHIRPath "~" on single items.
bool ItemsEquivalent(const Value& a, const Value& b);

enum class OrderResult { kLess, kEqual, kGreater, kUnknown, kIncomparable };
// Ordering for <, >, <=, >= and sort(): kUnknown for partial dates that cannot be ordered,
// kIncomparable for values of types that have no common order (an error for operators).
OrderResult CompareItems(const Value& a, const Value& b);

}  // namespace fhir::fhirpath

#endif  // FHIR_FHIRPATH_VALUE_H_
