// Test support: the R4 search parameters, loaded once per test binary from the package unpacked by
// scripts/bootstrap, over testing_support::Definitions().
#ifndef TESTS_SUPPORT_TEST_REGISTRY_H_
#define TESTS_SUPPORT_TEST_REGISTRY_H_

#include "server/search/registry.h"

namespace testing_support {

// Aborts the test binary if the definitions cannot be loaded.
const server::search::Registry& SearchRegistry();

}  // namespace testing_support

#endif  // TESTS_SUPPORT_TEST_REGISTRY_H_
