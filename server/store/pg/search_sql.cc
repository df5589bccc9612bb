#include "server/store/pg/search_sql.h"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <utility>
#include <variant>

#include "server/store/pg/sql_values.h"

namespace server::store::pg {

namespace {

const char* IndexTable(IndexKind kind) {
  switch (kind) {
    case IndexKind::kString:
      return "search_string";
    case IndexKind::kToken:
      return "search_token";
    case IndexKind::kDate:
      return "search_date";
    case IndexKind::kNumber:
      return "search_number";
    case IndexKind::kQuantity:
      return "search_quantity";
    case IndexKind::kReference:
      return "search_reference";
    case IndexKind::kUri:
    case IndexKind::kComposite:  // not a table of its own; its components name theirs
      return "search_uri";
    case IndexKind::kText:
      return "search_text";
  }
  return "search_token";
}

std::string And(const std::vector<std::string>& all) {
  if (all.empty()) return "true";
  std::string out;
  for (const std::string& one : all) out += (out.empty() ? "(" : " AND (") + one + ")";
  return out;
}

std::string Negated(std::string sql, bool negate) { return negate ? "NOT (" + sql + ")" : sql; }

// A sort key's value for the resource `c`, and the SQL type its cursor text is read back as.
struct SortColumn {
  std::string sql;
  const char* type;
};

// The statement under construction: its parameters, and fresh aliases for nested subqueries.
class Builder {
 public:
  explicit Builder(const std::string& tenant) : tenant_(Bind(tenant, "::text")) {}

  std::string Bind(std::string value, const char* cast) {
    params_.push_back(std::move(value));
    return "$" + std::to_string(params_.size()) + cast;
  }

  std::string Alias(const char* prefix) { return prefix + std::to_string(next_alias_++); }

  const std::string& tenant() const { return tenant_; }
  std::vector<Param> TakeParams() { return std::move(params_); }

  // From now on, every subquery of a condition ends with an optimisation fence (OFFSET 0): it
  // stays a test evaluated on each row it is given, which PostgreSQL plans on its own and
  // quickly, instead of a join whose order it searches for.
  void Fence() { fence_ = " OFFSET 0"; }

  // What a current resource `c` (an alias of resource_current) of query.type, or of one of
  // query.types, must satisfy. `walk_has` as for Filters.
  std::string Where(const SearchQuery& query, const std::string& c,
                    const std::vector<bool>* walk_has = nullptr) {
    if (query.type.empty()) {
      std::string sql = c + ".tenant = " + tenant_;
      if (!query.types.empty()) {
        std::vector<std::string> names;
        for (const SearchQuery& typed : query.types) names.push_back(typed.type);
        sql += " AND " + c + ".type = ANY(" + Bind(TextArray(names), "::text[]") + ")";
      }
      return sql + " AND NOT " + c + ".deleted" + Filters(query, c) + TypeFilters(query, c);
    }
    return c + ".tenant = " + tenant_ + " AND " + c + ".type = " + Bind(query.type, "::text") +
           " AND NOT " + c + ".deleted" + Filters(query, c, walk_has);
  }

  // What a current resource `c` of typed.type, one of the types of `query`, must satisfy.
  std::string TypeWhere(const SearchQuery& query, const SearchQuery& typed, const std::string& c) {
    return c + ".tenant = " + tenant_ + " AND " + c + ".type = " + Bind(typed.type, "::text") +
           " AND NOT " + c + ".deleted" + Filters(query, c) + Filters(typed, c);
  }

  // Across types, the filters of each type on its own resources, as " AND (...)"; "" when no
  // type has any.
  std::string TypeFilters(const SearchQuery& query, const std::string& c) {
    std::vector<std::pair<const std::string*, std::string>> branches;
    bool filtered = false;
    for (const SearchQuery& typed : query.types) {
      branches.emplace_back(&typed.type, Filters(typed, c));
      filtered = filtered || !branches.back().second.empty();
    }
    if (!filtered) return "";
    std::string any;
    for (const auto& [type, filters] : branches) {
      any += (any.empty() ? "(" : " OR (") + c + ".type = " + Bind(*type, "::text") + filters + ")";
    }
    return " AND (" + any + ")";
  }

