#include "fhir/fhirpath/fhirpath.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fhir/json/json.h"
#include "tests/support/test_definitions.h"

namespace fhir::fhirpath {
namespace {

constexpr std::string_view kPatient = R"({
  "resourceType": "Patient",
  "id": "example",
  "active": true,
  "name": [
    {"use": "official", "family": "Chalmers", "given": ["Peter", "James"]},
    {"use": "usual", "given": ["Jim"]},
    {"use": "maiden", "family": "Windsor", "given": ["Peter", "James"]}
  ],
  "gender": "male",
  "birthDate": "1974-12-25",
  "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                                "valueDateTime": "1974-12-25T14:35:45-05:00"}]},
  "contained": [{"resourceType": "Organization", "id": "org1", "name": "Acme"}],
  "managingOrganization": {"reference": "#org1"}
})";

constexpr std::string_view kObservation = R"({
  "resourceType": "Observation",
  "id": "bw",
  "status": "final",
  "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
  "valueQuantity": {"value": 185, "unit": "lbs", "system": "http://unitsofmeasure.org",
                    "code": "[lb_av]"}
})";

class FhirpathTest : public ::testing::Test {
 protected:
  static const model::Definitions& Defs() { return testing_support::Definitions(); }

  static Resource Load(std::string_view json) {
    auto r = json::Parse(json, Defs());
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().text());
    return std::move(r).value();
  }

  // The result as "type:text" strings.
  std::vector<std::string> Eval(std::string_view expression, std::string_view json = kPatient) {
    Resource resource = Load(json);
    auto expr = Expression::Compile(expression, Defs());
    if (!expr.ok()) return {"compile-error:" + expr.error().message_id()};
    EvaluationContext ctx;
    ctx.resource = resource.root();
    Temporal now = *Temporal::ParseLiteral("2024-03-01T10:20:30.000+00:00");
    ctx.now = now;
    auto result = expr->Evaluate(ctx);
    if (!result.ok()) return {"error:" + result.error().message_id()};
    std::vector<std::string> out;
    for (const Value& v : *result) {
      out.push_back(std::string(OutputTypeName(v)) + ":" + OutputText(v));
    }
    return out;
  }

  std::string One(std::string_view expression, std::string_view json = kPatient) {
    auto r = Eval(expression, json);
    if (r.size() != 1) return "count=" + std::to_string(r.size());
    return r[0];
  }
};

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST_F(FhirpathTest, NavigatesPaths) {
  EXPECT_THAT(Eval("Patient.name.given"), ElementsAre("string:Peter", "string:James", "string:Jim",
                                                      "string:Peter", "string:James"));
  EXPECT_THAT(Eval("name.where(use = 'official').family"), ElementsAre("string:Chalmers"));
  EXPECT_THAT(Eval("Patient.name.suffix"), IsEmpty());
  EXPECT_EQ(One("Patient.gender"), "code:male");
  EXPECT_THAT(Eval("Encounter.name"), IsEmpty());
}

TEST_F(FhirpathTest, ChoiceTypes) {
  EXPECT_EQ(One("Observation.value.unit", kObservation), "string:lbs");
  EXPECT_EQ(One("Observation.valueQuantity.unit", kObservation), "string:lbs");
  EXPECT_THAT(Eval("Observation.valueString", kObservation), IsEmpty());
  EXPECT_EQ(One("(Observation.value as Quantity).value", kObservation), "decimal:185");
  EXPECT_EQ(One("Observation.value.is(Quantity)", kObservation), "boolean:true");
  EXPECT_EQ(One("Observation.value = 185 '[lb_av]'", kObservation), "boolean:true");
  EXPECT_EQ(One("Observation.value > 80 'kg'", kObservation), "boolean:true");
}

// Paths that start with a type name are resolved at compile time; one compiled expression must
// still answer for every input, whatever its type.
TEST_F(FhirpathTest, ResolvedPathsServeEveryInput) {
  auto expr = Expression::Compile("Observation.valueQuantity.unit | Observation.value", Defs());
  ASSERT_TRUE(expr.ok());
  Resource quantity = Load(kObservation);
  Resource text = Load(R"({"resourceType":"Observation","status":"final","code":{"text":"c"},)"
                       R"("valueString":"high"})");
  Resource patient = Load(kPatient);
  auto a = expr->Evaluate(quantity);
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ(OutputText((*a)[0]), "lbs");
  EXPECT_EQ(OutputTypeName((*a)[1]), "Quantity");
  auto b = expr->Evaluate(text);
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->size(), 1u);
  EXPECT_EQ(OutputText((*b)[0]), "high");
  auto c = expr->Evaluate(patient);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->empty());
}

TEST_F(FhirpathTest, Arithmetic) {
  EXPECT_EQ(One("1 + 2 * 3"), "integer:7");
  EXPECT_EQ(One("0.1 + 0.2 = 0.3"), "boolean:true");
  EXPECT_EQ(One("7 / 2"), "decimal:3.5");
  EXPECT_EQ(One("7 div 2"), "integer:3");
  EXPECT_EQ(One("7 mod 2"), "integer:1");
  EXPECT_EQ(One("1.50 * 2"), "decimal:3.00");
  EXPECT_EQ(One("1 / 3"), "decimal:0.3333333333333333");
  EXPECT_THAT(Eval("1 / 0"), IsEmpty());
  EXPECT_EQ(One("'a' + 'b'"), "string:ab");
  EXPECT_EQ(One("'a' & {}"), "string:a");
  EXPECT_EQ(One("-(3)"), "integer:-3");
}

