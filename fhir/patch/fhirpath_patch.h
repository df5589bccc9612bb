// FHIRPath Patch (http://hl7.org/fhir/R4/fhirpatch.html): a Parameters resource whose
// parameters are named "operation", each with parts
//   type         (code)     add | insert | delete | replace | move
//   path         (string)   a FHIRPath expression evaluated on the resource being patched
//   name         (string)   add: the element to add below the node the path selects
//   value        value[x], a contained `resource`, or nested parts naming the children of an
//                anonymous (backbone) element: add, insert, replace
//   index        (integer)  insert: the 0-based position in the list the path selects
//   source, destination (integer)  move: positions in the list the path selects
// Operations apply in order, each path evaluated on the result of the previous operations.
//
// Rules (the spec's, made precise):
//   add      the path selects exactly one node; `name` is an element of its type (a choice may be
//            named "deceased" or "deceasedBoolean"); a non-repeating element must not exist yet.
//            Repeating elements are appended.
//   insert   the path selects the items of one repeating element of one parent (an empty list is
//            accepted when the path ends in ".<element>" of a single node); 0 <= index <= count.
//   delete   the path selects at most one node, not the resource itself; nothing selected is not
//            an error.
//   replace  the path selects exactly one node, not the resource itself. The new value replaces
//            the whole element; a primitive keeps its id and extensions unless the value brings
//            its own.
//   move     as insert for the path; 0 <= source, destination < count. The item at `source` is
//            taken out, then put at `destination` of the shortened list.
// A value must be of a type the element allows, a subtype of it, or a primitive carried as text
// (string, code, date, ... but not boolean or a number) whose text is a valid form of the
// element's primitive type: valueString into a code, a date, or Narrative.div, which must then be
// well-formed XHTML. Elements left with neither value nor children are removed. The result is
// written and read again with fhir::json::Parse, so every structural fault it has is reported.
//
// Errors (fhir::Error, message ids are stable):
//   patch.invalid  400  the Parameters is not a FHIRPath Patch: a parameter not named
//                       "operation", a missing, repeated or unknown part, a part of the wrong
//                       type, an unknown operation type, a path that does not compile. The
//                       expression locates the fault, e.g. "Parameters.parameter[1].part[0]".
//   patch.failed   422  an operation cannot be applied to this resource: the path selects no node
//                       or more than one where one is required, or something that is not an
//                       element; an unknown element name; a value of the wrong type or invalid
//                       text; an index out of range; a non-repeating element added twice. The
//                       text names the operation's 0-based index; the expression is the
//                       operation's location in the Parameters.
//   json.*         422  the patched resource is not valid FHIR (as fhir::json::Parse reports it).
//
// Thread-safe: a pure function of its arguments.
#ifndef FHIR_PATCH_FHIRPATH_PATCH_H_
#define FHIR_PATCH_FHIRPATH_PATCH_H_

#include "fhir/element.h"
#include "fhir/model/definitions.h"
#include "fhir/result.h"

namespace fhir::patch {

// Applies the FHIRPath Patch `patch` (a Parameters resource) to a copy of `resource`.
Result<Resource> ApplyFhirPathPatch(const Resource& resource, const Resource& patch,
                                    const model::Definitions& defs);

}  // namespace fhir::patch

#endif  // FHIR_PATCH_FHIRPATH_PATCH_H_
