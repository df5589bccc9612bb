// End-to-end: the request pipeline of the real fhirhub binary started with development tokens
// (`--auth dev`). Tokens are minted by `fhirhub token` with the server's own development key.
// Covered: authentication failures; the authorization matrix of roles and scopes; the patient
// context against every way out of a compartment (search, chains, _has, includes, history, system
// search, batch and transaction entries, writes); SMART v2 query constraints; residents' consent
// (deny by organization, by purpose, by resource class, by period; revocation; break-glass; no
// count leak); and the audit record of every interaction.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/server_process.h"
#include "tests/support/server_suite.h"

namespace {

using testing_support::Answer;
using testing_support::Call;

constexpr char kJson[] = "application/fhir+json";
constexpr char kVitalSigns[] =
    "http://terminology.hl7.org/CodeSystem/observation-category|vital-signs";

struct DevAuth {
  static std::vector<std::string> ServerArgs() {
    return {"--auth", "dev", "--token-clock-skew", "0"};
  }
};

class SecurityTest : public testing_support::ServerSuite<::testing::Test, DevAuth> {
 protected:
  static void SetUpTestSuite() {
    ServerSuite::SetUpTestSuite();
    if (!server().ok()) return;
    admin_ = new std::string(Token("--role administrator"));
    for (const std::string& resource : Fixture()) {
      rapidjson::Document doc;
      doc.Parse(resource.c_str());
      const std::string path =
          std::string("/fhir/") + doc["resourceType"].GetString() + "/" + doc["id"].GetString();
      Answer put = Send("PUT", path, *admin_, resource);
      ASSERT_TRUE(put.status == 200 || put.status == 201) << path << ": " << put.body;
    }
  }
  static void TearDownTestSuite() {
    delete admin_;
    admin_ = nullptr;
    ServerSuite::TearDownTestSuite();
  }

  // A token minted by `fhirhub token` with the server's development key.
  static std::string Token(const std::string& args) {
    std::string output;
    const int status = testing_support::RunCommand(
        std::string(FHIRHUB_BINARY) + " token --data-dir " + server().data_dir() + " " + args,
        output);
    EXPECT_EQ(status, 0) << output;
    while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
    return output;
  }

  static Answer Send(const std::string& method, const std::string& path, const std::string& token,
                     const std::string& body = "") {
    std::map<std::string, std::string> headers;
    if (!token.empty()) headers["Authorization"] = "Bearer " + token;
    return Call(Port(), method, path, body, kJson, headers);
  }

  // The "Type/id" of every entry of a Bundle answer, with its search mode when it has one.
  static std::set<std::string> Entries(const Answer& answer) {
    std::set<std::string> out;
    rapidjson::Document doc;
    doc.Parse(answer.body.c_str());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("entry")) return out;
    for (const auto& entry : doc["entry"].GetArray()) {
      if (!entry.HasMember("resource")) continue;
      const auto& resource = entry["resource"];
      if (std::string(resource["resourceType"].GetString()) == "OperationOutcome") continue;
      out.insert(std::string(resource["resourceType"].GetString()) + "/" +
                 resource["id"].GetString());
    }
    return out;
  }

  static bool HasTotal(const Answer& answer) {
    rapidjson::Document doc;
    doc.Parse(answer.body.c_str());
    return !doc.HasParseError() && doc.IsObject() && doc.HasMember("total");
  }

  static std::vector<std::string> Fixture() {
    return {
        R"({"resourceType":"Organization","id":"station","name":"Station"})",
        R"({"resourceType":"Organization","id":"hospital","name":"County hospital"})",
        R"({"resourceType":"Practitioner","id":"doc","name":[{"family":"Li"}]})",
        R"({"resourceType":"Patient","id":"pa","name":[{"family":"Zhang"}],)"
        R"("managingOrganization":{"reference":"Organization/station"}})",
        R"({"resourceType":"Patient","id":"pb","name":[{"family":"Wang"}]})",
        Observation("pa-hr", "pa", "vital-signs", "8867-4", "2026-01-10"),
        Observation("pa-glu", "pa", "laboratory", "2339-0", "2026-01-11"),
        Observation("pb-hr", "pb", "vital-signs", "8867-4", "2026-01-12"),
    };
  }