TEST_F(FhirpathTest, ThreeValuedLogic) {
  EXPECT_EQ(One("true and {}"), "count=0");
  EXPECT_EQ(One("false and {}"), "boolean:false");
  EXPECT_EQ(One("{} or true"), "boolean:true");
  EXPECT_EQ(One("false implies {}"), "boolean:true");
  EXPECT_EQ(One("true xor false"), "boolean:true");
}

TEST_F(FhirpathTest, EqualityAndEquivalence) {
  EXPECT_EQ(One("1.10 = 1.1"), "boolean:true");
  EXPECT_EQ(One("'a' ~ 'A'"), "boolean:true");
  EXPECT_EQ(One("{} ~ {}"), "boolean:true");
  EXPECT_THAT(Eval("{} = {}"), IsEmpty());
  EXPECT_EQ(One("(1 | 2) ~ (2 | 1)"), "boolean:true");
  EXPECT_EQ(One("name = name"), "boolean:true");
  EXPECT_EQ(One("4.0000 'g' = 4000.0 'mg'"), "boolean:true");
  EXPECT_EQ(One("7 days = 1 week"), "boolean:true");
  EXPECT_THAT(Eval("1 year = 1 'a'"), IsEmpty());
}

TEST_F(FhirpathTest, DatesWithPartialPrecision) {
  EXPECT_EQ(One("Patient.birthDate = @1974-12-25"), "boolean:true");
  EXPECT_THAT(Eval("@2012-04-15 = @2012-04-15T10:00:00"), IsEmpty());
  EXPECT_THAT(Eval("@2018-03 > @2018-03-01"), IsEmpty());
  EXPECT_EQ(One("@2018-02 < @2018-03-01"), "boolean:true");
  EXPECT_EQ(One("@2017-11-05T01:30:00.0-04:00 < @2017-11-05T01:15:00.0-05:00"), "boolean:true");
  EXPECT_EQ(One("@T10:30:00 = @T10:30:00.0"), "boolean:true");
  EXPECT_EQ(One("@1973-12-25 + 7 days"), "date:1974-01-01");
  EXPECT_EQ(One("@2024-01-31 + 1 month"), "date:2024-02-29");
  EXPECT_EQ(One("@2014-01-01T08.highBoundary(17)"), "dateTime:2014-01-01T08:00:59.999-12:00");
  EXPECT_EQ(One("today()"), "date:2024-03-01");
  EXPECT_EQ(One("Patient.birthDate < today()"), "boolean:true");
}

TEST_F(FhirpathTest, Functions) {
  EXPECT_EQ(One("name.given.distinct().count()"), "integer:3");
  EXPECT_EQ(One("name.given.join(',')"), "string:Peter,James,Jim,Peter,James");
  EXPECT_EQ(One("'abc'.substring(1)"), "string:bc");
  EXPECT_EQ(One("'héllo'.length()"), "integer:5");
  EXPECT_EQ(One("'A\nB'.matches('A.*B')"), "boolean:true");
  EXPECT_EQ(One("'abc123'.replaceMatches('[0-9]', '-')"), "string:abc---");
  EXPECT_EQ(One("(1|2|3).aggregate($this + $total, 0)"), "integer:6");
  EXPECT_EQ(One("iif(true, 'a', 1/0)"), "string:a");
  EXPECT_EQ(One("(3|1|2).sort(-$this).first()"), "integer:3");
  EXPECT_EQ(One("1.587.lowBoundary(2)"), "decimal:1.58");
  EXPECT_EQ(One("3.14159.round(3)"), "decimal:3.142");
  EXPECT_EQ(One("2.power(10)"), "integer:1024");
  EXPECT_EQ(One("'1 day'.toQuantity() = 1 'd'"), "boolean:true");
}

TEST_F(FhirpathTest, FhirAdditions) {
  EXPECT_EQ(One("birthDate.extension(%`ext-patient-birthTime`).exists()"), "boolean:true");
  EXPECT_EQ(One("birthDate.hasValue()"), "boolean:true");
  EXPECT_EQ(One("managingOrganization.resolve().name"), "string:Acme");
  EXPECT_EQ(One("conformsTo('http://hl7.org/fhir/StructureDefinition/DomainResource')"),
            "boolean:true");
  EXPECT_EQ(One("Patient.active.type().name"), "string:boolean");
  EXPECT_EQ(One("Patient.gender.is(string)"), "boolean:true");
  EXPECT_THAT(Eval("Patient.gender.as(string)"), IsEmpty());
  EXPECT_EQ(One("%resource.id"), "id:example");
}

TEST_F(FhirpathTest, CompileErrors) {
  EXPECT_EQ(One("name.foo()"), "compile-error:fhirpath.unknown-function");
  EXPECT_EQ(One("name.where()"), "compile-error:fhirpath.wrong-arity");
  EXPECT_EQ(One("2 + "), "compile-error:fhirpath.syntax");
  EXPECT_EQ(One("1 /* open"), "compile-error:fhirpath.syntax");
  EXPECT_EQ(One("name.is(Foo)"), "compile-error:fhirpath.unknown-type");
  auto expr = Expression::Compile("name.given +* 2", Defs());
  ASSERT_FALSE(expr.ok());
  EXPECT_THAT(expr.error().text(), ::testing::HasSubstr("offset 12"));
}

TEST_F(FhirpathTest, RuntimeErrors) {
  EXPECT_EQ(One("name.given.single()"), "error:fhirpath.singleton-expected");
  EXPECT_EQ(One("1 > 'a'"), "error:fhirpath.type-mismatch");
  EXPECT_EQ(One("%nope"), "error:fhirpath.unknown-variable");
}

}  // namespace
}  // namespace fhir::fhirpath
