// Full-text search: `_text` (the narrative, Resource.text.div without its markup) and `_content`
// (every text value of the resource). One tokenizer turns both indexed text and search input into
// lexemes, so the two always agree:
//   - the text is first folded like string values (NormalizeString: case, accents, full-width);
//   - a run of letters and digits (Latin, Greek, Cyrillic, ...) is one word, at one position;
//   - a run of CJK characters (Han, kana, Hangul) gives each pair of neighbouring characters, at
//     the position of the first ("原发性" -> "原发" "发性"), and its last character alone at its
//     own position ("性"): one position per character, so the pairs of a query run sit at the
//     same distances as in the text, and a single character can be found wherever it stands;
//   - everything else (spaces, punctuation, symbols) separates and takes no position.
// Words longer than kMaxLexemeBytes are cut there (on a character boundary).
//
// A search value (after the usual commas and escapes) is a list of terms that must all occur:
// each unquoted chunk between spaces is a phrase of its tokens ("covid-19", "高血压"); a quoted
// "..." (ASCII or Chinese quotation marks) is one phrase; a chunk ending in '*' matches its last
// word as a prefix ("hyper*"); a single CJK character matches every pair it starts as well.
// Pure functions, thread-safe.
#ifndef SERVER_SEARCH_FULL_TEXT_H_
#define SERVER_SEARCH_FULL_TEXT_H_

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/element.h"
#include "fhir/result.h"
#include "server/search/registry.h"
#include "server/store/index_entries.h"
#include "server/store/store.h"

namespace server::search {

// Index size caps, per parameter and resource: the first kMaxTextPositions positions of the
// text are indexed (about 10,000 words or Chinese characters; the rest is not searchable), each
// lexeme with at most kMaxLexemePositions positions (further occurrences still match words, but
// not phrases), and no lexeme longer than kMaxLexemeBytes.
inline constexpr int kMaxTextPositions = 10000;
inline constexpr size_t kMaxLexemePositions = 256;
inline constexpr size_t kMaxLexemeBytes = 48;

struct TextToken {
  enum class Kind {
    kWord,       // a run of letters and digits
    kPair,       // two neighbouring CJK characters
    kRunEnd,     // the last character of a CJK run of two or more, which its last pair covers
    kCharacter,  // a CJK run of one character
  };
  std::string lexeme;
  int position = 0;  // from 0: one per word and per CJK character
  Kind kind = Kind::kWord;
};

// The tokens of `utf8` in order.
std::vector<TextToken> TokenizeText(std::string_view utf8);

// The text content of XHTML markup (a narrative's div): tags removed (a space for block-level
// ones, nothing for inline ones such as <b> or <span>), comments dropped, character references
// and the XML entities decoded.
std::string NarrativeText(std::string_view xhtml);

// `_text` and `_content`, which have no FHIRPath expression and are indexed by this file.
bool IsFullText(const SearchParam& param);

// The documents of the full-text parameters `params` (IsFullText) for the resource `root`:
// `_text` its narrative, `_content` every string, markdown, code and narrative value of the
// resource (contained resources included; ids and Reference.reference left out), with a
// position's gap between values so that no phrase spans two. None for a parameter without text.
void ExtractFullText(std::span<const SearchParam* const> params, const fhir::Node& root,
                     server::store::IndexEntries* out);

// The condition for a full-text parameter: the value's alternatives (commas), each a TextTest;
// :not (no alternative occurs) and :missing. 400 search.invalid-value when an alternative has no
// words, search.unsupported-modifier for other modifiers.
fhir::Result<server::store::IndexCondition> ParseFullTextCriterion(const SearchParam& param,
                                                                   std::string_view modifier,
                                                                   std::string_view value);

}  // namespace server::search

#endif  // SERVER_SEARCH_FULL_TEXT_H_
