// End-to-end: `fhirhub audit verify` and `fhirhub audit checkpoint`, the real binary, on an audit
// log written through PgAuditLog in a throwaway cluster and then tampered with as the superuser.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "server/audit/audit_checkpoint.h"
#include "server/security/keys.h"
#include "server/store/pg/connection.h"
#include "server/store/pg/embedded_cluster.h"
#include "server/store/pg/migrations.h"
#include "server/store/pg/pg_audit_log.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/server_process.h"

namespace {

using server::store::AuditEntry;
using server::store::pg::PgConnection;

std::string ShellQuote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

class AuditVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& cluster = testing_support::PgTestCluster::Get();
    conninfo_ = cluster.CreateDatabase();
    ASSERT_TRUE(server::store::pg::Migrate(conninfo_).ok());
    auto conn = PgConnection::Connect(conninfo_);
    ASSERT_TRUE(conn.ok());
    auto name = (*conn)->ExecSimple("SELECT current_database()");
    ASSERT_TRUE(name.ok());
    superuser_conninfo_ = cluster.cluster().SuperuserConnectionString(name->Get(0, 0));
    auto superuser = PgConnection::Connect(superuser_conninfo_);
    ASSERT_TRUE(superuser.ok());
    ASSERT_TRUE(server::store::pg::SealAuditTables(**superuser, "fhirhub").ok());

    char dir[] = "/tmp/fhirhub-audit-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  int Run(const std::string& args, std::string& output) {
    return testing_support::RunCommand(
        std::string(FHIRHUB_BINARY) + " audit " + args + " --database-url " + ShellQuote(conninfo_),
        output);
  }

  std::string conninfo_;
  std::string superuser_conninfo_;
  std::string dir_;
};

