#include "mappings/hl7v2/er7.h"

#include <gtest/gtest.h>

#include <string>

namespace mappings::hl7v2 {
namespace {

constexpr std::string_view kAdt =
    "MSH|^~\\&|HIS|HOSP|FHIRHUB|CENTER|20240102030405||ADT^A01^ADT_A01|MSG0001|P|2.5.1\r"
    "EVN|A01|20240102030405\r"
    "PID|1||123^^^HOSP^MR~11010519491231002X^^^CHN^NNCHN||Zhang^San||19491231|F|||"
    "Road 1^^Beijing\r"
    "ZPI|custom|value\r"
    "OBX|1|NM|8867-4^Heart rate^LN||72|/min\r"
    "OBX|2|NM|8310-5^Body temperature^LN||36.6|Cel\r"
    "OBX|3|ST|text^^L||a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\r";

Message MustParse(std::string_view bytes) {
  auto parsed = Parse(bytes);
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().text());
  return std::move(*parsed);
}

TEST(Er7Test, ReadsFieldsRepetitionsComponentsAndHeaderFields) {
  Message m = MustParse(kAdt);
  EXPECT_EQ(m.Get("MSH-1"), "|");
  EXPECT_EQ(m.Get("MSH-2"), "^~\\&");
  EXPECT_EQ(m.Get("MSH-9"), "ADT");
  EXPECT_EQ(m.Get("MSH-9.2"), "A01");
  EXPECT_EQ(m.Get("MSH-10"), "MSG0001");
  EXPECT_EQ(m.version(), "2.5.1");
  EXPECT_EQ(m.Get("PID-3"), "123");
  EXPECT_EQ(m.Get("PID-3[2].1"), "11010519491231002X");
  EXPECT_EQ(m.Get("PID-3[2].5"), "NNCHN");
  EXPECT_EQ(m.Get("PID-3[3].1"), "");
  EXPECT_EQ(m.Get("PID-5.2"), "San");
  EXPECT_EQ(m.Get("PID-99"), "");
  EXPECT_EQ(m.Get("ZPI-2"), "value");
  EXPECT_EQ(m.Get("OBX(2)-3.1"), "8310-5");
  EXPECT_EQ(m.Get("OBX(4)-3.1"), "");
  EXPECT_EQ(m.Get("not a path"), "");
  EXPECT_EQ(m.Get("PID-x"), "");
  Segment pid = m.segment(m.Find("PID"));
  EXPECT_EQ(pid.RepetitionCount(3), 2u);
  EXPECT_EQ(pid.ComponentCount(3, 2), 5u);
  EXPECT_EQ(pid.field_count(), 11u);
  Segment obx2 = m.segment(m.Find("OBX", 2));
  EXPECT_EQ(obx2.ordinal(), 2u);
  EXPECT_EQ(obx2.Location(5), "OBX(2)-5");
  EXPECT_EQ(pid.Location(3, 2, 1), "PID-3[2].1");
  EXPECT_EQ(obx2.Location(), "OBX(2)");
  EXPECT_EQ(pid.Location(), "PID");
  EXPECT_EQ(m.Find("NK1"), m.segment_count());
}

TEST(Er7Test, UnescapesDelimitersHexAndLineBreaks) {
  Message m = MustParse(kAdt);
  EXPECT_EQ(m.Get("OBX(3)-5"), "a|b^c&d~e\\f");
  EXPECT_EQ(m.Unescape("line1\\.br\\line2"), "line1\nline2");
  EXPECT_EQ(m.Unescape("\\X4142\\C"), "ABC");
  EXPECT_EQ(m.Unescape("\\H\\bold\\N\\"), "bold");
  EXPECT_EQ(m.Unescape("keep \\Zcustom\\ and \\unterminated"),
            "keep \\Zcustom\\ and \\unterminated");
  EXPECT_EQ(m.Unescape("\\XZZ\\"), "\\XZZ\\");
}

TEST(Er7Test, EscapeIsTheInverseOfUnescape) {
  Message m = MustParse(kAdt);
  const std::string value = "a|b^c&d~e\\f\ng";
  EXPECT_EQ(Escape(value, m.delimiters()), "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\.br\\g");
  EXPECT_EQ(m.Unescape(Escape(value, m.delimiters())), value);
}

TEST(Er7Test, UsesTheDelimitersMshDeclares) {
  Message m = MustParse("MSH#*@!%#A#B#C#D#20240101##ORU*R01#1#P#2.5\nPID#1##x*y@z%w*q#\n");
  EXPECT_EQ(m.delimiters().field, '#');
  EXPECT_EQ(m.delimiters().component, '*');
  EXPECT_EQ(m.delimiters().repetition, '@');
  EXPECT_EQ(m.delimiters().escape, '!');
  EXPECT_EQ(m.delimiters().subcomponent, '%');
  EXPECT_EQ(m.Get("MSH-2"), "*@!%");
  EXPECT_EQ(m.Get("MSH-9.2"), "R01");
  EXPECT_EQ(m.Get("PID-3.2"), "y");
  EXPECT_EQ(m.Get("PID-3[2].1.2"), "w");
}

TEST(Er7Test, AcceptsWhatRealSystemsSend) {
  // A byte order mark, \r\n and \n line ends, blank lines, trailing empty fields.
  Message m = MustParse(
      "\xEF\xBB\xBFMSH|^~\\&|A|B|C|D|20240101||ADT^A04|7|P|2.3|||||\r\n\r\nPID|1||9^^^X||"
      "Li^Si|||||\nPV1|1|O\n");
  EXPECT_EQ(m.segment_count(), 3u);
  EXPECT_EQ(m.Get("PID-5"), "Li");
  EXPECT_EQ(m.Get("PV1-2"), "O");
  EXPECT_EQ(m.charset(), "UTF-8");
  EXPECT_EQ(m.text().substr(0, 3), "MSH");
  EXPECT_EQ(m.text().find('\n'), std::string_view::npos);
}

TEST(Er7Test, ConvertsGb18030ToUtf8) {
  // 张三 and 汉族 in GB 18030; 亅 (0x81 0x7C) has a trail byte equal to the field separator.
  const std::string bytes =
      "MSH|^~\\&|HIS|HOSP|||20240101||ADT^A01|1|P|2.5|||||CHN|GB 18030-2000\r"
      "PID|1||1||\xD5\xC5^\xC8\xFD||||||\x81\x7C\r"
      "ZPD|\xBA\xBA\xD7\xE5\r";
  Message m = MustParse(bytes);
  EXPECT_EQ(m.charset(), "GB18030");
  EXPECT_EQ(m.Get("PID-5.1"), "张");
  EXPECT_EQ(m.Get("PID-5.2"), "三");
  EXPECT_EQ(m.Get("PID-11"), "亅");
  EXPECT_EQ(m.Get("ZPD-1"), "汉族");
  // A hex escape holds bytes of the message's character set.
  EXPECT_EQ(m.Unescape("\\XD5C5\\"), "张");
}

TEST(Er7Test, ReadsGbkWithoutMsh18AndUtf8WithIt) {
  Message gbk = MustParse("MSH|^~\\&|HIS||||20240101||ADT^A01|1|P|2.4\rPID|1||1||\xD5\xC5\r");
  EXPECT_EQ(gbk.charset(), "GB18030");
  EXPECT_EQ(gbk.Get("PID-5"), "张");
  Message utf8 =
      MustParse("MSH|^~\\&|HIS||||20240101||ADT^A01|1|P|2.5|||||CHN|UNICODE UTF-8\rPID|1||1||张\r");
  EXPECT_EQ(utf8.charset(), "UTF-8");
  EXPECT_EQ(utf8.Get("PID-5"), "张");
  Message gbk_named =
      MustParse("MSH|^~\\&|HIS||||20240101||ADT^A01|1|P|2.5|||||CHN|GBK\rPID|1||1||\xD5\xC5\r");
  EXPECT_EQ(gbk_named.Get("PID-5"), "张");
  auto encoded = EncodeText("张", "GB18030");
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(*encoded, "\xD5\xC5");
}

TEST(Er7Test, ErrorsNameWhereTheFaultIs) {
  struct Case {
    std::string bytes;
    std::string message_id;
    std::string location;
  };
  const Case cases[] = {
      {"", "hl7v2.segment-sequence", "MSH"},
      {"PID|1\r", "hl7v2.segment-sequence", "MSH"},
      {"MSH", "hl7v2.required-field-missing", "MSH-2"},
      {"MSH|^~|A\r", "hl7v2.data-type", "MSH-2"},
      {"MSH|^^\\&|A\r", "hl7v2.data-type", "MSH-2"},
      {"MSH|^~\\&|A||||||ADT^A01|1|P|2.5|||||CHN|EBCDIC\r", "hl7v2.table-value-not-found",
       "MSH-18"},
      // Invalid UTF-8 in the second OBX's fifth field.
      {"MSH|^~\\&|A||||||ORU^R01|1|P|2.5|||||CHN|UNICODE UTF-8\rOBX|1|ST|x||ok\r"
       "OBX|2|ST|x||bad\xFF\r",
       "hl7v2.data-type", "OBX(2)-5"},
      {"MSH|^~\\&|A||||||ORU^R01|1|P|2.5\rpid|1\r", "hl7v2.segment-sequence", "segment 2"},
      {"MSH|^~\\&|A||||||ORU^R01|1|P|2.5\rMSH|^~\\&|B\r", "hl7v2.segment-sequence", "MSH(2)"},
  };
  for (const Case& c : cases) {
    auto parsed = Parse(c.bytes);
    ASSERT_FALSE(parsed.ok()) << c.bytes;
    EXPECT_EQ(parsed.error().message_id(), c.message_id) << c.bytes;
    EXPECT_EQ(parsed.error().issues().front().expression, c.location) << c.bytes;
  }
}

TEST(Er7Test, ParsesBatchesAndSingleMessages) {
  const std::string batch =
      "FHS|^~\\&|LAB\rBHS|^~\\&|LAB\r"
      "MSH|^~\\&|LAB||||20240101||ORU^R01|1|P|2.5\rPID|1||a\r"
      "MSH|^~\\&|LAB||||20240101||ORU^R01|2|P|2.5\rPID|1||b\r"
      "BTS|2\rFTS|1\r";
  auto messages = ParseBatch(batch);
  ASSERT_TRUE(messages.ok()) << messages.error().text();
  ASSERT_EQ(messages->size(), 2u);
  EXPECT_EQ((*messages)[0].Get("PID-3"), "a");
  EXPECT_EQ((*messages)[1].Get("MSH-10"), "2");
  EXPECT_EQ((*messages)[1].segment_count(), 2u);

  auto one = ParseBatch(kAdt);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);

