#pragma once
// systemd integration through libsystemd: sockets passed by socket activation,
// readiness/status/watchdog notifications, and service credentials. Outside
// systemd every function is a harmless no-op, so the daemon runs the same way
// from a shell.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace okxvault::systemd {

struct ListenSocket {
  int fd = -1;
  std::string name;  // FileDescriptorName= of the socket unit
};

// Listening AF_UNIX stream sockets passed by systemd (LISTEN_FDS), with their
// names; empty when not socket-activated. Throws if a passed descriptor is not
// a listening Unix stream socket.
std::vector<ListenSocket> activated_sockets();

// sd_notify; ignored when NOTIFY_SOCKET is unset.
void notify(std::string_view state);

// The watchdog period requested by the service manager (WATCHDOG_USEC), if any.
std::optional<std::chrono::microseconds> watchdog_period();

// $CREDENTIALS_DIRECTORY/name, if the service manager passed that credential.
std::optional<std::filesystem::path> credential(std::string_view name);

}  // namespace okxvault::systemd
