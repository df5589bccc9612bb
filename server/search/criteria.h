// FHIR search syntax to store conditions: one parameter of a query (its code, modifier and value)
// becomes an IndexCondition on the parameter's index rows, with the semantics of the R4 search
// specification for each parameter type:
//   number    [prefix]value; eq, ne and ap use the value's precision ("100" is [99.5, 100.5))
//   date      [prefix]date; the value and the indexed values are ranges from their precision
//   string    starts-with after NormalizeString; :exact, :contains
//   token     [system]|[code], code; :not, :text, :of-type; with a terminology Source, :in and
//             :not-in (a ValueSet's canonical URL), :below and :above (system|code)
//   reference [Type/]id, an absolute or canonical URL; :Type, :identifier
//   quantity  [prefix]number|system|code, compared in UCUM base units when the unit converts
//   uri       equality; :below, :above
//   composite the components' values separated by '$', each read by its own type, all holding
//             for one item (code-value-quantity=http://loinc.org|8480-6$gt140)
//   _text, _content  full text, read by full_text.h; :not
// and :missing for every type. Commas separate alternatives (any may match); "\," "\|" "\$" and
// "\\" escape. Pure functions, thread-safe.
//
// Errors (400, each naming the parameter in the expression): search.invalid-value,
// search.invalid-date, search.unsupported-modifier (a modifier this type does not take, or one
// not supported yet), search.empty-value-set (:in or :not-in of value sets without codes), and the
// errors of terminology/expansion.h.
#ifndef SERVER_SEARCH_CRITERIA_H_
#define SERVER_SEARCH_CRITERIA_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/result.h"
#include "server/search/registry.h"
#include "server/store/store.h"
#include "server/terminology/terminology.h"

namespace server::search {

// A FHIR date, dateTime or instant as the half-open range of instants it denotes: "2024" is the
// whole year, "2024-03-01T10:00:00.5Z" the tenth of a second. A time without a zone is taken as
// UTC. 400 search.invalid-date when `text` is not such a value.
struct TimeRange {
  store::Timestamp begin;
  store::Timestamp end;  // exclusive
};
fhir::Result<TimeRange> ParseTimeRange(std::string_view text, std::string_view parameter);

// Splits a parameter value at commas that are not escaped. The parts keep their other escapes
// ("a\|b" stays so), to be split further at '|' or '$' by SplitEscaped and then Unescape'd.
std::vector<std::string> SplitAlternatives(std::string_view value);
// Splits at unescaped `separator`, keeping escapes.
std::vector<std::string> SplitEscaped(std::string_view value, char separator);
// Removes the escaping backslashes ("\|" -> "|", "\\" -> "\").
std::string Unescape(std::string_view value);

// The condition for `param` with `modifier` ("" for none; "missing", "exact", "Patient", ...)
// and the parameter's value as received. `now` anchors the `ap` prefix of dates. `terminology`
// resolves the value sets and code systems of the token modifiers :in, :not-in, :below and
// :above, which become one token test per code (:not-in negated, like :not), plus one per code
// for values without a system (`code` elements such as Patient.gender, whose system their
// binding implies); without it they are search.unsupported-modifier.
fhir::Result<store::IndexCondition> ParseCriterion(const fhir::model::Definitions& defs,
                                                   const SearchParam& param,
                                                   std::string_view modifier,
                                                   std::string_view value, store::Timestamp now,
                                                   terminology::Source* terminology = nullptr);

// "token" for kToken, as SearchParameter.type and CapabilityStatement write it.
std::string_view ParamTypeName(ParamType type);

// The index table a parameter type's rows live in (kComposite: its components'); nullopt for
// special parameters.
std::optional<store::IndexKind> IndexKindOf(ParamType type);

}  // namespace server::search

#endif  // SERVER_SEARCH_CRITERIA_H_