  static std::string Observation(const std::string& id, const std::string& patient,
                                 const std::string& category, const std::string& code,
                                 const std::string& date) {
    return R"({"resourceType":"Observation","id":")" + id +
           R"(","status":"final","category":[{"coding":[{"system":)"
           R"("http://terminology.hl7.org/CodeSystem/observation-category","code":")" +
           category + R"("}]}],"code":{"coding":[{"system":"http://loinc.org","code":")" + code +
           R"("}]},"subject":{"reference":"Patient/)" + patient +
           R"("},"performer":[{"reference":"Practitioner/doc"}],"effectiveDateTime":")" + date +
           R"("})";
  }

  static std::string Consent(const std::string& id, const std::string& status,
                             const std::string& provision) {
    return R"({"resourceType":"Consent","id":")" + id + R"(","status":")" + status +
           R"(","scope":{"coding":[{"system":)"
           R"("http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},)"
           R"("category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],)"
           R"("patient":{"reference":"Patient/pa"},"dateTime":"2026-01-01",)"
           R"("policyRule":{"coding":[{"system":)"
           R"("http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"OPTOUT"}]},)"
           R"("provision":)" +
           provision + "}";
  }

  static inline std::string* admin_ = nullptr;
};

TEST_F(SecurityTest, RequestsWithoutAValidTokenAreRefused) {
  ASSERT_TRUE(server().ok());
  Answer none = Send("GET", "/fhir/Patient/pa", "");
  EXPECT_EQ(none.status, 401);
  EXPECT_NE(none.body.find("auth.missing-token"), std::string::npos) << none.body;
  EXPECT_NE(none.Header("www-authenticate").find("Bearer"), std::string::npos);

  std::string tampered = *admin_;
  tampered[tampered.find('.') + 3] ^= 1;
  Answer bad = Send("GET", "/fhir/Patient/pa", tampered);
  EXPECT_EQ(bad.status, 401) << bad.body;

  const std::string short_lived = Token("--role administrator --lifetime 1");
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  Answer expired = Send("GET", "/fhir/Patient/pa", short_lived);
  EXPECT_EQ(expired.status, 401);
  EXPECT_NE(expired.body.find("auth.expired"), std::string::npos) << expired.body;

  EXPECT_EQ(Send("GET", "/fhir/metadata", "").status, 200);
  Answer smart = Send("GET", "/fhir/.well-known/smart-configuration", "");
  EXPECT_EQ(smart.status, 200);
  EXPECT_NE(smart.body.find("permission-v2"), std::string::npos) << smart.body;
}