  // The conditions of `query` beyond its type, each as " AND ...", on the resource `c`: an
  // alias with tenant, type and id columns, and last_updated when query.last_updated is used.
  // `walk_has`, one flag per query.has: the reverse chains to test resource by resource (see
  // SearchStatement) rather than as joins the planner may turn around.
  std::string Filters(const SearchQuery& query, const std::string& c,
                      const std::vector<bool>* walk_has = nullptr) {
    std::string sql;
    if (query.ids)
      sql += " AND " + c + ".id = ANY(" + Bind(TextArray(*query.ids), "::text[]") + ")";
    for (const std::vector<TimeInterval>& alternatives : query.last_updated) {
      std::string any;
      for (const TimeInterval& interval : alternatives) {
        std::vector<std::string> in;
        if (interval.from) in.push_back(c + ".last_updated >= " + Time(*interval.from));
        if (interval.before) in.push_back(c + ".last_updated < " + Time(*interval.before));
        any += (any.empty() ? "" : " OR ") + Negated(And(in), interval.negate);
      }
      sql += " AND (" + (any.empty() ? std::string("false") : any) + ")";
    }
    for (const IndexCondition& condition : query.conditions)
      sql += " AND " + Condition(condition, c);
    for (size_t i = 0; i < query.has.size(); ++i) {
      const bool walk = walk_has != nullptr && i < walk_has->size() && (*walk_has)[i];
      sql += " AND " + Has(query.has[i], c, walk);
    }
    if (query.compartment) sql += " AND " + InCompartment(*query.compartment, c);
    return sql;
  }

  SortColumn Sort(const SortKey& key, const std::string& c) {
    if (key.param == "_id") return {c + ".id", "text"};
    if (key.param == "_lastUpdated") return {c + ".last_updated", "timestamptz"};
    const char* aggregate = key.descending ? "max" : "min";
    std::string value;
    const char* type = "text";
    const std::string x = Alias("s");
    switch (key.kind) {
      case IndexKind::kString:
        value = x + ".normalized";
        break;
      case IndexKind::kToken:
        value = x + ".code";
        break;
      case IndexKind::kDate:
        value = x + ".\"from\"";
        type = "timestamptz";
        break;
      case IndexKind::kNumber:
      case IndexKind::kQuantity:
        value = x + ".value";
        type = "numeric";
        break;
      case IndexKind::kReference:
        value = "CASE WHEN " + x + ".target_id <> '' THEN " + x + ".target_type || '/' || " + x +
                ".target_id ELSE " + x + ".url END";
        break;
      case IndexKind::kUri:
      case IndexKind::kComposite:  // not sortable; search_params.cc refuses it
        value = x + ".value";
        break;
      case IndexKind::kText:  // not sortable either: full-text parameters have no expression
        value = "NULL::text";
        break;
    }
    return {"(SELECT " + std::string(aggregate) + "(" + value + ") FROM " + IndexTable(key.kind) +
                " " + x + " WHERE " + x + ".tenant = " + c + ".tenant AND " + x + ".type = " + c +
                ".type AND " + x + ".id = " + c + ".id AND " + ParamIs(x, key.param, key.union_of) +
                ")",
            type};
  }

  // The index row `x` is of the condition's parameter and passes one of its tests (not negated;
  // not for composites).
  std::string RowMatches(const IndexCondition& condition, const std::string& x) {
    std::string sql = ParamIs(x, condition.param, condition.union_of);
    if (!condition.any.empty()) {
      std::string any;
      for (const RowTest& test : condition.any) {
        any += (any.empty() ? "(" : " OR (") +
               std::visit([&](const auto& t) { return Test(t, x); }, test) + ")";
      }
      sql += " AND (" + any + ")";
    }
    return sql;
  }

 private:
  // The row `x` is of `param`, or of one of `union_of` when that is set.
  std::string ParamIs(const std::string& x, const std::string& param,
                      const std::vector<std::string>& union_of) {
    if (union_of.empty()) return x + ".param = " + Bind(param, "::text");
    return x + ".param = ANY(" + Bind(TextArray(union_of), "::text[]") + ")";
  }

  std::string Time(Timestamp t) {
    return "(timestamptz 'epoch' + " + Bind(Micros(t), "::bigint") + " * interval '1 microsecond')";
  }

  // [NOT] EXISTS a row of the condition's parameter for `c` that passes one of its tests.
  std::string Condition(const IndexCondition& condition, const std::string& c) {
    if (condition.kind == IndexKind::kComposite) {
      std::string any;
      for (const RowTest& test : condition.any) {
        if (const auto* composite = std::get_if<CompositeTest>(&test)) {
          any += (any.empty() ? "(" : " OR (") + Composite(*composite, c) + ")";
        }
      }
      return Negated(any.empty() ? "false" : any, condition.negate);
    }
    const std::string x = Alias("x");
    return std::string(condition.negate ? "NOT " : "") + "EXISTS (SELECT 1 FROM " +
           IndexTable(condition.kind) + " " + x + " WHERE " + x + ".tenant = " + c +
           ".tenant AND " + x + ".type = " + c + ".type AND " + x + ".id = " + c + ".id AND " +
           RowMatches(condition, x) + fence_ + ")";
  }

