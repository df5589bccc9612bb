#include "server/pipeline/consent/consent.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fhir/json/json.h"
#include "tests/support/test_definitions.h"

namespace server::consent {
namespace {

using namespace std::chrono_literals;

fhir::Resource Parse(std::string_view json) {
  fhir::Result<fhir::Resource> parsed = fhir::json::Parse(json, testing_support::Definitions());
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().text());
  return parsed.ok() ? std::move(parsed).value() : fhir::Resource();
}

// An instant: days since 1970-01-01 are counted by std::chrono.
std::chrono::system_clock::time_point At(int year, unsigned month, unsigned day, int hour = 12) {
  const std::chrono::sys_days date =
      std::chrono::year(year) / std::chrono::month(month) / std::chrono::day(day);
  return std::chrono::system_clock::time_point(date) + std::chrono::hours(hour);
}

const std::chrono::system_clock::time_point kNow = At(2024, 5, 1);

constexpr std::string_view kPrivacyScope =
    R"("scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                             "code": "patient-privacy"}]},
       "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],)";

// A Consent about Patient/p1 with the given id, status, dateTime and provision (JSON object).
fhir::Resource MakeConsent(std::string_view id, std::string_view provision,
                           std::string_view status = "active",
                           std::string_view date = "2024-01-01") {
  std::string json = R"({"resourceType": "Consent", "id": ")" + std::string(id) +
                     R"(", "status": ")" + std::string(status) + R"(", )" +
                     std::string(kPrivacyScope) +
                     R"( "patient": {"reference": "Patient/p1"}, "dateTime": ")" +
                     std::string(date) + R"(", "provision": )" + std::string(provision) + "}";
  return Parse(json);
}

ConsentPolicy PolicyOf(fhir::Resource consent, DefaultPolicy policy = DefaultPolicy::kOptOut) {
  std::vector<fhir::Resource> consents;
  consents.push_back(std::move(consent));
  return ConsentPolicy::From(std::move(consents), policy);
}

const fhir::Resource& Observation() {
  static const fhir::Resource* observation = new fhir::Resource(Parse(R"({
    "resourceType": "Observation", "id": "o1",
    "meta": {"lastUpdated": "2024-04-01T10:00:00Z",
             "profile": ["http://example.org/StructureDefinition/vitals"],
             "security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
                           "code": "R"}]},
    "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">HIV</div>"},
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "7918-6"}]},
    "subject": {"reference": "Patient/p1"},
    "effectiveDateTime": "2023-06-15T08:30:00+02:00",
    "performer": [{"reference": "Practitioner/12"}],
    "valueString": "positive"})"));
  return *observation;
}

const fhir::Resource& Condition() {
  static const fhir::Resource* condition = new fhir::Resource(Parse(R"({
    "resourceType": "Condition", "id": "c9",
    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "35489007"}]},
    "subject": {"reference": "Patient/p1"},
    "recordedDate": "2020-02-02"})"));
  return *condition;
}

Accessor Doctor(std::vector<std::string> purposes = {"TREAT"}) {
  return Accessor{{"Practitioner/12", "Organization/3"},
                  {"http://fhirhub.example/roles|clinician"},
                  std::move(purposes)};
}

Decision Read(const ConsentPolicy& policy, const Accessor& accessor,
              const fhir::Resource& resource = Observation()) {
  return policy.Decide(accessor, resource, Operation::kRead, kNow);
}

constexpr std::string_view kDenyOrganization3 = R"({"type": "deny", "actor": [{
    "role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                         "code": "PRCP"}]},
    "reference": {"reference": "Organization/3"}}]})";

TEST(ConsentPatientTest, ReadsThePatientId) {
  EXPECT_EQ(ConsentPatient(MakeConsent("c1", R"({"type": "deny"})")), "p1");
  EXPECT_EQ(ConsentPatient(Parse(R"({"resourceType": "Consent", "status": "active",
      "scope": {"text": "privacy"}, "category": [{"text": "x"}],
      "patient": {"reference": "https://fhir.example/r4/Patient/p7/_history/2"}})")),
            "p7");
  EXPECT_EQ(ConsentPatient(Parse(R"({"resourceType": "Consent", "status": "active",
      "scope": {"text": "privacy"}, "category": [{"text": "x"}]})")),
            std::nullopt);
  EXPECT_EQ(ConsentPatient(Parse(R"({"resourceType": "Consent", "status": "active",
      "scope": {"text": "privacy"}, "category": [{"text": "x"}],
      "patient": {"reference": "Group/g1"}})")),
            std::nullopt);
  EXPECT_EQ(ConsentPatient(Observation()), std::nullopt);
}

