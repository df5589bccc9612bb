// End-to-end: the REST behaviour written down in tests/scenarios/*.json, one test per file, each
// file a sequence of HTTP exchanges with the real fhirhub binary and the answers expected. The
// format is described in tests/scenarios/README.md. Files are found at run time, so a new
// scenario needs no change here.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "fhir/fhirpath/fhirpath.h"
#include "fhir/json/json.h"
#include "fhir/xml/xml.h"
#include "tests/support/http_client.h"
#include "tests/support/server_process.h"
#include "tests/support/test_definitions.h"

namespace {

namespace fs = std::filesystem;
using Json = rapidjson::Value;
using Variables = std::map<std::string, std::string>;

fs::path ScenarioDir() { return fs::path(FHIRHUB_SOURCE_DIR) / "tests" / "scenarios"; }

std::vector<fs::path> ScenarioFiles() {
  std::vector<fs::path> files;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(ScenarioDir(), error)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The longest text of a response body shown in a failure message.
constexpr size_t kShownBody = 1500;

// Collects the failures of one step. The first failure also shows the answer, so a report can be
// understood without rerunning the scenario.
class StepReport {
 public:
  explicit StepReport(std::string where) : where_(std::move(where)) {}

  void Fail(const std::string& what) {
    std::string message = where_ + ": " + what;
    if (!failed_ && answer_ != nullptr) {
      std::string body = answer_->body.substr(0, kShownBody);
      if (answer_->body.size() > kShownBody) body += "...";
      message += "\n  answer: " + std::to_string(answer_->status) + " " +
                 answer_->Header("content-type") + "\n  " + body;
    }
    failed_ = true;
    ADD_FAILURE() << message;
  }
  void set_answer(const testing_support::Answer* answer) { answer_ = answer; }
  bool failed() const { return failed_; }

 private:
  std::string where_;
  const testing_support::Answer* answer_ = nullptr;
  bool failed_ = false;
};

// Replaces every ${name} in `text` by the variable's value; nullopt (and a failure) when a name
// is not defined.
std::optional<std::string> Substitute(const std::string& text, const Variables& vars,
                                      StepReport& report) {
  std::string out;
  size_t at = 0;
  while (true) {
    size_t open = text.find("${", at);
    if (open == std::string::npos) break;
    size_t close = text.find('}', open);
    if (close == std::string::npos) break;
    const std::string name = text.substr(open + 2, close - open - 2);
    auto it = vars.find(name);
    if (it == vars.end()) {
      report.Fail("${" + name + "} is not defined (captured by an earlier step?)");
      return std::nullopt;
    }
    out.append(text, at, open - at);
    out += it->second;
    at = close + 1;
  }
  out.append(text, at, std::string::npos);
  return out;
}

std::string ToJsonText(const Json& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// The text a scalar expectation stands for: strings as they are, numbers and booleans as JSON
// writes them (201, true), so "status" fields of a Bundle can be written either way.
std::optional<std::string> ScalarText(const Json& value) {
  if (value.IsString()) return std::string(value.GetString(), value.GetStringLength());
  if (value.IsBool() || value.IsNumber()) return ToJsonText(value);
  return std::nullopt;
}

// Reports keys of `object` not in `allowed`: a misspelt expectation must not pass silently.
bool OnlyKeys(const Json& object, std::initializer_list<const char*> allowed,
              const std::string& what, StepReport& report) {
  bool ok = true;
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    const std::string key = it->name.GetString();
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
      report.Fail("unknown key \"" + key + "\" in " + what);
      ok = false;
    }
  }
  return ok;
}

// Checks `actual` against a text matcher: a scalar (equal after substitution) or an object with
// one of "equals", "matches" (ECMAScript regex, searched) or "contains". Returns a description
// of the mismatch, or nullopt when it matches.
std::optional<std::string> MatchText(const Json& spec, const std::string& actual,
                                     const Variables& vars, StepReport& report) {
  if (auto text = ScalarText(spec)) {
    auto expected = Substitute(*text, vars, report);
    if (!expected) return std::string("(not evaluated)");
    if (actual == *expected) return std::nullopt;
    return "expected \"" + *expected + "\", got \"" + actual + "\"";
  }
  if (!spec.IsObject() || spec.MemberCount() != 1) {
    return std::string("a text expectation is a string, number, boolean or one of ") +
           "{\"equals\"|\"matches\"|\"contains\": \"...\"}";
  }
  const std::string kind = spec.MemberBegin()->name.GetString();
  const Json& operand = spec.MemberBegin()->value;
  auto raw = ScalarText(operand);
  if (!raw) return "the operand of \"" + kind + "\" must be a string";
  auto expected = Substitute(*raw, vars, report);
  if (!expected) return std::string("(not evaluated)");
  if (kind == "equals") {
    if (actual == *expected) return std::nullopt;
    return "expected \"" + *expected + "\", got \"" + actual + "\"";
  }
  if (kind == "contains") {
    if (actual.find(*expected) != std::string::npos) return std::nullopt;
    return "expected text containing \"" + *expected + "\", got \"" + actual + "\"";
  }
  if (kind == "matches") {
    try {
      if (std::regex_search(actual, std::regex(*expected))) return std::nullopt;
    } catch (const std::regex_error& e) {
      return "invalid regex /" + *expected + "/: " + e.what();
    }
    return "expected a match of /" + *expected + "/, got \"" + actual + "\"";
  }
  return "unknown text matcher \"" + kind + "\" (equals, matches, contains)";
}

// The response body as a resource, read with the codec its Content-Type names.
fhir::Result<fhir::Resource> ParseAnswer(const testing_support::Answer& answer) {
  const std::string type = Lower(answer.Header("content-type"));
  if (type.find("xml") != std::string::npos) {
    return fhir::xml::Parse(answer.body, testing_support::Definitions());
  }
  return fhir::json::Parse(answer.body, testing_support::Definitions());
}

// The text form of a FHIRPath result item: the lexical form of a primitive or System value, the
// FHIR JSON of a complex node.
std::string ItemText(const fhir::fhirpath::Value& value) {
  if (value.is_node() && value.node != nullptr && !value.node->is_primitive()) {
    return fhir::fhirpath::NodeToJson(*value.node);
  }
  return fhir::fhirpath::OutputText(value);
}

std::string ListText(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += "\"" + items[i] + "\"";
  }
  return out + "]";
}

