// `fhirhub convert --to json|xml [--pretty] FILE|-`: reads one resource in JSON or XML (told
// apart by its first character) and prints it in the other format. Invalid input prints an
// OperationOutcome (JSON) and exits 1.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "fhir/json/json.h"
#include "fhir/outcome.h"
#include "fhir/xml/xml.h"
#include "server/main/command_line.h"
#include "server/main/fhir_package.h"

namespace server::main {

namespace {

bool LooksLikeXml(const std::string& text) {
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    return c == '<';
  }
  return false;
}

}  // namespace

int RunConvert(const std::vector<std::string>& args) {
  auto cl = CommandLine::Parse(args, {"pretty"}, {"to", "fhir-package"});
  if (!cl.ok() || cl->positional().size() != 1) {
    std::fprintf(stderr, "usage: fhirhub convert --to json|xml [--pretty] FILE|-\n");
    return 2;
  }
  const std::string to = cl->Get("to").value_or("");
  if (to != "json" && to != "xml") {
    std::fprintf(stderr, "fhirhub convert: --to must be json or xml\n");
    return 2;
  }
  auto defs = LoadDefinitions(cl->GetOrEnv("fhir-package"));
  if (!defs.ok()) {
    std::fprintf(stderr, "fhirhub convert: %s\n", defs.error().text().c_str());
    return 1;
  }

  std::string input;
  const std::string& file = cl->positional()[0];
  if (file == "-") {
    input.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "fhirhub convert: cannot read %s\n", file.c_str());
      return 1;
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    input = buffer.str();
  }

  fhir::Result<fhir::Resource> resource =
      LooksLikeXml(input) ? fhir::xml::Parse(input, **defs) : fhir::json::Parse(input, **defs);
  if (!resource.ok()) {
    std::string outcome =
        fhir::json::Write(fhir::ToOperationOutcome(resource.error(), **defs), {.pretty = true});
    std::fwrite(outcome.data(), 1, outcome.size(), stdout);
    std::fputc('\n', stdout);
    return 1;
  }
  const bool pretty = cl->Has("pretty");
  std::string output = to == "xml" ? fhir::xml::Write(*resource, {.pretty = pretty})
                                   : fhir::json::Write(*resource, {.pretty = pretty});
  std::fwrite(output.data(), 1, output.size(), stdout);
  std::fputc('\n', stdout);
  return 0;
}

}  // namespace server::main
