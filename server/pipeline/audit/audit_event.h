// The AuditEvent of one interaction, following the IHE Basic Audit Log Patterns (BALP) for
// RESTful activities (https://profiles.ihe.net/ITI/BALP/). Pure: the input is a neutral record,
// the output an R4 AuditEvent as compact JSON, without an id (the caller stores it).
//
// The mapping (docs/security.md, "What an audit record contains"):
//   type            audit-event-type#rest "Restful Operation"
//   subtype         restful-interaction#{interaction}, when it is one of that code system's codes
//   action          C, R, U, D or E; omitted for any other letter
//   recorded        as given (an instant)
//   outcome         "0", "4", "8" or "12"; any other value is written as "8" (serious failure)
//   outcomeDesc     outcome_text, when not empty
//   purposeOfEvent  v3-ActReason#BTG "break the glass", only for a break-glass access
//   agent           the client application: DCM#110150 "Application", who.identifier = client_id
//                   (system = issuer), network = network_address (type 2 IP address, or 1 machine
//                   name when it is not an IP address). Always present: it is the requestor when
//                   no user is known.
//                   the user, when subject or fhir_user is known: v3-ParticipationType#IRCP
//                   "information recipient", who.reference = fhir_user, who.identifier =
//                   (issuer, subject), requestor.
//                   The requestor carries the roles (role.text) and the purposes of use
//                   (purposeOfUse, v3-ActReason codes; BTG added on break-glass).
//                   the organization the user acts for, when known: who.reference, not requestor.
//                   the server: DCM#110152 "Destination Role ID", who.display = server_id.
//   source          observer.display = server_id, type security-source-type#4
//                   "Application Server"
//   entity          each patient: what = Patient/{id}, audit-entity-type#1 "Person",
//                   object-role#1 "Patient";
//                   each other resource touched: what = the reference as given (a version
//                   included), audit-entity-type#2 "System Object", object-role#4 "Domain
//                   Resource"; a resource that is one of the patients is not repeated;
//                   the query of a search: query = base64 of the raw query string,
//                   audit-entity-type#2, object-role#24 "Query";
//                   the request id: what.identifier.value = request_id, BALP
//                   BasicAuditEntityType#XrequestId.
// Only identifiers and references are written: no names, no resource content. Strings are
// written as valid FHIR strings (invalid UTF-8 becomes U+FFFD, control characters other than tab,
// CR and LF are dropped); empty values are omitted; a code with inner whitespace runs is written
// with single spaces, and an issuer that is not a URI (it has whitespace) is not used as a system.
#ifndef SERVER_PIPELINE_AUDIT_AUDIT_EVENT_H_
#define SERVER_PIPELINE_AUDIT_AUDIT_EVENT_H_

#include <string>
#include <vector>

namespace server::audit {

struct AuditRecord {
  std::string recorded;     // the instant the interaction completed, e.g. 2026-11-22T21:40:00Z
  std::string interaction;  // a restful-interaction code: read, vread, search-type, create, ...
  char action = 'E';        // C, R, U, D or E
  int outcome = 0;          // 0 success, 4 minor failure, 8 serious failure, 12 major failure
  std::string outcome_text;

  // Who asked (see rest::Principal); any may be empty, e.g. when authentication failed.
  std::string subject, issuer, client_id, fhir_user, organization;
  std::vector<std::string> roles;           // fhirhub role names
  std::string network_address;              // the client's IP address
  std::vector<std::string> purpose_of_use;  // v3-ActReason codes
  bool break_glass = false;

  std::vector<std::string> patients;  // Patient ids, or "Patient/{id}" references
  std::vector<std::string> entities;  // "Type/id" or "Type/id/_history/v"
  std::string query;                  // the raw query string of a search, without '?'

  std::string server_id;   // this server's identity, as the observer; "fhirhub" when empty
  std::string request_id;  // the request's X-Request-Id
};

// The AuditEvent for `record`, as compact JSON (mapping above).
std::string AuditEventJson(const AuditRecord& record);

}  // namespace server::audit

#endif  // SERVER_PIPELINE_AUDIT_AUDIT_EVENT_H_
