#include "server/main/command_line.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace server::main {
namespace {

TEST(CommandLineTest, ParsesValuesFlagsAndPositionals) {
  auto cl = CommandLine::Parse({"--to", "xml", "--pretty", "in.json", "--port=9090"}, {"pretty"},
                               {"to", "port"});
  ASSERT_TRUE(cl.ok());
  EXPECT_EQ(cl->Get("to"), "xml");
  EXPECT_EQ(cl->Get("port"), "9090");
  EXPECT_TRUE(cl->Has("pretty"));
  EXPECT_EQ(cl->positional(), std::vector<std::string>{"in.json"});
}

TEST(CommandLineTest, KeepsEveryValueOfARepeatedOption) {
  auto cl = CommandLine::Parse({"--var", "a=1", "--var=b=2", "expr"}, {}, {"var"});
  ASSERT_TRUE(cl.ok());
  EXPECT_EQ(cl->GetAll("var"), (std::vector<std::string>{"a=1", "b=2"}));
  EXPECT_EQ(cl->Get("var"), "b=2");
  EXPECT_TRUE(cl->GetAll("other").empty());
}

TEST(CommandLineTest, RejectsUnknownAndIncompleteOptions) {
  EXPECT_EQ(CommandLine::Parse({"--nope"}, {}, {}).error().message_id(), "cli.unknown-option");
  EXPECT_EQ(CommandLine::Parse({"--to"}, {}, {"to"}).error().message_id(), "cli.missing-value");
  EXPECT_EQ(CommandLine::Parse({"--pretty=1"}, {"pretty"}, {}).error().message_id(),
            "cli.flag-value");
}

TEST(CommandLineTest, FallsBackToEnvironment) {
  ::setenv("FHIRHUB_FHIR_PACKAGE", "/tmp/pkg.tgz", 1);
  auto cl = CommandLine::Parse({}, {}, {"fhir-package"});
  ASSERT_TRUE(cl.ok());
  EXPECT_EQ(cl->GetOrEnv("fhir-package"), "/tmp/pkg.tgz");
  EXPECT_EQ(cl->Get("fhir-package"), std::nullopt);
  auto flag_wins = CommandLine::Parse({"--fhir-package", "/x"}, {}, {"fhir-package"});
  EXPECT_EQ(flag_wins->GetOrEnv("fhir-package"), "/x");
  ::unsetenv("FHIRHUB_FHIR_PACKAGE");
}

}  // namespace
}  // namespace server::main
