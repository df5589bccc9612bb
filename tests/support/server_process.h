// Test support: runs the real fhirhub binary as a child process (`fhirhub serve --port 0 ...`)
// with its embedded PostgreSQL in a fresh temporary data directory, learns its URL from the line
// it prints, and stops it with SIGTERM (removing the data directory).
#ifndef TESTS_SUPPORT_SERVER_PROCESS_H_
#define TESTS_SUPPORT_SERVER_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace testing_support {

class ServerProcess {
 public:
  // Starts `binary serve --port 0` plus `extra_args`; waits (up to a minute) for the line that
  // announces the URL. Check ok() before use.
  ServerProcess(const std::string& binary, const std::vector<std::string>& extra_args = {});
  ~ServerProcess();

  bool ok() const { return pid_ > 0 && port_ != 0; }
  int port() const { return port_; }
  // "http://127.0.0.1:<port>/fhir"
  const std::string& base_url() const { return base_url_; }
  // Sends SIGTERM and waits; returns the exit status (or -1 when killed by a signal).
  int Stop();

 private:
  pid_t pid_ = -1;
  std::string data_dir_;
  int port_ = 0;
  std::string base_url_;
};

}  // namespace testing_support

#endif  // TESTS_SUPPORT_SERVER_PROCESS_H_
