// HL7 v2 messages in ER7 ("pipe and hat") encoding: parsing and reading values.
//
// Parse takes the bytes as received: a UTF-8 byte order mark, segments ended by \r, \n or \r\n,
// blank lines and trailing empty fields are all accepted. The delimiters come from MSH-1/MSH-2 and
// the character set from MSH-18 (UTF-8, ASCII, GB 18030 / GBK / GB2312, ISO 8859-n); the text is
// converted to UTF-8 once, so every value read afterwards is UTF-8. Without MSH-18 the bytes are
// taken as UTF-8 when they are valid UTF-8 and as GB 18030 otherwise (what Chinese HIS send).
// Z-segments are kept like any other segment.
//
// Errors name where the fault is, as a terser path ("PID-3[2].1", "OBX(3)-5"), in the issue's
// expression; the message id tells the HL7 table 0357 condition (see ack.h, AckErrorsFor).
//
// Message is immutable and cheap to copy (the text is shared); safe to read from many threads.
#ifndef MAPPINGS_HL7V2_ER7_H_
#define MAPPINGS_HL7V2_ER7_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/result.h"

namespace mappings::hl7v2 {

struct Delimiters {
  char field = '|';
  char component = '^';
  char repetition = '~';
  char escape = '\\';
  char subcomponent = '&';
};

class Message;

// One segment of a Message; valid while the Message it came from lives. Field, repetition,
// component and sub-component numbers are 1-based as in HL7 ("PID-3[2].1" is field 3, repetition
// 2, component 1). For MSH, field 1 is the field separator and field 2 the encoding characters.
class Segment {
 public:
  std::string_view name() const;
  // Which segment of this name it is in its message: 1 for the first OBX, 3 for the third.
  std::size_t ordinal() const { return ordinal_; }
  // The number of the last field present (trailing empty fields count).
  std::size_t field_count() const;
  // The field as sent (still escaped, repetitions and components not split); "" when absent.
  std::string_view Raw(std::size_t field) const;
  // The number of repetitions the field has (0 when it is empty).
  std::size_t RepetitionCount(std::size_t field) const;
  // The number of components of one repetition (0 when it is empty).
  std::size_t ComponentCount(std::size_t field, std::size_t repetition = 1) const;
  // The number of sub-components of one component (0 when it is empty).
  std::size_t SubcomponentCount(std::size_t field, std::size_t repetition,
                                std::size_t component) const;
  // The unescaped UTF-8 value of one sub-component; "" when absent. The HL7 null `""` is returned
  // as it was sent, two double quotes, so a mapping can tell "delete" from "not sent".
  std::string Get(std::size_t field, std::size_t repetition = 1, std::size_t component = 1,
                  std::size_t subcomponent = 1) const;
  // The terser path of a position in this segment, as errors and ERR-2 name it: "PID-3",
  // "PID-3[2]", "PID-3[2].1", "PID-3[2].1.2"; "OBX(3)-5" for the third OBX. Zero parts are left
  // out.
  std::string Location(std::size_t field, std::size_t repetition = 0, std::size_t component = 0,
                       std::size_t subcomponent = 0) const;
  // The terser path of the segment itself: "PID", "OBX(3)".
  std::string Location() const;

 private:
  friend class Message;
  Segment(const Message* message, std::size_t index, std::size_t ordinal)
      : message_(message), index_(index), ordinal_(ordinal) {}
  std::string_view RawRepetition(std::size_t field, std::size_t repetition) const;
  std::string_view RawComponent(std::size_t field, std::size_t repetition,
                                std::size_t component) const;

  const Message* message_;
  std::size_t index_;
  std::size_t ordinal_;
};

class Message {
 public:
  // The unescaped UTF-8 value at a terser-like path: "MSH-10", "PID-3[2].1", "OBX-5.1.2", "PID-3"
  // (first repetition, first component, first sub-component); "" when absent or when the path is
  // not one. The segment name may carry an ordinal: "OBX(3)-5" is the third OBX.
  std::string Get(std::string_view path) const;

