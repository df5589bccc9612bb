// The normal form string search compares in: case and accents folded, full-width forms narrowed,
// white space collapsed. Pure tables, no ICU; the same function runs on indexed values and on
// search input, so the two always agree.
#ifndef SERVER_SEARCH_NORMALIZE_H_
#define SERVER_SEARCH_NORMALIZE_H_

#include <string>
#include <string_view>

namespace server::search {

// Lower-cases and strips accents for Latin (Latin-1, Extended-A, the common Extended-B letters,
// combining marks), Greek and Cyrillic; folds full-width ASCII (U+FF01-U+FF5E) to ASCII and the
// ideographic space U+3000 to a space; leaves CJK and other scripts as they are; collapses runs
// of white space into one space and trims. Invalid UTF-8 bytes are dropped.
std::string NormalizeString(std::string_view utf8);

// Decodes the code point of `s` at *pos and advances past it. A byte that does not start a valid
// sequence gives kInvalidCodePoint and is skipped alone.
inline constexpr char32_t kInvalidCodePoint = 0xFFFFFFFF;
char32_t DecodeUtf8(std::string_view s, size_t* pos);

// Appends `c` in UTF-8; nothing for a value beyond U+10FFFF.
void AppendUtf8(char32_t c, std::string* out);

}  // namespace server::search

#endif  // SERVER_SEARCH_NORMALIZE_H_