TEST_F(SecurityTest, RolesAndScopesDecideEveryInteraction) {
  ASSERT_TRUE(server().ok());
  const std::string clinician = Token("--role clinician");
  const std::string station = Token("--role station-operator");
  const std::string connector = Token("--role connector");
  const std::string regulator = Token("--role regulator");
  const std::string reader = Token("--role clinician --scope user/Patient.rs");
  const std::string write_only = Token("--role connector --scope system/Observation.cu");
  const std::string new_obs = Observation("new-obs", "pa", "vital-signs", "8867-4", "2026-02-01");
  struct Case {
    const std::string* token;
    const char* method;
    std::string path;
    std::string body;
    int status;
  };
  const std::vector<Case> cases = {
      {&clinician, "GET", "/fhir/Patient/pa", "", 200},
      {&clinician, "GET", "/fhir/Observation?subject=Patient/pa", "", 200},
      {&clinician, "PUT", "/fhir/Observation/new-obs", new_obs, 201},
      {&clinician, "GET", "/fhir/AuditEvent", "", 403},
      {&station, "GET", "/fhir/Patient/pa", "", 200},
      {&station, "PUT", "/fhir/Observation/new-obs", new_obs, 200},
      {&station, "DELETE", "/fhir/Patient/pb", "", 403},
      {&station, "GET", "/fhir/Encounter", "", 403},
      {&connector, "GET", "/fhir/Observation/pa-hr", "", 200},
      {&connector, "GET", "/fhir/_history", "", 200},
      {&regulator, "GET", "/fhir/Patient/pa", "", 403},
      {&regulator, "GET", "/fhir/Observation?code=8867-4", "", 403},
      {&regulator, "GET", "/fhir/AuditEvent?_count=1", "", 200},
      {&regulator, "PUT", "/fhir/Patient/pa", "", 403},
      {&reader, "GET", "/fhir/Patient/pa", "", 200},
      {&reader, "GET", "/fhir/Patient?name=Zhang", "", 200},
      {&reader, "GET", "/fhir/Observation/pa-hr", "", 403},
      {&reader, "DELETE", "/fhir/Patient/pb", "", 403},
      {&write_only, "PUT", "/fhir/Observation/new-obs", new_obs, 200},
      {&write_only, "GET", "/fhir/Observation/new-obs", "", 403},
      {admin_, "POST", "/fhir/AuditEvent", R"({"resourceType":"AuditEvent"})", 403},
      {admin_, "DELETE", "/fhir/Observation/new-obs", "", 204},
  };
  for (const Case& c : cases) {
    Answer answer = Send(c.method, c.path, *c.token, c.body);
    EXPECT_EQ(answer.status, c.status) << c.method << " " << c.path << ": " << answer.body;
    if (answer.status == 403) {
      EXPECT_NE(answer.body.find("OperationOutcome"), std::string::npos) << answer.body;
    }
  }
}

