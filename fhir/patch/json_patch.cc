#include "fhir/patch/json_patch.h"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fhir/json/json.h"

namespace fhir::patch {
namespace {

// Deeper documents are refused: the tree is copied, compared and freed recursively.
constexpr size_t kMaxDepth = 256;
// `copy` is the one operation that grows a document beyond what the request carries, and a chain
// of copies doubles it each time: the values a patch may copy in total are bounded.
constexpr size_t kMaxCopiedValues = 1'000'000;

// A JSON tree of our own rather than rapidjson::Document, because RapidJSON's DOM turns numbers
// into doubles (FHIR decimals must keep their text) or, with kParseNumbersAsStringsFlag, into
// strings that would be written back quoted.
struct JsonValue {
  enum class Kind : uint8_t { kNull, kFalse, kTrue, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  std::string text;               // the number token, or the string's content
  std::vector<std::string> keys;  // object member names, parallel to `items`
  std::vector<JsonValue> items;   // array elements or object member values

  // The index of member `key`, or nullopt.
  std::optional<size_t> Find(std::string_view key) const {
    for (size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] == key) return i;
    }
    return std::nullopt;
  }
  const JsonValue* Member(std::string_view key) const {
    auto at = Find(key);
    return at ? &items[*at] : nullptr;
  }
  bool is_container() const { return kind == Kind::kArray || kind == Kind::kObject; }
};

class TreeBuilder : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, TreeBuilder> {
 public:
  bool Null() { return Add({}) != nullptr; }
  bool Bool(bool b) {
    JsonValue v;
    v.kind = b ? JsonValue::Kind::kTrue : JsonValue::Kind::kFalse;
    return Add(std::move(v)) != nullptr;
  }
  bool RawNumber(const char* str, rapidjson::SizeType length, bool) {
    JsonValue v;
    v.kind = JsonValue::Kind::kNumber;
    v.text.assign(str, length);
    return Add(std::move(v)) != nullptr;
  }
  bool String(const char* str, rapidjson::SizeType length, bool) {
    JsonValue v;
    v.kind = JsonValue::Kind::kString;
    v.text.assign(str, length);
    return Add(std::move(v)) != nullptr;
  }
  bool StartObject() { return Open(JsonValue::Kind::kObject); }
  bool Key(const char* str, rapidjson::SizeType length, bool) {
    key_.assign(str, length);
    return true;
  }
  bool EndObject(rapidjson::SizeType) {
    open_.pop_back();
    return true;
  }
  bool StartArray() { return Open(JsonValue::Kind::kArray); }
  bool EndArray(rapidjson::SizeType) {
    open_.pop_back();
    return true;
  }

  bool too_deep() const { return too_deep_; }
  JsonValue TakeRoot() { return std::move(root_); }

