#include "daemon/event_loops.hpp"

#include <algorithm>
#include <thread>

namespace okxvault {

EventLoops::EventLoops(unsigned count) {
  for (unsigned i = 0; i < std::max(count, 1u); ++i) {
    loops_.push_back(std::make_unique<boost::asio::io_context>(1));  // one thread each
  }
}

void EventLoops::run() {
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < loops_.size(); ++i) threads.emplace_back([this, i] { loops_[i]->run(); });
  loops_.front()->run();
  for (auto& thread : threads) thread.join();
}

}  // namespace okxvault