// Evaluates `expression` over `resource`; the text of every result, or nullopt (and a failure).
std::optional<std::vector<std::string>> Evaluate(const std::string& expression,
                                                 const fhir::Resource& resource,
                                                 StepReport& report) {
  auto compiled = fhir::fhirpath::Expression::Compile(expression, testing_support::Definitions());
  if (!compiled.ok()) {
    report.Fail("FHIRPath " + expression + " does not compile: " + compiled.error().text());
    return std::nullopt;
  }
  auto result = compiled->Evaluate(resource);
  if (!result.ok()) {
    report.Fail("FHIRPath " + expression + " fails: " + result.error().text());
    return std::nullopt;
  }
  std::vector<std::string> items;
  for (const auto& value : *result) items.push_back(ItemText(value));
  return items;
}

// One "fhirpath" expectation: a scalar or text matcher for a single result, an array for the
// whole result list in order, or an object with "count" and/or "exists" (and optionally one text
// matcher for a single result).
void CheckFhirPath(const std::string& expression, const Json& spec, const fhir::Resource& resource,
                   const Variables& vars, StepReport& report) {
  auto items = Evaluate(expression, resource, report);
  if (!items) return;
  const std::string where = "FHIRPath " + expression + ": ";
  if (spec.IsArray()) {
    bool same = items->size() == spec.Size();
    for (rapidjson::SizeType i = 0; same && i < spec.Size(); ++i) {
      same = !MatchText(spec[i], (*items)[i], vars, report).has_value();
    }
    if (!same) {
      std::vector<std::string> expected;
      for (const auto& e : spec.GetArray()) {
        expected.push_back(ScalarText(e).value_or(ToJsonText(e)));
      }
      report.Fail(where + "expected " + ListText(expected) + ", got " + ListText(*items));
    }
    return;
  }
  const Json* matcher = &spec;
  rapidjson::Document rest;
  if (spec.IsObject() && (spec.HasMember("count") || spec.HasMember("exists"))) {
    if (!OnlyKeys(spec, {"count", "exists", "equals", "matches", "contains"}, where, report)) {
      return;
    }
    if (spec.HasMember("count")) {
      const Json& count = spec["count"];
      if (!count.IsUint()) return report.Fail(where + "\"count\" must be a whole number");
      if (items->size() != count.GetUint()) {
        report.Fail(where + "expected " + std::to_string(count.GetUint()) + " results, got " +
                    ListText(*items));
      }
    }
    if (spec.HasMember("exists")) {
      const Json& exists = spec["exists"];
      if (!exists.IsBool()) return report.Fail(where + "\"exists\" must be true or false");
      if (exists.GetBool() == items->empty()) {
        report.Fail(where + (exists.GetBool() ? "expected results, got none"
                                              : "expected no result, got " + ListText(*items)));
      }
    }
    rest.SetObject();
    for (const char* key : {"equals", "matches", "contains"}) {
      if (spec.HasMember(key)) {
        rest.AddMember(rapidjson::StringRef(key), Json(spec[key], rest.GetAllocator()),
                       rest.GetAllocator());
      }
    }
    if (rest.MemberCount() == 0) return;
    matcher = &rest;
  }
  if (items->size() != 1) {
    const auto expected = ScalarText(*matcher).value_or(ToJsonText(*matcher));
    report.Fail(where + "expected one result (" + expected + "), got " + ListText(*items));
    return;
  }
  if (auto mismatch = MatchText(*matcher, items->front(), vars, report)) {
    report.Fail(where + *mismatch);
  }
}

