#include "server/store/pg/embedded_cluster.h"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "server/store/pg/connection.h"

namespace server::store::pg {
namespace {

namespace fs = std::filesystem;

// The port only names the socket file (.s.PGSQL.<port>) inside the private socket directory.
constexpr int kPort = 5432;
constexpr std::string_view kSuperuser = "postgres";
// sun_path holds 108 bytes including the terminating NUL.
constexpr std::size_t kMaxSocketPath = 107;
constexpr auto kPollInterval = std::chrono::milliseconds(20);
constexpr auto kStopTimeout = std::chrono::seconds(60);

// A conninfo value in single quotes, so paths with spaces survive.
std::string Quote(std::string_view value) {
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "'";
}

fhir::Error ClusterError(const std::string& text) {
  return fhir::Error::Internal("store.embedded-cluster", "embedded PostgreSQL: " + text);
}

// Who runs initdb and postgres: ourselves, or (as root) the unprivileged system user.
struct Identity {
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

fhir::Result<Identity> ResolveIdentity(const std::string& user) {
  Identity identity;
  if (geteuid() != 0) return identity;
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 ||
      found == nullptr) {
    return ClusterError("running as root needs the system user '" + user +
                        "' to run PostgreSQL, and it does not exist");
  }
  identity.switch_user = true;
  identity.uid = found->pw_uid;
  identity.gid = found->pw_gid;
  return identity;
}

fhir::Result<fs::path> FindBinDir(const fs::path& configured) {
  if (!configured.empty()) return configured;
  fs::path best;
  int best_major = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    int major = std::atoi(entry.path().filename().c_str());
    if (major > best_major && fs::exists(entry.path() / "bin" / "postgres")) {
      best_major = major;
      best = entry.path() / "bin";
    }
  }
  if (best.empty()) return ClusterError("no PostgreSQL binaries in /usr/lib/postgresql/*/bin");
  return best;
}

bool ValidName(std::string_view name) {
  return !name.empty() && name.size() < 64 && !(name[0] >= '0' && name[0] <= '9') &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
         });
}

std::string LogTail(const fs::path& log) {
  std::ifstream in(log);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(std::move(line));
    if (lines.size() > 8) lines.erase(lines.begin());
  }
  std::string tail;
  for (const std::string& line : lines) tail += "\n  " + line;
  return tail.empty() ? std::string() : " (" + log.string() + ":" + tail + ")";
}

