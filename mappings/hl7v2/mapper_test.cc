#include "mappings/hl7v2/mapper.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mappings/hl7v2/ack.h"

namespace mappings::hl7v2 {
namespace {

std::size_t EntryCount(const std::string& bundle_json) {
  std::size_t n = 0;
  for (std::size_t at = bundle_json.find(R"("fullUrl")"); at != std::string::npos;
       at = bundle_json.find(R"("fullUrl")", at + 1)) {
    ++n;
  }
  return n;
}

// The mapper, checking for every message the tests map what every mapping promises: the HL7
// position of each Bundle entry.
class CheckingMapper {
 public:
  explicit CheckingMapper(Mapper mapper) : mapper_(std::move(mapper)) {}
  fhir::Result<Mapped> Map(const Message& message) const {
    auto result = mapper_.Map(message);
    if (result.ok()) {
      EXPECT_EQ(result->entry_sources.size(), EntryCount(result->bundle_json))
          << result->bundle_json;
      for (const std::string& source : result->entry_sources) EXPECT_FALSE(source.empty());
    }
    return result;
  }

 private:
  Mapper mapper_;
};

const CheckingMapper& TheMapper() {
  static const CheckingMapper* mapper =
      new CheckingMapper(*Mapper::Load(FHIRHUB_HL7V2_CONCEPTMAPS));
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

// ADT^A40: PID the surviving patient, MRG the one merged into it.
constexpr std::string_view kMerge =
    "PID|1||MR1^^^HOSP~11010519491231002X^^^^NNCHN||张^三||19491231|1\r"
    "MRG|MR2^^^HOSP||||||张^叁\r";

TEST(MapperTest, AMergeLinksBothPatientsByPatchAndReplacesNeither) {
  auto result = TheMapper().Map(MustParse(Header("ADT^A40") + std::string(kMerge)));
  ASSERT_TRUE(result.ok()) << result.error().text();
  const std::string& json = result->bundle_json;
  // Both patients are patched on conditional URLs, the survivor by its 身份证 (PID-3 read as in
  // every ADT), the merged one by MRG-1; nothing replaces what is stored about them.
  EXPECT_FALSE(Has(json, R"("method": "PUT")"));
  EXPECT_TRUE(Has(json, R"("url": "Patient?identifier=urn%3Aoid%3A2.16.156.10011.1.3|)"
                        R"(11010519491231002X&_security:not=)"))
      << json;
  EXPECT_TRUE(Has(json, R"("url": "Patient?identifier=urn%3Afhirhub%3Ahl7v2%3Aauthority%3AHOSP|MR2)"
                        R"(&_security:not=)"));
  // The survivor replaces the merged patient, which the server finds by MRG-1.
  EXPECT_TRUE(Has(json, R"("valueCode": "replaces")"));
  EXPECT_TRUE(Has(
      json, R"("reference": "Patient?identifier=urn%3Afhirhub%3Ahl7v2%3Aauthority%3AHOSP|MR2)"));
  EXPECT_TRUE(Has(json, R"("display": "张叁")"));
  EXPECT_TRUE(Has(json, R"x("valueString": "Patient.link.where(type = 'replaces' and )x"
                        R"x(other.identifier.system = 'urn:fhirhub:hl7v2:authority:HOSP' and )x"
                        R"x(other.identifier.value = 'MR2')")x"));
  // The merged patient becomes inactive and replaced by the survivor.
  EXPECT_TRUE(Has(json, R"("valueBoolean": false)"));
  EXPECT_TRUE(Has(json, R"("valueCode": "replaced-by")"));
  EXPECT_TRUE(Has(json, R"("reference": "Patient?identifier=urn%3Aoid%3A2.16.156.10011.1.3|)"
                        R"(11010519491231002X&_security:not=)"));
  EXPECT_TRUE(Has(json, R"json("valueString": "Patient.link.where(type = 'replaced-by')")json"));
  EXPECT_TRUE(result->warnings.empty());
  // Sent again, the same Bundle: the patches delete before they add, so they can be applied
  // twice.
  auto again = TheMapper().Map(MustParse(Header("ADT^A40") + std::string(kMerge)));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->bundle_json, json);
}

TEST(MapperTest, AMergeWithoutUsableMrg1IsAnErrorThere) {
  auto empty =
      TheMapper().Map(MustParse(Header("ADT^A40") + "PID|1||MR1^^^HOSP\r" + "MRG|||||||Li^Si\r"));
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().issues().front().expression, "MRG-1[1].1");
  EXPECT_EQ(AckErrorsFor(empty.error()).front().code, "101");
  // A 身份证 with a wrong check digit is checked as in PID-3: kept out of matching, so with
  // nothing else in MRG-1 there is no patient to merge.
  auto invalid = TheMapper().Map(
      MustParse(Header("ADT^A40") + "PID|1||MR1^^^HOSP\r" + "MRG|110105194912310020^^^^NNCHN\r"));
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.error().issues().front().expression, "MRG-1[1].1");
  auto valid =
      TheMapper().Map(MustParse(Header("ADT^A40") + "PID|1||MR1^^^HOSP\r" +
                                "MRG|110105194912310020^^^^NNCHN~11010519491231002X^^^^NNCHN\r"));
  ASSERT_TRUE(valid.ok()) << valid.error().text();
  ASSERT_EQ(valid->warnings.size(), 1u);
  EXPECT_EQ(
      valid->warnings[0],
      "MRG-1[1].1: the 身份证 check digit (GB 11643) is wrong; not used to match the patient");
  EXPECT_TRUE(
      Has(valid->bundle_json,
          R"("url": "Patient?identifier=urn%3Aoid%3A2.16.156.10011.1.3|11010519491231002X)"));
}