// The server of every file that asks for no arguments of its own: starting the embedded
// PostgreSQL takes seconds, so files that use distinct ids share one per test binary.
testing_support::ServerProcess& SharedServer() {
  static testing_support::ServerProcess server(
      FHIRHUB_BINARY, {"--fhir-package", testing_support::PackageDir().string()});
  return server;
}

class ScenarioRunner {
 public:
  ScenarioRunner(std::string file, testing_support::ServerProcess& server)
      : file_(std::move(file)), server_(server) {
    vars_["base"] = server.base_url();
    const std::string& url = server.base_url();
    base_path_ = url.substr(url.find('/', url.find("//") + 2));
  }

  void Run(const Json& steps) {
    for (rapidjson::SizeType i = 0; i < steps.Size() && !server_gone_; ++i) RunStep(i, steps[i]);
  }

 private:
  void RunStep(rapidjson::SizeType index, const Json& step) {
    std::string name = step.IsObject() && step.HasMember("name") && step["name"].IsString()
                           ? step["name"].GetString()
                           : "";
    StepReport report(file_ + ": step " + std::to_string(index + 1) + " \"" + name + "\"");
    if (!step.IsObject() || name.empty() || !step.HasMember("request") ||
        !step.HasMember("expect")) {
      return report.Fail("a step is an object with \"name\", \"request\" and \"expect\"");
    }
    if (!OnlyKeys(step, {"name", "comment", "request", "expect", "capture"}, "the step", report)) {
      return;
    }
    auto answer = Send(step["request"], report);
    if (!answer) return;
    report.set_answer(&*answer);
    Check(step["expect"], *answer, report);
    if (step.HasMember("capture")) Capture(step["capture"], *answer, report);
  }

  // The request's target: a path under the FHIR base ("Patient/1"), a path from the server root
  // ("/healthz"), or an absolute URL of this server (a captured link).
  std::string Target(const std::string& path) const {
    if (path.rfind("http://", 0) == 0) {
      size_t slash = path.find('/', 7);
      return slash == std::string::npos ? "/" : path.substr(slash);
    }
    if (!path.empty() && path.front() == '/') return path;
    return base_path_ + "/" + path;
  }

  std::optional<testing_support::Answer> Send(const Json& request, StepReport& report) {
    if (!request.IsObject() || !request.HasMember("method") || !request["method"].IsString() ||
        !request.HasMember("path") || !request["path"].IsString()) {
      report.Fail("a request has string \"method\" and \"path\"");
      return std::nullopt;
    }
    if (!OnlyKeys(request, {"method", "path", "headers", "body", "bodyText", "contentType"},
                  "the request", report)) {
      return std::nullopt;
    }
    auto path = Substitute(request["path"].GetString(), vars_, report);
    if (!path) return std::nullopt;
    std::map<std::string, std::string> headers;
    if (request.HasMember("headers")) {
      const Json& given = request["headers"];
      if (!given.IsObject()) {
        report.Fail("request \"headers\" must be an object of strings");
        return std::nullopt;
      }
      for (auto it = given.MemberBegin(); it != given.MemberEnd(); ++it) {
        auto value =
            it->value.IsString() ? Substitute(it->value.GetString(), vars_, report) : std::nullopt;
        if (!value) {
          if (!it->value.IsString()) report.Fail("request header values must be strings");
          return std::nullopt;
        }
        headers[it->name.GetString()] = *value;
      }
    }
    std::string body;
    if (request.HasMember("body") && request.HasMember("bodyText")) {
      report.Fail("a request has \"body\" or \"bodyText\", not both");
      return std::nullopt;
    }
    if (request.HasMember("body")) body = ToJsonText(request["body"]);
    if (request.HasMember("bodyText")) {
      if (!request["bodyText"].IsString()) {
        report.Fail("\"bodyText\" must be a string");
        return std::nullopt;
      }
      body = request["bodyText"].GetString();
    }
    auto substituted = Substitute(body, vars_, report);
    if (!substituted) return std::nullopt;
    std::string content_type = "application/fhir+json";
    if (request.HasMember("contentType")) {
      if (!request["contentType"].IsString()) {
        report.Fail("\"contentType\" must be a string");
        return std::nullopt;
      }
      content_type = request["contentType"].GetString();
    }
    try {
      return testing_support::Call(server_.port(), request["method"].GetString(), Target(*path),
                                   *substituted, content_type, headers);
    } catch (const std::exception& e) {
      // A server that does not answer at all has most likely crashed: the remaining steps would
      // only repeat this failure.
      report.Fail(std::string("the exchange failed, later steps are skipped: ") + e.what());
      server_gone_ = true;
      return std::nullopt;
    }
  }

