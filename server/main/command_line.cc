#include "server/main/command_line.h"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace server::main {

std::optional<std::string> ReadFileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return text.str();
}

fhir::Result<CommandLine> CommandLine::Parse(const std::vector<std::string>& args,
                                             const std::set<std::string, std::less<>>& flags,
                                             const std::set<std::string, std::less<>>& valued) {
  CommandLine out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      out.positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    if (flags.count(name) != 0) {
      if (value.has_value()) {
        return fhir::Error::Invalid("cli.flag-value", "--" + name + " takes no value");
      }
      out.flags_.insert(name);
    } else if (valued.count(name) != 0) {
      if (!value.has_value()) {
        if (i + 1 >= args.size()) {
          return fhir::Error::Invalid("cli.missing-value", "--" + name + " needs a value");
        }
        value = args[++i];
      }
      out.values_[name].push_back(*value);
    } else {
      return fhir::Error::Invalid("cli.unknown-option", "unknown option --" + name);
    }
  }
  return out;
}

bool CommandLine::Has(std::string_view flag) const { return flags_.count(flag) != 0; }

std::optional<std::string> CommandLine::Get(std::string_view name) const {
  if (auto it = values_.find(name); it != values_.end()) return it->second.back();
  return std::nullopt;
}

std::optional<std::string> CommandLine::GetOrEnv(std::string_view name) const {
  if (auto value = Get(name)) return value;
  std::string env = "FHIRHUB_";
  for (char c : name) env += c == '-' ? '_' : static_cast<char>(std::toupper(c));
  if (const char* value = std::getenv(env.c_str()); value != nullptr && *value != '\0') {
    return std::string(value);
  }
  return std::nullopt;
}

std::vector<std::string> CommandLine::GetAll(std::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>() : it->second;
}

}  // namespace server::main
