#include "connectors/mllp/message_file.h"

namespace connectors::mllp {
namespace {

// A segment name is followed by the field separator, which is never a letter or digit.
bool IsSegment(std::string_view line, std::string_view name) {
  if (!line.starts_with(name)) return false;
  if (line.size() == name.size()) return true;
  const char next = line[name.size()];
  return !((next >= 'A' && next <= 'Z') || (next >= 'a' && next <= 'z') ||
           (next >= '0' && next <= '9'));
}

bool IsBatchSegment(std::string_view line) {
  return IsSegment(line, "FHS") || IsSegment(line, "BHS") || IsSegment(line, "BTS") ||
         IsSegment(line, "FTS");
}

}  // namespace

std::vector<std::string> SplitMessages(std::string_view file) {
  std::vector<std::string> messages;
  std::size_t begin = 0;
  while (begin < file.size()) {
    std::size_t end = file.find_first_of("\r\n", begin);
    if (end == std::string_view::npos) end = file.size();
    const std::string_view line = file.substr(begin, end - begin);
    begin = end + 1;
    if (end + 1 < file.size() && file[end] == '\r' && file[end + 1] == '\n') ++begin;
    if (line.empty() || IsBatchSegment(line)) continue;
    if (IsSegment(line, "MSH") || messages.empty()) messages.emplace_back();
    messages.back().append(line);
    messages.back().push_back('\r');
  }
  return messages;
}

}  // namespace connectors::mllp
