#pragma once
// Who is on the other end of a connection, as the kernel reports it. Nothing a
// client says about itself is ever put here.

#include <sys/types.h>

#include <string>
#include <vector>

namespace okxvault {

struct Peer {
  uid_t uid = static_cast<uid_t>(-1);  // -1 (unknown) matches no grant and is no admin
  gid_t gid = static_cast<gid_t>(-1);
  pid_t pid = 0;
  std::vector<gid_t> groups;  // supplementary groups from the group database, with gid
  std::string exe;            // /proc/PID/exe at connect time, for the audit record

  bool in_group(gid_t group) const;
};

// SO_PEERCRED of a connected Unix socket, plus groups and executable. On failure
// the Peer stays unknown, which no rule admits.
Peer identify_peer(int socket_fd);

// Names of users and groups, as the system's databases resolve them. A decimal
// number is taken as an id; one out of range for uid_t/gid_t, or -1, is
// Error(bad_request). Return false if there is no such user or group.
bool lookup_user(const std::string& name, uid_t& uid, std::string& canonical);
bool lookup_group(const std::string& name, gid_t& gid, std::string& canonical);

}  // namespace okxvault
