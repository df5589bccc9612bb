#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "fhir/json/json.h"
#include "fhir/model/primitive.h"

namespace fhir::json {
namespace {

// For each byte: 0 when it is written as is, else the character following the backslash ('u'
// for \u00XX). Only what JSON requires is escaped; non-ASCII text stays UTF-8.
struct EscapeTable {
  char escape[256];
};

constexpr EscapeTable kEscapes = [] {
  EscapeTable table{};
  for (int c = 0; c < 0x20; ++c) table.escape[c] = 'u';
  table.escape[static_cast<int>('\b')] = 'b';
  table.escape[static_cast<int>('\t')] = 't';
  table.escape[static_cast<int>('\n')] = 'n';
  table.escape[static_cast<int>('\f')] = 'f';
  table.escape[static_cast<int>('\r')] = 'r';
  table.escape[static_cast<int>('"')] = '"';
  table.escape[static_cast<int>('\\')] = '\\';
  return table;
}();

// True when one of the eight bytes of `word` is a control character, '"' or '\\' (bit tricks
// that flag a byte below a bound or equal to zero; bytes from 0x80 never match).
constexpr bool NeedsEscape(uint64_t word) {
  constexpr uint64_t kOnes = 0x0101010101010101u;
  constexpr uint64_t kHigh = 0x8080808080808080u;
  auto has_zero = [](uint64_t v) { return ((v - kOnes) & ~v & kHigh) != 0; };
  const bool control = ((word - kOnes * 0x20) & ~word & kHigh) != 0;
  return control || has_zero(word ^ (kOnes * '"')) || has_zero(word ^ (kOnes * '\\'));
}

class Writer {
 public:
  Writer(std::string& out, bool pretty) : out_(out), pretty_(pretty) {}

  // Writes `node` as a JSON object; a resource's object starts with its resourceType.
  void Object(const Node& node) {
    out_ += '{';
    ++level_;
    bool first = true;
    if (node.is_resource()) {
      Separate(first);
      Name(std::string_view("resourceType"));
      String(node.type->name);
    }
    Members(node, first);
    --level_;
    if (!first) Break();
    out_ += '}';
  }

 private:
  // Children come grouped by element (the DOM's invariant), so each group is one JSON member,
  // plus a "_name" member for primitives carrying ids or extensions.
  void Members(const Node& node, bool& first) {
    const auto& kids = node.children;
    for (size_t i = 0; i < kids.size();) {
      const Node& head = *kids[i];
      size_t end = i + 1;
      while (end < kids.size() && kids[end]->def == head.def) ++end;
      const bool array = (head.def != nullptr && head.def->repeats()) || end - i > 1;
      if (head.is_primitive()) {
        bool values = false;
        bool extras = false;
        for (size_t k = i; k < end; ++k) {
          values = values || kids[k]->has_value;
          extras = extras || !kids[k]->children.empty();
        }
        if (values) {
          Separate(first);
          Name(head, false);
          if (!array) {
            Value(head);
          } else {
            OpenArray();
            bool first_item = true;
            for (size_t k = i; k < end; ++k) {
              Separate(first_item);
              if (kids[k]->has_value) {
                Value(*kids[k]);
              } else {
                out_ += "null";
              }
            }
            CloseArray();
          }
        }
        if (extras) {
          Separate(first);
          Name(head, true);
          if (!array) {
            Object(head);
          } else {
            OpenArray();
            bool first_item = true;
            for (size_t k = i; k < end; ++k) {
              Separate(first_item);
              if (kids[k]->children.empty()) {
                out_ += "null";
              } else {
                Object(*kids[k]);
              }
            }
            CloseArray();
          }
        }
      } else {
        Separate(first);
        Name(head, false);
        if (!array) {
          Object(head);
        } else {
          OpenArray();
          bool first_item = true;
          for (size_t k = i; k < end; ++k) {
            Separate(first_item);
            Object(*kids[k]);
          }
          CloseArray();
        }
      }
      i = end;
    }
  }

  void Value(const Node& node) {
    if (model::JsonRepresentationOf(node.type->primitive) == model::JsonRepresentation::kString) {
      String(node.value);
    } else {
      out_ += node.value;  // numbers and booleans keep their exact lexical form
    }
  }

  // The element's JSON name without building a string: "valueQuantity" for a choice element.
  void Name(const Node& node, bool extension) {
    out_ += '"';
    if (extension) out_ += '_';
    out_ += node.name();
    if (node.def != nullptr && node.def->is_choice && node.type != nullptr &&
        !node.type->name.empty()) {
      out_ += static_cast<char>(std::toupper(static_cast<unsigned char>(node.type->name[0])));
      out_.append(node.type->name, 1);
    }
    out_ += pretty_ ? "\": " : "\":";
  }

  void Name(std::string_view name) {
    out_ += '"';
    out_ += name;
    out_ += pretty_ ? "\": " : "\":";
  }

  void String(std::string_view text) {
    out_ += '"';
    const char* run = text.data();
    const char* const end = run + text.size();
    const char* p = run;
    while (p < end) {
      // Eight bytes at a time while none needs escaping: most text has nothing to escape.
      uint64_t word;
      if (end - p >= static_cast<ptrdiff_t>(sizeof(word))) {
        std::memcpy(&word, p, sizeof(word));
        if (!NeedsEscape(word)) {
          p += sizeof(word);
          continue;
        }
      }
      for (const char* stop = std::min(p + sizeof(word), end); p < stop; ++p) {
        const unsigned char c = static_cast<unsigned char>(*p);
        const char escape = kEscapes.escape[c];
        if (escape == 0) continue;
        out_.append(run, static_cast<size_t>(p - run));
        out_ += '\\';
        out_ += escape;
        if (escape == 'u') {
          constexpr std::string_view kHex = "0123456789abcdef";
          out_ += "00";
          out_ += kHex[c >> 4];
          out_ += kHex[c & 0xF];
        }
        run = p + 1;
      }
    }
    out_.append(run, static_cast<size_t>(end - run));
    out_ += '"';
  }

  void OpenArray() {
    out_ += '[';
    ++level_;
  }

  void CloseArray() {
    --level_;
    Break();
    out_ += ']';
  }

  // Before each member or item: a comma after the first, and a new line when pretty.
  void Separate(bool& first) {
    if (!first) out_ += ',';
    first = false;
    Break();
  }

  void Break() {
    if (!pretty_) return;
    out_ += '\n';
    out_.append(static_cast<size_t>(level_) * 2, ' ');
  }

  std::string& out_;
  const bool pretty_;
  int level_ = 0;
};

}  // namespace

std::string Write(const Resource& resource, const WriteOptions& options) {
  std::string out;
  if (resource.empty()) return out;
  out.reserve(4096);
  Writer(out, options.pretty).Object(*resource.root());
  return out;
}

}  // namespace fhir::json
