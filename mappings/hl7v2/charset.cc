#include "mappings/hl7v2/charset.h"

#include <iconv.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace mappings::hl7v2 {
namespace {

// Upper case without spaces, '-', '_' and '/', so "GB 18030-2000", "gb18030" and "GB-18030"
// compare equal.
std::string Squeeze(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == ' ' || c == '-' || c == '_' || c == '/') continue;
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return out;
}

// Runs iconv over all of `in`; false on an invalid or incomplete sequence, `*consumed` telling
// how many bytes of `in` were converted.
bool Iconv(iconv_t cd, std::string_view in, std::string* out, std::size_t* consumed) {
  char* in_ptr = const_cast<char*>(in.data());  // iconv's signature; it does not write there
  std::size_t in_left = in.size();
  char buffer[4096];
  while (in_left > 0) {
    char* out_ptr = buffer;
    std::size_t out_left = sizeof(buffer);
    std::size_t r = iconv(cd, &in_ptr, &in_left, &out_ptr, &out_left);
    out->append(buffer, out_ptr - buffer);
    if (r == static_cast<std::size_t>(-1) && errno != E2BIG) {
      *consumed = in.size() - in_left;
      return false;
    }
  }
  char* out_ptr = buffer;
  std::size_t out_left = sizeof(buffer);
  iconv(cd, nullptr, nullptr, &out_ptr, &out_left);
  out->append(buffer, out_ptr - buffer);
  *consumed = in.size();
  return true;
}

}  // namespace

std::optional<std::string> IconvName(std::string_view msh18) {
  const std::string name = Squeeze(msh18);
  if (name.empty() || name == "UNICODEUTF8" || name == "UTF8" || name == "ASCII" ||
      name == "USASCII" || name == "ISOIR6") {
    return "UTF-8";
  }
  if (name == "GB180302000" || name == "GB18030" || name == "GB180302005" || name == "GBK" ||
      name == "GB2312" || name == "CP936" || name == "EUCCN") {
    // GB 18030 is a superset of GBK and GB 2312: one decoder reads all three.
    return "GB18030";
  }
  if (name == "ISOIR100" || name == "LATIN1") return "ISO-8859-1";
  if (name.starts_with("8859") && name.size() <= 6) return "ISO-8859-" + name.substr(4);
  if (name.starts_with("ISO8859") && name.size() <= 9) return "ISO-8859-" + name.substr(7);
  return std::nullopt;
}

std::size_t InvalidUtf8Offset(std::string_view bytes) {
  const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  std::size_t i = 0;
  while (i < n) {
    // ASCII, the bulk of most messages, eight bytes at a time.
    while (i + 8 <= n) {
      std::uint64_t word;
      std::memcpy(&word, s + i, 8);
      if ((word & 0x8080808080808080ULL) != 0) break;
      i += 8;
    }
    if (i >= n) break;
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (i + len > n) return i;
    if (s[i + 1] < lo || s[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k) {
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

bool ConvertToUtf8(std::string_view bytes, const std::string& charset, std::string* out,
                   std::size_t* bad_offset) {
  out->clear();
  if (charset == "UTF-8") {
    std::size_t bad = InvalidUtf8Offset(bytes);
    if (bad != std::string_view::npos) {
      out->assign(bytes.substr(0, bad));
      *bad_offset = bad;
      return false;
    }
    out->assign(bytes);
    return true;
  }
  iconv_t cd = iconv_open("UTF-8", charset.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    *bad_offset = 0;
    return false;
  }
  out->reserve(bytes.size() + bytes.size() / 2);
  std::size_t consumed = 0;
  bool ok = Iconv(cd, bytes, out, &consumed);
  iconv_close(cd);
  if (!ok) *bad_offset = consumed;
  return ok;
}

bool ConvertFromUtf8(std::string_view text, const std::string& charset, std::string* out) {
  out->clear();
  if (charset == "UTF-8") {
    out->assign(text);
    return InvalidUtf8Offset(text) == std::string_view::npos;
  }
  iconv_t cd = iconv_open(charset.c_str(), "UTF-8");
  if (cd == reinterpret_cast<iconv_t>(-1)) return false;
  std::size_t consumed = 0;
  bool ok = Iconv(cd, text, out, &consumed);
  iconv_close(cd);
  return ok;
}

}  // namespace mappings::hl7v2
