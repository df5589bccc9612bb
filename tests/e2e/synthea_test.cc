// End-to-end: the Synthea transaction Bundles (tests/data/synthea-r4-subset) load into the real
// server with every entry created, and every resource reads back equal to what was sent, apart
// from the server-assigned meta.versionId/meta.lastUpdated and the urn:uuid references the
// transaction rewrote to the new resources' ids.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/server_process.h"
#include "tests/support/server_suite.h"
#include "tests/support/test_definitions.h"

namespace {

using testing_support::Answer;
using testing_support::Call;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Dump(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), std::min<size_t>(buffer.GetSize(), 2000));
}

// Replaces every "reference" string found in `moved` by its new value.
void RewriteReferences(rapidjson::Value& value, const std::map<std::string, std::string>& moved,
                       rapidjson::Document::AllocatorType& allocator) {
  if (value.IsObject()) {
    for (auto& member : value.GetObject()) {
      if (std::string_view(member.name.GetString()) == "reference" && member.value.IsString()) {
        if (auto it = moved.find(member.value.GetString()); it != moved.end()) {
          member.value.SetString(it->second.c_str(), allocator);
        }
      } else {
        RewriteReferences(member.value, moved, allocator);
      }
    }
  } else if (value.IsArray()) {
    for (auto& item : value.GetArray()) RewriteReferences(item, moved, allocator);
  }
}

// Drops what the server assigns: meta.versionId, meta.lastUpdated (and meta if nothing is left).
void DropServerMeta(rapidjson::Value& resource) {
  auto meta = resource.FindMember("meta");
  if (meta == resource.MemberEnd()) return;
  meta->value.RemoveMember("versionId");
  meta->value.RemoveMember("lastUpdated");
  if (meta->value.ObjectEmpty()) resource.RemoveMember("meta");
}

class SyntheaTest : public testing_support::ServerSuite<::testing::TestWithParam<std::string>> {};

TEST_P(SyntheaTest, TransactionLoadsAndEveryResourceReadsBack) {
  ASSERT_TRUE(server().ok());
  const int port = server().port();
  const std::string sent_text =
      ReadFile(testing_support::TestDataDir() / "synthea-r4-subset" / GetParam());
  rapidjson::Document sent;
  ASSERT_FALSE(sent.Parse(sent_text.c_str()).HasParseError());
  const auto& sent_entries = sent["entry"].GetArray();

  Answer answer = Call(port, "POST", "/fhir", sent_text);
  ASSERT_EQ(answer.status, 200) << answer.body.substr(0, 2000);
  rapidjson::Document response;
  ASSERT_FALSE(response.Parse(answer.body.c_str()).HasParseError());
  EXPECT_STREQ(response["type"].GetString(), "transaction-response");
  const auto& entries = response["entry"].GetArray();
  ASSERT_EQ(entries.Size(), sent_entries.Size());

  // fullUrl -> "Type/id", and each entry's location below the base.
  const std::string prefix = server().base_url() + "/";
  std::map<std::string, std::string> moved;
  std::vector<std::string> locations;
  for (rapidjson::SizeType i = 0; i < entries.Size(); ++i) {
    const auto& result = entries[i]["response"];
    EXPECT_EQ(std::string(result["status"].GetString()).substr(0, 3), "201") << "entry " << i;
    std::string location = result["location"].GetString();
    ASSERT_EQ(location.rfind(prefix, 0), 0u) << location;
    location = location.substr(prefix.size());
    ASSERT_TRUE(location.ends_with("/_history/1")) << location;
    location.resize(location.size() - std::string("/_history/1").size());
    locations.push_back(location);
    moved.emplace(sent_entries[i]["fullUrl"].GetString(), location);
  }

  for (rapidjson::SizeType i = 0; i < sent_entries.Size(); ++i) {
    rapidjson::Document expected;
    expected.CopyFrom(sent_entries[i]["resource"], expected.GetAllocator());
    RewriteReferences(expected, moved, expected.GetAllocator());
    const std::string id = locations[i].substr(locations[i].find('/') + 1);
    expected.RemoveMember("id");
    expected.AddMember("id", rapidjson::Value(id.c_str(), expected.GetAllocator()),
                       expected.GetAllocator());
    DropServerMeta(expected);

    Answer read = Call(port, "GET", "/fhir/" + locations[i]);
    ASSERT_EQ(read.status, 200) << locations[i];
    rapidjson::Document actual;
    ASSERT_FALSE(actual.Parse(read.body.c_str()).HasParseError()) << locations[i];
    ASSERT_TRUE(actual.HasMember("meta"));
    EXPECT_STREQ(actual["meta"]["versionId"].GetString(), "1");
    DropServerMeta(actual);
    EXPECT_TRUE(actual == expected) << locations[i] << "\nsent (rewritten): " << Dump(expected)
                                    << "\nread back:        " << Dump(actual);
  }
}

std::vector<std::string> BundleFiles() {
  std::vector<std::string> files;
  for (const auto& file :
       std::filesystem::directory_iterator(testing_support::TestDataDir() / "synthea-r4-subset")) {
    if (file.path().extension() == ".json") files.push_back(file.path().filename().string());
  }
  // Hospitals and practitioners first, as a real load would; the patient Bundles are
  // self-contained either way.
  std::sort(files.begin(), files.end(), [](const std::string& a, const std::string& b) {
    const bool a_info = a.find("Information") != std::string::npos;
    const bool b_info = b.find("Information") != std::string::npos;
    return a_info != b_info ? a_info : a < b;
  });
  return files;
}

INSTANTIATE_TEST_SUITE_P(Bundles, SyntheaTest, ::testing::ValuesIn(BundleFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param.substr(0, info.param.find('_'));
                           if (name.ends_with(".json")) name.resize(name.size() - 5);
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
