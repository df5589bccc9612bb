// FHIR XML parsing on libxml2's SAX2 interface: the resource DOM is built in the resource arena
// while the document streams by, with no libxml2 tree in between. Security rests on three
// choices: any DOCTYPE stops the parse (so no entity can be declared, let alone expanded or
// fetched), XML_PARSE_NOENT and XML_PARSE_DTDLOAD stay off, and XML_PARSE_NONET is on. Errors go
// to a structured handler installed on the per-call context, never to libxml2's global handlers.
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fhir/model/primitive.h"
#include "fhir/xml/escape.h"
#include "fhir/xml/xml.h"

namespace fhir::xml {
namespace {

constexpr std::string_view kXsiNamespace = "http://www.w3.org/2001/XMLSchema-instance";

std::string_view View(const xmlChar* text) {
  return text == nullptr ? std::string_view()
                         : std::string_view(reinterpret_cast<const char*>(text));
}

std::string Quoted(std::string_view name) {
  std::string out = "'";
  out += name;
  out += '\'';
  return out;
}

bool IsXmlWhitespace(std::string_view text) {
  for (char c : text) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return false;
  }
  return true;
}

// A short description of a libxml2 well-formedness error. libxml2's own messages can quote
// document bytes, which may be patient data, so they are not passed on.
std::string_view DescribeSyntaxError(int code) {
  switch (code) {
    case XML_ERR_DOCUMENT_EMPTY:
      return "the document is empty";
    case XML_ERR_DOCUMENT_END:
      return "content after the root element";
    case XML_ERR_TAG_NAME_MISMATCH:
      return "an end tag does not match its start tag";
    case XML_ERR_TAG_NOT_FINISHED:
    case XML_ERR_DOCUMENT_START:
      return "the document is truncated";
    case XML_ERR_INVALID_CHAR:
    case XML_ERR_INVALID_ENCODING:
    case XML_ERR_UNSUPPORTED_ENCODING:
    case XML_ERR_INVALID_CHARREF:
    case XML_ERR_INVALID_DEC_CHARREF:
    case XML_ERR_INVALID_HEX_CHARREF:
      return "an invalid character or malformed UTF-8";
    case XML_ERR_UNDECLARED_ENTITY:
    case XML_WAR_UNDECLARED_ENTITY:
      return "an undefined entity reference";
    case XML_ERR_ATTRIBUTE_REDEFINED:
      return "an attribute appears twice";
    case XML_NS_ERR_UNDEFINED_NAMESPACE:
      return "an undeclared namespace prefix";
    default:
      return "the document is not well-formed XML";
  }
}

// Which part of the document an open element belongs to.
enum class FrameKind {
  kElement,       // a FHIR element or resource, with its DOM node
  kResourceSlot,  // <contained>, <resource>: holds exactly one resource element
  kXhtml,         // inside Narrative.div: serialised into markup
  kSkip,          // under an element already reported as wrong; its content is not checked
};

struct Frame {
  FrameKind kind = FrameKind::kSkip;
  // kElement: the element's node. kResourceSlot: the node the resource is added to. kXhtml: the
  // div's node on the div itself, nullptr below it.
  Node* node = nullptr;
  const model::ElementDef* slot = nullptr;  // kResourceSlot: the slot's element
  // The location step: the element name as written, or empty when the frame adds no step (a
  // resource inside a slot, elements below the div or below a skipped element).
  std::string_view name;
  int index = -1;  // position among siblings of the same element; -1 when it cannot repeat
  // The last child element in definition order, and its position among its siblings.
  const model::ElementDef* last_child = nullptr;
  int last_position = 0;
  bool has_content = false;  // attributes, child elements, a resource or text
  bool text_reported = false;
};

class SaxHandler {
 public:
  // With definitions: reads a FHIR resource. Without: reads a standalone Narrative.div.
  SaxHandler(const model::Definitions* defs, const ParseOptions& options)
      : defs_(defs), options_(options) {
    frames_.reserve(32);
  }

  Result<Resource> ParseResource(std::string_view xml);
  Result<std::string> ParseXhtml(std::string_view markup);

