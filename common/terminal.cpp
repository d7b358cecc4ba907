#include "common/terminal.hpp"

#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <iostream>
#include <string>

#include "common/error.hpp"

namespace okxvault {
namespace {

// Longer than any secret or passphrase the daemon accepts, so its own message
// explains a value that is too long; this only bounds what we hold in memory.
constexpr std::size_t kMaxLineBytes = 4096;

// The signal handler needs the terminal state without taking locks: plain
// globals, written before the handlers are installed and after they are removed.
int g_tty_fd = -1;
termios g_saved{};
termios g_quiet{};

constexpr int kFatalSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
constexpr int kStopSignals[] = {SIGTSTP, SIGTTIN, SIGTTOU};

void on_signal(int signal);

void install(int signal, struct sigaction* old) {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(signal, &action, old);
}

// A terminal must never be left without echo: restore it, then let the signal
// do what it would have done. A stop (Ctrl-Z) turns echo back on while stopped
// and off again on resume, as readpassphrase(3) does.
void on_signal(int signal) {
  const int saved_errno = errno;
  ::tcsetattr(g_tty_fd, TCSAFLUSH, &g_saved);
  struct sigaction fallback {};
  fallback.sa_handler = SIG_DFL;
  sigemptyset(&fallback.sa_mask);
  ::sigaction(signal, &fallback, nullptr);
  sigset_t unblock;
  sigemptyset(&unblock);
  sigaddset(&unblock, signal);
  ::sigprocmask(SIG_UNBLOCK, &unblock, nullptr);
  ::raise(signal);
  // Only a stop signal returns here, once the process was continued.
  install(signal, nullptr);
  ::tcsetattr(g_tty_fd, TCSAFLUSH, &g_quiet);
  errno = saved_errno;
}

// Echo off for its lifetime, restored on every way out: return, exception or signal.
class EchoOff {
 public:
  explicit EchoOff(int fd) {
    if (::tcgetattr(fd, &g_saved) != 0) throw Error(Code::internal, "cannot read the terminal settings");
    g_quiet = g_saved;
    g_quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    g_tty_fd = fd;
    std::size_t i = 0;
    for (int s : kFatalSignals) install(s, &old_[i++]);
    for (int s : kStopSignals) install(s, &old_[i++]);
    if (::tcsetattr(fd, TCSAFLUSH, &g_quiet) != 0) {
      restore_handlers();
      throw Error(Code::internal, "cannot turn off terminal echo");
    }
  }
  ~EchoOff() {
    ::tcsetattr(g_tty_fd, TCSAFLUSH, &g_saved);
    restore_handlers();
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  void restore_handlers() {
    std::size_t i = 0;
    for (int s : kFatalSignals) ::sigaction(s, &old_[i++], nullptr);
    for (int s : kStopSignals) ::sigaction(s, &old_[i++], nullptr);
    g_tty_fd = -1;
  }

  struct sigaction old_[std::size(kFatalSignals) + std::size(kStopSignals)]{};
};

// Reads up to a newline with read(2), one byte at a time, so nothing beyond the
// line is buffered in ordinary memory and the next line stays in stdin.
SecretBytes read_line(int fd, std::string_view what) {
  SecretBytes buffer(kMaxLineBytes);
  std::size_t size = 0;
  bool ended = false;
  for (;;) {
    unsigned char c = 0;
    const ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(Code::internal, "cannot read stdin");
    if (n == 0) {
      ended = true;
      break;
    }
    if (c == '\n') break;
    if (size == buffer.size()) {
      throw Error(Code::bad_request, std::string(what) + " is longer than " + std::to_string(kMaxLineBytes) + " bytes");
    }
    buffer.data()[size++] = c;
  }
  if (ended && size == 0) throw Error(Code::bad_request, "stdin ended before the " + std::string(what));
  if (size > 0 && buffer.data()[size - 1] == '\r') --size;
  return SecretBytes::copy_of(std::span<const unsigned char>(buffer.data(), size));
}

}  // namespace

bool stdin_is_terminal() { return ::isatty(STDIN_FILENO) == 1; }

SecretBytes read_secret_line(std::string_view prompt, std::string_view what) {
  if (!stdin_is_terminal()) return read_line(STDIN_FILENO, what);
  std::cerr << prompt << std::flush;
  SecretBytes line;
  try {
    EchoOff quiet(STDIN_FILENO);
    line = read_line(STDIN_FILENO, what);
  } catch (...) {
    std::cerr << '\n';
    throw;
  }
  std::cerr << '\n';  // the Enter the user typed was not echoed
  return line;
}

SecretBytes read_new_secret_line(std::string_view prompt, std::string_view what) {
  SecretBytes first = read_secret_line(prompt, what);
  if (!stdin_is_terminal()) return first;
  const SecretBytes second = read_secret_line("Repeat " + std::string(what) + ": ", what);
  if (!first.equals(second.bytes())) throw Error(Code::bad_request, "the two " + std::string(what) + "s differ");
  return first;
}

bool confirm(std::string_view question) {
  std::cerr << question << " [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  std::transform(answer.begin(), answer.end(), answer.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return answer == "y" || answer == "yes";
}

}  // namespace okxvault
