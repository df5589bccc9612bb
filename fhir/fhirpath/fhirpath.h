// FHIRPath 2.0 (as FHIR R4 uses it) over the resource DOM: compile once, evaluate many.
//
//   auto expr = fhirpath::Expression::Compile("Patient.name.where(use='official').family", defs);
//   fhirpath::EvaluationContext ctx;
//   ctx.resource = patient.root();
//   auto result = expr->Evaluate(ctx);   // Result<Collection>
//
// Compile reports syntax errors ("fhirpath.syntax"), unknown functions
// ("fhirpath.unknown-function"), wrong argument counts ("fhirpath.wrong-arity") and unknown type
// names ("fhirpath.unknown-type") as Error::Invalid whose text holds the 0-based offset in the
// expression. Evaluate reports runtime faults (a collection where a single item is required,
// operands of incompatible types, unknown variables, failed hooks) as Error::Invalid with ids
// "fhirpath.*" and the expression in the expression field.
//
// A compiled Expression is immutable and thread-safe; copies share the compiled tree. Evaluation
// navigates the DOM in place: result nodes point into the resources given in the context (and
// into resources the hooks return), which must outlive the Collection; computed strings are owned
// by the Collection.
#ifndef FHIR_FHIRPATH_FHIRPATH_H_
#define FHIR_FHIRPATH_FHIRPATH_H_

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/element.h"
#include "fhir/fhirpath/value.h"
#include "fhir/model/definitions.h"
#include "fhir/result.h"

namespace fhir::fhirpath {

// The result of an evaluation: an ordered collection of items.
class Collection {
 public:
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const Value& operator[](size_t i) const { return data()[i]; }
  std::span<const Value> items() const { return {data(), size_}; }
  const Value* begin() const { return data(); }
  const Value* end() const { return data() + size_; }

  // Building (used by the engine): text is copied into the collection.
  void Reserve(size_t n) {
    if (n > 1) spilled_.reserve(n);
  }
  void Add(const Value& v);

 private:
  const Value* data() const { return size_ <= 1 ? &first_ : spilled_.data(); }

  // Most results hold one item, kept inline so that such a result allocates nothing.
  Value first_;
  size_t size_ = 0;
  std::vector<Value> spilled_;                         // every item, once there are two or more
  std::vector<std::unique_ptr<std::string>> strings_;  // stable addresses for the views
};

// What the embedding application plugs in. Every method has a conservative default, so a
// default-constructed Hooks (or none) gives a self-contained engine.
class Hooks {
 public:
  virtual ~Hooks() = default;
  // resolve() for references outside the evaluated resource (contained resources and Bundle
  // entries are resolved by the engine first). Returns nullptr when unknown. The node must
  // outlive the evaluation's results.
  virtual const Node* Resolve(std::string_view reference) const;
  // memberOf(valueSet) for a code, Coding or CodeableConcept; nullopt when the answer is unknown
  // (the result is empty). The default fails with "fhirpath.memberof-unsupported".
  virtual Result<std::optional<bool>> MemberOf(const Value& coded,
                                               std::string_view value_set) const;
  // conformsTo(profile) for profiles other than the base resource definitions (which the engine
  // answers itself). The default fails with "fhirpath.unknown-profile".
  virtual Result<bool> ConformsTo(const Node& resource, std::string_view profile) const;
  // trace(name): called with the traced items. The default does nothing.
  virtual void Trace(std::string_view name, std::span<const Value> items) const;
};

using Variables = std::map<std::string, std::vector<Value>, std::less<>>;

struct EvaluationContext {
  const Node* resource = nullptr;       // %resource; also the input when context is not set
  const Node* root_resource = nullptr;  // %rootResource; defaults to resource
  const Node* context = nullptr;        // the input and %context; defaults to resource
  // User variables (%name). Text in the values must outlive the evaluation.
  const Variables* variables = nullptr;
  const Hooks* hooks = nullptr;
  // now(), today() and timeOfDay(); the system clock (UTC) when absent. Injected by tests.
  std::optional<Temporal> now;
};

struct Compiled;

class Expression {
 public:
  static Result<Expression> Compile(std::string_view text, const model::Definitions& defs);

  Result<Collection> Evaluate(const EvaluationContext& context) const;
  // Shorthand: the resource is the input, %resource and %rootResource.
  Result<Collection> Evaluate(const Resource& resource) const;

  const std::string& text() const;

 private:
  explicit Expression(std::shared_ptr<const Compiled> compiled) : compiled_(std::move(compiled)) {}
  std::shared_ptr<const Compiled> compiled_;
};

// A result item as the official test suite and `fhirhub fhirpath` print it:
// {"type":"<type>","value":<value>} with FHIR JSON for complex values.
std::string ToTypedJson(const Value& v);
// The JSON of a DOM node as it appears in FHIR JSON (objects for complex types and resources,
// JSON strings, numbers or booleans for primitives with a value).
std::string NodeToJson(const Node& node);

}  // namespace fhir::fhirpath

#endif  // FHIR_FHIRPATH_FHIRPATH_H_
