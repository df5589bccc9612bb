#include "tests/roundtrip/compare.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace roundtrip {
namespace {

constexpr std::string_view kXhtmlNamespace = "http://www.w3.org/1999/xhtml";
constexpr std::string_view kXsiNamespace = "http://www.w3.org/2001/XMLSchema-instance";
constexpr std::string_view kActReason = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
constexpr std::string_view kTestData = "HTEST";

std::string Shorten(std::string_view text) {
  constexpr size_t kMax = 120;
  if (text.size() <= kMax) return std::string(text);
  return std::string(text.substr(0, kMax)) + "...";
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Runs of whitespace become one space, and a space next to a tag (or at either end) goes.
std::string CollapseWhitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (!IsSpace(text[i])) {
      if (text[i] == '<' && !out.empty() && out.back() == ' ') out.pop_back();
      out += text[i];
      continue;
    }
    while (i + 1 < text.size() && IsSpace(text[i + 1])) ++i;
    if (!out.empty() && out.back() != '>') out += ' ';
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// ---- JSON ----

struct JsonMember;

struct JsonValue {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  std::string text;  // "true"/"false", the number token, or the string
  std::vector<JsonMember> members;
  std::vector<JsonValue> items;
};

struct JsonMember {
  std::string key;
  JsonValue value;
};

std::string_view KindName(JsonValue::Kind kind) {
  switch (kind) {
    case JsonValue::Kind::kNull:
      return "null";
    case JsonValue::Kind::kBool:
      return "boolean";
    case JsonValue::Kind::kNumber:
      return "number";
    case JsonValue::Kind::kString:
      return "string";
    case JsonValue::Kind::kArray:
      return "array";
    case JsonValue::Kind::kObject:
      return "object";
  }
  return "?";
}

class TreeBuilder : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, TreeBuilder> {
 public:
  bool Null() { return Add(JsonValue::Kind::kNull, {}) != nullptr; }
  bool Bool(bool b) { return Add(JsonValue::Kind::kBool, b ? "true" : "false") != nullptr; }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    return Add(JsonValue::Kind::kNumber, {s, n}) != nullptr;
  }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    return Add(JsonValue::Kind::kString, {s, n}) != nullptr;
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    key_.assign(s, n);
    return true;
  }
  bool StartObject() {
    stack_.push_back(Add(JsonValue::Kind::kObject, {}));
    return true;
  }
  bool EndObject(rapidjson::SizeType) {
    stack_.pop_back();
    return true;
  }
  bool StartArray() {
    stack_.push_back(Add(JsonValue::Kind::kArray, {}));
    return true;
  }
  bool EndArray(rapidjson::SizeType) {
    stack_.pop_back();
    return true;
  }

  JsonValue& root() { return root_; }

