#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fhir/json/json.h"
#include "fhir/model/primitive.h"

namespace fhir::json {
namespace {

using model::ElementDef;
using model::JsonRepresentation;
using model::TypeDef;
using rapidjson::SizeType;

// In situ: strings are unescaped inside the arena's copy of the input, so string values need no
// further copy and keys stay valid for rendering locations. Numbers arrive as their exact text.
// UTF-8 is checked before reading (FindInvalidUtf8): the reader's own check works a character
// at a time and disables its fast scan of unescaped strings.
constexpr unsigned kReadFlags = rapidjson::kParseInsituFlag | rapidjson::kParseNumbersAsStringsFlag;

// Room after the text for the reader's aligned 16-byte loads in RAPIDJSON_SSE2/SSE42 builds.
constexpr size_t kPadding = 16;

constexpr size_t kMaxQuoted = 64;

// The offset of the first byte that does not start a well-formed UTF-8 sequence (RFC 3629: no
// overlong forms, surrogates or code points past U+10FFFF), or npos.
size_t FindInvalidUtf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    // ASCII runs eight bytes at a time.
    uint64_t word;
    while (i + sizeof(word) <= n) {
      std::memcpy(&word, s + i, sizeof(word));
      if ((word & 0x8080808080808080u) != 0) break;
      i += sizeof(word);
    }
    if (i == n) break;
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    // Sequence length, payload bits of the lead byte, smallest code point of that length.
    size_t len = 4;
    uint32_t code = c & 0x07;
    uint32_t min = 0x10000;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      code = c & 0x1F;
      min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      code = c & 0x0F;
      min = 0x800;
    } else if ((c & 0xF8) != 0xF0) {
      return i;
    }
    if (n - i < len) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return i;
      code = (code << 6) | (s[i + k] & 0x3F);
    }
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

// UTF-8 of a UTF-16 surrogate (ED A0..BF): RapidJSON decodes an unpaired low-surrogate escape
// ("\uDC00") into it. FindInvalidUtf8 has checked the raw bytes, but not what escapes decode to.
size_t FindSurrogate(std::string_view text) {
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    p = static_cast<const char*>(std::memchr(p, 0xED, static_cast<size_t>(end - p)));
    if (p == nullptr || p + 1 >= end) break;
    if (static_cast<unsigned char>(p[1]) >= 0xA0) return static_cast<size_t>(p - text.data());
    ++p;
  }
  return std::string_view::npos;
}

// A member name or type name as it may appear in a message: cut on a character boundary, and
// before any encoded surrogate so that messages stay valid UTF-8.
std::string Quote(std::string_view text) {
  size_t n = std::min(text.size(), FindSurrogate(text));
  const bool cut = n > kMaxQuoted || n < text.size();
  if (n > kMaxQuoted) {
    n = kMaxQuoted;
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  }
  std::string out(text.substr(0, n));
  if (cut) out += "...";
  return out;
}

enum class Json : uint8_t { kNull, kBoolean, kNumber, kString };

std::string_view Describe(JsonRepresentation representation) {
  switch (representation) {
    case JsonRepresentation::kNumber:
      return "a JSON number";
    case JsonRepresentation::kBoolean:
      return "true or false";
    case JsonRepresentation::kString:
      break;
  }
  return "a JSON string";
}

Json JsonOf(JsonRepresentation representation) {
  switch (representation) {
    case JsonRepresentation::kNumber:
      return Json::kNumber;
    case JsonRepresentation::kBoolean:
      return Json::kBoolean;
    case JsonRepresentation::kString:
      break;
  }
  return Json::kString;
}

