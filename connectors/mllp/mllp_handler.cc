#include "connectors/mllp/mllp_handler.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <utility>
#include <vector>

#include "fhir/json/json.h"
#include "mappings/hl7v2/ack.h"

namespace connectors::mllp {
namespace {

namespace hl7 = mappings::hl7v2;

// HL7 table 0357 (message error condition codes).
constexpr std::string_view kRequiredFieldMissing = "101";
constexpr std::string_view kUnsupportedProcessingId = "202";
constexpr std::string_view kInternalError = "207";

// The faults of an error from the parser or the mapper, located in the message.
std::vector<hl7::AckError> MessageErrors(const fhir::Error& error) {
  return hl7::AckErrorsFor(error);
}

// The HL7 position of the Bundle entry a FHIRPath location is in ("Bundle.entry[2].request" is
// in entry 2), from the positions the mapping gave each entry; "" when the location is not in an
// entry.
std::string EntrySource(std::string_view expression, const std::vector<std::string>& sources) {
  constexpr std::string_view kEntry = "Bundle.entry[";
  if (!expression.starts_with(kEntry)) return {};
  expression.remove_prefix(kEntry.size());
  std::size_t index = 0;
  auto [end, ec] = std::from_chars(expression.data(), expression.data() + expression.size(), index);
  if (ec != std::errc() || end == expression.data() + expression.size() || *end != ']' ||
      index >= sources.size()) {
    return {};
  }
  return sources[index];
}

// The faults of an error about the mapped data or the server (the pipeline, the database): its
// locations are FHIRPath ones, which go into the text; ERR-2 names the position in the message
// of the Bundle entry a fault is in (`sources`, one per entry), and is empty for the others.
std::vector<hl7::AckError> ServerErrors(const fhir::Error& error,
                                        const std::vector<std::string>& sources = {}) {
  std::vector<hl7::AckError> errors;
  for (const fhir::Issue& issue : error.issues()) {
    if (issue.severity != fhir::Severity::kError && issue.severity != fhir::Severity::kFatal) {
      continue;
    }
    std::string text = issue.message_id + ": " + issue.text;
    if (!issue.expression.empty()) text += " (at " + issue.expression + ")";
    errors.push_back(
        {EntrySource(issue.expression, sources), std::string(kInternalError), std::move(text)});
  }
  if (errors.empty()) errors.push_back({"", std::string(kInternalError), error.message_id()});
  return errors;
}

// Errors HL7 answers with AR: the message is refused whatever its content.
bool Rejected(const fhir::Error& error) {
  return std::any_of(error.issues().begin(), error.issues().end(), [](const fhir::Issue& issue) {
    return issue.message_id == "hl7v2.unsupported-message-type" ||
           issue.message_id == "hl7v2.unsupported-event-code" ||
           issue.message_id == "hl7v2.unsupported-processing-id" ||
           issue.message_id == "hl7v2.unsupported-version-id";
  });
}

// Failures the sender should simply retry: nothing about the message is wrong.
bool Transient(const fhir::Error& error) {
  return error.http_status() >= 500 || error.http_status() == 409 || error.http_status() == 429;
}

std::vector<std::string> Reasons(const std::vector<hl7::AckError>& errors) {
  std::vector<std::string> reasons;
  for (const hl7::AckError& error : errors) {
    reasons.push_back(PrintableKey((error.location.empty() ? "" : error.location + ": ") +
                                   error.code + " " + error.text));
  }
  return reasons;
}

}  // namespace

std::string PrintableKey(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size());
  for (unsigned char c : bytes) {
    if (c >= 0x20 && c < 0x7F && c != '%') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

MllpHandler::MllpHandler(HandlerOptions options, MapToBundle map,
                         const fhir::model::Definitions& defs, const FhirSink& sink,
                         server::store::ConnectorLog& log, const server::store::Clock& clock)
    : options_(std::move(options)),
      map_(std::move(map)),
      defs_(defs),
      sink_(sink),
      log_(log),
      clock_(clock) {}

std::string MllpHandler::NextControlId() {
  const auto micros = clock_.Now().time_since_epoch().count();
  return "FH" + std::to_string(micros) + "." + std::to_string(next_id_.fetch_add(1));
}

std::string MllpHandler::Timestamp() const {
  const std::time_t seconds =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y%m%d%H%M%S+0000", &tm);
  return buffer;
}

std::string MllpHandler::Refuse(const std::string& raw, const hl7::Message* message,
                                std::string_view sender, std::string_view control_id,
                                std::string_view code, const std::vector<hl7::AckError>& errors) {
  server::store::DeadLetter letter;
  letter.connector = "mllp";
  letter.sender = std::string(sender);
  letter.control_id = std::string(control_id);
  letter.received = clock_.Now();
  letter.last_attempt = letter.received;
  letter.raw = raw;
  letter.reasons = Reasons(errors);
  auto added = log_.AddDeadLetter(letter);
  const char* shown_id = letter.control_id.empty() ? "-" : letter.control_id.c_str();
  const char* shown_sender = letter.sender.empty() ? "-" : letter.sender.c_str();
  if (added.ok()) {
    std::fprintf(stderr, "fhirhub: MLLP message %s from %s answered %s: dead letter %lld (%s)\n",
                 shown_id, shown_sender, std::string(code).c_str(), static_cast<long long>(*added),
                 errors.front().code.c_str());
  } else {
    // Without its dead letter the message must not be lost: the sender keeps it and retries.
    std::fprintf(stderr,
                 "fhirhub: MLLP message %s from %s could not be dead-lettered (%s); answered AE\n",
                 shown_id, shown_sender, added.error().message_id().c_str());
    code = "AE";
  }
  if (message != nullptr) return Ack(*message, code, errors);
  return hl7::BuildRejection(raw, code, errors.front(), NextControlId(), Timestamp());
}

std::string MllpHandler::Ack(const hl7::Message& message, std::string_view code,
                             const std::vector<hl7::AckError>& errors) {
  std::string ack = hl7::BuildAck(message, code, errors, NextControlId(), Timestamp());
  auto encoded = hl7::EncodeText(ack, message.charset());
  // What cannot be written in the sender's character set goes as UTF-8 rather than not at all.
  return encoded.ok() ? std::move(encoded).value() : ack;
}

fhir::Result<server::rest::FhirResponse> MllpHandler::SendLimited(
    const server::rest::Principal& principal, server::rest::FhirRequest request) {
  {
    std::unique_lock lock(transactions_mutex_);
    transaction_done_.wait(
        lock, [this] { return transactions_running_ < options_.max_concurrent_transactions; });
    ++transactions_running_;
  }
  auto response = sink_.Send(principal, std::move(request));
  {
    std::lock_guard lock(transactions_mutex_);
    --transactions_running_;
  }
  transaction_done_.notify_one();
  return response;
}

std::string MllpHandler::Handle(const FrameDecoder::Frame& frame, std::string_view peer_address) {
  switch (frame.kind) {
    case FrameDecoder::Kind::kMessage:
      return HandleMessage(frame.content, peer_address);
    case FrameDecoder::Kind::kTooLarge:
      return Refuse(frame.content, nullptr, "", "", "AR",
                    {{"", std::string(kInternalError),
                      "The message is larger than " + std::to_string(options_.max_message_bytes) +
                          " bytes; the dead letter keeps its beginning"}});
    case FrameDecoder::Kind::kBroken:
      return Refuse(frame.content, nullptr, "", "", "AR",
                    {{"", std::string(kInternalError),
                      "The frame was cut short: a new start block arrived before its end block"}});
    case FrameDecoder::Kind::kNone:
      break;
  }
  return {};
}

std::string MllpHandler::HandleMessage(const std::string& raw, std::string_view peer_address) {
  auto parsed = hl7::Parse(raw);
  if (!parsed.ok()) {
    return Refuse(raw, nullptr, "", "", Rejected(parsed.error()) ? "AR" : "AE",
                  MessageErrors(parsed.error()));
  }
  const hl7::Message& message = *parsed;
  const std::string sender = PrintableKey(message.Get("MSH-3") + "^" + message.Get("MSH-4"));
  const std::string control_id = PrintableKey(message.Get("MSH-10"));
  if (control_id.empty()) {
    return Refuse(
        raw, &message, sender, "", "AE",
        {{"MSH-10", std::string(kRequiredFieldMissing), "The message has no control id (MSH-10)"}});
  }
  const std::string processing_id = message.Get("MSH-11.1");
  if (!options_.processing_ids.contains(processing_id)) {
    return Refuse(raw, &message, sender, control_id, "AR",
                  {{"MSH-11", std::string(kUnsupportedProcessingId),
                    "Processing id '" + PrintableKey(processing_id) + "' is not accepted"}});
  }

  const server::store::MessageKey key{"mllp", sender, control_id};
  auto cached = log_.FindAck(key);
  if (!cached.ok()) {
    return Ack(message, "AE", ServerErrors(cached.error()));
  }
  if (cached->has_value()) return std::move(**cached);

  auto mapped = map_(message);
  if (!mapped.ok()) {
    return Refuse(raw, &message, sender, control_id, Rejected(mapped.error()) ? "AR" : "AE",
                  MessageErrors(mapped.error()));
  }
  const std::vector<std::string>& sources = mapped->entry_sources;
  auto bundle = fhir::json::Parse(mapped->bundle_json, defs_);
  if (!bundle.ok()) {
    return Refuse(raw, &message, sender, control_id, "AE", ServerErrors(bundle.error(), sources));
  }

  server::rest::Principal principal;
  principal.method = "mllp";
  principal.subject = "mllp:" + sender;
  principal.roles = {server::rest::Role::kConnector};
  principal.scope = options_.scope;
  server::rest::FhirRequest request;
  request.method = server::rest::Method::kPost;
  request.body = std::move(bundle).value();
  request.content_type = "application/fhir+json";
  request.peer_address = std::string(peer_address);
  auto response = SendLimited(principal, std::move(request));
  if (!response.ok()) {
    if (Transient(response.error())) {
      std::fprintf(stderr, "fhirhub: MLLP message %s from %s not stored (%s); answered AE\n",
                   control_id.c_str(), sender.c_str(), response.error().message_id().c_str());
      return Ack(message, "AE", ServerErrors(response.error(), sources));
    }
    return Refuse(raw, &message, sender, control_id, "AE", ServerErrors(response.error(), sources));
  }
  if (response->status >= 400) {
    // A transaction answers its failures as errors; any other answer of that kind is a fault.
    const fhir::Error error = fhir::Error::Internal(
        "connectors.mllp-sink", "The pipeline answered " + std::to_string(response->status));
    return Refuse(raw, &message, sender, control_id, "AE", ServerErrors(error));
  }

  std::string ack = Ack(message, "AA", {});
  auto recorded = log_.RecordAck(key, ack, clock_.Now());
  if (!recorded.ok()) {
    // The data is committed: answer AA. A copy sent again is mapped anew and, with its
    // deterministic ids, writes nothing twice.
    std::fprintf(stderr, "fhirhub: MLLP message %s from %s: acknowledgement not recorded (%s)\n",
                 control_id.c_str(), sender.c_str(), recorded.error().message_id().c_str());
    return ack;
  }
  return std::move(recorded).value();
}

}  // namespace connectors::mllp
