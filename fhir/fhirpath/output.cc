// Typed JSON output of result items (the `fhirhub fhirpath` format) and FHIR JSON of DOM nodes.
#include <string>

#include "fhir/fhirpath/fhirpath.h"
#include "fhir/json/quote.h"
#include "fhir/model/primitive.h"

namespace fhir::fhirpath {
namespace {

void AppendPrimitive(const Node& node, std::string* out) {
  switch (model::JsonRepresentationOf(node.type->primitive)) {
    case model::JsonRepresentation::kNumber:
    case model::JsonRepresentation::kBoolean:
      *out += node.value;
      break;
    case model::JsonRepresentation::kString:
      fhir::json::AppendQuoted(node.value, out);
      break;
  }
}

void AppendNode(const Node& node, std::string* out);

// The members of a complex node or resource, without braces.
void AppendMembers(const Node& node, std::string* out, bool first) {
  const auto& kids = node.children;
  for (size_t i = 0; i < kids.size();) {
    size_t j = i;
    while (j < kids.size() && kids[j]->def == kids[i]->def && kids[j]->type == kids[i]->type) ++j;
    const Node& k = *kids[i];
    const bool array = k.def != nullptr && k.def->repeats();
    const std::string name = k.JsonName();
    if (k.is_primitive()) {
      bool any_value = false;
      bool any_meta = false;
      for (size_t n = i; n < j; ++n) {
        any_value = any_value || kids[n]->has_value;
        any_meta = any_meta || !kids[n]->children.empty();
      }
      if (any_value) {
        if (!first) out->push_back(',');
        first = false;
        fhir::json::AppendQuoted(name, out);
        out->push_back(':');
        if (array) out->push_back('[');
        for (size_t n = i; n < j; ++n) {
          if (n > i) out->push_back(',');
          if (kids[n]->has_value) {
            AppendPrimitive(*kids[n], out);
          } else {
            *out += "null";
          }
        }
        if (array) out->push_back(']');
      }
      if (any_meta) {
        if (!first) out->push_back(',');
        first = false;
        fhir::json::AppendQuoted("_" + name, out);
        out->push_back(':');
        if (array) out->push_back('[');
        for (size_t n = i; n < j; ++n) {
          if (n > i) out->push_back(',');
          if (kids[n]->children.empty()) {
            *out += "null";
          } else {
            out->push_back('{');
            AppendMembers(*kids[n], out, true);
            out->push_back('}');
          }
        }
        if (array) out->push_back(']');
      }
    } else {
      if (!first) out->push_back(',');
      first = false;
      fhir::json::AppendQuoted(name, out);
      out->push_back(':');
      if (array) out->push_back('[');
      for (size_t n = i; n < j; ++n) {
        if (n > i) out->push_back(',');
        AppendNode(*kids[n], out);
      }
      if (array) out->push_back(']');
    }
    i = j;
  }
}

void AppendNode(const Node& node, std::string* out) {
  if (node.is_primitive()) {
    if (node.has_value) {
      AppendPrimitive(node, out);
    } else {
      *out += "null";
    }
    return;
  }
  out->push_back('{');
  bool first = true;
  if (node.is_resource()) {
    *out += "\"resourceType\":";
    fhir::json::AppendQuoted(node.type->name, out);
    first = false;
  }
  AppendMembers(node, out, first);
  out->push_back('}');
}

}  // namespace

std::string NodeToJson(const Node& node) {
  std::string out;
  AppendNode(node, &out);
  return out;
}

std::string ToTypedJson(const Value& v) {
  std::string out = "{\"type\":";
  fhir::json::AppendQuoted(OutputTypeName(v), &out);
  out += ",\"value\":";
  switch (v.kind) {
    case ValueKind::kNode:
      out += NodeToJson(*v.node);
      break;
    case ValueKind::kBoolean:
    case ValueKind::kInteger:
    case ValueKind::kDecimal:
      out += OutputText(v);
      break;
    default:
      fhir::json::AppendQuoted(OutputText(v), &out);
      break;
  }
  out.push_back('}');
  return out;
}

}  // namespace fhir::fhirpath
