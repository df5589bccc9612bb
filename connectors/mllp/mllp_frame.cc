#include "connectors/mllp/mllp_frame.h"

#include <utility>

namespace connectors::mllp {

std::string Frame(std::string_view message) {
  std::string framed;
  framed.reserve(message.size() + 3);
  framed.push_back(kStartBlock);
  framed.append(message);
  framed.push_back(kEndBlock);
  framed.push_back(kCarriageReturn);
  return framed;
}

FrameDecoder::Frame FrameDecoder::Next() {
  static constexpr char kDelimiters[] = {kStartBlock, kEndBlock};
  const std::string_view delimiters(kDelimiters, sizeof kDelimiters);
  Frame frame;
  while (consumed_ < buffer_.size()) {
    if (cr_pending_) {
      cr_pending_ = false;
      if (buffer_[consumed_] == kCarriageReturn) ++consumed_;
      continue;
    }
    if (!in_message_) {
      const std::size_t start = buffer_.find(kStartBlock, consumed_);
      const std::size_t stop = start == std::string::npos ? buffer_.size() : start;
      skipped_ += stop - consumed_;
      consumed_ = stop;
      if (start == std::string::npos) break;
      ++consumed_;
      in_message_ = true;
      discarding_ = false;
      message_.clear();
      continue;
    }
    const std::size_t delimiter = buffer_.find_first_of(delimiters, consumed_);
    const std::size_t stop = delimiter == std::string::npos ? buffer_.size() : delimiter;
    if (!discarding_) {
      message_.append(buffer_, consumed_, stop - consumed_);
      if (message_.size() > max_message_bytes_) {
        message_.resize(max_message_bytes_);
        discarding_ = true;
      }
    }
    consumed_ = stop;
    if (delimiter == std::string::npos) break;
    ++consumed_;
    if (buffer_[delimiter] == kStartBlock) {
      // The sender gave up on the message and started another: report the broken one and keep
      // reading the new one.
      frame = {Kind::kBroken, std::move(message_)};
      discarding_ = false;
    } else {
      frame = {discarding_ ? Kind::kTooLarge : Kind::kMessage, std::move(message_)};
      in_message_ = false;
      cr_pending_ = true;
    }
    message_.clear();
    break;
  }
  buffer_.erase(0, consumed_);
  consumed_ = 0;
  return frame;
}

}  // namespace connectors::mllp
