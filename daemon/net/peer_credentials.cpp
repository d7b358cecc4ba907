#include "daemon/net/peer_credentials.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <string>

#include "daemon/os/accounts.hpp"

namespace okxvault {

namespace {

std::string exe_of(pid_t pid) {
  std::array<char, 4096> target{};
  const std::string link = "/proc/" + std::to_string(pid) + "/exe";
  const ssize_t n = ::readlink(link.c_str(), target.data(), target.size() - 1);
  return n > 0 ? std::string(target.data(), static_cast<std::size_t>(n)) : std::string("?");
}

}  // namespace

Peer identify_peer(int socket_fd) {
  ucred cred{};
  socklen_t size = sizeof cred;
  Peer peer;
  if (::getsockopt(socket_fd, SOL_SOCKET, SO_PEERCRED, &cred, &size) != 0) return peer;
  peer.uid = cred.uid;
  peer.gid = cred.gid;
  peer.pid = cred.pid;
  peer.groups = groups_of(cred.uid, cred.gid);
  peer.exe = exe_of(cred.pid);
  return peer;
}

}  // namespace okxvault
