// The tree-walking evaluator and the function table (internal to the engine). One Evaluator per
// evaluation; intermediate collections live in its arena and vanish with it.
#ifndef FHIR_FHIRPATH_EVALUATOR_H_
#define FHIR_FHIRPATH_EVALUATOR_H_

#include <memory>
#include <memory_resource>
#include <optional>
#include <regex>
#include <span>
#include <string>
#include <string_view>

#include "fhir/fhirpath/ast.h"
#include "fhir/fhirpath/fhirpath.h"

namespace fhir::fhirpath {

using Items = std::pmr::vector<Value>;

// The iteration state of the innermost where/select/all/... ($this, $index, $total).
struct Frame {
  std::span<const Value> this_items;
  int64_t index = -1;
  const Items* total = nullptr;
};

struct Compiled {
  std::string text;
  const model::Definitions* defs = nullptr;
  std::unique_ptr<AstNode> root;
};

class Evaluator {
 public:
  Evaluator(const Compiled& compiled, const EvaluationContext& context,
            std::pmr::memory_resource* arena);

  Result<Items> Eval(const AstNode& node, const Frame& frame);
  Items NewItems() { return Items(arena_); }
  // Copies text into the evaluation's storage.
  std::string_view Store(std::string_view text);

  Error Fail(const AstNode& at, std::string message_id, std::string text) const;

  // Singleton evaluation: nullopt for an empty collection, an error for more than one item.
  Result<std::optional<Value>> Single(const Items& items, const AstNode& at, const char* what) {
    if (items.size() > 1) return SingletonExpected(items, at, what);
    return items.empty() ? std::optional<Value>() : std::optional<Value>(items[0]);
  }
  // A single item as a boolean (a lone non-boolean item counts as true); nullopt when empty.
  Result<std::optional<bool>> SingleBoolean(const Items& items, const AstNode& at);
  // A single String (or FHIR string-like) item; an error for other types.
  Result<std::optional<std::string_view>> SingleString(const Items& items, const AstNode& at);
  // A single Integer item; an error for other types.
  Result<std::optional<int64_t>> SingleInteger(const Items& items, const AstNode& at);

  // Evaluates argument `i` of `call` against the enclosing $this.
  Result<Items> Arg(const AstNode& call, size_t i, const Frame& frame) {
    return Eval(call.arg(i), frame);
  }
  // Evaluates argument `i` with $this = item (and $index) for iterating functions.
  Result<Items> ArgFor(const AstNode& call, size_t i, const Value& item, int64_t index,
                       const Frame& frame);

  // Child navigation: children of `item` called `name` (choice names like valueQuantity too).
  void Navigate(const Value& item, std::string_view name, Items* out) const;
  bool Matches(const Value& item, const TypeSpec& type, bool exact) const;
  const model::TypeDef* FindType(std::string_view name) const {
    return compiled_.defs->FindType(name);
  }
  Temporal Now() const;

  const EvaluationContext& context() const { return context_; }
  const Hooks& hooks() const { return *hooks_; }
  const model::Definitions& defs() const { return *compiled_.defs; }

 private:
  Error SingletonExpected(const Items& items, const AstNode& at, const char* what) const;
  Result<Items> EvalBinary(const AstNode& node, const Frame& frame);
  Result<Items> EvalVariable(const AstNode& node, const Frame& frame);

  const Compiled& compiled_;
  const EvaluationContext& context_;
  const Hooks* hooks_;
  std::pmr::memory_resource* arena_;
};

using FunctionImpl = Result<Items> (*)(Evaluator& ev, const AstNode& call, const Items& focus,
                                       const Frame& frame);

struct FunctionDef {
  std::string_view name;
  int min_args;
  int max_args;  // -1: any number
  FunctionImpl impl;
  bool type_argument = false;  // is(), as(), ofType(): the argument names a type
};

// Every function the engine knows, or nullptr.
const FunctionDef* FindFunction(std::string_view name);

// The function groups (one file each).
std::span<const FunctionDef> ExistenceFunctions();
std::span<const FunctionDef> SubsettingFunctions();
std::span<const FunctionDef> ConversionFunctions();
std::span<const FunctionDef> StringFunctions();
std::span<const FunctionDef> MathFunctions();
std::span<const FunctionDef> FhirFunctions();

// A FHIRPath regular expression (single-line mode) compiled once; nullptr when invalid.
std::shared_ptr<const std::regex> CompileFhirpathRegex(std::string_view pattern);

// Operators shared with functions.
Result<Items> Union(Evaluator& ev, const Items& a, const Items& b);
bool ContainsItem(const Items& items, const Value& v);

}  // namespace fhir::fhirpath

#endif  // FHIR_FHIRPATH_EVALUATOR_H_