  void Check(const Json& expect, const testing_support::Answer& answer, StepReport& report) {
    if (!expect.IsObject() || !expect.HasMember("status") || !expect["status"].IsInt()) {
      return report.Fail("\"expect\" is an object with a numeric \"status\"");
    }
    if (!OnlyKeys(expect,
                  {"status", "headers", "absentHeaders", "emptyBody", "bodyText", "resourceType",
                   "fhirpath"},
                  "\"expect\"", report)) {
      return;
    }
    if (answer.status != expect["status"].GetInt()) {
      report.Fail("expected status " + std::to_string(expect["status"].GetInt()) + ", got " +
                  std::to_string(answer.status));
    }
    if (expect.HasMember("headers")) {
      const Json& headers = expect["headers"];
      if (!headers.IsObject()) return report.Fail("expected \"headers\" must be an object");
      for (auto it = headers.MemberBegin(); it != headers.MemberEnd(); ++it) {
        const std::string name = Lower(it->name.GetString());
        if (!answer.headers.contains(name)) {
          report.Fail("header " + name + " is missing");
        } else if (auto mismatch = MatchText(it->value, answer.Header(name), vars_, report)) {
          report.Fail("header " + name + ": " + *mismatch);
        }
      }
    }
    if (expect.HasMember("absentHeaders")) {
      const Json& absent = expect["absentHeaders"];
      if (!absent.IsArray()) return report.Fail("\"absentHeaders\" must be an array of names");
      for (const auto& name : absent.GetArray()) {
        if (!name.IsString()) return report.Fail("\"absentHeaders\" must be an array of names");
        const std::string lower = Lower(name.GetString());
        if (answer.headers.contains(lower)) {
          report.Fail("header " + lower + " should be absent, got \"" + answer.Header(lower) +
                      "\"");
        }
      }
    }
    if (expect.HasMember("emptyBody")) {
      if (!expect["emptyBody"].IsBool()) return report.Fail("\"emptyBody\" must be true or false");
      if (expect["emptyBody"].GetBool() != answer.body.empty()) {
        report.Fail(expect["emptyBody"].GetBool() ? "expected no body"
                                                  : "expected a body, got none");
      }
    }
    if (expect.HasMember("bodyText")) {
      if (auto mismatch = MatchText(expect["bodyText"], answer.body, vars_, report)) {
        report.Fail("body: " + *mismatch);
      }
    }
    if (!expect.HasMember("resourceType") && !expect.HasMember("fhirpath")) return;
    auto resource = ParseAnswer(answer);
    if (!resource.ok()) {
      return report.Fail("the body is not a FHIR resource: " + resource.error().message_id() + " " +
                         resource.error().text());
    }
    if (expect.HasMember("resourceType")) {
      if (auto mismatch = MatchText(expect["resourceType"], std::string(resource->resource_type()),
                                    vars_, report)) {
        report.Fail("resourceType: " + *mismatch);
      }
    }
    if (expect.HasMember("fhirpath")) {
      const Json& paths = expect["fhirpath"];
      if (!paths.IsObject()) return report.Fail("\"fhirpath\" must be an object");
      for (auto it = paths.MemberBegin(); it != paths.MemberEnd(); ++it) {
        CheckFhirPath(it->name.GetString(), it->value, *resource, vars_, report);
      }
    }
  }

