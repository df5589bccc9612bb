// The server's CapabilityStatement, generated from what the running server really supports:
// the server fills in a ServerDescription from its wiring (routes, formats), and this turns it
// into the resource answered at GET [base]/metadata. Pure: no clock, no I/O.
#ifndef CONFORMANCE_CAPABILITY_STATEMENT_H_
#define CONFORMANCE_CAPABILITY_STATEMENT_H_

#include <string>
#include <vector>

#include "fhir/element.h"
#include "fhir/model/definitions.h"

namespace conformance {

struct SearchParamCapability {
  std::string name;        // "_id"
  std::string type;        // search-param-type code: "token", "date", ...
  std::string definition;  // canonical URL of the SearchParameter
};

struct ResourceCapability {
  std::string type;                       // "Patient"
  std::vector<std::string> interactions;  // type-restful-interaction codes: "read", "create", ...
  // The optional flags of CapabilityStatement.rest.resource; empty/false ones are left out.
  std::string versioning;  // "versioned-update", ...
  bool read_history = false;
  bool update_create = false;
  bool conditional_create = false;
  bool conditional_update = false;
  std::string conditional_delete;  // "single", "multiple"
  std::vector<SearchParamCapability> search_params;
};

struct ServerDescription {
  std::string software_version;      // fhirhub's version
  std::string date;                  // dateTime the statement was generated (server start)
  std::vector<std::string> formats;  // mime types: "application/fhir+json", ...
  std::vector<ResourceCapability> resources;
  std::vector<std::string> system_interactions;  // system-restful-interaction codes
  // The parameters of a search across types (rest.searchParam).
  std::vector<SearchParamCapability> system_search_params;
};

// implementation.url is left out: it is the base URL each client used (see the capabilities
// handler, which adds it per request).
fhir::Resource BuildCapabilityStatement(const ServerDescription& server,
                                        const fhir::model::Definitions& defs);

}  // namespace conformance

#endif  // CONFORMANCE_CAPABILITY_STATEMENT_H_
