// Code systems and value sets as the token modifiers :in, :not-in, :above and :below need them:
// a CodeSystem's concepts with their hierarchy (nested `concept`, and the `parent` and `child`
// properties) and properties, and a ValueSet's `expansion.contains` or `compose`. Parsed from
// the resources' JSON, either the definitions package's (Terminology, loaded once at start-up)
// or resources stored on the server (a Source that reads them). Objects are immutable after
// parsing and safe to share between threads.
#ifndef SERVER_TERMINOLOGY_TERMINOLOGY_H_
#define SERVER_TERMINOLOGY_TERMINOLOGY_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fhir/result.h"

namespace server::terminology {

// A code of a code system.
struct Code {
  std::string system;
  std::string code;
  auto operator<=>(const Code&) const = default;
};

class CodeSystem {
 public:
  // Parses a CodeSystem resource. 400 terminology.invalid-code-system when the text is not one,
  // or has no url.
  static fhir::Result<std::unique_ptr<CodeSystem>> Parse(std::string_view json);

  const std::string& url() const { return url_; }
  const std::string& version() const { return version_; }
  // CodeSystem.content: "complete", "fragment", "example", "not-present" or "supplement".
  const std::string& content() const { return content_; }

  // Every code, in definition order (nested concepts after their parent).
  std::vector<std::string> Codes() const;
  bool Contains(std::string_view code) const { return index_.contains(std::string(code)); }
  // `code` and every code below it (children, their children, ...), each once; empty when the
  // code is not in the system. Cycles in the hierarchy do not loop.
  std::vector<std::string> Descendants(std::string_view code) const;
  // `code` and every code above it, likewise.
  std::vector<std::string> Ancestors(std::string_view code) const;
  // The values of a concept's property as text (valueCode, valueString, "true", ...); empty when
  // the concept or the property is absent.
  std::vector<std::string_view> Property(std::string_view code, std::string_view property) const;

 private:
  struct Concept {
    std::string code;
    std::vector<std::pair<std::string, std::string>> properties;
    std::vector<size_t> parents;
    std::vector<size_t> children;
  };

  friend class CodeSystemReader;

  std::vector<std::string> Walk(std::string_view code, bool down) const;

  std::string url_;
  std::string version_;
  std::string content_;
  std::vector<Concept> concepts_;
  std::unordered_map<std::string, size_t> index_;
};

// ValueSet.compose.include or .exclude: explicit concepts or the whole system (each filtered),
// intersected with the value sets imported.
struct ComposeSet {
  struct Filter {
    std::string property;
    std::string op;
    std::string value;
  };
  std::string system;  // empty when the set only imports value sets
  std::string version;
  std::vector<std::string> concepts;
  std::vector<Filter> filters;
  std::vector<std::string> value_sets;  // canonical URLs, optionally with |version
};

class ValueSet {
 public:
  // Parses a ValueSet resource. 400 terminology.invalid-value-set when the text is not one, or
  // has no url.
  static fhir::Result<std::unique_ptr<ValueSet>> Parse(std::string_view json);

  const std::string& url() const { return url_; }
  const std::string& version() const { return version_; }
  // expansion.contains flattened (nested entries included, entries without a code skipped);
  // only meaningful when has_expansion().
  bool has_expansion() const { return has_expansion_; }
  const std::vector<Code>& expansion() const { return expansion_; }
  bool has_compose() const { return has_compose_; }
  const std::vector<ComposeSet>& include() const { return include_; }
  const std::vector<ComposeSet>& exclude() const { return exclude_; }

 private:
  std::string url_;
  std::string version_;
  bool has_expansion_ = false;
  std::vector<Code> expansion_;
  bool has_compose_ = false;
  std::vector<ComposeSet> include_;
  std::vector<ComposeSet> exclude_;

  friend class ValueSetReader;
};

// Where canonical URLs are looked up. Implementations may read a store, so they are not const
// and need not be thread-safe; what they return lives as long as the Source.
class Source {
 public:
  virtual ~Source() = default;
  // The ValueSet with canonical `url` (and `version`, unless empty); nullptr when none is known.
  // Errors are the source's own (a store that cannot be read).
  virtual fhir::Result<const ValueSet*> FindValueSet(std::string_view url,
                                                     std::string_view version) = 0;
  virtual fhir::Result<const CodeSystem*> FindCodeSystem(std::string_view url,
                                                         std::string_view version) = 0;
};

// The code systems and value sets of the definitions package. Immutable after loading;
// thread-safe.
class Terminology {
 public:
  // Parses ValueSet and CodeSystem JSON texts. The first of several with one url and version
  // wins; CodeSystem supplements are skipped. Texts that cannot be read are skipped with a
  // warning rather than failing the load.
  static std::unique_ptr<Terminology> Load(const std::vector<std::string>& value_set_jsons,
                                           const std::vector<std::string>& code_system_jsons);

  // With an empty `version`, the first loaded with the url.
  const ValueSet* FindValueSet(std::string_view url, std::string_view version) const;
  const CodeSystem* FindCodeSystem(std::string_view url, std::string_view version) const;

  size_t value_set_count() const { return value_sets_.size(); }
  size_t code_system_count() const { return code_systems_.size(); }
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  std::vector<std::unique_ptr<ValueSet>> value_sets_;
  std::vector<std::unique_ptr<CodeSystem>> code_systems_;
  // url -> indexes into the vectors above, in load order
  std::map<std::string, std::vector<size_t>, std::less<>> value_set_urls_;
  std::map<std::string, std::vector<size_t>, std::less<>> code_system_urls_;
  std::vector<std::string> warnings_;
};

// A Source over the package's Terminology alone.
class PackageSource final : public Source {
 public:
  explicit PackageSource(const Terminology& terminology) : terminology_(terminology) {}
  fhir::Result<const ValueSet*> FindValueSet(std::string_view url,
                                             std::string_view version) override {
    return terminology_.FindValueSet(url, version);
  }
  fhir::Result<const CodeSystem*> FindCodeSystem(std::string_view url,
                                                 std::string_view version) override {
    return terminology_.FindCodeSystem(url, version);
  }

 private:
  const Terminology& terminology_;
};

}  // namespace server::terminology

#endif  // SERVER_TERMINOLOGY_TERMINOLOGY_H_