 private:
  bool Open(JsonValue::Kind kind) {
    if (open_.size() >= kMaxDepth) {
      too_deep_ = true;
      return false;
    }
    JsonValue v;
    v.kind = kind;
    JsonValue* added = Add(std::move(v));
    open_.push_back(added);
    return true;
  }
  // Only the innermost open container grows, so the pointers to its ancestors stay valid.
  JsonValue* Add(JsonValue v) {
    if (open_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    JsonValue* parent = open_.back();
    if (parent->kind == JsonValue::Kind::kObject) parent->keys.push_back(key_);
    parent->items.push_back(std::move(v));
    return &parent->items.back();
  }

  JsonValue root_;
  std::vector<JsonValue*> open_;
  std::string key_;
  bool too_deep_ = false;
};

// Reads `text` into a tree; on failure returns the reason.
std::optional<JsonValue> ReadJson(std::string_view text, std::string* reason) {
  TreeBuilder builder;
  rapidjson::Reader reader;
  rapidjson::MemoryStream stream(text.data(), text.size());
  constexpr unsigned kFlags =
      rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseValidateEncodingFlag;
  if (!reader.Parse<kFlags>(stream, builder)) {
    if (builder.too_deep()) {
      *reason = "nesting deeper than " + std::to_string(kMaxDepth) + " levels";
    } else {
      *reason = std::string(rapidjson::GetParseError_En(reader.GetParseErrorCode())) + " (offset " +
                std::to_string(reader.GetErrorOffset()) + ")";
    }
    return std::nullopt;
  }
  return builder.TakeRoot();
}

void WriteValue(const JsonValue& v, rapidjson::Writer<rapidjson::StringBuffer>& out) {
  switch (v.kind) {
    case JsonValue::Kind::kNull:
      out.Null();
      break;
    case JsonValue::Kind::kFalse:
      out.Bool(false);
      break;
    case JsonValue::Kind::kTrue:
      out.Bool(true);
      break;
    case JsonValue::Kind::kNumber:
      out.RawValue(v.text.data(), v.text.size(), rapidjson::kNumberType);
      break;
    case JsonValue::Kind::kString:
      out.String(v.text.data(), static_cast<rapidjson::SizeType>(v.text.size()));
      break;
    case JsonValue::Kind::kArray:
      out.StartArray();
      for (const JsonValue& item : v.items) WriteValue(item, out);
      out.EndArray();
      break;
    case JsonValue::Kind::kObject:
      out.StartObject();
      for (size_t i = 0; i < v.items.size(); ++i) {
        out.Key(v.keys[i].data(), static_cast<rapidjson::SizeType>(v.keys[i].size()));
        WriteValue(v.items[i], out);
      }
      out.EndObject();
      break;
  }
}

std::string WriteJson(const JsonValue& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  WriteValue(v, writer);
  return {buffer.GetString(), buffer.GetSize()};
}

// A JSON number as sign, significant digits and decimal exponent, so that 1, 1.0 and 10e-1
// compare equal without the rounding of a double.
struct NumberValue {
  bool negative = false;
  std::string digits;  // no leading or trailing zeros; empty for zero
  long long exponent = 0;
  bool operator==(const NumberValue&) const = default;
};

NumberValue ReadNumber(std::string_view token) {
  NumberValue n;
  size_t i = 0;
  if (i < token.size() && token[i] == '-') {
    n.negative = true;
    ++i;
  }
  for (; i < token.size() && token[i] >= '0' && token[i] <= '9'; ++i) n.digits += token[i];
  if (i < token.size() && token[i] == '.') {
    for (++i; i < token.size() && token[i] >= '0' && token[i] <= '9'; ++i) {
      n.digits += token[i];
      --n.exponent;
    }
  }
  if (i < token.size() && (token[i] == 'e' || token[i] == 'E')) {
    ++i;
    bool negative_exponent = false;
    if (i < token.size() && (token[i] == '+' || token[i] == '-'))
      negative_exponent = token[i++] == '-';
    long long e = 0;
    // Exponents beyond any double's range compare by their clamped value.
    for (; i < token.size() && token[i] >= '0' && token[i] <= '9'; ++i) {
      if (e < 1'000'000'000'000LL) e = e * 10 + (token[i] - '0');
    }
    n.exponent += negative_exponent ? -e : e;
  }
  const size_t first = n.digits.find_first_not_of('0');
  if (first == std::string::npos) return NumberValue{};
  n.digits.erase(0, first);
  while (n.digits.back() == '0') {
    n.digits.pop_back();
    ++n.exponent;
  }
  return n;
}

bool Equal(const JsonValue& a, const JsonValue& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case JsonValue::Kind::kNull:
    case JsonValue::Kind::kFalse:
    case JsonValue::Kind::kTrue:
      return true;
    case JsonValue::Kind::kNumber:
      return ReadNumber(a.text) == ReadNumber(b.text);
    case JsonValue::Kind::kString:
      return a.text == b.text;
    case JsonValue::Kind::kArray:
      if (a.items.size() != b.items.size()) return false;
      for (size_t i = 0; i < a.items.size(); ++i) {
        if (!Equal(a.items[i], b.items[i])) return false;
      }
      return true;
    case JsonValue::Kind::kObject:
      if (a.items.size() != b.items.size()) return false;
      for (size_t i = 0; i < a.items.size(); ++i) {
        const JsonValue* other = b.Member(a.keys[i]);
        if (other == nullptr || !Equal(a.items[i], *other)) return false;
      }
      return true;
  }
  return false;
}

// A JSON Pointer split into unescaped reference tokens; nullopt when it is malformed.
std::optional<std::vector<std::string>> ReadPointer(std::string_view pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty()) return tokens;
  if (pointer.front() != '/') return std::nullopt;
  size_t at = 1;
  while (true) {
    const size_t end = std::min(pointer.find('/', at), pointer.size());
    std::string token;
    for (size_t i = at; i < end; ++i) {
      if (pointer[i] != '~') {
        token += pointer[i];
        continue;
      }
      if (i + 1 >= end || (pointer[i + 1] != '0' && pointer[i + 1] != '1')) return std::nullopt;
      token += pointer[i + 1] == '0' ? '~' : '/';
      ++i;
    }
    tokens.push_back(std::move(token));
    if (end == pointer.size()) break;
    at = end + 1;
  }
  return tokens;
}

