#include "mappings/hl7v2/mapper.h"

#include <gtest/gtest.h>

#include <string>

#include "mappings/hl7v2/ack.h"

namespace mappings::hl7v2 {
namespace {

const Mapper& TheMapper() {
  static const Mapper* mapper = new Mapper(*Mapper::Load(FHIRHUB_HL7V2_CONCEPTMAPS));
  return *mapper;
}

Message MustParse(const std::string& text) {
  auto parsed = Parse(text);
  EXPECT_TRUE(parsed.ok());
  return *parsed;
}

std::string Header(std::string_view type, std::string_view processing = "P") {
  return "MSH|^~\\&|HIS|HOSP^1.2.156.1^ISO|FHIRHUB||20240315093000+0800||" + std::string(type) +
         "|MSG1|" + std::string(processing) + "|2.5.1|||||CHN|UNICODE UTF-8\r";
}

bool Has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST(MapperTest, LoadNamesAMissingFolder) {
  auto missing = Mapper::Load("/nonexistent/conceptmaps");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message_id(), "hl7v2.conceptmap");
}

TEST(MapperTest, UnmappedMessageTypesAreCode200AtMsh9) {
  auto result = TheMapper().Map(MustParse(Header("ADT^A02") + "PID|1||1\r"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().issues().front().expression, "MSH-9");
  EXPECT_EQ(AckErrorsFor(result.error()).front().code, "200");
}

TEST(MapperTest, AdtUpdatesThePatientByItsIdentityNumber) {
  auto result = TheMapper().Map(MustParse(
      Header("ADT^A08") + "PID|1||MR1^^^HOSP~11010519491231002X^^^^NNCHN||张^三||19491231|1\r"));
  ASSERT_TRUE(result.ok()) << result.error().text();
  EXPECT_TRUE(
      Has(result->bundle_json,
          R"("url": "Patient?identifier=urn%3Aoid%3A2.16.156.10011.1.3|11010519491231002X)"))
      << result->bundle_json;
  EXPECT_TRUE(Has(result->bundle_json, R"("method": "PUT")"));
  EXPECT_TRUE(Has(result->bundle_json, R"("gender": "male")"));
  EXPECT_TRUE(Has(result->bundle_json, R"("text": "张三")"));
  EXPECT_TRUE(result->warnings.empty());
}

TEST(MapperTest, AnInvalidIdentityNumberIsKeptButNotMatchedOn) {
  auto result = TheMapper().Map(
      MustParse(Header("ADT^A04") + "PID|1||110105194912310020^^^^NNCHN~MR1^^^HOSP\r"));
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->warnings.size(), 1u);
  EXPECT_EQ(
      result->warnings[0],
      "PID-3[1].1: the 身份证 check digit (GB 11643) is wrong; not used to match the patient");
  EXPECT_FALSE(Has(result->bundle_json, "2.16.156.10011.1.3|"));
  EXPECT_TRUE(
      Has(result->bundle_json, "Patient?identifier=urn%3Afhirhub%3Ahl7v2%3Aauthority%3AHOSP|MR1"));
  // The number stays, as a temporary identifier without system.
  EXPECT_TRUE(Has(result->bundle_json, R"("value": "110105194912310020")"));
}

TEST(MapperTest, APatientWithoutIdentifierIsAnErrorAtPid3) {
  auto result = TheMapper().Map(MustParse(Header("ADT^A01") + "PID|1||||Li^Si\r"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().issues().front().expression, "PID-3[1].1");
  EXPECT_EQ(AckErrorsFor(result.error()).front().code, "101");
  auto no_pid = TheMapper().Map(MustParse(Header("ORU^R01") + "OBR|1||F1|x^y^LN\r"));
  ASSERT_FALSE(no_pid.ok());
  EXPECT_EQ(AckErrorsFor(no_pid.error()).front().code, "100");
}

TEST(MapperTest, ResultsDoNotOverwriteDemographicsAndCreateOnlyOnce) {
  const std::string text = Header("ORU^R01") + "PID|1||MR1^^^HOSP\r" +
                           "OBR|1||F1^LAB|2345-7^Glucose^LN|||20240315080000\r" +
                           "OBX|1|NM|2345-7^Glucose^LN||5.6|mmol/L^^UCUM|3.9-6.1|N|||F\r" +
                           "NTE|1||fasting\r";
  auto first = TheMapper().Map(MustParse(text));
  ASSERT_TRUE(first.ok()) << first.error().text();
  EXPECT_TRUE(Has(first->bundle_json, R"("url": "Patient",)"));
  EXPECT_TRUE(Has(first->bundle_json,
                  R"("ifNoneExist": "identifier=urn%3Afhirhub%3Ahl7v2%3Aauthority%3AHOSP|MR1)"))
      << first->bundle_json;
  EXPECT_FALSE(Has(first->bundle_json, R"("method": "PUT")"));
  EXPECT_TRUE(Has(first->bundle_json, R"("value": 5.6)"));
  EXPECT_TRUE(Has(first->bundle_json, R"("code": "mmol/L")"));
  EXPECT_TRUE(Has(first->bundle_json, R"("text": "fasting")"));
  EXPECT_TRUE(Has(first->bundle_json, R"("effectiveDateTime": "2024-03-15T08:00:00+08:00")"));
  // The same message again gives the same Bundle: the same conditions, nothing new written.
  auto again = TheMapper().Map(MustParse(text));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(first->bundle_json, again->bundle_json);
}

TEST(MapperTest, TestMessagesAreLabelledAndMatchOnlyTestData) {
  auto result = TheMapper().Map(MustParse(Header("ADT^A28", "T") + "PID|1||MR1^^^HOSP\r"));
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(Has(result->bundle_json, R"("code": "HTEST")"));
  EXPECT_TRUE(Has(result->bundle_json, "&_security=http"));
  auto production = TheMapper().Map(MustParse(Header("ADT^A28") + "PID|1||MR1^^^HOSP\r"));
  ASSERT_TRUE(production.ok());
  EXPECT_FALSE(Has(production->bundle_json, R"("code": "HTEST")"));
  EXPECT_TRUE(Has(production->bundle_json, "&_security:not=http"));
}

TEST(MapperTest, OrdersAreUpdatedByTheirPlacerNumber) {
  auto cancel = TheMapper().Map(MustParse(Header("ORM^O01") + "PID|1||MR1^^^HOSP\r" +
                                          "ORC|CA|P100^HIS||||||||||D1^Wang^Li\r" +
                                          "OBR|1|P100^HIS||24627-2^Chest CT^LN\r"));
  ASSERT_TRUE(cancel.ok()) << cancel.error().text();
  EXPECT_TRUE(
      Has(cancel->bundle_json,
          R"("url": "ServiceRequest?identifier=urn%3Afhirhub%3Ahl7v2%3Aauthority%3AHIS|P100)"))
      << cancel->bundle_json;
  EXPECT_TRUE(Has(cancel->bundle_json, R"("status": "active")"));  // CA asks; CR confirms
  auto diet = TheMapper().Map(
      MustParse(Header("ORM^O01") + "PID|1||MR1^^^HOSP\r" + "ORC|NW|P101\r" + "ODS|D||LOWSALT\r"));
  ASSERT_FALSE(diet.ok());
  EXPECT_EQ(diet.error().issues().front().expression, "ODS");
  EXPECT_EQ(AckErrorsFor(diet.error()).front().code, "200");
}

TEST(MapperTest, PrescriptionsCarryDoseRouteAndDispense) {
  auto result = TheMapper().Map(
      MustParse(Header("RDE^O11") + "PID|1||MR1^^^HOSP\r" + "ORC|DC|RX9^HIS||||||||20240315\r" +
                "RXE||86.0^硝苯地平控释片^L|30||mg^mg^UCUM|TAB|每日一次~晨服|||28|TAB^片|2\r" +
                "RXR|PO^口服^HL70162\r"));
  ASSERT_TRUE(result.ok()) << result.error().text();
  const std::string& json = result->bundle_json;
  EXPECT_TRUE(Has(
      json, R"("url": "MedicationRequest?identifier=urn%3Afhirhub%3Ahl7v2%3Aauthority%3AHIS|RX9)"))
      << json;
  EXPECT_TRUE(Has(json, R"("status": "cancelled")"));  // DC: discontinued
  EXPECT_TRUE(Has(json, R"("text": "每日一次\n晨服")"));
  EXPECT_TRUE(Has(json, R"("code": "mg")"));
  EXPECT_TRUE(Has(json, R"("numberOfRepeatsAllowed": 2)"));
  EXPECT_TRUE(Has(json, R"("display": "口服")"));
}

TEST(MapperTest, BadValuesAreWarnedAboutWithTheirPosition) {
  auto result =
      TheMapper().Map(MustParse(Header("ORU^R01") + "PID|1||MR1^^^HOSP||||2024-01-01|Q\r" +
                                "OBR|1||F1|x^y^LN\r" + "OBX|1|NM|x^y^LN||high\r"));
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->warnings.size(), 3u);
  EXPECT_EQ(result->warnings[0], "PID-8: sex code not in GB/T 2261.1 nor HL7 table 0001; left out");
  EXPECT_EQ(result->warnings[1], "PID-7: not an HL7 date/time; left out");
  EXPECT_EQ(result->warnings[2], "OBX-5: not a number (OBX-2 is NM); kept as text");
}

}  // namespace
}  // namespace mappings::hl7v2
