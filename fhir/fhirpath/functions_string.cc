// String functions. Positions and lengths count Unicode characters (code points), not bytes.
#include <cctype>
#include <regex>
#include <string>
#include <vector>

#include "fhir/fhirpath/evaluator.h"

namespace fhir::fhirpath {
namespace {

// Byte offsets of each character start, plus the end.
std::vector<size_t> CharOffsets(std::string_view s) {
  std::vector<size_t> out;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) out.push_back(i);
  }
  out.push_back(s.size());
  return out;
}

// The number of characters (code points) in UTF-8 text.
int64_t CharCount(std::string_view s) {
  int64_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

// The input string (nullopt: empty result) or an error for non-string input.
Result<std::optional<std::string_view>> Input(Evaluator& ev, const AstNode& call,
                                              const Items& focus) {
  return ev.SingleString(focus, call);
}

Result<std::optional<std::string_view>> StringArg(Evaluator& ev, const AstNode& call, size_t i,
                                                  const Frame& frame) {
  auto items = ev.Arg(call, i, frame);
  if (!items.ok()) return std::move(items).error();
  return ev.SingleString(*items, call);
}

Items One(Evaluator& ev, Value v) {
  Items out = ev.NewItems();
  out.push_back(v);
  return out;
}

#define FHIRPATH_INPUT(var)                             \
  auto var##_r = Input(ev, call, focus);                \
  if (!var##_r.ok()) return std::move(var##_r).error(); \
  if (!*var##_r) return ev.NewItems();                  \
  std::string_view var = **var##_r

#define FHIRPATH_STRING_ARG(var, i)                     \
  auto var##_r = StringArg(ev, call, i, frame);         \
  if (!var##_r.ok()) return std::move(var##_r).error(); \
  if (!*var##_r) return ev.NewItems();                  \
  std::string_view var = **var##_r

Result<Items> IndexOf(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame) {
  FHIRPATH_INPUT(s);
  FHIRPATH_STRING_ARG(sub, 0);
  size_t pos = s.find(sub);
  if (pos == std::string_view::npos) return One(ev, Value::OfInteger(-1));
  return One(ev, Value::OfInteger(CharCount(s.substr(0, pos))));
}

Result<Items> Substring(Evaluator& ev, const AstNode& call, const Items& focus,
                        const Frame& frame) {
  FHIRPATH_INPUT(s);
  auto start_items = ev.Arg(call, 0, frame);
  if (!start_items.ok()) return start_items;
  auto start = ev.SingleInteger(*start_items, call);
  if (!start.ok()) return std::move(start).error();
  if (!*start) return ev.NewItems();
  auto offsets = CharOffsets(s);
  const int64_t chars = static_cast<int64_t>(offsets.size()) - 1;
  if (**start < 0 || **start >= chars) return ev.NewItems();
  int64_t end = chars;
  if (call.arg_count() > 1) {
    auto len_items = ev.Arg(call, 1, frame);
    if (!len_items.ok()) return len_items;
    auto len = ev.SingleInteger(*len_items, call);
    if (!len.ok()) return std::move(len).error();
    if (*len) end = std::min(chars, **start + std::max<int64_t>(0, **len));
  }
  size_t from = offsets[static_cast<size_t>(**start)];
  size_t to = offsets[static_cast<size_t>(end)];
  return One(ev, Value::OfString(s.substr(from, to - from)));
}

Result<Items> StartsWith(Evaluator& ev, const AstNode& call, const Items& focus,
                         const Frame& frame) {
  FHIRPATH_INPUT(s);
  FHIRPATH_STRING_ARG(p, 0);
  return One(ev, Value::OfBoolean(s.substr(0, p.size()) == p));
}

Result<Items> EndsWith(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame) {
  FHIRPATH_INPUT(s);
  FHIRPATH_STRING_ARG(p, 0);
  return One(ev, Value::OfBoolean(s.size() >= p.size() && s.substr(s.size() - p.size()) == p));
}

Result<Items> Contains(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame) {
  FHIRPATH_INPUT(s);
  FHIRPATH_STRING_ARG(p, 0);
  return One(ev, Value::OfBoolean(s.find(p) != std::string_view::npos));
}

Result<Items> ChangeCase(Evaluator& ev, const AstNode& call, const Items& focus, bool upper) {
  FHIRPATH_INPUT(s);
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(upper ? std::toupper(static_cast<unsigned char>(c))
                                : std::tolower(static_cast<unsigned char>(c)));
  }
  return One(ev, Value::OfString(ev.Store(out)));
}

Result<Items> Upper(Evaluator& ev, const AstNode& call, const Items& focus, const Frame&) {
  return ChangeCase(ev, call, focus, true);
}

Result<Items> Lower(Evaluator& ev, const AstNode& call, const Items& focus, const Frame&) {
  return ChangeCase(ev, call, focus, false);
}

Result<Items> Replace(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame) {
  FHIRPATH_INPUT(s);
  FHIRPATH_STRING_ARG(pattern, 0);
  FHIRPATH_STRING_ARG(substitution, 1);
  std::string out;
  if (pattern.empty()) {
    // Inserted between every character and at both ends.
    auto offsets = CharOffsets(s);
    out += substitution;
    for (size_t i = 0; i + 1 < offsets.size(); ++i) {
      out += s.substr(offsets[i], offsets[i + 1] - offsets[i]);
      out += substitution;
    }
  } else {
    size_t pos = 0;
    while (true) {
      size_t next = s.find(pattern, pos);
      if (next == std::string_view::npos) break;
      out += s.substr(pos, next - pos);
      out += substitution;
      pos = next + pattern.size();
    }
    out += s.substr(pos);
  }
  return One(ev, Value::OfString(ev.Store(out)));
}

Result<std::shared_ptr<const std::regex>> RegexOf(Evaluator& ev, const AstNode& call,
                                                  std::string_view pattern) {
  if (call.regex) return call.regex;
  auto re = CompileFhirpathRegex(pattern);
  if (re == nullptr) return ev.Fail(call, "fhirpath.bad-regex", "invalid regular expression");
  return re;
}

Result<Items> MatchesImpl(Evaluator& ev, const AstNode& call, const Items& focus,
                          const Frame& frame, bool full) {
  FHIRPATH_INPUT(s);
  FHIRPATH_STRING_ARG(pattern, 0);
  auto re = RegexOf(ev, call, pattern);
  if (!re.ok()) return std::move(re).error();
  bool m = full ? std::regex_match(s.begin(), s.end(), **re)
                : std::regex_search(s.begin(), s.end(), **re);
  return One(ev, Value::OfBoolean(m));
}

Result<Items> Matches(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame) {
  return MatchesImpl(ev, call, focus, frame, false);
}

Result<Items> MatchesFull(Evaluator& ev, const AstNode& call, const Items& focus,
                          const Frame& frame) {
  return MatchesImpl(ev, call, focus, frame, true);
}

Result<Items> ReplaceMatches(Evaluator& ev, const AstNode& call, const Items& focus,
                             const Frame& frame) {
  FHIRPATH_INPUT(s);
  FHIRPATH_STRING_ARG(pattern, 0);
  FHIRPATH_STRING_ARG(substitution, 1);
  if (pattern.empty()) return One(ev, Value::OfString(s));
  auto re = RegexOf(ev, call, pattern);
  if (!re.ok()) return std::move(re).error();
  std::string out = std::regex_replace(std::string(s), **re, std::string(substitution));
  return One(ev, Value::OfString(ev.Store(out)));
}

Result<Items> Length(Evaluator& ev, const AstNode& call, const Items& focus, const Frame&) {
  FHIRPATH_INPUT(s);
  return One(ev, Value::OfInteger(CharCount(s)));
}

Result<Items> ToChars(Evaluator& ev, const AstNode& call, const Items& focus, const Frame&) {
  FHIRPATH_INPUT(s);
  auto offsets = CharOffsets(s);
  Items out = ev.NewItems();
  for (size_t i = 0; i + 1 < offsets.size(); ++i) {
    out.push_back(Value::OfString(s.substr(offsets[i], offsets[i + 1] - offsets[i])));
  }
  return out;
}

Result<Items> Trim(Evaluator& ev, const AstNode& call, const Items& focus, const Frame&) {
  FHIRPATH_INPUT(s);
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return One(ev, Value::OfString(s));
}

Result<Items> Split(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame) {
  FHIRPATH_INPUT(s);
  FHIRPATH_STRING_ARG(separator, 0);
  Items out = ev.NewItems();
  if (separator.empty()) return ToChars(ev, call, focus, frame);
  size_t pos = 0;
  while (true) {
    size_t next = s.find(separator, pos);
    out.push_back(
        Value::OfString(s.substr(pos, next == std::string_view::npos ? s.npos : next - pos)));
    if (next == std::string_view::npos) break;
    pos = next + separator.size();
  }
  return out;
}

Result<Items> Join(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame) {
  std::string_view separator;
  if (call.arg_count() > 0) {
    auto sep = StringArg(ev, call, 0, frame);
    if (!sep.ok()) return std::move(sep).error();
    separator = sep->value_or("");
  }
  std::string out;
  for (size_t i = 0; i < focus.size(); ++i) {
    auto s = StringOf(focus[i]);
    if (!s) return ev.Fail(call, "fhirpath.type-mismatch", "join() needs strings");
    if (i > 0) out += separator;
    out += *s;
  }
  return One(ev, Value::OfString(ev.Store(out)));
}

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64Encode(std::string_view in, bool url) {
  std::string out;
  size_t i = 0;
  while (i < in.size()) {
    uint32_t n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
    out += kBase64[(n >> 18) & 63];
    out += kBase64[(n >> 12) & 63];
    out += i + 1 < in.size() ? kBase64[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kBase64[n & 63] : '=';
    i += 3;
  }
  if (url) {
    for (char& c : out) c = c == '+' ? '-' : (c == '/' ? '_' : c);
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view in) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+' || c == '-')
      v = 62;
    else if (c == '/' || c == '_')
      v = 63;
    else if (c == '=')
      break;
    else
      return std::nullopt;
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

Result<Items> Encode(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame) {
  FHIRPATH_INPUT(s);
  FHIRPATH_STRING_ARG(format, 0);
  std::string out;
  if (format == "base64" || format == "urlbase64") {
    out = Base64Encode(s, format == "urlbase64");
  } else if (format == "hex") {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char c : s) {
      out += kHex[(static_cast<unsigned char>(c) >> 4) & 15];
      out += kHex[static_cast<unsigned char>(c) & 15];
    }
  } else {
    return ev.NewItems();
  }
  return One(ev, Value::OfString(ev.Store(out)));
}

Result<Items> Decode(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame) {
  FHIRPATH_INPUT(s);
  FHIRPATH_STRING_ARG(format, 0);
  std::optional<std::string> out;
  if (format == "base64" || format == "urlbase64") {
    out = Base64Decode(s);
  } else if (format == "hex" && s.size() % 2 == 0) {
    std::string bytes;
    auto nibble = [](char c) {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    for (size_t i = 0; i < s.size(); i += 2) {
      int hi = nibble(s[i]);
      int lo = nibble(s[i + 1]);
      if (hi < 0 || lo < 0) return ev.NewItems();
      bytes.push_back(static_cast<char>(hi * 16 + lo));
    }
    out = bytes;
  }
  if (!out) return ev.NewItems();
  return One(ev, Value::OfString(ev.Store(*out)));
}

Result<Items> Escape(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame,
                     bool unescape) {
  FHIRPATH_INPUT(s);
  FHIRPATH_STRING_ARG(format, 0);
  std::string out;
  if (format == "html" && !unescape) {
    for (char c : s) {
      switch (c) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += "&quot;";
          break;
        case '\'':
          out += "&#39;";
          break;
        default:
          out += c;
      }
    }
  } else if (format == "html") {
    static constexpr std::pair<std::string_view, char> kEntities[] = {
        {"&amp;", '&'},  {"&lt;", '<'},   {"&gt;", '>'},
        {"&quot;", '"'}, {"&#39;", '\''}, {"&apos;", '\''}};
    for (size_t i = 0; i < s.size();) {
      bool matched = false;
      for (const auto& [entity, c] : kEntities) {
        if (s.substr(i, entity.size()) == entity) {
          out += c;
          i += entity.size();
          matched = true;
          break;
        }
      }
      if (!matched) out += s[i++];
    }
  } else if (format == "json" && !unescape) {
    for (char c : s) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          out += c;
      }
    }
  } else if (format == "json") {
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] != '\\' || i + 1 == s.size()) {
        out += s[i];
        continue;
      }
      char e = s[++i];
      out += e == 'n' ? '\n' : (e == 'r' ? '\r' : (e == 't' ? '\t' : e));
    }
  } else {
    return ev.NewItems();
  }
  return One(ev, Value::OfString(ev.Store(out)));
}

