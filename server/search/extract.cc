#include "server/search/extract.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "fhir/fhirpath/quantity.h"
#include "fhir/fhirpath/temporal.h"
#include "server/search/full_text.h"

namespace server::search {

namespace {

using fhir::Node;
using fhir::fhirpath::Decimal;
using fhir::fhirpath::Temporal;
using fhir::fhirpath::TemporalKind;
using fhir::fhirpath::TemporalPrecision;
using fhir::fhirpath::Value;
using fhir::fhirpath::ValueKind;
using fhir::model::PrimitiveKind;
using server::store::IndexEntries;
using server::store::Timestamp;

// Base dimension names in the order of fhir::fhirpath::CanonicalUnit::exponents.
constexpr std::string_view kDimensionNames[fhir::fhirpath::CanonicalUnit::kDimensions] = {
    "m", "s", "g", "rad", "K", "C", "cd", "mol", "[IU]", "mo"};

constexpr std::string_view kUcum = "http://unitsofmeasure.org";
constexpr std::string_view kIso4217 = "urn:iso:std:iso:4217";

std::string_view ChildValue(const Node& node, std::string_view name) {
  const Node* child = node.Child(name);
  return child != nullptr && child->has_value ? child->value : std::string_view();
}

std::string_view TypeName(const Node& node) {
  return node.type != nullptr ? std::string_view(node.type->name) : std::string_view();
}

PrimitiveKind PrimitiveOf(const Node& node) {
  return node.is_primitive() && node.has_value ? node.type->primitive : PrimitiveKind::kNone;
}

// "Patient/1" or "Patient/1/_history/2" (also at the end of an absolute URL when `absolute`):
// the type and id, when the type is a resource type.
std::optional<std::pair<std::string_view, std::string_view>> ParseLiteralReference(
    std::string_view reference, const fhir::model::Definitions& defs, bool absolute) {
  std::vector<std::string_view> segments;
  size_t start = 0;
  for (size_t i = 0; i <= reference.size(); ++i) {
    if (i == reference.size() || reference[i] == '/') {
      segments.push_back(reference.substr(start, i - start));
      start = i + 1;
    }
  }
  size_t n = segments.size();
  if (n >= 4 && segments[n - 2] == "_history") n -= 2;
  if (n < 2 || (!absolute && n != 2)) return std::nullopt;
  std::string_view type = segments[n - 2];
  std::string_view id = segments[n - 1];
  if (id.empty() || defs.FindResource(type) == nullptr) return std::nullopt;
  return std::make_pair(type, id);
}

// resolve() without a server behind it: a reference resolves to an empty resource of the type it
// names, which is all that `where(resolve() is Patient)` in the standard expressions needs.
class TypeOnlyResolver : public fhir::fhirpath::Hooks {
 public:
  explicit TypeOnlyResolver(const fhir::model::Definitions& defs) : defs_(defs) {}

  const Node* Resolve(std::string_view reference) const override {
    auto target = ParseLiteralReference(reference, defs_, /*absolute=*/true);
    if (!target) return nullptr;
    const fhir::model::TypeDef* type = defs_.FindResource(target->first);
    auto [it, inserted] = stubs_.try_emplace(type, nullptr);
    if (inserted) it->second = arena_.NewNode(nullptr, type);
    return it->second;
  }

 private:
  const fhir::model::Definitions& defs_;
  mutable fhir::Resource arena_;
  mutable std::map<const fhir::model::TypeDef*, const Node*> stubs_;
};

struct Interval {
  std::optional<Timestamp> from;
  std::optional<Timestamp> before;
};

// The interval a date, dateTime or instant covers at its precision; values without a zone are
// taken as UTC.
std::optional<Interval> IntervalOf(const Temporal& t) {
  using namespace std::chrono;
  if (t.kind == TemporalKind::kTime) return std::nullopt;
  year_month_day date{year{t.year}, month{t.month}, day{t.day}};
  if (!date.ok()) return std::nullopt;
  Timestamp from = time_point_cast<microseconds>(sys_days(date)) + hours(t.hour) +
                   minutes(t.minute) + seconds(t.second) + milliseconds(t.millisecond);
  if (t.has_offset) from -= minutes(t.offset_minutes);
  Timestamp before;
  switch (t.precision) {
    case TemporalPrecision::kYear:
      before = sys_days(year_month_day{year{t.year + 1}, January, day{1}});
      break;
    case TemporalPrecision::kMonth:
      before = sys_days((year_month{year{t.year}, month{t.month}} + months(1)) / day{1});
      break;
    case TemporalPrecision::kDay:
      before = from + days(1);
      break;
    case TemporalPrecision::kHour:
      before = from + hours(1);
      break;
    case TemporalPrecision::kMinute:
      before = from + minutes(1);
      break;
    case TemporalPrecision::kSecond:
      before = from + seconds(1);
      break;
    case TemporalPrecision::kMillisecond:
      before = from + milliseconds(1);
      break;
  }
  return Interval{from, before};
}

std::optional<Interval> IntervalOfText(std::string_view text) {
  std::optional<Temporal> t = Temporal::ParseDateTime(text);
  if (!t) return std::nullopt;
  return IntervalOf(*t);
}

class Extractor {
 public:
  Extractor(const fhir::model::Definitions& defs, IndexEntries* out) : defs_(defs), out_(out) {}

