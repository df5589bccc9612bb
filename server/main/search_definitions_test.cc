#include "server/main/search_definitions.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "server/main/fhir_package.h"
#include "server/search/reindex.h"
#include "tests/support/test_definitions.h"

namespace server::main {
namespace {

std::string Parameter(const std::string& code, const std::string& status,
                      const std::string& expression) {
  return R"({"resourceType":"SearchParameter","id":")" + code +
         R"(","url":"http://example.org/fhir/SearchParameter/)" + code + R"(","status":")" +
         status + R"(","code":")" + code +
         R"(","base":["Patient"],"type":"string","expression":")" + expression + R"("})";
}

class ProfilesDir {
 public:
  ProfilesDir()
      : path_(std::filesystem::temp_directory_path() /
              ("fhirhub-profiles-test-" + std::to_string(getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ProfilesDir() { std::filesystem::remove_all(path_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(path_ / name) << text;
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

fhir::Result<std::unique_ptr<SearchDefinitions>> Load(const ProfilesDir& dir) {
  return SearchDefinitions::Load(testing_support::PackageDir().string(), dir.path(),
                                 testing_support::Definitions());
}

TEST(SearchDefinitionsTest, ProfilesAndStoredDefinitionsJoinThePackage) {
  ProfilesDir dir;
  dir.Write("hukou.json", Parameter("hukou", "draft", "Patient.extension('urn:hukou').value"));
  dir.Write("old.json", Parameter("old", "retired", "Patient.name"));
  dir.Write("notes.txt", "not read");
  auto definitions = Load(dir);
  ASSERT_TRUE(definitions.ok()) << definitions.error().text();
  EXPECT_EQ((*definitions)->profile_count(), 1u);

  auto package_only = (*definitions)->Build({});
  ASSERT_TRUE(package_only.ok());
  ASSERT_NE(package_only->registry->Find("Patient", "hukou"), nullptr);
  EXPECT_EQ(package_only->registry->Find("Patient", "old"), nullptr);
  EXPECT_NE(package_only->registry->Find("Patient", "gender"), nullptr);

  auto with_stored =
      (*definitions)
          ->Build({Parameter("ethnicity", "active", "Patient.extension('urn:ethnicity').value")},
                  package_only->registry.get());
  ASSERT_TRUE(with_stored.ok());
  const search::SearchParam* ethnicity = with_stored->registry->Find("Patient", "ethnicity");
  ASSERT_NE(ethnicity, nullptr);
  EXPECT_NE(with_stored->fingerprint, package_only->fingerprint);
  // Only what is new to the registry it replaces waits for its rows.
  EXPECT_TRUE(with_stored->registry->RowsPending(*ethnicity));
  EXPECT_FALSE(
      with_stored->registry->RowsPending(*with_stored->registry->Find("Patient", "hukou")));
  with_stored->registry->MarkRowsBuilt();
  EXPECT_FALSE(with_stored->registry->RowsPending(*ethnicity));
}

TEST(SearchDefinitionsTest, WithoutCustomDefinitionsTheFingerprintIsThePackages) {
  auto definitions = SearchDefinitions::Load(testing_support::PackageDir().string(), std::nullopt,
                                             testing_support::Definitions());
  ASSERT_TRUE(definitions.ok()) << definitions.error().text();
  auto built = (*definitions)->Build({});
  ASSERT_TRUE(built.ok());
  auto package = ReadPackageSearchParameters(testing_support::PackageDir().string());
  ASSERT_TRUE(package.ok());
  EXPECT_EQ(built->fingerprint, search::DefinitionsFingerprint(*package));
}

TEST(SearchDefinitionsTest, AnInvalidProfileFileStopsTheLoadNamingIt) {
  ProfilesDir dir;
  dir.Write("a-good.json", Parameter("hukou", "active", "Patient.extension('urn:hukou').value"));
  dir.Write("b-bad.json", Parameter("broken", "active", "Patient.name.("));
  auto definitions = Load(dir);
  ASSERT_FALSE(definitions.ok());
  EXPECT_NE(definitions.error().text().find("b-bad.json"), std::string::npos)
      << definitions.error().text();
  EXPECT_NE(definitions.error().text().find("SearchParameter.expression"), std::string::npos)
      << definitions.error().text();
}

TEST(SearchDefinitionsTest, TwoProfileFilesCannotShareACode) {
  ProfilesDir dir;
  dir.Write("a.json", Parameter("hukou", "active", "Patient.extension('urn:a').value"));
  std::string other = Parameter("hukou", "active", "Patient.extension('urn:b').value");
  other.replace(other.find("SearchParameter/hukou"), 21, "SearchParameter/hukou2");
  other.replace(other.find("\"id\":\"hukou\""), 12, "\"id\":\"hukou2\"");
  dir.Write("b.json", other);
  auto definitions = Load(dir);
  ASSERT_FALSE(definitions.ok());
  EXPECT_NE(definitions.error().text().find("b.json"), std::string::npos)
      << definitions.error().text();
}

TEST(SearchDefinitionsTest, AFileThatIsNotASearchParameterStopsTheLoad) {
  ProfilesDir dir;
  dir.Write("x.json", R"({"resourceType":"Patient","status":"active"})");
  auto definitions = Load(dir);
  ASSERT_FALSE(definitions.ok());
  EXPECT_NE(definitions.error().text().find("x.json"), std::string::npos)
      << definitions.error().text();
  EXPECT_NE(definitions.error().text().find("not a SearchParameter"), std::string::npos)
      << definitions.error().text();
}

}  // namespace
}  // namespace server::main
