#include "fhir/outcome.h"

namespace fhir {

namespace {

void AddIssue(Resource& outcome, const Issue& issue) {
  Node* node = outcome.AddChild(outcome.root(), "issue");
  outcome.AddPrimitive(node, "severity", ToCode(issue.severity));
  outcome.AddPrimitive(node, "code", ToCode(issue.type));
  if (!issue.message_id.empty() || !issue.text.empty()) {
    Node* details = outcome.AddChild(node, "details");
    if (!issue.message_id.empty()) {
      Node* coding = outcome.AddChild(details, "coding");
      outcome.AddPrimitive(coding, "system", kMessageIdSystem);
      outcome.AddPrimitive(coding, "code", issue.message_id);
    }
    if (!issue.text.empty()) outcome.AddPrimitive(details, "text", issue.text);
  }
  if (!issue.expression.empty()) outcome.AddPrimitive(node, "expression", issue.expression);
}

}  // namespace

Resource ToOperationOutcome(const Error& error, const model::Definitions& defs) {
  Resource outcome;
  outcome.set_root(outcome.NewNode(nullptr, defs.FindResource("OperationOutcome")));
  for (const Issue& issue : error.issues()) AddIssue(outcome, issue);
  return outcome;
}

Resource InformationOutcome(std::string_view message_id, std::string_view text,
                            const model::Definitions& defs) {
  Resource outcome;
  outcome.set_root(outcome.NewNode(nullptr, defs.FindResource("OperationOutcome")));
  AddIssue(outcome, Issue{Severity::kInformation,
                          IssueType::kInformational,
                          std::string(message_id),
                          std::string(text),
                          {}});
  return outcome;
}

}  // namespace fhir