// Finds the resourceType member of an object whose first member is something else: JSON does
// not order properties, yet the type decides how every other member is read. Only this rare case
// pays for a second pass over the object.
class ResourceTypeFinder
    : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, ResourceTypeFinder> {
 public:
  enum class Outcome { kFound, kNotString, kMissing, kMalformed };

  // `open` is the offset of the object's '{' in `json`.
  static Outcome Find(std::string_view json, size_t open, std::string* type) {
    rapidjson::MemoryStream stream(json.data() + open, json.size() - open);
    ResourceTypeFinder finder;
    rapidjson::Reader reader;
    const rapidjson::ParseResult parsed =
        reader.Parse<rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseStopWhenDoneFlag>(
            stream, finder);
    if (parsed.Code() != rapidjson::kParseErrorTermination) return Outcome::kMalformed;
    if (finder.outcome_ == Outcome::kFound) *type = std::move(finder.type_);
    return finder.outcome_;
  }

  bool Default() { return NotTheType(); }
  bool RawNumber(const char*, SizeType, bool) { return NotTheType(); }
  bool String(const char* str, SizeType len, bool) {
    if (!expecting_) return true;
    type_.assign(str, len);
    outcome_ = Outcome::kFound;
    return false;
  }
  bool Key(const char* str, SizeType len, bool) {
    expecting_ = depth_ == 1 && std::string_view(str, len) == "resourceType";
    return true;
  }
  bool StartObject() { return Open(); }
  bool EndObject(SizeType) { return --depth_ > 0; }  // past the object's end: not there
  bool StartArray() { return Open(); }
  bool EndArray(SizeType) {
    --depth_;
    return true;
  }

 private:
  bool NotTheType() {
    if (!expecting_) return true;
    outcome_ = Outcome::kNotString;
    return false;
  }
  bool Open() {
    if (!NotTheType()) return false;
    ++depth_;
    return true;
  }

  int depth_ = 0;
  bool expecting_ = false;
  Outcome outcome_ = Outcome::kMissing;
  std::string type_;
};

// What the value of an object member (or the items of an array) becomes.
struct Member {
  const ElementDef* def = nullptr;  // nullptr: the value is skipped
  const TypeDef* type = nullptr;    // the (chosen) type; nullptr for a resource element
  std::string_view name;            // the JSON name; without the '_' of primitive extensions
  bool extension = false;           // "_name": the id and extensions of a primitive
  bool merge = false;               // the other half ("name" or "_name") came first
  bool resource_type = false;       // the resourceType member of a resource
};

// One open JSON object or array. Arrays never nest in FHIR, so an array's owner is the object
// frame below it.
struct Frame {
  enum class Kind : uint8_t { kObject, kArray };
  Kind kind = Kind::kObject;
  bool resource = false;           // object: a resource, typed by its resourceType member
  bool dead = false;               // object: its resource type is unknown; members are skipped
  bool has_resource_type = false;  // object: the resourceType member was seen
  bool check_nulls = false;        // object: a primitive array held a null
  bool merging = false;            // array: fills the nodes the other half made
  Node* node = nullptr;            // object: receives the members; array: the owner's node
  const TypeDef* type = nullptr;   // object: the type whose elements the members are
  Member member;                   // object: the current member; array: what every item is
  uint32_t count = 0;              // object: members read; array: items begun
  uint32_t merge_start = 0;        // array: first node of the other half in node->children
  uint32_t merge_len = 0;          // array: nodes of the other half
  size_t seen = 0;                 // object: offset of its words in Builder::seen_
  size_t open = 0;                 // object: offset of its '{' in the input
};

// Where a scalar or container value goes.
struct Target {
  Frame* owner;    // the object whose node receives the value
  Frame* array;    // the array the value is an item of, or nullptr
  uint32_t index;  // the item's index, 0 for a member value
  Member member;
};

// SAX handler building the DOM directly in the resource's arena. Locations are rendered from
// the frame stack only when a fault is reported, so the happy path builds no strings.
class Builder : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, Builder> {
 public:
  Builder(std::string_view json, rapidjson::InsituStringStream& stream,
          const model::Definitions& defs, const ParseOptions& options, Resource& resource)
      : json_(json),
        stream_(stream),
        defs_(defs),
        max_depth_(options.max_depth),
        max_issues_(options.max_issues > 0 ? options.max_issues : 1),
        resource_(resource) {
    frames_.reserve(32);
    seen_.reserve(64);
  }

