#include "server/terminology/expansion.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <set>
#include <string>
#include <utility>

namespace server::terminology {

namespace {

// Imports nest at most this deep, cycles or not.
constexpr int kMaxDepth = 16;

using CodeSet = std::set<Code>;

fhir::Error Invalid(std::string_view id, std::string text, std::string_view parameter) {
  return fhir::Error::Invalid(std::string(id), std::move(text), std::string(parameter));
}

fhir::Error TooLarge(std::string_view what, std::string_view parameter) {
  return Invalid("search.value-set-too-large",
                 std::string(what) + " has more than " + std::to_string(kMaxCodes) +
                     " codes, more than a search can test; use a smaller value set",
                 parameter);
}

std::pair<std::string_view, std::string_view> SplitCanonical(std::string_view canonical) {
  const size_t bar = canonical.find('|');
  if (bar == std::string_view::npos) return {canonical, {}};
  return {canonical.substr(0, bar), canonical.substr(bar + 1)};
}

class Expander {
 public:
  Expander(Source& source, std::string_view parameter) : source_(source), parameter_(parameter) {}

  fhir::Result<CodeSet> ValueSetCodes(std::string_view canonical, int depth) {
    const auto [url, version] = SplitCanonical(canonical);
    if (depth > kMaxDepth) {
      return Invalid("search.invalid-value-set",
                     "The value set " + std::string(url) + " imports value sets more than " +
                         std::to_string(kMaxDepth) + " levels deep",
                     parameter_);
    }
    if (std::find(stack_.begin(), stack_.end(), canonical) != stack_.end()) {
      return Invalid("search.invalid-value-set",
                     "The value set " + std::string(url) + " imports itself", parameter_);
    }
    auto found = source_.FindValueSet(url, version);
    if (!found.ok()) return std::move(found).error();
    const ValueSet* value_set = *found;
    if (value_set == nullptr) {
      return Invalid("search.unknown-value-set",
                     "The value set " + std::string(canonical) +
                         " is neither in the FHIR R4 definitions nor stored on this server",
                     parameter_);
    }
    if (value_set->has_expansion()) {
      CodeSet out(value_set->expansion().begin(), value_set->expansion().end());
      if (out.size() > kMaxCodes) return TooLarge("The value set " + std::string(url), parameter_);
      return out;
    }
    if (!value_set->has_compose()) {
      return Invalid(
          "search.invalid-value-set",
          "The value set " + std::string(url) + " has neither an expansion nor a compose",
          parameter_);
    }
    stack_.emplace_back(canonical);
    auto out = Compose(*value_set, depth);
    stack_.pop_back();
    return out;
  }

  fhir::Result<const CodeSystem*> System(std::string_view url, std::string_view version) {
    auto found = source_.FindCodeSystem(url, version);
    if (!found.ok()) return std::move(found).error();
    const std::string name = std::string(url) + (version.empty() ? "" : "|" + std::string(version));
    if (*found == nullptr) {
      return Invalid("search.unknown-code-system",
                     "The code system " + name + " is not loaded on this server", parameter_);
    }
    if ((*found)->content() == "not-present") {
      return Invalid("search.unknown-code-system",
                     "The code system " + name + " is loaded without its concepts", parameter_);
    }
    return *found;
  }

 private:
  fhir::Result<CodeSet> Compose(const ValueSet& value_set, int depth) {
    CodeSet out;
    for (const ComposeSet& include : value_set.include()) {
      auto codes = SetCodes(include, depth);
      if (!codes.ok()) return std::move(codes).error();
      out.merge(*codes);
      if (out.size() > kMaxCodes) {
        return TooLarge("The value set " + value_set.url(), parameter_);
      }
    }
    for (const ComposeSet& exclude : value_set.exclude()) {
      auto codes = SetCodes(exclude, depth);
      if (!codes.ok()) return std::move(codes).error();
      for (const Code& code : *codes) out.erase(code);
    }
    return out;
  }

  // One include or exclude: its system's part, intersected with each imported value set.
  fhir::Result<CodeSet> SetCodes(const ComposeSet& set, int depth) {
    std::optional<CodeSet> out;
    if (!set.system.empty()) {
      auto codes = SystemCodes(set);
      if (!codes.ok()) return std::move(codes).error();
      out = std::move(codes).value();
    }
    for (const std::string& canonical : set.value_sets) {
      auto codes = ValueSetCodes(canonical, depth + 1);
      if (!codes.ok()) return std::move(codes).error();
      if (!out) {
        out = std::move(codes).value();
        continue;
      }
      CodeSet both;
      std::set_intersection(out->begin(), out->end(), codes->begin(), codes->end(),
                            std::inserter(both, both.end()));
      out = std::move(both);
    }
    return out.value_or(CodeSet{});
  }

