#include "mappings/hl7v2/json_value.h"

#include <algorithm>

#include "fhir/json/quote.h"

namespace mappings::hl7v2 {
namespace {

void Indent(std::string* out, int depth) {
  out->push_back('\n');
  out->append(static_cast<std::size_t>(depth) * 2, ' ');
}

}  // namespace

bool Json::empty() const {
  switch (kind_) {
    case Kind::kNull:
      return true;
    case Kind::kString:
      return text_.empty();
    case Kind::kObject:
      return members_.empty();
    case Kind::kArray:
      return items_.empty();
    default:
      return false;
  }
}

void Json::SetMember(std::string_view key, Json value) {
  if (value.empty()) return;
  if (Json* existing = Find(key)) {
    *existing = std::move(value);
  } else {
    members_.emplace_back(std::string(key), std::move(value));
  }
}

Json& Json::Insert(std::size_t position, std::string_view key, Json value) {
  if (value.empty()) return *this;
  position = std::min(position, members_.size());
  members_.emplace(members_.begin() + static_cast<std::ptrdiff_t>(position), std::string(key),
                   std::move(value));
  return *this;
}

void Json::PushItem(Json value) {
  if (!value.empty()) items_.push_back(std::move(value));
}

const Json* Json::Find(std::string_view key) const {
  for (const auto& [k, v] : members_) {
    if (k == key) return &v;
  }
  return nullptr;
}

Json* Json::Find(std::string_view key) {
  for (auto& [k, v] : members_) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::string Json::Dump(bool pretty) const {
  std::string out;
  DumpTo(&out, pretty, 0);
  return out;
}

void Json::DumpTo(std::string* out, bool pretty, int depth) const {
  switch (kind_) {
    case Kind::kNull:
      *out += "null";
      return;
    case Kind::kString:
      fhir::json::AppendQuoted(text_, out);
      return;
    case Kind::kNumber:
    case Kind::kBool:
      *out += text_;
      return;
    case Kind::kObject: {
      out->push_back('{');
      bool first = true;
      for (const auto& [key, value] : members_) {
        if (!first) out->push_back(',');
        first = false;
        if (pretty) Indent(out, depth + 1);
        fhir::json::AppendQuoted(key, out);
        *out += pretty ? ": " : ":";
        value.DumpTo(out, pretty, depth + 1);
      }
      if (pretty && !members_.empty()) Indent(out, depth);
      out->push_back('}');
      return;
    }
    case Kind::kArray: {
      out->push_back('[');
      bool first = true;
      for (const Json& item : items_) {
        if (!first) out->push_back(',');
        first = false;
        if (pretty) Indent(out, depth + 1);
        item.DumpTo(out, pretty, depth + 1);
      }
      if (pretty && !items_.empty()) Indent(out, depth);
      out->push_back(']');
      return;
    }
  }
}

}  // namespace mappings::hl7v2
