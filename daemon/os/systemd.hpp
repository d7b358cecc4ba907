#pragma once
// systemd integration through libsystemd: sockets passed by socket activation,
// readiness/status/watchdog notifications, and service credentials. Outside
// systemd every function is a harmless no-op, so the daemon runs the same way
// from a shell.

#include <chrono>
#include <cstdint>
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

// The audit log's head (the last written line's number and hash) as the journal
// fields the daemon sends: "HEAD=<64 hex> LINE=<n>" (space-separated here).
std::string audit_head_fields(std::uint64_t line, std::string_view hash);
// Sends the head to the system journal (sd_journal_send) with MESSAGE_ID
// kAuditHeadMessageId and fields HEAD= and LINE=, so that a collector that copies
// the journal off the host holds anchors `okx-vault audit verify FILE --head`
// checks. Does nothing (and costs one failed send) without journald.
inline constexpr std::string_view kAuditHeadMessageId = "4f4b5856a17d4e0d8a3c5e2b9f6a1c07";
void journal_audit_head(std::uint64_t line, std::string_view hash);

// $CREDENTIALS_DIRECTORY/name, if the service manager passed that credential.
std::optional<std::filesystem::path> credential(std::string_view name);

}  // namespace okxvault::systemd
