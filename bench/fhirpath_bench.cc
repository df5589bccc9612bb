// FHIRPath evaluations per second for the expressions of bench/fhirpath_cases.json, each
// compiled once and evaluated over a resource parsed once. The inputs come from the R4 examples
// package: Patient-example.json, Observation-heart-rate.json, and a Bundle of eight vital-sign
// Observations repeated five times (40 entries). bench/fhirpath_reference.js evaluates the same
// cases with the HL7 JavaScript implementation; bench/fhirpath_compare.sh runs both.
#include <benchmark/benchmark.h>
#include <rapidjson/document.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fhir/fhirpath/fhirpath.h"
#include "fhir/json/json.h"
#include "tests/support/test_definitions.h"

namespace {

namespace fp = fhir::fhirpath;

constexpr const char* kBundleMembers[] = {
    "Observation-heart-rate.json",         "Observation-body-temperature.json",
    "Observation-body-height.json",        "Observation-bmi.json",
    "Observation-blood-pressure.json",     "Observation-respiratory-rate.json",
    "Observation-head-circumference.json", "Observation-vitals-panel.json",
};
constexpr int kBundleRepeats = 5;

std::string Package(const std::string& file) {
  return testing_support::ReadFile(testing_support::PackageDir() / file);
}

std::string BundleJson() {
  std::string out = R"({"resourceType":"Bundle","type":"collection","entry":[)";
  bool first = true;
  int serial = 0;
  for (int r = 0; r < kBundleRepeats; ++r) {
    for (const char* member : kBundleMembers) {
      if (!first) out += ',';
      first = false;
      out += R"({"fullUrl":"urn:uuid:00000000-0000-0000-0000-)";
      char id[16];
      std::snprintf(id, sizeof id, "%012d", ++serial);
      out += id;
      out += R"(","resource":)" + Package(member) + "}";
    }
  }
  return out + "]}";
}

const fhir::Resource& Input(const std::string& name) {
  static std::map<std::string, std::unique_ptr<fhir::Resource>> inputs;
  auto& slot = inputs[name];
  if (slot == nullptr) {
    std::string json = name == "patient"       ? Package("Patient-example.json")
                       : name == "observation" ? Package("Observation-heart-rate.json")
                                               : BundleJson();
    auto r = fhir::json::Parse(json, testing_support::Definitions());
    if (!r.ok()) {
      std::fprintf(stderr, "cannot parse input %s: %s\n", name.c_str(), r.error().text().c_str());
      std::abort();
    }
    slot = std::make_unique<fhir::Resource>(std::move(r).value());
  }
  return *slot;
}

void Evaluate(benchmark::State& state, const fp::Expression& expression,
              const fhir::Resource& input) {
  fp::EvaluationContext ctx;
  ctx.resource = input.root();
  size_t count = 0;
  for (auto _ : state) {
    auto result = expression.Evaluate(ctx);
    count = result.ok() ? result->size() : 0;
    benchmark::DoNotOptimize(count);
  }
  auto result = expression.Evaluate(ctx);
  std::string label = "items=" + std::to_string(result.ok() ? result->size() : 0);
  const std::string first = result.ok() && result->size() == 1 ? fp::OutputText((*result)[0]) : "";
  if (!first.empty()) label += " first=" + first;
  state.SetLabel(label);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void RegisterCases() {
  rapidjson::Document cases;
  std::string text = testing_support::ReadFile(FHIRPATH_BENCH_CASES);
  cases.Parse(text.c_str());
  for (const auto& c : cases.GetArray()) {
    std::string name = c["name"].GetString();
    std::string input = c["input"].GetString();
    auto expression =
        fp::Expression::Compile(c["expression"].GetString(), testing_support::Definitions());
    if (!expression.ok()) {
      std::fprintf(stderr, "%s: %s\n", name.c_str(), expression.error().text().c_str());
      std::abort();
    }
    auto compiled = std::make_shared<fp::Expression>(std::move(expression).value());
    benchmark::RegisterBenchmark(
        ("BM_Fhirpath/" + name).c_str(),
        [compiled, input](benchmark::State& state) { Evaluate(state, *compiled, Input(input)); });
  }
}

}  // namespace

int main(int argc, char** argv) {
  RegisterCases();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
