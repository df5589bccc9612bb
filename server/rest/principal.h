// Principal: who is asking, as the authentication step established it. Plain data; the pipeline
// (server/pipeline/auth) fills it from a bearer token or a client certificate and decides with it.
#ifndef SERVER_REST_PRINCIPAL_H_
#define SERVER_REST_PRINCIPAL_H_

#include <optional>
#include <string>
#include <vector>

namespace server::rest {

// A client certificate that verified in the TLS handshake (mutual TLS), as the HTTP adapter saw it.
struct ClientCertificate {
  std::string subject;             // RFC 2253 distinguished name
  std::string fingerprint_sha256;  // lower-case hex of the DER certificate's SHA-256
  std::vector<std::string> dns_names;
  std::vector<std::string> uris;
};

// The roles of fhirhub, mapped from token claims by configuration (docs/security.md).
enum class Role { kClinician, kStationOperator, kConnector, kRegulator, kAdministrator };

struct Principal {
  // How the identity was established: "token" (a verified JWT), "certificate" (mutual TLS), or
  // "none" when authentication is off.
  std::string method = "none";
  std::string subject;    // sub, or the certificate's subject
  std::string issuer;     // iss
  std::string client_id;  // client_id / azp
  std::string token_id;   // jti
  // The user as a FHIR reference ("Practitioner/12"), from the fhirUser claim.
  std::string fhir_user;
  // The organization the user acts for ("Organization/3"), from the configured claim.
  std::string organization;
  std::vector<Role> roles;
  // The granted SMART scopes, space-separated, as in the token.
  std::string scope;
  // The patient context: the id of the Patient whose compartment bounds every access.
  std::optional<std::string> patient;
  // Purposes of use (codes of http://terminology.hl7.org/CodeSystem/v3-ActReason, e.g. TREAT,
  // ETREAT, BTG); BTG or ETREAT is break-glass.
  std::vector<std::string> purpose_of_use;
};

}  // namespace server::rest

#endif  // SERVER_REST_PRINCIPAL_H_