TEST_F(SecurityTest, PatientContextKeepsEveryQueryInTheCompartment) {
  ASSERT_TRUE(server().ok());
  const std::string pa = Token("--role clinician --patient pa");
  EXPECT_EQ(Send("GET", "/fhir/Patient/pa", pa).status, 200);
  EXPECT_EQ(Send("GET", "/fhir/Patient/pb", pa).status, 403);
  EXPECT_EQ(Send("GET", "/fhir/Observation/pb-hr", pa).status, 403);
  EXPECT_EQ(Send("GET", "/fhir/Organization/hospital", pa).status, 200);

  const std::set<std::string> pa_obs = {"Observation/pa-hr", "Observation/pa-glu"};
  EXPECT_EQ(Entries(Send("GET", "/fhir/Observation", pa)), pa_obs);
  EXPECT_TRUE(Entries(Send("GET", "/fhir/Observation?subject=Patient/pb", pa)).empty());
  EXPECT_TRUE(Entries(Send("GET", "/fhir/Observation?subject.name=Wang", pa)).empty());
  EXPECT_EQ(Entries(Send("GET", "/fhir/Patient", pa)), std::set<std::string>{"Patient/pa"});
  EXPECT_EQ(Entries(Send("GET", "/fhir/Patient?_has:Observation:subject:code=8867-4", pa)),
            std::set<std::string>{"Patient/pa"});
  std::set<std::string> with_obs = pa_obs;
  with_obs.insert("Patient/pa");
  EXPECT_EQ(Entries(Send("GET", "/fhir/Patient?_revinclude=Observation:subject", pa)), with_obs);
  EXPECT_EQ(Entries(Send("GET", "/fhir/Observation?code=8867-4&_include=Observation:subject", pa)),
            (std::set<std::string>{"Observation/pa-hr", "Patient/pa"}));
  EXPECT_EQ(Entries(Send("GET", "/fhir/?_type=Observation,Patient", pa)), with_obs);
  EXPECT_EQ(Send("GET", "/fhir/?_lastUpdated=gt2000-01-01", pa).status, 403);
  EXPECT_EQ(Send("GET", "/fhir/Patient/pb/Observation", pa).status, 403);
  EXPECT_EQ(Entries(Send("GET", "/fhir/Patient/pa/Observation", pa)), pa_obs);
  EXPECT_TRUE(Entries(Send("GET", "/fhir/Observation/pb-hr/_history", pa)).empty());
  // new-obs, written for pa by the role matrix, is pa's too.
  for (const std::string& entry : Entries(Send("GET", "/fhir/Observation/_history", pa))) {
    EXPECT_TRUE(pa_obs.contains(entry) || entry == "Observation/new-obs") << entry;
  }

  const std::string batch =
      R"({"resourceType":"Bundle","type":"batch","entry":[)"
      R"({"request":{"method":"GET","url":"Patient/pa"}},)"
      R"({"request":{"method":"GET","url":"Patient/pb"}},)"
      R"({"request":{"method":"GET","url":"Observation?subject=Patient/pb"}}]})";
  Answer batched = Send("POST", "/fhir", pa, batch);
  ASSERT_EQ(batched.status, 200) << batched.body;
  rapidjson::Document doc;
  doc.Parse(batched.body.c_str());
  ASSERT_TRUE(doc.HasMember("entry"));
  EXPECT_EQ(std::string(doc["entry"][0]["response"]["status"].GetString()).substr(0, 3), "200");
  EXPECT_EQ(std::string(doc["entry"][1]["response"]["status"].GetString()).substr(0, 3), "403");
  EXPECT_EQ(doc["entry"][2]["resource"].HasMember("entry"), false);

  const std::string writer = Token("--role clinician --patient pa --scope patient/*.cruds");
  Answer other = Send("PUT", "/fhir/Observation/pb-new", writer,
                      Observation("pb-new", "pb", "vital-signs", "8867-4", "2026-02-02"));
  EXPECT_EQ(other.status, 403) << other.body;
  const std::string transaction =
      R"({"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"PUT",)"
      R"("url":"Observation/pb-tx"},"resource":)" +
      Observation("pb-tx", "pb", "vital-signs", "8867-4", "2026-02-03") + "}]}";
  EXPECT_EQ(Send("POST", "/fhir", writer, transaction).status, 403);
  EXPECT_EQ(Send("GET", "/fhir/Observation/pb-tx", *admin_).status, 404);
  EXPECT_EQ(Send("DELETE", "/fhir/Observation/pb-hr", writer).status, 403);
  // Criteria reach only what the token may see.
  EXPECT_EQ(Send("DELETE", "/fhir/Observation?_id=pb-hr", writer).status, 403);
  EXPECT_EQ(Send("PUT", "/fhir/Observation?_id=pb-hr", writer,
                 Observation("pb-hr", "pa", "vital-signs", "8867-4", "2026-02-04"))
                .status,
            403);
  std::map<std::string, std::string> if_none_exist = {{"Authorization", "Bearer " + writer},
                                                      {"If-None-Exist", "_id=pb-hr"}};
  Answer existing =
      Call(Port(), "POST", "/fhir/Observation",
           Observation("x", "pa", "vital-signs", "8867-4", "2026-02-05"), kJson, if_none_exist);
  EXPECT_EQ(existing.status, 403) << existing.body;
  EXPECT_EQ(existing.body.find("Wang"), std::string::npos);
  // Selected by criteria, a withheld resource is refused by the criteria, never by its id.
  std::map<std::string, std::string> by_code = {{"Authorization", "Bearer " + writer},
                                                {"If-None-Exist", "code=8867-4&date=2026-01-12"}};
  Answer by_criteria =
      Call(Port(), "POST", "/fhir/Observation",
           Observation("y", "pa", "vital-signs", "8867-4", "2026-02-05"), kJson, by_code);
  EXPECT_EQ(by_criteria.status, 403) << by_criteria.body;
  EXPECT_EQ(by_criteria.body.find("pb-hr"), std::string::npos) << by_criteria.body;
  EXPECT_EQ(Send("PATCH", "/fhir/Observation?_id=pb-hr", writer,
                 R"({"resourceType":"Parameters","parameter":[{"name":"operation","part":[)"
                 R"({"name":"type","valueCode":"delete"},{"name":"path","valueString":)"
                 R"("Observation.performer"}]}]})")
                .status,
            403);
  EXPECT_EQ(Send("GET", "/fhir/Observation/pb-hr", *admin_).status, 200);
  // A conditional reference to what the token may not see is refused, and its id never stored.
  std::string derived = Observation("pa-derived", "pa", "vital-signs", "8867-4", "2026-02-06");
  derived.insert(derived.size() - 1,
                 R"(,"derivedFrom":[{"reference":"Observation?code=8867-4&date=2026-01-12"}])");
  Answer hidden = Send("POST", "/fhir", writer,
                       R"({"resourceType":"Bundle","type":"transaction","entry":[{"request":)"
                       R"({"method":"PUT","url":"Observation/pa-derived"},"resource":)" +
                           derived + "}]}");
  EXPECT_EQ(hidden.status, 403) << hidden.body;
  EXPECT_EQ(hidden.body.find("pb-hr"), std::string::npos) << hidden.body;
  EXPECT_NE(hidden.body.find("Bundle.entry[0].resource"), std::string::npos) << hidden.body;
  EXPECT_EQ(Send("GET", "/fhir/Observation/pa-derived", *admin_).status, 404);
}

