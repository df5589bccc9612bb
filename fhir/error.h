// fhir::Error: the one error value of the project. An Error carries an HTTP status and one or
// more OperationOutcome issues (severity, FHIR issue type, a stable message id that tests assert
// on, human text, and the FHIRPath location of the fault). Named constructors fix the issue type
// and status together, so the mapping lives in one table (error.cc).
#ifndef FHIR_ERROR_H_
#define FHIR_ERROR_H_

#include <string>
#include <string_view>
#include <vector>

namespace fhir {

enum class Severity { kFatal, kError, kWarning, kInformation };

// The FHIR R4 issue-type value set (http://hl7.org/fhir/issue-type), those the server emits.
enum class IssueType {
  kInvalid,
  kStructure,
  kRequired,
  kValue,
  kInvariant,
  kSecurity,
  kLogin,
  kUnknown,
  kExpired,
  kForbidden,
  kSuppressed,
  kProcessing,
  kNotSupported,
  kDuplicate,
  kMultipleMatches,
  kNotFound,
  kDeleted,
  kTooLong,
  kCodeInvalid,
  kExtension,
  kTooCostly,
  kBusinessRule,
  kConflict,
  kTransient,
  kLockError,
  kNoStore,
  kException,
  kTimeout,
  kIncomplete,
  kThrottled,
  kInformational,
};

std::string_view ToCode(Severity severity);
std::string_view ToCode(IssueType type);

struct Issue {
  Severity severity = Severity::kError;
  IssueType type = IssueType::kInvalid;
  std::string message_id;  // stable, e.g. "json.unknown-element"
  std::string text;        // human-readable; never contains PHI values or SQL
  std::string expression;  // FHIRPath location, e.g. "Patient.name[1].given[0]"; may be empty
};

class Error {
 public:
  // 400: the request or resource is malformed.
  static Error Invalid(std::string message_id, std::string text, std::string expression = {});
  // 400 with issue type "structure": the content does not match the FHIR structure.
  static Error Structure(std::string message_id, std::string text, std::string expression = {});
  // 422: well-formed but violates a rule (profile, business rule).
  static Error Unprocessable(std::string message_id, std::string text, std::string expression = {});
  static Error Unauthorized(std::string message_id, std::string text);          // 401
  static Error Forbidden(std::string message_id, std::string text);             // 403
  static Error NotFound(std::string message_id, std::string text);              // 404
  static Error MethodNotAllowed(std::string message_id, std::string text);      // 405
  static Error NotAcceptable(std::string message_id, std::string text);         // 406
  static Error Timeout(std::string message_id, std::string text);               // 408
  static Error Conflict(std::string message_id, std::string text);              // 409
  static Error Gone(std::string message_id, std::string text);                  // 410
  static Error PreconditionFailed(std::string message_id, std::string text);    // 412
  static Error TooLarge(std::string message_id, std::string text);              // 413
  static Error UnsupportedMediaType(std::string message_id, std::string text);  // 415
  static Error HeadersTooLarge(std::string message_id, std::string text);       // 431
  static Error Internal(std::string message_id, std::string text);              // 500
  static Error NotSupported(std::string message_id, std::string text);          // 501
  static Error Unavailable(std::string message_id, std::string text);           // 503

  Error(int http_status, Issue issue);
  Error(int http_status, std::vector<Issue> issues);

  int http_status() const { return http_status_; }
  const std::vector<Issue>& issues() const { return issues_; }
  // The first issue's message id and text, for logs and tests.
  const std::string& message_id() const { return issues_.front().message_id; }
  const std::string& text() const { return issues_.front().text; }

  void Add(Issue issue) { issues_.push_back(std::move(issue)); }

 private:
  int http_status_;
  std::vector<Issue> issues_;  // never empty
};

}  // namespace fhir

#endif  // FHIR_ERROR_H_
