#pragma once
// A relay between clients and the real daemon: HTTP exchanges pass through it one
// connection at a time, on its own thread, and a test sees (and may change) each
// reply before the client does, or lose it, as a crash or a cut link would.

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

namespace okxvault::test {

class Relay {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Response = boost::beast::http::response<boost::beast::http::string_body>;
  // What the relay does with a reply once the test has seen it.
  enum class Next { pass, lose, pass_then_close };
  // Called on the relay's thread for every exchange, after the daemon answered.
  using OnReply = std::function<Next(const Request&, Response&)>;

  // Listens at `path`; passes exchanges on to the daemon at `daemon`.
  Relay(const std::filesystem::path& path, std::filesystem::path daemon, OnReply on_reply);
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Waits until the relay has closed `n` client connections in all.
  void wait_closed(int n);

 private:
  void serve();
  void relay(boost::asio::local::stream_protocol::socket& client);

  boost::asio::local::stream_protocol::endpoint endpoint_;
  std::filesystem::path daemon_;
  OnReply on_reply_;
  boost::asio::io_context io_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable changed_;
  int closed_ = 0;
  std::thread thread_;
};

}  // namespace okxvault::test
