#include "mappings/hl7v2/concept_maps.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace mappings::hl7v2 {
namespace {

fhir::Error LoadError(const std::filesystem::path& file, std::string text) {
  return fhir::Error::Invalid("hl7v2.conceptmap", file.filename().string() + ": " + text);
}

std::string Str(const rapidjson::Value& object, const char* key) {
  if (!object.IsObject()) return {};
  auto it = object.FindMember(key);
  if (it == object.MemberEnd() || !it->value.IsString()) return {};
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::string Upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

fhir::Result<ConceptMaps> ConceptMaps::Load(const std::filesystem::path& dir,
                                            const std::vector<std::string>& required) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return fhir::Error::Invalid("hl7v2.conceptmap",
                                "the concept map folder " + dir.string() + " does not exist");
  }
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ConceptMaps maps;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    if (!in) return LoadError(file, "cannot be read");
    const std::string text = buffer.str();
    rapidjson::Document doc;
    doc.Parse(text.data(), text.size());
    if (doc.HasParseError() || !doc.IsObject()) return LoadError(file, "is not a JSON object");
    if (Str(doc, "resourceType") != "ConceptMap") return LoadError(file, "is not a ConceptMap");
    const std::string id = Str(doc, "id");
    if (id.empty()) return LoadError(file, "has no id");
    if (maps.maps_.count(id) > 0) return LoadError(file, "repeats the id " + id);
    Map& map = maps.maps_[id];
    auto groups = doc.FindMember("group");
    if (groups == doc.MemberEnd() || !groups->value.IsArray()) {
      return LoadError(file, "has no group");
    }
    for (const auto& group : groups->value.GetArray()) {
      const std::string target_system = Str(group, "target");
      auto elements = group.IsObject() ? group.FindMember("element") : group.MemberEnd();
      if (!group.IsObject() || elements == group.MemberEnd() || !elements->value.IsArray()) {
        return LoadError(file, "has a group without elements");
      }
      for (const auto& element : elements->value.GetArray()) {
        const std::string code = Str(element, "code");
        auto targets = element.IsObject() ? element.FindMember("target") : element.MemberEnd();
        if (code.empty() || targets == element.MemberEnd() || !targets->value.IsArray() ||
            targets->value.Empty()) {
          return LoadError(file, "has an element without code or target");
        }
        const auto& target = targets->value[0];
        MappedCode mapped{target_system, Str(target, "code"), Str(target, "display")};
        if (mapped.code.empty()) return LoadError(file, "maps " + code + " to no code");
        map.upper_case.emplace(Upper(code), code);
        map.codes.emplace(code, std::move(mapped));  // the first mapping of a code wins
      }
    }
  }
  for (const std::string& id : required) {
    if (maps.maps_.count(id) == 0) {
      return fhir::Error::Invalid("hl7v2.conceptmap", "the concept map " + id + " (" + id +
                                                          ".json) is missing from " + dir.string());
    }
  }
  return maps;
}

const MappedCode* ConceptMaps::Translate(std::string_view map_id, std::string_view code) const {
  auto map = maps_.find(map_id);
  if (map == maps_.end() || code.empty()) return nullptr;
  auto it = map->second.codes.find(code);
  if (it != map->second.codes.end()) return &it->second;
  auto other_case = map->second.upper_case.find(Upper(code));
  if (other_case == map->second.upper_case.end()) return nullptr;
  return &map->second.codes.find(other_case->second)->second;
}

}  // namespace mappings::hl7v2
