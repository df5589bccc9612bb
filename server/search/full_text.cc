#include "server/search/full_text.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <utility>

#include "server/search/criteria.h"
#include "server/search/normalize.h"

namespace server::search {

namespace {

using fhir::Node;
using fhir::model::PrimitiveKind;
using server::store::IndexEntries;

enum class CharClass { kSeparator, kWord, kCjk };

CharClass Classify(char32_t c) {
  if (c < 0x80) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
               ? CharClass::kWord
               : CharClass::kSeparator;
  }
  // CJK: Hangul Jamo, kana, bopomofo, the iteration marks 々 and 〇, Han (with its extensions and
  // compatibility forms), Hangul syllables, half-width kana.
  if ((c >= 0x1100 && c <= 0x11FF) || c == 0x3005 || c == 0x3007 || (c >= 0x3040 && c <= 0x30FF) ||
      (c >= 0x3100 && c <= 0x312F) || (c >= 0x3130 && c <= 0x318F) ||
      (c >= 0x31F0 && c <= 0x31FF) || (c >= 0x3400 && c <= 0x4DBF) ||
      (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xAC00 && c <= 0xD7AF) ||
      (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFF66 && c <= 0xFF9F) ||
      (c >= 0x20000 && c <= 0x3134F)) {
    return CharClass::kCjk;
  }
  // Punctuation and symbols: Latin-1's (but the micro sign), × and ÷, general punctuation to
  // dingbats and arrows, supplemental punctuation, CJK symbols and punctuation, the vertical,
  // compatibility and small forms, full-width and half-width punctuation and signs, variation
  // selectors, emoji.
  if ((c >= 0x80 && c <= 0xBF && c != 0xB5) || c == 0xD7 || c == 0xF7 ||
      (c >= 0x2000 && c <= 0x2BFF) || (c >= 0x2E00 && c <= 0x2E7F) ||
      (c >= 0x3000 && c <= 0x303F) || (c >= 0xFE00 && c <= 0xFE6F) ||
      (c >= 0xFF00 && c <= 0xFF65) || (c >= 0xFFE0 && c <= 0xFFFF) ||
      (c >= 0x1F000 && c <= 0x1FAFF)) {
    return CharClass::kSeparator;
  }
  return CharClass::kWord;
}

// `text` cut to at most kMaxLexemeBytes, on a character boundary.
std::string Cut(std::string_view text) {
  if (text.size() <= kMaxLexemeBytes) return std::string(text);
  size_t end = kMaxLexemeBytes;
  while (end > 0 && (static_cast<uint8_t>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end));
}

// Tokens of already normalised text.
void TokenizeNormalized(std::string_view text, std::vector<TextToken>* out) {
  // Each character's byte offset and class, decoded once; the text's end after the last.
  struct Char {
    size_t offset;
    CharClass kind;
  };
  std::vector<Char> chars;
  chars.reserve(text.size() + 1);
  for (size_t pos = 0; pos < text.size();) {
    const size_t at = pos;
    chars.push_back({at, Classify(DecodeUtf8(text, &pos))});
  }
  const size_t count = chars.size();
  chars.push_back({text.size(), CharClass::kSeparator});
  out->reserve(out->size() + count);
  auto span = [&](size_t from, size_t to) {
    return text.substr(chars[from].offset, chars[to].offset - chars[from].offset);
  };
  int position = 0;
  size_t i = 0;
  while (i < count) {
    const CharClass kind = chars[i].kind;
    size_t end = i + 1;
    while (end < count && chars[end].kind == kind) ++end;
    if (kind == CharClass::kWord) {
      out->push_back({Cut(span(i, end)), position++});
    } else if (kind == CharClass::kCjk) {
      for (size_t c = i; c + 1 < end; ++c) {
        out->push_back({std::string(span(c, c + 2)), position++, TextToken::Kind::kPair});
      }
      out->push_back({std::string(span(end - 1, end)), position++,
                      end - i > 1 ? TextToken::Kind::kRunEnd : TextToken::Kind::kCharacter});
    }
    i = end;
  }
}

// Inline elements, which do not separate words: "<b>hyper</b>tension" is one.
bool IsInline(std::string_view tag) {
  static constexpr std::string_view kInline[] = {
      "a",      "abbr",   "b",   "big", "cite", "code", "del",  "dfn",   "em",
      "font",   "i",      "ins", "kbd", "q",    "s",    "samp", "small", "span",
      "strike", "strong", "sub", "sup", "tt",   "u",    "var"};
  return std::find(std::begin(kInline), std::end(kInline), tag) != std::end(kInline);
}

// The character a reference names ("amp", "#160", "#x4E2D": what stands between '&' and ';');
// nullopt for any other name.
std::optional<char32_t> Entity(std::string_view name) {
  if (name == "amp") return U'&';
  if (name == "lt") return U'<';
  if (name == "gt") return U'>';
  if (name == "quot") return U'"';
  if (name == "apos") return U'\'';
  if (name == "nbsp") return U' ';
  if (name.size() < 2 || name[0] != '#') return std::nullopt;
  const bool hex = name[1] == 'x' || name[1] == 'X';
  const std::string_view digits = name.substr(hex ? 2 : 1);
  if (digits.empty() || digits.size() > 8) return std::nullopt;
  char32_t value = 0;
  for (char d : digits) {
    int digit = -1;
    if (d >= '0' && d <= '9') digit = d - '0';
    if (hex && d >= 'a' && d <= 'f') digit = d - 'a' + 10;
    if (hex && d >= 'A' && d <= 'F') digit = d - 'A' + 10;
    if (digit < 0) return std::nullopt;
    value = value * (hex ? 16 : 10) + static_cast<char32_t>(digit);
  }
  if (value == 0 || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return std::nullopt;
  return value;
}

// Builds one document from values added in order.
class DocumentBuilder {
 public:
  // False once the document is full.
  bool Add(const std::vector<TextToken>& tokens) {
    if (next_ >= kMaxTextPositions) return false;
    if (tokens.empty()) return true;
    for (const TextToken& token : tokens) {
      const int position = next_ + token.position;
      if (position >= kMaxTextPositions) {
        next_ = kMaxTextPositions;
        return false;
      }
      std::vector<int>& positions = lexemes_[token.lexeme];
      // PostgreSQL positions start at 1.
      if (positions.size() < kMaxLexemePositions) positions.push_back(position + 1);
    }
    // A position's gap before the next value: no phrase spans two values.
    next_ += tokens.back().position + 2;
    return true;
  }

  void Take(const std::string& param, IndexEntries* out) {
    if (lexemes_.empty()) return;
    IndexEntries::Text text{.param = param};
    text.lexemes.reserve(lexemes_.size());
    for (auto& [lexeme, positions] : lexemes_) {
      text.lexemes.push_back({lexeme, std::move(positions)});
    }
    std::sort(text.lexemes.begin(), text.lexemes.end(),
              [](const auto& a, const auto& b) { return a.text < b.text; });
    out->texts.push_back(std::move(text));
  }

 private:
  int next_ = 0;
  // Each lexeme's positions, ascending since values are added in order.
  std::unordered_map<std::string, std::vector<int>> lexemes_;
};

bool IsContentKind(PrimitiveKind kind) {
  return kind == PrimitiveKind::kString || kind == PrimitiveKind::kMarkdown ||
         kind == PrimitiveKind::kCode || kind == PrimitiveKind::kXhtml;
}

// The resource's own narrative, tokenized once for both parameters.
class Narrative {
 public:
  explicit Narrative(const Node& root) {
    const Node* text = root.Child("text");
    div_ = text != nullptr ? text->Child("div") : nullptr;
  }

  bool Is(const Node& node) const { return &node == div_; }

  const std::vector<TextToken>& Tokens() {
    if (!tokenized_ && div_ != nullptr && div_->has_value) {
      tokens_ = TokenizeText(NarrativeText(div_->value));
    }
    tokenized_ = true;
    return tokens_;
  }

 private:
  const Node* div_ = nullptr;
  bool tokenized_ = false;
  std::vector<TextToken> tokens_;
};

// Adds the text values under `node` in document order; false once the document is full.
bool AddContent(const Node& node, Narrative& narrative, DocumentBuilder* document) {
  if (node.is_primitive() && node.has_value && IsContentKind(node.type->primitive)) {
    const bool pointer =
        node.def != nullptr && (node.def->name == "id" || node.def->path == "Reference.reference");
    if (narrative.Is(node)) {
      if (!document->Add(narrative.Tokens())) return false;
    } else if (node.type->primitive == PrimitiveKind::kXhtml) {
      if (!document->Add(TokenizeText(NarrativeText(node.value)))) return false;
    } else if (!pointer) {
      if (!document->Add(TokenizeText(node.value))) return false;
    }
  }
  for (const Node* child : node.children) {
    if (!AddContent(*child, narrative, document)) return false;
  }
  return true;
}

fhir::Error InvalidValue(const std::string& parameter, std::string text) {
  return fhir::Error::Invalid("search.invalid-value", std::move(text), parameter);
}

bool IsQuote(char32_t c) { return c == '"' || c == 0x201C || c == 0x201D; }

// The terms of one alternative: phrases of its chunks and quoted parts.
std::vector<std::vector<store::TextTest::Lexeme>> Terms(std::string_view value) {
  const std::string text = NormalizeString(value);
  std::vector<std::vector<store::TextTest::Lexeme>> terms;
  // A chunk (or a quoted phrase) as one term; `prefix`: its last word is a prefix.
  auto add = [&terms](std::string_view chunk, bool prefix) {
    std::vector<TextToken> tokens = TokenizeText(chunk);
    std::vector<store::TextTest::Lexeme> term;
    for (TextToken& token : tokens) {
      // A run's last character is covered by its last pair; a lone character is looked for at
      // the start of the pairs too.
      if (token.kind == TextToken::Kind::kRunEnd) continue;
      const bool lone = token.kind == TextToken::Kind::kCharacter;
      term.push_back({std::move(token.lexeme), token.position, lone});
    }
    if (prefix && !term.empty()) term.back().prefix = true;
    if (!term.empty()) terms.push_back(std::move(term));
  };
  size_t pos = 0;
  size_t chunk = 0;
  bool quoted = false;
  auto close_chunk = [&](size_t end) {
    std::string_view part = std::string_view(text).substr(chunk, end - chunk);
    const bool prefix = !quoted && part.ends_with('*');
    add(part, prefix);
  };
  while (pos < text.size()) {
    const size_t at = pos;
    const char32_t c = DecodeUtf8(text, &pos);
    if (IsQuote(c)) {
      close_chunk(at);
      quoted = !quoted;
      chunk = pos;
    } else if (c == ' ' && !quoted) {
      close_chunk(at);
      chunk = pos;
    }
  }
  close_chunk(text.size());
  return terms;
}

}  // namespace

std::vector<TextToken> TokenizeText(std::string_view utf8) {
  std::vector<TextToken> out;
  TokenizeNormalized(NormalizeString(utf8), &out);
  return out;
}

std::string NarrativeText(std::string_view xhtml) {
  std::string out;
  out.reserve(xhtml.size());
  size_t i = 0;
  while (i < xhtml.size()) {
    const char c = xhtml[i];
    if (c == '<') {
      if (xhtml.substr(i, 4) == "<!--") {
        const size_t end = xhtml.find("-->", i + 4);
        i = end == std::string_view::npos ? xhtml.size() : end + 3;
        out += ' ';
        continue;
      }
      if (xhtml.substr(i, 9) == "<![CDATA[") {
        const size_t end = xhtml.find("]]>", i + 9);
        const size_t stop = end == std::string_view::npos ? xhtml.size() : end;
        out.append(xhtml.substr(i + 9, stop - i - 9));
        i = end == std::string_view::npos ? xhtml.size() : end + 3;
        continue;
      }
      // A tag: its name, then up to '>' outside quoted attribute values.
      size_t j = i + 1;
      if (j < xhtml.size() && xhtml[j] == '/') ++j;
      const size_t name_start = j;
      while (j < xhtml.size() && xhtml[j] != '>' && xhtml[j] != '/' && xhtml[j] != ' ' &&
             xhtml[j] != '\t' && xhtml[j] != '\n' && xhtml[j] != '\r') {
        ++j;
      }
      std::string name(xhtml.substr(name_start, j - name_start));
      if (const size_t colon = name.find(':'); colon != std::string::npos) name.erase(0, colon + 1);
      for (char& ch : name) ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
      char quote = 0;
      while (j < xhtml.size() && (quote != 0 || xhtml[j] != '>')) {
        if (quote != 0 && xhtml[j] == quote) {
          quote = 0;
        } else if (quote == 0 && (xhtml[j] == '"' || xhtml[j] == '\'')) {
          quote = xhtml[j];
        }
        ++j;
      }
      i = j < xhtml.size() ? j + 1 : xhtml.size();
      if (!IsInline(name)) out += ' ';
      continue;
    }
    if (c == '&') {
      const size_t semicolon = xhtml.find(';', i + 1);
      if (semicolon != std::string_view::npos && semicolon - i <= 12) {
        if (auto decoded = Entity(xhtml.substr(i + 1, semicolon - i - 1))) {
          AppendUtf8(*decoded, &out);
          i = semicolon + 1;
          continue;
        }
      }
    }
    out += c;
    ++i;
  }
  return out;
}

bool IsFullText(const SearchParam& param) {
  return !param.expression && (param.code() == "_text" || param.code() == "_content");
}

void ExtractFullText(std::span<const SearchParam* const> params, const fhir::Node& root,
                     IndexEntries* out) {
  Narrative narrative(root);
  for (const SearchParam* param : params) {
    DocumentBuilder document;
    if (param->code() == "_text") {
      document.Add(narrative.Tokens());
    } else {
      AddContent(root, narrative, &document);
    }
    document.Take(param->code(), out);
  }
}

fhir::Result<store::IndexCondition> ParseFullTextCriterion(const SearchParam& param,
                                                           std::string_view modifier,
                                                           std::string_view value) {
  const std::string& name = param.code();
  store::IndexCondition condition{.kind = store::IndexKind::kText, .param = name};
  if (modifier == "missing") {
    if (value != "true" && value != "false") {
      return InvalidValue(name, ":missing takes true or false");
    }
    condition.negate = value == "true";
    return condition;
  }
  if (!modifier.empty() && modifier != "not") {
    return fhir::Error::Invalid("search.unsupported-modifier",
                                "The modifier :" + std::string(modifier) + " is not supported on " +
                                    name + " by this server; it takes :not and :missing",
                                name);
  }
  condition.negate = modifier == "not";
  constexpr size_t kMaxLexemes = 64;
  for (const std::string& alternative : SplitAlternatives(value)) {
    store::TextTest test{.terms = Terms(Unescape(alternative))};
    if (test.terms.empty()) {
      return InvalidValue(name, name + " needs some words or characters to search for");
    }
    size_t lexemes = 0;
    for (const auto& term : test.terms) lexemes += term.size();
    if (lexemes > kMaxLexemes) {
      return InvalidValue(name, name + " takes at most " + std::to_string(kMaxLexemes) +
                                    " words or character pairs");
    }
    condition.any.push_back(std::move(test));
  }
  return condition;
}

}  // namespace server::search