// A write is decided on what it would store, in the transaction that stores it: a create, an
// update, a patch (on its result) and a transaction entry alike.
TEST_F(SecurityTest, WritesAreDecidedOnWhatWouldBeStored) {
  ASSERT_TRUE(server().ok());
  const auto move_to = [](const std::string& patient) {
    return R"({"resourceType":"Parameters","parameter":[{"name":"operation","part":[)"
           R"({"name":"type","valueCode":"replace"},{"name":"path","valueString":)"
           R"("Observation.subject"},{"name":"value","valueReference":{"reference":"Patient/)" +
           patient + R"("}}]}]})";
  };
  // A patient context's token cannot move a resource out of its patient's compartment.
  const std::string own = Token("--role clinician --patient pa --scope patient/*.cruds");
  Answer escaped = Send("PATCH", "/fhir/Observation/pa-glu", own, move_to("pb"));
  EXPECT_EQ(escaped.status, 403) << escaped.body;
  EXPECT_NE(escaped.body.find("auth.patient-context"), std::string::npos) << escaped.body;
  EXPECT_NE(Send("GET", "/fhir/Observation/pa-glu", *admin_).body.find("Patient/pa"),
            std::string::npos);

  // The resident forbids the hospital to record anything about them.
  const std::string no_hospital_writes =
      R"({"type":"permit","provision":[{"type":"deny","actor":[{"role":{"coding":[{"system":)"
      R"("http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]},)"
      R"("reference":{"reference":"Organization/hospital"}}],"action":[{"coding":[{"system":)"
      R"("http://terminology.hl7.org/CodeSystem/consentaction","code":"collect"}]},)"
      R"({"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentaction",)"
      R"("code":"correct"}]}]}]})";
  ASSERT_EQ(Send("PUT", "/fhir/Consent/c-write", *admin_,
                 Consent("c-write", "active", no_hospital_writes))
                .status,
            201);
  const std::string hospital = Token("--role clinician --organization Organization/hospital");
  const std::string station = Token("--role clinician --organization Organization/station");
  Answer created = Send("POST", "/fhir/Observation", hospital,
                        Observation("x", "pa", "vital-signs", "8867-4", "2026-03-01"));
  EXPECT_EQ(created.status, 403) << created.body;
  EXPECT_NE(created.body.find("consent.denied"), std::string::npos) << created.body;
  EXPECT_EQ(Send("PUT", "/fhir/Observation/pa-w1", hospital,
                 Observation("pa-w1", "pa", "vital-signs", "8867-4", "2026-03-02"))
                .status,
            403);
  // Patching another resident's Observation onto this one is a write about this one.
  EXPECT_EQ(Send("PATCH", "/fhir/Observation/pb-hr", hospital, move_to("pa")).status, 403);
  EXPECT_NE(Send("GET", "/fhir/Observation/pb-hr", *admin_).body.find("Patient/pb"),
            std::string::npos);
  const std::string transaction =
      R"({"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"PUT",)"
      R"("url":"Observation/pa-w2"},"resource":)" +
      Observation("pa-w2", "pa", "vital-signs", "8867-4", "2026-03-03") + "}]}";
  Answer refused = Send("POST", "/fhir", hospital, transaction);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_NE(refused.body.find("consent.denied"), std::string::npos) << refused.body;
  for (const char* id : {"pa-w1", "pa-w2"}) {
    EXPECT_EQ(Send("GET", std::string("/fhir/Observation/") + id, *admin_).status, 404) << id;
  }
  EXPECT_TRUE(
      Entries(Send("GET", "/fhir/Observation?subject=Patient/pa&date=ge2026-03-01", *admin_))
          .empty());
  // Another organization may, and so may the hospital once the Consent is withdrawn.
  EXPECT_EQ(Send("PUT", "/fhir/Observation/pa-w1", station,
                 Observation("pa-w1", "pa", "vital-signs", "8867-4", "2026-03-02"))
                .status,
            201);
  ASSERT_EQ(Send("PUT", "/fhir/Consent/c-write", *admin_,
                 Consent("c-write", "inactive", no_hospital_writes))
                .status,
            200);
  EXPECT_EQ(Send("POST", "/fhir", hospital, transaction).status, 200);
}