TEST(ConsentPolicyTest, DeniesAnOrganization) {
  const ConsentPolicy policy = PolicyOf(MakeConsent("c1", kDenyOrganization3));
  const Decision denied = Read(policy, Doctor());
  EXPECT_EQ(denied.verdict, Verdict::kDeny);
  EXPECT_FALSE(denied.break_glass);
  EXPECT_EQ(denied.consent, "Consent/c1");
  EXPECT_EQ(denied.reason, "denied by Consent/c1 Consent.provision");

  const Decision other = Read(policy, Accessor{{"Organization/4"}, {}, {"TREAT"}});
  EXPECT_EQ(other.verdict, Verdict::kPermit);
  EXPECT_EQ(other.consent, "");
}

TEST(ConsentPolicyTest, ReferencesCompareAsTypeAndId) {
  const ConsentPolicy policy = PolicyOf(MakeConsent("c1", R"({"type": "deny", "actor": [{
      "role": {"text": "recipient"},
      "reference": {"reference": "https://fhir.example/r4/Organization/3/_history/4"}}]})"));
  EXPECT_EQ(Read(policy, Accessor{{"Organization/3"}, {}, {}}).verdict, Verdict::kDeny);
  EXPECT_EQ(Read(policy, Accessor{{"http://other.example/Organization/3"}, {}, {}}).verdict,
            Verdict::kDeny);
  EXPECT_EQ(Read(policy, Accessor{{"Organization/33"}, {}, {}}).verdict, Verdict::kPermit);
}

TEST(ConsentPolicyTest, ActorMatchesByRole) {
  const ConsentPolicy policy = PolicyOf(MakeConsent("c1", R"({"type": "deny", "actor": [{
      "role": {"coding": [{"system": "http://fhirhub.example/roles", "code": "regulator"}]},
      "reference": {"reference": "Organization/authority"}}]})"));
  EXPECT_EQ(Read(policy, Accessor{{}, {"http://fhirhub.example/roles|regulator"}, {}}).verdict,
            Verdict::kDeny);
  EXPECT_EQ(Read(policy, Doctor()).verdict, Verdict::kPermit);
}

TEST(ConsentPolicyTest, DeniesAPurpose) {
  const ConsentPolicy policy = PolicyOf(MakeConsent("c1", R"({"type": "deny", "purpose": [
      {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HRESCH"},
      {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HPAYMT"}]})"));
  EXPECT_EQ(Read(policy, Doctor({"HRESCH"})).verdict, Verdict::kDeny);
  EXPECT_EQ(Read(policy, Doctor({"TREAT", "HPAYMT"})).verdict, Verdict::kDeny);
  EXPECT_EQ(Read(policy, Doctor({"TREAT"})).verdict, Verdict::kPermit);
  EXPECT_EQ(Read(policy, Doctor({})).verdict, Verdict::kPermit);
}

TEST(ConsentPolicyTest, PurposeOfAnotherSystemDoesNotMatch) {
  const ConsentPolicy policy = PolicyOf(MakeConsent(
      "c1",
      R"({"type": "deny", "purpose": [{"system": "http://other.example", "code": "TREAT"}]})"));
  EXPECT_EQ(Read(policy, Doctor({"TREAT"})).verdict, Verdict::kPermit);
}

TEST(ConsentPolicyTest, DeniesAResourceClass) {
  const ConsentPolicy by_type = PolicyOf(MakeConsent("c1", R"({"type": "deny", "class": [
      {"system": "http://hl7.org/fhir/resource-types", "code": "Observation"}]})"));
  EXPECT_EQ(Read(by_type, Doctor()).verdict, Verdict::kDeny);
  EXPECT_EQ(Read(by_type, Doctor(), Condition()).verdict, Verdict::kPermit);

  const ConsentPolicy by_code =
      PolicyOf(MakeConsent("c2", R"({"type": "deny", "class": [{"code": "Condition"}]})"));
  EXPECT_EQ(Read(by_code, Doctor(), Condition()).verdict, Verdict::kDeny);
  EXPECT_EQ(Read(by_code, Doctor()).verdict, Verdict::kPermit);

  const ConsentPolicy by_profile = PolicyOf(MakeConsent("c3", R"({"type": "deny", "class": [
      {"code": "http://example.org/StructureDefinition/vitals"}]})"));
  EXPECT_EQ(Read(by_profile, Doctor()).verdict, Verdict::kDeny);
  EXPECT_EQ(Read(by_profile, Doctor(), Condition()).verdict, Verdict::kPermit);
}

TEST(ConsentPolicyTest, DeniesACode) {
  const ConsentPolicy policy = PolicyOf(MakeConsent("c1", R"({"type": "deny", "code": [
      {"coding": [{"system": "http://loinc.org", "code": "7918-6"}]}]})"));
  EXPECT_EQ(Read(policy, Doctor()).verdict, Verdict::kDeny);
  EXPECT_EQ(Read(policy, Doctor(), Condition()).verdict, Verdict::kPermit);

  const ConsentPolicy other_system = PolicyOf(MakeConsent("c2", R"({"type": "deny", "code": [
      {"coding": [{"system": "http://snomed.info/sct", "code": "7918-6"}]}]})"));
  EXPECT_EQ(Read(other_system, Doctor()).verdict, Verdict::kPermit);
}

