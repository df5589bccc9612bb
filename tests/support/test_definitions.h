// Test support: the R4 definitions, loaded once per test binary from the package unpacked by
// scripts/bootstrap, and paths to the test data.
#ifndef TESTS_SUPPORT_TEST_DEFINITIONS_H_
#define TESTS_SUPPORT_TEST_DEFINITIONS_H_

#include <filesystem>
#include <string>

#include "fhir/model/definitions.h"

namespace testing_support {

// The base R4 definitions; aborts the test binary if they cannot be loaded.
const fhir::model::Definitions& Definitions();

// The unpacked hl7.fhir.r4.examples@4.0.1 package folder.
std::filesystem::path PackageDir();

// tests/data in the source tree.
std::filesystem::path TestDataDir();

// The whole content of a file; aborts if it cannot be read.
std::string ReadFile(const std::filesystem::path& path);

}  // namespace testing_support

#endif  // TESTS_SUPPORT_TEST_DEFINITIONS_H_