TEST_F(AuditVerifyTest, ReportsAnIntactLogThenTheFirstBrokenLink) {
  server::store::pg::PgAuditLog log(server::store::pg::PgAuditLogOptions{
      .pool = {conninfo_, 1, std::chrono::milliseconds(5000)},
      .hash_algorithm = server::security::HashAlgorithm::kSm3});
  std::vector<AuditEntry> entries(5);
  for (int i = 0; i < 5; ++i) {
    entries[i].recorded = server::store::Timestamp(std::chrono::seconds(1'795'341'600 + i));
    entries[i].patients = {"p" + std::to_string(i)};
    entries[i].agents = {"Practitioner/1"};
    entries[i].entities = {"Patient/p" + std::to_string(i)};
    entries[i].event = R"({"resourceType":"AuditEvent"})";
  }
  ASSERT_TRUE(log.Append(entries).ok());

  auto key = server::security::PrivateKey::Generate(server::security::KeyAlgorithm::kSm2);
  ASSERT_TRUE(key.ok());
  const std::string private_pem = WriteFile("private.pem", key->ToPem());
  const std::string public_pem = WriteFile("public.pem", key->Public().ToPem());
  auto other = server::security::PrivateKey::Generate(server::security::KeyAlgorithm::kSm2);
  ASSERT_TRUE(other.ok());
  const std::string other_pem = WriteFile("other.pem", other->Public().ToPem());

  std::string output;
  EXPECT_EQ(Run("checkpoint --private-key " + private_pem, output), 0) << output;
  EXPECT_NE(output.find("checkpoint at seq 5 signed by key " + key->Public().Thumbprint()),
            std::string::npos)
      << output;

  EXPECT_EQ(Run("verify --public-key " + public_pem, output), 0) << output;
  EXPECT_EQ(output, "audit log intact: 5 records, 1 checkpoint\n");
  EXPECT_EQ(Run("verify", output), 0) << output;

  EXPECT_EQ(Run("verify --public-key " + other_pem, output), 1) << output;
  EXPECT_NE(output.find("audit log broken at seq 5 (bad-checkpoint-signature)"), std::string::npos)
      << output;

  // The server's role cannot change the log; the superuser can, and verification notices.
  auto conn = PgConnection::Connect(conninfo_);
  ASSERT_TRUE(conn.ok());
  EXPECT_FALSE((*conn)->ExecSimple("UPDATE audit.audit_event SET event = '{}' WHERE seq = 3").ok());
  auto superuser = PgConnection::Connect(superuser_conninfo_);
  ASSERT_TRUE(superuser.ok());
  ASSERT_TRUE((*superuser)
                  ->ExecSimple("SET session_replication_role = replica; "
                               "UPDATE audit.audit_event SET event = '{}' WHERE seq = 3")
                  .ok());
  EXPECT_EQ(Run("verify --public-key " + public_pem, output), 1) << output;
  EXPECT_NE(output.find("audit log broken at seq 3 (modified)"), std::string::npos) << output;

  EXPECT_EQ(Run("verify --public-key " + dir_ + "/missing.pem", output), 3) << output;
  EXPECT_EQ(Run("verify extra", output), 2) << output;
}

TEST_F(AuditVerifyTest, SealSqlHandsTheAuditSchemaOverOnAnExternalDatabase) {
  std::string sql;
  ASSERT_EQ(testing_support::RunCommand(
                std::string(FHIRHUB_BINARY) + " audit seal-sql --role fhirhub", sql),
            0)
      << sql;
  auto superuser = PgConnection::Connect(superuser_conninfo_);
  ASSERT_TRUE(superuser.ok());
  auto sealed = (*superuser)->ExecSimple(sql);
  ASSERT_TRUE(sealed.ok()) << sealed.error().text();
  auto granted =
      (*superuser)
          ->ExecSimple(
              "SELECT tableowner, has_table_privilege('fhirhub', 'audit.audit_event', 'DELETE'), "
              "has_function_privilege('fhirhub', 'audit.purge(bigint)', 'EXECUTE') "
              "FROM pg_tables WHERE schemaname = 'audit' AND tablename = 'audit_event'");
  ASSERT_TRUE(granted.ok()) << granted.error().text();
  EXPECT_EQ(granted->Get(0, 0), "fhirhub_audit");
  EXPECT_FALSE(granted->GetBool(0, 1));
  EXPECT_TRUE(granted->GetBool(0, 2));

  std::string output;
  EXPECT_EQ(testing_support::RunCommand(
                std::string(FHIRHUB_BINARY) + " audit seal-sql --role 'x; DROP'", output),
            2);
}

TEST_F(AuditVerifyTest, TheEmbeddedClusterGivesTheServerRoleOnlySelectAndInsert) {
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);  // searchable by the cluster's user when run as root
  const std::string data_dir = dir_ + "/pg";
  std::string output;
  EXPECT_EQ(testing_support::RunCommand(
                std::string(FHIRHUB_BINARY) + " audit verify --data-dir " + data_dir, output),
            0)
      << output;
  EXPECT_EQ(output, "audit log intact: 0 records, 0 checkpoints\n");

  server::store::pg::EmbeddedClusterOptions options;
  options.data_dir = data_dir;
  options.durable = false;
  auto cluster = server::store::pg::EmbeddedCluster::Start(options);
  ASSERT_TRUE(cluster.ok()) << cluster.error().text();
  auto conn = PgConnection::Connect((*cluster)->ConnectionString());
  ASSERT_TRUE(conn.ok());
  auto privileges = (*conn)->ExecSimple(
      "SELECT tableowner, has_table_privilege('fhirhub', 'audit.audit_event', 'SELECT'), "
      "has_table_privilege('fhirhub', 'audit.audit_event', 'INSERT'), "
      "has_table_privilege('fhirhub', 'audit.audit_event', 'UPDATE'), "
      "has_table_privilege('fhirhub', 'audit.audit_event', 'DELETE'), "
      "has_table_privilege('fhirhub', 'audit.audit_event', 'TRUNCATE') "
      "FROM pg_tables WHERE schemaname = 'audit' AND tablename = 'audit_event'");
  ASSERT_TRUE(privileges.ok()) << privileges.error().text();
  ASSERT_EQ(privileges->rows(), 1);
  EXPECT_EQ(privileges->Get(0, 0), "fhirhub_audit");
  EXPECT_TRUE(privileges->GetBool(0, 1));
  EXPECT_TRUE(privileges->GetBool(0, 2));
  EXPECT_FALSE(privileges->GetBool(0, 3));
  EXPECT_FALSE(privileges->GetBool(0, 4));
  EXPECT_FALSE(privileges->GetBool(0, 5));
  EXPECT_FALSE((*conn)->ExecSimple("TRUNCATE audit.audit_event").ok());
  EXPECT_FALSE((*conn)->ExecSimple("DROP SCHEMA audit CASCADE").ok());
  conn->reset();
  ASSERT_TRUE((*cluster)->Stop().ok());
}

}  // namespace
