#pragma once
// Running another program (curl) from the CLI: what it reads on stdin comes
// from a pipe, so that nothing it must not show in /proc/PID/cmdline goes in
// its arguments.

#include <string>
#include <string_view>
#include <vector>

namespace okxvault::cli {

// Runs argv[0], found on PATH, with `input` on its stdin (a pipe, closed after
// `input`), and waits for it. Returns its exit status, or 128 + the signal that
// ended it. While it runs, SIGINT and SIGQUIT are left to it (as system() does).
// Throws Error(internal) if it cannot be started, naming the program.
int run_with_input(const std::vector<std::string>& argv, std::string_view input);

}  // namespace okxvault::cli
