#pragma once
// The Peer of a connected Unix socket, from the kernel: SO_PEERCRED, the uid's
// groups and /proc/PID/exe.

#include "daemon/core/peer.hpp"

namespace okxvault {

// On failure the Peer stays unknown, which no rule admits.
Peer identify_peer(int socket_fd);

}  // namespace okxvault