// Forks and execs argv[0] with output appended to `log`, as `identity`. With `die_with_parent`,
// the child gets SIGINT (a fast shutdown for postgres) when the calling thread ends, which for the
// thread that runs the server is when the process dies, even by SIGKILL. That works because
// argv[0] is the postmaster itself: a launcher such as pg_ctl daemonizes it, and the signal would
// then be tied to the short-lived launcher. Everything the child needs is prepared before fork:
// after it, only async-signal-safe calls.
fhir::Result<pid_t> Spawn(const std::vector<std::string>& args, const fs::path& log,
                          const Identity& identity, bool die_with_parent) {
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::string log_path = log.string();
  sigset_t no_signals;
  sigemptyset(&no_signals);
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return ClusterError(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    if (identity.switch_user) {
      if (setgroups(0, nullptr) != 0 || setgid(identity.gid) != 0 || setuid(identity.uid) != 0) {
        _exit(126);
      }
    }
    // Set after the credential change, which would clear it.
    if (die_with_parent) {
      prctl(PR_SET_PDEATHSIG, SIGINT);
      // The parent may have died before the request took effect; then no signal will come.
      if (getppid() != parent) _exit(125);
    }
    int null_fd = open("/dev/null", O_RDONLY);
    int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (null_fd < 0 || log_fd < 0) _exit(126);
    dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    // Not the server's listening sockets or files: a cluster that outlives the server must not
    // keep its port bound. And not the signal mask the server set up for its own threads.
    close_range(3, ~0U, 0);
    sigprocmask(SIG_SETMASK, &no_signals, nullptr);
    // Its own process group, so a terminal's Ctrl-C reaches the server, which then stops the
    // cluster in order, rather than both at once.
    setpgid(0, 0);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

fhir::Result<void> RunToCompletion(const std::vector<std::string>& args, const fs::path& log,
                                   const Identity& identity) {
  auto pid = Spawn(args, log, identity, false);
  if (!pid.ok()) return std::move(pid).error();
  int status = 0;
  while (waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return ClusterError(fs::path(args[0]).filename().string() + " failed" + LogTail(log));
  }
  return {};
}

fhir::Result<void> MakeOwnedDirectory(const fs::path& dir, const Identity& identity) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return ClusterError("cannot create " + dir.string() + ": " + ec.message());
  if (chmod(dir.c_str(), 0700) != 0) {
    return ClusterError("cannot chmod " + dir.string() + ": " + std::strerror(errno));
  }
  if (identity.switch_user && chown(dir.c_str(), identity.uid, identity.gid) != 0) {
    return ClusterError("cannot chown " + dir.string() + ": " + std::strerror(errno));
  }
  return {};
}

// The process id on the first line of a postmaster.pid lock file, or -1.
pid_t LockFilePid(const fs::path& lock_file) {
  std::ifstream in(lock_file);
  long pid = -1;
  if (!(in >> pid) || pid <= 0) return -1;
  return static_cast<pid_t>(pid);
}

bool SameFile(const char* a, const char* b) {
  struct stat first {};
  struct stat second {};
  return stat(a, &first) == 0 && stat(b, &second) == 0 && first.st_dev == second.st_dev &&
         first.st_ino == second.st_ino;
}

// The command name of /proc/<process> (the executable's name, at most 15 bytes), or "".
std::string CommandName(const std::string& process) {
  std::ifstream comm("/proc/" + process + "/comm");
  std::string name;
  std::getline(comm, name);
  return name;
}

// Whether `pid` is a live PostgreSQL process working on `pgdata`: the postmaster or a process it
// forked. All of them run the postgres executable with the data directory as working directory
// (the postmaster changes into it before it writes its lock file). A zombie has no working
// directory any more, and a process id reused by another program fails the first test.
bool IsPostgresOn(pid_t pid, const fs::path& pgdata) {
  const std::string name = CommandName(std::to_string(pid));
  if (name != "postgres" && name != "postmaster") return false;
  return SameFile(("/proc/" + std::to_string(pid) + "/cwd").c_str(), pgdata.c_str());
}

// Whether `pid` runs this same program: the same executable file, or one of the same name (the
// file may have been replaced by an upgrade since that process started).
bool RunsThisProgram(pid_t pid) {
  const std::string proc = "/proc/" + std::to_string(pid);
  return SameFile((proc + "/exe").c_str(), "/proc/self/exe") ||
         CommandName(std::to_string(pid)) == CommandName("self");
}

// Every live PostgreSQL process working on `pgdata`.
std::vector<pid_t> PostgresProcessesOn(const fs::path& pgdata) {
  std::vector<pid_t> found;
  std::error_code ec;
  for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() ||
        !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    const pid_t pid = static_cast<pid_t>(std::atol(name.c_str()));
    if (IsPostgresOn(pid, pgdata)) found.push_back(pid);
  }
  return found;
}

// The parent of `pid` (the fourth field of /proc/<pid>/stat, after the parenthesised command
// name, which may itself hold spaces and parentheses), or -1.
pid_t ParentOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t end = stat.rfind(')');
  if (end == std::string::npos) return -1;
  std::istringstream fields(stat.substr(end + 1));
  char state = 0;
  long parent = -1;
  if (!(fields >> state >> parent)) return -1;
  return static_cast<pid_t>(parent);
}

bool WaitUntil(const std::function<bool()>& done, std::chrono::steady_clock::duration timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(kPollInterval);
  }
  return true;
}

