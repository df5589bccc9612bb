// What a request asks for, in the terms of access control and of the audit record: the FHIR
// RESTful interaction (its BALP subtype code), the audit action, the SMART permission it needs and
// on which resource types. Decided from the method and path alone, before any handler runs.
#ifndef SERVER_PIPELINE_INTERACTION_H_
#define SERVER_PIPELINE_INTERACTION_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/model/definitions.h"
#include "server/pipeline/auth/scopes.h"
#include "server/rest/fhir_request.h"

namespace server::pipeline {

struct Interaction {
  // http://hl7.org/fhir/restful-interaction: read, vread, update, patch, delete, history-instance,
  // history-type, history-system, create, search-type, search-system, capabilities, batch,
  // transaction, operation; "unknown" for a path no interaction has (the router answers 404).
  std::string code = "unknown";
  char action = 'E';  // C R U D E (AuditEvent.action)
  // The permission needed on each of `types`; nullopt when the interaction needs none of its own:
  // the capabilities and SMART configuration (open to anyone), a Bundle (each entry is checked),
  // an unknown path.
  std::optional<auth::Permission> permission;
  // The resource types touched: the path's type, the `_type` list of a search across types; empty
  // for an interaction across all types.
  std::vector<std::string> types;
  std::string id;  // the resource's id, for interactions on one resource
  // No authentication needed: the CapabilityStatement and the SMART configuration.
  bool open = false;
  // When not empty, only a principal holding one of these roles may make the request, whatever
  // its scopes: the station feed (station operators, connectors, administrators) and its pending
  // queue (station operators, administrators).
  std::vector<rest::Role> roles;
};

// The station feed's paths below the FHIR base (docs/station-feed.md).
inline constexpr std::string_view kStationFeedPath = "station-feed";

Interaction Classify(const rest::FhirRequest& request, const fhir::model::Definitions& defs);

}  // namespace server::pipeline

#endif  // SERVER_PIPELINE_INTERACTION_H_
