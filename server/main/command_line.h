// The `fhirhub` command line: subcommands and their options. Options are `--name value`,
// `--name=value` or bare flags; the rest are positional arguments. A valued option may repeat.
// Configuration options (serve's, --database-url, --data-dir and --fhir-package) can also come from
// the environment as FHIRHUB_<NAME> (upper case, '-' as '_'), the flag winning: see GetOrEnv.
#ifndef SERVER_MAIN_COMMAND_LINE_H_
#define SERVER_MAIN_COMMAND_LINE_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/result.h"

namespace server::main {

class CommandLine {
 public:
  // `flags` are the options that take no value; `valued` those that take one. Unknown options
  // are an error.
  static fhir::Result<CommandLine> Parse(const std::vector<std::string>& args,
                                         const std::set<std::string, std::less<>>& flags,
                                         const std::set<std::string, std::less<>>& valued);

  bool Has(std::string_view flag) const;
  // The option's (last) value from the command line, or nullopt.
  std::optional<std::string> Get(std::string_view name) const;
  // The option's value from the command line, else from FHIRHUB_<NAME>, else nullopt.
  std::optional<std::string> GetOrEnv(std::string_view name) const;
  // Every value a repeated option was given on the command line, in order.
  std::vector<std::string> GetAll(std::string_view name) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::set<std::string, std::less<>> flags_;
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::vector<std::string> positional_;
};

// The whole content of the file at `path` (a key, a JWKS, a mapping file named by an option), or
// nullopt when it cannot be read.
std::optional<std::string> ReadFileText(const std::string& path);

// The subcommands, each returning the process exit code.
int RunServe(const std::vector<std::string>& args);
int RunConvert(const std::vector<std::string>& args);
int RunFhirpath(const std::vector<std::string>& args);
int RunMigrate(const std::vector<std::string>& args);
int RunReindex(const std::vector<std::string>& args);
int RunToken(const std::vector<std::string>& args);
int RunAudit(const std::vector<std::string>& args);
int RunConnectors(const std::vector<std::string>& args);
int RunHl7(const std::vector<std::string>& args);
// `fhirhub hl7 send`, dispatched by RunHl7.
int RunHl7Send(const std::vector<std::string>& args);

}  // namespace server::main

#endif  // SERVER_MAIN_COMMAND_LINE_H_
