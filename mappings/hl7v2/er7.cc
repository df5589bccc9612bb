#include "mappings/hl7v2/er7.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <utility>

#include "mappings/hl7v2/charset.h"

namespace mappings::hl7v2 {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool IsSegmentEnd(char c) { return c == '\r' || c == '\n'; }

bool IsHeader(std::string_view name) { return name == "MSH" || name == "FHS" || name == "BHS"; }

bool ValidSegmentName(std::string_view name) {
  if (name.size() != 3 || !std::isupper(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isupper(static_cast<unsigned char>(c)) ||
           std::isdigit(static_cast<unsigned char>(c));
  });
}

// The n-th (1-based) part of `text` split at `delimiter`; "" when there are fewer parts. A plain
// loop: the parts are short, and a library search call per part costs more than the scan.
std::string_view Part(std::string_view text, char delimiter, std::size_t n) {
  if (n == 0) return {};
  const char* begin = text.data();
  const char* end = begin + text.size();
  const char* start = begin;
  std::size_t i = 1;
  for (const char* p = begin; p < end; ++p) {
    if (*p != delimiter) continue;
    if (i == n) return std::string_view(start, static_cast<std::size_t>(p - start));
    ++i;
    start = p + 1;
  }
  return i == n ? std::string_view(start, static_cast<std::size_t>(end - start))
                : std::string_view();
}

std::size_t PartCount(std::string_view text, char delimiter) {
  if (text.empty()) return 0;
  if (text.find(delimiter) == std::string_view::npos) return 1;
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), delimiter)) + 1;
}

fhir::Error ParseError(std::string id, std::string text, std::string location) {
  return fhir::Error::Invalid(std::move(id), std::move(text), std::move(location));
}

// The start of the message proper: after a byte order mark and blank lines.
std::string_view TrimStart(std::string_view bytes) {
  if (bytes.starts_with(kBom)) bytes.remove_prefix(kBom.size());
  while (!bytes.empty() &&
         (IsSegmentEnd(bytes.front()) || bytes.front() == ' ' || bytes.front() == '\t')) {
    bytes.remove_prefix(1);
  }
  return bytes;
}

}  // namespace

fhir::Result<Delimiters> ReadDelimiters(std::string_view bytes) {
  std::string_view segment = bytes.substr(0, 3);
  if (bytes.size() < 5 || IsSegmentEnd(bytes[3])) {
    return ParseError("hl7v2.required-field-missing",
                      std::string(segment) + " has no field separator and encoding characters",
                      std::string(segment) + "-2");
  }
  Delimiters d;
  d.field = bytes[3];
  std::string_view encoding = bytes.substr(4);
  std::size_t end = 0;
  while (end < encoding.size() && encoding[end] != d.field && !IsSegmentEnd(encoding[end])) ++end;
  encoding = encoding.substr(0, end);
  if (encoding.size() < 4 || encoding.size() > 5) {
    return ParseError("hl7v2.data-type",
                      std::string(segment) + "-2 must hold 4 encoding characters, has " +
                          std::to_string(encoding.size()),
                      std::string(segment) + "-2");
  }
  d.component = encoding[0];
  d.repetition = encoding[1];
  d.escape = encoding[2];
  d.subcomponent = encoding[3];
  const char all[] = {d.field, d.component, d.repetition, d.escape, d.subcomponent};
  for (std::size_t i = 0; i < 5; ++i) {
    unsigned char c = static_cast<unsigned char>(all[i]);
    bool bad = std::isalnum(c) || c < 0x20 || c >= 0x7F;
    for (std::size_t j = 0; j < i; ++j) bad = bad || all[j] == all[i];
    if (bad) {
      return ParseError("hl7v2.data-type",
                        std::string(segment) +
                            " delimiters must be distinct printable non-alphanumeric characters",
                        std::string(segment) + (i == 0 ? "-1" : "-2"));
    }
  }
  return d;
}

