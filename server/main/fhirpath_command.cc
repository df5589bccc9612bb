// `fhirhub fhirpath`: evaluates FHIRPath expressions from the command line.
//
//   fhirhub fhirpath [--resource FILE] [--var NAME=VALUE ...] [--fhir-package P] EXPRESSION
//     prints [{"type":"<FHIRPath type>","value":<value>}, ...]; on error prints an
//     OperationOutcome and exits 1. --var values are strings. FILE is FHIR JSON or XML, or -.
//   fhirhub fhirpath --batch FILE|- [--fhir-package P]
//     reads JSON Lines {"expression": "...", "resource": <FHIR JSON or null>,
//     "variables": {"name": value, ...}} and writes one line per input: {"result": [...]} in
//     the same typed form, or {"error": "..."}. Exits 0 when every line was read, 1 otherwise.
#include <rapidjson/document.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/fhirpath/fhirpath.h"
#include "fhir/json/json.h"
#include "fhir/outcome.h"
#include "fhir/xml/xml.h"
#include "server/main/command_line.h"
#include "server/main/fhir_package.h"

namespace server::main {
namespace {

namespace fp = fhir::fhirpath;

constexpr char kUsage[] =
    "usage: fhirhub fhirpath [--resource FILE] [--var NAME=VALUE ...] [--fhir-package P] "
    "EXPRESSION\n"
    "       fhirhub fhirpath --batch FILE|- [--fhir-package P]\n";

struct Options {
  std::optional<std::string> resource;
  std::optional<std::string> batch;
  std::vector<std::pair<std::string, std::string>> variables;
  std::vector<std::string> positional;
};

bool ParseOptions(const CommandLine& cl, Options* out) {
  out->resource = cl.Get("resource");
  out->batch = cl.Get("batch");
  out->positional = cl.positional();
  for (const std::string& var : cl.GetAll("var")) {
    size_t eq = var.find('=');
    if (eq == std::string::npos || eq == 0) return false;
    out->variables.emplace_back(var.substr(0, eq), var.substr(eq + 1));
  }
  return true;
}

bool ReadInput(const std::string& file, std::string* out) {
  if (file == "-") {
    out->assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return true;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  *out = buffer.str();
  return true;
}

fhir::Result<fhir::Resource> ParseResource(const std::string& text,
                                           const fhir::model::Definitions& defs) {
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '<') return fhir::xml::Parse(text, defs);
    break;
  }
  return fhir::json::Parse(text, defs);
}

std::string TypedArray(const fp::Collection& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += fp::ToTypedJson(items[i]);
  }
  return out + "]";
}

void PrintOutcome(const fhir::Error& error, const fhir::model::Definitions& defs) {
  std::string outcome = fhir::json::Write(fhir::ToOperationOutcome(error, defs), {.pretty = true});
  std::fwrite(outcome.data(), 1, outcome.size(), stdout);
  std::fputc('\n', stdout);
}

fhir::Result<fp::Collection> Evaluate(const std::string& expression, const fhir::Resource* resource,
                                      const fp::Variables& variables,
                                      const fhir::model::Definitions& defs) {
  auto compiled = fp::Expression::Compile(expression, defs);
  if (!compiled.ok()) return std::move(compiled).error();
  fp::EvaluationContext ctx;
  if (resource != nullptr) ctx.resource = resource->root();
  ctx.variables = &variables;
  return compiled->Evaluate(ctx);
}

int RunSingle(const Options& options, const fhir::model::Definitions& defs) {
  std::optional<fhir::Resource> resource;
  if (options.resource) {
    std::string text;
    if (!ReadInput(*options.resource, &text)) {
      std::fprintf(stderr, "fhirhub fhirpath: cannot read %s\n", options.resource->c_str());
      return 1;
    }
    auto parsed = ParseResource(text, defs);
    if (!parsed.ok()) {
      PrintOutcome(parsed.error(), defs);
      return 1;
    }
    resource = std::move(parsed).value();
  }
  fp::Variables variables;
  for (const auto& [name, value] : options.variables) {
    variables[name] = {fp::Value::OfString(value)};
  }
  auto result = Evaluate(options.positional[0], resource ? &*resource : nullptr, variables, defs);
  if (!result.ok()) {
    PrintOutcome(result.error(), defs);
    return 1;
  }
  std::string out = TypedArray(*result);
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fputc('\n', stdout);
  return 0;
}

std::string ErrorLine(const std::string& message) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("error");
  writer.String(message.c_str(), static_cast<rapidjson::SizeType>(message.size()));
  writer.EndObject();
  return buffer.GetString();
}

// Finds where the top-level "resource" object lies in a JSON Lines record, so that the resource
// reaches the FHIR parser as written: a round trip through doubles would turn the decimal 1.50
// into 1.5, and FHIR decimals keep their precision. Positions are taken at '{' and '}' only: the
// reader consumes those from the stream itself, while it reads strings and numbers from a local
// copy of the stream and updates the position after the handler has been called.
class ResourceSpan : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, ResourceSpan> {
 public:
  explicit ResourceSpan(const rapidjson::StringStream& stream) : stream_(stream) {}

