// Character sets of HL7 v2 messages (MSH-18, HL7 table 0211) and their conversion to UTF-8 with
// glibc's iconv. Internal to mappings/hl7v2.
#ifndef MAPPINGS_HL7V2_CHARSET_H_
#define MAPPINGS_HL7V2_CHARSET_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mappings::hl7v2 {

// The iconv name for an MSH-18 value ("UNICODE UTF-8" -> "UTF-8", "GB 18030-2000" -> "GB18030",
// "GBK" -> "GB18030", "8859/1" -> "ISO-8859-1", "ASCII" -> "UTF-8" since ASCII is a subset);
// nullopt for a character set not supported.
std::optional<std::string> IconvName(std::string_view msh18);

// The offset of the first byte that is not part of valid UTF-8 (overlong forms and surrogates
// are invalid), or npos when all of `bytes` is valid.
std::size_t InvalidUtf8Offset(std::string_view bytes);

// Converts `bytes` from `charset` (an iconv name) to UTF-8. On a byte sequence invalid in the
// character set, returns false with `*out` holding the converted text before it and
// `*bad_offset` its offset in `bytes`.
bool ConvertToUtf8(std::string_view bytes, const std::string& charset, std::string* out,
                   std::size_t* bad_offset);

// Converts UTF-8 `text` to `charset`; false when a character cannot be represented there.
bool ConvertFromUtf8(std::string_view text, const std::string& charset, std::string* out);

}  // namespace mappings::hl7v2

#endif  // MAPPINGS_HL7V2_CHARSET_H_
