// The hash chain of the audit log: how an entry's hash is computed from the hash before it, and
// the bytes a checkpoint signature covers. Shared by the stores that append (they compute each
// hash inside their append lock) and by the verifier that recomputes them.
//
// Canonical bytes of an entry: every field in a fixed order, each length-prefixed (8-byte
// big-endian length, then the bytes), so that no two different entries share a byte string:
//   "fhirhub-audit-entry-1", seq, tenant, recorded, action, outcome, patients, agents, entities,
//   event
// where seq, recorded (microseconds since 1970-01-01T00:00:00Z, two's complement) and outcome
// are 8-byte big-endian integers, action its one character, and each list its element count
// (8-byte big-endian) followed by its length-prefixed elements.
//
//   hash = H(prev_hash || CanonicalBytes(entry))
//
// with prev_hash the previous entry's hash, 32 zero bytes for the first entry, and H the entry's
// hash_algorithm (SHA-256 or SM3). All functions are pure and thread-safe.
#ifndef SERVER_AUDIT_AUDIT_CHAIN_H_
#define SERVER_AUDIT_AUDIT_CHAIN_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/result.h"
#include "server/security/digest.h"
#include "server/store/audit_log.h"

namespace server::audit {

inline constexpr std::size_t kHashSize = 32;

// The prev_hash of the first entry: 32 zero bytes.
std::string GenesisHash();

std::string CanonicalBytes(const store::AuditEntry& entry);

// H(prev_hash || CanonicalBytes(entry)).
std::string EntryHash(security::HashAlgorithm algorithm, std::string_view prev_hash,
                      const store::AuditEntry& entry);

// Numbers `entries` from after_seq + 1 on and chains them to `prev_hash` (the hash of entry
// after_seq): sets each one's seq, hash_algorithm, prev_hash and hash.
void ChainEntries(security::HashAlgorithm algorithm, std::int64_t after_seq, std::string prev_hash,
                  std::vector<store::AuditEntry>& entries);

// The bytes a checkpoint's signature covers, length-prefixed as above:
//   "fhirhub-audit-checkpoint-1", seq, hash, key_id, algorithm, signed_at
std::string CheckpointMessage(const store::AuditCheckpoint& checkpoint);

// audit.invalid-entry (400) unless the action is one of C R U D E and the outcome 0, 4, 8 or 12.
fhir::Result<void> CheckEntry(const store::AuditEntry& entry);

}  // namespace server::audit

#endif  // SERVER_AUDIT_AUDIT_CHAIN_H_
