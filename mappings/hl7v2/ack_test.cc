#include "mappings/hl7v2/ack.h"

#include <gtest/gtest.h>

namespace mappings::hl7v2 {
namespace {

TEST(AckTest, AcceptAckSwapsSenderAndReceiver) {
  auto m = Parse(
      "MSH|^~\\&|HIS|HOSP|FHIRHUB|CENTER|20240102030405||ADT^A01^ADT_A01|MSG0001|P|2.5.1\r"
      "PID|1||123\r");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(BuildAck(*m, "AA", {}, "ACK0001", "20240102030406"),
            "MSH|^~\\&|FHIRHUB|CENTER|HIS|HOSP|20240102030406||ACK^A01^ACK|ACK0001|P|2.5.1\r"
            "MSA|AA|MSG0001\r");
}

TEST(AckTest, ErrorAckCarriesOneErrPerError) {
  auto m = Parse(
      "MSH|^~\\&|HIS|HOSP|FHIRHUB|CENTER|20240102030405||ORU^R01|M2|T|2.6|||||CHN|UNICODE "
      "UTF-8\r");
  ASSERT_TRUE(m.ok());
  std::string ack = BuildAck(
      *m, "AE",
      {{"PID-3[1].1", "101", "PID-3 has no identifier"}, {"OBX(2)-5", "102", "not a number|x"}},
      "A2", "20240102");
  EXPECT_EQ(ack,
            "MSH|^~\\&|FHIRHUB|CENTER|HIS|HOSP|20240102||ACK^R01^ACK|A2|T|2.6||||||UNICODE UTF-8\r"
            "MSA|AE|M2\r"
            "ERR||PID^1^3^1^1|101^Required field missing^HL70357|E||||PID-3 has no identifier\r"
            "ERR||OBX^2^5|102^Data type error^HL70357|E||||not a number\\F\\x\r");
}

TEST(AckTest, OlderVersionsGetErr1) {
  auto m = Parse("MSH|^~\\&|HIS|HOSP|||20240102||ADT^A04|9|P|2.3\r");
  ASSERT_TRUE(m.ok());
  std::string ack = BuildAck(*m, "AR", {{"MSH-9", "200", "unsupported"}}, "A9", "20240102");
  EXPECT_NE(ack.find("\rERR|MSH^1^9^200&Unsupported message type&HL70357\r"), std::string::npos)
      << ack;
}

TEST(AckTest, RejectionReadsWhatItCanOfTheHeader) {
  std::string ack = BuildRejection(
      "MSH|^~\\&|HIS|HOSP|FHIRHUB|CENTER|20240102||ADT^A08|C\x01"
      "9|P|2.5\rpid|bad\r",
      "AR", {"segment 2", "100", "bad segment"}, "R1", "20240103");
  EXPECT_EQ(ack,
            "MSH|^~\\&|FHIRHUB|CENTER|HIS|HOSP|20240103||ACK^A08^ACK|R1|P|2.5\r"
            "MSA|AR|C9\r"
            "ERR|||100^Segment sequence error^HL70357|E||||bad segment\r");
  std::string defaults = BuildRejection("garbage", "AR", {"MSH", "100", "no MSH"}, "R2", "2024");
  EXPECT_EQ(defaults,
            "MSH|^~\\&|||||2024||ACK|R2|P|2.5.1\rMSA|AR\r"
            "ERR||MSH^1|100^Segment sequence error^HL70357|E||||no MSH\r");
}

TEST(AckTest, ParseErrorsBecomeErrEntries) {
  auto parsed = Parse("MSH|^~\\&|A||||||ADT^A01|1|P|2.5|||||CHN|EBCDIC\r");
  ASSERT_FALSE(parsed.ok());
  auto errors = AckErrorsFor(parsed.error());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].location, "MSH-18");
  EXPECT_EQ(errors[0].code, "103");
  auto other = AckErrorsFor(fhir::Error::Internal("store.failed", "x"));
  EXPECT_EQ(other[0].code, "207");
}

}  // namespace
}  // namespace mappings::hl7v2
