#include "fhir/xml/canonical_xhtml.h"

#include <cstdint>
#include <string_view>
#include <vector>

#include "fhir/xml/escape.h"

namespace fhir::xml {
namespace {

// The escapes the canonical form uses (escape.cc); any other reference is not canonical.
constexpr std::string_view kTextReferences[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#13;"};
constexpr std::string_view kAttributeReferences[] = {"&amp;", "&lt;",  "&gt;", "&quot;",
                                                     "&#9;",  "&#10;", "&#13;"};

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9') || c == '.' || c == '-'; }

bool IsContinuation(uint8_t c) { return (c & 0xC0) == 0x80; }

class Recogniser {
 public:
  explicit Recogniser(std::string_view markup) : s_(markup) {}

  bool Run(size_t max_depth) {
    std::string_view root_start = "<div xmlns=\"";
    if (!Take(root_start) || !Take(kXhtmlNamespace) || !Take("\"")) return false;
    if (!Attributes(true)) return false;
    if (Take("/>")) return pos_ == s_.size();
    if (!Take(">")) return false;
    open_.push_back({"div", pos_});
    while (true) {
      if (!Text()) return false;
      if (Take("</")) {
        // <x></x> is written <x/> in canonical form.
        if (pos_ - 2 == open_.back().content_start) return false;
        std::string_view name;
        if (!Name(&name) || name != open_.back().name || !Take(">")) return false;
        open_.pop_back();
        if (open_.empty()) return pos_ == s_.size();
        continue;
      }
      ++pos_;  // '<'
      std::string_view name;
      if (!Name(&name) || open_.size() + 1 > max_depth || !Attributes(false)) return false;
      if (Take("/>")) continue;
      if (!Take(">")) return false;
      open_.push_back({name, pos_});
    }
  }

 private:
  struct Open {
    std::string_view name;
    size_t content_start;
  };

  bool Take(std::string_view text) {
    if (s_.substr(pos_, text.size()) != text) return false;
    pos_ += text.size();
    return true;
  }

  // An ASCII name without a prefix.
  bool Name(std::string_view* name) {
    const size_t start = pos_;
    if (pos_ == s_.size() || !IsNameStart(s_[pos_])) return false;
    while (pos_ < s_.size() && IsNameChar(s_[pos_])) ++pos_;
    *name = s_.substr(start, pos_ - start);
    return true;
  }

  // ( ' ' name '="' value '"' )*, with no duplicate and no namespace declaration. The only
  // prefixed name accepted is xml:lang, whose prefix needs no declaration.
  bool Attributes(bool root) {
    seen_.clear();
    if (root) seen_.push_back("xmlns");
    while (pos_ < s_.size() && s_[pos_] == ' ') {
      ++pos_;
      const size_t start = pos_;
      std::string_view local;
      if (!Name(&local)) return false;
      if (local == "xml" && Take(":") && !(Name(&local) && local == "lang")) return false;
      const std::string_view name = s_.substr(start, pos_ - start);
      if (name == "xmlns") return false;
      for (std::string_view other : seen_) {
        if (other == name) return false;
      }
      seen_.push_back(name);
      if (!Take("=\"") || !AttributeValue() || !Take("\"")) return false;
    }
    return true;
  }

  // Up to the closing quote.
  bool AttributeValue() {
    while (pos_ < s_.size()) {
      const uint8_t c = static_cast<uint8_t>(s_[pos_]);
      if (c == '"') return true;
      if (c < 0x20 || c == '<' || c == '>') return false;
      if (!Char(c, kAttributeReferences)) return false;
    }
    return false;
  }

  // Up to the next '<'; markup cannot end in text.
  bool Text() {
    while (pos_ < s_.size()) {
      const uint8_t c = static_cast<uint8_t>(s_[pos_]);
      if (c == '<') return true;
      if ((c < 0x20 && c != '\t' && c != '\n') || c == '>' || c == '"') return false;
      if (!Char(c, kTextReferences)) return false;
    }
    return false;
  }

  // One character at pos_: a reference from `references`, an ASCII byte, or a UTF-8 sequence of
  // a character XML allows.
  template <size_t N>
  bool Char(uint8_t c, const std::string_view (&references)[N]) {
    if (c == '&') {
      for (std::string_view reference : references) {
        if (Take(reference)) return true;
      }
      return false;
    }
    if (c < 0x80) {
      ++pos_;
      return true;
    }
    return Utf8();
  }

  // A well-formed UTF-8 sequence other than a surrogate, U+FFFE and U+FFFF.
  bool Utf8() {
    const auto byte = [this](size_t i) {
      return pos_ + i < s_.size() ? static_cast<uint8_t>(s_[pos_ + i]) : uint8_t{0};
    };
    const uint8_t b0 = byte(0);
    const uint8_t b1 = byte(1);
    size_t length = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      length = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      if ((b0 == 0xE0 && b1 < 0xA0) || (b0 == 0xED && b1 > 0x9F)) return false;
      if (b0 == 0xEF && b1 == 0xBF && (byte(2) == 0xBE || byte(2) == 0xBF)) return false;
      length = 3;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      if ((b0 == 0xF0 && b1 < 0x90) || (b0 == 0xF4 && b1 > 0x8F)) return false;
      length = 4;
    } else {
      return false;
    }
    for (size_t i = 1; i < length; ++i) {
      if (!IsContinuation(byte(i))) return false;
    }
    pos_ += length;
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::vector<Open> open_;
  std::vector<std::string_view> seen_;
};

}  // namespace

bool IsCanonicalXhtml(std::string_view markup, size_t max_depth) {
  return max_depth > 0 && Recogniser(markup).Run(max_depth);
}

}  // namespace fhir::xml
