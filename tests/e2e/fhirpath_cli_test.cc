// End-to-end: the real `fhirhub fhirpath` binary, run as a child process, in single and batch
// mode, with FHIR JSON and XML inputs.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/test_definitions.h"

namespace {

struct Outcome {
  int exit_code = -1;
  std::string out;
};

// Runs `fhirhub fhirpath --fhir-package <package> args...` and collects its standard output.
Outcome Fhirpath(const std::vector<std::string>& args) {
  std::vector<std::string> all = {FHIRHUB_BINARY, "fhirpath", "--fhir-package",
                                  testing_support::PackageDir().string()};
  all.insert(all.end(), args.begin(), args.end());
  int out[2];
  if (pipe(out) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  Outcome run;
  char buffer[4096];
  for (ssize_t n; (n = read(out[0], buffer, sizeof buffer)) > 0;) {
    run.out.append(buffer, static_cast<size_t>(n));
  }
  close(out[0]);
  int status = 0;
  if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status)) {
    run.exit_code = WEXITSTATUS(status);
  }
  return run;
}

// Writes `text` to a file in the test's temporary folder and returns its path.
std::string WriteTemp(const std::string& name, const std::string& text) {
  std::filesystem::path path = std::filesystem::path(::testing::TempDir()) / name;
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

constexpr char kPatientJson[] =
    R"({"resourceType":"Patient","id":"p1","active":true,)"
    R"("name":[{"use":"official","family":"Chalmers","given":["Peter","James"]},)"
    R"({"use":"usual","given":["Jim"]}],"birthDate":"1974-12-25"})";

constexpr char kPatientXml[] =
    R"(<Patient xmlns="http://hl7.org/fhir"><id value="p1"/><active value="true"/>)"
    R"(<name><use value="official"/><family value="Chalmers"/><given value="Peter"/>)"
    R"(<given value="James"/></name><birthDate value="1974-12-25"/></Patient>)";

constexpr char kObservationJson[] =
    R"({"resourceType":"Observation","status":"final","code":{"text":"weight"},)"
    R"("valueQuantity":{"value":1.50,"unit":"kg","system":"http://unitsofmeasure.org",)"
    R"("code":"kg"}})";

TEST(FhirpathCliTest, EvaluatesOverAJsonResource) {
  std::string file = WriteTemp("patient.json", kPatientJson);
  Outcome run = Fhirpath({"--resource", file, "Patient.name.where(use='official').given"});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.out,
            "[{\"type\":\"string\",\"value\":\"Peter\"},"
            "{\"type\":\"string\",\"value\":\"James\"}]\n");
}

TEST(FhirpathCliTest, EvaluatesOverAnXmlResource) {
  std::string file = WriteTemp("patient.xml", kPatientXml);
  Outcome run =
      Fhirpath({"--resource", file, "Patient.birthDate < @2000-01-01 and Patient.active"});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.out, "[{\"type\":\"boolean\",\"value\":true}]\n");
}

TEST(FhirpathCliTest, VariablesAreStrings) {
  std::string file = WriteTemp("patient-var.json", kPatientJson);
  Outcome run = Fhirpath({"--resource", file, "--var", "family=Chalmers", "--var", "suffix=!",
                          "Patient.name.where(family = %family).family + %suffix"});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.out, "[{\"type\":\"string\",\"value\":\"Chalmers!\"}]\n");
}

TEST(FhirpathCliTest, SyntaxErrorPrintsAnOperationOutcomeAndExitsOne) {
  Outcome run = Fhirpath({"Patient.name.where(use = "});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.out.find("\"resourceType\": \"OperationOutcome\""), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("\"severity\": \"error\""), std::string::npos) << run.out;
}

TEST(FhirpathCliTest, BatchAnswersEveryLineInOrder) {
  const std::string lines = std::string(R"j({"expression":"1 + 2"})j") + "\n" +
                            R"j({"expression":"Patient.name.given.count()","resource":)j" +
                            kPatientJson + "}\n" + "\n" +
                            R"j({"expression":"Patient.name.where(","resource":null})j" + "\n" +
                            R"j({"expression":"%a + %b","variables":{"a":"x","b":"y"}})j" + "\n";
  Outcome run = Fhirpath({"--batch", WriteTemp("batch.jsonl", lines)});
  EXPECT_EQ(run.exit_code, 0);
  std::vector<std::string> out;
  for (size_t start = 0, end; (end = run.out.find('\n', start)) != std::string::npos;
       start = end + 1) {
    out.push_back(run.out.substr(start, end - start));
  }
  ASSERT_EQ(out.size(), 4u) << run.out;
  EXPECT_EQ(out[0], R"j({"result":[{"type":"integer","value":3}]})j");
  EXPECT_EQ(out[1], R"j({"result":[{"type":"integer","value":3}]})j");
  EXPECT_EQ(out[2].rfind(R"j({"error":")j", 0), 0u) << out[2];
  EXPECT_EQ(out[3], R"j({"result":[{"type":"string","value":"xy"}]})j");
}

TEST(FhirpathCliTest, BatchReportsMalformedLinesAndExitsOne) {
  Outcome run =
      Fhirpath({"--batch", WriteTemp("malformed.jsonl", "{\"expression\":\"1\"}\nnot json\n")});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out.substr(0, run.out.find('\n')), R"({"result":[{"type":"integer","value":1}]})");
  EXPECT_NE(run.out.find("\n{\"error\":"), std::string::npos) << run.out;
}

TEST(FhirpathCliTest, BatchKeepsDecimalsAsWritten) {
  const std::string line =
      R"j({"expression":"Observation.valueQuantity.value.toString()","resource":)j" +
      std::string(kObservationJson) + "}\n";
  Outcome run = Fhirpath({"--batch", WriteTemp("decimal.jsonl", line)});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.out, "{\"result\":[{\"type\":\"string\",\"value\":\"1.50\"}]}\n");
}

}  // namespace
