// End-to-end: conditional interactions from many clients at once, against the real fhirhub
// binary. Transaction Bundles that select by criteria (conditional creates, conditional
// references) and concern different residents all succeed side by side; those that share
// criteria take turns, so a shared resource is created once.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/server_process.h"
#include "tests/support/server_suite.h"

namespace {

using testing_support::Answer;
using testing_support::Call;

class ConditionalConcurrencyTest : public testing_support::ServerSuite<::testing::Test> {};

// A station's message as an integrator sends it: the shared station Organization and the
// resident, both created unless they exist, and a measurement that points at both by criteria
// and by fullUrl.
std::string MeasurementBundle(const std::string& resident) {
  return R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"fullUrl":"urn:uuid:0b9c5e52-3f3c-4d8e-9a51-000000000001",
     "resource":{"resourceType":"Organization","identifier":[{"system":"urn:test:org","value":"station-1"}],"name":"Station 1"},
     "request":{"method":"POST","url":"Organization","ifNoneExist":"identifier=urn:test:org|station-1"}},
    {"fullUrl":"urn:uuid:0b9c5e52-3f3c-4d8e-9a51-000000000002",
     "resource":{"resourceType":"Patient","identifier":[{"system":"urn:test:resident","value":")" +
         resident + R"("}],
       "managingOrganization":{"reference":"urn:uuid:0b9c5e52-3f3c-4d8e-9a51-000000000001"}},
     "request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=urn:test:resident|)" +
         resident + R"("}},
    {"resource":{"resourceType":"Observation","status":"final",
       "code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},
       "subject":{"reference":"urn:uuid:0b9c5e52-3f3c-4d8e-9a51-000000000002"},
       "performer":[{"reference":"Organization?identifier=urn:test:org|station-1"}],
       "valueQuantity":{"value":72,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}},
     "request":{"method":"POST","url":"Observation"}}]})";
}

int Total(const Answer& answer) {
  const size_t at = answer.body.find("\"total\":");
  return at == std::string::npos ? -1 : std::stoi(answer.body.substr(at + 8));
}

TEST_F(ConditionalConcurrencyTest, BundlesForDifferentResidentsAllSucceedAndSharedOnesAreOne) {
  ASSERT_TRUE(server().ok());
  // Conditional references resolve against what is stored, so the Organization comes first.
  Answer station = Call(
      Port(), "POST", "/fhir/Organization",
      R"({"resourceType":"Organization","identifier":[{"system":"urn:test:org","value":"station-1"}]})");
  ASSERT_EQ(station.status, 201) << station.body;

  constexpr int kClients = 8;
  constexpr int kBundles = 6;
  std::atomic<int> refused{0};
  std::vector<std::string> faults(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int b = 0; b < kBundles; ++b) {
        // Every client also resends the bundle of the resident before: a repeat within the load.
        const std::string resident = "r-" + std::to_string(c) + "-" + std::to_string(b / 2);
        Answer answer = Call(Port(), "POST", "/fhir", MeasurementBundle(resident));
        if (answer.status != 200) {
          ++refused;
          faults[c] = std::to_string(answer.status) + " " + answer.body;
        }
      }
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(refused.load(), 0);
  for (const std::string& fault : faults) EXPECT_EQ(fault, "");

  Answer organizations =
      Call(Port(), "GET", "/fhir/Organization?identifier=urn:test:org|station-1&_summary=count");
  EXPECT_EQ(Total(organizations), 1) << organizations.body;
  Answer residents =
      Call(Port(), "GET", "/fhir/Patient?identifier=urn:test:resident|&_summary=count");
  EXPECT_EQ(Total(residents), kClients * kBundles / 2) << residents.body;
  Answer measurements = Call(Port(), "GET", "/fhir/Observation?code=8867-4&_summary=count");
  EXPECT_EQ(Total(measurements), kClients * kBundles) << measurements.body;
}

TEST_F(ConditionalConcurrencyTest, ConcurrentConditionalCreatesOfOneResidentMakeOne) {
  ASSERT_TRUE(server().ok());
  constexpr int kClients = 8;
  std::atomic<int> created{0};
  std::atomic<int> found{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      Answer answer = Call(
          Port(), "POST", "/fhir/Patient",
          R"({"resourceType":"Patient","identifier":[{"system":"urn:test:once","value":"1"}]})",
          "application/fhir+json", {{"If-None-Exist", "identifier=urn:test:once|1"}});
      if (answer.status == 201) ++created;
      if (answer.status == 200) ++found;
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(found.load(), kClients - 1);
  Answer residents = Call(Port(), "GET", "/fhir/Patient?identifier=urn:test:once|1");
  EXPECT_EQ(Total(residents), 1) << residents.body;
}

}  // namespace