  // `c` refers to the compartment's resource through one of its parameters.
  std::string InCompartment(const CompartmentFilter& compartment, const std::string& c) {
    const std::string x = Alias("x");
    return "EXISTS (SELECT 1 FROM search_reference " + x + " WHERE " + x + ".tenant = " + c +
           ".tenant AND " + x + ".type = " + c + ".type AND " + x + ".id = " + c + ".id AND " + x +
           ".param = ANY(" + Bind(TextArray(compartment.params), "::text[]") + ") AND " + x +
           ".target_type = " + Bind(compartment.type, "::text") + " AND " + x +
           ".target_id = " + Bind(compartment.id, "::text") + fence_ + ")";
  }

  // A row of the first component with rows of the others in its group.
  std::string Composite(const CompositeTest& test, const std::string& c) {
    std::string sql;
    std::string first;
    for (const IndexCondition& component : test.components) {
      const std::string x = Alias("x");
      std::string where = x + ".tenant = " + c + ".tenant AND " + x + ".type = " + c +
                          ".type AND " + x + ".id = " + c + ".id AND " + x +
                          ".param = " + Bind(component.param, "::text");
      if (first.empty()) {
        first = x;
      } else {
        where += " AND " + x + ".grp = " + first + ".grp";
      }
      std::string any;
      for (const RowTest& row : component.any) {
        any += (any.empty() ? "(" : " OR (") +
               std::visit([&](const auto& t) { return Test(t, x); }, row) + ")";
      }
      if (!any.empty()) where += " AND (" + any + ")";
      sql += std::string(sql.empty() ? "" : " AND ") + "EXISTS (SELECT 1 FROM " +
             IndexTable(component.kind) + " " + x + " WHERE " + where;
    }
    // Close every EXISTS: each later one is nested in the first's WHERE.
    if (sql.empty()) return "false";
    for (size_t i = 0; i < test.components.size(); ++i) sql += fence_ + ")";
    return sql;
  }

  // Composites are answered by Composite(); no component is itself a composite.
  std::string Test(const CompositeTest&, const std::string&) { return "false"; }

  // Some current resource of has.source_type refers to `c` through has.param and matches.
  // Index rows exist only for current versions, so the referring row stands for its resource,
  // unless the source's conditions need its lastUpdated.
  // `walk`: an optimisation fence (OFFSET 0) keeps the test a subplan evaluated per resource.
  std::string Has(const ReverseChain& has, const std::string& c, bool walk) {
    const std::string r = Alias("r");
    std::string from = "search_reference " + r;
    std::string source = r;
    if (!has.source->last_updated.empty()) {
      source = Alias("h");
      from += " JOIN resource_current " + source + " ON " + source + ".tenant = " + r +
              ".tenant AND " + source + ".type = " + r + ".type AND " + source + ".id = " + r +
              ".id";
    }
    return "EXISTS (SELECT 1 FROM " + from + " WHERE " + r + ".tenant = " + c + ".tenant AND " + r +
           ".type = " + Bind(has.source_type, "::text") + " AND " + r +
           ".param = " + Bind(has.param, "::text") + " AND " + r + ".target_type = " + c +
           ".type AND " + r + ".target_id = " + c + ".id" + Filters(*has.source, source) +
           (walk || !fence_.empty() ? " OFFSET 0)" : ")");
  }

  std::string Test(const StringTest& test, const std::string& x) {
    switch (test.mode) {
      case StringTest::Mode::kStartsWith:
        return x + ".normalized ^@ " + Bind(test.value, "::text");
      case StringTest::Mode::kContains:
        return "strpos(" + x + ".normalized, " + Bind(test.value, "::text") + ") > 0";
      case StringTest::Mode::kExact:
        return x + ".exact = " + Bind(test.value, "::text");
    }
    return "false";
  }

  std::string Test(const TokenTest& test, const std::string& x) {
    std::vector<std::string> all;
    if (test.text) {
      all.push_back(x + ".text ^@ " + Bind(*test.text, "::text"));
    } else {
      if (test.system) {
        all.push_back(test.system->empty() ? x + ".system IS NULL"
                                           : x + ".system = " + Bind(*test.system, "::text"));
      }
      if (test.code) all.push_back(x + ".code = " + Bind(*test.code, "::text"));
    }
    if (test.type_system) all.push_back(x + ".type_system = " + Bind(*test.type_system, "::text"));
    if (test.type_code) all.push_back(x + ".type_code = " + Bind(*test.type_code, "::text"));
    return And(all);
  }

  std::string Test(const DateTest& test, const std::string& x) {
    std::vector<std::string> all;
    auto bound = [&](const char* column, const char* op, const std::optional<Timestamp>& value) {
      if (value) all.push_back(x + column + op + Time(*value));
    };
    bound(".\"from\"", " >= ", test.from_ge);
    bound(".\"from\"", " < ", test.from_lt);
    bound(".before", " > ", test.before_gt);
    bound(".before", " <= ", test.before_le);
    return Negated(And(all), test.outside);
  }

