#pragma once
// Who is on the other end of a connection, as the kernel reports it
// (net/peer_credentials.hpp fills it in). Nothing a client says about itself is
// ever put here.

#include <sys/types.h>

#include <algorithm>
#include <string>
#include <vector>

namespace okxvault {

struct Peer {
  uid_t uid = static_cast<uid_t>(-1);  // -1 (unknown) matches no grant and is no admin
  gid_t gid = static_cast<gid_t>(-1);
  pid_t pid = 0;
  std::vector<gid_t> groups;  // supplementary groups the process holds, with gid
  std::string exe;            // /proc/PID/exe at connect time, for the audit record

  bool in_group(gid_t group) const {
    return gid == group || std::find(groups.begin(), groups.end(), group) != groups.end();
  }
};

}  // namespace okxvault
