#include "fhir/xml/escape.h"

#include <cstdint>

namespace fhir::xml {
namespace {

// One table per context, indexed by byte: the replacement, or length 0 when the byte is copied.
// Values are written in runs between escapes, so the common case is a single append. Plain arrays
// keep the per-byte lookup cheap in unoptimised (sanitizer) builds too.
struct EscapeTable {
  const char* replacement[256];
  uint8_t length[256];
};

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

constexpr EscapeTable MakeTable(bool attribute) {
  EscapeTable table{};
  auto set = [&table](unsigned char c, std::string_view replacement) {
    table.replacement[c] = replacement.data();
    table.length[c] = static_cast<uint8_t>(replacement.size());
  };
  for (unsigned char c = 0; c < 0x20; ++c) set(c, kReplacementCharacter);
  set('&', "&amp;");
  set('<', "&lt;");
  set('>', "&gt;");
  set('"', "&quot;");
  set('\r', "&#13;");
  set('\t', attribute ? "&#9;" : "");
  set('\n', attribute ? "&#10;" : "");
  return table;
}

constexpr EscapeTable kTextTable = MakeTable(false);
constexpr EscapeTable kAttributeTable = MakeTable(true);

void AppendEscaped(std::string& out, std::string_view text, const EscapeTable& table) {
  const char* run = text.data();
  const char* const end = run + text.size();
  for (const char* p = run; p != end; ++p) {
    const uint8_t c = static_cast<uint8_t>(*p);
    if (table.length[c] == 0) continue;
    out.append(run, static_cast<size_t>(p - run));
    out.append(table.replacement[c], table.length[c]);
    run = p + 1;
  }
  out.append(run, static_cast<size_t>(end - run));
}

}  // namespace

void AppendEscapedText(std::string& out, std::string_view text) {
  AppendEscaped(out, text, kTextTable);
}

void AppendEscapedAttribute(std::string& out, std::string_view value) {
  AppendEscaped(out, value, kAttributeTable);
}

}  // namespace fhir::xml
