#include "server/audit/audit_chain.h"

#include <string>
#include <utility>

namespace server::audit {
namespace {

void PutInt(std::string& out, std::int64_t value) {
  const auto bits = static_cast<std::uint64_t>(value);
  for (int shift = 56; shift >= 0; shift -= 8) {
    out += static_cast<char>((bits >> shift) & 0xff);
  }
}

void PutBytes(std::string& out, std::string_view bytes) {
  PutInt(out, static_cast<std::int64_t>(bytes.size()));
  out.append(bytes);
}

void PutList(std::string& out, const std::vector<std::string>& values) {
  PutInt(out, static_cast<std::int64_t>(values.size()));
  for (const std::string& value : values) PutBytes(out, value);
}

}  // namespace

std::string GenesisHash() { return std::string(kHashSize, '\0'); }

std::string CanonicalBytes(const store::AuditEntry& entry) {
  std::string out;
  out.reserve(entry.event.size() + entry.tenant.size() + 256);
  PutBytes(out, "fhirhub-audit-entry-1");
  PutInt(out, entry.seq);
  PutBytes(out, entry.tenant);
  PutInt(out, entry.recorded.time_since_epoch().count());
  PutBytes(out, std::string_view(&entry.action, 1));
  PutInt(out, entry.outcome);
  PutList(out, entry.patients);
  PutList(out, entry.agents);
  PutList(out, entry.entities);
  PutBytes(out, entry.event);
  return out;
}

std::string EntryHash(security::HashAlgorithm algorithm, std::string_view prev_hash,
                      const store::AuditEntry& entry) {
  std::string data(prev_hash);
  data += CanonicalBytes(entry);
  return security::Digest(algorithm, data);
}

void ChainEntries(security::HashAlgorithm algorithm, std::int64_t after_seq, std::string prev_hash,
                  std::vector<store::AuditEntry>& entries) {
  const std::string name(security::HashAlgorithmName(algorithm));
  for (store::AuditEntry& entry : entries) {
    entry.seq = ++after_seq;
    entry.hash_algorithm = name;
    entry.prev_hash = std::move(prev_hash);
    entry.hash = EntryHash(algorithm, entry.prev_hash, entry);
    prev_hash = entry.hash;
  }
}

std::string CheckpointMessage(const store::AuditCheckpoint& checkpoint) {
  std::string out;
  PutBytes(out, "fhirhub-audit-checkpoint-1");
  PutInt(out, checkpoint.seq);
  PutBytes(out, checkpoint.hash);
  PutBytes(out, checkpoint.key_id);
  PutBytes(out, checkpoint.algorithm);
  PutInt(out, checkpoint.signed_at.time_since_epoch().count());
  return out;
}

fhir::Result<void> CheckEntry(const store::AuditEntry& entry) {
  const std::string_view actions = "CRUDE";
  if (actions.find(entry.action) == std::string_view::npos) {
    return fhir::Error::Invalid("audit.invalid-entry",
                                "an audit entry's action must be one of C, R, U, D, E");
  }
  if (entry.outcome != 0 && entry.outcome != 4 && entry.outcome != 8 && entry.outcome != 12) {
    return fhir::Error::Invalid("audit.invalid-entry",
                                "an audit entry's outcome must be 0, 4, 8 or 12");
  }
  return {};
}

}  // namespace server::audit
