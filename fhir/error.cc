#include "fhir/error.h"

#include <utility>

namespace fhir {

std::string_view ToCode(Severity severity) {
  switch (severity) {
    case Severity::kFatal:
      return "fatal";
    case Severity::kError:
      return "error";
    case Severity::kWarning:
      return "warning";
    case Severity::kInformation:
      return "information";
  }
  return "error";
}

std::string_view ToCode(IssueType type) {
  switch (type) {
    case IssueType::kInvalid:
      return "invalid";
    case IssueType::kStructure:
      return "structure";
    case IssueType::kRequired:
      return "required";
    case IssueType::kValue:
      return "value";
    case IssueType::kInvariant:
      return "invariant";
    case IssueType::kSecurity:
      return "security";
    case IssueType::kLogin:
      return "login";
    case IssueType::kUnknown:
      return "unknown";
    case IssueType::kExpired:
      return "expired";
    case IssueType::kForbidden:
      return "forbidden";
    case IssueType::kSuppressed:
      return "suppressed";
    case IssueType::kProcessing:
      return "processing";
    case IssueType::kNotSupported:
      return "not-supported";
    case IssueType::kDuplicate:
      return "duplicate";
    case IssueType::kMultipleMatches:
      return "multiple-matches";
    case IssueType::kNotFound:
      return "not-found";
    case IssueType::kDeleted:
      return "deleted";
    case IssueType::kTooLong:
      return "too-long";
    case IssueType::kCodeInvalid:
      return "code-invalid";
    case IssueType::kExtension:
      return "extension";
    case IssueType::kTooCostly:
      return "too-costly";
    case IssueType::kBusinessRule:
      return "business-rule";
    case IssueType::kConflict:
      return "conflict";
    case IssueType::kTransient:
      return "transient";
    case IssueType::kLockError:
      return "lock-error";
    case IssueType::kNoStore:
      return "no-store";
    case IssueType::kException:
      return "exception";
    case IssueType::kTimeout:
      return "timeout";
    case IssueType::kIncomplete:
      return "incomplete";
    case IssueType::kThrottled:
      return "throttled";
    case IssueType::kInformational:
      return "informational";
  }
  return "exception";
}

namespace {

Error Make(int status, IssueType type, std::string message_id, std::string text,
           std::string expression = {}) {
  return Error(status, Issue{Severity::kError, type, std::move(message_id), std::move(text),
                             std::move(expression)});
}

}  // namespace

Error::Error(int http_status, Issue issue) : http_status_(http_status) {
  issues_.push_back(std::move(issue));
}

Error::Error(int http_status, std::vector<Issue> issues)
    : http_status_(http_status), issues_(std::move(issues)) {
  if (issues_.empty()) {
    issues_.push_back(Issue{
        Severity::kError, IssueType::kException, "error.unspecified", "Unspecified error", {}});
  }
}

// The one table from named constructor to (HTTP status, issue type).
Error Error::Invalid(std::string id, std::string text, std::string expression) {
  return Make(400, IssueType::kInvalid, std::move(id), std::move(text), std::move(expression));
}
Error Error::Structure(std::string id, std::string text, std::string expression) {
  return Make(400, IssueType::kStructure, std::move(id), std::move(text), std::move(expression));
}
Error Error::Unprocessable(std::string id, std::string text, std::string expression) {
  return Make(422, IssueType::kProcessing, std::move(id), std::move(text), std::move(expression));
}
Error Error::Unauthorized(std::string id, std::string text) {
  return Make(401, IssueType::kLogin, std::move(id), std::move(text));
}
Error Error::Forbidden(std::string id, std::string text) {
  return Make(403, IssueType::kForbidden, std::move(id), std::move(text));
}
Error Error::NotFound(std::string id, std::string text) {
  return Make(404, IssueType::kNotFound, std::move(id), std::move(text));
}
Error Error::MethodNotAllowed(std::string id, std::string text) {
  return Make(405, IssueType::kNotSupported, std::move(id), std::move(text));
}
Error Error::NotAcceptable(std::string id, std::string text) {
  return Make(406, IssueType::kNotSupported, std::move(id), std::move(text));
}
Error Error::Timeout(std::string id, std::string text) {
  return Make(408, IssueType::kTimeout, std::move(id), std::move(text));
}
Error Error::Conflict(std::string id, std::string text) {
  return Make(409, IssueType::kConflict, std::move(id), std::move(text));
}
Error Error::Gone(std::string id, std::string text) {
  return Make(410, IssueType::kDeleted, std::move(id), std::move(text));
}
Error Error::PreconditionFailed(std::string id, std::string text) {
  return Make(412, IssueType::kConflict, std::move(id), std::move(text));
}
Error Error::TooLarge(std::string id, std::string text) {
  return Make(413, IssueType::kTooLong, std::move(id), std::move(text));
}
Error Error::UnsupportedMediaType(std::string id, std::string text) {
  return Make(415, IssueType::kNotSupported, std::move(id), std::move(text));
}
Error Error::HeadersTooLarge(std::string id, std::string text) {
  return Make(431, IssueType::kTooLong, std::move(id), std::move(text));
}
Error Error::Internal(std::string id, std::string text) {
  return Make(500, IssueType::kException, std::move(id), std::move(text));
}
Error Error::NotSupported(std::string id, std::string text) {
  return Make(501, IssueType::kNotSupported, std::move(id), std::move(text));
}
Error Error::Unavailable(std::string id, std::string text) {
  return Make(503, IssueType::kTransient, std::move(id), std::move(text));
}

}  // namespace fhir
