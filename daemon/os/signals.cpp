#include "daemon/os/signals.hpp"

#include <pthread.h>

#include <csignal>
#include <cstring>
#include <stdexcept>
#include <string>

namespace okxvault {
namespace {

void set_handled_signals(int how) {
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGTERM);
  sigaddset(&handled, SIGINT);
  sigaddset(&handled, SIGHUP);
  if (const int error = ::pthread_sigmask(how, &handled, nullptr); error != 0) {
    throw std::runtime_error(std::string("pthread_sigmask: ") + std::strerror(error));
  }
}

}  // namespace

void block_handled_signals() { set_handled_signals(SIG_BLOCK); }
void unblock_handled_signals() { set_handled_signals(SIG_UNBLOCK); }

}  // namespace okxvault