  bool Null() { return Scalar(Json::kNull, {}); }
  bool Bool(bool b) { return Scalar(Json::kBoolean, b ? "true" : "false"); }
  bool RawNumber(const char* str, SizeType len, bool) {
    return Scalar(Json::kNumber, std::string_view(str, len));
  }
  bool String(const char* str, SizeType len, bool) {
    return Scalar(Json::kString, std::string_view(str, len));
  }
  bool StartObject();
  bool Key(const char* str, SizeType len, bool);
  bool EndObject(SizeType members);
  bool StartArray();
  bool EndArray(SizeType items);

  void ReportSyntax(rapidjson::ParseErrorCode code, size_t offset);
  std::vector<Issue> TakeIssues() { return std::move(issues_); }

 private:
  bool Continue() const { return !stop_; }
  bool Enter();
  Target BeginValue();
  bool Scalar(Json kind, std::string_view text);
  bool ResourceTypeValue(Frame& owner, Json kind, std::string_view text);
  void CheckPrimitive(Json kind, std::string_view text, const TypeDef& type);
  void FindTypeAhead(Frame& frame);
  void ResolveType(Frame& frame, std::string_view name);
  Node* PrimitiveNode(const Target& target);
  Node* AddNode(Node* parent, const ElementDef* def, const TypeDef* type);
  void PushObject(Node* node, const TypeDef* type);
  void PushResource(Node* node);
  void CheckNulls(const Frame& frame);

  static size_t Words(const TypeDef& type) { return (type.elements.size() * 2 + 63) / 64; }
  static std::pair<uint32_t, uint32_t> FindRun(const Node* parent, const ElementDef* def);

  // The FHIRPath of frames_[0, n): with `member`, the last frame's current member or item.
  std::string Path(size_t n, bool member) const;
  std::string Here() const { return Path(frames_.size(), true); }
  std::string Container() const { return Path(frames_.size(), false); }
  void Report(std::string_view id, std::string text, std::string expression,
              IssueType type = IssueType::kStructure, Severity severity = Severity::kError);

  std::string_view json_;
  rapidjson::InsituStringStream& stream_;  // read for offsets only
  const model::Definitions& defs_;
  const size_t max_depth_;
  const size_t max_issues_;
  Resource& resource_;

  std::vector<Frame> frames_;
  // Two bits per element of each open object (value seen, "_" extension seen), for duplicate
  // keys and for pairing "given" with "_given"; a stack parallel to frames_.
  std::vector<uint64_t> seen_;
  size_t depth_ = 0;
  size_t skip_ = 0;  // > 0 inside a container being skipped
  bool stop_ = false;
  std::vector<Issue> issues_;
};

void Builder::Report(std::string_view id, std::string text, std::string expression, IssueType type,
                     Severity severity) {
  if (stop_) return;
  issues_.push_back(Issue{severity, type, std::string(id), std::move(text), std::move(expression)});
  if (issues_.size() >= max_issues_) stop_ = true;
}

std::string Builder::Path(size_t n, bool member) const {
  std::string out;
  if (!frames_.empty() && frames_.front().type != nullptr) out = frames_.front().type->name;
  for (size_t i = 0; i < n; ++i) {
    const Frame& f = frames_[i];
    if (i + 1 == n && !member) break;
    if (f.count == 0) continue;
    if (f.kind == Frame::Kind::kObject) {
      if (!out.empty()) out += '.';
      out += Quote(f.member.name);
    } else {
      out += '[';
      out += std::to_string(f.count - 1);
      out += ']';
    }
  }
  return out;
}

