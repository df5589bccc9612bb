// Every sample message of tests/data/hl7v2-samples (real-world shaped messages of many types and
// versions) parses, alone and as a batch, and reads back its header.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "mappings/hl7v2/er7.h"
#include "tests/support/test_definitions.h"

namespace mappings::hl7v2 {
namespace {

std::vector<std::filesystem::path> Samples() {
  std::vector<std::filesystem::path> out;
  for (const auto& entry :
       std::filesystem::directory_iterator(testing_support::TestDataDir() / "hl7v2-samples")) {
    if (entry.path().extension() == ".hl7") out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Hl7v2SamplesTest, EverySampleParses) {
  const auto samples = Samples();
  ASSERT_EQ(samples.size(), 139u);
  for (const auto& path : samples) {
    const std::string bytes = testing_support::ReadFile(path);
    auto message = Parse(bytes);
    ASSERT_TRUE(message.ok()) << path.filename() << ": " << message.error().text() << " at "
                              << message.error().issues().front().expression;
    EXPECT_FALSE(message->Get("MSH-9.1").empty()) << path.filename();
    EXPECT_FALSE(message->Get("MSH-10").empty()) << path.filename();
    EXPECT_GT(message->segment_count(), 1u) << path.filename();
    // Every value of every segment can be read.
    for (std::size_t i = 0; i < message->segment_count(); ++i) {
      Segment segment = message->segment(i);
      for (std::size_t f = 1; f <= segment.field_count(); ++f) {
        for (std::size_t r = 1; r <= segment.RepetitionCount(f); ++r) {
          for (std::size_t c = 1; c <= segment.ComponentCount(f, r); ++c) {
            (void)segment.Get(f, r, c);
          }
        }
      }
    }
    auto batch = ParseBatch(bytes);
    ASSERT_TRUE(batch.ok()) << path.filename();
    EXPECT_EQ(batch->size(), 1u) << path.filename();
  }
}

}  // namespace
}  // namespace mappings::hl7v2
