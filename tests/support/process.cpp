#include "tests/support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace okxvault::test {
namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "okx-vault-test.XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

namespace {

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// The current environment plus `extra` ("NAME=value"; a later entry wins).
std::vector<std::string> environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    bool overridden = false;
    for (const auto& x : extra) overridden |= x.substr(0, x.find('=')) == name;
    if (!overridden) env.push_back(entry);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

bool can_connect(const fs::path& socket_path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

Output run(const std::vector<std::string>& argv, const std::string& input, const std::vector<std::string>& env) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  std::vector<std::string> args = argv;
  std::vector<std::string> envs = environment(env);
  auto c_args = c_strings(args);
  auto c_env = c_strings(envs);
  // A child may exit before it reads its input (a usage error): the feeder's
  // write then fails with EPIPE instead of killing the test with SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::signal(SIGPIPE, SIG_DFL);  // the child runs as it would from a shell
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::execve(c_args[0], c_args.data(), c_env.data());
    _exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  // Feed stdin from a thread so a child that writes a lot before reading cannot deadlock us.
  std::thread feeder([fd = in[1], &input] {
    std::size_t done = 0;
    while (done < input.size()) {
      const ssize_t n = ::write(fd, input.data() + done, input.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
  });
  Output result;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0) {
    ::poll(fds, 2, -1);
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? result.out : result.err).append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  feeder.join();
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = exit_code(status);
  return result;
}

Process::Process(const std::vector<std::string>& argv, const fs::path& log, const std::vector<std::string>& env) {
  std::vector<std::string> args = argv;
  std::vector<std::string> envs = environment(env);
  auto c_args = c_strings(args);
  auto c_env = c_strings(envs);
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  pid_ = ::fork();
  if (pid_ == 0) {
    const int null_fd = ::open("/dev/null", O_RDWR);
    ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::execve(c_args[0], c_args.data(), c_env.data());
    _exit(127);
  }
  ::close(log_fd);
}

Process::~Process() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

int Process::stop(int signal) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signal);
  // A process that ignores the signal fails the test instead of hanging it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid_ = -1;
  return exit_code(status);
}

std::optional<int> Process::exited() {
  if (pid_ <= 0) return std::nullopt;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
  pid_ = -1;
  return exit_code(status);
}

std::string daemon_binary() { return OKXVAULT_DAEMON_BINARY; }
std::string cli_binary() { return OKXVAULT_CLI_BINARY; }

Daemon::Daemon(const fs::path& dir, std::vector<std::string> extra_args)
    : dir_(dir),
      socket_(dir / "okx-vault.sock"),
      state_dir_(dir / "state"),
      log_(dir / "daemon.log"),
      extra_args_(std::move(extra_args)) {
  if (!fs::exists(store_file())) {
    std::vector<std::string> init = {daemon_binary(), "--init"};
    for (auto& a : args()) init.push_back(a);
    const Output out = run(init);
    std::ofstream(log_, std::ios::app) << out.err;
    if (out.exit_code != 0) throw std::runtime_error("okx-vaultd --init failed: " + out.err);
  }
  start();
}

Daemon::~Daemon() = default;

std::vector<std::string> Daemon::args() const {
  std::vector<std::string> a = {"--state-dir", state_dir_.string(), "--socket", socket_.string()};
  if (std::find(extra_args_.begin(), extra_args_.end(), "--threads") == extra_args_.end()) {
    a.insert(a.end(), {"--threads", "2"});
  }
  a.insert(a.end(), extra_args_.begin(), extra_args_.end());
  return a;
}

void Daemon::start() {
  std::vector<std::string> argv = {daemon_binary()};
  for (auto& a : args()) argv.push_back(a);
  process_ = std::make_unique<Process>(argv, log_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!can_connect(socket_)) {
    if (const auto code = process_->exited()) {
      process_.reset();
      throw std::runtime_error("okx-vaultd exited with " + std::to_string(*code) + ": " + log());
    }
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("okx-vaultd did not start: " + log());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int Daemon::stop(int signal) {
  if (!process_) return -1;
  const int code = process_->stop(signal);
  process_.reset();
  return code;
}

std::string Daemon::log() const { return read_file(log_); }

void ensure_system_user(const std::string& user, const std::vector<std::string>& groups) {
  const auto sh = [](const std::string& command) { run({"/bin/sh", "-c", command}); };
  for (const std::string& group : groups) sh("getent group " + group + " || groupadd --system " + group);
  sh("id " + user + " || useradd --system --no-create-home --shell /usr/sbin/nologin " + user);
  for (const std::string& group : groups) sh("usermod -a -G " + group + " " + user);
}

CurlReply curl_as(const std::string& user, const std::filesystem::path& socket, const std::string& method,
                  const std::string& target, const std::string& body,
                  const std::optional<std::vector<std::string>>& groups) {
  std::string group_option = "--init-groups";
  if (groups && groups->empty()) {
    group_option = "--clear-groups";
  } else if (groups) {
    group_option = "--groups=";
    for (const std::string& group : *groups) group_option += (group_option.back() == '=' ? "" : ",") + group;
  }
  std::vector<std::string> argv = {"/usr/bin/setpriv",
                                   "--reuid=" + user,
                                   "--regid=" + user,
                                   group_option,
                                   "/usr/bin/curl",
                                   "-s",
                                   "-X",
                                   method,
                                   "-w",
                                   "\n%{http_code}",
                                   "--unix-socket",
                                   socket.string(),
                                   "http://okx-vault" + target};
  if (!body.empty()) {
    argv.push_back("--data-binary");
    argv.push_back(body);
  }
  const Output out = run(argv);
  const std::size_t newline = out.out.rfind('\n');
  if (newline == std::string::npos) return {0, out.out};
  return {std::stoi(out.out.substr(newline + 1)), out.out.substr(0, newline)};
}

}  // namespace okxvault::test
