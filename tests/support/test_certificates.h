// Test support: certificates for TLS tests, made with the openssl command line in a directory.
//
//   ASSERT_EQ(MakeTestAuthorities(dir), "");    // ca.pem/ca.key and other-ca.pem/other-ca.key
//   ASSERT_EQ(IssueTestCertificate(dir, "server", "/CN=localhost", "ca",
//                                  "subjectAltName=DNS:localhost\n"), "");   // server.pem/.key
//
// Keys are ECDSA P-256, certificates valid for 2 days. Each function returns "" when it
// succeeded, else the failed command with its output.
#ifndef TESTS_SUPPORT_TEST_CERTIFICATES_H_
#define TESTS_SUPPORT_TEST_CERTIFICATES_H_

#include <string>

namespace testing_support {

// Two self-signed certificate authorities in `dir`: "ca" and "other-ca".
std::string MakeTestAuthorities(const std::string& dir);

// `name`.pem and `name`.key in `dir`: a certificate for `subject` ("/C=CN/O=.../CN=...") issued
// by the authority `ca` of MakeTestAuthorities, with the openssl extension lines `extensions`.
std::string IssueTestCertificate(const std::string& dir, const std::string& name,
                                 const std::string& subject, const std::string& ca,
                                 const std::string& extensions);

}  // namespace testing_support

#endif  // TESTS_SUPPORT_TEST_CERTIFICATES_H_