 private:
  // Parses `xml` with the callbacks below; the outcome is in resource_, div_ and issues_.
  Result<void> Run(std::string_view xml);

  static void OnStartElement(void* ctx, const xmlChar* localname, const xmlChar* prefix,
                             const xmlChar* uri, int nb_namespaces, const xmlChar** namespaces,
                             int nb_attributes, int nb_defaulted, const xmlChar** attributes);
  static void OnEndElement(void* ctx, const xmlChar* localname, const xmlChar* prefix,
                           const xmlChar* uri);
  static void OnCharacters(void* ctx, const xmlChar* text, int len);
  static void OnDoctype(void* ctx, const xmlChar* name, const xmlChar* external_id,
                        const xmlChar* system_id);
  static void OnError(void* ctx, xmlErrorPtr error);

  // Runs a callback body; an exception must not unwind through libxml2's C frames.
  template <typename F>
  static void Guard(void* ctx, F&& body) {
    auto* self = static_cast<SaxHandler*>(ctx);
    if (self->stopped_) return;
    try {
      body(*self);
    } catch (...) {
      self->failure_ = std::current_exception();
      self->Stop();
    }
  }

  void StartElement(std::string_view name, std::string_view ns, int nb_attributes,
                    const xmlChar** attributes);
  void StartRoot(std::string_view name, std::string_view ns, int nb_attributes,
                 const xmlChar** attributes);
  void StartDiv(std::string_view name, std::string_view ns, int nb_attributes,
                const xmlChar** attributes);
  void StartChild(size_t parent, std::string_view name, std::string_view ns, int nb_attributes,
                  const xmlChar** attributes);
  // The resource type an element names, or nullptr after reporting why not (outside the FHIR
  // namespace: `namespace_text`; an unknown type) and skipping the element.
  const model::TypeDef* ResourceElementType(std::string_view name, std::string_view ns,
                                            std::string namespace_text);
  void StartSlotResource(size_t slot, std::string_view name, std::string_view ns, int nb_attributes,
                         const xmlChar** attributes);
  void StartXhtml(std::string_view name, std::string_view ns, int nb_attributes,
                  const xmlChar** attributes);
  void EndElement(std::string_view name);
  void Characters(std::string_view text);

  void ReadAttributes(int nb_attributes, const xmlChar** attributes, bool root);
  void RejectAttributes(int nb_attributes, const xmlChar** attributes);
  // Starts div_ with the div's start tag, the XHTML namespace declared on it.
  void OpenDiv(int nb_attributes, const xmlChar** attributes);
  void WriteXhtmlAttributes(int nb_attributes, const xmlChar** attributes);
  void CloseXhtmlStartTag();
  // A primitive value for `node`: checked, interned and set; false when reported as wrong. A fault
  // is located at the open element, plus `attribute` when the value is an id or url attribute.
  bool SetValue(Node* node, std::string_view raw, std::string_view attribute);
  std::string AttributeLocation(std::string_view attribute) const;
  void PushSkip(std::string_view name);

  std::string Location() const;
  void Report(std::string_view message_id, IssueType type, std::string text,
              std::string expression);
  void Stop();

