// HL7 v2 messages as files hold them, for the sending tools (`fhirhub hl7 send`, the load
// generator): segments ended by \r, \n or \r\n, one message or several one after the other, with
// or without FHS/BHS batch envelopes.
#ifndef CONNECTORS_MLLP_MESSAGE_FILE_H_
#define CONNECTORS_MLLP_MESSAGE_FILE_H_

#include <string>
#include <string_view>
#include <vector>

namespace connectors::mllp {

// The messages of `file`, each starting at an MSH segment, its segments ended by \r as MLLP
// carries them; blank lines and the batch segments FHS, BHS, BTS and FTS are left out, and every
// other byte is kept as it is (whatever the character set). Lines before the first MSH that are
// not batch segments form a message of their own, which the receiver will refuse.
std::vector<std::string> SplitMessages(std::string_view file);

}  // namespace connectors::mllp

#endif  // CONNECTORS_MLLP_MESSAGE_FILE_H_
