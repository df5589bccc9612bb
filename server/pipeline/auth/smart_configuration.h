// The SMART App Launch 2.0 discovery document served at /.well-known/smart-configuration
// (https://hl7.org/fhir/smart-app-launch/conformance.html). fhirhub is a resource server: it
// verifies bearer tokens that an authorization server issues, so the document points at that
// server's endpoints and claims only the capabilities the resource server itself honours.
#ifndef SERVER_PIPELINE_AUTH_SMART_CONFIGURATION_H_
#define SERVER_PIPELINE_AUTH_SMART_CONFIGURATION_H_

#include <string>
#include <vector>

namespace server::auth {

struct SmartConfigurationOptions {
  std::string issuer;    // the authorization server's `iss`; omitted when empty
  std::string jwks_uri;  // where the token signing keys are published; omitted when empty
  // The authorization server's endpoints; each is omitted when empty.
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string introspection_endpoint;
  // Whether tokens may carry a patient context (`patient` claim): adds the capability
  // "context-standalone-patient" and the scope "launch/patient".
  bool patient_context = false;
  // The values listed as such; the defaults describe a typical authorization server.
  std::vector<std::string> grant_types_supported = {"authorization_code", "client_credentials"};
  std::vector<std::string> token_endpoint_auth_methods_supported = {"private_key_jwt",
                                                                    "client_secret_basic"};
  // Empty: the scopes fhirhub understands (openid, fhirUser, offline_access, online_access,
  // launch/patient when patient_context, and v1 and v2 wildcard resource scopes of each context).
  std::vector<std::string> scopes_supported;
};

// The document as compact JSON. Always present: grant_types_supported,
// token_endpoint_auth_methods_supported, scopes_supported, response_types_supported ["code"],
// capabilities (permission-patient, permission-user, permission-v1, permission-v2, and
// context-standalone-patient when patient_context), code_challenge_methods_supported ["S256"].
std::string SmartConfigurationJson(const SmartConfigurationOptions& options);

}  // namespace server::auth

#endif  // SERVER_PIPELINE_AUTH_SMART_CONFIGURATION_H_