// An array index token: "0" or digits without a leading zero. nullopt otherwise ("-" included).
std::optional<size_t> ReadIndex(std::string_view token) {
  if (token.empty() || token.size() > 18 || (token.size() > 1 && token.front() == '0')) {
    return std::nullopt;
  }
  size_t index = 0;
  for (char c : token) {
    if (c < '0' || c > '9') return std::nullopt;
    index = index * 10 + static_cast<size_t>(c - '0');
  }
  return index;
}

enum class OpKind { kAdd, kRemove, kReplace, kMove, kCopy, kTest };

struct Op {
  OpKind kind;
  std::string name;  // as given, for messages
  std::string path_text;
  std::vector<std::string> path;
  std::vector<std::string> from;
  const JsonValue* value = nullptr;  // points into the patch tree
};

Error Malformed(std::string text, std::string location) {
  return Error::Invalid("patch.invalid", std::move(text), std::move(location));
}

// Checks the whole patch document before anything is applied, so a malformed patch is always a
// 400, whatever the document it would have been applied to.
Result<std::vector<Op>> ReadOps(const JsonValue& patch) {
  if (patch.kind != JsonValue::Kind::kArray) {
    return Malformed("A JSON Patch document must be an array of operations", "");
  }
  std::vector<Op> ops;
  for (size_t i = 0; i < patch.items.size(); ++i) {
    const JsonValue& item = patch.items[i];
    const std::string at = "/" + std::to_string(i);
    if (item.kind != JsonValue::Kind::kObject) {
      return Malformed("Each JSON Patch operation must be an object", at);
    }
    const JsonValue* op = item.Member("op");
    if (op == nullptr || op->kind != JsonValue::Kind::kString) {
      return Malformed("The operation needs an \"op\" string", at + "/op");
    }
    static constexpr std::pair<std::string_view, OpKind> kOps[] = {
        {"add", OpKind::kAdd},   {"remove", OpKind::kRemove}, {"replace", OpKind::kReplace},
        {"move", OpKind::kMove}, {"copy", OpKind::kCopy},     {"test", OpKind::kTest}};
    std::optional<OpKind> kind;
    for (const auto& [name, k] : kOps) {
      if (op->text == name) kind = k;
    }
    if (!kind) {
      return Malformed("\"op\" must be add, remove, replace, move, copy or test", at + "/op");
    }
    Op parsed{.kind = *kind, .name = op->text};
    const JsonValue* path = item.Member("path");
    if (path == nullptr || path->kind != JsonValue::Kind::kString) {
      return Malformed("The operation needs a \"path\" string", at + "/path");
    }
    auto path_tokens = ReadPointer(path->text);
    if (!path_tokens) {
      return Malformed(
          "\"path\" must be a JSON Pointer (\"\" or starting with \"/\", escapes ~0 ~1)",
          at + "/path");
    }
    parsed.path_text = path->text;
    parsed.path = std::move(*path_tokens);
    if (*kind == OpKind::kMove || *kind == OpKind::kCopy) {
      const JsonValue* from = item.Member("from");
      if (from == nullptr || from->kind != JsonValue::Kind::kString) {
        return Malformed("A " + op->text + " operation needs a \"from\" string", at + "/from");
      }
      auto from_tokens = ReadPointer(from->text);
      if (!from_tokens) {
        return Malformed(
            "\"from\" must be a JSON Pointer (\"\" or starting with \"/\", escapes ~0 ~1)",
            at + "/from");
      }
      parsed.from = std::move(*from_tokens);
      if (*kind == OpKind::kMove && parsed.from.size() < parsed.path.size() &&
          std::equal(parsed.from.begin(), parsed.from.end(), parsed.path.begin())) {
        return Malformed("A value cannot be moved into one of its own children", at + "/from");
      }
    }
    if (*kind == OpKind::kAdd || *kind == OpKind::kReplace || *kind == OpKind::kTest) {
      parsed.value = item.Member("value");
      if (parsed.value == nullptr) {
        return Malformed("A " + op->text + " operation needs a \"value\"", at + "/value");
      }
    }
    ops.push_back(std::move(parsed));
  }
  return ops;
}

