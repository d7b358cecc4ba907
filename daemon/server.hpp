#pragma once
// The daemon's socket side, in the Boost.Beast idiom: a Server accepts on a Unix
// stream socket and gives each connection, with its SO_PEERCRED identity, to a
// session that reads one request at a time, calls the Handler, and writes the
// reply, keeping the connection alive between requests.
//
// Limits (documented in proto/PROTOCOL.md): header and body size (431 / 413,
// then close), an idle timeout between requests, a deadline for reading a whole
// request once its first byte arrived, and a cap on open connections (503).
// Thread-safe: run the io_context on as many threads as you like.

#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_set>

#include "daemon/handler.hpp"

namespace okxvault {

struct ServerLimits {
  std::size_t max_connections = 1024;
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds request_timeout{10'000};
};

// What a listening socket is for: false for the bots' socket when a separate
// admin socket exists, so that admin calls can never arrive through it.
struct Channel {
  bool admin = true;
};

class Session;

// Sessions hold a shared_ptr to their Server, so create it with make_shared.
class Server : public std::enable_shared_from_this<Server> {
 public:
  using Acceptor = boost::asio::local::stream_protocol::acceptor;

  Server(boost::asio::io_context& io, const Handler& handler, Acceptor acceptor, ServerLimits limits,
         Channel channel = {});

  void start();
  // Stops accepting; idle connections close now, busy ones after their reply.
  // Safe to call from any thread.
  void stop();
  std::size_t connections() const;

 private:
  friend class Session;
  void accept();
  void enter(Session* session);
  void leave(Session* session);

  boost::asio::io_context& io_;
  const Handler& handler_;
  // The acceptor is touched only from this strand (accepting and stop()).
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  Acceptor acceptor_;
  const ServerLimits limits_;
  const Channel channel_;
  mutable std::mutex mutex_;
  std::unordered_set<Session*> sessions_;
  bool stopping_ = false;
};

// Binds a listening Unix socket at path with `mode` (and the given group, if
// any), with no moment at which it is more open. A stale socket file (nobody
// listening) is replaced; a live one is an Error(io_error) saying another daemon
// is serving there.
Server::Acceptor bind_unix_socket(boost::asio::io_context& io, const std::filesystem::path& path, mode_t mode,
                                  std::optional<gid_t> group = std::nullopt);

}  // namespace okxvault
