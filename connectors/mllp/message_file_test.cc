#include "connectors/mllp/message_file.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace connectors::mllp {
namespace {

TEST(MessageFile, NormalisesLineEndsAndSplitsAtEachHeader) {
  const std::string file =
      "MSH|^~\\&|A|B|||20240101||ADT^A01|1|P|2.5\r\nPID|1\n\nMSH|^~\\&|A|B|||20240101||ADT^A01|2|"
      "P|2.5\rPID|\xd5\xc5\r\n";
  EXPECT_EQ(SplitMessages(file), (std::vector<std::string>{
                                     "MSH|^~\\&|A|B|||20240101||ADT^A01|1|P|2.5\rPID|1\r",
                                     "MSH|^~\\&|A|B|||20240101||ADT^A01|2|P|2.5\rPID|\xd5\xc5\r"}));
}

TEST(MessageFile, DropsBatchEnvelopes) {
  const std::string file = "FHS|^~\\&\nBHS|^~\\&\nMSH|^~\\&|1\nPID|1\nMSH|^~\\&|2\nBTS|2\nFTS|1\n";
  EXPECT_EQ(SplitMessages(file),
            (std::vector<std::string>{"MSH|^~\\&|1\rPID|1\r", "MSH|^~\\&|2\r"}));
}

TEST(MessageFile, KeepsWhatPrecedesTheFirstHeaderAsAMessage) {
  EXPECT_EQ(SplitMessages("garbage\nMSH|1\n"), (std::vector<std::string>{"garbage\r", "MSH|1\r"}));
  EXPECT_TRUE(SplitMessages("").empty());
  EXPECT_TRUE(SplitMessages("\r\n\n").empty());
}

}  // namespace
}  // namespace connectors::mllp
