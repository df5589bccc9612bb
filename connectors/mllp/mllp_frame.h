// MLLP framing (HL7 v2 Minimal Lower Layer Protocol, release 2): a message travels as
// <VT> message <FS><CR>, VT = 0x0B, FS = 0x1C, CR = 0x0D.
//
// FrameDecoder takes the bytes of a connection as they arrive and hands out whole messages. It is
// tolerant where senders are known to stray: bytes before a <VT> (line noise, a keep-alive
// newline) are skipped and counted; an <FS> not followed by <CR> still ends the message; a <VT>
// inside an unfinished message starts a new one (the broken one is reported). A message larger
// than `max_message_bytes` is reported with its first `max_message_bytes` bytes, and the rest of
// it, up to its <FS>, is discarded. Not thread-safe: one decoder per connection.
#ifndef CONNECTORS_MLLP_MLLP_FRAME_H_
#define CONNECTORS_MLLP_MLLP_FRAME_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace connectors::mllp {

inline constexpr char kStartBlock = 0x0B;
inline constexpr char kEndBlock = 0x1C;
inline constexpr char kCarriageReturn = 0x0D;

// `message` framed for the wire.
std::string Frame(std::string_view message);

class FrameDecoder {
 public:
  enum class Kind {
    kNone,      // no complete frame yet: feed more bytes
    kMessage,   // `content` is a whole message
    kTooLarge,  // `content` is the message's first max_message_bytes bytes
    kBroken,    // a <VT> arrived inside a message: `content` is what came before it
  };
  struct Frame {
    Kind kind = Kind::kNone;
    std::string content;
  };

  explicit FrameDecoder(std::size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

  // Adds received bytes.
  void Feed(std::string_view bytes) { buffer_.append(bytes); }
  // The next frame from what was fed, or kind kNone.
  Frame Next();
  // True while a message has started (its <VT> arrived) and has not ended.
  bool InMessage() const { return in_message_; }
  // Bytes skipped outside any frame so far.
  std::size_t skipped_bytes() const { return skipped_; }

 private:
  const std::size_t max_message_bytes_;
  std::string buffer_;        // received, not yet consumed
  std::size_t consumed_ = 0;  // bytes of buffer_ already handled
  bool in_message_ = false;
  bool discarding_ = false;  // past max_message_bytes: dropping up to the <FS>
  bool cr_pending_ = false;  // an <FS> was seen; a <CR> right after it belongs to the frame
  std::string message_;      // the current message's bytes so far
  std::size_t skipped_ = 0;
};

}  // namespace connectors::mllp

#endif  // CONNECTORS_MLLP_MLLP_FRAME_H_
