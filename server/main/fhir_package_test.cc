#include "server/main/fhir_package.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/test_definitions.h"

namespace server::main {
namespace {

// scripts/bootstrap keeps the downloaded package next to the folder it unpacks.
std::filesystem::path CachedTgz() {
  return testing_support::PackageDir().parent_path().parent_path() /
         "hl7.fhir.r4.examples-4.0.1.tgz";
}

TEST(FhirPackageTest, LoadsTheSameDefinitionsFromTgzAndFolder) {
  ASSERT_TRUE(std::filesystem::exists(CachedTgz())) << CachedTgz();
  auto from_tgz = LoadDefinitions(CachedTgz().string());
  ASSERT_TRUE(from_tgz.ok()) << from_tgz.error().text();
  const auto& from_dir = testing_support::Definitions();
  EXPECT_EQ((*from_tgz)->types().size(), from_dir.types().size());
  EXPECT_EQ((*from_tgz)->resources().size(), from_dir.resources().size());
  ASSERT_NE((*from_tgz)->FindResource("Patient"), nullptr);
}

TEST(FhirPackageTest, LoadsFromTheFolderAboveThePackageFolder) {
  auto defs = LoadDefinitions(testing_support::PackageDir().parent_path().string());
  ASSERT_TRUE(defs.ok()) << defs.error().text();
  EXPECT_NE((*defs)->FindResource("Observation"), nullptr);
}

TEST(FhirPackageTest, ReportsMissingAndCorruptPackages) {
  auto missing = LoadDefinitions("/nonexistent/fhir-package");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message_id(), "package.missing");

  const auto corrupt = std::filesystem::temp_directory_path() / "fhirhub-corrupt-package.tgz";
  std::ofstream(corrupt) << "this is not a gzip file";
  auto result = LoadDefinitions(corrupt.string());
  std::filesystem::remove(corrupt);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message_id(), "package.corrupt");
}

}  // namespace
}  // namespace server::main