TEST(ConsentPolicyTest, DeniesASecurityLabel) {
  const ConsentPolicy policy = PolicyOf(MakeConsent("c1", R"({"type": "deny", "securityLabel": [
      {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}]})"));
  EXPECT_EQ(Read(policy, Doctor()).verdict, Verdict::kDeny);
  EXPECT_EQ(Read(policy, Doctor(), Condition()).verdict, Verdict::kPermit);

  // Confidentiality is a high-water mark: N covers L and N, not R.
  const ConsentPolicy normal = PolicyOf(MakeConsent("c2", R"({"type": "deny", "securityLabel": [
      {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "N"}]})"));
  EXPECT_EQ(Read(normal, Doctor()).verdict, Verdict::kPermit);
  const fhir::Resource low = Parse(R"({"resourceType": "Basic", "id": "b1",
      "meta": {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
                             "code": "L"}]}, "code": {"text": "x"}})");
  EXPECT_EQ(Read(normal, Doctor(), low).verdict, Verdict::kDeny);

  // Another system's label with the same code does not match.
  const ConsentPolicy other = PolicyOf(MakeConsent("c3", R"({"type": "deny", "securityLabel": [
      {"system": "http://example.org/labels", "code": "R"}]})"));
  EXPECT_EQ(Read(other, Doctor()).verdict, Verdict::kPermit);
}

TEST(ConsentPolicyTest, DeniesDataOfAPeriod) {
  const ConsentPolicy policy = PolicyOf(MakeConsent("c1", R"({"type": "deny",
      "dataPeriod": {"start": "2023-01-01", "end": "2023-12-31"}})"));
  // effectiveDateTime 2023-06-15: inside; recordedDate 2020-02-02: outside.
  EXPECT_EQ(Read(policy, Doctor()).verdict, Verdict::kDeny);
  EXPECT_EQ(Read(policy, Doctor(), Condition()).verdict, Verdict::kPermit);

  // The end date covers its whole day; a time-zone offset shifts the instant.
  const fhir::Resource late = Parse(R"({"resourceType": "Observation", "id": "o2",
      "status": "final", "code": {"text": "x"},
      "effectiveDateTime": "2023-12-31T23:30:00Z"})");
  EXPECT_EQ(Read(policy, Doctor(), late).verdict, Verdict::kDeny);
  const fhir::Resource next_year_utc = Parse(R"({"resourceType": "Observation", "id": "o3",
      "status": "final", "code": {"text": "x"},
      "effectiveDateTime": "2023-12-31T23:30:00-01:00"})");
  EXPECT_EQ(Read(policy, Doctor(), next_year_utc).verdict, Verdict::kPermit);

  // Without a clinical date, meta.lastUpdated counts; without any date, no match.
  const fhir::Resource updated = Parse(R"({"resourceType": "Basic", "id": "b1",
      "meta": {"lastUpdated": "2023-03-03T00:00:00Z"}, "code": {"text": "x"}})");
  EXPECT_EQ(Read(policy, Doctor(), updated).verdict, Verdict::kDeny);
  const fhir::Resource undated =
      Parse(R"({"resourceType": "Basic", "id": "b2", "code": {"text": "x"}})");
  EXPECT_EQ(Read(policy, Doctor(), undated).verdict, Verdict::kPermit);
}

TEST(ConsentPolicyTest, DeniesDataByReference) {
  const ConsentPolicy instance = PolicyOf(MakeConsent("c1", R"({"type": "deny", "data": [
      {"meaning": "instance", "reference": {"reference": "Observation/o1"}}]})"));
  EXPECT_EQ(Read(instance, Doctor()).verdict, Verdict::kDeny);
  EXPECT_EQ(Read(instance, Doctor(), Condition()).verdict, Verdict::kPermit);

  const ConsentPolicy dependents = PolicyOf(MakeConsent("c2", R"({"type": "deny", "data": [
      {"meaning": "dependents", "reference": {"reference": "Patient/p1"}}]})"));
  EXPECT_EQ(Read(dependents, Doctor()).verdict, Verdict::kDeny);
  EXPECT_EQ(Read(dependents, Doctor(), Condition()).verdict, Verdict::kDeny);

  const ConsentPolicy authored = PolicyOf(MakeConsent("c3", R"({"type": "deny", "data": [
      {"meaning": "authoredby", "reference": {"reference": "Practitioner/12"}}]})"));
  EXPECT_EQ(Read(authored, Doctor()).verdict, Verdict::kDeny);
  EXPECT_EQ(Read(authored, Doctor(), Condition()).verdict, Verdict::kPermit);
}

