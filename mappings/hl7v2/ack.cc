#include "mappings/hl7v2/ack.h"

#include <algorithm>
#include <charconv>
#include <utility>

namespace mappings::hl7v2 {
namespace {

struct Condition {
  std::string_view id;    // message id after "hl7v2."
  std::string_view code;  // HL7 table 0357
  std::string_view text;
};

constexpr Condition kConditions[] = {
    {"segment-sequence", "100", "Segment sequence error"},
    {"required-field-missing", "101", "Required field missing"},
    {"data-type", "102", "Data type error"},
    {"table-value-not-found", "103", "Table value not found"},
    {"value-too-long", "104", "Value too long"},
    {"unsupported-message-type", "200", "Unsupported message type"},
    {"unsupported-event-code", "201", "Unsupported event code"},
    {"unsupported-processing-id", "202", "Unsupported processing id"},
    {"unsupported-version-id", "203", "Unsupported version id"},
    {"unknown-key-identifier", "204", "Unknown key identifier"},
    {"duplicate-key-identifier", "205", "Duplicate key identifier"},
    {"application-record-locked", "206", "Application record locked"},
    {"application-internal-error", "207", "Application internal error"},
};

std::string_view CodeText(std::string_view code) {
  for (const auto& c : kConditions) {
    if (c.code == code) return c.text;
  }
  return {};
}

// The parts of a terser path: "PID(2)-3[1].1.2" -> PID, 2, 3, 1, 1, 2 (0 for absent parts).
struct Position {
  std::string segment;
  std::size_t sequence = 0, field = 0, repetition = 0, component = 0, subcomponent = 0;
};

std::size_t TakeNumber(std::string_view* s) {
  std::size_t value = 0;
  auto [ptr, ec] = std::from_chars(s->data(), s->data() + s->size(), value);
  if (ec != std::errc()) return 0;
  s->remove_prefix(ptr - s->data());
  return value;
}

Position ParseLocation(std::string_view location) {
  Position p;
  if (location.size() < 3 || !std::all_of(location.begin(), location.begin() + 3, [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      })) {
    return p;
  }
  p.segment = std::string(location.substr(0, 3));
  p.sequence = 1;
  location.remove_prefix(3);
  if (location.starts_with("(")) {
    location.remove_prefix(1);
    p.sequence = TakeNumber(&location);
    if (location.starts_with(")")) location.remove_prefix(1);
  }
  if (!location.starts_with("-")) return p;
  location.remove_prefix(1);
  p.field = TakeNumber(&location);
  if (location.starts_with("[")) {
    location.remove_prefix(1);
    p.repetition = TakeNumber(&location);
    if (location.starts_with("]")) location.remove_prefix(1);
  }
  if (location.starts_with(".")) {
    location.remove_prefix(1);
    p.component = TakeNumber(&location);
    if (location.starts_with(".")) {
      location.remove_prefix(1);
      p.subcomponent = TakeNumber(&location);
    }
  }
  return p;
}

// Joins parts with `delimiter`, leaving out trailing empty ones.
std::string Join(const std::vector<std::string>& parts, char delimiter) {
  std::size_t n = parts.size();
  while (n > 0 && parts[n - 1].empty()) --n;
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0) out += delimiter;
    out += parts[i];
  }
  return out;
}

std::string Number(std::size_t n) { return n == 0 ? std::string() : std::to_string(n); }

// True for versions before 2.5, whose ERR has only ERR-1 (ELD).
bool OldErr(std::string_view version) {
  if (!version.starts_with("2.")) return false;
  version.remove_prefix(2);
  std::size_t minor = 0;
  std::from_chars(version.data(), version.data() + version.size(), minor);
  return minor < 5;
}

struct Header {
  Delimiters delimiters;
  std::string encoding = "^~\\&";
  std::string sending_application, sending_facility, receiving_application, receiving_facility;
  std::string trigger, control_id, processing_id, version, charset;
};

