// The search parameters the server knows: the FHIR R4 SearchParameter definitions of the package
// and custom ones (SearchParameter resources stored on the server, files of the profiles
// directory), indexed by resource type and code, with their FHIRPath expressions compiled once.
// Immutable after loading; safe to share between threads. The server replaces the whole registry
// when the custom definitions change, and each request keeps the one it started with.
#ifndef SERVER_SEARCH_REGISTRY_H_
#define SERVER_SEARCH_REGISTRY_H_

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/fhirpath/fhirpath.h"
#include "fhir/model/definitions.h"
#include "fhir/result.h"

namespace server::search {

enum class ParamType {
  kNumber,
  kDate,
  kString,
  kToken,
  kReference,
  kComposite,
  kQuantity,
  kUri,
  kSpecial,
};

// "token" -> kToken; nullopt for anything else.
std::optional<ParamType> ParseParamType(std::string_view text);

// One SearchParameter resource as defined, shared by every resource type it applies to.
struct SearchParamDefinition {
  struct Component {
    std::string definition;  // the url of the component's SearchParameter
    std::string expression;  // relative to the composite's expression result
  };

  std::string url;
  std::string code;
  ParamType type = ParamType::kString;
  std::vector<std::string> base;    // as written ("Resource", "Patient", ...)
  std::vector<std::string> target;  // reference parameters: the allowed target types
  std::string expression;           // the whole expression; empty for _text, _content, ...
  bool multiple_or = true;
  bool multiple_and = true;
  std::vector<std::string> modifiers;
  std::vector<std::string> comparators;
  std::vector<Component> components;  // composite parameters
  // Not from the FHIR package: a stored SearchParameter resource or a profiles directory file.
  bool custom = false;
  std::string resource_id;  // a custom definition's SearchParameter.id; empty for files
  // New with this registry: index rows only for what was written or reindexed since (RowsPending).
  bool rows_pending = false;
};

// A search parameter as it applies to one resource type.
struct SearchParam {
  const SearchParamDefinition* definition = nullptr;
  std::string resource_type;
  // The part of the definition's expression that applies to this type: for a union of paths
  // starting with type names ("AllergyIntolerance.code | Condition.code") only the branches of
  // this type (or of Resource/DomainResource); otherwise the whole expression. "(path as Type)"
  // is rewritten to "path.ofType(Type)", which is what the standard expressions mean when the
  // path yields several items. Empty when the parameter has no expression; then it gives no
  // index rows.
  std::string expression_text;
  std::optional<fhir::fhirpath::Expression> expression;
  // A composite parameter's components, in definition order: each one's own definition (for its
  // type) and its expression, evaluated on each item of `expression`. Empty when a component's
  // definition is unknown or its expression does not compile; the composite is then not
  // searchable.
  struct Component {
    const SearchParamDefinition* definition = nullptr;
    fhir::fhirpath::Expression expression;
  };
  std::vector<Component> components;
  // The parameters of this type whose union this one is, when its branches are exactly theirs
  // (Observation combo-code = code | component-code; a composite also needs components of the
  // same types and expressions). Such a parameter gets no index rows of its own: a search on it
  // tests theirs. Empty for every other parameter; never set for reference parameters.
  std::vector<const SearchParam*> union_of;

  const std::string& code() const { return definition->code; }
  ParamType type() const { return definition->type; }
};

class Registry {
 public:
  // Parses SearchParameter JSON texts. Definitions come first-wins per (resource type, code): a
  // later duplicate is dropped with a warning, so custom parameters (installed SearchParameter
  // resources, appended after the base ones) cannot shadow them. Definitions that are malformed,
  // name unknown base types or whose expression does not compile are skipped with a warning rather
  // than failing the load; the load fails only when a text is not JSON at all or not a
  // SearchParameter. `custom_jsons` come after the package's and are marked custom; callers pick
  // which ones to use (by status) and check them first (ValidateCustomSearchParameter).
  static fhir::Result<std::unique_ptr<Registry>> Load(
      const std::vector<std::string>& search_parameter_jsons, const fhir::model::Definitions& defs,
      const std::vector<std::string>& custom_jsons = {});

  const SearchParam* Find(std::string_view resource_type, std::string_view code) const;
  // Every parameter of a resource type, ordered by code; empty for an unknown type.
  std::span<const SearchParam* const> ForType(std::string_view resource_type) const;

  const fhir::model::Definitions& definitions() const { return *defs_; }
  // What was skipped while loading, one line each ("<url>: <reason>").
  const std::vector<std::string>& warnings() const { return warnings_; }
  size_t definition_count() const { return definitions_.size(); }
  // The definition with this url, or nullptr; the first loaded when several share it.
  const SearchParamDefinition* FindDefinition(std::string_view url) const;
  // The custom definitions in use, in load order.
  std::vector<const SearchParamDefinition*> CustomDefinitions() const;

  // Marks a definition of this registry as new: resources written before it was installed get
  // their rows only from the background rebuild. For the builder, before the registry is shared.
  void MarkRowsPending(const SearchParamDefinition* definition);
  // Records that the index rows are complete for this registry's definitions. Thread-safe: the
  // one thing that changes in a shared registry.
  void MarkRowsBuilt() const { rows_built_ = true; }
  // Whether a search by `param` may still miss resources because their rows are being built.
  bool RowsPending(const SearchParam& param) const {
    return param.definition->rows_pending && !rows_built_;
  }

 private:
  explicit Registry(const fhir::model::Definitions& defs) : defs_(&defs) {}

  void Add(std::unique_ptr<SearchParamDefinition> definition);
  // Resolves the components of the composite parameters, once every definition is known.
  void ResolveComponents();
  // Sets union_of, once components are resolved.
  void ResolveUnions();

  const fhir::model::Definitions* defs_;
  std::vector<std::unique_ptr<SearchParamDefinition>> definitions_;
  std::vector<std::unique_ptr<SearchParam>> params_;
  // resource type -> its parameters, by code
  std::map<std::string, std::vector<const SearchParam*>, std::less<>> by_type_;
  std::vector<std::string> warnings_;
  mutable std::atomic<bool> rows_built_{false};
};

// The texts of the "<prefix>*.json" files of an unpacked package folder, in file name order.
// Fails when the folder or a file cannot be read.
fhir::Result<std::vector<std::string>> ReadPackageFiles(const std::filesystem::path& package_dir,
                                                        std::string_view prefix);

// The SearchParameter-*.json files, in the order Load gives precedence in.
fhir::Result<std::vector<std::string>> ReadSearchParameterFiles(
    const std::filesystem::path& package_dir);

// The concrete resource types a base names: itself, or every type deriving from an abstract one
// ("DomainResource"); empty when `base` is not a resource type.
std::vector<const fhir::model::TypeDef*> ConcreteTypes(std::string_view base,
                                                       const fhir::model::Definitions& defs);

// The part of a definition's expression that applies to `type` (SearchParam::expression_text);
// empty when no branch of a union of typed paths does.
std::string ExpressionForType(std::string_view expression, const fhir::model::TypeDef& type,
                              const fhir::model::Definitions& defs);

// `expression` with "(path as Type)" rewritten to "path.ofType(Type)"
// (SearchParam::expression_text).
std::string AsToOfType(std::string_view expression);

// The top-level branches of a FHIRPath union ("a | (b as X) | c" -> "a", "(b as X)", "c"),
// trimmed; a single branch when the expression is not a union. Exposed for tests.
std::vector<std::string_view> SplitTopLevelUnion(std::string_view expression);

}  // namespace server::search

#endif  // SERVER_SEARCH_REGISTRY_H_