 private:
  // Children are added only to the innermost open container, so the pointers on the stack (to
  // its ancestors) stay valid.
  JsonValue* Add(JsonValue::Kind kind, std::string_view text) {
    JsonValue value;
    value.kind = kind;
    value.text = text;
    if (stack_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    JsonValue* parent = stack_.back();
    if (parent->kind == JsonValue::Kind::kObject) {
      parent->members.push_back({key_, std::move(value)});
      return &parent->members.back().value;
    }
    parent->items.push_back(std::move(value));
    return &parent->items.back();
  }

  JsonValue root_;
  std::vector<JsonValue*> stack_;
  std::string key_;
};

bool ParseJson(std::string_view text, JsonValue* out, std::string* error) {
  TreeBuilder builder;
  rapidjson::Reader reader;
  rapidjson::MemoryStream stream(text.data(), text.size());
  const rapidjson::ParseResult result =
      reader.Parse<rapidjson::kParseNumbersAsStringsFlag>(stream, builder);
  if (result.IsError()) {
    *error = std::string("invalid JSON at offset ") + std::to_string(result.Offset()) + ": " +
             rapidjson::GetParseError_En(result.Code());
    return false;
  }
  *out = std::move(builder.root());
  return true;
}

const JsonValue* Member(const JsonValue& object, std::string_view key) {
  for (const auto& [name, value] : object.members) {
    if (name == key) return &value;
  }
  return nullptr;
}

bool IsTestDataLabel(const JsonValue& coding) {
  const JsonValue* system = Member(coding, "system");
  const JsonValue* code = Member(coding, "code");
  return system != nullptr && system->text == kActReason && code != nullptr &&
         code->text == kTestData;
}

void DropTestDataLabels(JsonValue& value) {
  for (JsonValue& item : value.items) DropTestDataLabels(item);
  for (auto& [name, child] : value.members) DropTestDataLabels(child);
  if (value.kind != JsonValue::Kind::kObject) return;
  auto& members = value.members;
  for (auto meta = members.begin(); meta != members.end(); ++meta) {
    if (meta->key != "meta" || meta->value.kind != JsonValue::Kind::kObject) continue;
    auto& fields = meta->value.members;
    for (auto& [name, labels] : fields) {
      if (name != "security" && name != "tag") continue;
      std::erase_if(labels.items, IsTestDataLabel);
    }
    std::erase_if(fields, [](const auto& field) {
      return field.value.kind == JsonValue::Kind::kArray && field.value.items.empty();
    });
    if (fields.empty()) members.erase(meta);
    return;
  }
}

std::string DivDifference(std::string_view expected, std::string_view actual, DivComparison div);

std::string CompareJson(const JsonValue& expected, const JsonValue& actual, const std::string& path,
                        DivComparison div) {
  if (expected.kind != actual.kind) {
    return path + ": expected " + std::string(KindName(expected.kind)) + " " +
           Shorten(expected.text) + ", got " + std::string(KindName(actual.kind)) + " " +
           Shorten(actual.text);
  }
  switch (expected.kind) {
    case JsonValue::Kind::kArray: {
      if (expected.items.size() != actual.items.size()) {
        return path + ": expected " + std::to_string(expected.items.size()) + " items, got " +
               std::to_string(actual.items.size());
      }
      for (size_t i = 0; i < expected.items.size(); ++i) {
        std::string diff = CompareJson(expected.items[i], actual.items[i],
                                       path + "[" + std::to_string(i) + "]", div);
        if (!diff.empty()) return diff;
      }
      return {};
    }
    case JsonValue::Kind::kObject: {
      auto sorted = [](const JsonValue& value) {
        std::vector<const JsonMember*> out;
        for (const auto& member : value.members) out.push_back(&member);
        std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->key < b->key; });
        return out;
      };
      const auto e = sorted(expected);
      const auto a = sorted(actual);
      size_t i = 0;
      size_t j = 0;
      while (i < e.size() || j < a.size()) {
        if (j == a.size() || (i < e.size() && e[i]->key < a[j]->key)) {
          return path + "." + e[i]->key + ": missing";
        }
        if (i == e.size() || a[j]->key < e[i]->key) {
          return path + "." + a[j]->key + ": unexpected";
        }
        const std::string child = path + "." + e[i]->key;
        std::string diff;
        if (e[i]->key == "div" && e[i]->value.kind == JsonValue::Kind::kString &&
            a[j]->value.kind == JsonValue::Kind::kString) {
          diff = DivDifference(e[i]->value.text, a[j]->value.text, div);
          if (!diff.empty()) diff = child + ": " + diff;
        } else {
          diff = CompareJson(e[i]->value, a[j]->value, child, div);
        }
        if (!diff.empty()) return diff;
        ++i;
        ++j;
      }
      return {};
    }
    default:
      if (expected.text != actual.text) {
        return path + ": expected " + Shorten(expected.text) + ", got " + Shorten(actual.text);
      }
      return {};
  }
}

// ---- XML ----

struct XmlDocDeleter {
  void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};
using XmlDoc = std::unique_ptr<xmlDoc, XmlDocDeleter>;