  std::string Test(const NumberTest& test, const std::string& x) {
    return Number(x + ".value", test);
  }

  std::string Test(const QuantityTest& test, const std::string& x) {
    std::vector<std::string> all;
    if (test.canonical) {
      all.push_back(x + ".canonical_code = " + Bind(test.code, "::text"));
      all.push_back(Number(x + ".canonical_value", test.number));
    } else {
      if (!test.system.empty()) all.push_back(x + ".system = " + Bind(test.system, "::text"));
      if (!test.code.empty()) all.push_back(x + ".code = " + Bind(test.code, "::text"));
      all.push_back(Number(x + ".value", test.number));
    }
    return And(all);
  }

  std::string Test(const ReferenceTest& test, const std::string& x) {
    std::vector<std::string> all;
    auto equal = [&](const char* column, const std::string& value) {
      if (!value.empty()) all.push_back(x + column + " = " + Bind(value, "::text"));
    };
    equal(".target_type", test.target_type);
    equal(".target_id", test.target_id);
    equal(".url", test.url);
    equal(".version", test.version);
    equal(".identifier_system", test.identifier_system);
    equal(".identifier_value", test.identifier_value);
    if (test.target) {
      // A chain: the row refers to a current resource that matches the target query.
      const std::string t = Alias("t");
      all.push_back(x + ".target_type = " + Bind(test.target->type, "::text"));
      all.push_back("EXISTS (SELECT 1 FROM resource_current " + t + " WHERE " + t + ".id = " + x +
                    ".target_id AND " + Where(*test.target, t) + fence_ + ")");
    }
    return And(all);
  }

  std::string Test(const UriTest& test, const std::string& x) {
    switch (test.mode) {
      case UriTest::Mode::kExact:
        return x + ".value = " + Bind(test.value, "::text");
      case UriTest::Mode::kBelow:
        return x + ".value ^@ " + Bind(test.value, "::text");
      case UriTest::Mode::kAbove:
        return "starts_with(" + Bind(test.value, "::text") + ", " + x + ".value)";
    }
    return "false";
  }

  // The tsquery is built here from quoted lexemes, so no text can add an operator to it.
  std::string Test(const TextTest& test, const std::string& x) {
    std::string query;
    for (const std::vector<TextTest::Lexeme>& term : test.terms) {
      if (term.empty()) continue;
      std::string phrase;
      for (size_t i = 0; i < term.size(); ++i) {
        if (i > 0) {
          const int distance = std::max(term[i].position - term[i - 1].position, 0);
          phrase += distance == 1 ? " <-> " : " <" + std::to_string(distance) + "> ";
        }
        phrase += TsQueryLexeme(term[i]);
      }
      query += (query.empty() ? "(" : " & (") + phrase + ")";
    }
    if (query.empty()) return "false";
    return x + ".doc @@ " + Bind(query, "::tsquery");
  }

  // 'text' with quotes and backslashes doubled, as tsquery input reads a quoted lexeme.
  static std::string TsQueryLexeme(const TextTest::Lexeme& lexeme) {
    std::string out = "'";
    for (char c : lexeme.text) {
      if (c == '\'' || c == '\\') out += c;
      out += c;
    }
    out += '\'';
    if (lexeme.prefix) out += ":*";
    return out;
  }

  std::string Number(const std::string& column, const NumberTest& test) {
    std::vector<std::string> all;
    if (test.lower) {
      all.push_back(column + (test.lower->inclusive ? " >= " : " > ") +
                    Bind(test.lower->value, "::numeric"));
    }
    if (test.upper) {
      all.push_back(column + (test.upper->inclusive ? " <= " : " < ") +
                    Bind(test.upper->value, "::numeric"));
    }
    return Negated(And(all), test.outside);
  }