TEST(ConsentPolicyTest, ActionSeparatesReadsFromWrites) {
  const ConsentPolicy policy = PolicyOf(MakeConsent("c1", R"({"type": "deny", "action": [
      {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentaction",
                   "code": "correct"}]}]})"));
  EXPECT_EQ(policy.Decide(Doctor(), Observation(), Operation::kWrite, kNow).verdict,
            Verdict::kDeny);
  EXPECT_EQ(policy.Decide(Doctor(), Observation(), Operation::kRead, kNow).verdict,
            Verdict::kPermit);

  const ConsentPolicy disclose = PolicyOf(MakeConsent("c2", R"({"type": "deny", "action": [
      {"coding": [{"code": "disclose"}]}]})"));
  EXPECT_EQ(disclose.Decide(Doctor(), Observation(), Operation::kRead, kNow).verdict,
            Verdict::kDeny);
  EXPECT_EQ(disclose.Decide(Doctor(), Observation(), Operation::kWrite, kNow).verdict,
            Verdict::kPermit);
}

TEST(ConsentPolicyTest, EveryCriterionMustMatch) {
  const ConsentPolicy policy = PolicyOf(MakeConsent("c1", R"({"type": "deny",
      "actor": [{"role": {"text": "r"}, "reference": {"reference": "Organization/3"}}],
      "class": [{"code": "Condition"}]})"));
  EXPECT_EQ(Read(policy, Doctor(), Condition()).verdict, Verdict::kDeny);
  EXPECT_EQ(Read(policy, Doctor()).verdict, Verdict::kPermit);
  EXPECT_EQ(Read(policy, Accessor{{"Organization/4"}, {}, {}}, Condition()).verdict,
            Verdict::kPermit);
}

TEST(ConsentPolicyTest, DeniesDuringAPeriod) {
  // A provision period, at the root (does the Consent count) and nested.
  const ConsentPolicy root = PolicyOf(MakeConsent(
      "c1", R"({"type": "deny", "period": {"start": "2024-04-01", "end": "2024-04-30"}})"));
  EXPECT_EQ(root.Decide(Doctor(), Observation(), Operation::kRead, At(2024, 4, 30, 23)).verdict,
            Verdict::kDeny);
  EXPECT_EQ(root.Decide(Doctor(), Observation(), Operation::kRead, At(2024, 5, 1, 0)).verdict,
            Verdict::kPermit);
  EXPECT_EQ(root.Decide(Doctor(), Observation(), Operation::kRead, At(2024, 3, 31, 23)).verdict,
            Verdict::kPermit);

  const ConsentPolicy open_ended = PolicyOf(
      MakeConsent("c2", R"({"type": "deny", "period": {"start": "2024-04-15T09:00:00+02:00"}})"));
  EXPECT_EQ(
      open_ended.Decide(Doctor(), Observation(), Operation::kRead, At(2024, 4, 15, 6)).verdict,
      Verdict::kPermit);
  EXPECT_EQ(
      open_ended.Decide(Doctor(), Observation(), Operation::kRead, At(2024, 4, 15, 7)).verdict,
      Verdict::kDeny);
}

TEST(ConsentPolicyTest, OnlyActivePrivacyConsentsCount) {
  for (std::string_view status :
       {"inactive", "rejected", "entered-in-error", "draft", "proposed"}) {
    const ConsentPolicy policy = PolicyOf(MakeConsent("c1", kDenyOrganization3, status));
    EXPECT_EQ(policy.size(), 0u) << status;
    EXPECT_EQ(Read(policy, Doctor()).verdict, Verdict::kPermit) << status;
  }

  const ConsentPolicy research = PolicyOf(Parse(R"({"resourceType": "Consent", "id": "r1",
      "status": "active",
      "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                            "code": "research"}]},
      "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
      "provision": {"type": "deny"}})"));
  EXPECT_EQ(research.size(), 0u);

  const ConsentPolicy by_category = PolicyOf(Parse(R"({"resourceType": "Consent", "id": "k1",
      "status": "active", "scope": {"text": "privacy"},
      "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                "code": "INFA"}]}],
      "provision": {"type": "deny"}})"));
  EXPECT_EQ(by_category.size(), 1u);
  EXPECT_EQ(Read(by_category, Doctor()).verdict, Verdict::kDeny);

  const ConsentPolicy other_category = PolicyOf(Parse(R"({"resourceType": "Consent", "id": "k2",
      "status": "active", "scope": {"text": "privacy"},
      "category": [{"coding": [{"system": "http://loinc.org", "code": "11506-3"}]}],
      "provision": {"type": "deny"}})"));
  EXPECT_EQ(other_category.size(), 0u);

  EXPECT_EQ(PolicyOf(Condition().Clone()).size(), 0u);
}

