#include "daemon/os/hardening.hpp"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "common/secret.hpp"

namespace okxvault {

void harden_process() {
  // Under systemd, LimitCORE=0 already holds and setrlimit may be filtered out.
  rlimit core{};
  const bool already = ::getrlimit(RLIMIT_CORE, &core) == 0 && core.rlim_cur == 0 && core.rlim_max == 0;
  const rlimit no_core{0, 0};
  if (!already && ::setrlimit(RLIMIT_CORE, &no_core) != 0) {
    throw std::runtime_error(std::string("cannot disable core dumps: ") + std::strerror(errno));
  }
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    throw std::runtime_error(std::string("cannot mark the process non-dumpable: ") + std::strerror(errno));
  }
  ensure_sodium();
}

}  // namespace okxvault
