#pragma once
// The daemon's threads: one io_context per thread, each run by that thread
// alone. A connection lives on one loop for its whole life, so its handlers
// never hop threads, take a lock, or wake another thread: a request costs one
// epoll_wait, one read and one write. Loop 0 also runs the listeners, signals
// and periodic timers.

#include <boost/asio/io_context.hpp>
#include <memory>
#include <vector>

namespace okxvault {

class EventLoops {
 public:
  explicit EventLoops(unsigned count);
  EventLoops(const EventLoops&) = delete;
  EventLoops& operator=(const EventLoops&) = delete;

  boost::asio::io_context& main() { return *loops_.front(); }
  boost::asio::io_context& at(std::size_t i) { return *loops_[i]; }
  std::size_t size() const { return loops_.size(); }

  // Runs every loop, loop 0 on the calling thread, until all are out of work.
  // A handler's exception is logged and its loop runs on.
  void run();

 private:
  std::vector<std::unique_ptr<boost::asio::io_context>> loops_;
};

}  // namespace okxvault