  auto empty = ParseBatch("FHS|^~\\&|LAB\rFTS|0\r");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());

  auto bad = ParseBatch("BHS|^~\\&|LAB\rMSH|^~\\&|A||||||ORU^R01|1|P|2.5\rMSH|^~|A\r");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().issues().front().expression, "MSH-2");
  EXPECT_EQ(bad.error().text().substr(0, 10), "message 2:");

  auto garbage = ParseBatch("garbage");
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().issues().front().expression, "MSH");

  auto stray = ParseBatch("BHS|^~\\&|LAB\rPID|1\r");
  ASSERT_FALSE(stray.ok());
  EXPECT_EQ(stray.error().issues().front().expression, "PID");
}

TEST(Er7Test, ArbitraryBytesNeverCrash) {
  std::string bytes = "MSH|^~\\&|";
  for (int i = 0; i < 2000; ++i) {
    bytes.push_back(static_cast<char>((i * 7919) % 256));
    auto parsed = Parse(bytes);
    if (parsed.ok()) {
      for (std::size_t s = 0; s < parsed->segment_count(); ++s) {
        Segment seg = parsed->segment(s);
        for (std::size_t f = 0; f <= seg.field_count() + 1; ++f) (void)seg.Get(f, 2, 2, 2);
      }
    } else {
      EXPECT_FALSE(parsed.error().issues().front().expression.empty());
    }
  }
}

}  // namespace
}  // namespace mappings::hl7v2
