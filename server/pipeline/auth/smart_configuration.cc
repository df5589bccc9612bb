#include "server/pipeline/auth/smart_configuration.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string_view>

namespace server::auth {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void Key(Writer& writer, std::string_view key) {
  writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

void String(Writer& writer, std::string_view value) {
  writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void OptionalMember(Writer& writer, std::string_view key, const std::string& value) {
  if (value.empty()) return;
  Key(writer, key);
  String(writer, value);
}

void ListMember(Writer& writer, std::string_view key, const std::vector<std::string>& values) {
  Key(writer, key);
  writer.StartArray();
  for (const std::string& value : values) String(writer, value);
  writer.EndArray();
}

std::vector<std::string> DefaultScopes(bool patient_context) {
  std::vector<std::string> scopes = {"openid", "fhirUser", "offline_access", "online_access"};
  if (patient_context) scopes.push_back("launch/patient");
  for (const char* context : {"patient", "user", "system"}) {
    for (const char* permissions : {"cruds", "rs", "read", "write", "*"}) {
      scopes.push_back(std::string(context) + "/*." + permissions);
    }
  }
  return scopes;
}

}  // namespace

std::string SmartConfigurationJson(const SmartConfigurationOptions& options) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  OptionalMember(writer, "issuer", options.issuer);
  OptionalMember(writer, "jwks_uri", options.jwks_uri);
  OptionalMember(writer, "authorization_endpoint", options.authorization_endpoint);
  OptionalMember(writer, "token_endpoint", options.token_endpoint);
  OptionalMember(writer, "introspection_endpoint", options.introspection_endpoint);
  ListMember(writer, "grant_types_supported", options.grant_types_supported);
  ListMember(writer, "token_endpoint_auth_methods_supported",
             options.token_endpoint_auth_methods_supported);
  ListMember(writer, "scopes_supported",
             options.scopes_supported.empty() ? DefaultScopes(options.patient_context)
                                              : options.scopes_supported);
  ListMember(writer, "response_types_supported", {"code"});
  std::vector<std::string> capabilities = {"permission-patient", "permission-user", "permission-v1",
                                           "permission-v2"};
  if (options.patient_context) capabilities.push_back("context-standalone-patient");
  ListMember(writer, "capabilities", capabilities);
  ListMember(writer, "code_challenge_methods_supported", {"S256"});
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace server::auth