std::string Build(const Header& h, std::string_view code, const std::vector<AckError>& errors,
                  std::string_view control_id, std::string_view timestamp) {
  const Delimiters& d = h.delimiters;
  const char fs = d.field;
  const char cs = d.component;
  std::vector<std::string> msh = {
      "MSH",
      h.encoding,
      h.receiving_application,
      h.receiving_facility,
      h.sending_application,
      h.sending_facility,
      Escape(timestamp, d),
      "",
      h.trigger.empty() ? std::string("ACK") : "ACK" + std::string(1, cs) + h.trigger + cs + "ACK",
      Escape(control_id, d),
      h.processing_id.empty() ? std::string("P") : h.processing_id,
      h.version.empty() ? std::string("2.5.1") : h.version,
      "",
      "",
      "",
      "",
      "",
      h.charset};
  std::string out = Join(msh, fs) + '\r';
  out += Join({"MSA", Escape(code, d), h.control_id}, fs) + '\r';
  const bool old = OldErr(h.version);
  const std::string severity = code == "AA" ? "W" : "E";
  for (const AckError& e : errors) {
    Position p = ParseLocation(e.location);
    std::string code_text(CodeText(e.code));
    if (old) {
      std::string sub(1, d.subcomponent);
      std::string eld = Join({p.segment, Number(p.sequence), Number(p.field),
                              Escape(e.code, d) + sub + Escape(code_text, d) + sub + "HL70357"},
                             cs);
      out += Join({"ERR", eld}, fs) + '\r';
      continue;
    }
    std::string erl = Join({p.segment, Number(p.sequence), Number(p.field), Number(p.repetition),
                            Number(p.component), Number(p.subcomponent)},
                           cs);
    std::string cwe = Join({Escape(e.code, d), Escape(code_text, d), "HL70357"}, cs);
    out += Join({"ERR", "", erl, cwe, severity, "", "", "", Escape(e.text, d)}, fs) + '\r';
  }
  return out;
}

// Printable ASCII only, at most 199 characters: what can safely be echoed from unparsed bytes.
std::string Printable(std::string_view raw) {
  std::string out;
  for (char c : raw) {
    if (out.size() >= 199) break;
    if (c >= 0x20 && c < 0x7F) out.push_back(c);
  }
  return out;
}

std::string_view Part(std::string_view text, char delimiter, std::size_t n) {
  std::size_t begin = 0;
  for (std::size_t i = 1; i < n; ++i) {
    std::size_t next = text.find(delimiter, begin);
    if (next == std::string_view::npos) return {};
    begin = next + 1;
  }
  std::size_t end = text.find(delimiter, begin);
  return text.substr(begin, end == std::string_view::npos ? std::string_view::npos : end - begin);
}

}  // namespace

std::string BuildAck(const Message& received, std::string_view code,
                     const std::vector<AckError>& errors, std::string_view control_id,
                     std::string_view timestamp) {
  Segment msh = received.segment(0);
  Header h;
  h.delimiters = received.delimiters();
  h.encoding = std::string(msh.Raw(2));
  h.sending_application = std::string(msh.Raw(3));
  h.sending_facility = std::string(msh.Raw(4));
  h.receiving_application = std::string(msh.Raw(5));
  h.receiving_facility = std::string(msh.Raw(6));
  h.trigger = Escape(msh.Get(9, 1, 2), h.delimiters);
  h.control_id = std::string(msh.Raw(10));
  h.processing_id = std::string(msh.Raw(11));
  h.version = std::string(msh.Raw(12));
  h.charset = std::string(msh.Raw(18));
  return Build(h, code, errors, control_id, timestamp);
}

std::string BuildRejection(std::string_view raw, std::string_view code, const AckError& error,
                           std::string_view control_id, std::string_view timestamp) {
  Header h;
  if (raw.starts_with("\xEF\xBB\xBF")) raw.remove_prefix(3);
  while (!raw.empty() && (raw.front() == '\r' || raw.front() == '\n')) raw.remove_prefix(1);
  if (raw.starts_with("MSH")) {
    if (auto d = ReadDelimiters(raw); d.ok()) {
      h.delimiters = *d;
      h.encoding = std::string{d->component, d->repetition, d->escape, d->subcomponent};
      std::string_view line = raw.substr(0, raw.find_first_of("\r\n"));
      const char fs = d->field;
      // Splitting at the separator: part n is MSH-(n+1).
      h.sending_application = Printable(Part(line, fs, 3));
      h.sending_facility = Printable(Part(line, fs, 4));
      h.receiving_application = Printable(Part(line, fs, 5));
      h.receiving_facility = Printable(Part(line, fs, 6));
      h.trigger = Printable(Part(Part(Part(line, fs, 9), d->repetition, 1), d->component, 2));
      h.control_id = Printable(Part(line, fs, 10));
      h.processing_id = Printable(Part(line, fs, 11));
      h.version = Printable(Part(line, fs, 12));
    }
  }
  return Build(h, code, {error}, control_id, timestamp);
}

std::vector<AckError> AckErrorsFor(const fhir::Error& error) {
  std::vector<AckError> out;
  for (const fhir::Issue& issue : error.issues()) {
    std::string_view id = issue.message_id;
    std::string code = "207";
    if (id.starts_with("hl7v2.")) {
      id.remove_prefix(6);
      for (const auto& c : kConditions) {
        if (c.id == id) code = std::string(c.code);
      }
    }
    out.push_back({issue.expression, std::move(code), issue.text});
  }
  return out;
}

}  // namespace mappings::hl7v2
