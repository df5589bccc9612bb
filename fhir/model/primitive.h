// Lexical rules of the FHIR R4 primitive types (http://hl7.org/fhir/R4/datatypes.html), shared by
// the JSON and XML codecs. Pure functions, thread-safe.
#ifndef FHIR_MODEL_PRIMITIVE_H_
#define FHIR_MODEL_PRIMITIVE_H_

#include <string_view>

#include "fhir/model/definitions.h"

namespace fhir::model {

// How a primitive's value is carried in JSON.
enum class JsonRepresentation { kString, kNumber, kBoolean };

JsonRepresentation JsonRepresentationOf(PrimitiveKind kind);

// True when `text` is a valid lexical form for `kind`: the R4 regular expressions, integer ranges
// (integer and its subtypes are 32-bit), date and time field ranges, base64 alphabet and padding,
// string rules (no control characters but tab, CR and LF; not only whitespace for code). For
// JSON numbers `text` is the raw number token ("1.50", "1e2").
bool IsValidPrimitive(PrimitiveKind kind, std::string_view text);

// A short name of the rule for messages: "a valid dateTime", "an integer in the 32-bit range".
std::string_view DescribeRule(PrimitiveKind kind);

}  // namespace fhir::model

#endif  // FHIR_MODEL_PRIMITIVE_H_
