// Test support: a gtest suite whose tests share one `fhirhub serve` (FHIRHUB_BINARY, the test
// definitions package, plus the suite's extra arguments), started before the suite's first test
// and stopped after its last, since each server starts its own embedded PostgreSQL.
//
//   class CrudTest : public testing_support::ServerSuite<> {};
//   TEST_F(CrudTest, Reads) { ASSERT_TRUE(server().ok()); Call(Port(), "GET", ...); }
//
// A suite with other server arguments defines `static std::vector<std::string> ServerArgs()`
// in its class and derives from ServerSuite<::testing::Test, ItsClass>.
#ifndef TESTS_SUPPORT_SERVER_SUITE_H_
#define TESTS_SUPPORT_SERVER_SUITE_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/support/server_process.h"
#include "tests/support/test_definitions.h"

namespace testing_support {

struct NoServerArgs {
  static std::vector<std::string> ServerArgs() { return {}; }
};

template <typename Base = ::testing::Test, typename Args = NoServerArgs>
class ServerSuite : public Base {
 protected:
  static void SetUpTestSuite() {
    std::vector<std::string> args = {"--fhir-package", PackageDir().string()};
    for (std::string& arg : Args::ServerArgs()) args.push_back(std::move(arg));
    server_ = std::make_unique<ServerProcess>(FHIRHUB_BINARY, args);
  }
  static void TearDownTestSuite() { server_.reset(); }

  static ServerProcess& server() { return *server_; }
  static int Port() { return server_->port(); }

 private:
  static inline std::unique_ptr<ServerProcess> server_;
};

}  // namespace testing_support

#endif  // TESTS_SUPPORT_SERVER_SUITE_H_