bool Builder::Enter() {
  if (++depth_ <= max_depth_) return true;
  Report("json.too-deep", "JSON nesting is deeper than " + std::to_string(max_depth_) + " levels",
         Here(), IssueType::kStructure, Severity::kFatal);
  stop_ = true;
  return false;
}

Target Builder::BeginValue() {
  Frame& top = frames_.back();
  if (top.kind == Frame::Kind::kArray) {
    return Target{&frames_[frames_.size() - 2], &top, top.count++, top.member};
  }
  return Target{&top, nullptr, 0, top.member};
}

Node* Builder::AddNode(Node* parent, const ElementDef* def, const TypeDef* type) {
  Node* node = resource_.NewNode(def, type);
  Resource::InsertChild(parent, node);
  return node;
}

std::pair<uint32_t, uint32_t> Builder::FindRun(const Node* parent, const ElementDef* def) {
  const auto& kids = parent->children;
  uint32_t start = 0;
  while (start < kids.size() && kids[start]->def != def) ++start;
  uint32_t end = start;
  while (end < kids.size() && kids[end]->def == def) ++end;
  return {start, end - start};
}

// The node of a primitive value or of its "_" object: the other half's node at the same position
// when that half came first, else a new one. Every item gets a node, even a faulty one, so that
// the halves stay aligned and one fault does not cascade.
Node* Builder::PrimitiveNode(const Target& target) {
  Node* parent = target.owner->node;
  if (target.array != nullptr) {
    if (target.array->merging && target.index < target.array->merge_len) {
      return parent->children[target.array->merge_start + target.index];
    }
  } else if (target.member.merge) {
    const auto [start, len] = FindRun(parent, target.member.def);
    if (len > 0) return parent->children[start];
  }
  return AddNode(parent, target.member.def, target.member.type);
}

void Builder::PushObject(Node* node, const TypeDef* type) {
  Frame frame;
  frame.node = node;
  frame.type = type;
  frame.seen = seen_.size();
  seen_.resize(seen_.size() + Words(*type), 0);
  frames_.push_back(frame);
}

void Builder::PushResource(Node* node) {
  Frame frame;
  frame.resource = true;
  frame.node = node;
  frame.seen = seen_.size();
  frame.open = stream_.Tell() - 1;  // the reader has taken the '{'
  frames_.push_back(frame);
}

void Builder::ResolveType(Frame& frame, std::string_view name) {
  const TypeDef* type = defs_.FindResource(name);
  if (type == nullptr) {
    const TypeDef* any = defs_.FindType(name);
    Report("json.unknown-resource-type",
           any != nullptr && any->is_resource()
               ? "The resource type '" + Quote(name) + "' is abstract"
               : "Unknown resource type '" + Quote(name) + "'",
           Container());
    frame.dead = true;
    return;
  }
  if (const ElementDef* def = frame.node->def; def != nullptr && !def->types.empty()) {
    bool allowed = false;
    for (const TypeDef* t : def->types) allowed = allowed || type->IsA(*t);
    if (!allowed) {
      Report("json.unknown-resource-type",
             "A " + type->name + " resource is not allowed in '" + def->name + "'", Container());
      frame.dead = true;
      return;
    }
  }
  frame.type = type;
  frame.node->type = type;
  seen_.resize(frame.seen + Words(*type), 0);
}

void Builder::FindTypeAhead(Frame& frame) {
  std::string name;
  switch (ResourceTypeFinder::Find(json_, frame.open, &name)) {
    case ResourceTypeFinder::Outcome::kFound:
      ResolveType(frame, name);
      return;
    case ResourceTypeFinder::Outcome::kMissing:
      Report("json.missing-resource-type", "The resource has no resourceType", Container());
      break;
    case ResourceTypeFinder::Outcome::kNotString:  // reported when the reader reaches it
    case ResourceTypeFinder::Outcome::kMalformed:  // reported as a syntax error
      break;
  }
  frame.dead = true;
}