  // Sets variables from the answer: {"name": {"fhirpath": "id"}} takes the single result;
  // {"name": {"header": "Location", "regex": "/Patient/([^/]+)/"}} takes the header, or the
  // regex's first group (the whole match when it has none).
  void Capture(const Json& capture, const testing_support::Answer& answer, StepReport& report) {
    if (!capture.IsObject()) return report.Fail("\"capture\" must be an object");
    for (auto it = capture.MemberBegin(); it != capture.MemberEnd(); ++it) {
      const std::string name = it->name.GetString();
      const Json& how = it->value;
      const std::string what = "capture of " + name;
      if (!how.IsObject()) {
        return report.Fail(what + ": expected {\"fhirpath\": ...} or {\"header\": ...}");
      }
      if (!OnlyKeys(how, {"fhirpath", "header", "regex"}, what, report)) return;
      std::string value;
      if (how.HasMember("fhirpath") && how["fhirpath"].IsString()) {
        auto resource = ParseAnswer(answer);
        if (!resource.ok()) return report.Fail(what + ": the body is not a FHIR resource");
        auto items = Evaluate(how["fhirpath"].GetString(), *resource, report);
        if (!items) return;
        if (items->size() != 1) {
          return report.Fail(what + ": expected one result, got " + ListText(*items));
        }
        value = items->front();
      } else if (how.HasMember("header") && how["header"].IsString()) {
        const std::string header = Lower(how["header"].GetString());
        if (!answer.headers.contains(header)) {
          return report.Fail(what + ": header " + header + " is missing");
        }
        value = answer.Header(header);
      } else {
        return report.Fail(what + ": expected {\"fhirpath\": ...} or {\"header\": ...}");
      }
      if (how.HasMember("regex")) {
        std::smatch match;
        const std::string subject = value;
        try {
          if (!how["regex"].IsString() ||
              !std::regex_search(subject, match, std::regex(how["regex"].GetString()))) {
            return report.Fail(what + ": \"" + subject + "\" does not match the regex");
          }
        } catch (const std::regex_error& e) {
          return report.Fail(what + ": invalid regex: " + e.what());
        }
        value = match.size() > 1 ? match[1].str() : match[0].str();
      }
      vars_[name] = value;
    }
  }

  std::string file_;
  testing_support::ServerProcess& server_;
  std::string base_path_;
  Variables vars_;
  bool server_gone_ = false;
};

class ScenarioTest : public ::testing::TestWithParam<fs::path> {};

TEST_P(ScenarioTest, Passes) {
  const fs::path& path = GetParam();
  const std::string file = fs::relative(path, FHIRHUB_SOURCE_DIR).string();
  const std::string text = testing_support::ReadFile(path);
  rapidjson::Document scenario;
  scenario.Parse(text.data(), text.size());
  ASSERT_FALSE(scenario.HasParseError())
      << file << ": not JSON at offset " << scenario.GetErrorOffset() << ": "
      << rapidjson::GetParseError_En(scenario.GetParseError());
  ASSERT_TRUE(scenario.IsObject() && scenario.HasMember("title") && scenario["title"].IsString() &&
              scenario.HasMember("steps") && scenario["steps"].IsArray() &&
              !scenario["steps"].Empty())
      << file << ": a scenario is an object with a \"title\" and a non-empty array of \"steps\"";
  StepReport file_report(file);
  ASSERT_TRUE(OnlyKeys(scenario, {"title", "description", "serverArgs", "steps"}, "the scenario",
                       file_report));

  std::unique_ptr<testing_support::ServerProcess> own;
  testing_support::ServerProcess* server = nullptr;
  if (scenario.HasMember("serverArgs")) {
    // Arguments change the server's behaviour for every request, so such a file gets its own.
    std::vector<std::string> args = {"--fhir-package", testing_support::PackageDir().string()};
    const Json& extra = scenario["serverArgs"];
    ASSERT_TRUE(extra.IsArray()) << file << ": \"serverArgs\" must be an array of strings";
    for (const auto& arg : extra.GetArray()) {
      ASSERT_TRUE(arg.IsString()) << file << ": \"serverArgs\" must be an array of strings";
      args.emplace_back(arg.GetString());
    }
    own = std::make_unique<testing_support::ServerProcess>(FHIRHUB_BINARY, args);
    server = own.get();
  } else {
    server = &SharedServer();
  }
  ASSERT_TRUE(server->ok()) << file << ": fhirhub serve did not start";
  ScenarioRunner(file, *server).Run(scenario["steps"]);
}

std::string TestName(const ::testing::TestParamInfo<fs::path>& info) {
  std::string name = info.param.stem().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Files, ScenarioTest, ::testing::ValuesIn(ScenarioFiles()), TestName);

// Guards against a moved folder: with no files found the parameterised test would run nothing.
TEST(ScenarioFilesTest, AreFound) {
  EXPECT_FALSE(ScenarioFiles().empty()) << "no scenario files in " << ScenarioDir();
}

}  // namespace
