// Test support: the code systems and value sets of the R4 package, loaded once per test binary
// from the package unpacked by scripts/bootstrap.
#ifndef TESTS_SUPPORT_TEST_TERMINOLOGY_H_
#define TESTS_SUPPORT_TEST_TERMINOLOGY_H_

#include "server/terminology/terminology.h"

namespace testing_support {

// Aborts the test binary if the package cannot be read.
const server::terminology::Terminology& PackageTerminology();

}  // namespace testing_support

#endif  // TESTS_SUPPORT_TEST_TERMINOLOGY_H_