namespace {

// The terser path of the field holding byte `offset` of `text` (which starts with MSH), for
// errors found before the message is split.
std::string LocateOffset(std::string_view text, std::size_t offset, char field_separator) {
  std::string name;
  std::size_t field = 0;
  std::size_t line_start = 0;
  std::vector<std::pair<std::string, std::size_t>> counts;
  auto count_of = [&counts](const std::string& n) -> std::size_t& {
    for (auto& [k, v] : counts) {
      if (k == n) return v;
    }
    counts.emplace_back(n, 0);
    return counts.back().second;
  };
  std::size_t ordinal = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    char c = text[i];
    if (IsSegmentEnd(c)) {
      line_start = i + 1;
      field = 0;
      name.clear();
    } else if (i - line_start < 3) {
      name.push_back(c);
      if (name.size() == 3) ordinal = ++count_of(name);
    } else if (c == field_separator) {
      ++field;
    }
  }
  if (name.size() < 3) return "segment";
  if (name == "MSH" || name == "BHS" || name == "FHS") ++field;
  std::string out = name;
  if (ordinal > 1) out += "(" + std::to_string(ordinal) + ")";
  return out + "-" + std::to_string(std::max<std::size_t>(field, 1));
}

bool ParseNumber(std::string_view text, std::size_t* value) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && ptr == text.data() + text.size() && *value > 0;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

const Message::FieldRecord* Message::FieldAt(std::size_t segment, std::size_t field) const {
  const SegmentRecord& rec = segments_[segment];
  if (field == 0 || field >= rec.field_count) return nullptr;
  return &fields_[rec.first_field + field];
}

const Message::RepetitionRecord* Message::RepetitionAt(std::size_t segment, std::size_t field,
                                                       std::size_t repetition) const {
  const FieldRecord* f = FieldAt(segment, field);
  if (f == nullptr || repetition == 0 || repetition > f->repetition_count) return nullptr;
  return &repetitions_[f->first_repetition + repetition - 1];
}

std::string_view Segment::name() const {
  const auto& rec = message_->segments_[index_];
  return message_->View(message_->fields_[rec.first_field].raw);
}

std::size_t Segment::field_count() const { return message_->segments_[index_].field_count - 1; }

std::string_view Segment::Raw(std::size_t field) const {
  const auto* f = message_->FieldAt(index_, field);
  return f == nullptr ? std::string_view() : message_->View(f->raw);
}

std::string_view Segment::RawRepetition(std::size_t field, std::size_t repetition) const {
  const auto* r = message_->RepetitionAt(index_, field, repetition);
  return r == nullptr ? std::string_view() : message_->View(r->raw);
}

std::string_view Segment::RawComponent(std::size_t field, std::size_t repetition,
                                       std::size_t component) const {
  const auto* r = message_->RepetitionAt(index_, field, repetition);
  if (r == nullptr || component == 0 || component > r->component_count) return {};
  return message_->View(message_->components_[r->first_component + component - 1]);
}

std::size_t Segment::RepetitionCount(std::size_t field) const {
  const auto* f = message_->FieldAt(index_, field);
  return f == nullptr ? 0 : f->repetition_count;
}

std::size_t Segment::ComponentCount(std::size_t field, std::size_t repetition) const {
  const auto* r = message_->RepetitionAt(index_, field, repetition);
  return r == nullptr ? 0 : r->component_count;
}

std::size_t Segment::SubcomponentCount(std::size_t field, std::size_t repetition,
                                       std::size_t component) const {
  std::string_view comp = RawComponent(field, repetition, component);
  if (comp.empty()) return 0;
  if (field <= 2 && message_->segments_[index_].header) return 1;
  return PartCount(comp, message_->delimiters_.subcomponent);
}