bool Builder::Key(const char* str, SizeType len, bool) {
  if (skip_ > 0) return true;
  Frame& f = frames_.back();
  ++f.count;
  const std::string_view key(str, len);
  f.member = Member{};
  f.member.name = key;
  if (f.resource) {
    if (key == "resourceType") {
      if (f.has_resource_type) {
        Report("json.duplicate-key", "The key 'resourceType' appears more than once", Here());
        return Continue();
      }
      f.has_resource_type = true;
      f.member.resource_type = true;
      return true;
    }
    if (f.type == nullptr && !f.dead) FindTypeAhead(f);
    if (f.dead) return Continue();
  }

  const bool extension = len > 1 && key.front() == '_';
  const std::string_view name = extension ? key.substr(1) : key;
  const TypeDef* chosen = nullptr;
  const ElementDef* def = f.type->FindElement(name, &chosen);
  if (def == nullptr) {
    Report("json.unknown-element",
           f.type->is_primitive()
               ? "Unknown element '" + Quote(key) + "': a '_' object holds only id and extension"
               : "Unknown element '" + Quote(key) + "' in " + f.type->name,
           Here());
    return Continue();
  }
  if (extension && (chosen == nullptr || !chosen->is_primitive())) {
    Report("json.unknown-element",
           "'" + Quote(key) + "' is not allowed: only primitive elements have a '_' form", Here());
    return Continue();
  }
  f.member.name = extension ? name : key;  // locations name "_given" items "given[i]"

  const size_t bit = size_t{def->index} * 2 + (extension ? 1 : 0);
  uint64_t* words = seen_.data() + f.seen;
  const uint64_t mask = uint64_t{1} << (bit % 64);
  if ((words[bit / 64] & mask) != 0) {
    Report("json.duplicate-key", "The element '" + def->name + "' appears more than once", Here());
    return Continue();
  }
  words[bit / 64] |= mask;
  const size_t other = bit ^ 1;
  const bool merge = (words[other / 64] & (uint64_t{1} << (other % 64))) != 0;
  if (merge && def->is_choice) {
    const auto [start, run] = FindRun(f.node, def);
    if (run > 0 && f.node->children[start]->type != chosen) {
      Report("json.duplicate-key",
             "The choice element '" + def->name + "' is given with more than one type", Here());
      return Continue();
    }
  }
  f.member = Member{def, chosen, f.member.name, extension, merge, false};
  return true;
}

bool Builder::ResourceTypeValue(Frame& owner, Json kind, std::string_view text) {
  if (kind != Json::kString) {
    Report("json.wrong-type", "resourceType must be a JSON string", Here());
    owner.dead = true;
  } else if (owner.type == nullptr && !owner.dead) {
    ResolveType(owner, text);
  }
  return Continue();
}

void Builder::CheckPrimitive(Json kind, std::string_view text, const TypeDef& type) {
  const JsonRepresentation representation = model::JsonRepresentationOf(type.primitive);
  if (kind != JsonOf(representation)) {
    Report("json.wrong-type",
           "A " + type.name + " value must be " + std::string(Describe(representation)), Here());
    return;
  }
  if (kind == Json::kBoolean) return;
  if (text.empty()) {
    Report("json.empty", "Empty strings are not allowed", Here());
  } else if (kind == Json::kString && FindSurrogate(text) != std::string_view::npos) {
    Report("json.invalid-utf8", "The string escapes an unpaired UTF-16 surrogate", Here());
  } else if (!model::IsValidPrimitive(type.primitive, text)) {
    Report("json.invalid-primitive",
           "The value is not " + std::string(model::DescribeRule(type.primitive)), Here(),
           IssueType::kValue);
  }
}

