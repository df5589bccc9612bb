// Lexer and parser of FHIRPath expressions (internal to the engine): text to syntax tree, with
// the checks that need no data (function names and argument counts, type names, regular
// expressions given as literals). Errors are Error::Invalid with the offset in the text.
#ifndef FHIR_FHIRPATH_PARSER_H_
#define FHIR_FHIRPATH_PARSER_H_

#include <memory>
#include <string_view>

#include "fhir/fhirpath/ast.h"
#include "fhir/model/definitions.h"
#include "fhir/result.h"

namespace fhir::fhirpath {

Result<std::unique_ptr<AstNode>> ParseExpression(std::string_view text,
                                                 const model::Definitions& defs);

}  // namespace fhir::fhirpath

#endif  // FHIR_FHIRPATH_PARSER_H_
