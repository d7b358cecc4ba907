#include "daemon/os/signals.hpp"

#include <pthread.h>

#include <csignal>
#include <cstring>
#include <stdexcept>
#include <string>

namespace okxvault {
namespace {

void set_stop_signals(int how) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  if (const int error = ::pthread_sigmask(how, &stop, nullptr); error != 0) {
    throw std::runtime_error(std::string("pthread_sigmask: ") + std::strerror(error));
  }
}

}  // namespace

void block_stop_signals() { set_stop_signals(SIG_BLOCK); }
void unblock_stop_signals() { set_stop_signals(SIG_UNBLOCK); }

}  // namespace okxvault
