#include "server/main/dev_keys.h"

#include <fcntl.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

#include "server/main/command_line.h"
#include "server/security/digest.h"
#include "server/security/random.h"

namespace server::main {

namespace {

namespace fs = std::filesystem;
using security::PrivateKey;

constexpr std::int64_t kMaxLifetimeSeconds = std::int64_t{10} * 366 * 24 * 3600;

fhir::Error FileError(const fs::path& path, std::string what) {
  return fhir::Error::Internal("dev-key.file", what + " " + path.string());
}

fhir::Error InvalidRequest(std::string text) {
  return fhir::Error::Invalid("dev-token.invalid", std::move(text));
}

fhir::Result<PrivateKey> ReadKey(const fs::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return FileError(path, "Cannot read");
  if (!S_ISREG(info.st_mode)) return FileError(path, "Not a regular file:");
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return fhir::Error::Internal(
        "dev-key.permissions",
        "The development key " + path.string() + " is open to other users; chmod 600 it");
  }
  std::optional<std::string> text = ReadFileText(path);
  if (!text) return FileError(path, "Cannot read");
  return PrivateKey::FromPem(*text);
}

// Writes `text` to a new file at `path` with mode 0600, or fails with EEXIST when one is there.
// The text goes to a temporary file first and is linked into place whole, so no reader ever sees
// a partial key.
std::error_code WriteNewFile(const fs::path& path, std::string_view text) {
  fs::path temp = path;
  temp += ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return {errno, std::generic_category()};
  int error = 0;
  for (size_t written = 0; written < text.size() && error == 0;) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno != EINTR) error = errno;
    if (n > 0) written += static_cast<size_t>(n);
  }
  if (error == 0 && ::fsync(fd) != 0) error = errno;
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error == 0 && ::link(temp.c_str(), path.c_str()) != 0) error = errno;
  ::unlink(temp.c_str());
  return {error, std::generic_category()};
}

bool IsFhirId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// "Type/id" with a resource type name (an upper-case letter, then letters).
bool IsReference(std::string_view reference) {
  const size_t slash = reference.find('/');
  if (slash == std::string_view::npos || slash == 0) return false;
  const std::string_view type = reference.substr(0, slash);
  if (type.front() < 'A' || type.front() > 'Z') return false;
  for (char c : type) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
  }
  return IsFhirId(reference.substr(slash + 1));
}

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void Member(JsonWriter& writer, const char* name, std::string_view value) {
  writer.Key(name);
  writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

}  // namespace

fhir::Result<PrivateKey> LoadOrCreateDevKey(const fs::path& data_dir) {
  const fs::path path = data_dir / kDevKeyFile;
  std::error_code ec;
  if (fs::exists(path, ec)) return ReadKey(path);
  fs::create_directories(data_dir, ec);
  if (ec) return FileError(data_dir, "Cannot create the directory");
  auto key = PrivateKey::Generate(security::KeyAlgorithm::kEcP256);
  if (!key) return std::move(key).error();
  ec = WriteNewFile(path, key->ToPem());
  if (ec == std::errc::file_exists) return ReadKey(path);  // another process was first
  if (ec) return FileError(path, "Cannot write (" + ec.message() + ")");
  return key;
}

std::string DevKeyId(const PrivateKey& key) { return key.Public().Thumbprint(); }

std::string DevJwks(const PrivateKey& key) { return DevKeySet(key).ToJwks(); }

security::KeySet DevKeySet(const PrivateKey& key) {
  security::KeySet set;
  set.Add(DevKeyId(key), key.Public());
  return set;
}

std::optional<std::string_view> DefaultScope(std::string_view role) {
  if (role == "clinician") return "user/*.cruds";
  if (role == "station-operator") {
    return "user/Observation.cruds user/Patient.rs user/Device.rs user/Location.rs "
           "user/Organization.rs";
  }
  if (role == "connector") return "system/*.cruds";
  if (role == "regulator") return "user/AuditEvent.rs";
  if (role == "administrator") return "user/*.cruds system/*.cruds";
  return std::nullopt;
}

fhir::Result<std::string> DevTokenClaims(const DevTokenRequest& request, std::int64_t now,
                                         std::string_view token_id) {
  const std::optional<std::string_view> role_scope = DefaultScope(request.role);
  if (!role_scope) {
    return InvalidRequest("Unknown role '" + request.role +
                          "' (clinician, station-operator, connector, regulator or "
                          "administrator)");
  }
  if (request.lifetime_seconds <= 0 || request.lifetime_seconds > kMaxLifetimeSeconds) {
    return InvalidRequest("The lifetime must be between 1 second and 10 years");
  }
  if (!request.patient.empty() && !IsFhirId(request.patient)) {
    return InvalidRequest("The patient must be a FHIR id");
  }
  if (!request.fhir_user.empty() && !IsReference(request.fhir_user)) {
    return InvalidRequest("fhirUser must be a reference such as Practitioner/1");
  }
  if (!request.organization.empty() &&
      (!IsReference(request.organization) || !request.organization.starts_with("Organization/"))) {
    return InvalidRequest("The organization must be a reference such as Organization/1");
  }
  std::string scope;
  if (request.scope) {
    scope = *request.scope;
  } else if (!request.patient.empty()) {
    scope = "patient/*.rs";
  } else {
    scope = std::string(*role_scope);
  }
  const std::string subject = request.subject.empty() ? "dev-" + request.role : request.subject;

  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  Member(writer, "iss", kDevIssuer);
  Member(writer, "aud", kDevAudience);
  Member(writer, "sub", subject);
  writer.Key("iat");
  writer.Int64(now);
  writer.Key("nbf");
  writer.Int64(now);
  writer.Key("exp");
  writer.Int64(now + request.lifetime_seconds);
  Member(writer, "jti", token_id);
  Member(writer, "scope", scope);
  writer.Key("fhirhub_roles");
  writer.StartArray();
  writer.String(request.role.data(), static_cast<rapidjson::SizeType>(request.role.size()));
  writer.EndArray();
  if (!request.patient.empty()) Member(writer, "patient", request.patient);
  if (!request.fhir_user.empty()) Member(writer, "fhirUser", request.fhir_user);
  if (!request.organization.empty()) {
    Member(writer, "fhirhub_organization", request.organization);
  }
  if (!request.purposes.empty()) {
    writer.Key("purpose_of_use");
    writer.StartArray();
    for (const std::string& purpose : request.purposes) {
      writer.String(purpose.data(), static_cast<rapidjson::SizeType>(purpose.size()));
    }
    writer.EndArray();
  }
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace server::main
