// Test support: runs the real fhirhub binary as a child process (`fhirhub serve --port 0 ...`)
// with its embedded PostgreSQL, learns its URL from the line it prints, and stops it with SIGTERM.
//
// By default the data directory is a fresh temporary one, removed when the server stops. OnDataDir
// runs the server on a directory the test chooses and keeps, so that a test can kill the server
// (Kill: SIGKILL, nothing cleaned up) and start another one on the same data, as after a crash.
#ifndef TESTS_SUPPORT_SERVER_PROCESS_H_
#define TESTS_SUPPORT_SERVER_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace testing_support {

class ServerProcess {
 public:
  // Starts `binary serve --port 0` plus `extra_args` on a fresh temporary data directory; waits
  // (up to a minute) for the line that announces the URL. Check ok() before use.
  ServerProcess(const std::string& binary, const std::vector<std::string>& extra_args = {});
  // The same on `data_dir`, which belongs to the caller: it is created if missing and never
  // removed, whether the server stops or is killed. Keep its path short (under /tmp): the
  // cluster's socket path must stay within 107 bytes.
  static std::unique_ptr<ServerProcess> OnDataDir(const std::string& binary,
                                                  const std::string& data_dir,
                                                  const std::vector<std::string>& extra_args = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  bool ok() const { return pid_ > 0 && port_ != 0; }
  int port() const { return port_; }
  // "http://127.0.0.1:<port>/fhir"
  const std::string& base_url() const { return base_url_; }
  // The MLLP listener's port when the server was started with --mllp-port (0 picks a free one:
  // the server announces the port it bound); 0 otherwise.
  int mllp_port() const { return mllp_port_; }
  const std::string& data_dir() const { return data_dir_; }
  // The fhirhub process, or -1 once stopped or killed.
  pid_t pid() const { return pid_; }
  // Sends SIGTERM and waits; returns the exit status (or -1 when killed by a signal). Removes the
  // data directory unless the caller owns it.
  int Stop();
  // Sends SIGKILL and waits for the process, like a crash: fhirhub cleans nothing up, and its
  // PostgreSQL is left to notice on its own. The data directory is kept even when temporary,
  // until Stop or destruction.
  void Kill();

 private:
  ServerProcess(const std::string& binary, const std::string& data_dir, bool owns_data_dir,
                const std::vector<std::string>& extra_args);
  void Launch(const std::string& binary, const std::vector<std::string>& extra_args);

  pid_t pid_ = -1;
  std::string data_dir_;
  bool owns_data_dir_ = true;
  int port_ = 0;
  int mllp_port_ = 0;
  std::string base_url_;
};

// Runs `command` through the shell (stderr joined to stdout); returns its exit status (-1 when it
// did not exit normally) and sets `output` to what it printed.
int RunCommand(const std::string& command, std::string& output);

}  // namespace testing_support

#endif  // TESTS_SUPPORT_SERVER_PROCESS_H_