std::string Segment::Get(std::size_t field, std::size_t repetition, std::size_t component,
                         std::size_t subcomponent) const {
  std::string_view comp = RawComponent(field, repetition, component);
  // MSH-1 and MSH-2 are the delimiters themselves: never split nor unescaped.
  if (field <= 2 && message_->segments_[index_].header) {
    return subcomponent == 1 ? std::string(comp) : std::string();
  }
  return message_->Unescape(Part(comp, message_->delimiters_.subcomponent, subcomponent));
}

std::string Segment::Location() const {
  std::string out(name());
  if (ordinal_ > 1) out += "(" + std::to_string(ordinal_) + ")";
  return out;
}

std::string Segment::Location(std::size_t field, std::size_t repetition, std::size_t component,
                              std::size_t subcomponent) const {
  std::string out = Location();
  out += "-" + std::to_string(field);
  if (repetition > 0) out += "[" + std::to_string(repetition) + "]";
  if (component > 0) out += "." + std::to_string(component);
  if (component > 0 && subcomponent > 0) out += "." + std::to_string(subcomponent);
  return out;
}

Segment Message::segment(std::size_t index) const {
  return Segment(this, index, segments_[index].ordinal);
}

std::size_t Message::Find(std::string_view name, std::size_t ordinal) const {
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    if (segments_[i].ordinal == ordinal && View(fields_[segments_[i].first_field].raw) == name) {
      return i;
    }
  }
  return segments_.size();
}

std::string Message::version() const { return Get("MSH-12"); }

std::string Message::Get(std::string_view path) const {
  // SEG[(n)]-F[[r]][.c[.s]]
  if (path.size() < 5) return {};
  std::string_view name = path.substr(0, 3);
  path.remove_prefix(3);
  std::size_t ordinal = 1;
  if (path.front() == '(') {
    std::size_t close = path.find(')');
    if (close == std::string_view::npos || !ParseNumber(path.substr(1, close - 1), &ordinal)) {
      return {};
    }
    path.remove_prefix(close + 1);
  }
  if (path.empty() || path.front() != '-') return {};
  path.remove_prefix(1);
  std::size_t end = path.find_first_of("[.");
  std::size_t field = 0, repetition = 1, component = 1, subcomponent = 1;
  if (!ParseNumber(path.substr(0, end), &field)) return {};
  path = end == std::string_view::npos ? std::string_view() : path.substr(end);
  if (!path.empty() && path.front() == '[') {
    std::size_t close = path.find(']');
    if (close == std::string_view::npos || !ParseNumber(path.substr(1, close - 1), &repetition)) {
      return {};
    }
    path.remove_prefix(close + 1);
  }
  if (!path.empty()) {
    if (path.front() != '.') return {};
    path.remove_prefix(1);
    std::size_t dot = path.find('.');
    if (!ParseNumber(path.substr(0, dot), &component)) return {};
    if (dot != std::string_view::npos && !ParseNumber(path.substr(dot + 1), &subcomponent)) {
      return {};
    }
  }
  std::size_t index = Find(name, ordinal);
  if (index == segments_.size()) return {};
  return segment(index).Get(field, repetition, component, subcomponent);
}