TEST(MapperTest, AMergeIntoItselfOrWithoutMrgIsRefused) {
  auto self =
      TheMapper().Map(MustParse(Header("ADT^A40") + "PID|1||MR1^^^HOSP\r" + "MRG|MR1^^^HOSP\r"));
  ASSERT_FALSE(self.ok());
  EXPECT_EQ(self.error().issues().front().expression, "MRG-1");
  auto no_mrg = TheMapper().Map(MustParse(Header("ADT^A40") + "PID|1||MR1^^^HOSP\r"));
  ASSERT_FALSE(no_mrg.ok());
  EXPECT_EQ(no_mrg.error().issues().front().expression, "MRG");
  EXPECT_EQ(AckErrorsFor(no_mrg.error()).front().code, "100");
  auto orphan = TheMapper().Map(MustParse(Header("ADT^A40") + "MRG|MR2^^^HOSP\r"));
  ASSERT_FALSE(orphan.ok());
  EXPECT_EQ(orphan.error().issues().front().expression, "PID");
  auto twice =
      TheMapper().Map(MustParse(Header("ADT^A40") + "PID|1||MR1^^^HOSP\r" + "MRG|MR2^^^HOSP\r" +
                                "PID|2||MR3^^^HOSP\r" + "MRG|MR2^^^HOSP\r"));
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().issues().front().expression, "MRG(2)-1");
  EXPECT_EQ(AckErrorsFor(twice.error()).front().code, "205");
  // A survivor of one pair merged away by another: which one survives is unclear.
  auto chain =
      TheMapper().Map(MustParse(Header("ADT^A40") + "PID|1||MR1^^^HOSP\r" + "MRG|MR2^^^HOSP\r" +
                                "PID|2||MR2^^^HOSP\r" + "MRG|MR3^^^HOSP\r"));
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.error().issues().front().expression, "PID(2)-3");
}

TEST(MapperTest, OneMessageMergesSeveralPairsAndOneSurvivorGetsEveryLink) {
  auto result = TheMapper().Map(MustParse(
      Header("ADT^A40") + "PID|1||MR1^^^HOSP\r" + "MRG|MR2^^^HOSP\r" + "PID|2||MR1^^^HOSP\r" +
      "MRG|MR3^^^HOSP\r" + "PID|3||MR4^^^HOSP\r" + "MRG|MR5^^^HOSP\r"));
  ASSERT_TRUE(result.ok()) << result.error().text();
  const std::string& json = result->bundle_json;
  auto count = [&](std::string_view part) {
    std::size_t n = 0;
    for (std::size_t at = json.find(part); at != std::string::npos; at = json.find(part, at + 1)) {
      ++n;
    }
    return n;
  };
  // Two survivors (MR1 twice is one patch with two links) and three merged patients.
  EXPECT_EQ(count(R"("method": "PATCH")"), 5u) << json;
  EXPECT_EQ(count(R"("valueCode": "replaces")"), 3u);
  EXPECT_EQ(count(R"("valueCode": "replaced-by")"), 3u);
}

