// The FHIR additions to FHIRPath: extension(url), hasValue(), getValue(), resolve(),
// memberOf(), conformsTo() and htmlChecks().
#include <cctype>
#include <string>

#include "fhir/fhirpath/evaluator.h"

namespace fhir::fhirpath {
namespace {

constexpr std::string_view kBaseProfile = "http://hl7.org/fhir/StructureDefinition/";

Items One(Evaluator& ev, Value v) {
  Items out = ev.NewItems();
  out.push_back(v);
  return out;
}

Result<Items> Extension(Evaluator& ev, const AstNode& call, const Items& focus,
                        const Frame& frame) {
  auto arg = ev.Arg(call, 0, frame);
  if (!arg.ok()) return arg;
  auto url = ev.SingleString(*arg, call);
  if (!url.ok()) return std::move(url).error();
  Items out = ev.NewItems();
  if (!*url) return out;
  for (const Value& v : focus) {
    if (!v.is_node()) continue;
    for (const Node* c : v.node->children) {
      if (c->name() != "extension" && c->name() != "modifierExtension") continue;
      const Node* u = c->Child("url");
      if (u != nullptr && u->value == **url) out.push_back(Value::OfNode(c));
    }
  }
  return out;
}

Result<Items> HasValue(Evaluator& ev, const AstNode&, const Items& focus, const Frame&) {
  bool r = focus.size() == 1 && focus[0].is_node() && focus[0].node->is_primitive() &&
           focus[0].node->has_value;
  return One(ev, Value::OfBoolean(r));
}

Result<Items> GetValue(Evaluator& ev, const AstNode&, const Items& focus, const Frame&) {
  Items out = ev.NewItems();
  if (focus.size() == 1 && focus[0].is_node() && focus[0].node->is_primitive()) {
    auto v = ToSystem(focus[0]);
    if (v) out.push_back(*v);
  }
  return out;
}

std::string_view IdOf(const Node* resource) {
  const Node* id = resource->Child("id");
  return id != nullptr && id->has_value ? id->value : std::string_view();
}

const Node* FindContained(const Node* resource, std::string_view id) {
  if (resource == nullptr) return nullptr;
  if (id.empty()) return resource;
  for (const Node* c : resource->children) {
    if (c->name() == "contained" && IdOf(c) == id) return c;
  }
  return nullptr;
}

// A Bundle entry whose fullUrl is the reference, or whose resource is "Type/id".
const Node* FindInBundle(const Node* bundle, std::string_view reference) {
  if (bundle == nullptr || bundle->type == nullptr || bundle->type->name != "Bundle") {
    return nullptr;
  }
  for (const Node* entry : bundle->children) {
    if (entry->name() != "entry") continue;
    const Node* resource = entry->Child("resource");
    if (resource == nullptr) continue;
    const Node* full_url = entry->Child("fullUrl");
    if (full_url != nullptr && full_url->value == reference) return resource;
    if (resource->type == nullptr) continue;
    const std::string relative = resource->type->name + "/" + std::string(IdOf(resource));
    if (reference == relative || reference.ends_with("/" + relative)) return resource;
  }
  return nullptr;
}

Result<Items> Resolve(Evaluator& ev, const AstNode&, const Items& focus, const Frame&) {
  Items out = ev.NewItems();
  const EvaluationContext& ctx = ev.context();
  const Node* root = ctx.root_resource != nullptr ? ctx.root_resource : ctx.resource;
  for (const Value& v : focus) {
    std::optional<std::string_view> reference = StringOf(v);
    if (!reference && v.is_node()) {
      const Node* r = v.node->Child("reference");
      if (r != nullptr && r->has_value) reference = r->value;
    }
    if (!reference || reference->empty()) continue;
    const Node* found = nullptr;
    if ((*reference)[0] == '#') {
      found = FindContained(ctx.resource, reference->substr(1));
      if (found == nullptr && root != ctx.resource) {
        found = FindContained(root, reference->substr(1));
      }
    } else {
      found = FindInBundle(root, *reference);
      if (found == nullptr) found = FindInBundle(ctx.resource, *reference);
      if (found == nullptr) found = ev.hooks().Resolve(*reference);
    }
    if (found != nullptr) out.push_back(Value::OfNode(found));
  }
  return out;
}

Result<Items> MemberOf(Evaluator& ev, const AstNode& call, const Items& focus, const Frame& frame) {
  auto arg = ev.Arg(call, 0, frame);
  if (!arg.ok()) return arg;
  auto url = ev.SingleString(*arg, call);
  if (!url.ok()) return std::move(url).error();
  auto item = ev.Single(focus, call, "memberOf()");
  if (!item.ok()) return std::move(item).error();
  Items out = ev.NewItems();
  if (!*url || !*item) return out;
  auto r = ev.hooks().MemberOf(**item, **url);
  if (!r.ok()) return std::move(r).error();
  if (*r) out.push_back(Value::OfBoolean(**r));
  return out;
}

Result<Items> ConformsTo(Evaluator& ev, const AstNode& call, const Items& focus,
                         const Frame& frame) {
  auto arg = ev.Arg(call, 0, frame);
  if (!arg.ok()) return arg;
  auto url = ev.SingleString(*arg, call);
  if (!url.ok()) return std::move(url).error();
  Items out = ev.NewItems();
  if (!*url) return out;
  for (const Value& v : focus) {
    if (!v.is_node()) {
      out.push_back(Value::OfBoolean(false));
      continue;
    }
    // Base definitions are answered from the registry; profiles go to the validator's hook.
    if (url->value().starts_with(kBaseProfile)) {
      const model::TypeDef* t = ev.FindType(url->value().substr(kBaseProfile.size()));
      if (t != nullptr) {
        out.push_back(Value::OfBoolean(v.node->type != nullptr && v.node->type->IsA(*t)));
        continue;
      }
    }
    auto r = ev.hooks().ConformsTo(*v.node, **url);
    if (!r.ok()) return ev.Fail(call, r.error().message_id(), r.error().text());
    out.push_back(Value::OfBoolean(*r));
  }
  return out;
}

// The FHIR narrative rules (R4 txt-1, txt-2): XHTML with only the allowed elements, no scripts,
// no event attributes, no external references beyond images and links, and some content.
bool HtmlIsSafe(std::string_view html) {
  std::string lower(html);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static constexpr std::string_view kForbidden[] = {
      "<script", "<object", "<applet", "<iframe", "<form",  "<input",     "<embed",
      "<frame",  "<base",   "<link",   "<meta",   "<style", "javascript:"};
  for (std::string_view f : kForbidden) {
    if (lower.find(f) != std::string::npos) return false;
  }
  // Event handler attributes: " on...=" inside a tag.
  bool in_tag = false;
  for (size_t i = 0; i < lower.size(); ++i) {
    char c = lower[i];
    if (c == '<') in_tag = true;
    if (c == '>') in_tag = false;
    if (in_tag && (c == ' ' || c == '\t' || c == '\n') && lower.compare(i + 1, 2, "on") == 0) {
      size_t j = i + 3;
      while (j < lower.size() && std::isalpha(static_cast<unsigned char>(lower[j]))) ++j;
      while (j < lower.size() && lower[j] == ' ') ++j;
      if (j < lower.size() && lower[j] == '=') return false;
    }
  }
  size_t start = lower.find_first_not_of(" \t\r\n");
  if (start == std::string::npos || lower.compare(start, 4, "<div") != 0) return false;
  // Some non-whitespace content, as text or an image.
  bool content = lower.find("<img") != std::string::npos;
  in_tag = false;
  for (char c : lower) {
    if (c == '<')
      in_tag = true;
    else if (c == '>')
      in_tag = false;
    else if (!in_tag && !std::isspace(static_cast<unsigned char>(c)))
      content = true;
  }
  return content;
}

Result<Items> HtmlChecks(Evaluator& ev, const AstNode& call, const Items& focus, const Frame&) {
  auto item = ev.Single(focus, call, "htmlChecks()");
  if (!item.ok()) return std::move(item).error();
  Items out = ev.NewItems();
  if (!*item) return out;
  auto html =
      (*item)->is_node() ? std::optional<std::string_view>((*item)->node->value) : StringOf(**item);
  out.push_back(Value::OfBoolean(html && HtmlIsSafe(*html)));
  return out;
}

constexpr FunctionDef kFunctions[] = {
    {"extension", 1, 1, Extension},   {"hasValue", 0, 0, HasValue},
    {"getValue", 0, 0, GetValue},     {"resolve", 0, 0, Resolve},
    {"memberOf", 1, 1, MemberOf},     {"conformsTo", 1, 1, ConformsTo},
    {"htmlChecks", 0, 0, HtmlChecks},
};

}  // namespace

std::span<const FunctionDef> FhirFunctions() { return kFunctions; }

}  // namespace fhir::fhirpath
