// `fhirhub connectors`: the connectors' dead letters from the command line.
//
//   fhirhub connectors dead-letters [--all] [--id N] [--database-url URL | --data-dir DIR]
//     Lists the open dead letters (with --all the replayed ones too), one per line:
//     id, status, first failure, attempts, sender, control id, reasons. Messages themselves are
//     not printed (they hold patient data): --id N --raw prints the one message as received.
//   fhirhub connectors replay [--id N] --host H --port P [--timeout S]
//                             [--tls [--tls-ca PEM] [--tls-certificate PEM --tls-private-key PEM]]
//                             [--database-url URL | --data-dir DIR]
//     Sends the open dead letters (or the one) to the running MLLP listener again, in id order,
//     and marks those answered AA as replayed; prints one line per dead letter.
//   Without --database-url, both work beside a running server on --data-dir (its embedded
//   cluster's socket). Exit codes: 0 done (replay: every one answered AA), 1 replay: some were
//   not, 2 usage, 3 the database or the listener cannot be reached.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "connectors/mllp/mllp_client.h"
#include "server/main/command_line.h"
#include "server/main/database.h"
#include "server/main/mllp_tools.h"
#include "server/store/pg/pg_connector_log.h"

namespace server::main {
namespace {

constexpr const char* kUsage =
    "usage: fhirhub connectors dead-letters [--all] [--id N [--raw]] [--database-url URL | "
    "--data-dir DIR]\n"
    "       fhirhub connectors replay [--id N] --host H --port P [--timeout S]\n"
    "                                 [--tls [--tls-ca PEM] [--tls-certificate PEM "
    "--tls-private-key PEM]]\n"
    "                                 [--database-url URL | --data-dir DIR]\n";

int Fail(const std::string& text) {
  std::fprintf(stderr, "fhirhub connectors: %s\n", text.c_str());
  return 3;
}

int Finish(Database& db, int code) { return CloseDatabase(db, code, Fail); }

std::string Utc(store::Timestamp at) {
  const std::time_t seconds =
      std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

store::Timestamp Now() {
  return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

// Reads every dead letter `query` selects, page by page; false after reporting an error.
bool ForEachDeadLetter(store::ConnectorLog& log, store::DeadLetterQuery query,
                       const std::function<bool(const store::DeadLetter&)>& visit, int* code) {
  query.count = 500;
  for (;;) {
    auto page = log.DeadLetters(query);
    if (!page.ok()) {
      *code = Fail(page.error().text());
      return false;
    }
    for (const store::DeadLetter& letter : *page) {
      if (!visit(letter)) return false;
    }
    if (static_cast<int>(page->size()) < query.count) return true;
    query.after_id = page->back().id;
  }
}

fhir::Result<std::optional<std::int64_t>> ParseId(const CommandLine& cl) {
  auto id = cl.Get("id");
  if (!id) return std::optional<std::int64_t>();
  if (id->empty() || id->size() > 18 || id->find_first_not_of("0123456789") != std::string::npos) {
    return fhir::Error::Invalid("cli.usage", "--id must be a dead letter's number");
  }
  return std::optional<std::int64_t>(std::stoll(*id));
}

int List(const CommandLine& cl) {
  auto id = ParseId(cl);
  if (!id.ok() || (cl.Has("raw") && !*id)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  auto db = OpenDatabaseBesideServer(cl);
  if (!db.ok()) return Fail(db.error().text());
  store::pg::PgConnectorLog log({.pool = {db->conninfo, 1, std::chrono::milliseconds(5000)}});
  store::DeadLetterQuery query;
  query.id = *id;
  if (!cl.Has("all") && !*id) query.status = store::DeadLetterStatus::kOpen;
  int code = 0;
  int count = 0;
  const bool done = ForEachDeadLetter(
      log, query,
      [&](const store::DeadLetter& letter) {
        ++count;
        if (cl.Has("raw")) {
          std::fwrite(letter.raw.data(), 1, letter.raw.size(), stdout);
          return true;
        }
        std::string reasons;
        for (const std::string& reason : letter.reasons) {
          reasons += (reasons.empty() ? "" : "; ") + reason;
        }
        std::printf("%lld\t%s\t%s\t%d\t%s\t%s\t%s\n", static_cast<long long>(letter.id),
                    letter.status == store::DeadLetterStatus::kOpen ? "open" : "replayed",
                    Utc(letter.received).c_str(), letter.attempts,
                    letter.sender.empty() ? "-" : letter.sender.c_str(),
                    letter.control_id.empty() ? "-" : letter.control_id.c_str(), reasons.c_str());
        return true;
      },
      &code);
  if (!done) return Finish(*db, code);
  if (count == 0 && *id) return Finish(*db, Fail("no dead letter has id " + std::to_string(**id)));
  if (count == 0) std::fprintf(stderr, "no dead letters\n");
  std::fflush(stdout);
  return Finish(*db, 0);
}

int Replay(const CommandLine& cl) {
  auto id = ParseId(cl);
  auto target = ParseMllpTarget(cl);
  if (!id.ok() || !target.ok()) {
    if (!target.ok())
      std::fprintf(stderr, "fhirhub connectors: %s\n", target.error().text().c_str());
    std::fputs(kUsage, stderr);
    return 2;
  }
  auto db = OpenDatabaseBesideServer(cl);
  if (!db.ok()) return Fail(db.error().text());
  store::pg::PgConnectorLog log({.pool = {db->conninfo, 1, std::chrono::milliseconds(5000)}});
  auto client = connectors::mllp::MllpClient::Connect(target->host, target->port, target->timeout,
                                                      target->tls);
  if (!client.ok()) return Finish(*db, Fail(client.error().text()));

  // Read first, then send: the listener adds to the dead letters while this runs.
  std::vector<store::DeadLetter> letters;
  int code = 0;
  store::DeadLetterQuery query;
  query.id = *id;
  query.status = store::DeadLetterStatus::kOpen;
  if (!ForEachDeadLetter(
          log, query,
          [&](const store::DeadLetter& letter) {
            if (letter.connector == "mllp") letters.push_back(letter);
            return true;
          },
          &code)) {
    return Finish(*db, code);
  }
  if (letters.empty()) {
    std::fprintf(stderr, "no open dead letters to replay\n");
    return Finish(*db, *id ? 1 : 0);
  }
  bool all_accepted = true;
  for (const store::DeadLetter& letter : letters) {
    auto ack = (*client)->Exchange(letter.raw);
    if (!ack.ok()) return Finish(*db, Fail(ack.error().text()));
    const std::string answer = AckCode(*ack);
    if (answer != "AA") {
      all_accepted = false;
      std::printf("%lld\t%s\tstill failing\n", static_cast<long long>(letter.id),
                  answer.empty() ? "?" : answer.c_str());
      continue;
    }
    if (auto marked = log.MarkReplayed(letter.id, Now()); !marked.ok()) {
      return Finish(*db, Fail(marked.error().text()));
    }
    std::printf("%lld\tAA\treplayed\n", static_cast<long long>(letter.id));
  }
  std::fflush(stdout);
  return Finish(*db, all_accepted ? 0 : 1);
}

}  // namespace

int RunConnectors(const std::vector<std::string>& args) {
  std::set<std::string, std::less<>> flags = MllpTargetFlags();
  flags.insert({"all", "raw"});
  std::set<std::string, std::less<>> options = MllpTargetOptions();
  options.insert({"database-url", "data-dir", "id"});
  auto cl = CommandLine::Parse(args, flags, options);
  if (!cl.ok()) {
    std::fprintf(stderr, "fhirhub connectors: %s\n", cl.error().text().c_str());
    return 2;
  }
  const std::vector<std::string>& positional = cl->positional();
  if (positional.size() == 1 && positional[0] == "dead-letters") return List(*cl);
  if (positional.size() == 1 && positional[0] == "replay") return Replay(*cl);
  std::fputs(kUsage, stderr);
  return 2;
}

}  // namespace server::main
