#pragma once
// Reading what must not be echoed or stored: secrets come from a no-echo prompt
// on a terminal, or line by line from stdin when it is a pipe or a file; never
// from argv or the environment, where other users and logs could see them.
// Shared by the CLI and okx-vaultd --init --passphrase.

#include <string_view>

#include "common/secret.hpp"

namespace okxvault {

bool stdin_is_terminal();

// On a terminal: writes the prompt to stderr and reads one line with echo off.
// Otherwise: reads the next line of stdin without a prompt. The line ending
// ("\n" or "\r\n") is dropped. `what` names the value in error messages
// (Error bad_request when stdin ends first or the line is too long).
SecretBytes read_secret_line(std::string_view prompt, std::string_view what);

// A new secret: on a terminal, asked twice and refused (Error bad_request) if
// the two differ; otherwise the next line of stdin.
SecretBytes read_new_secret_line(std::string_view prompt, std::string_view what);

// Asks a yes/no question on the terminal; only "y" or "yes" is a yes.
bool confirm(std::string_view question);

}  // namespace okxvault