TEST_F(SecurityTest, QueryConstraintsOfV2ScopesApply) {
  ASSERT_TRUE(server().ok());
  const std::string vitals =
      Token(std::string("--role clinician --patient pa --scope \"") +
            "patient/Patient.rs patient/Observation.rs?category=" + kVitalSigns + "\"");
  EXPECT_EQ(Entries(Send("GET", "/fhir/Observation", vitals)),
            std::set<std::string>{"Observation/pa-hr"});
  EXPECT_EQ(Send("GET", "/fhir/Observation/pa-hr", vitals).status, 200);
  EXPECT_EQ(Send("GET", "/fhir/Observation/pa-glu", vitals).status, 403);
}

TEST_F(SecurityTest, ConsentDecidesAndRevocationTakesEffectAtOnce) {
  ASSERT_TRUE(server().ok());
  const std::string deny_hospital =
      R"({"type":"permit","provision":[{"type":"deny","actor":[{"role":{"coding":[{"system":)"
      R"("http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]},)"
      R"("reference":{"reference":"Organization/hospital"}}]}]})";
  ASSERT_EQ(
      Send("PUT", "/fhir/Consent/c-org", *admin_, Consent("c-org", "active", deny_hospital)).status,
      201);
  const std::string hospital = Token("--role clinician --organization Organization/hospital");
  const std::string station = Token("--role clinician --organization Organization/station");
  Answer denied = Send("GET", "/fhir/Observation/pa-hr", hospital);
  EXPECT_EQ(denied.status, 403);
  EXPECT_NE(denied.body.find("consent.denied"), std::string::npos) << denied.body;
  EXPECT_EQ(Send("GET", "/fhir/Observation/pa-hr", station).status, 200);
  EXPECT_EQ(Send("GET", "/fhir/Observation/pb-hr", hospital).status, 200);

  Answer filtered = Send("GET", "/fhir/Observation?code=8867-4&_total=estimate", hospital);
  ASSERT_EQ(filtered.status, 200) << filtered.body;
  EXPECT_EQ(Entries(filtered), std::set<std::string>{"Observation/pb-hr"});
  EXPECT_FALSE(HasTotal(filtered)) << filtered.body;
  Answer count = Send("GET", "/fhir/Observation?code=8867-4&_summary=count", hospital);
  EXPECT_EQ(count.status, 403);
  EXPECT_NE(count.body.find("consent.count-refused"), std::string::npos) << count.body;
  EXPECT_EQ(Send("GET", "/fhir/Observation?_total=accurate", station).status, 403);

  const std::string emergency =
      Token("--role clinician --organization Organization/hospital --purpose BTG");
  EXPECT_EQ(Send("GET", "/fhir/Observation/pa-hr", emergency).status, 200);

  ASSERT_EQ(Send("PUT", "/fhir/Consent/c-org", *admin_, Consent("c-org", "inactive", deny_hospital))
                .status,
            200);
  EXPECT_EQ(Send("GET", "/fhir/Observation/pa-hr", hospital).status, 200);

  const std::string deny_research =
      R"({"type":"permit","provision":[{"type":"deny","purpose":[{"system":)"
      R"("http://terminology.hl7.org/CodeSystem/v3-ActReason","code":"HRESCH"}]}]})";
  ASSERT_EQ(
      Send("PUT", "/fhir/Consent/c-purpose", *admin_, Consent("c-purpose", "active", deny_research))
          .status,
      201);
  EXPECT_EQ(Send("GET", "/fhir/Patient/pa", Token("--role clinician --purpose HRESCH")).status,
            403);
  EXPECT_EQ(Send("GET", "/fhir/Patient/pa", Token("--role clinician --purpose TREAT")).status, 200);
  ASSERT_EQ(Send("PUT", "/fhir/Consent/c-purpose", *admin_,
                 Consent("c-purpose", "inactive", deny_research))
                .status,
            200);

  const std::string deny_labs_2026 =
      R"({"type":"permit","provision":[{"type":"deny","class":[{"system":)"
      R"("http://hl7.org/fhir/resource-types","code":"Observation"}],)"
      R"("dataPeriod":{"start":"2026-01-11","end":"2026-01-31"}}]})";
  ASSERT_EQ(
      Send("PUT", "/fhir/Consent/c-class", *admin_, Consent("c-class", "active", deny_labs_2026))
          .status,
      201);
  EXPECT_EQ(Send("GET", "/fhir/Observation/pa-glu", station).status, 403);
  EXPECT_EQ(Send("GET", "/fhir/Observation/pa-hr", station).status, 200);
  EXPECT_EQ(Send("GET", "/fhir/Patient/pa", station).status, 200);
  ASSERT_EQ(
      Send("PUT", "/fhir/Consent/c-class", *admin_, Consent("c-class", "inactive", deny_labs_2026))
          .status,
      200);
  EXPECT_EQ(Send("GET", "/fhir/Observation/pa-glu", station).status, 200);
}

}  // namespace