// Applies the operations to one document. Each failure message says what was wrong with the
// pointer, never what the document holds.
class Patcher {
 public:
  explicit Patcher(JsonValue document) : root_(std::move(document)) {}

  Result<void> Apply(const std::vector<Op>& ops) {
    for (size_t i = 0; i < ops.size(); ++i) {
      index_ = i;
      op_ = &ops[i];
      if (auto done = ApplyOne(*op_); !done.ok()) return done;
    }
    return {};
  }

  JsonValue& root() { return root_; }

 private:
  Result<void> ApplyOne(const Op& op) {
    switch (op.kind) {
      case OpKind::kAdd:
        return Add(op.path, *op.value);
      case OpKind::kRemove:
        return Remove(op.path, nullptr);
      case OpKind::kReplace: {
        JsonValue* target = Resolve(op.path);
        if (target == nullptr) return Failed("path " + op.path_text + " does not exist");
        *target = *op.value;
        return {};
      }
      case OpKind::kMove: {
        if (op.from == op.path) {
          if (Resolve(op.from) == nullptr) return Failed("from does not exist");
          return {};
        }
        JsonValue moved;
        if (auto removed = Remove(op.from, &moved); !removed.ok()) return removed;
        return Add(op.path, std::move(moved));
      }
      case OpKind::kCopy: {
        const JsonValue* source = Resolve(op.from);
        if (source == nullptr) return Failed("from does not exist");
        copied_ += CountValues(*source);
        if (copied_ > kMaxCopiedValues) {
          return Failed("the patch copies more than " + std::to_string(kMaxCopiedValues) +
                        " values");
        }
        return Add(op.path, *source);
      }
      case OpKind::kTest: {
        const JsonValue* target = Resolve(op.path);
        if (target == nullptr) return Failed("path " + op.path_text + " does not exist");
        if (!Equal(*target, *op.value)) {
          return Failed("the value at " + op.path_text + " is not the value tested for");
        }
        return {};
      }
    }
    return {};
  }

  static size_t CountValues(const JsonValue& v) {
    size_t count = 1;
    for (const JsonValue& item : v.items) count += CountValues(item);
    return count;
  }

  Error Failed(const std::string& why) const {
    return Error::Unprocessable(
        "patch.failed",
        "JSON Patch operation " + std::to_string(index_) + " (" + op_->name + ") failed: " + why,
        "/" + std::to_string(index_));
  }

  JsonValue* Resolve(const std::vector<std::string>& tokens, size_t count) {
    JsonValue* at = &root_;
    for (size_t i = 0; i < count; ++i) {
      if (at->kind == JsonValue::Kind::kObject) {
        auto member = at->Find(tokens[i]);
        if (!member) return nullptr;
        at = &at->items[*member];
      } else if (at->kind == JsonValue::Kind::kArray) {
        auto index = ReadIndex(tokens[i]);
        if (!index || *index >= at->items.size()) return nullptr;
        at = &at->items[*index];
      } else {
        return nullptr;
      }
    }
    return at;
  }
  JsonValue* Resolve(const std::vector<std::string>& tokens) {
    return Resolve(tokens, tokens.size());
  }

