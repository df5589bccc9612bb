// The system clients known by their TLS client certificates (mutual TLS), for connectors and vendor
// gateways that do not fetch tokens: a file of the operator's names each certificate, by its
// SHA-256 fingerprint or its subject, and says who it is.
//
//   {"clients": [
//     {"fingerprint": "3f0c...e1", "client_id": "county-his", "roles": ["connector"],
//      "organization": "Organization/county-hospital", "scope": "system/*.cruds"},
//     {"subject": "CN=station-gw,O=Qinghe Station,C=CN", "client_id": "station-gw",
//      "roles": ["station-operator"], "scope": "system/Observation.cr system/Patient.rs"}]}
//
// "fingerprint" (64 hex digits, any case; colons allowed) or "subject" (RFC 2253, exactly as the
// certificate has it) identifies the certificate; "client_id" and "roles" are required; "scope"
// defaults to "system/*.cruds", which the roles' ceilings bound as for tokens; "organization" is
// optional. A certificate verified against the client CAs but named nowhere here is refused.
#ifndef SERVER_PIPELINE_AUTH_CERTIFICATE_CLIENTS_H_
#define SERVER_PIPELINE_AUTH_CERTIFICATE_CLIENTS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/result.h"
#include "server/rest/principal.h"

namespace server::auth {

class CertificateClients {
 public:
  // 400 auth.invalid-certificate-clients naming the member at fault.
  static fhir::Result<CertificateClients> FromJson(std::string_view text);

  // The principal of a verified client certificate (method "certificate"); nullopt when the
  // certificate is not named in the file.
  std::optional<rest::Principal> Find(const rest::ClientCertificate& certificate) const;

  std::size_t size() const { return clients_.size(); }

 private:
  struct Client {
    std::string fingerprint;  // lower-case hex, no colons; empty when matched by subject
    std::string subject;
    rest::Principal principal;
  };
  std::vector<Client> clients_;
};

}  // namespace server::auth

#endif  // SERVER_PIPELINE_AUTH_CERTIFICATE_CLIENTS_H_