  void Convert(const SearchParam& param, const Value& item) {
    Convert(param.code(), param.type(), item);
  }

  // Rows of `code` for `item` converted as a `type` value.
  void Convert(const std::string& code, ParamType type, const Value& item) {
    param_ = &code;
    switch (type) {
      case ParamType::kString:
        String(item);
        break;
      case ParamType::kToken:
        Token(item);
        break;
      case ParamType::kDate:
        Date(item);
        break;
      case ParamType::kNumber:
        Number(item);
        break;
      case ParamType::kQuantity:
        Quantity(item);
        break;
      case ParamType::kReference:
        Reference(item);
        break;
      case ParamType::kUri:
        Uri(item);
        break;
      case ParamType::kComposite:
      case ParamType::kSpecial:
        break;
    }
  }

 private:
  void AddString(std::string_view text) {
    std::string normalized = NormalizeString(text);
    if (normalized.empty()) return;
    out_->strings.push_back({*param_, std::move(normalized), std::string(text)});
  }

  void String(const Value& item) {
    if (!item.is_node()) {
      if (item.kind == ValueKind::kString) AddString(item.text);
      return;
    }
    const Node& node = *item.node;
    std::string_view type = TypeName(node);
    if (type == "HumanName" || type == "Address") {
      static constexpr std::string_view kNameParts[] = {"family", "given", "prefix", "suffix",
                                                        "text"};
      static constexpr std::string_view kAddressParts[] = {
          "line", "city", "district", "state", "postalCode", "country", "text"};
      std::span<const std::string_view> parts =
          type == "HumanName" ? std::span<const std::string_view>(kNameParts)
                              : std::span<const std::string_view>(kAddressParts);
      for (std::string_view part : parts) {
        for (const Node* child : node.Children(part)) {
          if (child->has_value) AddString(child->value);
        }
      }
      return;
    }
    if (std::optional<std::string_view> text = fhir::fhirpath::StringOf(item)) AddString(*text);
  }

  void AddToken(std::string_view system, std::string_view code, std::string_view text) {
    IndexEntries::Token row{*param_};
    if (!system.empty()) row.system = std::string(system);
    row.code = code;
    row.text = NormalizeString(text);
    out_->tokens.push_back(std::move(row));
  }

  void Coding(const Node& coding) {
    std::string_view code = ChildValue(coding, "code");
    std::string_view display = ChildValue(coding, "display");
    if (code.empty() && display.empty()) return;
    AddToken(ChildValue(coding, "system"), code, display);
  }

  void Token(const Value& item) {
    if (!item.is_node()) {
      if (item.kind == ValueKind::kString) AddToken({}, item.text, {});
      if (item.kind == ValueKind::kBoolean) AddToken({}, item.boolean ? "true" : "false", {});
      return;
    }
    const Node& node = *item.node;
    std::string_view type = TypeName(node);
    if (type == "Coding") {
      Coding(node);
    } else if (type == "CodeableConcept") {
      for (const Node* coding : node.Children("coding")) Coding(*coding);
      std::string_view text = ChildValue(node, "text");
      if (!text.empty()) AddToken({}, {}, text);
    } else if (type == "Identifier") {
      std::string_view value = ChildValue(node, "value");
      if (value.empty()) return;
      std::string_view system = ChildValue(node, "system");
      const Node* id_type = node.Child("type");
      std::string_view type_text = id_type != nullptr ? ChildValue(*id_type, "text") : "";
      size_t first = out_->tokens.size();
      AddToken(system, value, type_text);
      if (id_type == nullptr) return;
      bool used_first = false;
      for (const Node* coding : id_type->Children("coding")) {
        std::string_view type_code = ChildValue(*coding, "code");
        if (type_code.empty()) continue;
        if (used_first) out_->tokens.push_back(out_->tokens[first]);
        IndexEntries::Token& row = used_first ? out_->tokens.back() : out_->tokens[first];
        row.type_system = ChildValue(*coding, "system");
        row.type_code = type_code;
        used_first = true;
      }
    } else if (type == "ContactPoint") {
      std::string_view value = ChildValue(node, "value");
      if (!value.empty()) AddToken({}, value, {});
    } else if (PrimitiveOf(node) == PrimitiveKind::kBoolean) {
      AddToken({}, node.value, {});
    } else if (std::optional<std::string_view> text = fhir::fhirpath::StringOf(item)) {
      if (!text->empty()) AddToken({}, *text, {});
    }
  }

