#include "server/search/compartments.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <array>

namespace server::search {

namespace {

constexpr std::array<std::string_view, 5> kBaseCompartments = {
    "Patient", "Encounter", "RelatedPerson", "Practitioner", "Device"};

constexpr std::string_view kBaseUrl = "http://hl7.org/fhir/CompartmentDefinition/";

fhir::Error NotACompartment(std::string why) {
  return fhir::Error::Internal("compartments.invalid",
                               "A CompartmentDefinition cannot be read: " + std::move(why));
}

}  // namespace

fhir::Result<std::unique_ptr<Compartments>> Compartments::Load(
    const std::vector<std::string>& jsons) {
  auto out = std::make_unique<Compartments>();
  for (const std::string& json : jsons) {
    rapidjson::Document doc;
    doc.Parse(json.data(), json.size());
    if (doc.HasParseError() || !doc.IsObject()) return NotACompartment("not JSON");
    auto member = [&](const rapidjson::Value& object, const char* name) -> std::string_view {
      auto it = object.FindMember(name);
      if (it == object.MemberEnd() || !it->value.IsString()) return {};
      return {it->value.GetString(), it->value.GetStringLength()};
    };
    if (member(doc, "resourceType") != "CompartmentDefinition") {
      return NotACompartment("resourceType is not CompartmentDefinition");
    }
    const std::string_view code = member(doc, "code");
    const std::string_view url = member(doc, "url");
    if (!url.starts_with(kBaseUrl) || std::find(kBaseCompartments.begin(), kBaseCompartments.end(),
                                                code) == kBaseCompartments.end()) {
      continue;
    }
    auto resources = doc.FindMember("resource");
    if (resources == doc.MemberEnd() || !resources->value.IsArray()) continue;
    for (const rapidjson::Value& resource : resources->value.GetArray()) {
      if (!resource.IsObject()) continue;
      auto params = resource.FindMember("param");
      if (params == resource.MemberEnd() || !params->value.IsArray()) continue;
      std::vector<std::string> names;
      for (const rapidjson::Value& param : params->value.GetArray()) {
        // "{def}" stands for the compartment's own resource, which a search of the type finds
        // by id anyway.
        if (param.IsString() && std::string_view(param.GetString()) != "{def}") {
          names.emplace_back(param.GetString(), param.GetStringLength());
        }
      }
      if (names.empty()) continue;
      out->params_.emplace(std::pair{std::string(code), std::string(member(resource, "code"))},
                           std::move(names));
    }
  }
  return out;
}

const std::vector<std::string>* Compartments::Params(std::string_view compartment_type,
                                                     std::string_view resource_type) const {
  auto it = params_.find(std::pair{std::string(compartment_type), std::string(resource_type)});
  return it == params_.end() ? nullptr : &it->second;
}

}  // namespace server::search