TEST(ConsentPolicyTest, RevocationByStatusInactive) {
  std::vector<fhir::Resource> consents;
  consents.push_back(MakeConsent("c1", kDenyOrganization3, "inactive", "2024-03-01"));
  consents.push_back(MakeConsent("c2", R"({"type": "deny", "class": [{"code": "Condition"}]})",
                                 "active", "2023-01-01"));
  const ConsentPolicy policy = ConsentPolicy::From(std::move(consents), DefaultPolicy::kOptOut);
  EXPECT_EQ(Read(policy, Doctor()).verdict, Verdict::kPermit);
  EXPECT_EQ(Read(policy, Doctor(), Condition()).consent, "Consent/c2");
}

TEST(ConsentPolicyTest, NestedProvisionsAreExceptions) {
  // Deny everyone, except Organization/3, except its research purposes.
  const ConsentPolicy policy = PolicyOf(MakeConsent("c1", R"({"type": "deny", "provision": [
      {"type": "permit",
       "actor": [{"role": {"text": "r"}, "reference": {"reference": "Organization/3"}}],
       "provision": [{"type": "deny", "purpose": [{"code": "HRESCH"}]}]}]})"));
  EXPECT_EQ(Read(policy, Accessor{{"Organization/4"}, {}, {"TREAT"}}).verdict, Verdict::kDeny);
  const Decision permitted = Read(policy, Doctor({"TREAT"}));
  EXPECT_EQ(permitted.verdict, Verdict::kPermit);
  EXPECT_EQ(permitted.reason, "permitted by Consent/c1 Consent.provision.provision[0]");
  const Decision research = Read(policy, Doctor({"HRESCH"}));
  EXPECT_EQ(research.verdict, Verdict::kDeny);
  EXPECT_EQ(research.reason, "denied by Consent/c1 Consent.provision.provision[0].provision[0]");
}

TEST(ConsentPolicyTest, NestedProvisionsApplyOnlyWithinTheirParent) {
  // The nested permit is about Organization/3 only where the root (class Condition) matches.
  const ConsentPolicy policy = PolicyOf(MakeConsent("c1", R"({"type": "deny",
      "class": [{"code": "Condition"}], "provision": [{"type": "permit",
       "actor": [{"role": {"text": "r"}, "reference": {"reference": "Organization/3"}}]}]})"));
  EXPECT_EQ(Read(policy, Doctor(), Condition()).verdict, Verdict::kPermit);
  EXPECT_EQ(Read(policy, Accessor{{"Organization/4"}, {}, {}}, Condition()).verdict,
            Verdict::kDeny);
  EXPECT_EQ(Read(policy, Doctor(), Observation()).consent, "");
}

TEST(ConsentPolicyTest, UntypedProvisionsInheritOrDecideNothing) {
  // A nested provision without a type takes its parent's.
  const ConsentPolicy inherits = PolicyOf(MakeConsent("c1", R"({"type": "deny",
      "class": [{"code": "Observation"}], "provision": [{"purpose": [{"code": "HRESCH"}]}]})"));
  EXPECT_EQ(Read(inherits, Doctor({"HRESCH"})).reason,
            "denied by Consent/c1 Consent.provision.provision[0]");

  // A root without a type decides only through its typed nested provisions.
  const ConsentPolicy untyped =
      PolicyOf(MakeConsent("c2", R"({"purpose": [{"code": "HRESCH"}], "provision": [
          {"type": "deny", "class": [{"code": "Condition"}]}]})"),
               DefaultPolicy::kOptIn);
  EXPECT_EQ(Read(untyped, Doctor({"HRESCH"}), Condition()).consent, "Consent/c2");
  const Decision nothing = Read(untyped, Doctor({"HRESCH"}));
  EXPECT_EQ(nothing.verdict, Verdict::kDeny);
  EXPECT_EQ(nothing.consent, "");
}

TEST(ConsentPolicyTest, SiblingsAtTheSameDepthPreferDeny) {
  const ConsentPolicy policy = PolicyOf(MakeConsent("c1", R"({"type": "permit", "provision": [
      {"type": "permit", "class": [{"code": "Observation"}]},
      {"type": "deny", "purpose": [{"code": "TREAT"}]}]})"));
  EXPECT_EQ(Read(policy, Doctor({"TREAT"})).verdict, Verdict::kDeny);
  EXPECT_EQ(Read(policy, Doctor({"HPAYMT"})).verdict, Verdict::kPermit);
}