// Makes way for a new postmaster on `pgdata` when the previous owner of the cluster died without
// stopping it (killed, or the machine went down).
//
// - A postmaster still running on the directory gets a fast shutdown, and we wait until it is
//   gone: its clients died with its owner, so rolling back their open transactions loses nothing
//   that was acknowledged, and committed data is kept. It may be shutting down already, on the
//   SIGINT its parent's death sent. If its parent is a live process of this same program, it is
//   another server's database: refused rather than stopped.
// - Processes of a postmaster that was killed outright stay behind until they notice; while any
//   holds the old shared memory, PostgreSQL refuses to start. They get SIGQUIT, as the postmaster
//   sends its children after a crash.
// - A lock file (the data directory's postmaster.pid, or `socket_lock_file`, which PostgreSQL
//   keeps beside its socket) that names a live process which is not PostgreSQL on this directory
//   (the id was reused, or is a zombie nobody reaped) would make PostgreSQL believe a server is
//   running: it is removed. When the named process is gone, PostgreSQL itself ignores the file.
//
// The new postmaster then replays the WAL as after any crash: every committed transaction is
// there, and no uncommitted one.
fhir::Result<void> ClearLeftovers(const fs::path& pgdata, const fs::path& socket_lock_file) {
  const fs::path lock_file = pgdata / "postmaster.pid";
  const pid_t postmaster = LockFilePid(lock_file);
  const auto postmaster_gone = [&] { return !IsPostgresOn(postmaster, pgdata); };
  if (postmaster > 0 && IsPostgresOn(postmaster, pgdata)) {
    const pid_t owner = ParentOf(postmaster);
    if (owner > 1 && RunsThisProgram(owner)) {
      return ClusterError(pgdata.string() + " is in use by the PostgreSQL (pid " +
                          std::to_string(postmaster) + ") of another server (pid " +
                          std::to_string(owner) + ")");
    }
    if (kill(postmaster, SIGINT) != 0 && errno != ESRCH) {
      return ClusterError("cannot stop the PostgreSQL (pid " + std::to_string(postmaster) +
                          ") left running on " + pgdata.string() + ": " + std::strerror(errno));
    }
    if (!WaitUntil(postmaster_gone, kStopTimeout)) {
      kill(postmaster, SIGQUIT);
      if (!WaitUntil(postmaster_gone, kStopTimeout)) {
        return ClusterError("the PostgreSQL (pid " + std::to_string(postmaster) +
                            ") left running on " + pgdata.string() + " does not stop");
      }
    }
  }
  for (pid_t pid : PostgresProcessesOn(pgdata)) kill(pid, SIGQUIT);
  if (!WaitUntil([&] { return PostgresProcessesOn(pgdata).empty(); }, kStopTimeout)) {
    return ClusterError("processes of an earlier PostgreSQL on " + pgdata.string() +
                        " do not exit");
  }
  // No PostgreSQL runs on the directory now, so a lock file naming a live process is stale.
  for (const fs::path& file : {lock_file, socket_lock_file}) {
    const pid_t named = LockFilePid(file);
    if (named > 0 && (kill(named, 0) == 0 || errno == EPERM)) {
      std::error_code ec;
      fs::remove(file, ec);
      if (ec) return ClusterError("cannot remove the stale " + file.string() + ": " + ec.message());
    }
  }
  return {};
}

}  // namespace

EmbeddedCluster::EmbeddedCluster(EmbeddedClusterOptions options) : options_(std::move(options)) {
  pgdata_ = options_.data_dir / "pgdata";
  socket_dir_ = options_.data_dir / "socket";
  log_ = options_.data_dir / "postgres.log";
}

EmbeddedCluster::~EmbeddedCluster() { (void)Stop(); }

fhir::Result<std::unique_ptr<EmbeddedCluster>> EmbeddedCluster::Start(
    EmbeddedClusterOptions options) {
  if (!ValidName(options.database) || !ValidName(options.role)) {
    return ClusterError("database and role names must be lower-case letters, digits and '_'");
  }
  std::error_code ec;
  options.data_dir = fs::absolute(options.data_dir, ec).lexically_normal();
  if (ec) return ClusterError("bad data directory: " + ec.message());
  std::unique_ptr<EmbeddedCluster> cluster(new EmbeddedCluster(std::move(options)));
  std::string socket_file = (cluster->socket_dir_ / (".s.PGSQL." + std::to_string(kPort))).string();
  if (socket_file.size() > kMaxSocketPath) {
    return ClusterError("the socket path " + socket_file + " is longer than " +
                        std::to_string(kMaxSocketPath) + " bytes; use a shorter data directory");
  }
  if (auto launched = cluster->Launch(); !launched.ok()) return std::move(launched).error();
  if (auto ready = cluster->WaitUntilReady(); !ready.ok()) {
    (void)cluster->Stop();
    return std::move(ready).error();
  }
  if (auto setup = cluster->EnsureDatabase(); !setup.ok()) {
    (void)cluster->Stop();
    return std::move(setup).error();
  }
  return cluster;
}

