#include "tests/integration/relay.hpp"

#include <gtest/gtest.h>

#include <boost/beast/core/flat_buffer.hpp>

namespace okxvault::test {

namespace http = boost::beast::http;
using local = boost::asio::local::stream_protocol;

Relay::Relay(const std::filesystem::path& path, std::filesystem::path daemon, OnReply on_reply)
    : endpoint_(path.string()),
      daemon_(std::move(daemon)),
      on_reply_(std::move(on_reply)),
      acceptor_(io_, endpoint_),
      thread_([this] { serve(); }) {}

Relay::~Relay() {
  stopping_ = true;
  local::socket(io_).connect(endpoint_);  // wakes the blocked accept
  thread_.join();
}

void Relay::wait_closed(int n) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return closed_ >= n; });
}

void Relay::serve() {
  for (;;) {
    local::socket client(io_);
    boost::system::error_code ec;
    acceptor_.accept(client, ec);
    if (ec || stopping_) return;
    try {
      relay(client);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "relay: " << e.what();
    }
    client.close(ec);
    std::lock_guard lock(mutex_);
    ++closed_;
    changed_.notify_all();
  }
}

void Relay::relay(local::socket& client) {
  local::socket daemon(io_);
  daemon.connect(local::endpoint(daemon_.string()));
  boost::beast::flat_buffer from_client, from_daemon;
  for (;;) {
    boost::system::error_code ec;
    Request request;
    http::read(client, from_client, request, ec);
    if (ec) return;
    http::write(daemon, request);
    Response response;
    http::read(daemon, from_daemon, response);
    const Next next = on_reply_(request, response);
    if (next == Next::lose) return;
    http::write(client, response, ec);
    if (ec || next == Next::pass_then_close) return;
  }
}

}  // namespace okxvault::test