std::string Message::Unescape(std::string_view raw) const {
  const char esc = delimiters_.escape;
  std::size_t first = raw.find(esc);
  if (first == std::string_view::npos) return std::string(raw);
  std::string out(raw.substr(0, first));
  std::size_t i = first;
  while (i < raw.size()) {
    char c = raw[i];
    if (c != esc) {
      out.push_back(c);
      ++i;
      continue;
    }
    std::size_t close = raw.find(esc, i + 1);
    if (close == std::string_view::npos) {  // unterminated: kept as sent
      out.append(raw.substr(i));
      break;
    }
    std::string_view seq = raw.substr(i + 1, close - i - 1);
    bool known = true;
    if (seq == "F") {
      out.push_back(delimiters_.field);
    } else if (seq == "S") {
      out.push_back(delimiters_.component);
    } else if (seq == "T") {
      out.push_back(delimiters_.subcomponent);
    } else if (seq == "R") {
      out.push_back(delimiters_.repetition);
    } else if (seq == "E") {
      out.push_back(esc);
    } else if (seq == ".br" || seq == ".sp") {
      out.push_back('\n');
    } else if (seq == "H" || seq == "N" || seq.starts_with(".") || seq.starts_with("C") ||
               seq.starts_with("M")) {
      // Highlighting, formatting commands and character set switches carry no text.
    } else if (seq.size() >= 3 && seq.front() == 'X' && seq.size() % 2 == 1) {
      std::string bytes;
      for (std::size_t k = 1; k + 1 < seq.size() && known; k += 2) {
        int hi = HexValue(seq[k]), lo = HexValue(seq[k + 1]);
        known = hi >= 0 && lo >= 0;
        bytes.push_back(static_cast<char>(hi * 16 + lo));
      }
      if (known) {
        std::string utf8;
        std::size_t bad = 0;
        if (ConvertToUtf8(bytes, charset_, &utf8, &bad)) {
          out += utf8;
        } else {
          out += "\xEF\xBF\xBD";  // U+FFFD: the bytes mean nothing in the message's charset
        }
      }
    } else {
      known = false;
    }
    if (!known) out.append(raw.substr(i, close - i + 1));
    i = close + 1;
  }
  return out;
}

void Message::AddFields(std::string_view line, std::uint32_t base, bool header) {
  const auto at = [base](std::size_t offset) { return base + static_cast<std::uint32_t>(offset); };
  const auto unsplit = [&](std::size_t begin, std::size_t size) {
    FieldRecord field{{at(begin), static_cast<std::uint32_t>(size)},
                      static_cast<std::uint32_t>(repetitions_.size()),
                      0};
    if (size > 0) {
      repetitions_.push_back({field.raw, static_cast<std::uint32_t>(components_.size()), 1});
      components_.push_back(field.raw);
      field.repetition_count = 1;
    }
    fields_.push_back(field);
  };
  const char fs = delimiters_.field;
  const char rs = delimiters_.repetition;
  const char cs = delimiters_.component;
  const std::size_t n = line.size();
  std::size_t k = std::min(line.find(fs), n);
  unsplit(0, k);  // the segment name
  if (k == n) return;
  if (header) {
    // MSH-1 is the separator itself and MSH-2 the encoding characters: neither is split.
    unsplit(3, 1);
    std::size_t end = std::min(line.find(fs, 4), n);
    unsplit(4, end - 4);
    if (end == n) return;
    k = end;
  }
  // One pass over the rest, splitting fields, repetitions and components together.
  std::size_t field_start = ++k, rep_start = k, comp_start = k;
  FieldRecord field{{}, static_cast<std::uint32_t>(repetitions_.size()), 0};
  RepetitionRecord rep{{}, static_cast<std::uint32_t>(components_.size()), 0};
  for (;; ++k) {
    const bool end = k == n;
    const char c = end ? fs : line[k];
    if (c != fs && c != rs && c != cs) continue;
    components_.push_back({at(comp_start), static_cast<std::uint32_t>(k - comp_start)});
    ++rep.component_count;
    comp_start = k + 1;
    if (c == cs) continue;
    rep.raw = {at(rep_start), static_cast<std::uint32_t>(k - rep_start)};
    if (rep.raw.size == 0) {  // an empty repetition has no components
      components_.pop_back();
      rep.component_count = 0;
    }
    repetitions_.push_back(rep);
    ++field.repetition_count;
    rep_start = k + 1;
    rep = {{}, static_cast<std::uint32_t>(components_.size()), 0};
    if (c == rs) continue;
    field.raw = {at(field_start), static_cast<std::uint32_t>(k - field_start)};
    if (field.raw.size == 0) {  // an empty field has no repetitions
      repetitions_.pop_back();
      field.repetition_count = 0;
    }
    fields_.push_back(field);
    if (end) return;
    field_start = k + 1;
    field = {{}, static_cast<std::uint32_t>(repetitions_.size()), 0};
  }
}

