#include "tests/support/server_process.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <regex>

namespace testing_support {

ServerProcess::ServerProcess(const std::string& binary, const std::vector<std::string>& extra) {
  // Short, under /tmp: the cluster's socket path must stay within 107 bytes.
  char dir[] = "/tmp/fhirhub-e2e-XXXXXX";
  if (mkdtemp(dir) == nullptr) return;
  data_dir_ = dir;
  Launch(binary, extra);
}

ServerProcess::ServerProcess(const std::string& binary, const std::string& data_dir,
                             bool owns_data_dir, const std::vector<std::string>& extra)
    : data_dir_(data_dir), owns_data_dir_(owns_data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir_, ec);
  if (ec) return;
  Launch(binary, extra);
}

std::unique_ptr<ServerProcess> ServerProcess::OnDataDir(const std::string& binary,
                                                        const std::string& data_dir,
                                                        const std::vector<std::string>& extra) {
  return std::unique_ptr<ServerProcess>(new ServerProcess(binary, data_dir, false, extra));
}

void ServerProcess::Launch(const std::string& binary, const std::vector<std::string>& extra) {
  int out[2];
  if (pipe(out) != 0) return;
  std::vector<std::string> args = {binary, "serve", "--port", "0", "--data-dir", data_dir_};
  // Without an --auth of their own, tests run the server without authentication.
  if (std::find(extra.begin(), extra.end(), "--auth") == extra.end()) {
    args.insert(args.end(), {"--auth", "off"});
  }
  args.insert(args.end(), extra.begin(), extra.end());
  pid_ = fork();
  if (pid_ == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  // Read until the announcement line: "... serving FHIR R4 at http(s)://host:port/fhir".
  std::string seen;
  const std::regex url(R"((https?://[^:\s]+:(\d+)/\S*))");
  // Announced before the HTTP URL when the MLLP listener runs.
  const std::regex mllp(R"(mllp://[^:\s]+:(\d+))");
  for (int waited_ms = 0; waited_ms < 60000 && port_ == 0;) {
    pollfd p{out[0], POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) {
      waited_ms += 100;
      continue;
    }
    char buffer[512];
    ssize_t n = read(out[0], buffer, sizeof buffer);
    if (n <= 0) break;
    seen.append(buffer, static_cast<size_t>(n));
    std::smatch m;
    if (std::regex_search(seen, m, url)) {
      base_url_ = m[1];
      port_ = std::stoi(m[2]);
      if (std::regex_search(seen, m, mllp)) mllp_port_ = std::stoi(m[1]);
    }
  }
  close(out[0]);
}

ServerProcess::~ServerProcess() { Stop(); }

int ServerProcess::Stop() {
  int exit_code = -1;
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    if (WIFEXITED(status)) exit_code = WEXITSTATUS(status);
    pid_ = -1;
  }
  if (owns_data_dir_ && !data_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(data_dir_, ignored);
    data_dir_.clear();
  }
  return exit_code;
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  port_ = 0;
  mllp_port_ = 0;
}

int RunCommand(const std::string& command, std::string& output) {
  output.clear();
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[512];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  const int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace testing_support