TEST(ConsentPolicyTest, TheDeepestMatchingProvisionDecides) {
  // Depth 2 (permit under the Observation deny) beats the depth-1 deny for TREAT.
  const ConsentPolicy policy = PolicyOf(MakeConsent("c1", R"({"type": "permit", "provision": [
      {"type": "deny", "class": [{"code": "Observation"}],
       "provision": [{"type": "permit", "purpose": [{"code": "TREAT"}]}]},
      {"type": "deny", "purpose": [{"code": "TREAT"}]}]})"));
  const Decision decision = Read(policy, Doctor({"TREAT"}));
  EXPECT_EQ(decision.verdict, Verdict::kPermit);
  EXPECT_EQ(decision.reason, "permitted by Consent/c1 Consent.provision.provision[0].provision[0]");
  EXPECT_EQ(Read(policy, Doctor({"TREAT"}), Condition()).verdict, Verdict::kDeny);
}

TEST(ConsentPolicyTest, TheMostRecentConsentDecides) {
  std::vector<fhir::Resource> consents;
  consents.push_back(MakeConsent("old", R"({"type": "deny", "class": [{"code": "Condition"}]})",
                                 "active", "2023-01-01"));
  consents.push_back(MakeConsent("new", R"({"type": "permit", "actor": [{"role": {"text": "r"},
      "reference": {"reference": "Organization/3"}}]})",
                                 "active", "2024-02-01T10:00:00Z"));
  consents.push_back(MakeConsent("oldest", kDenyOrganization3, "active", "2022"));
  const ConsentPolicy policy = ConsentPolicy::From(std::move(consents), DefaultPolicy::kOptOut);
  const Decision decision = Read(policy, Doctor(), Condition());
  EXPECT_EQ(decision.verdict, Verdict::kPermit);
  EXPECT_EQ(decision.consent, "Consent/new");

  // Where only an older one matches, it decides.
  const Decision older = Read(policy, Accessor{{"Organization/4"}, {}, {}}, Condition());
  EXPECT_EQ(older.verdict, Verdict::kDeny);
  EXPECT_EQ(older.consent, "Consent/old");
  EXPECT_EQ(Read(policy, Accessor{{"Organization/4"}, {}, {}}).consent, "");
}

TEST(ConsentPolicyTest, AConsentWithoutDateTimeIsTheOldest) {
  std::vector<fhir::Resource> consents;
  consents.push_back(Parse(R"({"resourceType": "Consent", "id": "nodate", "status": "active",
      "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                            "code": "patient-privacy"}]},
      "category": [{"text": "privacy"}], "provision": {"type": "permit"}})"));
  consents.push_back(MakeConsent("dated", kDenyOrganization3, "active", "2000"));
  const ConsentPolicy policy = ConsentPolicy::From(std::move(consents), DefaultPolicy::kOptIn);
  EXPECT_EQ(Read(policy, Doctor()).consent, "Consent/dated");
  EXPECT_EQ(Read(policy, Accessor{{"Organization/4"}, {}, {}}).consent, "Consent/nodate");
}

TEST(ConsentPolicyTest, EqualDatesPreferDeny) {
  std::vector<fhir::Resource> consents;
  consents.push_back(MakeConsent("permit", R"({"type": "permit"})", "active", "2024-01-01"));
  consents.push_back(MakeConsent("deny", kDenyOrganization3, "active", "2024-01-01"));
  const ConsentPolicy policy = ConsentPolicy::From(std::move(consents), DefaultPolicy::kOptIn);
  EXPECT_EQ(Read(policy, Doctor()).consent, "Consent/deny");
  EXPECT_EQ(Read(policy, Accessor{{"Organization/4"}, {}, {}}).consent, "Consent/permit");
}

TEST(ConsentPolicyTest, DefaultPolicyDecidesWhenNothingMatches) {
  const ConsentPolicy opt_out = ConsentPolicy::From({}, DefaultPolicy::kOptOut);
  const Decision permitted = Read(opt_out, Doctor());
  EXPECT_EQ(permitted.verdict, Verdict::kPermit);
  EXPECT_EQ(permitted.consent, "");
  EXPECT_FALSE(permitted.reason.empty());

  const ConsentPolicy opt_in =
      PolicyOf(MakeConsent("c1", R"({"type": "permit", "purpose": [{"code": "TREAT"}]})"),
               DefaultPolicy::kOptIn);
  EXPECT_EQ(Read(opt_in, Doctor({"TREAT"})).verdict, Verdict::kPermit);
  const Decision denied = Read(opt_in, Doctor({"HPAYMT"}));
  EXPECT_EQ(denied.verdict, Verdict::kDeny);
  EXPECT_EQ(denied.consent, "");
}