fhir::Result<Message> Parse(std::string_view bytes) {
  bytes = TrimStart(bytes);
  if (bytes.empty()) {
    return ParseError("hl7v2.segment-sequence", "the message is empty", "MSH");
  }
  if (!bytes.starts_with("MSH")) {
    return ParseError("hl7v2.segment-sequence", "a message must start with an MSH segment", "MSH");
  }
  if (bytes.size() > 0xFFFFFFF0u) {
    return ParseError("hl7v2.application-internal-error", "the message is too large", "MSH");
  }
  auto delimiters = ReadDelimiters(bytes);
  if (!delimiters.ok()) return std::move(delimiters).error();

  // MSH-18 is read before conversion; the MSH fields before it are nearly always ASCII.
  std::string_view first_line = bytes.substr(0, bytes.find_first_of("\r\n"));
  std::string_view msh18 = Part(first_line, delimiters->field, 18);
  msh18 = Part(Part(msh18, delimiters->repetition, 1), delimiters->component, 1);
  std::string charset;
  std::string text;
  std::size_t bad = 0;
  if (msh18.empty()) {
    // No MSH-18: UTF-8 when the bytes are UTF-8, else GB 18030 as Chinese systems send.
    charset = InvalidUtf8Offset(bytes) == std::string_view::npos ? "UTF-8" : "GB18030";
  } else if (auto name = IconvName(msh18)) {
    charset = *name;
  } else {
    return ParseError("hl7v2.table-value-not-found",
                      "MSH-18 names a character set that is not supported: " + std::string(msh18),
                      "MSH-18");
  }
  // UTF-8 is only checked; other character sets are converted once, before splitting.
  std::string_view source = bytes;
  if (charset == "UTF-8") {
    bad = InvalidUtf8Offset(bytes);
    if (bad != std::string_view::npos) {
      return ParseError("hl7v2.data-type", "byte " + std::to_string(bad) + " is not valid UTF-8",
                        LocateOffset(bytes, bad, delimiters->field));
    }
  } else if (ConvertToUtf8(bytes, charset, &text, &bad)) {
    source = text;
  } else {
    return ParseError("hl7v2.data-type", "byte " + std::to_string(bad) + " is not valid " + charset,
                      LocateOffset(text, text.size(), delimiters->field));
  }

  Message message;
  message.delimiters_ = *delimiters;
  message.charset_ = std::move(charset);
  std::string normal;
  normal.reserve(source.size());
  std::vector<std::pair<std::string, std::uint32_t>> counts;
  std::size_t pos = 0;
  std::size_t line_number = 0;
  const char fs = delimiters->field;
  while (pos < source.size()) {
    std::size_t end = pos;
    while (end < source.size() && !IsSegmentEnd(source[end])) ++end;
    std::string_view line = source.substr(pos, end - pos);
    pos = end + 1;
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    ++line_number;
    std::string_view name = line.substr(0, line.find(fs));
    if (!ValidSegmentName(name)) {
      return ParseError("hl7v2.segment-sequence",
                        "segment " + std::to_string(line_number) +
                            " does not start with a segment name of 3 capitals or digits",
                        "segment " + std::to_string(line_number));
    }
    if (name == "MSH" && line_number > 1) {
      return ParseError("hl7v2.segment-sequence",
                        "a second MSH: several messages must be parsed as a batch", "MSH(2)");
    }
    std::uint32_t ordinal = 0;
    for (auto& [n, c] : counts) {
      if (n == name) ordinal = ++c;
    }
    if (ordinal == 0) {
      counts.emplace_back(std::string(name), 1);
      ordinal = 1;
    }
    const std::uint32_t base = static_cast<std::uint32_t>(normal.size());
    Message::SegmentRecord rec{static_cast<std::uint32_t>(message.fields_.size()), 0, ordinal,
                               IsHeader(name)};
    message.AddFields(line, base, rec.header);
    rec.field_count = static_cast<std::uint32_t>(message.fields_.size()) - rec.first_field;
    message.segments_.push_back(rec);
    normal.append(line);
    normal.push_back('\r');
  }
  message.text_ = std::make_shared<const std::string>(std::move(normal));
  return message;
}

