// End-to-end: the transaction Bundles of HL7 v2 messages posted to the real fhirhub binary. A
// resident seen by a HIS (ADT, UTF-8 and GB 18030) and a bedside monitor (ORU PCD-01) is one
// Patient; a resent message writes nothing new; a test message (MSH-11 T) stays apart.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "mappings/hl7v2/er7.h"
#include "mappings/hl7v2/mapper.h"
#include "tests/support/http_client.h"
#include "tests/support/server_suite.h"
#include "tests/support/test_definitions.h"

namespace {

using testing_support::Answer;
using testing_support::Call;

constexpr char kIdentity[] = "urn:oid:2.16.156.10011.1.3|11010519491231002X";
constexpr char kNotTest[] =
    "&_security:not=http://terminology.hl7.org/CodeSystem/v3-ActReason|HTEST";

class Hl7v2Test : public testing_support::ServerSuite<::testing::Test> {
 protected:
  // Maps tests/data/hl7v2-cn/<name> and posts its Bundle; returns the answer.
  Answer Post(const std::string& name) {
    static const auto* mapper = [] {
      auto loaded = mappings::hl7v2::Mapper::Load(std::filesystem::path(FHIRHUB_SOURCE_DIR) /
                                                  "mappings/hl7v2/conceptmaps");
      EXPECT_TRUE(loaded.ok());
      return new mappings::hl7v2::Mapper(std::move(*loaded));
    }();
    auto message = mappings::hl7v2::Parse(
        testing_support::ReadFile(testing_support::TestDataDir() / "hl7v2-cn" / name));
    EXPECT_TRUE(message.ok()) << name;
    auto mapped = mapper->Map(*message);
    EXPECT_TRUE(mapped.ok()) << name;
    return Call(Port(), "POST", "/fhir", mapped->bundle_json);
  }

  // The `total` of a search, or -1.
  int Count(const std::string& query) {
    Answer answer = Call(Port(), "GET", "/fhir/" + query + "&_summary=count");
    EXPECT_EQ(answer.status, 200) << query << ": " << answer.body;
    std::size_t at = answer.body.find("\"total\":");
    return at == std::string::npos ? -1 : std::stoi(answer.body.substr(at + 8));
  }
};

TEST_F(Hl7v2Test, OneResidentFromManySystemsAndResendsWriteNothing) {
  ASSERT_TRUE(server().ok());
  Answer adt = Post("adt-a01-utf8.hl7");
  ASSERT_EQ(adt.status, 200) << adt.body;
  Answer oru = Post("oru-r01-pcd-monitor.hl7");
  ASSERT_EQ(oru.status, 200) << oru.body;
  Answer gb = Post("adt-a04-gb18030.hl7");
  ASSERT_EQ(gb.status, 200) << gb.body;

  EXPECT_EQ(Count(std::string("Patient?identifier=") + kIdentity + kNotTest), 1);
  EXPECT_EQ(Count(std::string("Patient?name=%E5%BC%A0") + kNotTest), 1);
  // The same visit number: one Encounter for A01 and A04.
  EXPECT_EQ(Count("Encounter?identifier=V20240315001"), 1);
  const int observations = Count(std::string("Observation?subject.identifier=") + kIdentity);
  EXPECT_EQ(observations, 4);
  EXPECT_EQ(Count(std::string("Observation?code=http://loinc.org|59408-5")), 1);
  EXPECT_EQ(Count(std::string("Device?identifier=") +
                  "urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680|0123456789ABCDEF"),
            1);

  Answer again = Post("oru-r01-pcd-monitor.hl7");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(Count(std::string("Observation?subject.identifier=") + kIdentity), observations);
  EXPECT_EQ(Count("DiagnosticReport?identifier=MON000001"), 1);
  EXPECT_EQ(Count("AllergyIntolerance?patient.identifier=" + std::string(kIdentity)), 1);
}

TEST_F(Hl7v2Test, TestMessagesStayApartFromClinicalData) {
  ASSERT_TRUE(server().ok());
  Answer test = Post("oru-r01-pcd-bp-station.hl7");
  ASSERT_EQ(test.status, 200) << test.body;
  const std::string id = "urn:oid:2.16.156.10011.1.3|320106198506152015";
  EXPECT_EQ(Count("Patient?identifier=" + id + kNotTest), 0);
  EXPECT_EQ(Count("Patient?identifier=" + id +
                  "&_security=http://terminology.hl7.org/CodeSystem/v3-ActReason|HTEST"),
            1);
  EXPECT_EQ(Count("Observation?code=http://loinc.org|8480-6" + std::string(kNotTest)), 0);
}

}  // namespace