  void AddDate(std::optional<Timestamp> from, std::optional<Timestamp> before) {
    if (!from && !before) return;
    out_->dates.push_back({*param_, from, before});
  }

  void Date(const Value& item) {
    if (!item.is_node()) {
      if (item.kind == ValueKind::kDate || item.kind == ValueKind::kDateTime) {
        if (auto interval = IntervalOf(item.temporal)) AddDate(interval->from, interval->before);
      }
      return;
    }
    const Node& node = *item.node;
    switch (PrimitiveOf(node)) {
      case PrimitiveKind::kDate:
      case PrimitiveKind::kDateTime:
      case PrimitiveKind::kInstant:
        if (auto interval = IntervalOfText(node.value)) AddDate(interval->from, interval->before);
        return;
      default:
        break;
    }
    std::string_view type = TypeName(node);
    if (type == "Period") {
      std::optional<Interval> start, end;
      if (std::string_view text = ChildValue(node, "start"); !text.empty()) {
        start = IntervalOfText(text);
        if (!start) return;
      }
      if (std::string_view text = ChildValue(node, "end"); !text.empty()) {
        end = IntervalOfText(text);
        if (!end) return;
      }
      AddDate(start ? start->from : std::nullopt, end ? end->before : std::nullopt);
    } else if (type == "Timing") {
      for (const Node* event : node.Children("event")) {
        if (!event->has_value) continue;
        if (auto interval = IntervalOfText(event->value)) {
          AddDate(interval->from, interval->before);
        }
      }
    }
  }

  void Number(const Value& item) {
    if (item.kind == ValueKind::kInteger) {
      out_->numbers.push_back({*param_, std::to_string(item.integer)});
      return;
    }
    if (item.kind == ValueKind::kDecimal) {
      out_->numbers.push_back({*param_, item.decimal.ToString()});
      return;
    }
    if (!item.is_node()) return;
    switch (PrimitiveOf(*item.node)) {
      case PrimitiveKind::kInteger:
      case PrimitiveKind::kPositiveInt:
      case PrimitiveKind::kUnsignedInt:
      case PrimitiveKind::kDecimal:
        out_->numbers.push_back({*param_, std::string(item.node->value)});
        break;
      default:
        break;
    }
  }

  void Quantity(const Value& item) {
    if (!item.is_node() || item.node->type == nullptr) return;
    const Node& node = *item.node;
    std::string_view value = ChildValue(node, "value");
    if (value.empty()) return;
    IndexEntries::Quantity row{*param_, std::string(value)};
    if (TypeName(node) == "Money") {
      row.code = ChildValue(node, "currency");
      if (!row.code.empty()) row.system = kIso4217;
      out_->quantities.push_back(std::move(row));
      return;
    }
    const fhir::model::TypeDef* quantity = defs_.FindType("Quantity");
    if (quantity == nullptr || !node.type->IsA(*quantity)) return;
    row.system = ChildValue(node, "system");
    row.code = ChildValue(node, "code");
    row.unit = ChildValue(node, "unit");
    if (row.system == kUcum && !row.code.empty()) {
      if (auto canonical = CanonicalQuantity(value, row.code)) {
        row.canonical_value = std::move(canonical->first);
        row.canonical_code = std::move(canonical->second);
      }
    }
    out_->quantities.push_back(std::move(row));
  }

  void AddCanonical(std::string_view url) {
    if (url.empty()) return;
    IndexEntries::Reference row{*param_};
    size_t bar = url.find('|');
    row.url = url.substr(0, bar);
    if (bar != std::string_view::npos) row.version = url.substr(bar + 1);
    out_->references.push_back(std::move(row));
  }

