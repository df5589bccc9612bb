#include "tests/support/test_certificates.h"

#include <fstream>
#include <string>

#include "tests/support/server_process.h"

namespace testing_support {
namespace {

constexpr const char* kNewKey = " -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";

std::string Run(const std::string& dir, const std::string& command) {
  std::string output;
  if (RunCommand("cd " + dir + " && " + command, output) == 0) return "";
  return command + ": " + output;
}

}  // namespace

std::string MakeTestAuthorities(const std::string& dir) {
  for (const std::string ca : {"ca", "other-ca"}) {
    std::string failed =
        Run(dir, "openssl req -x509" + std::string(kNewKey) + " -keyout " + ca + ".key -out " + ca +
                     ".pem -days 2 -subj '/CN=fhirhub test " + ca + "'");
    if (!failed.empty()) return failed;
  }
  return "";
}

std::string IssueTestCertificate(const std::string& dir, const std::string& name,
                                 const std::string& subject, const std::string& ca,
                                 const std::string& extensions) {
  std::ofstream(dir + "/" + name + ".ext") << extensions;
  std::string failed = Run(dir, "openssl req" + std::string(kNewKey) + " -keyout " + name +
                                    ".key -out " + name + ".csr -subj '" + subject + "'");
  if (!failed.empty()) return failed;
  return Run(dir, "openssl x509 -req -in " + name + ".csr -CA " + ca + ".pem -CAkey " + ca +
                      ".key -CAcreateserial -days 2 -out " + name + ".pem -extfile " + name +
                      ".ext");
}

}  // namespace testing_support