  std::vector<Param> params_;
  std::string tenant_;
  int next_alias_ = 0;
  std::string fence_;
};

// The sort keys that order a page: the query's, up to and without an _id key, whose direction
// then orders the ids that break ties. Across types, the type breaks ties too: before the id,
// or after it when the query sorts by _id.
struct Order {
  std::vector<SortKey> keys;
  bool id_descending = false;
  bool across_types = false;
  bool id_before_type = false;
};

Order OrderOf(const SearchQuery& query) {
  Order order;
  order.across_types = query.type.empty();
  for (const SortKey& key : query.sort) {
    if (key.param == "_id") {
      order.id_descending = key.descending;
      order.id_before_type = true;
      break;
    }
    order.keys.push_back(key);
  }
  return order;
}

// A column of the order with its direction; sort keys may be null (and then come last).
struct OrderColumn {
  std::string sql;
  std::string type;
  bool descending = false;
  bool nullable = false;
};

// The columns after the sort keys that make the order total, on the alias `m`: the id, and
// across types the type.
std::vector<OrderColumn> TieColumns(const Order& order, const std::string& m) {
  OrderColumn id{m + ".id", "text", order.id_descending};
  if (!order.across_types) return {id};
  OrderColumn type{m + ".type", "text"};
  if (order.id_before_type) return {id, type};
  return {type, id};
}

std::string OrderBy(const std::vector<OrderColumn>& columns) {
  std::string sql;
  for (const OrderColumn& column : columns) {
    sql += (sql.empty() ? "" : ", ") + column.sql + (column.descending ? " DESC" : "") +
           (column.nullable ? " NULLS LAST" : "");
  }
  return sql;
}

// A cursor of sorted pages: each sort value (or null) and the id, as hex of
// "n" | "v<length>:<text>" fields, so that it travels in a URL as it is.
std::string EncodeCursor(const std::vector<std::optional<std::string>>& values) {
  std::string plain;
  for (const auto& value : values) {
    if (!value) {
      plain += 'n';
    } else {
      plain += 'v' + std::to_string(value->size()) + ':' + *value;
    }
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char byte : plain) {
    out += kHex[byte >> 4];
    out += kHex[byte & 15];
  }
  return out;
}

std::optional<std::vector<std::optional<std::string>>> DecodeCursor(const std::string& cursor,
                                                                    size_t fields) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (cursor.size() % 2 != 0) return std::nullopt;
  std::string plain;
  for (size_t i = 0; i < cursor.size(); i += 2) {
    const int high = nibble(cursor[i]);
    const int low = nibble(cursor[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    plain += static_cast<char>(high * 16 + low);
  }
  std::vector<std::optional<std::string>> values;
  size_t at = 0;
  while (at < plain.size()) {
    if (plain[at] == 'n') {
      values.emplace_back();
      ++at;
      continue;
    }
    if (plain[at] != 'v') return std::nullopt;
    const size_t colon = plain.find(':', at);
    if (colon == std::string::npos || colon == at + 1 || colon - at > 8) return std::nullopt;
    size_t length = 0;
    for (size_t i = at + 1; i < colon; ++i) {
      if (plain[i] < '0' || plain[i] > '9') return std::nullopt;
      length = length * 10 + static_cast<size_t>(plain[i] - '0');
    }
    if (colon + 1 + length > plain.size()) return std::nullopt;
    values.emplace_back(plain.substr(colon + 1, length));
    at = colon + 1 + length;
  }
  if (values.size() != fields || !values.back()) return std::nullopt;
  return values;
}

// The first condition that needs rows of its own parameter (not negated, not composite): its
// rows stand for the matches of the query, any other condition being tested on them.
std::vector<IndexCondition>::const_iterator FirstRequiredRows(const SearchQuery& query) {
  return std::find_if(query.conditions.begin(), query.conditions.end(),
                      [](const IndexCondition& condition) {
                        return !condition.negate && condition.kind != IndexKind::kComposite;
                      });
}

// Whether every test of `condition` is one closed range of its parameter's value index (an
// exact code, a referenced resource, a string's prefix, a day or a number with both bounds), so
// that counting its rows up to a cap reads about as many index entries as it counts and may find
// few: such a condition may drive a page (SearchPlan::driver). Dates bounded by their end (`ge`
// and `gt`, which are ORs of ranges), exact and contained strings (the index holds the normalised
// form), full text, quantities and chains may scan most rows of their parameter before they find
// any; an open range (`lt` a day) rarely narrows a search and would cost the full count.
bool NarrowsItsIndex(const IndexCondition& condition) {
  if (condition.negate || condition.any.empty()) return false;
  auto narrow = [](const RowTest& test) {
    if (const auto* string = std::get_if<StringTest>(&test)) {
      return string->mode == StringTest::Mode::kStartsWith;
    }
    if (const auto* token = std::get_if<TokenTest>(&test)) {
      return token->code.has_value() && !token->text;
    }
    if (const auto* reference = std::get_if<ReferenceTest>(&test)) {
      return !reference->target && (!reference->target_id.empty() || !reference->url.empty() ||
                                    !reference->identifier_value.empty());
    }
    if (const auto* date = std::get_if<DateTest>(&test)) {
      return !date->outside && date->from_ge && date->from_lt;
    }
    if (const auto* number = std::get_if<NumberTest>(&test)) {
      return !number->outside && number->lower && number->upper;
    }
    if (const auto* uri = std::get_if<UriTest>(&test)) return uri->mode != UriTest::Mode::kAbove;
    return false;
  };
  return std::all_of(condition.any.begin(), condition.any.end(), narrow);
}

fhir::Error InvalidCursor() {
  return fhir::Error::Invalid("store.invalid-cursor",
                              "The cursor does not continue this search; follow the next link as "
                              "it was given",
                              "_cursor");
}

// After the cursor's row (`values`, one per column) in the order of `columns`: equal on the
// columns before some column and beyond it there.
std::string After(Builder& b, const std::vector<OrderColumn>& columns,
                  const std::vector<std::optional<std::string>>& values) {
  std::string after;
  std::string equal_so_far;
  for (size_t i = 0; i < columns.size(); ++i) {
    const OrderColumn& column = columns[i];
    std::string beyond;
    std::string equal;
    if (values[i]) {
      const std::string v = b.Bind(*values[i], "::") + column.type;
      beyond = column.sql + (column.descending ? " < " : " > ") + v;
      if (column.nullable) beyond = "(" + beyond + " OR " + column.sql + " IS NULL)";
      equal = column.sql + " = " + v;
    } else {
      beyond = "false";
      equal = column.sql + " IS NULL";
    }
    after += (after.empty() ? "(" : " OR (") + equal_so_far + beyond + ")";
    equal_so_far += equal + " AND ";
  }
  return after;
}

}  // namespace

std::optional<Statement> ReverseChainDensity(const std::string& tenant, const ReverseChain& has,
                                             int cap) {
  const SearchQuery& source = *has.source;
  auto driver = FirstRequiredRows(source);
  if (driver == source.conditions.end()) return std::nullopt;
  Builder b(tenant);
  std::string sql = "SELECT count(*) FROM (SELECT 1 FROM " + std::string(IndexTable(driver->kind)) +
                    " d WHERE d.tenant = " + b.tenant() +
                    " AND d.type = " + b.Bind(has.source_type, "::text") + " AND " +
                    b.RowMatches(*driver, "d") + " LIMIT " + std::to_string(cap) + ") s";
  return Statement{std::move(sql), b.TakeParams()};
}

std::optional<size_t> FirstRequiredCondition(const SearchQuery& query) {
  auto driver = FirstRequiredRows(query);
  if (driver == query.conditions.end()) return std::nullopt;
  return static_cast<size_t>(driver - query.conditions.begin());
}

std::optional<DriverProbe> DriverProbeStatement(const std::string& tenant, const SearchQuery& query,
                                                int cap) {
  // Worth it only where PostgreSQL weighs many join orders: three tests or more on the
  // resources, sort keys among them (4 to 5 ms of planning for a patient's observations by code
  // and date, sorted). With one or two it plans in about half a millisecond, less than the
  // counts would cost; `_id` is a primary-key lookup.
  const size_t tests =
      query.conditions.size() + (query.compartment ? 1 : 0) + OrderOf(query).keys.size();
  if (query.type.empty() || !query.last_updated.empty() || !query.has.empty() || query.ids ||
      tests < 3) {
    return std::nullopt;
  }
  DriverProbe probe;
  Builder b(tenant);
  std::string counts;
  for (size_t i = 0; i < query.conditions.size(); ++i) {
    if (!NarrowsItsIndex(query.conditions[i])) continue;
    counts += std::string(counts.empty() ? "" : ", ") + "(SELECT count(*) FROM (SELECT 1 FROM " +
              IndexTable(query.conditions[i].kind) + " d WHERE d.tenant = " + b.tenant() +
              " AND d.type = " + b.Bind(query.type, "::text") + " AND " +
              b.RowMatches(query.conditions[i], "d") + " LIMIT " + std::to_string(cap) + ") s)";
    probe.candidates.push_back(i);
  }
  if (probe.candidates.empty()) return std::nullopt;
  probe.statement = Statement{"SELECT " + counts, b.TakeParams()};
  return probe;
}

fhir::Result<Statement> SearchStatement(const std::string& tenant, const SearchQuery& query,
                                        const SearchPlan& plan) {
  Builder b(tenant);
  const Order order = OrderOf(query);
  const std::string id_direction = order.id_descending ? " DESC" : "";
  const std::string limit = std::to_string(std::clamp(query.count, 1, 1000) + 1);
  // Every cursor but that of an unsorted search of one type (an id) holds a value per column.
  std::optional<std::vector<std::optional<std::string>>> cursor;
  if (query.after && (order.across_types || !order.keys.empty())) {
    const size_t ties = TieColumns(order, "m").size();
    cursor = DecodeCursor(*query.after, order.keys.size() + ties);
    if (!cursor || std::any_of(cursor->end() - static_cast<std::ptrdiff_t>(ties), cursor->end(),
                               [](const auto& value) { return !value; })) {
      return InvalidCursor();
    }
  }
  if (order.keys.empty() && order.across_types) {
    // As below, with the type in the order; by (type, id) as one row value, which the primary
    // key of resource_current answers in order.
    std::string after;
    if (cursor && !order.id_before_type) {
      after = " AND (c.type, c.id) > (" + b.Bind(*(*cursor)[0], "::text") + ", " +
              b.Bind(*(*cursor)[1], "::text") + ")";
    } else if (cursor) {
      after = " AND (" + After(b, TieColumns(order, "c"), *cursor) + ")";
    }
    const std::string page_order =
        " ORDER BY " + OrderBy(TieColumns(order, "c")) + " LIMIT " + limit;
    std::string pages;
    if (query.types.empty()) {
      pages = "SELECT c.tenant, c.type, c.id, c.version FROM resource_current c WHERE " +
              b.Where(query, "c") + after + page_order;
    } else {
      // A page of each type, chosen as a search of that type alone would choose it (with the
      // indexes that lead with the type), then merged.
      for (const SearchQuery& typed : query.types) {
        pages += std::string(pages.empty() ? "(" : " UNION ALL (") +
                 "SELECT c.tenant, c.type, c.id, c.version FROM resource_current c WHERE " +
                 b.TypeWhere(query, typed, "c") + after + page_order + ")";
      }
    }
    std::string sql = std::string("SELECT ") + kVersionColumnList + " FROM (" + pages +
                      ") m JOIN resource_version v USING (tenant, type, id, version) ORDER BY " +
                      OrderBy(TieColumns(order, "m")) + " LIMIT " + limit;
    return Statement{std::move(sql), b.TakeParams()};
  }
  // Driven from the index rows of one condition (SearchPlan::driver), which exist only for
  // current, undeleted resources: no plan, however made, reads more than those rows' resources,
  // and each other condition is a fenced test on them that plans in microseconds.
  std::string driven;
  if (plan.driver && *plan.driver < query.conditions.size() && !query.type.empty() &&
      query.last_updated.empty()) {
    const IndexCondition& driver = query.conditions[*plan.driver];
    SearchQuery rest = query;
    rest.conditions.erase(rest.conditions.begin() + static_cast<std::ptrdiff_t>(*plan.driver));
    b.Fence();
    driven = "SELECT DISTINCT d.tenant, d.type, d.id FROM " + std::string(IndexTable(driver.kind)) +
             " d WHERE d.tenant = " + b.tenant() + " AND d.type = " + b.Bind(query.type, "::text") +
             " AND " + b.RowMatches(driver, "d") + b.Filters(rest, "d", &plan.walk_has);
  }
  if (order.keys.empty() && !driven.empty()) {
    if (query.after) {
      driven += " AND d.id " + std::string(order.id_descending ? "<" : ">") + " " +
                b.Bind(*query.after, "::text");
    }
    driven += " ORDER BY d.id" + id_direction + " LIMIT " + limit;
    std::string sql = std::string("SELECT ") + kVersionColumnList + " FROM (" + driven +
                      ") m JOIN resource_current c USING (tenant, type, id) JOIN resource_version "
                      "v USING (tenant, type, id, version) ORDER BY m.id" +
                      id_direction;
    return Statement{std::move(sql), b.TakeParams()};
  }
  if (order.keys.empty()) {
    // The page is chosen on resource_current alone; only its rows then read their text.
    std::string page = "SELECT c.tenant, c.type, c.id, c.version FROM resource_current c WHERE " +
                       b.Where(query, "c", &plan.walk_has);
    if (query.after) {
      page += " AND c.id " + std::string(order.id_descending ? "<" : ">") + " " +
              b.Bind(*query.after, "::text");
    }
    page += " ORDER BY c.id" + id_direction + " LIMIT " + limit;
    std::string sql =
        std::string("SELECT ") + kVersionColumnList + " FROM (" + page +
        ") m JOIN resource_version v USING (tenant, type, id, version) ORDER BY m.id" +
        id_direction;
    return Statement{std::move(sql), b.TakeParams()};
  }
  // Sorted: the sort values are computed once per match in an inner query, then compared with
  // the cursor's and ordered, nulls last in either direction.
  std::string inner = "SELECT c.tenant, c.type, c.id, c.version";
  std::vector<OrderColumn> columns;
  for (size_t i = 0; i < order.keys.size(); ++i) {
    SortColumn column = b.Sort(order.keys[i], "c");
    inner += ", " + column.sql + " AS k" + std::to_string(i);
    columns.push_back(
        {"m.k" + std::to_string(i), column.type, order.keys[i].descending, /*nullable=*/true});
  }
  if (driven.empty()) {
    inner += " FROM resource_current c WHERE " + b.Where(query, "c");
  } else {
    inner += " FROM (" + driven + ") p JOIN resource_current c USING (tenant, type, id)";
  }
  std::string sql = std::string("SELECT ") + kVersionColumnList;
  for (size_t i = 0; i < order.keys.size(); ++i) sql += ", m.k" + std::to_string(i) + "::text";
  sql += " FROM (" + inner + ") m JOIN resource_version v USING (tenant, type, id, version)";
  const std::vector<OrderColumn> ties = TieColumns(order, "m");
  columns.insert(columns.end(), ties.begin(), ties.end());
  if (cursor) sql += " WHERE " + After(b, columns, *cursor);
  sql += " ORDER BY ";
  for (size_t i = 0; i < order.keys.size(); ++i) {
    sql +=
        "m.k" + std::to_string(i) + (order.keys[i].descending ? " DESC" : " ASC") + " NULLS LAST, ";
  }
  sql += OrderBy(ties) + " LIMIT " + limit;
  return Statement{std::move(sql), b.TakeParams()};
}

std::string NextCursor(const SearchQuery& query, const PgResult& rows, int row) {
  const Order order = OrderOf(query);
  if (order.keys.empty() && !order.across_types) return std::string(rows.Get(row, 1));
  std::vector<std::optional<std::string>> values;
  for (size_t i = 0; i < order.keys.size(); ++i) {
    const int column = kVersionColumnCount + static_cast<int>(i);
    if (rows.IsNull(row, column)) {
      values.emplace_back();
    } else {
      values.emplace_back(std::string(rows.Get(row, column)));
    }
  }
  // The tie columns of TieColumns: the id and, across types, the type.
  std::string type(rows.Get(row, 0));
  std::string id(rows.Get(row, 1));
  if (order.across_types && !order.id_before_type) values.emplace_back(std::move(type));
  values.emplace_back(std::move(id));
  if (order.across_types && order.id_before_type) values.emplace_back(std::move(type));
  return EncodeCursor(values);
}

Statement CountStatement(const std::string& tenant, const SearchQuery& query) {
  Builder b(tenant);
  // Index rows exist only for current, undeleted resources, so when a condition must hold, its
  // rows stand for the matches and resource_current need not be read (unless _lastUpdated is).
  auto driver = FirstRequiredRows(query);
  if (driver == query.conditions.end() || !query.last_updated.empty() || query.type.empty()) {
    std::string sql = "SELECT count(*) FROM resource_current c WHERE " + b.Where(query, "c");
    return Statement{std::move(sql), b.TakeParams()};
  }
  SearchQuery rest = query;
  rest.conditions.erase(rest.conditions.begin() + (driver - query.conditions.begin()));
  std::string sql = "SELECT count(DISTINCT d.id) FROM " + std::string(IndexTable(driver->kind)) +
                    " d WHERE d.tenant = " + b.tenant() +
                    " AND d.type = " + b.Bind(query.type, "::text") + " AND " +
                    b.RowMatches(*driver, "d") + b.Filters(rest, "d");
  return Statement{std::move(sql), b.TakeParams()};
}

Statement IncludeStatement(const std::string& tenant, const IncludeQuery& query) {
  Builder b(tenant);
  std::vector<std::string> types;
  std::vector<std::string> ids;
  for (const auto& [type, id] : query.from) {
    types.push_back(type);
    ids.push_back(id);
  }
  std::string refs = "SELECT " +
                     std::string(query.reverse ? "r.id" : "r.target_type, r.target_id") +
                     " FROM search_reference r WHERE r.tenant = " + b.tenant();
  if (!query.source_type.empty()) refs += " AND r.type = " + b.Bind(query.source_type, "::text");
  if (!query.param.empty()) refs += " AND r.param = " + b.Bind(query.param, "::text");
  if (query.target_type) refs += " AND r.target_type = " + b.Bind(*query.target_type, "::text");
  const std::string from_types = b.Bind(TextArray(types), "::text[]");
  const std::string from_ids = b.Bind(TextArray(ids), "::text[]");
  refs += std::string(query.reverse ? " AND (r.target_type, r.target_id)" : " AND (r.type, r.id)") +
          " IN (SELECT * FROM unnest(" + from_types + ", " + from_ids + "))";
  std::string sql = std::string("SELECT ") + kVersionColumnList +
                    " FROM resource_current c JOIN resource_version v"
                    " USING (tenant, type, id, version) WHERE c.tenant = " +
                    b.tenant() + " AND NOT c.deleted AND ";
  if (query.reverse) {
    sql += "c.type = " + b.Bind(query.source_type, "::text") + " AND c.id IN (" + refs + ")";
  } else {
    sql += "(c.type, c.id) IN (" + refs + ")";
  }
  sql += " LIMIT " + std::to_string(std::max(query.limit, 0));
  return Statement{std::move(sql), b.TakeParams()};
}

}  // namespace server::store::pg
