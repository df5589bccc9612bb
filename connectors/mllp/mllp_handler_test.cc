// MllpHandler with a fake mapping, sink and connector log: which answer each kind of message
// gets, what is cached, what is dead-lettered, and that data is sent before AA.
#include "connectors/mllp/mllp_handler.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "tests/support/test_definitions.h"

namespace connectors::mllp {
namespace {

namespace hl7 = mappings::hl7v2;
using server::store::DeadLetter;
using server::store::MessageKey;
using server::store::Timestamp;

std::string Message(std::string_view control_id, std::string_view type = "ADT^A01",
                    std::string_view processing_id = "P") {
  return "MSH|^~\\&|HIS|HOSP|FHIRHUB|CENTER|20240102030405||" + std::string(type) + "|" +
         std::string(control_id) + "|" + std::string(processing_id) +
         "|2.5.1\rPID|1||123^^^HOSP^MR||Zhang^San\r";
}

class FakeLog : public server::store::ConnectorLog {
 public:
  fhir::Result<std::optional<std::string>> FindAck(const MessageKey& key) override {
    std::lock_guard lock(mutex_);
    if (down) return fhir::Error::Unavailable("store.unavailable", "down");
    auto found = acks_.find(Key(key));
    if (found == acks_.end()) return std::optional<std::string>();
    return std::optional<std::string>(found->second);
  }
  fhir::Result<std::string> RecordAck(const MessageKey& key, const std::string& ack,
                                      Timestamp) override {
    std::lock_guard lock(mutex_);
    return acks_.emplace(Key(key), ack).first->second;
  }
  fhir::Result<std::int64_t> AddDeadLetter(const DeadLetter& letter) override {
    std::lock_guard lock(mutex_);
    letters.push_back(letter);
    return static_cast<std::int64_t>(letters.size());
  }
  fhir::Result<std::vector<DeadLetter>> DeadLetters(
      const server::store::DeadLetterQuery&) override {
    std::lock_guard lock(mutex_);
    return letters;
  }
  fhir::Result<void> MarkReplayed(std::int64_t, Timestamp) override { return {}; }

  std::size_t ack_count() {
    std::lock_guard lock(mutex_);
    return acks_.size();
  }

  bool down = false;
  std::vector<DeadLetter> letters;

 private:
  static std::string Key(const MessageKey& key) {
    return key.connector + "|" + key.sender + "|" + key.control_id;
  }
  std::mutex mutex_;
  std::map<std::string, std::string> acks_;
};

class FakeSink : public FhirSink {
 public:
  fhir::Result<server::rest::FhirResponse> Send(const server::rest::Principal& principal,
                                                server::rest::FhirRequest request) const override {
    std::lock_guard lock(mutex_);
    principals.push_back(principal);
    requests.push_back(std::move(request));
    if (failure) return *failure;
    return server::rest::FhirResponse{};
  }