fhir::Result<std::vector<Message>> ParseBatch(std::string_view bytes) {
  bytes = TrimStart(bytes);
  std::vector<Message> messages;
  // Split at each MSH; batch header and trailer segments (FHS, BHS, BTS, FTS) are dropped.
  std::vector<std::string_view> chunks;
  std::size_t pos = 0;
  std::size_t chunk_start = std::string_view::npos;
  bool saw_header = false;
  while (pos < bytes.size()) {
    std::size_t end = pos;
    while (end < bytes.size() && !IsSegmentEnd(bytes[end])) ++end;
    std::string_view line = bytes.substr(pos, end - pos);
    std::string_view name = line.substr(0, 3);
    bool envelope = name == "FHS" || name == "BHS" || name == "BTS" || name == "FTS";
    if (line.size() >= 3 && (name == "MSH" || envelope)) {
      if (chunk_start != std::string_view::npos) {
        chunks.push_back(bytes.substr(chunk_start, pos - chunk_start));
        chunk_start = std::string_view::npos;
      }
      if (name == "MSH") chunk_start = pos;
      if (name == "FHS" || name == "BHS") saw_header = true;
    } else if (chunk_start == std::string_view::npos &&
               line.find_first_not_of(" \t") != std::string_view::npos) {
      if (!ValidSegmentName(name)) {
        return ParseError("hl7v2.segment-sequence", "the data does not start with an MSH segment",
                          "MSH");
      }
      return ParseError("hl7v2.segment-sequence",
                        "segment " + std::string(name) + " is outside any message",
                        std::string(name));
    }
    pos = end + 1;
  }
  if (chunk_start != std::string_view::npos) chunks.push_back(bytes.substr(chunk_start));
  if (chunks.empty()) {
    if (saw_header) return messages;  // an empty batch is valid
    return ParseError("hl7v2.segment-sequence", "no MSH segment found", "MSH");
  }
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    auto parsed = Parse(chunks[i]);
    if (!parsed.ok()) {
      fhir::Issue issue = parsed.error().issues().front();
      issue.text = "message " + std::to_string(i + 1) + ": " + issue.text;
      return fhir::Error(parsed.error().http_status(), std::move(issue));
    }
    messages.push_back(std::move(*parsed));
  }
  return messages;
}

std::string Escape(std::string_view value, const Delimiters& d) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == d.escape) {
      out += d.escape;
      out += 'E';
      out += d.escape;
    } else if (c == d.field) {
      out += d.escape;
      out += 'F';
      out += d.escape;
    } else if (c == d.component) {
      out += d.escape;
      out += 'S';
      out += d.escape;
    } else if (c == d.subcomponent) {
      out += d.escape;
      out += 'T';
      out += d.escape;
    } else if (c == d.repetition) {
      out += d.escape;
      out += 'R';
      out += d.escape;
    } else if (c == '\r' || c == '\n') {
      out += d.escape;
      out += ".br";
      out += d.escape;
    } else {
      out += c;
    }
  }
  return out;
}

fhir::Result<std::string> EncodeText(std::string_view utf8, std::string_view charset) {
  std::string out;
  if (!ConvertFromUtf8(utf8, std::string(charset), &out)) {
    return fhir::Error::Unprocessable("hl7v2.application-internal-error",
                                      "the text cannot be represented in " + std::string(charset));
  }
  return out;
}

}  // namespace mappings::hl7v2
