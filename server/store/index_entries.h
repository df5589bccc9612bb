// The search index rows of one resource version. The layer above (server/search) computes them
// from the SearchParameter definitions and the resource; the store writes them in the same
// transaction as the version, replacing the rows of the resource's previous version (a delete
// removes them). Only current versions are indexed. Values arrive normalised; the store writes
// them as they are and never interprets FHIR.
//
// Every row names its search parameter by its code (`param`, e.g. "identifier"); one resource type
// never has two parameters with one code. A composite parameter (code-value-quantity) gives, for
// each item its expression finds, one set of rows per component under the param "<code>$<n>"
// (n counts the components from 1), all with the item's `group`: a number from 1, distinct within
// the resource, so that a search can ask for components of one item. Other rows have group 0.
#ifndef SERVER_STORE_INDEX_ENTRIES_H_
#define SERVER_STORE_INDEX_ENTRIES_H_

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace server::store {

// Microseconds since the Unix epoch, UTC: the precision PostgreSQL keeps.
using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

struct IndexEntries {
  // A string parameter's value (HumanName and Address parts each give one row).
  struct String {
    std::string param;
    std::string normalized;  // case and accents folded, full-width forms narrowed (NormalizeString)
    std::string exact;       // the text as it is, for :exact and :contains
    int group = 0;
  };
  // A token: one row per Coding, Identifier, ContactPoint, code, boolean, id or string value.
  struct Token {
    std::string param;
    std::optional<std::string> system;  // nullopt: the value has no system
    std::string code;                   // the code, Identifier.value, ContactPoint.value, "true"
    // For :text: the normalised Coding.display, CodeableConcept.text or Identifier.type.text.
    // A CodeableConcept's text is a row of its own with an empty code.
    std::string text;
    // For :of-type (Identifier only): the Identifier.type coding(s), one row each.
    std::string type_system;
    std::string type_code;
    int group = 0;
  };
  // A date, dateTime, instant, Period or Timing event as the interval it covers, from the
  // value's precision: "2024-03" is [2024-03-01T00:00Z, 2024-04-01T00:00Z). A bound that is
  // absent (a Period without end) is open.
  struct Date {
    std::string param;
    std::optional<Timestamp> from;    // inclusive
    std::optional<Timestamp> before;  // exclusive
    int group = 0;
  };
  // A number (integer, decimal), as its decimal text.
  struct Number {
    std::string param;
    std::string value;
    int group = 0;
  };
  // A Quantity (or Money, Duration, Age...). `canonical_*` is the value in UCUM base units when the
  // system is UCUM and the unit converts; empty otherwise.
  struct Quantity {
    std::string param;
    std::string value;   // decimal text
    std::string system;  // "" when absent
    std::string code;    // "" when absent
    std::string unit;    // Quantity.unit, "" when absent
    std::string canonical_value;
    std::string canonical_code;
    int group = 0;
  };
  // A Reference, canonical or uri that a reference parameter indexes. A literal relative
  // reference "Patient/1" gives target_type/target_id; an absolute or canonical URL is kept in
  // `url` (canonicals without their "|version", which goes to `version`); Reference.identifier
  // gives identifier_system/identifier_value (for :identifier).
  struct Reference {
    std::string param;
    std::string target_type;
    std::string target_id;
    std::string url;
    std::string version;
    std::string identifier_system;
    std::string identifier_value;
    int group = 0;
  };
  struct Uri {
    std::string param;
    std::string value;
    int group = 0;
  };
  // A document for full-text search (_text, _content): its distinct lexemes, each with the
  // positions it occurs at, ascending. Positions run from 1 to 16383, with at most 256 per lexeme;
  // a lexeme is at most 2046 bytes and the whole document under 1 MB (PostgreSQL's tsvector
  // limits). The layer above chooses the lexemes; the store keeps them as they are. One row per
  // parameter and resource at most.
  struct Text {
    struct Lexeme {
      std::string text;
      std::vector<int> positions;
    };
    std::string param;
    std::vector<Lexeme> lexemes;
  };

  std::vector<String> strings;
  std::vector<Token> tokens;
  std::vector<Date> dates;
  std::vector<Number> numbers;
  std::vector<Quantity> quantities;
  std::vector<Reference> references;
  std::vector<Uri> uris;
  std::vector<Text> texts;

  // Rows of every kind.
  size_t size() const {
    return strings.size() + tokens.size() + dates.size() + numbers.size() + quantities.size() +
           references.size() + uris.size() + texts.size();
  }

  bool empty() const {
    return strings.empty() && tokens.empty() && dates.empty() && numbers.empty() &&
           quantities.empty() && references.empty() && uris.empty() && texts.empty();
  }
};

}  // namespace server::store

#endif  // SERVER_STORE_INDEX_ENTRIES_H_
