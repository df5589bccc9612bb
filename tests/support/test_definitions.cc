#include "tests/support/test_definitions.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>

namespace testing_support {

std::filesystem::path PackageDir() {
  if (const char* dir = std::getenv("FHIRHUB_PACKAGE_DIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  return FHIRHUB_PACKAGE_DIR;
}

std::filesystem::path TestDataDir() { return FHIRHUB_TEST_DATA_DIR; }

const fhir::model::Definitions& Definitions() {
  static const std::unique_ptr<fhir::model::Definitions> defs = [] {
    auto loaded = fhir::model::Definitions::LoadFromDirectory(PackageDir());
    if (!loaded.ok()) {
      std::fprintf(stderr, "cannot load the FHIR definitions from %s: %s\n", PackageDir().c_str(),
                   loaded.error().text().c_str());
      std::abort();
    }
    return std::move(loaded).value();
  }();
  return *defs;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::abort();
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace testing_support
