// `fhirhub audit`: the tamper-evident audit log from the command line.
//
//   fhirhub audit verify [--database-url URL | --data-dir DIR] [--public-key PEM_FILE]
//     Walks the whole log, recomputing every hash, and checks its checkpoints (their signatures
//     too when given the public key that signs them). Prints "audit log intact: N records,
//     M checkpoints" and exits 0, or prints the first broken link ("audit log broken at seq S
//     (kind): ...") and exits 1. Exits 2 on a usage error and 3 when the log cannot be read
//     (database, key file).
//   fhirhub audit checkpoint --private-key PEM_FILE [--database-url URL | --data-dir DIR]
//     Signs the log's current head with the key (P-256, SM2 or RSA; unencrypted PEM) and stores
//     the checkpoint; prints "checkpoint at seq S signed by key K". Exits 0, or 2 / 3 as above.
//   fhirhub audit export [--database-url URL | --data-dir DIR] [--patient ID] [--since DATE]
//     [--until DATE]
//     Prints the AuditEvents (of one patient; recorded from --since, before --until) as NDJSON,
//     one resource per line in the log's order, for regulators. Exits 0, or 2 / 3 as above.
//   fhirhub audit seal-sql [--role ROLE]
//     Prints the SQL that hands the audit schema to the role fhirhub_audit and leaves the server's
//     role (default fhirhub) only reading, appending and the retention function, for the operator
//     of an external database to run as a superuser (docs/storage.md). Exits 0, or 2.
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "server/audit/audit_checkpoint.h"
#include "server/audit/audit_verify.h"
#include "server/main/command_line.h"
#include "server/main/database.h"
#include "server/rest/audit_handler.h"
#include "server/search/criteria.h"
#include "server/security/keys.h"
#include "server/store/pg/pg_audit_log.h"
#include "server/store/store.h"

