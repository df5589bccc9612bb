#include "tests/support/test_terminology.h"

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "server/search/registry.h"
#include "tests/support/test_definitions.h"

namespace testing_support {

const server::terminology::Terminology& PackageTerminology() {
  static const server::terminology::Terminology* const terminology = [] {
    auto value_sets = server::search::ReadPackageFiles(PackageDir(), "ValueSet-");
    auto code_systems = server::search::ReadPackageFiles(PackageDir(), "CodeSystem-");
    if (!value_sets.ok() || !code_systems.ok()) {
      std::fprintf(stderr, "cannot read the package's value sets and code systems\n");
      std::abort();
    }
    return server::terminology::Terminology::Load(*value_sets, *code_systems).release();
  }();
  return *terminology;
}

}  // namespace testing_support