TEST(MapperTest, TestMergesMatchOnlyTestPatients) {
  auto result = TheMapper().Map(MustParse(Header("ADT^A40", "T") + std::string(kMerge)));
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(Has(result->bundle_json, "HOSP|MR2&_security=http"));
  EXPECT_FALSE(Has(result->bundle_json, "_security:not="));
}

// OBX-11 by HL7's map of table 0085 first, fhirhub's for the codes HL7 leaves without target.
TEST(MapperTest, ResultStatusFollowsTable0085) {
  auto status_of = [](std::string_view code, std::vector<std::string>* warnings = nullptr) {
    auto result =
        TheMapper().Map(MustParse(Header("ORU^R01") + "PID|1||MR1^^^HOSP\r" + "OBR|1||F1|x^y^LN\r" +
                                  "OBX|1|NM|x^y^LN||5||||||" + std::string(code) + "\r"));
    EXPECT_TRUE(result.ok());
    if (warnings != nullptr) *warnings = result->warnings;
    const std::string& json = result->bundle_json;
    const std::size_t observation = json.find(R"("resourceType": "Observation")");
    const std::size_t at = json.find(R"("status": ")", observation);
    const std::size_t begin = at + std::string_view(R"("status": ")").size();
    return json.substr(begin, json.find('"', begin) - begin);
  };
  EXPECT_EQ(status_of("F"), "final");
  EXPECT_EQ(status_of("C"), "corrected");
  EXPECT_EQ(status_of("D"), "entered-in-error");
  EXPECT_EQ(status_of("W"), "entered-in-error");
  EXPECT_EQ(status_of("P"), "preliminary");
  EXPECT_EQ(status_of("X"), "cancelled");
  EXPECT_EQ(status_of("R"), "preliminary");  // device data not yet verified
  EXPECT_EQ(status_of("S"), "preliminary");
  EXPECT_EQ(status_of("I"), "registered");
  EXPECT_EQ(status_of("O"), "registered");
  EXPECT_EQ(status_of("N"), "cancelled");
  EXPECT_EQ(status_of("U"), "final");
  EXPECT_EQ(status_of("V"), "final");
  EXPECT_EQ(status_of(""), "final");
  std::vector<std::string> warnings;
  EXPECT_EQ(status_of("Q", &warnings), "unknown");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0], "OBX-11: result status Q is not in HL7 table 0085; status unknown");
}

// IHE PCD-01 OBX-8 TEST and DEMO (IEEE 11073 measurement status test-data, demo-data): the
// Observation is test data in a production message, kept apart as MSH-11 T keeps a message.
TEST(MapperTest, DeviceTestAndDemoResultsAreLabelledHtest) {
  auto result = TheMapper().Map(MustParse(
      Header("ORU^R01") + "PID|1||MR1^^^HOSP\r" + "OBR|1||F1|x^y^LN\r" +
      "OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1|98|262688^MDC_DIM_PERCENT^MDC||N~TEST|||"
      "R\r" +
      "OBX|2|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.1.1.2|72|264864^MDC_DIM_BEAT_PER_MIN^MDC||"
      "N|||R\r" +
      "OBX|3|NM|150344^MDC_TEMP^MDC|1.2.1.1|37|268192^MDC_DIM_DEGC^MDC||DEMO|||R\r"));
  ASSERT_TRUE(result.ok()) << result.error().text();
  const std::string& json = result->bundle_json;
  auto entry_of = [&](std::string_view value) {
    const std::size_t at = json.find(value);
    const std::size_t begin = json.rfind(R"("fullUrl")", at);
    return json.substr(begin, json.find(R"("fullUrl")", at) - begin);
  };
  const std::string test = entry_of(R"("value": 98)");
  EXPECT_TRUE(Has(test, R"("code": "HTEST")")) << test;
  EXPECT_TRUE(Has(test, "&_security=http")) << test;
  EXPECT_TRUE(Has(entry_of(R"("value": 37)"), R"("code": "HTEST")"));
  const std::string clinical = entry_of(R"("value": 72)");
  EXPECT_FALSE(Has(clinical, R"("code": "HTEST")")) << clinical;
  EXPECT_TRUE(Has(clinical, "&_security:not=http"));
  // The report is clinical and lists only its clinical result.
  const std::string report = entry_of(R"("resourceType": "DiagnosticReport")");
  EXPECT_FALSE(Has(report, R"("code": "HTEST")")) << report;
  const std::size_t results = report.find(R"("result")");
  ASSERT_NE(results, std::string::npos) << report;
  const std::size_t first = report.find(R"("reference")", results);
  EXPECT_EQ(report.find(R"("reference")", first + 1), std::string::npos) << report;
  // The patient is the real one.
  EXPECT_FALSE(Has(entry_of(R"("resourceType": "Patient")"), R"("code": "HTEST")"));
}

