// End-to-end: custom search parameters against the real fhirhub binary. A SearchParameter
// resource POSTed to the server becomes searchable without a restart: resources written after it
// are indexed at once, older ones by the background reindexer (polled here with a deadline);
// retiring or deleting it makes the code unknown again. A --profiles directory's files are
// searchable from the start and listed in the CapabilityStatement.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/server_process.h"
#include "tests/support/server_suite.h"
#include "tests/support/test_definitions.h"

namespace {

using testing_support::Answer;
using testing_support::Call;

constexpr char kJson[] = "application/fhir+json";
constexpr char kEthnicityUrl[] = "http://example.org/fhir/SearchParameter/patient-ethnicity";

std::string EthnicityParameter(const std::string& status) {
  return R"({"resourceType":"SearchParameter","id":"patient-ethnicity","url":")" +
         std::string(kEthnicityUrl) + R"(","name":"ethnicity","status":")" + status +
         R"(","description":"A resident's ethnic group, GB/T 3304","code":"ethnicity",)"
         R"("base":["Patient"],"type":"token",)"
         R"("expression":"Patient.extension('http://example.org/ethnicity').value.coding.code"})";
}

std::string PatientWithEthnicity(const std::string& id, const std::string& code) {
  return R"({"resourceType":"Patient","id":")" + id +
         R"(","extension":[{"url":"http://example.org/ethnicity","valueCodeableConcept":)"
         R"({"coding":[{"system":"urn:oid:2.16.156.10011.2.3.3.3","code":")" +
         code + R"("}]}}],"name":[{"family":"Test"}]})";
}

bool Has(const Answer& answer, const std::string& text) {
  return answer.body.find(text) != std::string::npos;
}

