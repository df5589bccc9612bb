#include "server/main/fhir_package.h"

#include <Poco/Exception.h>
#include <Poco/InflatingStream.h>

#include <fstream>
#include <istream>
#include <map>
#include <string_view>

namespace server::main {

namespace {

constexpr size_t kBlock = 512;
// A package file bigger than this is not a StructureDefinition we want (the largest is ~1 MB).
constexpr uint64_t kMaxEntry = 64u << 20;

std::string_view Field(const char* header, size_t offset, size_t length) {
  std::string_view field(header + offset, length);
  return field.substr(0, field.find('\0'));
}

std::optional<uint64_t> Octal(std::string_view text) {
  uint64_t value = 0;
  bool any = false;
  for (char c : text) {
    if (c == ' ') {
      if (any) break;
      continue;
    }
    if (c < '0' || c > '7') return std::nullopt;
    value = value * 8 + static_cast<uint64_t>(c - '0');
    any = true;
  }
  return value;
}

// The "path" record of a pax extended header, if present.
std::optional<std::string> PaxPath(std::string_view records) {
  while (!records.empty()) {
    size_t space = records.find(' ');
    if (space == std::string_view::npos) break;
    size_t length = 0;
    for (char c : records.substr(0, space)) length = length * 10 + static_cast<size_t>(c - '0');
    if (length == 0 || length > records.size()) break;
    std::string_view record = records.substr(space + 1, length - space - 2);
    if (record.rfind("path=", 0) == 0) return std::string(record.substr(5));
    records.remove_prefix(length);
  }
  return std::nullopt;
}

// Whether an entry is a "<prefix>*.json" file; its file name in `*base`.
bool WantedEntry(std::string_view name, std::string_view prefix, std::string* base) {
  size_t slash = name.rfind('/');
  std::string_view file = slash == std::string_view::npos ? name : name.substr(slash + 1);
  if (!file.starts_with(prefix) || !file.ends_with(".json")) return false;
  *base = std::string(file);
  return true;
}

fhir::Error Corrupt(const std::string& why) {
  return fhir::Error::Invalid("package.corrupt", "The FHIR package file is not readable: " + why);
}

// The texts of the "<prefix>*.json" files of a package .tgz, in file name order.
fhir::Result<std::vector<std::string>> ReadJsonFilesFromTgz(const std::filesystem::path& tgz,
                                                            std::string_view prefix) {
  std::ifstream file(tgz, std::ios::binary);
  if (!file) return fhir::Error::NotFound("package.missing", "Cannot open " + tgz.string());
  std::map<std::string, std::string> found;  // file name -> text
  try {
    Poco::InflatingInputStream in(file, Poco::InflatingStreamBuf::STREAM_GZIP);
    char header[kBlock];
    std::optional<std::string> long_name;
    while (in.read(header, kBlock) && in.gcount() == static_cast<std::streamsize>(kBlock)) {
      if (header[0] == '\0') break;  // end-of-archive block
      auto size = Octal(Field(header, 124, 12));
      if (!size || *size > kMaxEntry) return Corrupt("bad entry size");
      const char type = header[156];
      std::string name;
      if (long_name) {
        name = std::move(*long_name);
        long_name.reset();
      } else {
        std::string_view prefix = Field(header, 345, 155);
        name = prefix.empty() ? std::string(Field(header, 0, 100))
                              : std::string(prefix) + "/" + std::string(Field(header, 0, 100));
      }
      const uint64_t padded = (*size + kBlock - 1) / kBlock * kBlock;
      std::string base;
      const bool keep =
          type == 'x' || ((type == '0' || type == '\0') && WantedEntry(name, prefix, &base));
      if (keep) {
        std::string content(*size, '\0');
        if (!in.read(content.data(), static_cast<std::streamsize>(*size))) {
          return Corrupt("truncated entry");
        }
        in.ignore(static_cast<std::streamsize>(padded - *size));
        if (type == 'x') {
          long_name = PaxPath(content);
        } else {
          found.emplace(std::move(base), std::move(content));
        }
      } else {
        in.ignore(static_cast<std::streamsize>(padded));
      }
    }
  } catch (const Poco::Exception& e) {
    return Corrupt(e.displayText());
  }
  if (found.empty()) return Corrupt("no " + std::string(prefix) + "*.json files found");
  std::vector<std::string> out;
  out.reserve(found.size());
  for (auto& [base, text] : found) out.push_back(std::move(text));
  return out;
}

// The package folder (or .tgz file) at `location`, or the one scripts/bootstrap prepared.
fhir::Result<std::filesystem::path> PackagePath(const std::optional<std::string>& location) {
  std::filesystem::path path = location.value_or(FHIRHUB_DEFAULT_PACKAGE);
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) return path;
  if (std::filesystem::is_directory(path / "package", ec)) path /= "package";
  if (!std::filesystem::is_directory(path, ec)) {
    return fhir::Error::NotFound(
        "package.missing",
        "The FHIR R4 package was not found at " + path.string() +
            "; run scripts/bootstrap or pass --fhir-package with the package folder or .tgz");
  }
  return path;
}

}  // namespace

fhir::Result<std::vector<std::string>> ReadStructureDefinitionsFromTgz(
    const std::filesystem::path& tgz) {
  return ReadJsonFilesFromTgz(tgz, "StructureDefinition-");
}

fhir::Result<std::unique_ptr<fhir::model::Definitions>> LoadDefinitions(
    const std::optional<std::string>& location) {
  auto path = PackagePath(location);
  if (!path.ok()) return std::move(path).error();
  if (std::filesystem::is_regular_file(*path)) {
    auto texts = ReadStructureDefinitionsFromTgz(*path);
    if (!texts.ok()) return std::move(texts).error();
    return fhir::model::Definitions::LoadFromJson(*texts);
  }
  return fhir::model::Definitions::LoadFromDirectory(*path);
}

fhir::Result<std::unique_ptr<search::Compartments>> LoadCompartments(
    const std::optional<std::string>& location) {
  auto path = PackagePath(location);
  if (!path.ok()) return std::move(path).error();
  auto texts = std::filesystem::is_regular_file(*path)
                   ? ReadJsonFilesFromTgz(*path, "CompartmentDefinition-")
                   : search::ReadPackageFiles(*path, "CompartmentDefinition-");
  if (!texts.ok()) return std::move(texts).error();
  return search::Compartments::Load(*texts);
}

fhir::Result<std::unique_ptr<terminology::Terminology>> LoadTerminology(
    const std::optional<std::string>& location) {
  auto path = PackagePath(location);
  if (!path.ok()) return std::move(path).error();
  const bool tgz = std::filesystem::is_regular_file(*path);
  auto read = [&](std::string_view prefix) {
    return tgz ? ReadJsonFilesFromTgz(*path, prefix) : search::ReadPackageFiles(*path, prefix);
  };
  auto value_sets = read("ValueSet-");
  if (!value_sets.ok()) return std::move(value_sets).error();
  auto code_systems = read("CodeSystem-");
  if (!code_systems.ok()) return std::move(code_systems).error();
  return terminology::Terminology::Load(*value_sets, *code_systems);
}

fhir::Result<std::vector<std::string>> ReadPackageSearchParameters(
    const std::optional<std::string>& location) {
  auto path = PackagePath(location);
  if (!path.ok()) return std::move(path).error();
  return std::filesystem::is_regular_file(*path) ? ReadJsonFilesFromTgz(*path, "SearchParameter-")
                                                 : search::ReadSearchParameterFiles(*path);
}

}  // namespace server::main
