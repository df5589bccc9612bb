#include "server/pipeline/auth/certificate_clients.h"

#include <gtest/gtest.h>

namespace server::auth {
namespace {

constexpr std::string_view kFingerprint =
    "3F:0C:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:"
    "E1";

rest::ClientCertificate Certificate(std::string subject, std::string fingerprint) {
  return rest::ClientCertificate{std::move(subject), std::move(fingerprint), {}, {}};
}

TEST(CertificateClientsTest, FindsClientsByFingerprintOrSubject) {
  auto clients = CertificateClients::FromJson(R"({"clients": [
    {"fingerprint": ")" + std::string(kFingerprint) +
                                              R"(", "client_id": "county-his",
     "roles": ["connector"], "organization": "Organization/county-hospital"},
    {"subject": "CN=station-gw,O=Qinghe,C=CN", "client_id": "station-gw",
     "roles": ["station-operator"], "scope": "system/Observation.cr"}]})");
  ASSERT_TRUE(clients.ok()) << clients.error().text();
  EXPECT_EQ(clients->size(), 2u);

  auto his = clients->Find(
      Certificate("CN=his,O=County Hospital,C=CN",
                  "3f0c112233445566778899aabbccddeeff00112233445566778899aabbccdde1"));
  ASSERT_TRUE(his.has_value());
  EXPECT_EQ(his->method, "certificate");
  EXPECT_EQ(his->client_id, "county-his");
  EXPECT_EQ(his->subject, "CN=his,O=County Hospital,C=CN");
  EXPECT_EQ(his->roles, std::vector<rest::Role>{rest::Role::kConnector});
  EXPECT_EQ(his->organization, "Organization/county-hospital");
  EXPECT_EQ(his->scope, "system/*.cruds");

  auto station = clients->Find(Certificate("CN=station-gw,O=Qinghe,C=CN", std::string(64, '0')));
  ASSERT_TRUE(station.has_value());
  EXPECT_EQ(station->scope, "system/Observation.cr");
  EXPECT_EQ(station->roles, std::vector<rest::Role>{rest::Role::kStationOperator});

  EXPECT_FALSE(clients->Find(Certificate("CN=station-gw,O=Other,C=CN", std::string(64, '1'))));
}

TEST(CertificateClientsTest, RefusesFilesNamingTheMemberAtFault) {
  struct Case {
    std::string json;
    std::string names;
  };
  for (const Case& c : std::vector<Case>{
           {"[]", "\"clients\""},
           {R"({"clients": [{"client_id": "x", "roles": ["connector"]}]})", "clients[0]"},
           {R"({"clients": [{"fingerprint": "abc", "client_id": "x", "roles": ["connector"]}]})",
            "clients[0].fingerprint"},
           {R"({"clients": [{"subject": "CN=a", "roles": ["connector"]}]})",
            "clients[0].client_id"},
           {R"({"clients": [{"subject": "CN=a", "client_id": "x", "roles": ["root"]}]})",
            "clients[0].roles"},
           {R"({"clients": [{"subject": "CN=a", "client_id": "x", "roles": []}]})",
            "clients[0].roles"},
       }) {
    auto parsed = CertificateClients::FromJson(c.json);
    ASSERT_FALSE(parsed.ok()) << c.json;
    EXPECT_EQ(parsed.error().message_id(), "auth.invalid-certificate-clients");
    EXPECT_NE(parsed.error().text().find(c.names), std::string::npos) << parsed.error().text();
  }
}

}  // namespace
}  // namespace server::auth
