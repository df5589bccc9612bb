// JSON Patch (RFC 6902) for the PATCH interaction (http://hl7.org/fhir/R4/http.html#patch).
//
// A patch document is a JSON array of operations {"op": add|remove|replace|move|copy|test,
// "path": <JSON Pointer>, "from": <JSON Pointer>, "value": <any>}; members other than these are
// ignored. Pointers follow RFC 6901: "" is the whole document, "/a/b" descends by member name or
// array index, "~1" stands for "/" and "~0" for "~", and "-" names the end of an array (add only).
// Operations apply in order to a working copy; the first that fails fails the whole patch, so a
// patch applies completely or not at all. JSON numbers keep their exact text ("1.50" stays
// "1.50"); `test` compares numbers by value, objects regardless of member order.
//
// Errors (fhir::Error, message ids are stable):
//   patch.invalid   400  the patch document is malformed: not JSON, not an array of objects, an
//                        unknown op, a missing or non-string path/from, a missing value, a pointer
//                        that does not start with "/" or has a bad "~" escape, a move into its own
//                        child. The expression is the JSON Pointer of the fault in the
//                        patch document, e.g. "/1/path".
//   patch.failed    422  an operation could not be applied: its path or from does not exist (a
//                        missing member, an array index out of range, a parent that is not an
//                        object or array), a `test` found a different value, or the copies of
//                        the patch add up to more than a million values. The text names the
//                        operation's 0-based index and op; the expression is "/<index>".
//   patch.invalid-document 422  the document to patch is not JSON.
// Texts never quote values from the document or the patch.
//
// Thread-safe: pure functions of their arguments.
#ifndef FHIR_PATCH_JSON_PATCH_H_
#define FHIR_PATCH_JSON_PATCH_H_

#include <string>
#include <string_view>

#include "fhir/element.h"
#include "fhir/model/definitions.h"
#include "fhir/result.h"

namespace fhir::patch {

// The media type of a JSON Patch document.
inline constexpr std::string_view kJsonPatchMediaType = "application/json-patch+json";

// Applies `patch` to any JSON document and returns the patched document as compact JSON.
Result<std::string> ApplyJsonPatchToJson(std::string_view document, std::string_view patch);

// Applies `patch` to the FHIR JSON of a resource (the text the store keeps) and reads the result
// with fhir::json::Parse. A patched document that is not a valid FHIR resource fails with HTTP
// 422 and every fault json::Parse found, under json::Parse's message ids (json.unknown-element,
// json.invalid-primitive, ...) and FHIRPath locations.
Result<Resource> ApplyJsonPatch(std::string_view resource_json, std::string_view patch,
                                const model::Definitions& defs);

}  // namespace fhir::patch

#endif  // FHIR_PATCH_JSON_PATCH_H_
