// Checkpoints of the audit log: a signature over the chain's head (seq, hash) with a private key
// kept away from the database, so that a chain recomputed or cut short after the checkpoint is
// detected by verification (audit_verify.h) even by someone who can rewrite every row.
//
// A checkpoint records the signing key's id, its JWK thumbprint (RFC 7638), and the signature
// scheme's JWS name ("ES256" for ECDSA P-256, "SM2SM3" for SM2, "RS256" for RSA); the signature
// is in DER over CheckpointMessage (audit_chain.h).
#ifndef SERVER_AUDIT_AUDIT_CHECKPOINT_H_
#define SERVER_AUDIT_AUDIT_CHECKPOINT_H_

#include "fhir/result.h"
#include "server/audit/audit_verify.h"
#include "server/security/keys.h"
#include "server/store/audit_log.h"

namespace server::audit {

// Signs the log's current head with `key` at `now` and stores the checkpoint; returns it. An
// empty log gets a checkpoint of seq 0 and the genesis hash. Errors: the log's, or the key's
// (security.crypto-failure).
fhir::Result<store::AuditCheckpoint> WriteCheckpoint(store::AuditLog& log,
                                                     const security::PrivateKey& key,
                                                     store::Timestamp now);

// A SignatureCheck that accepts exactly the checkpoints signed by `key`: the key id and
// algorithm must be `key`'s and the signature must verify.
SignatureCheck CheckpointSignatureCheck(security::PublicKey key);

}  // namespace server::audit

#endif  // SERVER_AUDIT_AUDIT_CHECKPOINT_H_