fhir::Result<void> EmbeddedCluster::Launch() {
  auto identity = ResolveIdentity(options_.system_user);
  if (!identity.ok()) return std::move(identity).error();
  auto bin = FindBinDir(options_.bin_dir);
  if (!bin.ok()) return std::move(bin).error();
  if (auto made = MakeOwnedDirectory(options_.data_dir, *identity); !made.ok()) return made;
  if (auto made = MakeOwnedDirectory(socket_dir_, *identity); !made.ok()) return made;

  const fs::path socket_lock = socket_dir_ / (".s.PGSQL." + std::to_string(kPort) + ".lock");
  if (auto cleared = ClearLeftovers(pgdata_, socket_lock); !cleared.ok()) return cleared;

  if (!fs::exists(pgdata_ / "PG_VERSION")) {
    std::vector<std::string> initdb = {(*bin / "initdb").string(),
                                       "--pgdata=" + pgdata_.string(),
                                       "--username=" + std::string(kSuperuser),
                                       "--auth=trust",
                                       "--encoding=UTF8",
                                       "--locale=C"};
    if (!options_.durable) initdb.push_back("--no-sync");
    if (auto done = RunToCompletion(initdb, log_, *identity); !done.ok()) return done;
  }

  std::vector<std::string> postgres = {(*bin / "postgres").string(),
                                       "-D",
                                       pgdata_.string(),
                                       "-p",
                                       std::to_string(kPort),
                                       "-c",
                                       "listen_addresses=",
                                       "-c",
                                       "unix_socket_directories=" + socket_dir_.string(),
                                       "-c",
                                       "unix_socket_permissions=0700"};
  if (!options_.durable) {
    postgres.insert(postgres.end(), {"-c", "fsync=off", "-c", "full_page_writes=off"});
  }
  auto pid = Spawn(postgres, log_, *identity, true);
  if (!pid.ok()) return std::move(pid).error();
  pid_ = *pid;
  return {};
}

fhir::Result<void> EmbeddedCluster::WaitUntilReady() {
  const std::string conninfo = SuperuserConnectionString();
  const auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
  for (;;) {
    if (PQping(conninfo.c_str()) == PQPING_OK) return {};
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return ClusterError("postgres exited during start-up" + LogTail(log_));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return ClusterError("postgres did not accept connections in time" + LogTail(log_));
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

fhir::Result<void> EmbeddedCluster::EnsureDatabase() {
  auto conn = PgConnection::Connect(SuperuserConnectionString());
  if (!conn.ok()) return std::move(conn).error();
  auto role =
      (*conn)->Exec("cluster_role", "SELECT 1 FROM pg_roles WHERE rolname = $1", {options_.role});
  if (!role.ok()) return std::move(role).error();
  // Names are checked by ValidName, so they are safe as identifiers.
  if (role->rows() == 0) {
    auto created = (*conn)->ExecSimple("CREATE ROLE " + options_.role +
                                       " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE");
    if (!created.ok()) return std::move(created).error();
  }
  auto database = (*conn)->Exec("cluster_database", "SELECT 1 FROM pg_database WHERE datname = $1",
                                {options_.database});
  if (!database.ok()) return std::move(database).error();
  if (database->rows() == 0) {
    auto created =
        (*conn)->ExecSimple("CREATE DATABASE " + options_.database + " OWNER " + options_.role);
    if (!created.ok()) return std::move(created).error();
  }
  return {};
}

fhir::Result<void> EmbeddedCluster::Stop() {
  if (pid_ <= 0) return {};
  pid_t pid = std::exchange(pid_, -1);
  if (kill(pid, SIGINT) != 0) {
    if (errno == ESRCH) return {};
    return ClusterError(std::string("cannot signal postgres: ") + std::strerror(errno));
  }
  const auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
  for (;;) {
    int status = 0;
    const pid_t waited = waitpid(pid, &status, WNOHANG);
    // ECHILD: reaped elsewhere already (a waitpid(-1) in this process, or SIGCHLD ignored).
    if (waited == pid || (waited < 0 && errno == ECHILD)) return {};
    if (std::chrono::steady_clock::now() > deadline) {
      // Immediate shutdown: recovery replays the WAL on the next start, no committed data is lost.
      kill(pid, SIGQUIT);
      waitpid(pid, nullptr, 0);
      return ClusterError("postgres did not stop in time; sent an immediate shutdown");
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

std::string EmbeddedCluster::ConnectionString(std::string_view database) const {
  return "host=" + Quote(socket_dir_.string()) + " port=" + std::to_string(kPort) +
         " dbname=" + Quote(database.empty() ? std::string_view(options_.database) : database) +
         " user=" + Quote(options_.role);
}

std::string EmbeddedCluster::ConnectionStringOf(const EmbeddedClusterOptions& options) {
  return "host=" + Quote((options.data_dir / "socket").string()) +
         " port=" + std::to_string(kPort) + " dbname=" + Quote(options.database) +
         " user=" + Quote(options.role);
}

std::string EmbeddedCluster::SuperuserConnectionString(std::string_view database) const {
  return "host=" + Quote(socket_dir_.string()) + " port=" + std::to_string(kPort) +
         " dbname=" + Quote(database) + " user=" + Quote(kSuperuser);
}

}  // namespace server::store::pg