TEST(ConsentPolicyTest, MaskObligationMasks) {
  const ConsentPolicy policy = PolicyOf(MakeConsent("c1", R"({"type": "deny",
      "class": [{"code": "Observation"}],
      "securityLabel": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObligationPolicy",
                         "code": "MASK"}]})"));
  const Decision masked = Read(policy, Doctor());
  EXPECT_EQ(masked.verdict, Verdict::kMask);
  EXPECT_EQ(masked.reason, "masked by Consent/c1 Consent.provision");
  EXPECT_EQ(Read(policy, Doctor(), Condition()).verdict, Verdict::kPermit);

  // The obligation is the deciding provision's: a nested deny without one denies.
  const ConsentPolicy nested = PolicyOf(MakeConsent("c2", R"({"type": "deny",
      "securityLabel": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObligationPolicy",
                         "code": "REDACT"}],
      "provision": [{"type": "deny", "purpose": [{"code": "HPAYMT"}]}]})"));
  EXPECT_EQ(Read(nested, Doctor({"TREAT"})).verdict, Verdict::kMask);
  EXPECT_EQ(Read(nested, Doctor({"HPAYMT"})).verdict, Verdict::kDeny);

  // A permit with an obligation code permits.
  const ConsentPolicy permit = PolicyOf(MakeConsent("c3", R"({"type": "permit",
      "securityLabel": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObligationPolicy",
                         "code": "MASK"}]})"),
                                        DefaultPolicy::kOptIn);
  EXPECT_EQ(Read(permit, Doctor()).verdict, Verdict::kPermit);
}

TEST(MaskTest, KeepsOnlyIdentityStatusAndPatient) {
  fhir::Result<fhir::Resource> masked = Mask(Observation());
  ASSERT_TRUE(masked.ok());
  const std::string json = fhir::json::Write(*masked);
  EXPECT_EQ(json, R"({"resourceType":"Observation","id":"o1","meta":{"lastUpdated":)"
                  R"("2024-04-01T10:00:00Z","security":[{"system":)"
                  R"("http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"},)"
                  R"({"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue",)"
                  R"("code":"REDACTED","display":"redacted"}]},"status":"final",)"
                  R"("subject":{"reference":"Patient/p1"}})");
  // A valid resource of the model: the codec reads it back to the same text.
  fhir::Result<fhir::Resource> reread = fhir::json::Parse(json, testing_support::Definitions());
  ASSERT_TRUE(reread.ok());
  EXPECT_EQ(fhir::json::Write(*reread), json);
  // The original is untouched.
  EXPECT_NE(fhir::json::Write(Observation()).find("positive"), std::string::npos);
}

TEST(MaskTest, AddsMetaAndTheLabelOnce) {
  const fhir::Resource encounter = Parse(R"({"resourceType": "Encounter", "id": "e1",
      "status": "finished", "class": {"code": "AMB"}, "subject": {"reference": "Patient/p1"},
      "reasonCode": [{"text": "confidential"}]})");
  fhir::Result<fhir::Resource> masked = Mask(encounter);
  ASSERT_TRUE(masked.ok());
  EXPECT_EQ(fhir::json::Write(*masked),
            R"({"resourceType":"Encounter","id":"e1","meta":{"security":[{"system":)"
            R"("http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"REDACTED",)"
            R"("display":"redacted"}]},"status":"finished","subject":{"reference":"Patient/p1"}})");
  fhir::Result<fhir::Resource> twice = Mask(*masked);
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(fhir::json::Write(*twice), fhir::json::Write(*masked));

  const fhir::Resource allergy = Parse(R"({"resourceType": "AllergyIntolerance", "id": "a1",
      "code": {"text": "penicillin"}, "patient": {"reference": "Patient/p1"}})");
  fhir::Result<fhir::Resource> masked_allergy = Mask(allergy);
  ASSERT_TRUE(masked_allergy.ok());
  const std::string json = fhir::json::Write(*masked_allergy);
  EXPECT_EQ(json.find("penicillin"), std::string::npos);
  EXPECT_NE(json.find(R"("patient":{"reference":"Patient/p1"})"), std::string::npos);
  EXPECT_TRUE(fhir::json::Parse(json, testing_support::Definitions()).ok());
}

TEST(MaskTest, RefusesAnEmptyResource) {
  fhir::Result<fhir::Resource> masked = Mask(fhir::Resource());
  ASSERT_FALSE(masked.ok());
  EXPECT_EQ(masked.error().message_id(), "consent.mask-empty");
  EXPECT_EQ(masked.error().http_status(), 500);
}