Result<Items> EscapeFn(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame) {
  return Escape(ev, call, focus, frame, false);
}

Result<Items> UnescapeFn(Evaluator& ev, const AstNode& call, const Items& focus,
                         const Frame& frame) {
  return Escape(ev, call, focus, frame, true);
}

#undef FHIRPATH_INPUT
#undef FHIRPATH_STRING_ARG

constexpr FunctionDef kFunctions[] = {
    {"indexOf", 1, 1, IndexOf},
    {"substring", 1, 2, Substring},
    {"startsWith", 1, 1, StartsWith},
    {"endsWith", 1, 1, EndsWith},
    {"contains", 1, 1, Contains},
    {"upper", 0, 0, Upper},
    {"lower", 0, 0, Lower},
    {"replace", 2, 2, Replace},
    {"matches", 1, 1, Matches},
    {"matchesFull", 1, 1, MatchesFull},
    {"replaceMatches", 2, 2, ReplaceMatches},
    {"length", 0, 0, Length},
    {"toChars", 0, 0, ToChars},
    {"trim", 0, 0, Trim},
    {"split", 1, 1, Split},
    {"join", 0, 1, Join},
    {"encode", 1, 1, Encode},
    {"decode", 1, 1, Decode},
    {"escape", 1, 1, EscapeFn},
    {"unescape", 1, 1, UnescapeFn},
};

}  // namespace

std::shared_ptr<const std::regex> CompileFhirpathRegex(std::string_view pattern) {
  // FHIRPath regexes run in single-line mode: '.' matches a newline too.
  std::string translated;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      translated += c;
      translated += pattern[++i];
      continue;
    }
    if (c == '[') in_class = true;
    if (c == ']') in_class = false;
    if (c == '.' && !in_class) {
      translated += "[\\s\\S]";
    } else {
      translated += c;
    }
  }
  try {
    return std::make_shared<const std::regex>(translated, std::regex::ECMAScript);
  } catch (const std::regex_error&) {
    return nullptr;
  }
}

std::span<const FunctionDef> StringFunctions() { return kFunctions; }

}  // namespace fhir::fhirpath
