#include "daemon/os/systemd.hpp"

#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include <cstdlib>
#include <stdexcept>

namespace okxvault::systemd {

std::vector<ListenSocket> activated_sockets() {
  char** names = nullptr;
  const int count = sd_listen_fds_with_names(1, &names);
  if (count < 0) throw std::runtime_error("socket activation: cannot read LISTEN_FDS");
  std::vector<ListenSocket> sockets;
  for (int i = 0; i < count; ++i) {
    const int fd = SD_LISTEN_FDS_START + i;
    ListenSocket socket{fd, names != nullptr && names[i] != nullptr ? names[i] : ""};
    sockets.push_back(std::move(socket));
  }
  if (names != nullptr) {
    for (int i = 0; i < count; ++i) std::free(names[i]);
    std::free(names);
  }
  for (const ListenSocket& socket : sockets) {
    if (sd_is_socket_unix(socket.fd, SOCK_STREAM, 1, nullptr, 0) <= 0) {
      throw std::runtime_error("socket activation: descriptor " + std::to_string(socket.fd) + " (" + socket.name +
                               ") is not a listening Unix stream socket");
    }
  }
  return sockets;
}

void notify(std::string_view state) { sd_notify(0, std::string(state).c_str()); }

std::optional<std::chrono::microseconds> watchdog_period() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(usec);
}

std::string audit_head_fields(std::uint64_t line, std::string_view hash) {
  return "HEAD=" + std::string(hash) + " LINE=" + std::to_string(line);
}

void journal_audit_head(std::uint64_t line, std::string_view hash) {
  const std::string head(hash);
  sd_journal_send("MESSAGE=audit log head: line %llu, hash %s", static_cast<unsigned long long>(line), head.c_str(),
                  "MESSAGE_ID=%s", std::string(kAuditHeadMessageId).c_str(), "PRIORITY=6", "HEAD=%s", head.c_str(),
                  "LINE=%llu", static_cast<unsigned long long>(line), nullptr);
}

std::optional<std::filesystem::path> credential(std::string_view name) {
  const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
  if (dir == nullptr || *dir == '\0') return std::nullopt;
  std::filesystem::path path = std::filesystem::path(dir) / std::string(name);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  return path;
}

}  // namespace okxvault::systemd