  void Reference(const Value& item) {
    if (!item.is_node()) {
      if (item.kind == ValueKind::kString) AddCanonical(item.text);
      return;
    }
    const Node& node = *item.node;
    if (TypeName(node) != "Reference") {
      if (std::optional<std::string_view> text = fhir::fhirpath::StringOf(item)) {
        AddCanonical(*text);
      }
      return;
    }
    IndexEntries::Reference row{*param_};
    std::string_view reference = ChildValue(node, "reference");
    if (!reference.empty() && reference[0] != '#') {
      if (reference.starts_with("urn:") || reference.find("://") != std::string_view::npos) {
        row.url = reference;
      } else if (auto target = ParseLiteralReference(reference, defs_, /*absolute=*/false)) {
        row.target_type = target->first;
        row.target_id = target->second;
      }
    }
    if (const Node* identifier = node.Child("identifier")) {
      row.identifier_system = ChildValue(*identifier, "system");
      row.identifier_value = ChildValue(*identifier, "value");
    }
    if (row.target_id.empty() && row.url.empty() && row.identifier_value.empty()) return;
    out_->references.push_back(std::move(row));
  }

  void Uri(const Value& item) {
    std::optional<std::string_view> text = fhir::fhirpath::StringOf(item);
    if (text && !text->empty()) out_->uris.push_back({*param_, std::string(*text)});
  }

  const fhir::model::Definitions& defs_;
  IndexEntries* out_;
  const std::string* param_ = nullptr;
};

template <typename Row, typename Key>
void SortUnique(std::vector<Row>* rows, Key key) {
  std::sort(rows->begin(), rows->end(),
            [&](const Row& a, const Row& b) { return key(a) < key(b); });
  rows->erase(std::unique(rows->begin(), rows->end(),
                          [&](const Row& a, const Row& b) { return key(a) == key(b); }),
              rows->end());
}

void Deduplicate(IndexEntries* e) {
  SortUnique(&e->strings,
             [](const auto& r) { return std::tie(r.param, r.group, r.normalized, r.exact); });
  SortUnique(&e->tokens, [](const auto& r) {
    return std::tie(r.param, r.group, r.system, r.code, r.text, r.type_system, r.type_code);
  });
  SortUnique(&e->dates, [](const auto& r) { return std::tie(r.param, r.group, r.from, r.before); });
  SortUnique(&e->numbers, [](const auto& r) { return std::tie(r.param, r.group, r.value); });
  SortUnique(&e->quantities, [](const auto& r) {
    return std::tie(r.param, r.group, r.value, r.system, r.code, r.unit, r.canonical_value,
                    r.canonical_code);
  });
  SortUnique(&e->references, [](const auto& r) {
    return std::tie(r.param, r.group, r.target_type, r.target_id, r.url, r.version,
                    r.identifier_system, r.identifier_value);
  });
  SortUnique(&e->uris, [](const auto& r) { return std::tie(r.param, r.group, r.value); });
}

}  // namespace

std::optional<std::pair<std::string, std::string>> CanonicalQuantity(std::string_view value,
                                                                     std::string_view code) {
  std::optional<Decimal> amount = Decimal::Parse(value);
  std::optional<fhir::fhirpath::CanonicalUnit> unit = fhir::fhirpath::Canonicalize(code);
  if (!amount || !unit) return std::nullopt;
  // Canonicalize does not report the offset of a temperature unit that stands alone.
  int temperature = code == "Cel" ? 1 : code == "[degF]" ? 2 : unit->temperature;
  std::optional<Decimal> base;
  switch (temperature) {
    case 1:  // Celsius
      base = Decimal::Add(*amount, *Decimal::Parse("273.15"));
      break;
    case 2: {  // Fahrenheit
      auto sum = Decimal::Add(*amount, *Decimal::Parse("459.67"));
      auto scaled = sum ? Decimal::Multiply(*sum, Decimal::FromInteger(5)) : std::nullopt;
      base = scaled ? Decimal::Divide(*scaled, Decimal::FromInteger(9)) : std::nullopt;
      break;
    }
    default:
      base = Decimal::Multiply(*amount, unit->factor);
  }
  if (!base) return std::nullopt;
  std::string units;
  for (int i = 0; i < fhir::fhirpath::CanonicalUnit::kDimensions; ++i) {
    int exponent = unit->exponents[i];
    if (exponent == 0) continue;
    if (!units.empty()) units += '.';
    units += kDimensionNames[i];
    if (exponent != 1) units += std::to_string(exponent);
  }
  if (units.empty()) units = "1";
  return std::make_pair(base->Normalized().ToString(), std::move(units));
}

std::string ComponentCode(std::string_view composite, size_t index) {
  return std::string(composite) + "$" + std::to_string(index + 1);
}

bool IsResourceColumn(std::string_view code) { return code == "_id" || code == "_lastUpdated"; }

fhir::Result<IndexEntries> ExtractIndex(const Registry& registry, const fhir::Resource& resource) {
  if (resource.empty()) {
    return fhir::Error::Invalid("search.empty-resource", "an empty resource has no index");
  }
  IndexEntries entries;
  TypeOnlyResolver resolver(registry.definitions());
  fhir::fhirpath::EvaluationContext context;
  context.resource = resource.root();
  context.hooks = &resolver;
  Extractor extractor(registry.definitions(), &entries);
  int groups = 0;
  std::vector<const SearchParam*> full_text;
  for (const SearchParam* param : registry.ForType(resource.resource_type())) {
    if (IsFullText(*param)) {
      full_text.push_back(param);
      continue;
    }
    // A union of other parameters is searched on their rows.
    if (!param->expression || param->type() == ParamType::kSpecial ||
        IsResourceColumn(param->code()) || !param->union_of.empty()) {
      continue;
    }
    auto items = param->expression->Evaluate(context);
    // A runtime fault (e.g. a single item expected where the data has several) only loses this
    // parameter's rows for this resource.
    if (!items.ok()) continue;
    if (param->type() != ParamType::kComposite) {
      for (const Value& item : *items) extractor.Convert(*param, item);
      continue;
    }
    // A composite: each item's components, evaluated on the item, as rows of one group.
    for (const Value& item : *items) {
      if (!item.is_node() || param->components.empty()) continue;
      const int group = ++groups;
      const size_t before[] = {entries.strings.size(),    entries.tokens.size(),
                               entries.dates.size(),      entries.numbers.size(),
                               entries.quantities.size(), entries.references.size(),
                               entries.uris.size()};
      fhir::fhirpath::EvaluationContext on_item = context;
      on_item.context = item.node;
      bool complete = true;
      for (size_t i = 0; i < param->components.size() && complete; ++i) {
        const SearchParam::Component& component = param->components[i];
        auto values = component.expression.Evaluate(on_item);
        const size_t rows_before = entries.size();
        if (values.ok()) {
          const std::string code = ComponentCode(param->code(), i);
          for (const Value& value : *values) {
            extractor.Convert(code, component.definition->type, value);
          }
        }
        complete = entries.size() > rows_before;
      }
      auto mark = [group](auto& rows, size_t from) {
        for (size_t r = from; r < rows.size(); ++r) rows[r].group = group;
      };
      // An item without a value for some component can match no search of the composite.
      if (complete) {
        mark(entries.strings, before[0]);
        mark(entries.tokens, before[1]);
        mark(entries.dates, before[2]);
        mark(entries.numbers, before[3]);
        mark(entries.quantities, before[4]);
        mark(entries.references, before[5]);
        mark(entries.uris, before[6]);
      } else {
        entries.strings.resize(before[0]);
        entries.tokens.resize(before[1]);
        entries.dates.resize(before[2]);
        entries.numbers.resize(before[3]);
        entries.quantities.resize(before[4]);
        entries.references.resize(before[5]);
        entries.uris.resize(before[6]);
      }
    }
  }
  ExtractFullText(full_text, *resource.root(), &entries);
  Deduplicate(&entries);
  return entries;
}

}  // namespace server::search

