#include "conformance/capability_statement.h"

namespace conformance {

namespace {

void AddSearchParams(fhir::Resource& cs, fhir::Node* parent,
                     const std::vector<SearchParamCapability>& params) {
  for (const SearchParamCapability& param : params) {
    fhir::Node* search_param = cs.AddChild(parent, "searchParam");
    cs.AddPrimitive(search_param, "name", param.name);
    cs.AddPrimitive(search_param, "definition", param.definition);
    cs.AddPrimitive(search_param, "type", param.type);
  }
}

}  // namespace

fhir::Resource BuildCapabilityStatement(const ServerDescription& server,
                                        const fhir::model::Definitions& defs) {
  fhir::Resource cs;
  cs.set_root(cs.NewNode(nullptr, defs.FindResource("CapabilityStatement")));
  fhir::Node* root = cs.root();
  cs.AddPrimitive(root, "name", "fhirhub");
  cs.AddPrimitive(root, "title", "fhirhub FHIR R4 server");
  cs.AddPrimitive(root, "status", "active");
  cs.AddPrimitive(root, "date", server.date);
  cs.AddPrimitive(root, "publisher", "fhirhub");
  cs.AddPrimitive(root, "description",
                  "FHIR R4 interoperability server for primary care: this statement lists only "
                  "what the running server supports.");
  cs.AddPrimitive(root, "kind", "instance");
  fhir::Node* software = cs.AddChild(root, "software");
  cs.AddPrimitive(software, "name", "fhirhub");
  cs.AddPrimitive(software, "version", server.software_version);
  fhir::Node* implementation = cs.AddChild(root, "implementation");
  cs.AddPrimitive(implementation, "description", "fhirhub");
  cs.AddPrimitive(root, "fhirVersion", "4.0.1");
  for (const std::string& format : server.formats) cs.AddPrimitive(root, "format", format);

  fhir::Node* rest = cs.AddChild(root, "rest");
  cs.AddPrimitive(rest, "mode", "server");
  for (const ResourceCapability& resource : server.resources) {
    fhir::Node* node = cs.AddChild(rest, "resource");
    cs.AddPrimitive(node, "type", resource.type);
    for (const std::string& code : resource.interactions) {
      cs.AddPrimitive(cs.AddChild(node, "interaction"), "code", code);
    }
    if (!resource.versioning.empty()) cs.AddPrimitive(node, "versioning", resource.versioning);
    if (resource.read_history) cs.AddPrimitive(node, "readHistory", "true");
    if (resource.update_create) cs.AddPrimitive(node, "updateCreate", "true");
    if (resource.conditional_create) cs.AddPrimitive(node, "conditionalCreate", "true");
    if (resource.conditional_update) cs.AddPrimitive(node, "conditionalUpdate", "true");
    if (!resource.conditional_delete.empty()) {
      cs.AddPrimitive(node, "conditionalDelete", resource.conditional_delete);
    }
    AddSearchParams(cs, node, resource.search_params);
  }
  for (const std::string& code : server.system_interactions) {
    cs.AddPrimitive(cs.AddChild(rest, "interaction"), "code", code);
  }
  AddSearchParams(cs, rest, server.system_search_params);
  return cs;
}

}  // namespace conformance