namespace server::main {
namespace {

constexpr const char* kUsage =
    "usage: fhirhub audit verify [--database-url URL | --data-dir DIR] [--public-key PEM_FILE]\n"
    "       fhirhub audit checkpoint --private-key PEM_FILE [--database-url URL | --data-dir "
    "DIR]\n"
    "       fhirhub audit export [--database-url URL | --data-dir DIR] [--patient ID] "
    "[--since DATE] [--until DATE]\n"
    "       fhirhub audit seal-sql [--role ROLE]\n";

int Fail(const std::string& text) {
  std::fprintf(stderr, "fhirhub audit: %s\n", text.c_str());
  return 3;
}

int Finish(Database& db, int code) { return CloseDatabase(db, code, Fail); }

std::unique_ptr<store::pg::PgAuditLog> OpenLog(const Database& db) {
  return std::make_unique<store::pg::PgAuditLog>(
      store::pg::PgAuditLogOptions{.pool = {db.conninfo, 1, std::chrono::milliseconds(5000)}});
}

int Verify(const CommandLine& cl) {
  std::optional<audit::SignatureCheck> check;
  if (auto path = cl.Get("public-key")) {
    auto pem = ReadFileText(*path);
    if (!pem) return Fail("cannot read " + *path);
    auto key = security::PublicKey::FromPem(*pem);
    if (!key.ok()) return Fail(*path + ": " + key.error().text());
    check = audit::CheckpointSignatureCheck(std::move(*key));
  }
  auto db = OpenDatabase(cl);
  if (!db.ok()) return Fail(db.error().text());
  auto log = OpenLog(*db);
  auto report = audit::VerifyAuditLog(*log, check ? *check : audit::SignatureCheck(),
                                      store::SystemClock().Now());
  if (!report.ok()) return Finish(*db, Fail(report.error().text()));
  if (report->intact()) {
    const std::string retained = report->first_seq > 1
                                     ? " from seq " + std::to_string(report->first_seq) +
                                           " (older ones removed by retention)"
                                     : "";
    std::printf("audit log intact: %lld record%s%s, %lld checkpoint%s\n",
                static_cast<long long>(report->entries), report->entries == 1 ? "" : "s",
                retained.c_str(), static_cast<long long>(report->checkpoints),
                report->checkpoints == 1 ? "" : "s");
    return Finish(*db, 0);
  }
  std::printf("audit log broken at seq %lld (%s): %s\n",
              static_cast<long long>(report->broken->seq),
              std::string(audit::BreakKindName(report->broken->kind)).c_str(),
              report->broken->text.c_str());
  return Finish(*db, 1);
}

int Checkpoint(const CommandLine& cl) {
  auto path = cl.Get("private-key");
  if (!path) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  auto pem = ReadFileText(*path);
  if (!pem) return Fail("cannot read " + *path);
  auto key = security::PrivateKey::FromPem(*pem);
  if (!key.ok()) return Fail(*path + ": " + key.error().text());
  auto db = OpenDatabase(cl);
  if (!db.ok()) return Fail(db.error().text());
  auto log = OpenLog(*db);
  const auto now =
      std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  auto checkpoint = audit::WriteCheckpoint(*log, *key, now);
  if (!checkpoint.ok()) return Finish(*db, Fail(checkpoint.error().text()));
  std::printf("checkpoint at seq %lld signed by key %s\n", static_cast<long long>(checkpoint->seq),
              checkpoint->key_id.c_str());
  return Finish(*db, 0);
}

int Export(const CommandLine& cl) {
  store::AuditQuery query;
  query.count = 1000;
  if (auto patient = cl.Get("patient")) query.patient = *patient;
  if (auto since = cl.Get("since")) {
    auto range = search::ParseTimeRange(*since, "--since");
    if (!range.ok()) return Fail(range.error().text());
    query.recorded_from = range->begin;
  }
  if (auto until = cl.Get("until")) {
    auto range = search::ParseTimeRange(*until, "--until");
    if (!range.ok()) return Fail(range.error().text());
    query.recorded_to = range->begin;
  }
  auto db = OpenDatabase(cl);
  if (!db.ok()) return Fail(db.error().text());
  auto log = OpenLog(*db);
  for (;;) {
    auto page = log->Search(query);
    if (!page.ok()) return Finish(*db, Fail(page.error().text()));
    for (const store::AuditEntry& entry : *page) {
      const std::string line = rest::AuditEventWithId(entry);
      std::fwrite(line.data(), 1, line.size(), stdout);
      std::fputc('\n', stdout);
    }
    if (static_cast<int>(page->size()) < query.count) break;
    query.after_seq = page->back().seq;
  }
  std::fflush(stdout);
  return Finish(*db, 0);
}

}  // namespace

int RunAudit(const std::vector<std::string>& args) {
  auto cl = CommandLine::Parse(args, {},
                               {"database-url", "data-dir", "public-key", "private-key", "patient",
                                "since", "until", "role"});
  if (!cl.ok()) {
    std::fprintf(stderr, "fhirhub audit: %s\n", cl.error().text().c_str());
    return 2;
  }
  const std::vector<std::string>& positional = cl->positional();
  if (positional.size() == 1 && positional[0] == "verify" && !cl->Get("private-key")) {
    return Verify(*cl);
  }
  if (positional.size() == 1 && positional[0] == "checkpoint" && !cl->Get("public-key")) {
    return Checkpoint(*cl);
  }
  if (positional.size() == 1 && positional[0] == "export" && !cl->Get("public-key") &&
      !cl->Get("private-key")) {
    return Export(*cl);
  }
  if (positional.size() == 1 && positional[0] == "seal-sql") {
    const std::string role = cl->Get("role").value_or("fhirhub");
    if (role.empty() ||
        role.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) {
      std::fprintf(stderr, "fhirhub audit: --role must be lower-case letters, digits and '_'\n");
      return 2;
    }
    std::fputs(("BEGIN;\n" + store::pg::SealAuditTablesSql(role) + "COMMIT;\n").c_str(), stdout);
    return 0;
  }
  std::fputs(kUsage, stderr);
  return 2;
}

}  // namespace server::main
