#include "server/rest/conditional.h"

#include <algorithm>
#include <iterator>
#include <string>
#include <vector>

#include "server/rest/search_params.h"
#include "server/rest/stored_terminology.h"

namespace server::rest {

namespace {

fhir::Error MissingCriteria(std::string_view where) {
  return fhir::Error::Invalid("rest.missing-criteria",
                              "A conditional interaction needs search criteria",
                              std::string(where));
}

}  // namespace

fhir::Result<std::optional<QueryParams>> IfNoneExistCriteria(const FhirRequest& request) {
  auto header = request.Header("if-none-exist");
  if (!header) return std::optional<QueryParams>();
  std::string_view text = *header;
  if (const size_t question = text.find('?'); question != std::string_view::npos) {
    text.remove_prefix(question + 1);
  }
  auto criteria = ParseQueryString(text);
  if (!criteria.ok()) return std::move(criteria).error();
  if (criteria->empty()) return MissingCriteria("If-None-Exist");
  return std::optional<QueryParams>(std::move(criteria).value());
}

QueryParams ConditionalCriteria(const FhirRequest& request) {
  QueryParams criteria;
  for (const auto& [name, value] : request.query) {
    if (name != "_format" && name != "_pretty" && name != "_summary" && name != "_elements") {
      criteria.emplace_back(name, value);
    }
  }
  return criteria;
}

namespace {

// The parameters that page or shape a search's answer rather than select resources.
bool IsResultParameter(std::string_view name) {
  static constexpr std::string_view kResult[] = {
      "_count",    "_cursor", "_sort",      "_include",       "_revinclude", "_summary",
      "_elements", "_total",  "_contained", "_containedType", "_format",     "_pretty"};
  const std::string_view base = name.substr(0, name.find(':'));
  return std::find(std::begin(kResult), std::end(kResult), base) != std::end(kResult);
}

}  // namespace

std::string CriteriaKey(std::string_view type, const QueryParams& criteria) {
  std::vector<std::string> pairs;
  pairs.reserve(criteria.size());
  for (const auto& [name, value] : criteria) pairs.push_back(name + "=" + value);
  std::sort(pairs.begin(), pairs.end());
  std::string key(type);
  for (size_t i = 0; i < pairs.size(); ++i) key += (i == 0 ? "?" : "&") + pairs[i];
  return key;
}

fhir::Result<std::vector<store::ResourceVersion>> FindMatches(
    store::Transaction& tx, const search::Registry& registry, std::string_view type,
    const QueryParams& criteria, std::string_view where,
    const terminology::Terminology* terminology) {
  if (criteria.empty()) return MissingCriteria(where);
  for (const auto& [name, value] : criteria) {
    // Paging or shaping parameters would make "no match" depend on the page asked for.
    if (IsResultParameter(name)) {
      return fhir::Error::Invalid("rest.invalid-criteria", name + " is not a search criterion",
                                  std::string(where));
    }
  }
  std::optional<StoredTerminology> stored;
  if (terminology != nullptr) stored.emplace(*terminology, tx);
  auto parsed = ParseSearch(registry, type, criteria, /*lenient=*/false, store::SystemClock().Now(),
                            stored ? &*stored : nullptr);
  if (!parsed.ok()) return std::move(parsed).error();
  parsed->query.count = 2;
  parsed->query.reuse_plan = true;
  if (auto locked = tx.LockCriteria({CriteriaKey(type, criteria)}); !locked.ok()) {
    return std::move(locked).error();
  }
  auto page = tx.Search(parsed->query);
  if (!page.ok()) return std::move(page).error();
  return std::move(page->entries);
}

fhir::Error MultipleMatches(std::string_view where) {
  return fhir::Error(412, fhir::Issue{.type = fhir::IssueType::kMultipleMatches,
                                      .message_id = "rest.multiple-matches",
                                      .text = "The criteria select more than one resource; make "
                                              "them more specific",
                                      .expression = std::string(where)});
}

}  // namespace server::rest
