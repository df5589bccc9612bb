// End-to-end through an independent FHIR client library: starts the real fhirhub binary and runs
// fhir_kit_client.test.mjs (fhir-kit-client under node) against it. The library and node are
// installed by scripts/bootstrap; when either is missing the tests fail and say so, because a
// skipped test would hide that the client suite never ran.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/server_process.h"
#include "tests/support/test_definitions.h"

namespace {

// Single-quoted for /bin/sh.
std::string Quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::filesystem::path ModulesDir() {
  if (const char* dir = std::getenv("FHIRHUB_CLIENT_MODULES"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  return FHIRHUB_CLIENT_MODULES;
}

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

// Runs a shell command, stdout and stderr together.
CommandResult RunCommand(const std::string& command) {
  CommandResult run;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return run;
  std::array<char, 4096> buffer;
  size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    run.output.append(buffer.data(), n);
  int status = pclose(pipe);
  if (status != -1 && WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  return run;
}

class FhirKitClientTest : public ::testing::Test {
 protected:
  // A server of its own per test, so each group of steps starts from an empty database. The
  // prerequisites are checked first: without them there is no point starting it.
  void SetUp() override {
    CommandResult node = RunCommand("node --version");
    while (!node.output.empty() && node.output.back() == '\n') node.output.pop_back();
    ASSERT_EQ(node.exit_code, 0) << "node is not available (" << node.output
                                 << "); run scripts/bootstrap, which installs it";
    ASSERT_TRUE(std::filesystem::exists(ModulesDir() / "fhir-kit-client" / "package.json"))
        << "fhir-kit-client is not installed in " << ModulesDir()
        << "; run scripts/bootstrap (npm ci of tests/client/package-lock.json)";
    server_ = std::make_unique<testing_support::ServerProcess>(
        FHIRHUB_BINARY,
        std::vector<std::string>{"--fhir-package", testing_support::PackageDir().string()});
  }

  // Runs the script's steps of `group` against the server; a failure shows node's report.
  void RunGroup(const std::string& group) {
    ASSERT_TRUE(server_->ok()) << "fhirhub serve did not start";
    CommandResult run = RunCommand("FHIRHUB_CLIENT_MODULES=" + Quote(ModulesDir().string()) +
                                   " node --test-reporter=spec " + Quote(FHIRHUB_CLIENT_SCRIPT) +
                                   " " + Quote(server_->base_url()) + " " + group);
    EXPECT_EQ(run.exit_code, 0) << run.output;
    // The step-by-step report belongs in the log when everything passes too.
    if (run.exit_code == 0) std::printf("%s", run.output.c_str());
  }

  std::unique_ptr<testing_support::ServerProcess> server_;
};

// Create, read, update (and a stale If-Match), vread, instance and type history, delete and the
// 410 after it, and a 404 OperationOutcome for an unknown id.
TEST_F(FhirKitClientTest, CrudHistoryAndErrors) { RunGroup("crud"); }

// A transaction Bundle whose Observation refers to its Patient by urn:uuid.
TEST_F(FhirKitClientTest, Transaction) { RunGroup("transaction"); }

}  // namespace
