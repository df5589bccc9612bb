#include "server/search/normalize.h"

#include <cstdint>

namespace server::search {

namespace {

// U+00C0..U+00FF without their accents, lower case; nullptr keeps the character (× and ÷).
constexpr const char* kLatin1[64] = {
    "a", "a", "a", "a", "a", "a", "ae", "c",     "e", "e", "e", "e", "i", "i", "i",  "i",
    "d", "n", "o", "o", "o", "o", "o",  nullptr, "o", "u", "u", "u", "u", "y", "th", "ss",
    "a", "a", "a", "a", "a", "a", "ae", "c",     "e", "e", "e", "e", "i", "i", "i",  "i",
    "d", "n", "o", "o", "o", "o", "o",  nullptr, "o", "u", "u", "u", "u", "y", "th", "y",
};

// U+0100..U+017F (Latin Extended-A): the base letter of each; the ligatures Ĳ ĳ Œ œ are handled
// before this table.
constexpr char kLatinExtendedA[] =
    "aaaaaacccccccc"
    "dddd"
    "eeeeeeeeee"
    "gggggggg"
    "hhhh"
    "iiiiiiiiii"
    "ii"
    "jj"
    "kkk"
    "llllllllll"
    "nnnnnnnnn"
    "oooooooo"
    "rrrrrr"
    "ssssssss"
    "tttttt"
    "uuuuuuuuuuuu"
    "ww"
    "yyy"
    "zzzzzz"
    "s";
static_assert(sizeof(kLatinExtendedA) == 128 + 1);

// The Latin Extended-B letters names and addresses use (pinyin tone marks, Vietnamese horned
// vowels, Romanian comma-below letters, ...).
struct Fold {
  char32_t from;
  const char* to;
};
constexpr Fold kLatinExtendedB[] = {
    {0x0180, "b"},  {0x0181, "b"},  {0x0187, "c"},  {0x0188, "c"},  {0x0189, "d"},  {0x018A, "d"},
    {0x0191, "f"},  {0x0192, "f"},  {0x0193, "g"},  {0x0197, "i"},  {0x0198, "k"},  {0x0199, "k"},
    {0x019A, "l"},  {0x019D, "n"},  {0x019E, "n"},  {0x019F, "o"},  {0x01A0, "o"},  {0x01A1, "o"},
    {0x01AB, "t"},  {0x01AC, "t"},  {0x01AD, "t"},  {0x01AE, "t"},  {0x01AF, "u"},  {0x01B0, "u"},
    {0x01B3, "y"},  {0x01B4, "y"},  {0x01B5, "z"},  {0x01B6, "z"},  {0x01C4, "dz"}, {0x01C5, "dz"},
    {0x01C6, "dz"}, {0x01C7, "lj"}, {0x01C8, "lj"}, {0x01C9, "lj"}, {0x01CA, "nj"}, {0x01CB, "nj"},
    {0x01CC, "nj"}, {0x01CD, "a"},  {0x01CE, "a"},  {0x01CF, "i"},  {0x01D0, "i"},  {0x01D1, "o"},
    {0x01D2, "o"},  {0x01D3, "u"},  {0x01D4, "u"},  {0x01D5, "u"},  {0x01D6, "u"},  {0x01D7, "u"},
    {0x01D8, "u"},  {0x01D9, "u"},  {0x01DA, "u"},  {0x01DB, "u"},  {0x01DC, "u"},  {0x01DE, "a"},
    {0x01DF, "a"},  {0x01E0, "a"},  {0x01E1, "a"},  {0x01E2, "ae"}, {0x01E3, "ae"}, {0x01E4, "g"},
    {0x01E5, "g"},  {0x01E6, "g"},  {0x01E7, "g"},  {0x01E8, "k"},  {0x01E9, "k"},  {0x01EA, "o"},
    {0x01EB, "o"},  {0x01EC, "o"},  {0x01ED, "o"},  {0x01F0, "j"},  {0x01F1, "dz"}, {0x01F2, "dz"},
    {0x01F3, "dz"}, {0x01F4, "g"},  {0x01F5, "g"},  {0x01F8, "n"},  {0x01F9, "n"},  {0x01FA, "a"},
    {0x01FB, "a"},  {0x01FC, "ae"}, {0x01FD, "ae"}, {0x01FE, "o"},  {0x01FF, "o"},  {0x0200, "a"},
    {0x0201, "a"},  {0x0202, "a"},  {0x0203, "a"},  {0x0204, "e"},  {0x0205, "e"},  {0x0206, "e"},
    {0x0207, "e"},  {0x0208, "i"},  {0x0209, "i"},  {0x020A, "i"},  {0x020B, "i"},  {0x020C, "o"},
    {0x020D, "o"},  {0x020E, "o"},  {0x020F, "o"},  {0x0210, "r"},  {0x0211, "r"},  {0x0212, "r"},
    {0x0213, "r"},  {0x0214, "u"},  {0x0215, "u"},  {0x0216, "u"},  {0x0217, "u"},  {0x0218, "s"},
    {0x0219, "s"},  {0x021A, "t"},  {0x021B, "t"},  {0x021E, "h"},  {0x021F, "h"},  {0x0226, "a"},
    {0x0227, "a"},  {0x0228, "e"},  {0x0229, "e"},  {0x022A, "o"},  {0x022B, "o"},  {0x022C, "o"},
    {0x022D, "o"},  {0x022E, "o"},  {0x022F, "o"},  {0x0230, "o"},  {0x0231, "o"},  {0x0232, "y"},
    {0x0233, "y"},
};

// Greek capitals and accented letters U+0386..U+03CE to their plain small letter (0: keep).
char32_t FoldGreek(char32_t c) {
  switch (c) {
    case 0x0386:
    case 0x03AC:
      return 0x03B1;  // ά
    case 0x0388:
    case 0x03AD:
      return 0x03B5;  // έ
    case 0x0389:
    case 0x03AE:
      return 0x03B7;  // ή
    case 0x038A:
    case 0x03AA:
    case 0x03AF:
    case 0x0390:
    case 0x03CA:
      return 0x03B9;  // ί ϊ ΐ
    case 0x038C:
    case 0x03CC:
      return 0x03BF;  // ό
    case 0x038E:
    case 0x03AB:
    case 0x03CD:
    case 0x03B0:
    case 0x03CB:
      return 0x03C5;  // ύ ϋ ΰ
    case 0x038F:
    case 0x03CE:
      return 0x03C9;  // ώ
    case 0x03C2:
      return 0x03C3;  // final sigma matches sigma
    default:
      break;
  }
  if (c >= 0x0391 && c <= 0x03A9) return c + 0x20;
  return c;
}

char32_t FoldCyrillic(char32_t c) {
  if (c >= 0x0400 && c <= 0x040F) c += 0x50;  // Ѐ..Џ
  if (c >= 0x0410 && c <= 0x042F) c += 0x20;  // А..Я
  if (c == 0x0451) return 0x0435;             // ё -> е
  if (c == 0x0439) return 0x0438;             // й -> и
  if ((c >= 0x0460 && c <= 0x0481) || (c >= 0x048A && c <= 0x04BF) ||
      (c >= 0x04D0 && c <= 0x04FF)) {
    return c | 1;  // upper case letters are the even ones
  }
  if (c == 0x04C0) return 0x04CF;
  if (c >= 0x04C1 && c <= 0x04CE && (c & 1) == 1) return c + 1;
  return c;
}

bool IsSpace(char32_t c) {
  return c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

// Appends the folded form of one non-space code point.
void AppendFolded(char32_t c, std::string* out) {
  if (c >= 0xFF01 && c <= 0xFF5E) c -= 0xFEE0;  // full-width ASCII
  if (c < 0x80) {
    out->push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
    return;
  }
  if (c >= 0x0300 && c <= 0x036F) return;  // combining marks of decomposed text
  if (c >= 0x00C0 && c <= 0x00FF) {
    if (const char* folded = kLatin1[c - 0xC0]) {
      out->append(folded);
      return;
    }
  } else if (c >= 0x0100 && c <= 0x017F) {
    if (c == 0x0132 || c == 0x0133) {
      out->append("ij");
    } else if (c == 0x0152 || c == 0x0153) {
      out->append("oe");
    } else {
      out->push_back(kLatinExtendedA[c - 0x0100]);
    }
    return;
  } else if (c >= 0x0180 && c <= 0x024F) {
    for (const Fold& fold : kLatinExtendedB) {
      if (fold.from == c) {
        out->append(fold.to);
        return;
      }
    }
  } else if ((c >= 0x1E00 && c <= 0x1E95) || (c >= 0x1EA0 && c <= 0x1EFF)) {
    c |= 1;  // Latin Extended Additional: lower case only (the small letters are the odd ones)
  } else if (c >= 0x0370 && c <= 0x03FF) {
    c = FoldGreek(c);
  } else if (c >= 0x0400 && c <= 0x04FF) {
    c = FoldCyrillic(c);
  }
  AppendUtf8(c, out);
}

}  // namespace

void AppendUtf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c <= 0x10FFFF) {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

char32_t DecodeUtf8(std::string_view s, size_t* pos) {
  auto byte = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  uint8_t b0 = byte(*pos);
  if (b0 < 0x80) {
    ++*pos;
    return b0;
  }
  size_t length;
  char32_t c;
  char32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    length = 2, c = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    length = 3, c = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    length = 4, c = b0 & 0x07, min = 0x10000;
  } else {
    ++*pos;
    return kInvalidCodePoint;
  }
  if (*pos + length > s.size()) {
    ++*pos;
    return kInvalidCodePoint;
  }
  for (size_t i = 1; i < length; ++i) {
    uint8_t b = byte(*pos + i);
    if ((b & 0xC0) != 0x80) {
      ++*pos;
      return kInvalidCodePoint;
    }
    c = (c << 6) | (b & 0x3F);
  }
  if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
    ++*pos;
    return kInvalidCodePoint;
  }
  *pos += length;
  return c;
}

std::string NormalizeString(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  bool pending_space = false;
  size_t pos = 0;
  while (pos < utf8.size()) {
    char32_t c = DecodeUtf8(utf8, &pos);
    if (c == kInvalidCodePoint) continue;
    if (IsSpace(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) {
      out.push_back(' ');
      pending_space = false;
    }
    AppendFolded(c, &out);
  }
  return out;
}

}  // namespace server::search
