// HL7 v2 acknowledgements (original mode): the ACK a receiver answers each message with.
#ifndef MAPPINGS_HL7V2_ACK_H_
#define MAPPINGS_HL7V2_ACK_H_

#include <string>
#include <string_view>
#include <vector>

#include "fhir/error.h"
#include "mappings/hl7v2/er7.h"

namespace mappings::hl7v2 {

struct AckError {
  std::string location;  // "PID-3[1].1", as ERR-2 wants it (terser path, see er7.h)
  // HL7 table 0357: 100 segment sequence, 101 required field missing, 102 data type, 103 table
  // value not found, 200 unsupported message type, 207 application internal error ...
  std::string code;
  std::string text;
};

// An original-mode ACK for `received`: MSH with sender and receiver swapped, MSH-9
// ACK^<trigger>^ACK, MSH-10 = control_id, MSH-7 = timestamp (HL7 DTM, given by the caller: the
// library has no clock), MSH-11, MSH-12 and MSH-18 as received, MSA-1 = code (AA, AE, AR), MSA-2
// = the received MSH-10, one ERR per error (ERR-2 location, ERR-3 code, ERR-4 severity E, or W
// under AA, ERR-8 text; ERR-1 instead for versions before 2.5). Segments end with \r. The text is
// UTF-8: send it in the sender's character set with EncodeText(ack, received.charset()).
std::string BuildAck(const Message& received, std::string_view code,
                     const std::vector<AckError>& errors, std::string_view control_id,
                     std::string_view timestamp);

// For bytes that did not parse: an ACK built from whatever of the MSH can be read (or defaults):
// the delimiters, MSH-3 to MSH-6, MSH-9's trigger, MSH-10, MSH-11 and MSH-12, keeping only
// printable ASCII from them. ASCII only, so it reads the same in any character set.
std::string BuildRejection(std::string_view raw, std::string_view code, const AckError& error,
                           std::string_view control_id, std::string_view timestamp);

// The ERR entries for an error from Parse, ParseBatch or Mapper::Map: each issue's location is
// its expression, its code the table 0357 condition its message id names ("hl7v2.data-type" ->
// 102, "hl7v2.unsupported-message-type" -> 200, ...; 207 for any other id).
std::vector<AckError> AckErrorsFor(const fhir::Error& error);

}  // namespace mappings::hl7v2

#endif  // MAPPINGS_HL7V2_ACK_H_