TEST(ConsentPolicyTest, BreakGlassPermitsWhatIsDenied) {
  const ConsentPolicy policy = PolicyOf(MakeConsent("c1", kDenyOrganization3));
  for (std::string_view purpose : {"BTG", "ETREAT"}) {
    const Decision decision = Read(policy, Doctor({"TREAT", std::string(purpose)}));
    EXPECT_EQ(decision.verdict, Verdict::kPermit) << purpose;
    EXPECT_TRUE(decision.break_glass) << purpose;
    EXPECT_EQ(decision.consent, "Consent/c1") << purpose;
    EXPECT_EQ(decision.reason, "break-glass (denied by Consent/c1 Consent.provision)");
  }

  // The opt-in default and a mask yield to break-glass as well; a permit is not break-glass.
  const ConsentPolicy opt_in = ConsentPolicy::From({}, DefaultPolicy::kOptIn);
  const Decision by_default = Read(opt_in, Doctor({"BTG"}));
  EXPECT_EQ(by_default.verdict, Verdict::kPermit);
  EXPECT_TRUE(by_default.break_glass);

  const ConsentPolicy mask = PolicyOf(MakeConsent("c2", R"({"type": "deny",
      "securityLabel": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObligationPolicy",
                         "code": "MASK"}]})"));
  EXPECT_TRUE(Read(mask, Doctor({"ETREAT"})).break_glass);

  const Decision permitted = Read(ConsentPolicy::From({}, DefaultPolicy::kOptOut), Doctor({"BTG"}));
  EXPECT_EQ(permitted.verdict, Verdict::kPermit);
  EXPECT_FALSE(permitted.break_glass);
}

TEST(ConsentPolicyTest, ReadsTheSpecificationExample) {
  // consent-example-notOrg: deny Organization/f001 access and correction.
  const fhir::Resource example = Parse(testing_support::ReadFile(
      testing_support::PackageDir() / "Consent-consent-example-notOrg.json"));
  EXPECT_EQ(ConsentPatient(example), "f001");
  std::vector<fhir::Resource> consents;
  consents.push_back(example.Clone());
  const ConsentPolicy policy = ConsentPolicy::From(std::move(consents), DefaultPolicy::kOptOut);
  const Accessor f001{{"Organization/f001"}, {}, {"TREAT"}};
  EXPECT_EQ(Read(policy, f001).verdict, Verdict::kDeny);
  EXPECT_EQ(policy.Decide(f001, Observation(), Operation::kWrite, kNow).verdict, Verdict::kDeny);
  EXPECT_EQ(Read(policy, Doctor()).verdict, Verdict::kPermit);
}

TEST(ConsentPolicyTest, ReadsTheFilesUnderTestData) {
  const std::filesystem::path dir = testing_support::TestDataDir() / "consent";
  std::vector<fhir::Resource> consents;
  consents.push_back(Parse(testing_support::ReadFile(dir / "deny-organization.json")));
  consents.push_back(Parse(testing_support::ReadFile(dir / "revoked-deny-purpose.json")));
  consents.push_back(Parse(testing_support::ReadFile(dir / "mask-hiv-results.json")));
  const ConsentPolicy policy = ConsentPolicy::From(std::move(consents), DefaultPolicy::kOptOut);
  EXPECT_EQ(policy.size(), 2u);
  EXPECT_EQ(Read(policy, Accessor{{"Organization/insurer"}, {}, {"HPAYMT"}}).verdict,
            Verdict::kDeny);
  EXPECT_EQ(Read(policy, Accessor{{"Organization/4"}, {}, {"HRESCH"}}).verdict, Verdict::kMask);
  EXPECT_EQ(Read(policy, Accessor{{"Organization/4"}, {}, {"HRESCH"}}, Condition()).verdict,
            Verdict::kPermit);
}

TEST(AccessorTest, FromAPrincipal) {
  rest::Principal principal;
  principal.fhir_user = "PractitionerRole/5";
  principal.organization = "Organization/3";
  principal.purpose_of_use = {"TREAT", "BTG"};
  principal.roles = {rest::Role::kClinician};
  const Accessor accessor = AccessorFor(principal, {"http://fhirhub.example/roles|clinician"});
  EXPECT_EQ(accessor.references,
            (std::vector<std::string>{"PractitionerRole/5", "Organization/3"}));
  EXPECT_EQ(accessor.roles, (std::vector<std::string>{"http://fhirhub.example/roles|clinician"}));
  EXPECT_EQ(accessor.purposes, (std::vector<std::string>{"TREAT", "BTG"}));

  EXPECT_TRUE(AccessorFor(rest::Principal{}, {}).references.empty());
}

}  // namespace
}  // namespace server::consent
