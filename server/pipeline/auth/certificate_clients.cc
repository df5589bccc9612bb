#include "server/pipeline/auth/certificate_clients.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <cctype>
#include <utility>

#include "server/pipeline/auth/roles.h"

namespace server::auth {
namespace {

fhir::Error Invalid(std::string text) {
  return fhir::Error::Invalid("auth.invalid-certificate-clients", "client certificates: " + text);
}

// The member's string, or an error naming it; nullopt (no error) when absent and optional.
fhir::Result<std::optional<std::string>> String(const rapidjson::Value& client, const char* name,
                                                const std::string& where, bool required) {
  auto member = client.FindMember(name);
  if (member == client.MemberEnd()) {
    if (required) return Invalid(where + "." + name + " is required");
    return std::optional<std::string>();
  }
  if (!member->value.IsString() || member->value.GetStringLength() == 0) {
    return Invalid(where + "." + name + " must be a non-empty string");
  }
  return std::optional<std::string>(
      std::string(member->value.GetString(), member->value.GetStringLength()));
}

// 64 hex digits, colons allowed between them, as lower-case hex without colons; "" otherwise.
std::string NormalFingerprint(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return "";
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out.size() == 64 ? out : "";
}

}  // namespace

fhir::Result<CertificateClients> CertificateClients::FromJson(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError()) {
    return Invalid(std::string("not JSON (") + rapidjson::GetParseError_En(doc.GetParseError()) +
                   ")");
  }
  if (!doc.IsObject() || !doc.HasMember("clients") || !doc["clients"].IsArray()) {
    return Invalid("the document must be an object with a \"clients\" array");
  }
  CertificateClients result;
  const auto& clients = doc["clients"].GetArray();
  for (rapidjson::SizeType i = 0; i < clients.Size(); ++i) {
    const std::string where = "clients[" + std::to_string(i) + "]";
    const rapidjson::Value& entry = clients[i];
    if (!entry.IsObject()) return Invalid(where + " must be an object");
    Client client;
    auto fingerprint = String(entry, "fingerprint", where, false);
    if (!fingerprint.ok()) return std::move(fingerprint).error();
    auto subject = String(entry, "subject", where, false);
    if (!subject.ok()) return std::move(subject).error();
    if (fingerprint->has_value() == subject->has_value()) {
      return Invalid(where + " needs exactly one of \"fingerprint\" and \"subject\"");
    }
    if (fingerprint->has_value()) {
      client.fingerprint = NormalFingerprint(**fingerprint);
      if (client.fingerprint.empty()) {
        return Invalid(where + ".fingerprint must be 64 hexadecimal digits (SHA-256)");
      }
    } else {
      client.subject = **subject;
    }
    auto client_id = String(entry, "client_id", where, true);
    if (!client_id.ok()) return std::move(client_id).error();
    auto organization = String(entry, "organization", where, false);
    if (!organization.ok()) return std::move(organization).error();
    auto scope = String(entry, "scope", where, false);
    if (!scope.ok()) return std::move(scope).error();
    auto roles = entry.FindMember("roles");
    if (roles == entry.MemberEnd() || !roles->value.IsArray() || roles->value.Empty()) {
      return Invalid(where + ".roles must be a non-empty array of role names");
    }
    rest::Principal& principal = client.principal;
    for (const auto& role : roles->value.GetArray()) {
      std::optional<rest::Role> parsed =
          role.IsString() ? ParseRole(std::string_view(role.GetString(), role.GetStringLength()))
                          : std::nullopt;
      if (!parsed) return Invalid(where + ".roles names an unknown role");
      principal.roles.push_back(*parsed);
    }
    principal.method = "certificate";
    principal.client_id = **client_id;
    principal.organization = organization->value_or("");
    principal.scope = scope->value_or("system/*.cruds");
    result.clients_.push_back(std::move(client));
  }
  return result;
}

std::optional<rest::Principal> CertificateClients::Find(
    const rest::ClientCertificate& certificate) const {
  for (const Client& client : clients_) {
    const bool match = client.fingerprint.empty()
                           ? client.subject == certificate.subject
                           : client.fingerprint == certificate.fingerprint_sha256;
    if (!match) continue;
    rest::Principal principal = client.principal;
    principal.subject = certificate.subject;
    return principal;
  }
  return std::nullopt;
}

}  // namespace server::auth