TEST(MapperTest, ACompoundMeasurementDoesNotMixTestAndClinicalMembers) {
  auto result = TheMapper().Map(MustParse(
      Header("ORU^R01") + "PID|1||MR1^^^HOSP\r" + "OBR|1||F1|x^y^LN\r" +
      "OBX|1||150020^MDC_PRESS_BLD_NONINV^MDC|1.1.1.1|||||||R\r" +
      "OBX|2|NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC|1.1.1.1.1|142|266016^MDC_DIM_MMHG^MDC|||||R\r" +
      "OBX|3|NM|150022^MDC_PRESS_BLD_NONINV_DIA^MDC|1.1.1.1.2|91|266016^MDC_DIM_MMHG^MDC||TEST|||"
      "R\r"));
  ASSERT_TRUE(result.ok()) << result.error().text();
  const std::string& json = result->bundle_json;
  const std::size_t members = json.find(R"("hasMember")");
  ASSERT_NE(members, std::string::npos) << json;
  const std::size_t end = json.find(']', members);
  const std::string list = json.substr(members, end - members);
  // One member: the systolic value; the diastolic one is test data.
  EXPECT_EQ(list.find(R"("reference")"), list.rfind(R"("reference")")) << list;
}

// The resource types of the Bundle's entries, in order.
std::vector<std::string> EntryTypes(const std::string& bundle_json) {
  std::vector<std::string> out;
  constexpr std::string_view kFullUrl = R"("fullUrl")";
  constexpr std::string_view kType = R"("resourceType": ")";
  for (std::size_t at = bundle_json.find(kFullUrl); at != std::string::npos;
       at = bundle_json.find(kFullUrl, at + 1)) {
    const std::size_t begin = bundle_json.find(kType, at) + kType.size();
    out.push_back(bundle_json.substr(begin, bundle_json.find('"', begin) - begin));
  }
  return out;
}

// "<resource type> <source>" of each entry.
std::vector<std::string> Sources(const Mapped& mapped) {
  std::vector<std::string> types = EntryTypes(mapped.bundle_json);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < types.size() && i < mapped.entry_sources.size(); ++i) {
    out.push_back(types[i] + " " + mapped.entry_sources[i]);
  }
  return out;
}