// Searches until every one of `ids` is in the answer, or a minute has passed; returns the last
// answer. The reindexer runs in the background, so older resources appear after a while.
Answer SearchUntilFound(int port, const std::string& query, const std::vector<std::string>& ids) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (true) {
    Answer answer = Call(port, "GET", "/fhir/Patient?" + query);
    bool all = answer.status == 200;
    for (const std::string& id : ids) all = all && Has(answer, "/Patient/" + id + "\"");
    if (all || std::chrono::steady_clock::now() > deadline) return answer;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

class CustomSearchTest : public testing_support::ServerSuite<::testing::Test> {};

TEST_F(CustomSearchTest, StoredParameterSearchesOlderAndNewerResourcesUntilRetired) {
  ASSERT_TRUE(server().ok());
  for (const auto& [id, code] : {std::pair{"eth-old-1", "01"}, {"eth-old-2", "02"}}) {
    Answer put = Call(Port(), "PUT", std::string("/fhir/Patient/") + id,
                      PatientWithEthnicity(id, code), kJson);
    ASSERT_EQ(put.status, 201) << put.body;
  }
  Answer unknown = Call(Port(), "GET", "/fhir/Patient?ethnicity=01");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_TRUE(Has(unknown, "search.unknown-parameter")) << unknown.body;

  Answer installed = Call(Port(), "PUT", "/fhir/SearchParameter/patient-ethnicity",
                          EthnicityParameter("active"), kJson);
  ASSERT_EQ(installed.status, 201) << installed.body;
  Answer metadata = Call(Port(), "GET", "/fhir/metadata");
  ASSERT_EQ(metadata.status, 200);
  EXPECT_TRUE(Has(metadata, std::string(R"("name":"ethnicity","definition":")") + kEthnicityUrl))
      << "the CapabilityStatement lists the parameter with its definition";

  // Written after the parameter: indexed with it at once.
  Answer fresh = Call(Port(), "PUT", "/fhir/Patient/eth-new-1",
                      PatientWithEthnicity("eth-new-1", "01"), kJson);
  ASSERT_EQ(fresh.status, 201) << fresh.body;
  Answer now = Call(Port(), "GET", "/fhir/Patient?ethnicity=01");
  ASSERT_EQ(now.status, 200) << now.body;
  EXPECT_TRUE(Has(now, "/Patient/eth-new-1\"")) << now.body;
  EXPECT_FALSE(Has(now, "/Patient/eth-old-2\"")) << now.body;
  // While the older resource is not reindexed, the answer says it may be incomplete.
  if (!Has(now, "/Patient/eth-old-1\"")) {
    EXPECT_TRUE(Has(now, R"("code":"incomplete")")) << now.body;
  }

  // Written before it: indexed by the background reindexer.
  Answer han = SearchUntilFound(Port(), "ethnicity=01", {"eth-old-1", "eth-new-1"});
  EXPECT_EQ(han.status, 200);
  EXPECT_TRUE(Has(han, "/Patient/eth-old-1\"")) << han.body;
  EXPECT_TRUE(Has(han, "/Patient/eth-new-1\"")) << han.body;
  EXPECT_FALSE(Has(han, "/Patient/eth-old-2\"")) << han.body;
  Answer zhuang = SearchUntilFound(Port(), "ethnicity=02", {"eth-old-2"});
  EXPECT_TRUE(Has(zhuang, "/Patient/eth-old-2\"")) << zhuang.body;
  EXPECT_FALSE(Has(zhuang, "/Patient/eth-old-1\"")) << zhuang.body;

  // Retired: unknown again, and gone from the CapabilityStatement.
  Answer retired = Call(Port(), "PUT", "/fhir/SearchParameter/patient-ethnicity",
                        EthnicityParameter("retired"), kJson);
  ASSERT_EQ(retired.status, 200) << retired.body;
  Answer after_retire = Call(Port(), "GET", "/fhir/Patient?ethnicity=01");
  EXPECT_EQ(after_retire.status, 400);
  EXPECT_TRUE(Has(after_retire, "search.unknown-parameter")) << after_retire.body;
  EXPECT_FALSE(Has(Call(Port(), "GET", "/fhir/metadata"), kEthnicityUrl));

  // Active again, then deleted: unknown once more.
  Answer again = Call(Port(), "PUT", "/fhir/SearchParameter/patient-ethnicity",
                      EthnicityParameter("active"), kJson);
  ASSERT_EQ(again.status, 200) << again.body;
  Answer back = SearchUntilFound(Port(), "ethnicity=01", {"eth-old-1", "eth-new-1"});
  EXPECT_TRUE(Has(back, "/Patient/eth-old-1\"")) << back.body;
  Answer deleted = Call(Port(), "DELETE", "/fhir/SearchParameter/patient-ethnicity");
  ASSERT_EQ(deleted.status, 204) << deleted.body;
  Answer after_delete = Call(Port(), "GET", "/fhir/Patient?ethnicity=01");
  EXPECT_EQ(after_delete.status, 400);
  EXPECT_TRUE(Has(after_delete, "search.unknown-parameter")) << after_delete.body;
}

TEST_F(CustomSearchTest, InvalidDefinitionIsRefusedAndNotStored) {
  ASSERT_TRUE(server().ok());
  std::string bad = EthnicityParameter("active");
  bad.replace(bad.find("patient-ethnicity"), 17, "bad-ethnicity");
  bad.replace(bad.find(".value.coding.code"), 18, ".value.coding.code(");
  Answer refused = Call(Port(), "PUT", "/fhir/SearchParameter/bad-ethnicity", bad, kJson);
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_TRUE(Has(refused, "search.invalid-definition")) << refused.body;
  EXPECT_TRUE(Has(refused, "SearchParameter.expression")) << refused.body;
  EXPECT_EQ(Call(Port(), "GET", "/fhir/SearchParameter/bad-ethnicity").status, 404);
}

// Searches until the answer counts `total` matches without an incomplete-index warning, or two
// minutes have passed; returns the last answer.
Answer SearchUntilComplete(int port, const std::string& query, int total) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (true) {
    Answer answer = Call(port, "GET", "/fhir/Patient?" + query + "&_total=accurate&_count=1");
    if ((answer.status == 200 && Has(answer, "\"total\":" + std::to_string(total) + ",") &&
         !Has(answer, "\"incomplete\"")) ||
        std::chrono::steady_clock::now() > deadline) {
      return answer;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// A second parameter installed while the rebuild for the first runs; then a restart, which loads
// the stored parameters, and `fhirhub reindex`, which finds nothing to do: it uses the same
// definitions as the server.
TEST(CustomSearchRestartTest, RebuildFollowsChangesAndRestartsKeepThem) {
  const std::string dir = "/tmp/fhcs-" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  const std::vector<std::string> args = {"--fhir-package", testing_support::PackageDir().string()};
  constexpr int kPatients = 700;
  {
    auto server = testing_support::ServerProcess::OnDataDir(FHIRHUB_BINARY, dir, args);
    ASSERT_TRUE(server->ok());
    std::string bundle = R"({"resourceType":"Bundle","type":"transaction","entry":[)";
    for (int i = 0; i < kPatients; ++i) {
      const std::string id = "rs-" + std::to_string(i);
      std::string patient = PatientWithEthnicity(id, "01");
      patient.insert(patient.find(R"("name")"), R"("address":[{"city":"Beijing"}],)");
      bundle += (i == 0 ? "" : ",") + std::string(R"({"resource":)") + patient +
                R"(,"request":{"method":"PUT","url":"Patient/)" + id + R"("}})";
    }
    bundle += "]}";
    Answer loaded = Call(server->port(), "POST", "/fhir", bundle, kJson);
    ASSERT_EQ(loaded.status, 200) << loaded.body.substr(0, 500);

    ASSERT_EQ(Call(server->port(), "PUT", "/fhir/SearchParameter/patient-ethnicity",
                   EthnicityParameter("active"), kJson)
                  .status,
              201);
    std::string city = EthnicityParameter("active");
    for (const auto& [from, to] :
         {std::pair<std::string, std::string>{"patient-ethnicity", "patient-city2"},
          {"\"code\":\"ethnicity\"", "\"code\":\"city2\""},
          {"\"type\":\"token\"", "\"type\":\"string\""},
          {"Patient.extension('http://example.org/ethnicity').value.coding.code",
           "Patient.address.city"}}) {
      city.replace(city.find(from), from.size(), to);
    }
    city.replace(city.find("patient-ethnicity"), 17, "patient-city2");
    ASSERT_EQ(
        Call(server->port(), "PUT", "/fhir/SearchParameter/patient-city2", city, kJson).status,
        201);

    Answer both = SearchUntilComplete(server->port(), "ethnicity=01&city2=beij", kPatients);
    EXPECT_TRUE(Has(both, "\"total\":" + std::to_string(kPatients) + ","))
        << both.body.substr(0, 500);
    EXPECT_FALSE(Has(both, "\"incomplete\"")) << both.body.substr(0, 500);
    EXPECT_EQ(server->Stop(), 0);
  }
  {
    auto server = testing_support::ServerProcess::OnDataDir(FHIRHUB_BINARY, dir, args);
    ASSERT_TRUE(server->ok());
    Answer after_restart = Call(server->port(), "GET",
                                "/fhir/Patient?ethnicity=01&city2=beij&_total=accurate&_count=1");
    EXPECT_EQ(after_restart.status, 200) << after_restart.body.substr(0, 500);
    EXPECT_TRUE(Has(after_restart, "\"total\":" + std::to_string(kPatients) + ","))
        << after_restart.body.substr(0, 500);
    EXPECT_FALSE(Has(after_restart, "\"incomplete\"")) << "the rows were complete at the stop";
    EXPECT_EQ(server->Stop(), 0);
  }
  std::string output;
  EXPECT_EQ(
      testing_support::RunCommand(std::string(FHIRHUB_BINARY) + " reindex --data-dir " + dir +
                                      " --fhir-package " + testing_support::PackageDir().string(),
                                  output),
      0)
      << output;
  EXPECT_NE(output.find("reindexed 0 resources"), std::string::npos) << output;
  std::filesystem::remove_all(dir);
}

TEST(ProfilesStartTest, AnInvalidProfileFileStopsTheStartNamingIt) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("fhirhub-bad-profiles-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string bad = EthnicityParameter("active");
  bad.replace(bad.find(".value.coding.code"), 18, ".value.coding.(");
  std::ofstream(dir / "SearchParameter-broken.json") << bad;
  std::string output;
  EXPECT_EQ(
      testing_support::RunCommand(std::string(FHIRHUB_BINARY) + " serve --port 0 --data-dir " +
                                      (dir / "pg").string() + " --fhir-package " +
                                      testing_support::PackageDir().string() +
                                      " --auth off --profiles " + dir.string(),
                                  output),
      1)
      << output;
  EXPECT_NE(output.find("SearchParameter-broken.json: SearchParameter.expression"),
            std::string::npos)
      << output;
  EXPECT_FALSE(std::filesystem::exists(dir / "pg")) << "refused before the database was opened";
  std::filesystem::remove_all(dir);
}

// A suite whose server reads a profiles directory with one SearchParameter file.
struct ProfilesArgs {
  static std::filesystem::path Dir() {
    static const std::filesystem::path dir = [] {
      std::filesystem::path made =
          std::filesystem::temp_directory_path() / ("fhirhub-profiles-" + std::to_string(getpid()));
      std::filesystem::create_directories(made);
      std::ofstream(made / "SearchParameter-patient-hukou.json")
          << R"({"resourceType":"SearchParameter","id":"patient-hukou",)"
             R"("url":"http://example.org/fhir/SearchParameter/patient-hukou","name":"hukou",)"
             R"("status":"draft","description":"Place of household registration","code":"hukou",)"
             R"("base":["Patient"],"type":"string",)"
             R"("expression":"Patient.extension('http://example.org/hukou').value"})";
      return made;
    }();
    return dir;
  }
  static std::vector<std::string> ServerArgs() { return {"--profiles", Dir().string()}; }
};

class ProfilesTest : public testing_support::ServerSuite<::testing::Test, ProfilesArgs> {
 protected:
  static void TearDownTestSuite() {
    ServerSuite::TearDownTestSuite();
    std::filesystem::remove_all(ProfilesArgs::Dir());
  }
};

TEST_F(ProfilesTest, ProfileParametersAreSearchableAndListed) {
  ASSERT_TRUE(server().ok());
  Answer metadata = Call(Port(), "GET", "/fhir/metadata");
  EXPECT_TRUE(
      Has(metadata, R"("definition":"http://example.org/fhir/SearchParameter/patient-hukou")"))
      << "the CapabilityStatement lists the profile's parameter";
  Answer put = Call(Port(), "PUT", "/fhir/Patient/hukou-1",
                    R"({"resourceType":"Patient","id":"hukou-1","extension":[{"url":)"
                    R"("http://example.org/hukou","valueString":"北京市朝阳区"}]})",
                    kJson);
  ASSERT_EQ(put.status, 201) << put.body;
  Answer found = Call(Port(), "GET", "/fhir/Patient?hukou=%E5%8C%97%E4%BA%AC");
  ASSERT_EQ(found.status, 200) << found.body;
  EXPECT_TRUE(Has(found, "/Patient/hukou-1\"")) << found.body;
  // A stored parameter may not take the profile's code.
  std::string taken = EthnicityParameter("active");
  taken.replace(taken.find("\"code\":\"ethnicity\""), 18, "\"code\":\"hukou\"");
  Answer collision = Call(Port(), "POST", "/fhir/SearchParameter", taken, kJson);
  EXPECT_EQ(collision.status, 422) << collision.body;
  EXPECT_TRUE(Has(collision, "search.code-collision")) << collision.body;
}

}  // namespace
