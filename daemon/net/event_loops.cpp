#include "daemon/net/event_loops.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>

#include <algorithm>
#include <thread>

namespace okxvault {

// Connections catch their own exceptions; this is the last line for the rest.
void run_loop(boost::asio::io_context& loop) noexcept {
  for (;;) {
    try {
      loop.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("event loop: {}", e.what());
    } catch (...) {
      spdlog::error("event loop: unknown exception");
    }
  }
}

EventLoops::EventLoops(unsigned count) {
  for (unsigned i = 0; i < std::max(count, 1u); ++i) {
    loops_.push_back(std::make_unique<boost::asio::io_context>(1));  // one thread each
  }
}

void EventLoops::run() {
  // Work sent to the slow loop holds its connection's loop open until the reply
  // is back there; the slow loop itself is held open until every loop is done.
  auto slow_open = boost::asio::make_work_guard(slow_);
  std::thread slow([this] { run_loop(slow_); });
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < loops_.size(); ++i) threads.emplace_back([this, i] { run_loop(*loops_[i]); });
  run_loop(*loops_.front());
  for (auto& thread : threads) thread.join();
  slow_open.reset();
  slow.join();
}

}  // namespace okxvault