TEST(MapperTest, EachEntryNamesThePositionItIsMappedFrom) {
  // The identifier field it is found by (the matching repetition), else the segment.
  auto adt = TheMapper().Map(MustParse(
      Header("ADT^A01") + "PID|1||MR1^^^HOSP~11010519491231002X^^^^NNCHN||张^三\r" +
      "NK1|1|Li^Si|SPO\r" + "NK1|2|Li^Wu|CHD||||||||||||||||||||||||||||||K9^^^HOSP\r" +
      "PV1|1|I|W1^101^1||||||||||||||||V100^^^HOSP\r" + "AL1|1|DA|PEN^Penicillin\r" +
      "DG1|1||I10^Hypertension^I10\r" + "DG1|2||E11^Diabetes^I10|||||||||||||||||D7^^^HOSP\r"));
  ASSERT_TRUE(adt.ok()) << adt.error().text();
  EXPECT_EQ(Sources(*adt), (std::vector<std::string>{
                               "Patient PID-3[2].1", "Encounter PV1-19[1].1", "RelatedPerson NK1",
                               "RelatedPerson NK1(2)-33[1].1", "AllergyIntolerance AL1",
                               "Condition DG1", "Condition DG1(2)-20[1].1"}));
  auto no_visit =
      TheMapper().Map(MustParse(Header("ADT^A04") + "PID|1||MR1^^^HOSP\r" + "PV1|1|O\r"));
  ASSERT_TRUE(no_visit.ok());
  EXPECT_EQ(Sources(*no_visit), (std::vector<std::string>{"Patient PID-3[1].1", "Encounter PV1"}));

  auto oru = TheMapper().Map(MustParse(
      Header("ORU^R01") + "PID|1||MR1^^^HOSP\r" + "OBR|1||F1^LAB|2345-7^Glucose^LN\r" +
      "OBX|1|NM|2345-7^Glucose^LN||5.6\r" + "OBR|2|||718-7^Hemoglobin^LN\r" +
      "OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||98|||||||||||||0012345678ABCDEF^^^EUI-64\r"));
  ASSERT_TRUE(oru.ok()) << oru.error().text();
  EXPECT_EQ(Sources(*oru),
            (std::vector<std::string>{"Patient PID-3[1].1", "Device OBX(2)-18[1].1",
                                      "Observation OBX", "Observation OBX(2)",
                                      "DiagnosticReport OBR-3[1].1", "DiagnosticReport OBR(2)"}));

  auto orm = TheMapper().Map(MustParse(Header("ORM^O01") + "PID|1||MR1^^^HOSP\r" +
                                       "ORC|NW|P100^HIS\r" + "OBR|1|||24627-2^Chest CT^LN\r" +
                                       "ORC|NW\r" + "OBR|2|||30746-2^X-ray^LN\r"));
  ASSERT_TRUE(orm.ok()) << orm.error().text();
  EXPECT_EQ(Sources(*orm),
            (std::vector<std::string>{"Patient PID-3[1].1", "ServiceRequest ORC-2[1].1",
                                      "ServiceRequest OBR(2)"}));

  auto rde =
      TheMapper().Map(MustParse(Header("RDE^O11") + "PID|1||MR1^^^HOSP\r" + "ORC|NW||RX9^PHARM\r" +
                                "RXE||86.0^Nifedipine^L\r" + "ORC|NW\r" + "RXE||87.0^Aspirin^L\r"));
  ASSERT_TRUE(rde.ok()) << rde.error().text();
  EXPECT_EQ(Sources(*rde),
            (std::vector<std::string>{"Patient PID-3[1].1", "MedicationRequest ORC-3[1].1",
                                      "MedicationRequest RXE(2)"}));

  auto siu =
      TheMapper().Map(MustParse(Header("SIU^S12") + "SCH||A7^HIS\r" + "PID|1||MR1^^^HOSP\r"));
  ASSERT_TRUE(siu.ok()) << siu.error().text();
  EXPECT_EQ(Sources(*siu),
            (std::vector<std::string>{"Patient PID-3[1].1", "Appointment SCH-2[1].1"}));
}

TEST(MapperTest, AMergeLocatesTheMergedPatientAtMrg1) {
  auto result = TheMapper().Map(MustParse(Header("ADT^A40") + std::string(kMerge) +
                                          "PID|2||MR4^^^HOSP\r" + "MRG|X^^^^NNCHN~MR5^^^HOSP\r"));
  ASSERT_TRUE(result.ok()) << result.error().text();
  // The survivor by its 身份证, the second identifier of PID-3; the 身份证 of the last MRG-1 fails
  // its check, so that patient is found by MR5.
  EXPECT_EQ(result->entry_sources, (std::vector<std::string>{"PID-3[2].1", "MRG-1[1].1",
                                                             "PID(2)-3[1].1", "MRG(2)-1[2].1"}));
}

}  // namespace
}  // namespace mappings::hl7v2
