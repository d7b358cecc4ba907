#pragma once
// The exit codes of okx-vault, stable for scripts: a caller can tell "retry
// later" (3) from "you may not" (4), "no such key" (5) and "fix your input" (6)
// without parsing messages.

#include <stdexcept>
#include <string>

#include "common/error.hpp"

namespace okxvault::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,  // any other error, including a server error or a declined confirmation
  kExitUsage = 2,
  kExitUnreachable = 3,
  kExitForbidden = 4,
  kExitNotFound = 5,
  kExitInvalidInput = 6,
  kExitLocked = 7,     // the vault is locked: unlock it first
  kExitUntrusted = 8,  // the socket's server or directory is not one to send a secret to
};

// The exit code for an error the daemon or the client library reported.
ExitCode exit_code_for(Code code) noexcept;

// A command line the CLI cannot act on; exits with kExitUsage. The command, if
// known, points the user at its help.
class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& message, std::string command = {})
      : std::runtime_error(message), command_(std::move(command)) {}
  const std::string& command() const noexcept { return command_; }

 private:
  std::string command_;
};

}  // namespace okxvault::cli
