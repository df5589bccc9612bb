#include "tests/support/test_registry.h"

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "tests/support/test_definitions.h"

namespace testing_support {

const server::search::Registry& SearchRegistry() {
  static const server::search::Registry* const registry = [] {
    auto texts = server::search::ReadSearchParameterFiles(PackageDir());
    if (!texts.ok()) {
      std::fprintf(stderr, "cannot read the search parameters: %s\n", texts.error().text().c_str());
      std::abort();
    }
    auto loaded = server::search::Registry::Load(*texts, Definitions());
    if (!loaded.ok()) {
      std::fprintf(stderr, "cannot load the search parameters: %s\n",
                   loaded.error().text().c_str());
      std::abort();
    }
    return std::move(loaded).value().release();
  }();
  return *registry;
}

}  // namespace testing_support