bool Builder::Scalar(Json kind, std::string_view text) {
  if (skip_ > 0) return true;
  if (frames_.empty()) {
    Report("json.wrong-type", "A FHIR resource must be a JSON object", {});
    return Continue();
  }
  const Target t = BeginValue();
  const Member& m = t.member;
  if (m.resource_type) return ResourceTypeValue(*t.owner, kind, text);
  if (m.def == nullptr) return true;
  const bool primitive = m.extension || (m.type != nullptr && m.type->is_primitive());
  if (kind == Json::kNull) {
    if (t.array != nullptr && primitive) {
      PrimitiveNode(t);
      t.owner->check_nulls = true;
    } else {
      Report("json.null",
             "null is allowed only as an item of a primitive array or of its '_' array", Here());
    }
    return Continue();
  }
  if (t.array == nullptr && m.def->repeats()) {
    Report("json.expected-array", "The element '" + m.def->name + "' repeats: use a JSON array",
           Here());
  }
  if (!primitive) {
    Report("json.wrong-type", "A " + m.def->name + " must be a JSON object", Here());
    return Continue();
  }
  Node* node = PrimitiveNode(t);
  if (m.extension) {
    Report("json.wrong-type",
           "'_" + std::string(m.name) + "' must hold JSON objects (id, extension)", Here());
    return Continue();
  }
  node->value = text;
  node->has_value = true;
  CheckPrimitive(kind, text, *m.type);
  return Continue();
}

bool Builder::StartObject() {
  if (!Enter()) return false;
  if (skip_ > 0) {
    ++skip_;
    return true;
  }
  if (frames_.empty()) {
    Node* root = resource_.NewNode(nullptr, nullptr);
    resource_.set_root(root);
    PushResource(root);
    return true;
  }
  const Target t = BeginValue();
  const Member m = t.member;
  if (m.resource_type) {
    Report("json.wrong-type", "resourceType must be a JSON string", Here());
    t.owner->dead = true;
    skip_ = 1;
    return Continue();
  }
  if (m.def == nullptr) {
    skip_ = 1;
    return true;
  }
  if (t.array == nullptr && m.def->repeats()) {
    Report("json.expected-array", "The element '" + m.def->name + "' repeats: use a JSON array",
           Here());
  }
  if (m.extension) {
    PushObject(PrimitiveNode(t), m.type);
  } else if (m.type == nullptr) {
    PushResource(AddNode(t.owner->node, m.def, nullptr));
  } else if (m.type->is_primitive()) {
    if (t.array != nullptr) PrimitiveNode(t);
    Report("json.wrong-type",
           "A " + m.type->name + " value must be " +
               std::string(Describe(model::JsonRepresentationOf(m.type->primitive))),
           Here());
    skip_ = 1;
  } else {
    PushObject(AddNode(t.owner->node, m.def, m.type), m.type);
  }
  return Continue();
}

bool Builder::EndObject(SizeType members) {
  --depth_;
  if (skip_ > 0) {
    --skip_;
    return true;
  }
  const Frame& f = frames_.back();
  if (members == 0) {
    if (f.resource) {
      Report("json.missing-resource-type", "The resource has no resourceType", Container());
    } else {
      Report("json.empty", "Empty objects are not allowed", Container());
    }
  } else if (f.check_nulls) {
    CheckNulls(f);
  }
  seen_.resize(f.seen);
  frames_.pop_back();
  return Continue();
}

// A null item is fine only where the other half of the pair has something at that position.
void Builder::CheckNulls(const Frame& frame) {
  const auto& kids = frame.node->children;
  for (size_t i = 0; i < kids.size();) {
    size_t j = i;
    for (; j < kids.size() && kids[j]->def == kids[i]->def; ++j) {
      const Node* n = kids[j];
      if (n->is_primitive() && !n->has_value && n->children.empty()) {
        std::string where = Container();
        where += '.';
        where += n->JsonName();
        where += '[' + std::to_string(j - i) + ']';
        Report("json.null",
               "An item is null in both '" + n->JsonName() + "' and '_" + n->JsonName() + "'",
               std::move(where));
      }
    }
    i = j;
  }
}