  const Delimiters& delimiters() const { return delimiters_; }
  // The character set the bytes were received in, as an iconv name: "UTF-8", "GB18030", ...
  const std::string& charset() const { return charset_; }
  // MSH-12, e.g. "2.5.1".
  std::string version() const;

  std::size_t segment_count() const { return segments_.size(); }
  // The segment at `index` (0-based, MSH is 0).
  Segment segment(std::size_t index) const;
  // The index of the `ordinal`th segment named `name` (1-based), or segment_count() when absent.
  std::size_t Find(std::string_view name, std::size_t ordinal = 1) const;
  // The message as UTF-8 ER7, segments ended by \r, as parsed.
  std::string_view text() const { return *text_; }

  // Unescapes a raw value with this message's delimiters: \F\ \S\ \T\ \R\ \E\, \Xhh..\ (bytes in
  // the message's character set), \.br\ and \.sp\ as a line break; highlighting (\H\ \N\) and
  // other formatting commands dropped; an unknown or unterminated sequence kept as sent.
  std::string Unescape(std::string_view raw) const;

 private:
  friend class Segment;
  friend fhir::Result<Message> Parse(std::string_view bytes);
  Message() = default;  // only Parse makes one
  struct Span {
    std::uint32_t begin;
    std::uint32_t size;
  };
  struct SegmentRecord {
    std::uint32_t first_field;  // index in fields_ of field 0 (the segment name)
    std::uint32_t field_count;  // entries in fields_, name included
    std::uint32_t ordinal;
    bool header;  // MSH, FHS or BHS: fields 1 and 2 are the delimiters
  };

  std::string_view View(Span span) const {
    return std::string_view(*text_).substr(span.begin, span.size);
  }

  std::shared_ptr<const std::string> text_;
  Delimiters delimiters_;
  std::string charset_;
  // Fields, repetitions and components are split once, while parsing, so reading a value is a
  // lookup; sub-components are split when read.
  struct FieldRecord {
    Span raw;
    std::uint32_t first_repetition;  // index in repetitions_
    std::uint32_t repetition_count;  // 0 for an empty field
  };
  struct RepetitionRecord {
    Span raw;
    std::uint32_t first_component;  // index in components_
    std::uint32_t component_count;  // 0 for an empty repetition
  };
  // Adds the fields of one segment's `line` (which starts at `base` in the text), split into
  // repetitions and components; `header` for MSH, FHS and BHS.
  void AddFields(std::string_view line, std::uint32_t base, bool header);
  const FieldRecord* FieldAt(std::size_t segment, std::size_t field) const;
  const RepetitionRecord* RepetitionAt(std::size_t segment, std::size_t field,
                                       std::size_t repetition) const;

  std::vector<SegmentRecord> segments_;
  std::vector<FieldRecord> fields_;
  std::vector<RepetitionRecord> repetitions_;
  std::vector<Span> components_;
};

// One message. A second MSH is an error (use ParseBatch for several messages).
fhir::Result<Message> Parse(std::string_view bytes);
// An FHS/BHS batch (its header and trailer segments dropped), several messages one after the
// other, or one message. An error names the message it is in ("message 2: ...").
fhir::Result<std::vector<Message>> ParseBatch(std::string_view bytes);

// The delimiters declared by the header segment (MSH, or FHS/BHS) that `header` starts with.
fhir::Result<Delimiters> ReadDelimiters(std::string_view header);

// Escapes `value` for a field of a message with these delimiters.
std::string Escape(std::string_view value, const Delimiters& delimiters);

// `utf8` converted to `charset` (an iconv name as Message::charset gives), for answering a sender
// in the character set it used. An error when a character cannot be represented.
fhir::Result<std::string> EncodeText(std::string_view utf8, std::string_view charset);

}  // namespace mappings::hl7v2

#endif  // MAPPINGS_HL7V2_ER7_H_
