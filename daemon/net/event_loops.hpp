#pragma once
// The daemon's threads: one io_context per thread, each run by that thread
// alone. A connection lives on one loop for its whole life, so its handlers
// never hop threads and need no strand. They do take locks, shared with the
// other loops: a sign or WebSocket login holds the vault's lock shared while it
// signs (vault.hpp) and the audit log's mutex while it appends its line
// (audit.hpp); a connection's start and end take the server's slot mutex
// (server.hpp). Loop 0 also runs the listeners, signals and the watchdog.
//
// An admin's change to the vault (a store write with fsync, for some Argon2id)
// runs on one more thread, the slow loop, and its reply goes back to the
// connection's loop: no other connection waits behind it. A change holds the
// vault's writer mutex for its whole length and its lock exclusively only to
// swap its result in, so that signs wait for no store write nor Argon2id; an
// unlock takes the passphrase gate's mutex (passphrase_gate.hpp). The periodic
// usage save and the auto-lock run on a thread of their own (service/main.cpp).

#include <boost/asio/io_context.hpp>
#include <memory>
#include <vector>

namespace okxvault {

// Runs `loop` until it is out of work. A handler that throws ends run() but not
// the loop's work: it is logged and the loop runs on.
void run_loop(boost::asio::io_context& loop) noexcept;

class EventLoops {
 public:
  explicit EventLoops(unsigned count);
  EventLoops(const EventLoops&) = delete;
  EventLoops& operator=(const EventLoops&) = delete;

  boost::asio::io_context& main() { return *loops_.front(); }
  boost::asio::io_context& at(std::size_t i) { return *loops_[i]; }
  std::size_t size() const { return loops_.size(); }
  boost::asio::io_context& slow() { return slow_; }

  // Runs every loop, loop 0 on the calling thread, until all are out of work;
  // the slow loop runs as long as they do. A handler's exception is logged and
  // its loop runs on.
  void run();

 private:
  std::vector<std::unique_ptr<boost::asio::io_context>> loops_;
  boost::asio::io_context slow_{1};
};

}  // namespace okxvault
