#pragma once
// Test support: temp directories and real child processes (the daemon, the CLI).
// Nothing here imitates okx-vault; it only starts the real binaries.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace okxvault::test {

// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, const std::string& bytes);

struct Output {
  int exit_code = -1;  // 128 + signal if killed by a signal
  std::string out;
  std::string err;
};

// Runs a program to completion with the given stdin text and environment additions.
Output run(const std::vector<std::string>& argv, const std::string& input = {},
           const std::vector<std::string>& env = {});

// A system user (no home, no login shell) that exists and is in each of `groups`,
// which are created if missing. Needs root.
void ensure_system_user(const std::string& user, const std::vector<std::string>& groups);

// One HTTP request to the daemon at `socket`, sent by curl under `user`'s own
// uid, gid and groups, so that the daemon learns who it is from SO_PEERCRED only.
// With `groups`, the process holds exactly those supplementary groups instead of
// the ones the group database gives `user` (as in a container given --group-add).
struct CurlReply {
  int status = 0;
  std::string body;
};
CurlReply curl_as(const std::string& user, const std::filesystem::path& socket, const std::string& method,
                  const std::string& target, const std::string& body = {},
                  const std::optional<std::vector<std::string>>& groups = std::nullopt);

// A program running in the background, stdout and stderr appended to `log`,
// stdin from /dev/null. Killed (SIGKILL) if still running when destroyed.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const std::filesystem::path& log,
          const std::vector<std::string>& env = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Sends the signal and waits; returns the exit code (128 + signal if killed).
  // A process still running after a minute is killed (SIGKILL, so 137).
  int stop(int signal = 15);
  // The exit code if it has exited (reaping it), else nullopt.
  std::optional<int> exited();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// Whether something accepts connections on the Unix socket at `path`.
bool can_connect(const std::filesystem::path& path);

// The daemon binary and the CLI binary built with these tests.
std::string daemon_binary();
std::string cli_binary();

// A running okx-vaultd on a socket in `dir`, its stderr captured to dir/daemon.log;
// with two I/O threads unless `extra_args` says --threads.
class Daemon {
 public:
  // Initializes a vault in dir/state (unless it exists), then starts the daemon.
  explicit Daemon(const std::filesystem::path& dir, std::vector<std::string> extra_args = {});
  ~Daemon();  // SIGKILL if still running
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Starts the daemon; throws if it does not listen within a few seconds.
  void start();
  // Sends the signal and waits for exit; returns the exit code.
  int stop(int signal = 15);
  bool running() const { return process_ != nullptr; }
  pid_t pid() const { return process_ ? process_->pid() : -1; }

  const std::filesystem::path& socket() const { return socket_; }
  const std::filesystem::path& state_dir() const { return state_dir_; }
  std::filesystem::path store_file() const { return state_dir_ / "vault.store"; }
  std::filesystem::path key_file() const { return state_dir_ / "master.key"; }
  // Everything the daemon has written to stderr so far, across restarts.
  std::string log() const;
  // The arguments every invocation of this daemon gets (state dir, socket, ...).
  std::vector<std::string> args() const;

 private:
  std::filesystem::path dir_, socket_, state_dir_, log_;
  std::vector<std::string> extra_args_;
  std::unique_ptr<Process> process_;
};

}  // namespace okxvault::test