bool Builder::StartArray() {
  if (!Enter()) return false;
  if (skip_ > 0) {
    ++skip_;
    return true;
  }
  if (frames_.empty()) {
    Report("json.wrong-type", "A FHIR resource must be a JSON object", {});
    skip_ = 1;
    return Continue();
  }
  if (frames_.back().kind == Frame::Kind::kArray) {
    const Target t = BeginValue();
    if (t.member.def != nullptr) {
      if (t.member.extension || (t.member.type != nullptr && t.member.type->is_primitive())) {
        PrimitiveNode(t);
      }
      Report("json.wrong-type", "Arrays must not contain arrays", Here());
    }
    skip_ = 1;
    return Continue();
  }
  Frame& f = frames_.back();
  const Member m = f.member;
  if (m.resource_type) {
    Report("json.wrong-type", "resourceType must be a JSON string", Here());
    f.dead = true;
    skip_ = 1;
    return Continue();
  }
  if (m.def == nullptr) {
    skip_ = 1;
    return true;
  }
  if (!m.def->repeats()) {
    Report("json.expected-single",
           "The element '" + m.def->name + "' does not repeat: a JSON array is not allowed",
           Here());
  }
  Frame array;
  array.kind = Frame::Kind::kArray;
  array.node = f.node;
  array.member = m;
  if (m.merge) {
    const auto [start, len] = FindRun(f.node, m.def);
    array.merging = len > 0;
    array.merge_start = start;
    array.merge_len = len;
  }
  frames_.push_back(array);
  return Continue();
}

bool Builder::EndArray(SizeType items) {
  --depth_;
  if (skip_ > 0) {
    --skip_;
    return true;
  }
  const Frame& a = frames_.back();
  if (items == 0) {
    Report("json.empty", "Empty arrays are not allowed", Container());
  } else if (a.merging && items != a.merge_len) {
    const std::string name(a.member.name);
    Report("json.misaligned-extension",
           "'" + name + "' and '_" + name + "' must have the same number of items", Container());
  }
  frames_.pop_back();
  return Continue();
}

void Builder::ReportSyntax(rapidjson::ParseErrorCode code, size_t offset) {
  if (code == rapidjson::kParseErrorTermination) return;  // stopped by a reported fault
  Report(
      "json.syntax",
      "Malformed JSON at byte " + std::to_string(offset) + ": " + rapidjson::GetParseError_En(code),
      Here(), IssueType::kStructure, Severity::kFatal);
}

}  // namespace

Result<Resource> Parse(std::string_view json, const model::Definitions& defs,
                       const ParseOptions& options) {
  constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
  if (json.starts_with(kByteOrderMark)) json.remove_prefix(kByteOrderMark.size());

  if (const size_t bad = FindInvalidUtf8(json); bad != std::string_view::npos) {
    return Error(400, Issue{Severity::kFatal,
                            IssueType::kStructure,
                            "json.invalid-utf8",
                            "Invalid UTF-8 at byte " + std::to_string(bad),
                            {}});
  }

  Resource resource;
  char* buffer = static_cast<char*>(resource.arena()->allocate(json.size() + kPadding, 16));
  if (!json.empty()) std::memcpy(buffer, json.data(), json.size());
  std::memset(buffer + json.size(), 0, kPadding);

  rapidjson::InsituStringStream stream(buffer);
  Builder builder(json, stream, defs, options, resource);
  rapidjson::Reader reader;
  const rapidjson::ParseResult parsed = reader.Parse<kReadFlags>(stream, builder);
  if (parsed.IsError()) {
    builder.ReportSyntax(parsed.Code(), parsed.Offset());
  } else if (stream.Tell() != json.size()) {
    // The reader treats a NUL byte as the end of the text.
    builder.ReportSyntax(rapidjson::kParseErrorDocumentRootNotSingular, stream.Tell());
  }
  std::vector<Issue> issues = builder.TakeIssues();
  if (!issues.empty()) return Error(400, std::move(issues));
  return resource;
}

}  // namespace fhir::json