namespace server::search {

std::vector<std::string> CompartmentOwners(const Registry& registry,
                                           const Compartments& compartments,
                                           std::string_view compartment_type,
                                           const fhir::Resource& resource) {
  std::vector<std::string> owners;
  if (resource.empty()) return owners;
  const std::string_view type = resource.resource_type();
  if (type == compartment_type) {
    if (const fhir::Node* id = resource.root()->Child("id"); id != nullptr && id->has_value) {
      owners.emplace_back(id->value);
    }
  }
  const std::vector<std::string>* links = compartments.Params(compartment_type, type);
  if (links == nullptr) return owners;
  IndexEntries entries;
  TypeOnlyResolver resolver(registry.definitions());
  fhir::fhirpath::EvaluationContext context;
  context.resource = resource.root();
  context.hooks = &resolver;
  Extractor extractor(registry.definitions(), &entries);
  for (const std::string& code : *links) {
    const SearchParam* param = registry.Find(type, code);
    if (param == nullptr || !param->expression || param->type() != ParamType::kReference) continue;
    auto items = param->expression->Evaluate(context);
    if (!items.ok()) continue;
    for (const Value& item : *items) extractor.Convert(*param, item);
  }
  for (const IndexEntries::Reference& row : entries.references) {
    if (row.target_type == compartment_type &&
        std::find(owners.begin(), owners.end(), row.target_id) == owners.end()) {
      owners.push_back(row.target_id);
    }
  }
  return owners;
}

}  // namespace server::search
