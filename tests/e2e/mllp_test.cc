// End-to-end: HL7 v2 over MLLP into the real server. Messages sent with the MLLP client are
// acknowledged after their data is committed and read back through FHIR search; a copy of a
// message gets the same acknowledgement and writes nothing; what cannot be processed is answered
// AE or AR and kept as a dead letter, listed and replayed by `fhirhub connectors`; and a server
// killed with SIGKILL while senders stream messages keeps every acknowledged message, none twice.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "connectors/mllp/mllp_client.h"
#include "connectors/mllp/mllp_frame.h"
#include "mappings/hl7v2/er7.h"
#include "tests/support/http_client.h"
#include "tests/support/mllp_messages.h"
#include "tests/support/server_process.h"
#include "tests/support/test_definitions.h"

namespace {

using connectors::mllp::MllpClient;
using testing_support::AckCode;
using testing_support::Adt;
using testing_support::Answer;
using testing_support::Call;
using testing_support::Count;
using testing_support::ServerProcess;
using namespace std::chrono_literals;

// An ORU^R01 with `observations` OBX segments; its DiagnosticReport is identified by `order`
// (OBR-3, the filler order number) and its Observations by "<order>-<OBX ordinal>".
std::string Oru(const std::string& control_id, const std::string& patient, const std::string& order,
                int observations = 10) {
  std::string message = "MSH|^~\\&|LAB|HOSP|FHIRHUB|CENTER|20240102030405||ORU^R01^ORU_R01|" +
                        control_id +
                        "|P|2.5.1\r"
                        "PID|1||" +
                        patient +
                        "^^^HOSP^MR||Zhang^San||19491231|F\r"
                        "OBR|1|P" +
                        order + "^HIS|" + order + "^LAB|24331-1^Lipid panel^LN|||20240102030000\r";
  for (int i = 1; i <= observations; ++i) {
    message += "OBX|" + std::to_string(i) + "|NM|8867-4^Heart rate^LN||" + std::to_string(60 + i) +
               "|/min^^UCUM|||||F|||20240102030000\r";
  }
  return message;
}

std::string ServerArgsPackage() { return testing_support::PackageDir().string(); }

std::vector<std::string> ServerArgs(std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {
      "--fhir-package", ServerArgsPackage(),
      "--mllp-port",    "0",
      "--mappings",     std::string(FHIRHUB_SOURCE_DIR) + "/mappings/hl7v2/conceptmaps"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::unique_ptr<MllpClient> Connect(int port) {
  auto client = MllpClient::Connect("127.0.0.1", static_cast<std::uint16_t>(port), 30s);
  EXPECT_TRUE(client.ok()) << client.error().text();
  return client.ok() ? std::move(client).value() : nullptr;
}

std::string Exchange(MllpClient& client, const std::string& message) {
  auto ack = client.Exchange(message);
  EXPECT_TRUE(ack.ok()) << ack.error().text();
  return ack.ok() ? *ack : "";
}

std::string Fhirhub(const std::string& args, int* status) {
  std::string output;
  *status = testing_support::RunCommand(std::string(FHIRHUB_BINARY) + " " + args, output);
  return output;
}

TEST(MllpTest, StoresAcknowledgedMessagesAndAnswersCopiesTheSame) {
  ServerProcess server(FHIRHUB_BINARY, ServerArgs());
  ASSERT_TRUE(server.ok());
  ASSERT_NE(server.mllp_port(), 0);
  auto client = Connect(server.mllp_port());
  ASSERT_NE(client, nullptr);

  const std::string adt = Exchange(*client, Adt("ADT-1", "PAT-1"));
  EXPECT_EQ(AckCode(adt), "AA") << adt;
  EXPECT_EQ(Count(server.port(), "Patient?identifier=PAT-1"), 1);

  const std::string oru = Exchange(*client, Oru("ORU-1", "PAT-1", "ORD-1"));
  EXPECT_EQ(AckCode(oru), "AA") << oru;
  auto parsed = mappings::hl7v2::Parse(oru);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->Get("MSA-2"), "ORU-1");
  EXPECT_EQ(Count(server.port(), "DiagnosticReport?identifier=ORD-1"), 1);
  EXPECT_EQ(Count(server.port(), "Observation?identifier=ORD-1-1"), 1);
  EXPECT_EQ(Count(server.port(), "Observation?identifier=ORD-1-10"), 1);
  EXPECT_EQ(Count(server.port(), "Observation?subject:Patient.identifier=PAT-1"), 10);
  EXPECT_EQ(Count(server.port(), "Patient?identifier=PAT-1"), 1);

  // The same message again, on another connection: the same acknowledgement, byte for byte,
  // and no second copy of anything.
  auto other = Connect(server.mllp_port());
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(Exchange(*other, Oru("ORU-1", "PAT-1", "ORD-1")), oru);
  EXPECT_EQ(Exchange(*other, Adt("ADT-1", "PAT-1")), adt);
  EXPECT_EQ(Count(server.port(), "Observation?subject:Patient.identifier=PAT-1"), 10);
  EXPECT_EQ(Count(server.port(), "DiagnosticReport?identifier=ORD-1"), 1);
  EXPECT_EQ(Count(server.port(), "Patient?identifier=PAT-1"), 1);

  // `fhirhub hl7 send` reads files and exits 0 only when every message was accepted.
  const std::filesystem::path file = server.data_dir() + "/oru.hl7";
  {
    std::string text = Oru("ORU-2", "PAT-1", "ORD-2", 2);
    for (char& c : text) c = c == '\r' ? '\n' : c;
    FILE* out = std::fopen(file.c_str(), "w");
    ASSERT_NE(out, nullptr);
    std::fwrite(text.data(), 1, text.size(), out);
    std::fclose(out);
  }
  const std::string port = std::to_string(server.mllp_port());
  int status = -1;
  std::string printed =
      Fhirhub("hl7 send --host 127.0.0.1 --port " + port + " " + file.string(), &status);
  EXPECT_EQ(status, 0) << printed;
  EXPECT_NE(printed.find("#1: AA"), std::string::npos) << printed;
  EXPECT_NE(printed.find("MSA|AA|ORU-2"), std::string::npos) << printed;
  EXPECT_EQ(Count(server.port(), "DiagnosticReport?identifier=ORD-2"), 1);
}

// An ADT^A04 registering `patient` (PID-3 with assigning authority HOSP) with a phone number.
std::string Register(const std::string& control_id, const std::string& patient,
                     const std::string& name) {
  return "MSH|^~\\&|HIS|HOSP|FHIRHUB|CENTER|20240102030405||ADT^A04^ADT_A01|" + control_id +
         "|P|2.5.1\r"
         "EVN|A04|20240102030405\r"
         "PID|1||" +
         patient + "^^^HOSP^MR||" + name + "||19491231|F|||||^PRN^PH^^^10^12345678\r";
}

// An ADT^A40 merging `merged` (MRG-1) into `survivor` (PID-3).
std::string Merge(const std::string& control_id, const std::string& survivor,
                  const std::string& merged) {
  return "MSH|^~\\&|HIS|HOSP|FHIRHUB|CENTER|20240102040000||ADT^A40^ADT_A39|" + control_id +
         "|P|2.5.1\r"
         "EVN|A40|20240102040000\r"
         "PID|1||" +
         survivor + "^^^HOSP^MR||Zhang^San||19491231|F\r" + "MRG|" + merged + "^^^HOSP^MR\r";
}

// The one Patient with identifier `patient`, as stored; an object without members when there
// is not exactly one.
rapidjson::Document ReadPatient(int port, const std::string& patient) {
  rapidjson::Document bundle;
  const Answer answer = Call(port, "GET", "/fhir/Patient?identifier=" + patient);
  bundle.Parse(answer.body.c_str());
  rapidjson::Document out(rapidjson::kObjectType);
  if (answer.status != 200 || bundle.HasParseError() || !bundle.HasMember("entry") ||
      bundle["entry"].Size() != 1) {
    ADD_FAILURE() << patient << ": " << answer.status << " " << answer.body;
    return out;
  }
  out.CopyFrom(bundle["entry"][0]["resource"], out.GetAllocator());
  return out;
}

// "type -> reference" of each Patient.link.
std::vector<std::string> Links(const rapidjson::Value& patient) {
  std::vector<std::string> out;
  if (!patient.HasMember("link")) return out;
  for (const auto& link : patient["link"].GetArray()) {
    out.push_back(std::string(link["type"].GetString()) + " -> " +
                  link["other"]["reference"].GetString());
  }
  return out;
}

bool Active(const rapidjson::Value& patient) {
  return patient.HasMember("active") && patient["active"].GetBool();
}

TEST(MllpTest, AMergeLinksBothPatientsAndKeepsTheMergedOnesData) {
  ServerProcess server(FHIRHUB_BINARY, ServerArgs());
  ASSERT_TRUE(server.ok());
  auto client = Connect(server.mllp_port());
  ASSERT_NE(client, nullptr);
  ASSERT_EQ(AckCode(Exchange(*client, Register("REG-1", "KEEP-1", "Zhang^San"))), "AA");
  ASSERT_EQ(AckCode(Exchange(*client, Register("REG-2", "DUP-1", "Zhang^Shan"))), "AA");
  const std::string survivor_id = ReadPatient(server.port(), "KEEP-1")["id"].GetString();
  const std::string merged_id = ReadPatient(server.port(), "DUP-1")["id"].GetString();

  // A merge of a patient the server has never seen is refused whole: nothing is written.
  const std::string unknown = Exchange(*client, Merge("MRG-0", "KEEP-1", "NEVER-1"));
  EXPECT_EQ(AckCode(unknown), "AE") << unknown;
  EXPECT_NE(unknown.find("rest.no-match"), std::string::npos) << unknown;
  // ERR-2 names where the unknown patient is in the message: MRG-1 (segment ^ sequence ^ field).
  auto refused = mappings::hl7v2::Parse(unknown);
  ASSERT_TRUE(refused.ok()) << unknown;
  EXPECT_EQ(refused->Get("ERR-2"), "MRG") << unknown;
  EXPECT_EQ(refused->Get("ERR-2.3"), "1") << unknown;
  EXPECT_TRUE(Links(ReadPatient(server.port(), "KEEP-1")).empty());
  // An unknown survivor is named at PID-3.
  auto no_survivor = mappings::hl7v2::Parse(Exchange(*client, Merge("MRG-0b", "NEVER-2", "DUP-1")));
  ASSERT_TRUE(no_survivor.ok());
  EXPECT_EQ(no_survivor->Get("MSA-1"), "AE");
  EXPECT_EQ(no_survivor->Get("ERR-2"), "PID");
  EXPECT_EQ(no_survivor->Get("ERR-2.3"), "3");
  EXPECT_TRUE(Active(ReadPatient(server.port(), "DUP-1")));

  const std::string ack = Exchange(*client, Merge("MRG-1", "KEEP-1", "DUP-1"));
  ASSERT_EQ(AckCode(ack), "AA") << ack;
  // Both patched, neither replaced: what the A04s stored is still there.
  const rapidjson::Document survivor = ReadPatient(server.port(), "KEEP-1");
  EXPECT_TRUE(Active(survivor));
  EXPECT_STREQ(survivor["telecom"][0]["value"].GetString(), "(10) 12345678");
  EXPECT_EQ(Links(survivor), std::vector<std::string>{"replaces -> Patient/" + merged_id});
  const rapidjson::Document merged = ReadPatient(server.port(), "DUP-1");
  EXPECT_FALSE(Active(merged));
  EXPECT_EQ(Links(merged), std::vector<std::string>{"replaced-by -> Patient/" + survivor_id});
  EXPECT_STREQ(merged["name"][0]["given"][0].GetString(), "Shan");
  EXPECT_STREQ(merged["telecom"][0]["value"].GetString(), "(10) 12345678");
  // Sent again (a lost ACK): still one link each way.
  EXPECT_EQ(AckCode(Exchange(*client, Merge("MRG-1b", "KEEP-1", "DUP-1"))), "AA");
  EXPECT_EQ(Links(ReadPatient(server.port(), "DUP-1")).size(), 1u);
  EXPECT_EQ(Links(ReadPatient(server.port(), "KEEP-1")).size(), 1u);
  // A second duplicate merged later: the survivor keeps the link of the first merge.
  ASSERT_EQ(AckCode(Exchange(*client, Register("REG-3", "DUP-2", "Zhang^San"))), "AA");
  EXPECT_EQ(AckCode(Exchange(*client, Merge("MRG-2", "KEEP-1", "DUP-2"))), "AA");
  EXPECT_EQ(Links(ReadPatient(server.port(), "KEEP-1")).size(), 2u);
}

TEST(MllpTest, RefusesWhatItCannotProcessAndKeepsItAsADeadLetter) {
  ServerProcess server(FHIRHUB_BINARY, ServerArgs());
  ASSERT_TRUE(server.ok());
  auto client = Connect(server.mllp_port());
  ASSERT_NE(client, nullptr);

  // Not HL7 at all.
  EXPECT_EQ(AckCode(Exchange(*client, "hello\r")), "AE");
  // A message type that is not mapped: AR, with the location MSH-9.
  const std::string unsupported = Exchange(
      *client, "MSH|^~\\&|HIS|HOSP|||20240102||QRY^A19|Q-1|P|2.5.1\rQRD|20240102|R|I|Q-1\r");
  EXPECT_EQ(AckCode(unsupported), "AR") << unsupported;
  EXPECT_NE(unsupported.find("ERR|"), std::string::npos) << unsupported;
  EXPECT_NE(unsupported.find("MSH^1^9"), std::string::npos) << unsupported;
  // An ORU whose OBR has no service identifier cannot be mapped: AE at OBR-4.
  std::string no_service = Oru("ORU-BAD", "PAT-2", "ORD-BAD", 1);
  no_service.replace(no_service.find("24331-1^Lipid panel^LN"), 22, "");
  const std::string unmappable = Exchange(*client, no_service);
  EXPECT_EQ(AckCode(unmappable), "AE") << unmappable;
  EXPECT_NE(unmappable.find("OBR^1^4"), std::string::npos) << unmappable;
  // A frame cut short by the next one: AR for it, the next one still served.
  ASSERT_TRUE(client->SendRaw("\x0bMSH|^~\\&|HIS|HOSP|||2024").ok());
  ASSERT_TRUE(client->SendRaw(connectors::mllp::Frame(Adt("ADT-OK", "PAT-2"))).ok());
  auto broken = client->Receive();
  auto after = client->Receive();
  ASSERT_TRUE(broken.ok() && after.ok());
  EXPECT_EQ(AckCode(*broken), "AR") << *broken;
  EXPECT_EQ(AckCode(*after), "AA") << *after;
  EXPECT_EQ(Count(server.port(), "Patient?identifier=PAT-2"), 1);
  EXPECT_EQ(Count(server.port(), "DiagnosticReport?identifier=ORD-BAD"), 0);

  // Beside the running server, the four dead letters are listed, without the messages.
  int status = -1;
  const std::string listed =
      Fhirhub("connectors dead-letters --data-dir " + server.data_dir(), &status);
  EXPECT_EQ(status, 0) << listed;
  EXPECT_EQ(std::count(listed.begin(), listed.end(), '\n'), 4) << listed;
  EXPECT_NE(listed.find("ORU-BAD"), std::string::npos) << listed;
  EXPECT_NE(listed.find("OBR-4"), std::string::npos) << listed;
  EXPECT_EQ(listed.find("Zhang"), std::string::npos) << listed;
  // A copy of the unmappable message is the same dead letter, tried twice.
  EXPECT_EQ(AckCode(Exchange(*client, no_service)), "AE");
  const std::string again =
      Fhirhub("connectors dead-letters --data-dir " + server.data_dir(), &status);
  EXPECT_EQ(std::count(again.begin(), again.end(), '\n'), 4) << again;
  EXPECT_NE(again.find("\t2\tLAB^HOSP\tORU-BAD"), std::string::npos) << again;
}

TEST(MllpTest, ReplaysDeadLettersAfterAFix) {
  char dir[] = "/tmp/fhirhub-mllp-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string message = Oru("ORU-R", "PAT-3", "ORD-R", 3);
  {
    // The connector may only write Patients: the ORU's results are refused by the pipeline.
    auto server = ServerProcess::OnDataDir(FHIRHUB_BINARY, dir,
                                           ServerArgs({"--mllp-scope", "system/Patient.cruds"}));
    ASSERT_TRUE(server->ok());
    auto client = Connect(server->mllp_port());
    ASSERT_NE(client, nullptr);
    EXPECT_EQ(AckCode(Exchange(*client, message)), "AE");
    EXPECT_EQ(Count(server->port(), "DiagnosticReport?identifier=ORD-R"), 0);
    server->Stop();
  }
  // The fix: the connector's scope as it should be. Replay sends the dead letter again.
  auto server = ServerProcess::OnDataDir(FHIRHUB_BINARY, dir, ServerArgs());
  ASSERT_TRUE(server->ok());
  int status = -1;
  const std::string listed =
      Fhirhub("connectors dead-letters --data-dir " + std::string(dir), &status);
  EXPECT_EQ(std::count(listed.begin(), listed.end(), '\n'), 1) << listed;
  const std::string replayed =
      Fhirhub("connectors replay --data-dir " + std::string(dir) + " --host 127.0.0.1 --port " +
                  std::to_string(server->mllp_port()),
              &status);
  EXPECT_EQ(status, 0) << replayed;
  EXPECT_NE(replayed.find("AA\treplayed"), std::string::npos) << replayed;
  EXPECT_EQ(Count(server->port(), "DiagnosticReport?identifier=ORD-R"), 1);
  EXPECT_EQ(Count(server->port(), "Observation?subject:Patient.identifier=PAT-3"), 3);
  const std::string open =
      Fhirhub("connectors dead-letters --data-dir " + std::string(dir), &status);
  EXPECT_EQ(open, "no dead letters\n");
  const std::string all =
      Fhirhub("connectors dead-letters --all --data-dir " + std::string(dir), &status);
  EXPECT_NE(all.find("\treplayed\t"), std::string::npos) << all;
  server->Stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

// Four senders stream ORU messages (each its own patient, one message after the other) and the
// server is killed with SIGKILL after a random number of acknowledgements. After a restart on
// the same data, every acknowledged message's report and observations are there once, and every
// message sent again gets the same acknowledgement (or, if it was never acknowledged, is
// processed now) without a second copy.
TEST(MllpTest, AKilledServerKeepsEveryAcknowledgedMessageOnce) {
  constexpr int kSenders = 4;
  constexpr int kObservations = 3;
  char dir[] = "/tmp/fhirhub-mllp-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  auto server = ServerProcess::OnDataDir(FHIRHUB_BINARY, dir, ServerArgs());
  ASSERT_TRUE(server->ok());
  const unsigned seed = std::random_device{}();
  std::printf("random seed %u\n", seed);
  std::mt19937 random(seed);
  const int threshold = std::uniform_int_distribution<int>(20, 60)(random);
  std::printf("kill after %d acknowledged messages\n", threshold);

  struct Sent {
    std::string message;
    std::string order;
    std::string ack;  // empty: not acknowledged
  };
  std::mutex mutex;
  std::condition_variable progress;
  std::vector<Sent> sent;  // guarded by mutex
  int acknowledged = 0;    // guarded by mutex
  int finished = 0;        // senders that stopped; guarded by mutex
  std::atomic<bool> stop{false};
  std::vector<std::thread> senders;
  const int port = server->mllp_port();
  const auto Send = [&](int s) {
    auto client = MllpClient::Connect("127.0.0.1", static_cast<std::uint16_t>(port), 30s);
    if (!client.ok()) return;
    // Bounded: the kill comes long before.
    for (int k = 0; k < 2000 && !stop.load(); ++k) {
      const std::string id = std::to_string(s) + "-" + std::to_string(k);
      Sent item{Oru("K" + id, "PK" + std::to_string(s), "OK" + id, kObservations), "OK" + id, ""};
      auto ack = (*client)->Exchange(item.message);
      if (ack.ok() && AckCode(*ack) == "AA") item.ack = *ack;
      std::lock_guard lock(mutex);
      sent.push_back(item);
      if (!item.ack.empty()) ++acknowledged;
      progress.notify_all();
      if (!ack.ok()) return;
    }
  };
  for (int s = 0; s < kSenders; ++s) {
    senders.emplace_back([&, s] {
      Send(s);
      std::lock_guard lock(mutex);
      ++finished;
      progress.notify_all();
    });
  }

  {
    std::unique_lock lock(mutex);
    progress.wait(lock, [&] { return acknowledged >= threshold || finished == kSenders; });
  }
  server->Kill();
  stop.store(true);
  for (std::thread& sender : senders) sender.join();

  server = ServerProcess::OnDataDir(FHIRHUB_BINARY, dir, ServerArgs());
  ASSERT_TRUE(server->ok());
  int checked = 0;
  for (const Sent& item : sent) {
    const int reports = Count(server->port(), "DiagnosticReport?identifier=" + item.order);
    const int observations = Count(server->port(), "Observation?identifier=" + item.order + "-2");
    if (!item.ack.empty()) {
      EXPECT_EQ(reports, 1) << item.order;
      EXPECT_EQ(observations, 1) << item.order;
      ++checked;
    } else {
      EXPECT_LE(reports, 1) << item.order;
      EXPECT_LE(observations, 1) << item.order;
    }
  }
  EXPECT_GE(checked, threshold);
  // Everything again: acknowledged ones get their acknowledgement, the rest are processed now.
  auto client = Connect(server->mllp_port());
  ASSERT_NE(client, nullptr);
  for (const Sent& item : sent) {
    const std::string ack = Exchange(*client, item.message);
    if (!item.ack.empty()) {
      EXPECT_EQ(ack, item.ack) << item.order;
    } else {
      EXPECT_EQ(AckCode(ack), "AA") << item.order;
    }
  }
  for (int s = 0; s < kSenders; ++s) {
    EXPECT_EQ(Count(server->port(), "Patient?identifier=PK" + std::to_string(s)), 1);
  }
  const int total_reports = Count(server->port(), "DiagnosticReport?status=final");
  EXPECT_EQ(total_reports, static_cast<int>(sent.size()));
  server->Stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

}  // namespace
