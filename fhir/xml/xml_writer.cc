// FHIR XML serialisation straight into a std::string: the DOM is already in definition order, so
// writing is one walk with no intermediate tree.
#include <cctype>
#include <limits>
#include <string>
#include <string_view>

#include "fhir/xml/canonical_xhtml.h"
#include "fhir/xml/escape.h"
#include "fhir/xml/xml.h"

namespace fhir::xml {
namespace {

class Writer {
 public:
  Writer(std::string& out, bool pretty) : out_(out), pretty_(pretty) {}

  void WriteResource(const Node& resource, bool top_level, int depth) {
    const std::string_view type = resource.type->name;
    Indent(depth);
    out_ += '<';
    out_ += type;
    if (top_level) {
      out_ += " xmlns=\"";
      out_ += kFhirNamespace;
      out_ += '"';
    }
    if (WriteAttributesAndContent(resource, depth)) CloseTag(type, depth);
  }

 private:
  // Attributes (id, url, value) on the open start tag, then child elements. Returns false when
  // there were no child elements and the start tag was self-closed.
  bool WriteAttributesAndContent(const Node& node, int depth) {
    for (const Node* child : node.children) {
      if (!IsAttribute(*child) || !child->has_value) continue;
      out_ += ' ';
      out_ += child->def->name;
      out_ += "=\"";
      AppendEscapedAttribute(out_, child->value);
      out_ += '"';
    }
    if (node.is_primitive() && node.has_value) {
      out_ += " value=\"";
      AppendEscapedAttribute(out_, node.value);
      out_ += '"';
    }
    if (!HasElementChildren(node)) {
      out_ += "/>";
      return false;
    }
    out_ += '>';
    for (const Node* child : node.children) {
      if (!IsAttribute(*child)) WriteElement(*child, depth + 1);
    }
    return true;
  }

  void WriteElement(const Node& node, int depth) {
    if (node.def->xhtml) {
      if (node.has_value) WriteXhtml(node.value, depth);
      return;
    }
    if (node.is_resource()) {
      Indent(depth);
      out_ += '<';
      out_ += node.def->name;
      out_ += '>';
      WriteResource(node, false, depth + 1);
      CloseTag(node.def->name, depth);
      return;
    }
    Indent(depth);
    out_ += '<';
    AppendElementName(node);
    if (WriteAttributesAndContent(node, depth)) {
      Indent(depth);
      out_ += "</";
      AppendElementName(node);
      out_ += '>';
    }
  }

  // A DOM built from JSON or by code holds whatever string it was given; only markup that reads
  // back as one XHTML div goes into the document as markup.
  void WriteXhtml(std::string_view markup, int depth) {
    Indent(depth);
    ParseOptions options;
    options.max_bytes = std::numeric_limits<size_t>::max();
    options.max_issues = 1;
    // Markup read by Parse (and most markup from elsewhere) is canonical already.
    if (IsCanonicalXhtml(markup, options.max_depth)) {
      out_ += markup;
      return;
    }
    Result<std::string> canonical = CanonicalXhtml(markup, options);
    if (canonical.ok()) {
      out_ += *canonical;
      return;
    }
    out_ += "<div xmlns=\"";
    out_ += kXhtmlNamespace;
    out_ += "\">";
    AppendEscapedText(out_, markup);
    out_ += "</div>";
  }

  void AppendElementName(const Node& node) {
    out_ += node.def->name;
    if (node.def->is_choice && node.type != nullptr && !node.type->name.empty()) {
      out_ += static_cast<char>(std::toupper(static_cast<unsigned char>(node.type->name[0])));
      out_.append(node.type->name, 1);
    }
  }

  void CloseTag(std::string_view name, int depth) {
    Indent(depth);
    out_ += "</";
    out_ += name;
    out_ += '>';
  }

  void Indent(int depth) {
    if (!pretty_) return;
    if (!out_.empty()) out_ += '\n';
    out_.append(static_cast<size_t>(depth) * 2, ' ');
  }

  static bool IsAttribute(const Node& node) {
    return node.def != nullptr && node.def->xml_attribute;
  }

  static bool HasElementChildren(const Node& node) {
    for (const Node* child : node.children) {
      if (!IsAttribute(*child)) return true;
    }
    return false;
  }

  std::string& out_;
  const bool pretty_;
};

}  // namespace

std::string Write(const Resource& resource, const WriteOptions& options) {
  std::string out;
  if (resource.empty() || resource.root()->type == nullptr) return out;
  out.reserve(4096);
  Writer(out, options.pretty).WriteResource(*resource.root(), true, 0);
  if (options.pretty) out += '\n';
  return out;
}

}  // namespace fhir::xml
