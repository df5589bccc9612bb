#include "server/pipeline/audit/audit_event.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fhir/json/json.h"
#include "tests/support/test_definitions.h"

namespace server::audit {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A clinician's app reading through a user token.
AuditRecord ClinicianRecord() {
  AuditRecord record;
  record.recorded = "2026-11-22T21:40:00.123Z";
  record.subject = "6f1c2d3e-user";
  record.issuer = "https://idp.example.org/realms/fhirhub";
  record.client_id = "ward-app";
  record.fhir_user = "Practitioner/12";
  record.organization = "Organization/3";
  record.roles = {"clinician"};
  record.network_address = "192.0.2.10";
  record.purpose_of_use = {"TREAT"};
  record.server_id = "fhirhub-test";
  record.request_id = "0a1b2c3d-4e5f";
  return record;
}

AuditRecord ReadRecord() {
  AuditRecord record = ClinicianRecord();
  record.interaction = "read";
  record.action = 'R';
  record.patients = {"p1"};
  record.entities = {"Observation/o1"};
  return record;
}

AuditRecord SearchRecord() {
  AuditRecord record = ClinicianRecord();
  record.interaction = "search-type";
  record.action = 'E';
  record.patients = {"Patient/p1"};
  record.entities = {"Observation/o1", "Observation/o2"};
  record.query = "patient=p1&category=vital-signs&_count=20";
  return record;
}

AuditRecord FailedAuthenticationRecord() {
  AuditRecord record;
  record.recorded = "2026-11-22T21:41:00Z";
  record.interaction = "search-type";
  record.action = 'E';
  record.outcome = 4;
  record.outcome_text = "the bearer token is expired";
  record.network_address = "2001:db8::7";
  record.server_id = "fhirhub-test";
  record.request_id = "req-401";
  return record;
}

AuditRecord DeniedRecord() {
  AuditRecord record = ClinicianRecord();
  record.roles = {"regulator"};
  record.fhir_user.clear();
  record.organization.clear();
  record.purpose_of_use.clear();
  record.interaction = "read";
  record.action = 'R';
  record.outcome = 4;
  record.outcome_text = "auth.role-denied: no role of the principal permits read on Patient";
  record.entities = {"Patient/p1"};
  record.patients = {"p1"};
  return record;
}

AuditRecord BreakGlassRecord() {
  AuditRecord record = ReadRecord();
  record.purpose_of_use = {"ETREAT"};
  record.break_glass = true;
  record.entities = {"Patient/p1"};
  return record;
}

AuditRecord TransactionEntryRecord() {
  AuditRecord record;
  record.recorded = "2026-11-22T21:42:00+01:00";
  record.interaction = "create";
  record.action = 'C';
  record.issuer = "https://idp.example.org/realms/fhirhub";
  record.client_id = "station-gateway";
  record.roles = {"connector"};
  record.network_address = "gateway.station.example.org";
  record.patients = {"p7"};
  record.entities = {"Observation/o9/_history/1"};
  record.server_id = "fhirhub-test";
  record.request_id = "bundle-17";
  return record;
}

struct Golden {
  const char* name;
  AuditRecord (*record)();
};

const Golden kGoldens[] = {
    {"read", ReadRecord},
    {"search_with_patient", SearchRecord},
    {"failed_authentication", FailedAuthenticationRecord},
    {"denied_access", DeniedRecord},
    {"break_glass_read", BreakGlassRecord},
    {"transaction_entry", TransactionEntryRecord},
};

std::string Pretty(const rapidjson::Document& doc) {
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
  writer.SetIndent(' ', 2);
  doc.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

void ExpectValidAuditEvent(const std::string& json) {
  fhir::Result<fhir::Resource> parsed = fhir::json::Parse(json, testing_support::Definitions());
  if (!parsed.ok()) {
    for (const fhir::Issue& issue : parsed.error().issues()) {
      ADD_FAILURE() << issue.message_id << " at " << issue.expression << ": " << issue.text;
    }
    ADD_FAILURE() << json;
  }
}

// Compares with testdata/{name}.json as JSON values (member order aside). With
// FHIRHUB_UPDATE_GOLDEN=1 in the environment the file is rewritten instead.
TEST(AuditEventTest, MatchesGoldenFiles) {
  std::filesystem::path dir = FHIRHUB_AUDIT_TESTDATA;
  bool update = std::getenv("FHIRHUB_UPDATE_GOLDEN") != nullptr;
  for (const Golden& golden : kGoldens) {
    SCOPED_TRACE(golden.name);
    std::string json = AuditEventJson(golden.record());
    rapidjson::Document actual;
    actual.Parse(json.c_str());
    ASSERT_FALSE(actual.HasParseError()) << json;
    std::filesystem::path path = dir / (std::string(golden.name) + ".json");
    if (update) {
      std::ofstream(path) << Pretty(actual);
      continue;
    }
    rapidjson::Document expected;
    expected.Parse(testing_support::ReadFile(path).c_str());
    ASSERT_FALSE(expected.HasParseError()) << path;
    EXPECT_TRUE(actual == expected) << "actual:\n" << Pretty(actual);
  }
}

TEST(AuditEventTest, EveryRecordIsAValidR4AuditEvent) {
  for (const Golden& golden : kGoldens) {
    SCOPED_TRACE(golden.name);
    ExpectValidAuditEvent(AuditEventJson(golden.record()));
  }
}

TEST(AuditEventTest, HostileInputStillGivesAValidAuditEvent) {
  AuditRecord record;
  record.recorded = "2026-11-22T21:43:00Z";
  record.interaction = "$export";
  record.action = 'X';
  record.outcome = 7;
  record.outcome_text = "bad\x01 \xff\xfe text \xe2\x82 with \"quotes\" and \\ and\ttab";
  record.subject = "\x02";
  record.issuer = "not a uri";
  record.client_id = "client\xc3\x28";
  record.roles = {"", "  "};
  record.purpose_of_use = {"  TREAT  ", "", "  ", "A \n B"};
  record.network_address = "\x7f";
  record.patients = {"", "Patient/p1", "p1"};
  record.entities = {"", "Patient/p1"};
  record.query = "\x01";
  std::string json = AuditEventJson(record);
  ExpectValidAuditEvent(json);
  EXPECT_THAT(json, Not(HasSubstr("subtype")));
  EXPECT_THAT(json, Not(HasSubstr("\"action\"")));
  EXPECT_THAT(json, HasSubstr("\"outcome\":\"8\""));
  EXPECT_THAT(json, HasSubstr("\"code\":\"TREAT\""));
  EXPECT_THAT(json, HasSubstr("\"code\":\"A B\""));
  EXPECT_THAT(json, Not(HasSubstr("not a uri")));
}

TEST(AuditEventTest, EmptyRecordIsValid) {
  AuditRecord record;
  record.recorded = "2026-11-22T21:44:00Z";
  std::string json = AuditEventJson(record);
  ExpectValidAuditEvent(json);
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  ASSERT_TRUE(doc["agent"].IsArray());
  // The client agent (requestor, nothing known) and the server.
  ASSERT_EQ(doc["agent"].Size(), 2u);
  EXPECT_TRUE(doc["agent"][0]["requestor"].GetBool());
  EXPECT_FALSE(doc["agent"][1]["requestor"].GetBool());
  EXPECT_STREQ(doc["source"]["observer"]["display"].GetString(), "fhirhub");
  EXPECT_FALSE(doc.HasMember("entity"));
  EXPECT_FALSE(doc.HasMember("id"));
}

TEST(AuditEventTest, QueryIsBase64) {
  for (const auto& [query, base64] : std::vector<std::pair<std::string, std::string>>{
           {"a", "YQ=="},
           {"ab", "YWI="},
           {"abc", "YWJj"},
           {"name=x&_count=1", "bmFtZT14Jl9jb3VudD0x"}}) {
    AuditRecord record;
    record.recorded = "2026-11-22T21:44:00Z";
    record.query = query;
    EXPECT_THAT(AuditEventJson(record), HasSubstr("\"query\":\"" + base64 + "\"")) << query;
  }
}

TEST(AuditEventTest, BreakGlassAddsBtgOnce) {
  AuditRecord record = BreakGlassRecord();
  record.purpose_of_use = {"BTG"};
  std::string json = AuditEventJson(record);
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  const rapidjson::Value& user = doc["agent"][1];
  ASSERT_TRUE(user["requestor"].GetBool());
  ASSERT_EQ(user["purposeOfUse"].Size(), 1u);
  EXPECT_STREQ(user["purposeOfUse"][0]["coding"][0]["code"].GetString(), "BTG");
  EXPECT_STREQ(doc["purposeOfEvent"][0]["coding"][0]["code"].GetString(), "BTG");

  record.break_glass = false;
  doc.Parse(AuditEventJson(record).c_str());
  EXPECT_FALSE(doc.HasMember("purposeOfEvent"));
}

TEST(AuditEventTest, EveryInteractionCodeIsASubtype) {
  for (const char* interaction :
       {"read", "vread", "update", "patch", "delete", "history", "history-instance", "history-type",
        "history-system", "create", "search", "search-type", "search-system", "capabilities",
        "transaction", "batch", "operation"}) {
    AuditRecord record = ReadRecord();
    record.interaction = interaction;
    std::string json = AuditEventJson(record);
    EXPECT_THAT(json, HasSubstr(std::string("\"code\":\"") + interaction + "\"")) << interaction;
    ExpectValidAuditEvent(json);
  }
}

TEST(AuditEventTest, SearchValuesAreNotInPlainText) {
  std::string json = AuditEventJson(SearchRecord());
  EXPECT_THAT(json, Not(HasSubstr("vital-signs")));  // the query is only base64-encoded
  EXPECT_THAT(json, HasSubstr("Patient/p1"));
}

}  // namespace
}  // namespace server::audit
