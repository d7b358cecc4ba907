#pragma once
// Process hardening for the daemon, called first thing in main: no core dumps
// (RLIMIT_CORE 0), not dumpable or ptrace-attachable by same-uid processes
// (PR_SET_DUMPABLE 0), and libsodium initialized. Throws std::runtime_error.

namespace okxvault {

void harden_process();

}  // namespace okxvault
