// A small JSON tree for building FHIR resources in mappings: objects keep their members in the
// order they were set, and setting an empty value (empty string, object or array) does nothing,
// so a mapping never emits the empty elements FHIR forbids. Internal to mappings/hl7v2.
#ifndef MAPPINGS_HL7V2_JSON_VALUE_H_
#define MAPPINGS_HL7V2_JSON_VALUE_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mappings::hl7v2 {

class Json {
 public:
  enum class Kind { kNull, kString, kNumber, kBool, kObject, kArray };

  Json() = default;
  static Json String(std::string_view text) { return Json(Kind::kString, std::string(text)); }
  // `literal` must be a JSON number (the caller checked it, e.g. an HL7 NM value).
  static Json Number(std::string_view literal) { return Json(Kind::kNumber, std::string(literal)); }
  static Json Bool(bool value) { return Json(Kind::kBool, value ? "true" : "false"); }
  static Json Object() { return Json(Kind::kObject, {}); }
  static Json Array() { return Json(Kind::kArray, {}); }

  Kind kind() const { return kind_; }
  // True for null and for an empty string, object or array.
  bool empty() const;
  const std::string& text() const { return text_; }

  // Sets (or replaces) a member of an object; an empty `value` is not set. Returns *this (as an
  // rvalue on a temporary, so chains build without copies).
  Json& Set(std::string_view key, Json value) & {
    SetMember(key, std::move(value));
    return *this;
  }
  Json&& Set(std::string_view key, Json value) && {
    SetMember(key, std::move(value));
    return std::move(*this);
  }
  Json& Set(std::string_view key, std::string_view text) & { return Set(key, String(text)); }
  Json&& Set(std::string_view key, std::string_view text) && {
    return std::move(*this).Set(key, String(text));
  }
  Json& Set(std::string_view key, const char* text) & { return Set(key, String(text)); }
  Json&& Set(std::string_view key, const char* text) && {
    return std::move(*this).Set(key, String(text));
  }
  // Sets a member of an object at `position` (0 is first); an empty `value` is not set.
  Json& Insert(std::size_t position, std::string_view key, Json value);
  // Appends to an array; an empty `value` is not appended. Returns *this.
  Json& Push(Json value) & {
    PushItem(std::move(value));
    return *this;
  }
  Json&& Push(Json value) && {
    PushItem(std::move(value));
    return std::move(*this);
  }
  // The member named `key` of an object, or nullptr.
  const Json* Find(std::string_view key) const;
  Json* Find(std::string_view key);
  const std::vector<Json>& items() const { return items_; }

  std::string Dump(bool pretty) const;

 private:
  Json(Kind kind, std::string text) : kind_(kind), text_(std::move(text)) {}
  void SetMember(std::string_view key, Json value);
  void PushItem(Json value);
  void DumpTo(std::string* out, bool pretty, int depth) const;

  Kind kind_ = Kind::kNull;
  std::string text_;
  std::vector<std::pair<std::string, Json>> members_;
  std::vector<Json> items_;
};

}  // namespace mappings::hl7v2

#endif  // MAPPINGS_HL7V2_JSON_VALUE_H_