  fhir::Result<CodeSet> SystemCodes(const ComposeSet& set) {
    CodeSet out;
    auto add = [&](const std::vector<std::string>& codes) {
      for (const std::string& code : codes) out.insert(Code{set.system, code});
    };
    if (!set.concepts.empty() && set.filters.empty()) {
      // Listed concepts need no loaded system: a value set may enumerate LOINC codes.
      add(set.concepts);
      return out;
    }
    auto system = System(set.system, set.version);
    if (!system.ok()) return std::move(system).error();
    std::vector<std::string> codes = set.concepts.empty() ? (*system)->Codes() : set.concepts;
    for (const ComposeSet::Filter& filter : set.filters) {
      auto kept = Filtered(**system, codes, filter);
      if (!kept.ok()) return std::move(kept).error();
      codes = std::move(kept).value();
    }
    if (codes.size() > kMaxCodes) return TooLarge("The code system " + set.system, parameter_);
    add(codes);
    return out;
  }

  // The `codes` that pass `filter`.
  fhir::Result<std::vector<std::string>> Filtered(const CodeSystem& system,
                                                  const std::vector<std::string>& codes,
                                                  const ComposeSet::Filter& filter) {
    const std::string& op = filter.op;
    std::set<std::string> values;
    if (op == "in" || op == "not-in") {
      size_t start = 0;
      while (start <= filter.value.size()) {
        const size_t comma = std::min(filter.value.find(',', start), filter.value.size());
        values.insert(filter.value.substr(start, comma - start));
        start = comma + 1;
      }
    }
    const bool on_code = filter.property == "concept" || filter.property == "code";
    std::set<std::string> related;
    if (op == "is-a" || op == "descendent-of" || op == "is-not-a") {
      const auto below = system.Descendants(filter.value);
      related.insert(below.begin(), below.end());
      if (op == "descendent-of") related.erase(filter.value);
    } else if (op == "generalizes") {
      const auto above = system.Ancestors(filter.value);
      related.insert(above.begin(), above.end());
    } else if (op != "=" && op != "in" && op != "not-in" && op != "exists") {
      return Invalid("search.invalid-value-set",
                     "The value set filter '" + filter.property + " " + op + " " + filter.value +
                         "' on " + system.url() + " is not supported by this server",
                     parameter_);
    }
    std::vector<std::string> out;
    for (const std::string& code : codes) {
      bool keep = false;
      if (op == "is-a" || op == "descendent-of" || op == "generalizes") {
        keep = related.contains(code);
      } else if (op == "is-not-a") {
        keep = !related.contains(code);
      } else {
        std::vector<std::string_view> have;
        if (on_code) {
          have.push_back(code);
        } else {
          have = system.Property(code, filter.property);
        }
        if (op == "exists") {
          keep = (!have.empty()) == (filter.value != "false");
        } else if (op == "=") {
          keep = std::find(have.begin(), have.end(), filter.value) != have.end();
        } else {
          const bool in = std::any_of(have.begin(), have.end(), [&](std::string_view value) {
            return values.contains(std::string(value));
          });
          keep = op == "in" ? in : !in;
        }
      }
      if (keep) out.push_back(code);
    }
    return out;
  }

  Source& source_;
  std::string_view parameter_;
  std::vector<std::string> stack_;  // the value sets being expanded, outermost first
};

}  // namespace

fhir::Result<std::vector<Code>> Expand(Source& source, std::string_view canonical,
                                       std::string_view parameter) {
  Expander expander(source, parameter);
  auto codes = expander.ValueSetCodes(canonical, 0);
  if (!codes.ok()) return std::move(codes).error();
  return std::vector<Code>(codes->begin(), codes->end());
}

fhir::Result<std::vector<Code>> Subsumed(Source& source, std::string_view system,
                                         std::string_view code, Subsumption direction,
                                         std::string_view parameter) {
  Expander expander(source, parameter);
  const auto [url, version] = SplitCanonical(system);
  auto found = expander.System(url, version);
  if (!found.ok()) return std::move(found).error();
  if (!(*found)->Contains(code)) {
    return Invalid(
        "search.unknown-code",
        "The code " + std::string(code) + " is not in the code system " + std::string(url),
        parameter);
  }
  const std::vector<std::string> codes =
      direction == Subsumption::kBelow ? (*found)->Descendants(code) : (*found)->Ancestors(code);
  if (codes.size() > kMaxCodes) {
    return TooLarge("The codes subsumed by " + std::string(code), parameter);
  }
  std::vector<Code> out;
  out.reserve(codes.size());
  for (const std::string& one : codes) out.push_back(Code{std::string(url), one});
  return out;
}

}  // namespace server::terminology
