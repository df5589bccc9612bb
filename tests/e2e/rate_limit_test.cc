// Request rate limits per client against the real binary (--auth dev): a client over its limit is
// answered 429 with Retry-After and an OperationOutcome, other clients are not held back, senders
// without a valid token are limited by their address, and each refusal is audited.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "tests/support/http_client.h"
#include "tests/support/server_process.h"

namespace {

using testing_support::Answer;
using testing_support::Call;
using testing_support::ServerProcess;

class RateLimitTest : public ::testing::Test {
 protected:
  std::string Token(const std::string& args) {
    std::string output;
    EXPECT_EQ(testing_support::RunCommand(std::string(FHIRHUB_BINARY) + " token --data-dir " +
                                              server_.data_dir() + " " + args,
                                          output),
              0)
        << output;
    while (!output.empty() && output.back() == '\n') output.pop_back();
    return output;
  }

  Answer Get(const std::string& path, const std::string& token) {
    std::map<std::string, std::string> headers;
    if (!token.empty()) headers["Authorization"] = "Bearer " + token;
    return Call(server_.port(), "GET", path, "", "application/fhir+json", headers);
  }

  ServerProcess server_{FHIRHUB_BINARY,
                        {"--auth", "dev", "--rate-limit", "1", "--rate-limit-burst", "3"}};
};

TEST_F(RateLimitTest, AClientOverItsRateIsRefusedWithRetryAfterAndOthersAreNot) {
  ASSERT_TRUE(server_.ok());
  const std::string alice = Token("--role administrator --subject alice");
  const std::string bob = Token("--role administrator --subject bob");
  const std::string regulator = Token("--role regulator --subject inspector");

  for (int i = 0; i < 3; ++i) EXPECT_EQ(Get("/fhir/Patient", alice).status, 200) << i;
  Answer refused = Get("/fhir/Patient", alice);
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(refused.Header("retry-after"), "1");
  EXPECT_NE(refused.body.find("http.rate-limited"), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find("throttled"), std::string::npos) << refused.body;
  EXPECT_EQ(Get("/fhir/Patient", bob).status, 200);

  // Without a valid token the sender's address is the client: guessing tokens is throttled too.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Get("/fhir/Patient", "").status, 401) << i;
  EXPECT_EQ(Get("/fhir/Patient", "not-a-token").status, 429);

  // The refusal is in the audit log as a serious failure of alice's.
  Answer audited = Get("/fhir/AuditEvent?agent=sub:alice&outcome=8", regulator);
  ASSERT_EQ(audited.status, 200) << audited.body;
  EXPECT_NE(audited.body.find("\"entry\""), std::string::npos) << audited.body;
}

}  // namespace
