#include "server/audit/audit_checkpoint.h"

#include <string>
#include <utility>

#include "server/audit/audit_chain.h"

namespace server::audit {

fhir::Result<store::AuditCheckpoint> WriteCheckpoint(store::AuditLog& log,
                                                     const security::PrivateKey& key,
                                                     store::Timestamp now) {
  auto head = log.Head();
  if (!head.ok()) return std::move(head).error();
  store::AuditCheckpoint checkpoint;
  checkpoint.seq = head->seq;
  checkpoint.hash = std::move(head->hash);
  checkpoint.key_id = key.Public().Thumbprint();
  checkpoint.algorithm = std::string(security::JwsAlgorithmName(key.algorithm()));
  checkpoint.signed_at = now;
  auto signature = key.Sign(CheckpointMessage(checkpoint));
  if (!signature.ok()) return std::move(signature).error();
  checkpoint.signature = std::move(*signature);
  if (auto added = log.AddCheckpoint(checkpoint); !added.ok()) return std::move(added).error();
  return checkpoint;
}

SignatureCheck CheckpointSignatureCheck(security::PublicKey key) {
  std::string key_id = key.Thumbprint();
  std::string algorithm(security::JwsAlgorithmName(key.algorithm()));
  return [key = std::move(key), key_id = std::move(key_id), algorithm = std::move(algorithm)](
             const store::AuditCheckpoint& checkpoint, std::string_view message) {
    return checkpoint.key_id == key_id && checkpoint.algorithm == algorithm &&
           key.Verify(message, checkpoint.signature);
  };
}

}  // namespace server::audit