  // The object's text; empty when the record has no "resource" object.
  std::string_view Find(std::string_view line) const {
    return end_ > begin_ ? line.substr(begin_, end_ - begin_) : std::string_view();
  }

  bool Default() {
    if (depth_ == 1) in_resource_ = false;
    return true;
  }
  bool Key(const char* name, rapidjson::SizeType length, bool /*copy*/) {
    if (depth_ == 1) in_resource_ = std::string_view(name, length) == "resource";
    return true;
  }
  bool StartObject() {
    // end_ == 0: the first "resource" member counts, as for the Document.
    if (depth_ == 1 && in_resource_ && end_ == 0) begin_ = stream_.Tell() - 1;
    ++depth_;
    return true;
  }
  bool EndObject(rapidjson::SizeType /*members*/) {
    --depth_;
    if (depth_ == 1 && in_resource_ && end_ == 0) {
      end_ = stream_.Tell();
      in_resource_ = false;
    }
    return true;
  }
  bool StartArray() {
    ++depth_;
    return true;
  }
  bool EndArray(rapidjson::SizeType /*elements*/) {
    --depth_;
    return Default();
  }

 private:
  const rapidjson::StringStream& stream_;
  int depth_ = 0;
  bool in_resource_ = false;
  size_t begin_ = 0;
  size_t end_ = 0;
};

// One JSON Lines record to its output line.
std::string RunBatchLine(const std::string& line, const fhir::model::Definitions& defs,
                         bool* malformed) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseFullPrecisionFlag>(line.data(), line.size());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("expression") ||
      !doc["expression"].IsString()) {
    *malformed = true;
    return ErrorLine("each line must be a JSON object with a string \"expression\"");
  }
  std::optional<fhir::Resource> resource;
  if (doc.HasMember("resource") && !doc["resource"].IsNull()) {
    if (!doc["resource"].IsObject()) return ErrorLine("\"resource\" must be a JSON object or null");
    // The whole line parsed as JSON above, so it holds no raw NUL before its terminator.
    rapidjson::StringStream stream(line.c_str());
    ResourceSpan span(stream);
    rapidjson::Reader reader;
    reader.Parse(stream, span);
    auto parsed = fhir::json::Parse(span.Find(line), defs);
    if (!parsed.ok()) return ErrorLine(parsed.error().text());
    resource = std::move(parsed).value();
  }
  fp::Variables variables;
  std::deque<std::string> texts;  // storage for string variables
  if (doc.HasMember("variables") && doc["variables"].IsObject()) {
    const rapidjson::Value& given = doc["variables"];
    // Indexed: RapidJSON's member iterators make range-for ambiguous under C++20 in clang.
    for (rapidjson::SizeType i = 0; i < given.MemberCount(); ++i) {
      const auto& m = *(given.MemberBegin() + i);
      std::vector<fp::Value> values;
      auto add = [&](const rapidjson::Value& v) {
        if (v.IsString()) {
          texts.emplace_back(v.GetString(), v.GetStringLength());
          values.push_back(fp::Value::OfString(texts.back()));
        } else if (v.IsBool()) {
          values.push_back(fp::Value::OfBoolean(v.GetBool()));
        } else if (v.IsInt64()) {
          values.push_back(fp::Value::OfInteger(v.GetInt64()));
        } else if (v.IsNumber()) {
          auto d = fp::Decimal::FromDouble(v.GetDouble());
          if (d) values.push_back(fp::Value::OfDecimal(*d));
        }
      };
      if (m.value.IsArray()) {
        for (const auto& v : m.value.GetArray()) add(v);
      } else {
        add(m.value);
      }
      variables[m.name.GetString()] = std::move(values);
    }
  }
  auto result =
      Evaluate(doc["expression"].GetString(), resource ? &*resource : nullptr, variables, defs);
  if (!result.ok()) return ErrorLine(result.error().text());
  return "{\"result\":" + TypedArray(*result) + "}";
}

int RunBatch(const Options& options, const fhir::model::Definitions& defs) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (*options.batch != "-") {
    file.open(*options.batch, std::ios::binary);
    if (!file) {
      std::fprintf(stderr, "fhirhub fhirpath: cannot read %s\n", options.batch->c_str());
      return 1;
    }
    in = &file;
  }
  bool malformed = false;
  std::string line;
  while (std::getline(*in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string out = RunBatchLine(line, defs, &malformed);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fputc('\n', stdout);
  }
  return malformed ? 1 : 0;
}

}  // namespace

int RunFhirpath(const std::vector<std::string>& args) {
  auto cl = CommandLine::Parse(args, {}, {"resource", "batch", "var", "fhir-package"});
  Options options;
  if (!cl.ok() || !ParseOptions(*cl, &options) || (options.batch && !options.positional.empty()) ||
      (!options.batch && options.positional.size() != 1)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  auto defs = LoadDefinitions(cl->GetOrEnv("fhir-package"));
  if (!defs.ok()) {
    std::fprintf(stderr, "fhirhub fhirpath: %s\n", defs.error().text().c_str());
    return 1;
  }
  return options.batch ? RunBatch(options, **defs) : RunSingle(options, **defs);
}

}  // namespace server::main