  const model::Definitions* defs_;
  const ParseOptions& options_;
  xmlParserCtxtPtr ctxt_ = nullptr;
  Resource resource_;
  std::vector<Frame> frames_;
  std::vector<Issue> issues_;
  std::string div_;        // the Narrative.div markup being serialised
  bool div_open_ = false;  // the last start tag in div_ still lacks its '>'
  std::string scratch_;    // decoded attribute values
  bool stopped_ = false;
  std::exception_ptr failure_;
};

// libxml2 keeps a literal '&' in attribute values as "&#38;" when entity substitution is off (it
// leaves decoding to its tree builder). No other reference can remain: the character references
// are decoded and no entity can be declared.
std::string_view DecodeAttribute(std::string_view raw, std::string& scratch) {
  if (raw.find('&') == std::string_view::npos) return raw;
  scratch.clear();
  constexpr std::string_view kAmpersand = "&#38;";
  size_t pos = 0;
  while (pos < raw.size()) {
    const size_t amp = raw.find(kAmpersand, pos);
    if (amp == std::string_view::npos) break;
    scratch.append(raw, pos, amp - pos);
    scratch += '&';
    pos = amp + kAmpersand.size();
  }
  scratch.append(raw, pos);
  return scratch;
}

struct Attribute {
  std::string_view name;
  std::string_view prefix;
  std::string_view ns;
  std::string_view raw_value;
};

Attribute AttributeAt(const xmlChar** attributes, int i) {
  const xmlChar** a = attributes + static_cast<ptrdiff_t>(i) * 5;
  return {View(a[0]), View(a[1]), View(a[2]),
          std::string_view(reinterpret_cast<const char*>(a[3]), static_cast<size_t>(a[4] - a[3]))};
}

std::string SaxHandler::Location() const {
  std::string path;
  for (const Frame& frame : frames_) {
    if (frame.name.empty()) continue;
    if (!path.empty()) path += '.';
    path += frame.name;
    if (frame.index >= 0) {
      path += '[';
      path += std::to_string(frame.index);
      path += ']';
    }
  }
  return path;
}

void SaxHandler::Report(std::string_view message_id, IssueType type, std::string text,
                        std::string expression) {
  const size_t max_issues = std::max<size_t>(options_.max_issues, 1);
  if (issues_.size() >= max_issues) {
    Stop();
    return;
  }
  Issue issue;
  issue.severity = Severity::kError;
  issue.type = type;
  issue.message_id = message_id;
  issue.text = std::move(text);
  issue.expression = std::move(expression);
  issues_.push_back(std::move(issue));
  if (issues_.size() >= max_issues) Stop();
}

void SaxHandler::Stop() {
  if (stopped_) return;
  stopped_ = true;
  xmlStopParser(ctxt_);
}

void SaxHandler::PushSkip(std::string_view name) {
  Frame frame;
  frame.kind = FrameKind::kSkip;
  frame.name = name;
  frames_.push_back(frame);
}

void SaxHandler::StartElement(std::string_view name, std::string_view ns, int nb_attributes,
                              const xmlChar** attributes) {
  if (frames_.size() >= options_.max_depth) {
    PushSkip(name);
    Report("xml.too-deep", IssueType::kTooCostly,
           "Elements are nested deeper than " + std::to_string(options_.max_depth) + " levels",
           Location());
    Stop();
    return;
  }
  if (frames_.empty()) {
    StartRoot(name, ns, nb_attributes, attributes);
    return;
  }
  const size_t parent = frames_.size() - 1;
  switch (frames_[parent].kind) {
    case FrameKind::kElement:
      StartChild(parent, name, ns, nb_attributes, attributes);
      return;
    case FrameKind::kResourceSlot:
      StartSlotResource(parent, name, ns, nb_attributes, attributes);
      return;
    case FrameKind::kXhtml:
      StartXhtml(name, ns, nb_attributes, attributes);
      return;
    case FrameKind::kSkip:
      PushSkip({});
      return;
  }
}

const model::TypeDef* SaxHandler::ResourceElementType(std::string_view name, std::string_view ns,
                                                      std::string namespace_text) {
  if (ns != kFhirNamespace) {
    PushSkip(name);
    Report("xml.namespace", IssueType::kStructure, std::move(namespace_text), Location());
    return nullptr;
  }
  const model::TypeDef* type = defs_->FindResource(name);
  if (type == nullptr) {
    PushSkip(name);
    Report("xml.unknown-resource", IssueType::kStructure, "Unknown resource type " + Quoted(name),
           Location());
  }
  return type;
}

void SaxHandler::StartRoot(std::string_view name, std::string_view ns, int nb_attributes,
                           const xmlChar** attributes) {
  if (defs_ == nullptr) {
    StartDiv(name, ns, nb_attributes, attributes);
    return;
  }
  const model::TypeDef* type = ResourceElementType(
      name, ns, "The root element must be in the FHIR namespace " + std::string(kFhirNamespace));
  if (type == nullptr) return;
  Node* root = resource_.NewNode(nullptr, type);
  resource_.set_root(root);
  Frame frame;
  frame.kind = FrameKind::kElement;
  frame.node = root;
  frame.name = type->name;
  frames_.push_back(frame);
  ReadAttributes(nb_attributes, attributes, true);
}

void SaxHandler::StartDiv(std::string_view name, std::string_view ns, int nb_attributes,
                          const xmlChar** attributes) {
  if (ns != kXhtmlNamespace || name != "div") {
    PushSkip(name);
    Report("xml.namespace", IssueType::kStructure,
           "Narrative must be a div element in the XHTML namespace", {});
    return;
  }
  Frame frame;
  frame.kind = FrameKind::kXhtml;
  frames_.push_back(frame);
  OpenDiv(nb_attributes, attributes);
}

void SaxHandler::StartChild(size_t parent, std::string_view name, std::string_view ns,
                            int nb_attributes, const xmlChar** attributes) {
  Frame& owner = frames_[parent];
  owner.has_content = true;
  Node* parent_node = owner.node;
  const model::TypeDef* chosen = nullptr;
  const model::ElementDef* def = parent_node->type->FindElement(name, &chosen);
  if (def == nullptr || def->xml_attribute) {
    PushSkip(name);
    Report("xml.unknown-element", IssueType::kStructure,
           def == nullptr ? "Unknown element " + Quoted(name)
                          : Quoted(name) + " must be written as an attribute",
           Location());
    return;
  }
  if (ns != (def->xhtml ? kXhtmlNamespace : kFhirNamespace)) {
    PushSkip(name);
    Report("xml.namespace", IssueType::kStructure,
           "Element " + Quoted(name) + " must be in the namespace " +
               std::string(def->xhtml ? kXhtmlNamespace : kFhirNamespace),
           Location());
    return;
  }

  // FHIR XML fixes the element order: a child may repeat the previous element (if that element
  // repeats) or follow it in definition order.
  enum class Sequence { kInOrder, kRepeated, kOutOfOrder };
  Sequence sequence = Sequence::kInOrder;
  int position = 0;
  if (owner.last_child == def) {
    position = ++owner.last_position;
    if (!def->repeats()) sequence = Sequence::kRepeated;
  } else if (owner.last_child == nullptr || owner.last_child->index < def->index) {
    owner.last_child = def;
    owner.last_position = 0;
  } else {
    for (const Node* sibling : parent_node->children) position += sibling->def == def ? 1 : 0;
    if (!options_.allow_out_of_order) {
      sequence = Sequence::kOutOfOrder;
    } else if (position > 0 && !def->repeats()) {
      sequence = Sequence::kRepeated;
    }
  }

  Frame frame;
  frame.name = name;
  frame.index = def->repeats() ? position : -1;
  if (chosen == nullptr) {
    frame.kind = FrameKind::kResourceSlot;
    frame.node = parent_node;
    frame.slot = def;
  } else {
    Node* node = resource_.NewNode(def, chosen);
    Resource::InsertChild(parent_node, node);
    frame.kind = def->xhtml ? FrameKind::kXhtml : FrameKind::kElement;
    frame.node = node;
  }
  frames_.push_back(frame);

  if (sequence == Sequence::kRepeated) {
    Report("xml.expected-single", IssueType::kStructure,
           "Element " + Quoted(name) + " must not repeat", Location());
  } else if (sequence == Sequence::kOutOfOrder) {
    Report("xml.order", IssueType::kStructure,
           "Element " + Quoted(name) + " is out of order (FHIR XML follows definition order)",
           Location());
  }

  switch (frame.kind) {
    case FrameKind::kElement:
      ReadAttributes(nb_attributes, attributes, false);
      break;
    case FrameKind::kXhtml:
      OpenDiv(nb_attributes, attributes);
      break;
    default:
      RejectAttributes(nb_attributes, attributes);
      break;
  }
}

void SaxHandler::StartSlotResource(size_t slot, std::string_view name, std::string_view ns,
                                   int nb_attributes, const xmlChar** attributes) {
  Frame& owner = frames_[slot];
  const bool second = owner.has_content;
  owner.has_content = true;
  Node* parent_node = owner.node;
  const model::ElementDef* def = owner.slot;
  if (second) {
    PushSkip(name);
    Report("xml.expected-single", IssueType::kStructure,
           "Element " + Quoted(def->name) + " holds exactly one resource", Location());
    return;
  }
  const model::TypeDef* type =
      ResourceElementType(name, ns, "Resource " + Quoted(name) + " must be in the FHIR namespace");
  if (type == nullptr) return;
  Node* node = resource_.NewNode(def, type);
  Resource::InsertChild(parent_node, node);
  Frame frame;
  frame.kind = FrameKind::kElement;
  frame.node = node;
  frames_.push_back(frame);
  ReadAttributes(nb_attributes, attributes, false);
}

void SaxHandler::StartXhtml(std::string_view name, std::string_view ns, int nb_attributes,
                            const xmlChar** attributes) {
  if (ns != kXhtmlNamespace) {
    PushSkip({});
    Report("xml.namespace", IssueType::kStructure,
           "Narrative elements must be in the XHTML namespace", Location());
    return;
  }
  CloseXhtmlStartTag();
  div_ += '<';
  div_ += name;
  WriteXhtmlAttributes(nb_attributes, attributes);
  div_open_ = true;
  Frame frame;
  frame.kind = FrameKind::kXhtml;
  frames_.push_back(frame);
}

void SaxHandler::OpenDiv(int nb_attributes, const xmlChar** attributes) {
  div_.assign("<div xmlns=\"");
  div_ += kXhtmlNamespace;
  div_ += '"';
  WriteXhtmlAttributes(nb_attributes, attributes);
  div_open_ = true;
}

void SaxHandler::CloseXhtmlStartTag() {
  if (!div_open_) return;
  div_ += '>';
  div_open_ = false;
}

void SaxHandler::WriteXhtmlAttributes(int nb_attributes, const xmlChar** attributes) {
  // The markup declares only the XHTML default namespace on the div; a prefixed attribute other
  // than xml:* gets its prefix declared on the element that uses it.
  std::vector<std::string_view> declared;
  for (int i = 0; i < nb_attributes; ++i) {
    const Attribute attribute = AttributeAt(attributes, i);
    div_ += ' ';
    if (!attribute.prefix.empty()) {
      if (attribute.prefix != "xml" &&
          std::find(declared.begin(), declared.end(), attribute.prefix) == declared.end()) {
        declared.push_back(attribute.prefix);
        div_ += "xmlns:";
        div_ += attribute.prefix;
        div_ += "=\"";
        AppendEscapedAttribute(div_, attribute.ns);
        div_ += "\" ";
      }
      div_ += attribute.prefix;
      div_ += ':';
    }
    div_ += attribute.name;
    div_ += "=\"";
    AppendEscapedAttribute(div_, DecodeAttribute(attribute.raw_value, scratch_));
    div_ += '"';
  }
}

void SaxHandler::RejectAttributes(int nb_attributes, const xmlChar** attributes) {
  for (int i = 0; i < nb_attributes; ++i) {
    Report("xml.unknown-attribute", IssueType::kStructure,
           "Unknown attribute " + Quoted(AttributeAt(attributes, i).name), Location());
  }
}

std::string SaxHandler::AttributeLocation(std::string_view attribute) const {
  std::string location = Location();
  if (!attribute.empty()) {
    location += '.';
    location += attribute;
  }
  return location;
}

bool SaxHandler::SetValue(Node* node, std::string_view raw, std::string_view attribute) {
  const std::string_view value = DecodeAttribute(raw, scratch_);
  if (value.empty()) {
    Report("xml.empty-value", IssueType::kValue, "An attribute value must not be empty",
           AttributeLocation(attribute));
    return false;
  }
  if (node->type != nullptr && node->type->is_primitive() &&
      !model::IsValidPrimitive(node->type->primitive, value)) {
    Report("xml.invalid-primitive", IssueType::kValue,
           "The value is not " + std::string(model::DescribeRule(node->type->primitive)),
           AttributeLocation(attribute));
    return false;
  }
  node->value = resource_.Intern(value);
  node->has_value = true;
  return true;
}

void SaxHandler::ReadAttributes(int nb_attributes, const xmlChar** attributes, bool root) {
  if (nb_attributes == 0) return;
  Frame& frame = frames_.back();
  frame.has_content = true;
  Node* node = frame.node;
  for (int i = 0; i < nb_attributes; ++i) {
    const Attribute attribute = AttributeAt(attributes, i);
    if (!attribute.ns.empty()) {
      // Schema hints on the root carry no data.
      if (root && attribute.ns == kXsiNamespace && attribute.name == "schemaLocation") continue;
      Report("xml.unknown-attribute", IssueType::kStructure,
             "Unknown attribute " + Quoted(attribute.name), Location());
      continue;
    }
    if (attribute.name == "value") {
      if (!node->is_primitive()) {
        Report("xml.unknown-attribute", IssueType::kStructure,
               "Element " + Quoted(node->name()) + " has no value attribute", Location());
        continue;
      }
      SetValue(node, attribute.raw_value, {});
      continue;
    }
    const model::ElementDef* def = node->type->FindElementByName(attribute.name);
    if (def == nullptr || !def->xml_attribute) {
      Report("xml.unknown-attribute", IssueType::kStructure,
             "Unknown attribute " + Quoted(attribute.name), Location());
      continue;
    }
    Node* child = resource_.NewNode(def, def->types.empty() ? nullptr : def->types.front());
    if (SetValue(child, attribute.raw_value, attribute.name)) Resource::InsertChild(node, child);
  }
}

void SaxHandler::EndElement(std::string_view name) {
  Frame& frame = frames_.back();
  switch (frame.kind) {
    case FrameKind::kElement:
      if (!frame.has_content && !frame.node->is_resource()) {
        Report("xml.empty-element", IssueType::kStructure,
               "Element " + Quoted(frame.node->name()) + " has neither a value nor children",
               Location());
      }
      break;
    case FrameKind::kResourceSlot:
      if (!frame.has_content) {
        Report("xml.empty-element", IssueType::kStructure,
               "Element " + Quoted(frame.slot->name) + " must hold a resource", Location());
      }
      break;
    case FrameKind::kXhtml:
      if (div_open_) {
        div_ += "/>";
        div_open_ = false;
      } else {
        div_ += "</";
        div_ += name;
        div_ += '>';
      }
      if (frame.node != nullptr) {
        frame.node->value = resource_.Intern(div_);
        frame.node->has_value = true;
      }
      break;
    case FrameKind::kSkip:
      break;
  }
  frames_.pop_back();
}

void SaxHandler::Characters(std::string_view text) {
  if (frames_.empty()) return;
  Frame& frame = frames_.back();
  switch (frame.kind) {
    case FrameKind::kXhtml:
      CloseXhtmlStartTag();
      AppendEscapedText(div_, text);
      return;
    case FrameKind::kSkip:
      return;
    case FrameKind::kElement:
    case FrameKind::kResourceSlot:
      if (frame.text_reported || IsXmlWhitespace(text)) return;
      frame.text_reported = true;
      frame.has_content = true;
      Report("xml.text", IssueType::kStructure,
             "FHIR elements carry values in the value attribute, not as text", Location());
      return;
  }
}

void SaxHandler::OnStartElement(void* ctx, const xmlChar* localname, const xmlChar* /*prefix*/,
                                const xmlChar* uri, int /*nb_namespaces*/,
                                const xmlChar** /*namespaces*/, int nb_attributes,
                                int /*nb_defaulted*/, const xmlChar** attributes) {
  Guard(ctx, [&](SaxHandler& self) {
    self.StartElement(View(localname), View(uri), nb_attributes, attributes);
  });
}

void SaxHandler::OnEndElement(void* ctx, const xmlChar* localname, const xmlChar* /*prefix*/,
                              const xmlChar* /*uri*/) {
  Guard(ctx, [&](SaxHandler& self) { self.EndElement(View(localname)); });
}

void SaxHandler::OnCharacters(void* ctx, const xmlChar* text, int len) {
  Guard(ctx, [&](SaxHandler& self) {
    self.Characters(
        std::string_view(reinterpret_cast<const char*>(text), static_cast<size_t>(len)));
  });
}

void SaxHandler::OnDoctype(void* ctx, const xmlChar* /*name*/, const xmlChar* /*external_id*/,
                           const xmlChar* /*system_id*/) {
  Guard(ctx, [&](SaxHandler& self) {
    self.Report("xml.dtd", IssueType::kSecurity, "DOCTYPE declarations are not allowed", {});
    self.Stop();
  });
}

void SaxHandler::OnError(void* ctx, xmlErrorPtr error) {
  Guard(ctx, [&](SaxHandler& self) {
    if (error == nullptr || error->level < XML_ERR_ERROR) return;
    std::string text = "Malformed XML at line " + std::to_string(error->line) + ", column " +
                       std::to_string(error->int2) + ": ";
    text += DescribeSyntaxError(error->code);
    self.Report("xml.syntax", IssueType::kStructure, std::move(text), self.Location());
  });
}

Result<void> SaxHandler::Run(std::string_view xml) {
  static std::once_flag init;
  std::call_once(init, [] { xmlInitParser(); });

  if (xml.size() > options_.max_bytes || xml.size() > static_cast<size_t>(INT_MAX)) {
    return Error::Invalid("xml.too-large", "The XML document is larger than " +
                                               std::to_string(options_.max_bytes) + " bytes");
  }
  if (xml.empty()) {
    return Error::Structure("xml.syntax", "Malformed XML: the document is empty");
  }
  ctxt_ = xmlCreateMemoryParserCtxt(xml.data(), static_cast<int>(xml.size()));
  if (ctxt_ == nullptr) return Error::Internal("xml.internal", "Cannot create an XML parser");
  // HUGE lifts libxml2's 10 MB cap on one attribute value (large base64 attachments); size and
  // depth are bounded by ParseOptions instead, and without a DTD there is nothing to amplify.
  xmlCtxtUseOptions(ctxt_, XML_PARSE_NONET | XML_PARSE_HUGE);
  xmlSAXHandler handler;
  std::memset(&handler, 0, sizeof(handler));
  handler.initialized = XML_SAX2_MAGIC;
  handler.internalSubset = &SaxHandler::OnDoctype;
  handler.externalSubset = &SaxHandler::OnDoctype;
  handler.startElementNs = &SaxHandler::OnStartElement;
  handler.endElementNs = &SaxHandler::OnEndElement;
  handler.characters = &SaxHandler::OnCharacters;
  handler.ignorableWhitespace = &SaxHandler::OnCharacters;
  handler.cdataBlock = &SaxHandler::OnCharacters;
  handler.serror = &SaxHandler::OnError;
  std::memcpy(ctxt_->sax, &handler, sizeof(handler));
  ctxt_->userData = this;
  // The options reset this from the thread's defaults; DecodeAttribute relies on it being off.
  ctxt_->replaceEntities = 0;

  xmlParseDocument(ctxt_);
  const bool well_formed = ctxt_->wellFormed != 0;
  if (ctxt_->myDoc != nullptr) xmlFreeDoc(ctxt_->myDoc);
  xmlFreeParserCtxt(ctxt_);
  ctxt_ = nullptr;

  if (failure_) {
    try {
      std::rethrow_exception(failure_);
    } catch (const std::exception& e) {
      return Error::Internal("xml.internal", std::string("XML parsing failed: ") + e.what());
    } catch (...) {
      return Error::Internal("xml.internal", "XML parsing failed");
    }
  }
  if (issues_.empty() && !well_formed) {
    Report("xml.syntax", IssueType::kStructure, "Malformed XML", {});
  }
  if (!issues_.empty()) return Error(400, std::move(issues_));
  return {};
}

Result<Resource> SaxHandler::ParseResource(std::string_view xml) {
  Result<void> run = Run(xml);
  if (!run.ok()) return std::move(run).error();
  return std::move(resource_);
}

Result<std::string> SaxHandler::ParseXhtml(std::string_view markup) {
  Result<void> run = Run(markup);
  if (!run.ok()) return std::move(run).error();
  return std::move(div_);
}

}  // namespace

Result<Resource> Parse(std::string_view xml, const model::Definitions& defs,
                       const ParseOptions& options) {
  return SaxHandler(&defs, options).ParseResource(xml);
}

Result<std::string> CanonicalXhtml(std::string_view markup, const ParseOptions& options) {
  return SaxHandler(nullptr, options).ParseXhtml(markup);
}

}  // namespace fhir::xml
