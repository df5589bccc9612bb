// Test support for the HL7 v2 end-to-end tests: a message to send, the code of its
// acknowledgement, and how many resources a FHIR search finds.
#ifndef TESTS_SUPPORT_MLLP_MESSAGES_H_
#define TESTS_SUPPORT_MLLP_MESSAGES_H_

#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "mappings/hl7v2/er7.h"
#include "tests/support/http_client.h"

namespace testing_support {

// An ADT^A01 registering `patient` (PID-3, authority HOSP) as message `control_id`.
inline std::string Adt(const std::string& control_id, const std::string& patient) {
  return "MSH|^~\\&|HIS|HOSP|FHIRHUB|CENTER|20240102030405||ADT^A01^ADT_A01|" + control_id +
         "|P|2.5.1\r"
         "EVN|A01|20240102030405\r"
         "PID|1||" +
         patient +
         "^^^HOSP^MR||Zhang^San||19491231|F\r"
         "PV1|1|I\r";
}

// MSA-1 of an acknowledgement (AA, AE, AR), or what could not be parsed.
inline std::string AckCode(const std::string& ack) {
  auto parsed = mappings::hl7v2::Parse(ack);
  return parsed.ok() ? parsed->Get("MSA-1") : "unparseable: " + ack;
}

// The number of resources `query` ("Patient?identifier=...") finds (its Bundle's total).
inline int Count(int port, const std::string& query) {
  const Answer answer = Call(port, "GET", "/fhir/" + query + "&_summary=count");
  std::smatch m;
  if (answer.status != 200 || !std::regex_search(answer.body, m, std::regex(R"("total":(\d+))"))) {
    ADD_FAILURE() << query << ": " << answer.status << " " << answer.body;
    return -1;
  }
  return std::stoi(m[1]);
}

}  // namespace testing_support

#endif  // TESTS_SUPPORT_MLLP_MESSAGES_H_
