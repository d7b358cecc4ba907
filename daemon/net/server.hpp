#pragma once
// The daemon's socket side, in the Boost.Beast idiom: a Server accepts on a Unix
// stream socket and gives each connection, with its SO_PEERCRED identity, to a
// session that reads one request at a time, calls the Handler, and writes the
// reply, keeping the connection alive between requests.
//
// Limits (documented in proto/PROTOCOL.md): header and body size (431 / 413,
// then close), no Transfer-Encoding (400, then close), an idle timeout between
// requests, a deadline for reading a whole request once its first byte arrived,
// and caps on open connections, in all and per uid (503). At the global cap the
// idle connections of the uid holding most are shed first; admins are exempt
// from the per-uid cap and shed others' idle connections to get in. What a
// connection holds is bounded: one request's header and body, one reply.
// An exception in a connection's step (std::bad_alloc included) closes that
// connection alone.
// Connections are spread round-robin over the event loops; each loop checks its
// connections' deadlines every sweep_period, so a connection is closed at most
// that long after its timeout.

#include <sys/stat.h>

#include <atomic>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "daemon/api/handler.hpp"
#include "daemon/net/event_loops.hpp"

namespace okxvault {

struct ServerLimits {
  std::size_t max_connections = 1024;
  std::size_t max_connections_per_uid = 64;  // admins are exempt
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds request_timeout{10'000};
};

// What a listening socket is for: false for the bots' socket when a separate
// admin socket exists, so that admin calls can never arrive through it.
struct Channel {
  bool admin = true;
};

class Session;

// How often deadlines are checked: a connection is closed at most this long
// after its timeout.
std::chrono::milliseconds sweep_period(const ServerLimits& limits);

// Sessions hold a shared_ptr to their Server, so create it with make_shared.
class Server : public std::enable_shared_from_this<Server> {
 public:
  using Acceptor = boost::asio::local::stream_protocol::acceptor;
  // Bound to its loop's executor: no strand, no type-erased executor.
  using Socket =
      boost::asio::local::stream_protocol::socket::rebind_executor<boost::asio::io_context::executor_type>::other;

  // The acceptor belongs to loops.main().
  Server(EventLoops& loops, const Handler& handler, Acceptor acceptor, ServerLimits limits, Channel channel = {});
  ~Server();

  void start();
  // Stops accepting; idle connections close now, busy ones after their reply.
  // Safe to call from any thread.
  void stop();
  // Closes every connection now, busy or not: the shutdown grace has passed.
  // Safe to call from any thread.
  void abort();
  std::size_t connections() const { return connections_.load(std::memory_order_relaxed); }

 private:
  friend class Session;
  struct Shard;
  // The admitted connections of one uid.
  struct UidSlots {
    std::unordered_set<Session*> sessions;
    std::size_t shedding = 0;  // of them, marked to close
  };
  class AcceptTicket;
  void accept();
  // Every second, while no accept is outstanding (Asio dropped one it could not
  // complete), arms one: out of memory, the daemon never stops accepting.
  void watch_accepts();
  // accept() once more, or if even that fails, accept_later(): the accept chain never ends but at stop.
  void accept_again() noexcept;
  void accept_later() noexcept;
  void accept_failed(const char* what, bool count) noexcept;
  void admit(Shard& shard, Socket socket);
  // Under slots_mutex_: an idle connection to close for a newcomer holding `mine`
  // connections, of the non-admin uid holding most, or null.
  Session* victim(std::size_t mine, bool admin);
  void release(Session& session);  // from ~Session
  void refused(const Error& error);
  void sweep(Shard& shard);

  const Handler& handler_;
  Acceptor acceptor_;
  const ServerLimits limits_;
  const Channel channel_;
  boost::asio::io_context& slow_;               // EventLoops::slow(): an admin's changes to the vault
  std::vector<std::unique_ptr<Shard>> shards_;  // one per event loop
  std::size_t next_shard_ = 0;                  // main loop only
  bool stopping_ = false;                       // main loop only
  std::uint64_t serial_ = 0;                    // main loop only
  boost::asio::steady_timer accept_retry_;      // main loop only; made up front, so a retry needs no allocation
  boost::asio::steady_timer accept_watch_;      // main loop only
  bool accept_pending_ = false;                 // main loop only: an accept's handler is outstanding
  // Refusals are logged once, then summed up at most once a second.
  std::chrono::steady_clock::time_point refusals_logged_{};  // main loop only
  std::size_t refusals_unlogged_ = 0;                        // main loop only
  std::atomic<std::size_t> connections_{0};                  // every session, refused ones too
  // Added to on the main loop, taken from by each session's loop as it ends.
  std::mutex slots_mutex_;
  std::unordered_map<uid_t, UidSlots> slots_;
  std::size_t admitted_ = 0, shedding_ = 0;
};

// Binds a listening Unix socket at path with `mode` (and the given group, if
// any), with no moment at which it is more open. A stale socket file (nobody
// listening) is replaced; a live one is an Error(io_error) saying another daemon
// is serving there.
Server::Acceptor bind_unix_socket(boost::asio::io_context& io, const std::filesystem::path& path, mode_t mode,
                                  std::optional<gid_t> group = std::nullopt);

}  // namespace okxvault