namespace {

TEST(SecurityOptionsTest, UnsafeOrInvalidSettingsAreRefusedNamingTheOption) {
  struct Case {
    std::string args;
    std::string option;
  };
  for (const Case& c : std::vector<Case>{
           {"", "--jwks"},
           {"--auth maybe", "--auth"},
           {"--auth dev --audit off", "--audit"},
           {"--auth on --jwks /nonexistent --consent off", "--consent"},
           {"--auth off --consent-default sometimes", "--consent-default"},
           {"--auth off --withheld-reads 410", "--withheld-reads"},
           {"--auth off --audit-hash md5", "--audit-hash"},
           {"--auth off --token-clock-skew -1", "--token-clock-skew"},
           // Below the six-month floor; and without the key that signs the checkpoints the log
           // could be cut at.
           {"--auth off --audit-retention-days 100", "--audit-retention-days"},
           {"--auth off --audit-retention-days 365", "--audit-retention-days"},
       }) {
    std::string output;
    const int status = testing_support::RunCommand(
        std::string(FHIRHUB_BINARY) + " serve --port 0 " + c.args, output);
    EXPECT_EQ(status, 2) << c.args << ": " << output;
    EXPECT_NE(output.find(c.option), std::string::npos) << c.args << ": " << output;
  }
}

}  // namespace