  // The container that holds the last token's target, or a failure naming the missing parent.
  Result<JsonValue*> Parent(const std::vector<std::string>& tokens) {
    JsonValue* parent = Resolve(tokens, tokens.size() - 1);
    if (parent == nullptr || !parent->is_container()) {
      std::string parent_path;
      for (size_t i = 0; i + 1 < tokens.size(); ++i) parent_path += "/" + Escape(tokens[i]);
      return Failed("the parent " + parent_path + " is not an existing object or array");
    }
    return parent;
  }

  static std::string Escape(const std::string& token) {
    std::string out;
    for (char c : token) {
      if (c == '~') {
        out += "~0";
      } else if (c == '/') {
        out += "~1";
      } else {
        out += c;
      }
    }
    return out;
  }

  Result<void> Add(const std::vector<std::string>& tokens, JsonValue value) {
    if (tokens.empty()) {
      root_ = std::move(value);
      return {};
    }
    auto parent = Parent(tokens);
    if (!parent.ok()) return std::move(parent).error();
    JsonValue& container = **parent;
    const std::string& last = tokens.back();
    if (container.kind == JsonValue::Kind::kObject) {
      if (auto member = container.Find(last)) {
        container.items[*member] = std::move(value);
      } else {
        container.keys.push_back(last);
        container.items.push_back(std::move(value));
      }
      return {};
    }
    if (last == "-") {
      container.items.push_back(std::move(value));
      return {};
    }
    auto index = ReadIndex(last);
    if (!index || *index > container.items.size()) {
      return Failed("array index " + Escape(last) + " is not between 0 and the array's length");
    }
    container.items.insert(container.items.begin() + static_cast<std::ptrdiff_t>(*index),
                           std::move(value));
    return {};
  }

  // Removes the target; moves it into *taken when given.
  Result<void> Remove(const std::vector<std::string>& tokens, JsonValue* taken) {
    const char* what = taken != nullptr ? "from" : "path";
    if (tokens.empty()) return Failed(std::string("the whole document cannot be removed"));
    auto parent = Parent(tokens);
    if (!parent.ok()) return std::move(parent).error();
    JsonValue& container = **parent;
    size_t at = 0;
    if (container.kind == JsonValue::Kind::kObject) {
      auto member = container.Find(tokens.back());
      if (!member) return Failed(std::string(what) + " does not exist");
      at = *member;
      container.keys.erase(container.keys.begin() + static_cast<std::ptrdiff_t>(at));
    } else {
      auto index = ReadIndex(tokens.back());
      if (!index || *index >= container.items.size()) {
        return Failed(std::string(what) + " does not exist");
      }
      at = *index;
    }
    if (taken != nullptr) *taken = std::move(container.items[at]);
    container.items.erase(container.items.begin() + static_cast<std::ptrdiff_t>(at));
    return {};
  }

  JsonValue root_;
  size_t copied_ = 0;
  size_t index_ = 0;
  const Op* op_ = nullptr;
};

}  // namespace

Result<std::string> ApplyJsonPatchToJson(std::string_view document, std::string_view patch) {
  std::string reason;
  auto patch_tree = ReadJson(patch, &reason);
  if (!patch_tree) return Malformed("The JSON Patch document is not valid JSON: " + reason, "");
  auto ops = ReadOps(*patch_tree);
  if (!ops.ok()) return std::move(ops).error();
  auto tree = ReadJson(document, &reason);
  if (!tree) {
    return Error::Unprocessable("patch.invalid-document",
                                "The document to patch is not valid JSON: " + reason);
  }
  Patcher patcher(std::move(*tree));
  if (auto applied = patcher.Apply(*ops); !applied.ok()) return std::move(applied).error();
  return WriteJson(patcher.root());
}

Result<Resource> ApplyJsonPatch(std::string_view resource_json, std::string_view patch,
                                const model::Definitions& defs) {
  auto patched = ApplyJsonPatchToJson(resource_json, patch);
  if (!patched.ok()) return std::move(patched).error();
  auto resource = json::Parse(*patched, defs);
  // The patch was well-formed and applied, but its result is not a resource we can keep.
  if (!resource.ok()) return Error(422, resource.error().issues());
  return std::move(resource).value();
}

}  // namespace fhir::patch
