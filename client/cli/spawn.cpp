#include "client/cli/spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"

extern char** environ;

namespace okxvault::cli {
namespace {

// Restores a signal's disposition when it goes out of scope.
class SignalDisposition {
 public:
  SignalDisposition(int signal, void (*handler)(int)) : signal_(signal) {
    struct sigaction next {};
    next.sa_handler = handler;
    ::sigemptyset(&next.sa_mask);
    ::sigaction(signal, &next, &previous_);
  }
  ~SignalDisposition() { ::sigaction(signal_, &previous_, nullptr); }
  SignalDisposition(const SignalDisposition&) = delete;
  SignalDisposition& operator=(const SignalDisposition&) = delete;

 private:
  int signal_;
  struct sigaction previous_ {};
};

class FileActions {
 public:
  FileActions() { ::posix_spawn_file_actions_init(&actions_); }
  ~FileActions() { ::posix_spawn_file_actions_destroy(&actions_); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
  posix_spawn_file_actions_t* get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_{};
};

class SpawnAttributes {
 public:
  SpawnAttributes() { ::posix_spawnattr_init(&attributes_); }
  ~SpawnAttributes() { ::posix_spawnattr_destroy(&attributes_); }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
  posix_spawnattr_t* get() { return &attributes_; }

 private:
  posix_spawnattr_t attributes_{};
};

}  // namespace

int run_with_input(const std::vector<std::string>& argv, std::string_view input) {
  const std::string& program = argv.at(0);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    throw Error(Code::internal, "cannot run " + program + ": " + std::strerror(errno));
  }
  // A stdin that was closed would have made the read end fd 0, which dup2 leaves close-on-exec.
  if (pipe_fds[0] == STDIN_FILENO) {
    const int moved = ::fcntl(pipe_fds[0], F_DUPFD_CLOEXEC, 3);
    ::close(pipe_fds[0]);
    pipe_fds[0] = moved;
  }
  FileActions actions;
  ::posix_spawn_file_actions_adddup2(actions.get(), pipe_fds[0], STDIN_FILENO);
  // The child gets the default SIGPIPE, SIGINT and SIGQUIT whatever this process has.
  SpawnAttributes attributes;
  sigset_t defaults;
  ::sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGINT, SIGQUIT}) ::sigaddset(&defaults, s);
  ::posix_spawnattr_setsigdefault(attributes.get(), &defaults);
  ::posix_spawnattr_setflags(attributes.get(), POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> c_argv;
  c_argv.reserve(argv.size() + 1);
  for (const std::string& arg : argv) c_argv.push_back(const_cast<char*>(arg.c_str()));
  c_argv.push_back(nullptr);

  // A program that exits before it read everything must not kill this one with SIGPIPE.
  const SignalDisposition pipe(SIGPIPE, SIG_IGN);
  const SignalDisposition interrupt(SIGINT, SIG_IGN);
  const SignalDisposition quit(SIGQUIT, SIG_IGN);
  pid_t pid = -1;
  const int spawned = ::posix_spawnp(&pid, program.c_str(), actions.get(), attributes.get(), c_argv.data(), environ);
  ::close(pipe_fds[0]);
  if (spawned != 0) {
    ::close(pipe_fds[1]);
    throw Error(Code::internal, "cannot run " + program + ": " + std::strerror(spawned));
  }
  std::size_t written = 0;
  while (written < input.size()) {
    const ssize_t n = ::write(pipe_fds[1], input.data() + written, input.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // it closed its stdin: what it read is all it gets
    written += static_cast<std::size_t>(n);
  }
  ::close(pipe_fds[1]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw Error(Code::internal, "lost " + program + ": " + std::strerror(errno));
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

}  // namespace okxvault::cli
