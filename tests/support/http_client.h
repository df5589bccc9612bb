// Test support: one HTTP exchange with a server on loopback, through Poco's real HTTP client.
#ifndef TESTS_SUPPORT_HTTP_CLIENT_H_
#define TESTS_SUPPORT_HTTP_CLIENT_H_

#include <map>
#include <string>

namespace testing_support {

struct Answer {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  // The header's value, or "" when absent; `name` in lower case.
  std::string Header(const std::string& name) const;
};

// Sends `method uri` to 127.0.0.1:port with `headers`, and `body` (with `content_type`) when
// not empty; returns the whole answer.
Answer Call(int port, const std::string& method, const std::string& uri,
            const std::string& body = "", const std::string& content_type = "application/fhir+json",
            const std::map<std::string, std::string>& headers = {});

}  // namespace testing_support

#endif  // TESTS_SUPPORT_HTTP_CLIENT_H_
