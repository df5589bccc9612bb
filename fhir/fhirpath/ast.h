// The syntax tree of a compiled FHIRPath expression (internal to the engine). Built once by the
// parser, immutable afterwards, shared by concurrent evaluations.
#ifndef FHIR_FHIRPATH_AST_H_
#define FHIR_FHIRPATH_AST_H_

#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "fhir/fhirpath/value.h"
#include "fhir/model/definitions.h"

namespace fhir::fhirpath {

enum class AstKind : uint8_t {
  kLiteral,     // literal
  kEmpty,       // {}
  kIdentifier,  // a name at the start of a path (a child, or the context's type name)
  kMember,      // children[0].name
  kFunction,    // children[0] is the target (nullptr for a term), then the arguments
  kIndexer,     // children[0][children[1]]
  kNegate,      // -children[0]
  kBinary,      // children[0] op children[1]
  kIs,          // children[0] is type
  kAs,          // children[0] as type
  kThis,
  kIndex,
  kTotal,
  kVariable,  // %name
};

enum class BinaryOp : uint8_t {
  kMultiply,
  kDivide,
  kDiv,
  kMod,
  kAdd,
  kSubtract,
  kConcatenate,
  kUnion,
  kLess,
  kGreater,
  kLessOrEqual,
  kGreaterOrEqual,
  kEqual,
  kEquivalent,
  kNotEqual,
  kNotEquivalent,
  kIn,
  kContains,
  kAnd,
  kOr,
  kXor,
  kImplies,
};

enum class SystemType : uint8_t {
  kNone,
  kBoolean,
  kInteger,
  kDecimal,
  kString,
  kDate,
  kDateTime,
  kTime,
  kQuantity,
};

// A type named in is/as/ofType. An unqualified name may denote both a FHIR and a System type
// ("Quantity"); a System name that does not exist never matches.
struct TypeSpec {
  const model::TypeDef* fhir = nullptr;
  SystemType system = SystemType::kNone;
  std::string name;
};

struct FunctionDef;
class Evaluator;

struct AstNode {
  AstKind kind = AstKind::kLiteral;
  BinaryOp op = BinaryOp::kAdd;
  size_t position = 0;  // offset in the expression text, for errors
  std::string name;     // identifier, function or variable name
  std::string text;     // storage for a string literal or a quantity unit
  Value literal;
  const FunctionDef* function = nullptr;
  TypeSpec type;  // is/as/ofType; for kIdentifier, the type a capitalised name denotes
  std::shared_ptr<const std::regex> regex;  // precompiled literal pattern of matches() & co.
  // The type of every item this node yields when the path fixes it ("Patient" at the start of a
  // path, then "Patient.name" is HumanName); nullptr when unknown. A hint only: the evaluator
  // checks each item's actual type.
  const model::TypeDef* static_type = nullptr;
  // For kMember: the element `name` denotes in the target's static_type, looked up once at
  // compile time. `chosen` is the type a choice name selects ("valueQuantity"), else nullptr.
  const model::ElementDef* member = nullptr;
  const model::TypeDef* member_chosen = nullptr;
  std::vector<std::unique_ptr<AstNode>> children;

  const AstNode* target() const { return children.empty() ? nullptr : children[0].get(); }
  size_t arg_count() const { return children.size() - 1; }
  const AstNode& arg(size_t i) const { return *children[i + 1]; }
};

}  // namespace fhir::fhirpath

#endif  // FHIR_FHIRPATH_AST_H_