XmlDoc ReadXml(std::string_view text) {
  return XmlDoc(xmlReadMemory(text.data(), static_cast<int>(text.size()), nullptr, nullptr,
                              XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_HUGE |
                                  XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
}

std::string_view Str(const xmlChar* s) {
  return s == nullptr ? std::string_view() : std::string_view(reinterpret_cast<const char*>(s));
}

std::string_view Namespace(const xmlNode* node) {
  return node->ns == nullptr ? std::string_view() : Str(node->ns->href);
}

std::string Content(const xmlNode* node) {
  xmlChar* content = xmlNodeGetContent(node);
  std::string out(Str(content));
  xmlFree(content);
  return out;
}

// An element's children as compared: elements, and text with adjacent text merged.
struct Child {
  const xmlNode* element = nullptr;
  std::string text;
};

std::vector<Child> Children(const xmlNode* element, DivComparison div) {
  const bool xhtml = Namespace(element) == kXhtmlNamespace;
  std::vector<Child> out;
  std::string text;
  auto flush = [&] {
    if (xhtml && div == DivComparison::kCollapseWhitespace) text = CollapseWhitespace(text);
    // Whitespace between FHIR elements is layout; in XHTML it is content.
    if (!text.empty() && (xhtml || !std::all_of(text.begin(), text.end(), IsSpace))) {
      out.push_back({nullptr, text});
    }
    text.clear();
  };
  for (const xmlNode* c = element->children; c != nullptr; c = c->next) {
    if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
      text += Str(c->content);
    } else if (c->type == XML_ELEMENT_NODE) {
      flush();
      out.push_back({c, {}});
    }
  }
  flush();
  return out;
}

using AttributeList = std::vector<std::tuple<std::string, std::string, std::string>>;

AttributeList Attributes(const xmlNode* element) {
  AttributeList out;
  for (const xmlAttr* a = element->properties; a != nullptr; a = a->next) {
    const std::string_view ns = a->ns == nullptr ? std::string_view() : Str(a->ns->href);
    if (ns == kXsiNamespace) continue;
    out.emplace_back(ns, Str(a->name), Content(reinterpret_cast<const xmlNode*>(a)));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string CompareElements(const xmlNode* expected, const xmlNode* actual,
                            const std::string& parent_path, DivComparison div) {
  const std::string path = parent_path + "/" + std::string(Str(expected->name));
  if (Str(expected->name) != Str(actual->name) || Namespace(expected) != Namespace(actual)) {
    return path + ": expected element {" + std::string(Namespace(expected)) + "}" +
           std::string(Str(expected->name)) + ", got {" + std::string(Namespace(actual)) + "}" +
           std::string(Str(actual->name));
  }
  const AttributeList ea = Attributes(expected);
  const AttributeList aa = Attributes(actual);
  if (ea != aa) {
    auto describe = [](const AttributeList& list) {
      std::string out;
      for (const auto& [ns, name, value] : list) out += " " + name + "=\"" + Shorten(value) + "\"";
      return out;
    };
    return path + ": attributes differ: expected" + describe(ea) + ", got" + describe(aa);
  }
  const std::vector<Child> ec = Children(expected, div);
  const std::vector<Child> ac = Children(actual, div);
  for (size_t i = 0; i < std::max(ec.size(), ac.size()); ++i) {
    const std::string at = path + "[" + std::to_string(i) + "]";
    if (i >= ec.size()) {
      return at + ": unexpected " +
             (ac[i].element != nullptr ? "element " + std::string(Str(ac[i].element->name))
                                       : "text " + Shorten(ac[i].text));
    }
    if (i >= ac.size()) {
      return at + ": missing " +
             (ec[i].element != nullptr ? "element " + std::string(Str(ec[i].element->name))
                                       : "text " + Shorten(ec[i].text));
    }
    if ((ec[i].element == nullptr) != (ac[i].element == nullptr)) {
      return at + ": expected " + (ec[i].element != nullptr ? "an element" : "text") + ", got " +
             (ac[i].element != nullptr ? "an element" : "text");
    }
    if (ec[i].element == nullptr) {
      if (ec[i].text != ac[i].text) {
        return at + ": expected text " + Shorten(ec[i].text) + ", got " + Shorten(ac[i].text);
      }
      continue;
    }
    std::string diff = CompareElements(ec[i].element, ac[i].element, path, div);
    if (!diff.empty()) return diff;
  }
  return {};
}

const xmlNode* ChildElement(const xmlNode* parent, std::string_view name) {
  for (const xmlNode* c = parent->children; c != nullptr; c = c->next) {
    if (c->type == XML_ELEMENT_NODE && Str(c->name) == name) return c;
  }
  return nullptr;
}

std::string ValueOf(const xmlNode* element) {
  if (element == nullptr) return {};
  xmlChar* value = xmlGetProp(element, reinterpret_cast<const xmlChar*>("value"));
  std::string out(Str(value));
  xmlFree(value);
  return out;
}

bool HasChildElements(const xmlNode* element) {
  for (const xmlNode* c = element->children; c != nullptr; c = c->next) {
    if (c->type == XML_ELEMENT_NODE) return true;
  }
  return false;
}

void DropTestDataLabels(xmlNode* element) {
  const bool in_meta = Str(element->name) == "meta";
  for (xmlNode* c = element->children; c != nullptr;) {
    xmlNode* next = c->next;
    if (c->type == XML_ELEMENT_NODE) {
      const std::string_view name = Str(c->name);
      bool drop = in_meta && (name == "security" || name == "tag") &&
                  ValueOf(ChildElement(c, "system")) == kActReason &&
                  ValueOf(ChildElement(c, "code")) == kTestData;
      if (!drop) {
        DropTestDataLabels(c);
        drop = name == "meta" && !HasChildElements(c);
      }
      if (drop) {
        xmlUnlinkNode(c);
        xmlFreeNode(c);
      }
    }
    c = next;
  }
}

std::string CompareXml(std::string_view expected, std::string_view actual,
                       const CompareOptions& options) {
  const XmlDoc e = ReadXml(expected);
  if (e == nullptr) return "the expected document is not well-formed XML";
  const XmlDoc a = ReadXml(actual);
  if (a == nullptr) return "the actual document is not well-formed XML";
  if (options.ignore_test_data_label) {
    DropTestDataLabels(xmlDocGetRootElement(e.get()));
    DropTestDataLabels(xmlDocGetRootElement(a.get()));
  }
  return CompareElements(xmlDocGetRootElement(e.get()), xmlDocGetRootElement(a.get()), "",
                         options.div);
}

std::string DivDifference(std::string_view expected, std::string_view actual, DivComparison div) {
  switch (div) {
    case DivComparison::kExact:
      break;
    case DivComparison::kCollapseWhitespace:
      if (CollapseWhitespace(expected) == CollapseWhitespace(actual)) return {};
      break;
    case DivComparison::kInfoset:
      return CompareXml(expected, actual, {.div = div});
  }
  if (expected == actual) return {};
  size_t at = 0;
  while (at < expected.size() && at < actual.size() && expected[at] == actual[at]) ++at;
  const size_t from = at > 40 ? at - 40 : 0;
  return "narrative differs at offset " + std::to_string(at) + ": expected ..." +
         Shorten(expected.substr(from, 100)) + ", got ..." + Shorten(actual.substr(from, 100));
}

// ---- DOM ----

std::string NodeName(const fhir::Node& node) {
  return node.def == nullptr && node.type != nullptr ? node.type->name : node.JsonName();
}

// The difference as ": message", prefixed with the path below `expected` as the recursion
// unwinds, so that equal trees cost no string building.
std::string CompareNodes(const fhir::Node& expected, const fhir::Node& actual, DivComparison div) {
  if (expected.def != actual.def || expected.type != actual.type) {
    return ": expected " + NodeName(expected) + ", got " + NodeName(actual);
  }
  if (expected.has_value != actual.has_value) {
    return expected.has_value ? ": value missing" : ": unexpected value";
  }
  if (expected.has_value && expected.value != actual.value) {
    if (expected.def == nullptr || !expected.def->xhtml) {
      return ": expected " + Shorten(expected.value) + ", got " + Shorten(actual.value);
    }
    std::string diff = DivDifference(expected.value, actual.value, div);
    if (!diff.empty()) return ": " + diff;
  }
  size_t i = 0;
  int position = 0;
  for (; i < expected.children.size() && i < actual.children.size(); ++i) {
    const fhir::Node& e = *expected.children[i];
    position = i > 0 && expected.children[i - 1]->def == e.def ? position + 1 : 0;
    std::string diff = CompareNodes(e, *actual.children[i], div);
    if (diff.empty()) continue;
    std::string step = "." + NodeName(e);
    if (e.def != nullptr && e.def->repeats()) step += "[" + std::to_string(position) + "]";
    return step + diff;
  }
  if (i < expected.children.size()) return ": missing " + NodeName(*expected.children[i]);
  if (i < actual.children.size()) return ": unexpected " + NodeName(*actual.children[i]);
  return {};
}

}  // namespace

std::string DomDifference(const fhir::Node& expected, const fhir::Node& actual, DivComparison div) {
  std::string diff = CompareNodes(expected, actual, div);
  return diff.empty() ? diff : NodeName(expected) + diff;
}

std::string JsonDifference(std::string_view expected, std::string_view actual,
                           const CompareOptions& options) {
  JsonValue e;
  JsonValue a;
  std::string error;
  if (!ParseJson(expected, &e, &error)) return "expected: " + error;
  if (!ParseJson(actual, &a, &error)) return "actual: " + error;
  if (options.ignore_test_data_label) {
    DropTestDataLabels(e);
    DropTestDataLabels(a);
  }
  return CompareJson(e, a, "$", options.div);
}

std::string XmlDifference(std::string_view expected, std::string_view actual,
                          const CompareOptions& options) {
  return CompareXml(expected, actual, options);
}

}  // namespace roundtrip