  mutable std::mutex mutex_;
  mutable std::vector<server::rest::Principal> principals;
  mutable std::vector<server::rest::FhirRequest> requests;
  std::optional<fhir::Error> failure;
};

class FixedClock : public server::store::Clock {
 public:
  Timestamp Now() const override { return Timestamp(std::chrono::seconds(1'795'341'600)); }
};

constexpr std::string_view kBundle =
    R"({"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":)"
    R"("Patient","id":"p1"},"request":{"method":"PUT","url":"Patient/p1"}},)"
    R"({"resource":{"resourceType":"Patient","id":"p2"},)"
    R"("request":{"method":"PUT","url":"Patient/p2"}}]})";

// Maps ADT messages to two entries, from PID-3 and MRG-1; a PID without a name is an error at
// PID-5, a ZZZ message is unsupported.
fhir::Result<hl7::Mapped> FakeMap(const hl7::Message& message) {
  if (message.Get("MSH-9") == "ZZZ") {
    return fhir::Error::Unprocessable("hl7v2.unsupported-message-type", "ZZZ is not mapped",
                                      "MSH-9");
  }
  if (message.Get("PID-5").empty()) {
    return fhir::Error::Unprocessable("hl7v2.required-field-missing", "no name", "PID-5");
  }
  return hl7::Mapped{.bundle_json = std::string(kBundle),
                     .warnings = {},
                     .entry_sources = {"PID-3[1].1", "MRG-1[2].1"}};
}

class MllpHandlerTest : public ::testing::Test {
 protected:
  MllpHandlerTest() : handler_({}, FakeMap, testing_support::Definitions(), sink_, log_, clock_) {}

  hl7::Message Answer(std::string_view raw,
                      FrameDecoder::Kind kind = FrameDecoder::Kind::kMessage) {
    last_ = handler_.Handle({kind, std::string(raw)}, "10.1.2.3");
    auto parsed = hl7::Parse(last_);
    EXPECT_TRUE(parsed.ok()) << last_;
    return parsed.ok() ? std::move(*parsed) : *hl7::Parse("MSH|^~\\&|\r");
  }

  FakeLog log_;
  FakeSink sink_;
  FixedClock clock_;
  MllpHandler handler_;
  std::string last_;
};

TEST_F(MllpHandlerTest, AcceptsAfterSendingAndAnswersACopyTheSame) {
  hl7::Message ack = Answer(Message("M1"));
  EXPECT_EQ(ack.Get("MSA-1"), "AA");
  EXPECT_EQ(ack.Get("MSA-2"), "M1");
  EXPECT_EQ(ack.Get("MSH-9.1"), "ACK");
  ASSERT_EQ(sink_.requests.size(), 1u);
  const server::rest::FhirRequest& request = sink_.requests.front();
  EXPECT_EQ(request.method, server::rest::Method::kPost);
  EXPECT_EQ(request.path, "");
  EXPECT_EQ(request.peer_address, "10.1.2.3");
  ASSERT_TRUE(request.body.has_value());
  const server::rest::Principal& principal = sink_.principals.front();
  EXPECT_EQ(principal.method, "mllp");
  EXPECT_EQ(principal.subject, "mllp:HIS^HOSP");
  EXPECT_EQ(principal.scope, "system/*.cruds");
  EXPECT_EQ(principal.roles, std::vector{server::rest::Role::kConnector});

  const std::string first = last_;
  Answer(Message("M1"));
  EXPECT_EQ(last_, first);
  EXPECT_EQ(sink_.requests.size(), 1u);
  EXPECT_TRUE(log_.letters.empty());
}

TEST_F(MllpHandlerTest, AnUnmappableMessageIsDeadLetteredWithItsLocation) {
  const std::string raw = "MSH|^~\\&|HIS|HOSP|||20240102||ADT^A01|M2|P|2.5.1\rPID|1||123\r";
  hl7::Message ack = Answer(raw);
  EXPECT_EQ(ack.Get("MSA-1"), "AE");
  EXPECT_EQ(ack.Get("MSA-2"), "M2");
  EXPECT_EQ(ack.Get("ERR-2"), "PID");
  EXPECT_EQ(ack.Get("ERR-2.3"), "5");
  EXPECT_EQ(ack.Get("ERR-3"), "101");
  EXPECT_TRUE(sink_.requests.empty());
  ASSERT_EQ(log_.letters.size(), 1u);
  EXPECT_EQ(log_.letters[0].raw, raw);
  EXPECT_EQ(log_.letters[0].sender, "HIS^HOSP");
  EXPECT_EQ(log_.letters[0].control_id, "M2");
  ASSERT_EQ(log_.letters[0].reasons.size(), 1u);
  EXPECT_NE(log_.letters[0].reasons[0].find("PID-5"), std::string::npos);
  // Not cached: after a fix the same message is processed anew.
  EXPECT_EQ(log_.ack_count(), 0u);
}

TEST_F(MllpHandlerTest, RefusesUnsupportedTypesAndProcessingIds) {
  EXPECT_EQ(Answer(Message("M3", "ZZZ^Z01")).Get("MSA-1"), "AR");
  hl7::Message training = Answer(Message("M4", "ADT^A01", "X"));
  EXPECT_EQ(training.Get("MSA-1"), "AR");
  EXPECT_EQ(training.Get("ERR-3"), "202");
  EXPECT_TRUE(sink_.requests.empty());
  EXPECT_EQ(log_.letters.size(), 2u);
}

TEST_F(MllpHandlerTest, AnswersBytesThatDoNotParse) {
  hl7::Message ack = Answer("this is not HL7");
  EXPECT_EQ(ack.Get("MSA-1"), "AE");
  ASSERT_EQ(log_.letters.size(), 1u);
  EXPECT_EQ(log_.letters[0].raw, "this is not HL7");
  hl7::Message no_id = Answer(Message(""));
  EXPECT_EQ(no_id.Get("MSA-1"), "AE");
  EXPECT_EQ(no_id.Get("ERR-3"), "101");
}

TEST_F(MllpHandlerTest, RejectsTooLargeAndBrokenFrames) {
  EXPECT_EQ(Answer(Message("M5").substr(0, 40), FrameDecoder::Kind::kTooLarge).Get("MSA-1"), "AR");
  EXPECT_EQ(Answer("MSH|^~\\&|HIS", FrameDecoder::Kind::kBroken).Get("MSA-1"), "AR");
  EXPECT_EQ(log_.letters.size(), 2u);
  EXPECT_TRUE(sink_.requests.empty());
}

TEST_F(MllpHandlerTest, TransientFailuresAreNeitherCachedNorDeadLettered) {
  sink_.failure = fhir::Error::Unavailable("store.unavailable", "the database is down");
  EXPECT_EQ(Answer(Message("M6")).Get("MSA-1"), "AE");
  EXPECT_TRUE(log_.letters.empty());
  EXPECT_EQ(log_.ack_count(), 0u);
  sink_.failure.reset();
  EXPECT_EQ(Answer(Message("M6")).Get("MSA-1"), "AA");

  log_.down = true;
  EXPECT_EQ(Answer(Message("M7")).Get("MSA-1"), "AE");
  EXPECT_EQ(sink_.requests.size(), 2u);
  EXPECT_TRUE(log_.letters.empty());
}

TEST_F(MllpHandlerTest, DataThePipelineRefusesIsDeadLettered) {
  sink_.failure = fhir::Error::Forbidden("auth.scope", "the scope does not allow Patient writes");
  hl7::Message ack = Answer(Message("M8"));
  EXPECT_EQ(ack.Get("MSA-1"), "AE");
  EXPECT_EQ(ack.Get("ERR-3"), "207");
  ASSERT_EQ(log_.letters.size(), 1u);
  EXPECT_NE(log_.letters[0].reasons[0].find("auth.scope"), std::string::npos);
  EXPECT_EQ(log_.ack_count(), 0u);
}

// The server locates what it refuses in the Bundle; the ACK names the HL7 position of the entry.
TEST_F(MllpHandlerTest, ARefusedEntryIsLocatedWhereItWasMappedFrom) {
  sink_.failure =
      fhir::Error(404, std::vector<fhir::Issue>{{.type = fhir::IssueType::kNotFound,
                                                 .message_id = "rest.no-match",
                                                 .text = "No Patient matches the criteria",
                                                 .expression = "Bundle.entry[1].request"},
                                                {.type = fhir::IssueType::kInvalid,
                                                 .message_id = "rest.invalid",
                                                 .text = "not an entry's fault",
                                                 .expression = "Bundle.type"},
                                                {.type = fhir::IssueType::kInvalid,
                                                 .message_id = "rest.invalid",
                                                 .text = "an entry the Bundle does not have",
                                                 .expression = "Bundle.entry[7].resource"}});
  const std::string raw = Message("M9");
  Answer(raw);
  const hl7::Message ack = *hl7::Parse(last_);
  EXPECT_EQ(ack.Get("MSA-1"), "AE");
  // ERR-2 (ERL): segment ^ sequence ^ field ^ repetition ^ component.
  EXPECT_EQ(ack.Get("ERR-2"), "MRG") << last_;
  EXPECT_EQ(ack.Get("ERR-2.2"), "1");
  EXPECT_EQ(ack.Get("ERR-2.3"), "1");
  EXPECT_EQ(ack.Get("ERR-2.4"), "2");
  EXPECT_EQ(ack.Get("ERR-2.5"), "1");
  EXPECT_EQ(ack.Get("ERR-3"), "207");
  // The FHIRPath location stays in the text.
  EXPECT_NE(ack.Get("ERR-8").find("(at Bundle.entry[1].request)"), std::string::npos);
  // Faults outside the entries are not located in the message.
  EXPECT_EQ(ack.Get("ERR(2)-2"), "");
  EXPECT_EQ(ack.Get("ERR(3)-2"), "");
  EXPECT_NE(ack.Get("ERR(3)-8").find("Bundle.entry[7]"), std::string::npos);
  ASSERT_EQ(log_.letters.size(), 1u);
  EXPECT_TRUE(log_.letters[0].reasons[0].starts_with("MRG-1[2].1: 207 rest.no-match"))
      << log_.letters[0].reasons[0];

  // A transient failure of an entry is located the same way.
  sink_.failure = fhir::Error(409, fhir::Issue{.type = fhir::IssueType::kConflict,
                                               .message_id = "store.conflict",
                                               .text = "a concurrent write",
                                               .expression = "Bundle.entry[0].resource"});
  const hl7::Message retry = Answer(Message("M10"));
  EXPECT_EQ(retry.Get("MSA-1"), "AE");
  EXPECT_EQ(retry.Get("ERR-2"), "PID");
  EXPECT_EQ(retry.Get("ERR-2.3"), "3");
}

TEST(PrintableKey, EscapesWhatIsNotPrintableAscii) {
  EXPECT_EQ(PrintableKey("HIS^HOSP"), "HIS^HOSP");
  EXPECT_EQ(PrintableKey("a%b\r\xe5"), "a%25b%0D%E5");
}

}  // namespace
}  // namespace connectors::mllp
