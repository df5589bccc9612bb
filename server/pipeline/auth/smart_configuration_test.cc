#include "server/pipeline/auth/smart_configuration.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>
#include <vector>

namespace server::auth {
namespace {

std::vector<std::string> Strings(const rapidjson::Value& array) {
  std::vector<std::string> out;
  for (const auto& value : array.GetArray()) out.emplace_back(value.GetString());
  return out;
}

TEST(SmartConfigurationTest, FullDocument) {
  SmartConfigurationOptions options;
  options.issuer = "https://idp.example.org/realms/fhirhub";
  options.jwks_uri = "https://idp.example.org/realms/fhirhub/certs";
  options.authorization_endpoint = "https://idp.example.org/auth";
  options.token_endpoint = "https://idp.example.org/token";
  options.patient_context = true;
  rapidjson::Document doc;
  doc.Parse(SmartConfigurationJson(options).c_str());
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_STREQ(doc["issuer"].GetString(), "https://idp.example.org/realms/fhirhub");
  EXPECT_STREQ(doc["jwks_uri"].GetString(), "https://idp.example.org/realms/fhirhub/certs");
  EXPECT_STREQ(doc["authorization_endpoint"].GetString(), "https://idp.example.org/auth");
  EXPECT_STREQ(doc["token_endpoint"].GetString(), "https://idp.example.org/token");
  EXPECT_FALSE(doc.HasMember("introspection_endpoint"));
  EXPECT_EQ(Strings(doc["capabilities"]),
            (std::vector<std::string>{"permission-patient", "permission-user", "permission-v1",
                                      "permission-v2", "context-standalone-patient"}));
  EXPECT_EQ(Strings(doc["code_challenge_methods_supported"]), std::vector<std::string>{"S256"});
  EXPECT_EQ(Strings(doc["response_types_supported"]), std::vector<std::string>{"code"});
  EXPECT_EQ(Strings(doc["grant_types_supported"]),
            (std::vector<std::string>{"authorization_code", "client_credentials"}));
  EXPECT_EQ(Strings(doc["token_endpoint_auth_methods_supported"]),
            (std::vector<std::string>{"private_key_jwt", "client_secret_basic"}));
  std::vector<std::string> scopes = Strings(doc["scopes_supported"]);
  for (const char* scope : {"openid", "fhirUser", "launch/patient", "patient/*.rs", "user/*.cruds",
                            "system/*.read", "system/*.write"}) {
    EXPECT_NE(std::find(scopes.begin(), scopes.end(), scope), scopes.end()) << scope;
  }
}

TEST(SmartConfigurationTest, MinimalDocumentOmitsEndpointsAndPatientContext) {
  SmartConfigurationOptions options;
  options.scopes_supported = {"system/*.rs"};
  options.grant_types_supported = {"client_credentials"};
  rapidjson::Document doc;
  doc.Parse(SmartConfigurationJson(options).c_str());
  ASSERT_FALSE(doc.HasParseError());
  for (const char* member : {"issuer", "jwks_uri", "authorization_endpoint", "token_endpoint"}) {
    EXPECT_FALSE(doc.HasMember(member)) << member;
  }
  EXPECT_EQ(Strings(doc["capabilities"]),
            (std::vector<std::string>{"permission-patient", "permission-user", "permission-v1",
                                      "permission-v2"}));
  EXPECT_EQ(Strings(doc["scopes_supported"]), std::vector<std::string>{"system/*.rs"});
  EXPECT_EQ(Strings(doc["grant_types_supported"]), std::vector<std::string>{"client_credentials"});
}

TEST(SmartConfigurationTest, DefaultScopesLeaveOutLaunchPatientWithoutPatientContext) {
  rapidjson::Document doc;
  doc.Parse(SmartConfigurationJson({}).c_str());
  ASSERT_FALSE(doc.HasParseError());
  std::vector<std::string> scopes = Strings(doc["scopes_supported"]);
  EXPECT_EQ(std::find(scopes.begin(), scopes.end(), "launch/patient"), scopes.end());
}

}  // namespace
}  // namespace server::auth
