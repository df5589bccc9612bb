#include "fhir/model/primitive.h"

#include <gtest/gtest.h>

#include <string>

namespace fhir::model {
namespace {

void ExpectValid(PrimitiveKind kind, std::initializer_list<std::string_view> texts) {
  for (std::string_view text : texts) {
    EXPECT_TRUE(IsValidPrimitive(kind, text)) << DescribeRule(kind) << ": '" << text << "'";
  }
}

void ExpectInvalid(PrimitiveKind kind, std::initializer_list<std::string_view> texts) {
  for (std::string_view text : texts) {
    EXPECT_FALSE(IsValidPrimitive(kind, text)) << DescribeRule(kind) << ": '" << text << "'";
  }
}

TEST(PrimitiveTest, JsonRepresentation) {
  EXPECT_EQ(JsonRepresentationOf(PrimitiveKind::kBoolean), JsonRepresentation::kBoolean);
  for (PrimitiveKind kind : {PrimitiveKind::kInteger, PrimitiveKind::kPositiveInt,
                             PrimitiveKind::kUnsignedInt, PrimitiveKind::kDecimal}) {
    EXPECT_EQ(JsonRepresentationOf(kind), JsonRepresentation::kNumber);
  }
  for (PrimitiveKind kind :
       {PrimitiveKind::kString, PrimitiveKind::kCode, PrimitiveKind::kDateTime,
        PrimitiveKind::kInstant, PrimitiveKind::kBase64Binary, PrimitiveKind::kXhtml,
        PrimitiveKind::kUri, PrimitiveKind::kId, PrimitiveKind::kTime}) {
    EXPECT_EQ(JsonRepresentationOf(kind), JsonRepresentation::kString);
  }
}

TEST(PrimitiveTest, Boolean) {
  ExpectValid(PrimitiveKind::kBoolean, {"true", "false"});
  ExpectInvalid(PrimitiveKind::kBoolean, {"", "True", "1", "0", "yes", " true", "false "});
}

TEST(PrimitiveTest, Integer) {
  ExpectValid(PrimitiveKind::kInteger,
              {"0", "-0", "1", "-1", "42", "2147483647", "-2147483648", "1000000000"});
  ExpectInvalid(PrimitiveKind::kInteger,
                {"", "-", "01", "-01", "00", "+1", "1.0", "1e2", "2147483648", "-2147483649",
                 "99999999999", "12345678901234567890", " 1", "1 ", "0x10", "١"});
}

TEST(PrimitiveTest, PositiveInt) {
  ExpectValid(PrimitiveKind::kPositiveInt, {"1", "9", "10", "2147483647"});
  // The package's expression has no '+', and a '+' would not survive as a JSON number.
  ExpectInvalid(PrimitiveKind::kPositiveInt,
                {"", "0", "-1", "-0", "01", "+1", "2147483648", "1.0", "1e1"});
}

TEST(PrimitiveTest, UnsignedInt) {
  ExpectValid(PrimitiveKind::kUnsignedInt, {"0", "1", "10", "2147483647"});
  ExpectInvalid(PrimitiveKind::kUnsignedInt,
                {"", "-0", "-1", "00", "01", "2147483648", "4294967295", "1.5"});
}

TEST(PrimitiveTest, Decimal) {
  ExpectValid(PrimitiveKind::kDecimal,
              {"0", "-0", "1.50", "0.0001", "-3.14", "1e2", "1E+2", "6.02e-23",
               "123456789012345678901234567890", "0.000000000000000000000000001", "-0.0"});
  ExpectInvalid(PrimitiveKind::kDecimal, {"", "-", "01", "1.", ".5", "+1", "1e", "1e+", "1.5.2",
                                          "NaN", "Infinity", "1,5", " 1", "00.5", "--1", "0x1"});
}

TEST(PrimitiveTest, String) {
  ExpectValid(PrimitiveKind::kString,
              {"a", "王小明", "line\nbreak", "tab\there", "cr\r\n", " ", "emoji \xF0\x9F\x98\x80"});
  ExpectInvalid(
      PrimitiveKind::kString,
      {"", std::string_view("nul\0x", 5), "bell\x07", "vt\x0B", "ff\x0C", "\x1F", "bad \xC3",
       "overlong \xC0\xAF", "surrogate \xED\xA0\x80", "too big \xF4\x90\x80\x80", "stray \x80"});
  std::string big(1024 * 1024, 'a');
  EXPECT_TRUE(IsValidPrimitive(PrimitiveKind::kString, big));
  big += 'a';
  EXPECT_FALSE(IsValidPrimitive(PrimitiveKind::kString, big));
  ExpectValid(PrimitiveKind::kMarkdown, {"# Title\n\n* item"});
  ExpectInvalid(PrimitiveKind::kMarkdown, {"", "\x01"});
}

TEST(PrimitiveTest, Code) {
  ExpectValid(PrimitiveKind::kCode, {"male", "a b", "http://loinc.org", "8480-6", "a\tb", "王"});
  ExpectInvalid(PrimitiveKind::kCode, {"", " ", " male", "male ", "a  b", "a \tb", "\n", "a\x01"});
}

TEST(PrimitiveTest, Id) {
  ExpectValid(PrimitiveKind::kId, {"a", "example", "A-1.b", "123", std::string(64, 'x')});
  ExpectInvalid(PrimitiveKind::kId,
                {"", "a b", "a_b", "a/b", "é", std::string(65, 'x'), "a:b", "#1"});
}

TEST(PrimitiveTest, UriUrlCanonical) {
  for (PrimitiveKind kind : {PrimitiveKind::kUri, PrimitiveKind::kUrl, PrimitiveKind::kCanonical}) {
    ExpectValid(kind, {"http://hl7.org/fhir", "urn:oid:1.2.3",
                       "http://hl7.org/fhir/StructureDefinition/Patient|4.0.1", "#p1", "a"});
    ExpectInvalid(kind, {"", "http://a b", " http://a", "http://a\n", "\x01"});
  }
}

TEST(PrimitiveTest, Oid) {
  ExpectValid(PrimitiveKind::kOid, {"urn:oid:1.2.3", "urn:oid:2.16.840.1.113883", "urn:oid:0.0"});
  ExpectInvalid(PrimitiveKind::kOid, {"", "urn:oid:", "urn:oid:1", "urn:oid:3.1", "urn:oid:1.02",
                                      "urn:oid:1..2", "urn:oid:1.2.", "1.2.3", "URN:OID:1.2"});
}

TEST(PrimitiveTest, Uuid) {
  ExpectValid(PrimitiveKind::kUuid, {"urn:uuid:c757873d-ec9a-4326-a141-556f43239520"});
  ExpectInvalid(PrimitiveKind::kUuid, {"", "urn:uuid:C757873D-EC9A-4326-A141-556F43239520",
                                       "c757873d-ec9a-4326-a141-556f43239520",
                                       "urn:uuid:c757873d-ec9a-4326-a141-556f4323952",
                                       "urn:uuid:c757873d-ec9a-4326-a141-556f432395200",
                                       "urn:uuid:c757873dec9a-4326-a141-556f43239520-",
                                       "urn:uuid:g757873d-ec9a-4326-a141-556f43239520"});
}

TEST(PrimitiveTest, Base64Binary) {
  ExpectValid(PrimitiveKind::kBase64Binary,
              {"AAAA", "aGVsbG8=", "aGk=", "YWJj", "a+/9", "aGVs\nbG8=", " aGVs bG8= "});
  ExpectInvalid(PrimitiveKind::kBase64Binary,
                {"", " ", "A", "AAA", "AAAAA", "aGk", "a===", "====", "aG=k",
                 "aGk=aGk=", "aG\nk=", "aGVsbG8-", "aGVsbG8_", "aGVs bG8"});
}

TEST(PrimitiveTest, Date) {
  ExpectValid(PrimitiveKind::kDate, {"2018", "2018-01", "2018-01-31", "0001", "9999-12-31",
                                     "2024-02-29", "2000-02-29", "2023-04-30"});
  ExpectInvalid(PrimitiveKind::kDate,
                {"", "0000", "18", "20180", "2018-1", "2018-00", "2018-13", "2018-01-00",
                 "2018-01-32", "2023-02-29", "1900-02-29", "2023-02-30", "2023-04-31",
                 "2018-01-01T00:00:00Z", "2018-", "2018-01-", "2018/01/01", "2018-01-1"});
}

TEST(PrimitiveTest, DateTime) {
  ExpectValid(PrimitiveKind::kDateTime,
              {"2015", "2015-02", "2015-02-07", "2015-02-07T13:28:17Z", "2015-02-07T13:28:17-05:00",
               "2015-02-07T13:28:17+08:00", "2015-02-07T13:28:17.239+02:00",
               "2017-01-01T00:00:00.000Z", "2016-12-31T23:59:60Z", "2015-02-07T13:28:17+14:00",
               "2015-02-07T13:28:17-14:00", "2015-02-07T13:28:17+13:59"});
  ExpectInvalid(
      PrimitiveKind::kDateTime,
      {"", "2015-02-07T13:28:17", "2015-02-07T13:28Z", "2015-02-07T24:00:00Z",
       "2015-02-07T13:60:00Z", "2015-02-07T13:28:61Z", "2015-02-07T13:28:17.Z",
       "2015-02-07T13:28:17+14:01", "2015-02-07T13:28:17+15:00", "2015-02-07T13:28:17+0800",
       "2015-02-07T13:28:17z", "2015-02-07 13:28:17Z", "2015-02T13:28:17Z", "2015T13:28:17Z",
       "2015-02-30T13:28:17Z", "2015-02-07T13:28:17Z ", "2015-02-07T"});
}

TEST(PrimitiveTest, Instant) {
  ExpectValid(PrimitiveKind::kInstant, {"2015-02-07T13:28:17.239+02:00", "2017-01-01T00:00:00Z",
                                        "2024-02-29T12:00:00-03:30"});
  ExpectInvalid(PrimitiveKind::kInstant,
                {"", "2015-02-07T13:28:17", "2015-02-07", "2015", "2015-02-07T13:28Z",
                 "2023-02-29T12:00:00Z", "2015-02-07T13:28:17.239"});
}

TEST(PrimitiveTest, Time) {
  ExpectValid(PrimitiveKind::kTime, {"00:00:00", "23:59:59", "12:30:00.5", "23:59:60"});
  ExpectInvalid(PrimitiveKind::kTime, {"", "24:00:00", "12:60:00", "12:30", "12:30:00Z",
                                       "12:30:00+01:00", "1:30:00", "12:30:00.", "12:30:61"});
}

TEST(PrimitiveTest, XhtmlAndNone) {
  ExpectValid(PrimitiveKind::kXhtml, {"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"});
  ExpectInvalid(PrimitiveKind::kXhtml, {""});
  ExpectInvalid(PrimitiveKind::kNone, {"anything"});
}

TEST(PrimitiveTest, DescribeRuleNamesEveryKind) {
  for (int k = static_cast<int>(PrimitiveKind::kNone); k <= static_cast<int>(PrimitiveKind::kXhtml);
       ++k) {
    EXPECT_FALSE(DescribeRule(static_cast<PrimitiveKind>(k)).empty());
  }
  EXPECT_EQ(DescribeRule(PrimitiveKind::kInteger), "an integer in the 32-bit range");
}

}  // namespace
}  // namespace fhir::model
