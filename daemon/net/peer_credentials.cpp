#include "daemon/net/peer_credentials.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <string>
#include <vector>

#include "daemon/os/accounts.hpp"

namespace okxvault {

namespace {

// The peer's supplementary groups as its process holds them (SO_PEERGROUPS),
// with its primary group: what it may do, whatever the group database says (a
// container's --group-add is not in the host's /etc/group; a process that
// dropped a group no longer has it). The database only where the kernel
// predates SO_PEERGROUPS (Linux 4.13).
std::vector<gid_t> groups_of_peer(int socket_fd, uid_t uid, gid_t gid) {
  std::vector<gid_t> groups(64);
  for (int attempt = 0; attempt < 2; ++attempt) {
    socklen_t size = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (::getsockopt(socket_fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &size) == 0) {
      groups.resize(size / sizeof(gid_t));
      if (std::find(groups.begin(), groups.end(), gid) == groups.end()) groups.push_back(gid);
      return groups;
    }
    if (errno == ENOPROTOOPT) return groups_of(uid, gid);
    if (errno != ERANGE) break;
    groups.resize(size / sizeof(gid_t));  // the kernel said how many there are
  }
  return {gid};  // no groups known: no group grant matches
}

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
  peer.groups = groups_of_peer(socket_fd, cred.uid, cred.gid);
  peer.exe = exe_of(cred.pid);
  return peer;
}

}  // namespace okxvault
