#include "connectors/mllp/mllp_frame.h"

#include <gtest/gtest.h>

#include <string>

namespace connectors::mllp {
namespace {

using Kind = FrameDecoder::Kind;

TEST(MllpFrame, FramesWithStartAndEndBlocks) {
  EXPECT_EQ(Frame("MSH|^~\\&|A\r"), std::string("\x0bMSH|^~\\&|A\r\x1c\r"));
}

TEST(MllpFrame, DecodesMessagesSplitAcrossReads) {
  FrameDecoder decoder(1024);
  const std::string wire = Frame("MSH|1\r") + Frame("MSH|2\r");
  for (char c : wire) decoder.Feed(std::string(1, c));
  FrameDecoder::Frame first = decoder.Next();
  EXPECT_EQ(first.kind, Kind::kMessage);
  EXPECT_EQ(first.content, "MSH|1\r");
  FrameDecoder::Frame second = decoder.Next();
  EXPECT_EQ(second.kind, Kind::kMessage);
  EXPECT_EQ(second.content, "MSH|2\r");
  EXPECT_EQ(decoder.Next().kind, Kind::kNone);
  EXPECT_FALSE(decoder.InMessage());
  EXPECT_EQ(decoder.skipped_bytes(), 0u);
}

TEST(MllpFrame, WaitsForTheEndBlock) {
  FrameDecoder decoder(1024);
  decoder.Feed("\x0bMSH|1\r");
  EXPECT_EQ(decoder.Next().kind, Kind::kNone);
  EXPECT_TRUE(decoder.InMessage());
  decoder.Feed("\x1c");
  FrameDecoder::Frame frame = decoder.Next();
  EXPECT_EQ(frame.kind, Kind::kMessage);
  EXPECT_EQ(frame.content, "MSH|1\r");
  EXPECT_FALSE(decoder.InMessage());
  // The <CR> after <FS> arrives late and is not counted as junk.
  decoder.Feed("\r");
  EXPECT_EQ(decoder.Next().kind, Kind::kNone);
  EXPECT_EQ(decoder.skipped_bytes(), 0u);
}

TEST(MllpFrame, SkipsJunkBeforeTheStartBlock) {
  FrameDecoder decoder(1024);
  decoder.Feed("\r\nnoise" + Frame("MSH|1\r"));
  FrameDecoder::Frame frame = decoder.Next();
  EXPECT_EQ(frame.kind, Kind::kMessage);
  EXPECT_EQ(frame.content, "MSH|1\r");
  EXPECT_EQ(decoder.skipped_bytes(), 7u);
}

TEST(MllpFrame, AcceptsAnEndBlockWithoutCarriageReturn) {
  FrameDecoder decoder(1024);
  decoder.Feed("\x0bMSH|1\r\x1c\x0bMSH|2\r\x1c");
  EXPECT_EQ(decoder.Next().content, "MSH|1\r");
  EXPECT_EQ(decoder.Next().content, "MSH|2\r");
  EXPECT_EQ(decoder.skipped_bytes(), 0u);
}

TEST(MllpFrame, ReportsAMessageCutShortByANewStartBlock) {
  FrameDecoder decoder(1024);
  decoder.Feed("\x0bMSH|broken" + Frame("MSH|2\r"));
  FrameDecoder::Frame broken = decoder.Next();
  EXPECT_EQ(broken.kind, Kind::kBroken);
  EXPECT_EQ(broken.content, "MSH|broken");
  FrameDecoder::Frame next = decoder.Next();
  EXPECT_EQ(next.kind, Kind::kMessage);
  EXPECT_EQ(next.content, "MSH|2\r");
}

TEST(MllpFrame, CutsATooLargeMessageAndResynchronises) {
  FrameDecoder decoder(8);
  decoder.Feed("\x0b" + std::string(5, 'a'));
  EXPECT_EQ(decoder.Next().kind, Kind::kNone);
  decoder.Feed(std::string(100, 'b') + "\x1c\r" + Frame("MSH|2\r"));
  FrameDecoder::Frame large = decoder.Next();
  EXPECT_EQ(large.kind, Kind::kTooLarge);
  EXPECT_EQ(large.content, "aaaaabbb");
  FrameDecoder::Frame next = decoder.Next();
  EXPECT_EQ(next.kind, Kind::kMessage);
  EXPECT_EQ(next.content, "MSH|2\r");
}

TEST(MllpFrame, AMessageOfExactlyTheLimitIsWhole) {
  FrameDecoder decoder(6);
  decoder.Feed(Frame("MSH|1\r"));
  EXPECT_EQ(decoder.Next().kind, Kind::kMessage);
}

}  // namespace
}  // namespace connectors::mllp
