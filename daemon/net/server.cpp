#include "daemon/net/server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <array>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <unordered_set>

#include "daemon/net/peer_credentials.hpp"
#include "daemon/net/read_buffer.hpp"
#include "daemon/net/reply_head.hpp"
#include "proto/messages.hpp"

namespace okxvault {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using local = asio::local::stream_protocol;
using Steady = std::chrono::steady_clock;
using Socket = Server::Socket;
using Timer = asio::basic_waitable_timer<Steady, asio::wait_traits<Steady>, asio::io_context::executor_type>;

constexpr std::size_t kReadSize = 4096;
// What a connection's read buffer may hold: the unparsed rest of a header, at
// most the header limit, and one read more. Only a bug could reach it; the
// connection then fails alone (std::length_error) instead of growing.
constexpr std::size_t kMaxBuffered = proto::kMaxHeaderBytes + 2 * kReadSize;

namespace {

uid_t peer_uid(int fd) {
  ucred cred{};
  socklen_t size = sizeof cred;
  return ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &size) == 0 ? cred.uid : static_cast<uid_t>(-1);
}

}  // namespace

// One event loop's connections and the timer that checks their deadlines. Only
// that loop's thread touches it.
struct Server::Shard {
  explicit Shard(asio::io_context& loop) : io(loop), sweep(loop.get_executor()) {}
  asio::io_context& io;
  Timer sweep;
  std::unordered_set<Session*> sessions;
  bool stopping = false;
};

// A connection, on one event loop. Its deadline is checked by the loop's sweep.
class Session : public std::enable_shared_from_this<Session> {
 public:
  // Created on the main loop; everything else happens on the shard's loop,
  // except what the main loop reads of idle_ and admin_ to pick a connection to
  // shed, under the server's slots_mutex_.
  Session(std::shared_ptr<Server> server, Server::Shard& shard, Socket socket, std::uint64_t serial)
      : server_(std::move(server)), shard_(shard), socket_(std::move(socket)), serial_(serial) {
    server_->connections_.fetch_add(1, std::memory_order_relaxed);
    metrics().connection_opened();
    beast::error_code ignored;
    socket_.non_blocking(true, ignored);  // for write(): a full socket buffer must not block the loop
  }
  ~Session() {
    if (admitted_) server_->release(*this);
    if (in_shard_) shard_.sessions.erase(this);  // else it may end on the main loop, before it started
    metrics().connection_closed();
    server_->connections_.fetch_sub(1, std::memory_order_relaxed);
  }

  // `peer`: when the main loop already identified it, to decide on admission.
  // start() and reject() take the main loop's reference along: a session that
  // starts and ends on its loop before the main loop lets go of it must not end
  // on the main loop, where its destructor would leave shard_.sessions while
  // the loop's sweep reads it.
  static void start(std::shared_ptr<Session> session, std::optional<Peer> peer) {
    const auto executor = session->socket_.get_executor();
    asio::post(executor, [self = std::move(session), peer = std::move(peer)]() mutable {
      self->step([&] {
        self->shard_.sessions.insert(self.get());
        self->in_shard_ = true;
        self->stopping_ = self->shard_.stopping;
        self->peer_ = peer ? std::move(*peer) : identify_peer(self->socket_.native_handle());
        self->admin_.store(self->server_->handler_.is_admin(self->peer_), std::memory_order_relaxed);
        self->wait_for_request();
      });
    });
  }

  // Answers 503 with `error` and closes: a connection limit is reached.
  static void reject(std::shared_ptr<Session> session, Error error) {
    const auto executor = session->socket_.get_executor();
    asio::post(executor, [self = std::move(session), error = std::move(error)] {
      self->step([&] {
        self->shard_.sessions.insert(self.get());
        self->in_shard_ = true;
        self->metrics().count_error(Code::too_many_connections);
        self->response_ = Handler::error_response(error, 11, false);
        self->write();
      });
    });
  }

  // From Server::stop(), or when shed for a newcomer: an idle connection closes
  // now, a busy one after its reply.
  void stop() {
    stopping_ = true;
    if (idle_.load(std::memory_order_relaxed)) close();
  }

  // Closes the connection if its deadline has passed: the pending read or write
  // then ends with an error, and the session with it.
  void expire(Steady::time_point now) {
    if (now >= deadline_) abort();
  }

  // Without a shutdown first: a peer blocked writing to us then learns of the
  // reset from that write, and its reads still end in a plain end of stream.
  void abort() noexcept {
    deadline_ = Steady::time_point::max();
    beast::error_code ignored;
    socket_.close(ignored);
    if (hold_timer_) {
      try {
        hold_timer_->cancel();
      } catch (const std::exception&) {  // its wait then ends on its own, with the socket closed
      }
    }
  }

  std::uint64_t serial() const { return serial_; }
  // Read by the main loop, under the server's slots_mutex_.
  bool idle() const { return idle_.load(std::memory_order_acquire); }
  bool admin() const { return admin_.load(std::memory_order_relaxed); }

 private:
  friend class Server;
  // Runs one step of the connection (a read, write or timer completing): an
  // exception, std::bad_alloc included, closes this connection and no other.
  template <typename Step>
  void step(Step&& run) noexcept {
    try {
      run();
    } catch (const std::exception& e) {
      failed(e.what());
    } catch (...) {
      failed("unknown exception");
    }
  }

  void failed(const char* what) noexcept {
    abort();
    metrics().count_error(Code::internal);
    try {
      spdlog::error("closing a connection of uid {}: {}", peer_.uid, what);
    } catch (...) {  // spdlog reports its own failures; nothing more to do here
    }
  }

  void set_idle(bool idle) { idle_.store(idle, std::memory_order_release); }

  // Between requests the connection may idle for idle_timeout; once the first
  // byte of a request arrives, the whole request must follow within request_timeout.
  void wait_for_request() {
    if (stopping_) return close();
    if (buffer_.size() > 0) return start_request();  // pipelined bytes already here
    set_idle(true);
    deadline_ = Steady::now() + server_->limits_.idle_timeout;
    read_more();
  }

  void start_request() {
    set_idle(false);
    deadline_ = Steady::now() + server_->limits_.request_timeout;
    parser_.emplace();
    parser_->header_limit(proto::kMaxHeaderBytes);
    parser_->body_limit(proto::kMaxBodyBytes);
    header_bytes_ = 0;
    parse();
  }

  void read_more() {
    socket_.async_read_some(buffer_.prepare(kReadSize),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->step([&] {
                                self->buffer_.commit(n);
                                if (ec) return self->on_read_error(ec);
                                if (self->idle_.load(std::memory_order_relaxed)) return self->start_request();
                                self->parse();
                              });
                            });
  }

  // Feeds what was read to the parser until the request is complete. The header
  // limit counts every byte before the body, however many reads brought them
  // (Beast's own limit applies to the bytes of one read). The parser stops after
  // the header: a request with Transfer-Encoding is refused before any of its body.
  void parse() {
    while (!parser_->is_done()) {
      if (buffer_.size() == 0) return read_more();
      const bool in_header = !parser_->is_header_done();
      beast::error_code ec;
      const std::size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (in_header) header_bytes_ += used;
      // Until the header ends, every unparsed byte is part of it.
      if (header_bytes_ + (parser_->is_header_done() ? 0 : buffer_.size()) > proto::kMaxHeaderBytes) {
        ec = http::error::header_limit;
      }
      if (ec == http::error::need_more) return read_more();
      if (ec) return on_parse_error(ec);
      // A chunked body's framing (chunk sizes, extensions, trailers) has no
      // length to bound, and the protocol needs none of it.
      if (in_header && parser_->get().count(http::field::transfer_encoding) != 0) {
        return fail(Code::bad_request, "Transfer-Encoding is not supported: send the body with Content-Length");
      }
    }
    handle();
  }

  void on_read_error(beast::error_code ec) {
    // The peer ended its side in the middle of a request: that request is malformed.
    if (ec == asio::error::eof && parser_ && parser_->got_some()) return on_parse_error(http::error::partial_message);
    close();
  }

  void on_parse_error(beast::error_code ec) {
    if (ec == http::error::body_limit) return fail(Code::payload_too_large, "request body exceeds 65536 bytes");
    if (ec == http::error::header_limit) return fail(Code::headers_too_large, "request headers exceed 8192 bytes");
    fail(Code::bad_request, "malformed HTTP request: " + ec.message());
  }

  void handle() {
    Request request = parser_->release();
    parser_.reset();
    deadline_ = Steady::time_point::max();  // the handler's time is not the peer's
    read_at_ = Steady::now();
    const bool admin_channel = server_->channel_.admin;
    if (!server_->handler_.changes_vault(request, admin_channel && admin())) {
      std::chrono::milliseconds hold{0};
      Response response = server_->handler_.handle(request, peer_, admin_channel, &hold);
      return respond(std::move(response), hold);
    }
    // On the slow loop; the reply comes back to this one, which it holds open.
    asio::post(server_->slow_, [self = shared_from_this(), request = std::move(request), admin_channel,
                                back = asio::make_work_guard(socket_.get_executor())]() mutable {
      std::chrono::milliseconds hold{0};
      Response response = self->server_->handler_.handle(request, self->peer_, admin_channel, &hold);
      // The session's reference goes back with the reply: it must end on its own loop.
      asio::post(back.get_executor(), [self = std::move(self), response = std::move(response), hold]() mutable {
        self->step([&] { self->respond(std::move(response), hold); });
      });
    });
  }

  void respond(Response&& response, std::chrono::milliseconds hold) {
    response_ = std::move(response);
    if (stopping_) response_.keep_alive(false);
    if (hold.count() == 0) return write();
    // A wrong passphrase: its reply waits, without keeping an I/O thread.
    if (!hold_timer_) hold_timer_.emplace(socket_.get_executor());
    hold_timer_->expires_after(hold);
    hold_timer_->async_wait([self = shared_from_this()](beast::error_code ec) {
      self->step([&] {
        if (ec) return self->close();
        self->write();
      });
    });
  }

  // A request that could not be read is answered once, then the connection closes:
  // whatever follows it on the wire cannot be trusted to start a new request.
  void fail(Code code, const std::string& message) {
    metrics().count_error(code);
    read_at_.reset();
    response_ = Handler::error_response(Error(code, message), 11, false);
    write();
  }

  // A reply usually fits the socket buffer: written at once, head and body in one
  // system call, it costs no trip through the event loop. Only what does not fit
  // waits, and nothing more is read meanwhile: a connection holds one reply.
  void write() {
    deadline_ = Steady::now() + server_->limits_.request_timeout;
    if (response_.chunked()) response_.prepare_payload();  // the body goes out as is: frame it by its length
    write_head(response_, head_);
    const asio::const_buffer head = asio::buffer(head_), body = asio::buffer(response_.body());
    beast::error_code ec;
    const std::size_t sent = socket_.write_some(std::array{head, body}, ec);
    if (ec != asio::error::would_block && (ec || sent == head.size() + body.size())) return written(ec, false);
    const std::size_t done = ec ? 0 : sent;
    const std::array rest{head + done, body + (done - std::min(done, head.size()))};
    asio::async_write(socket_, rest, [self = shared_from_this()](beast::error_code failed, std::size_t) {
      self->step([&] { self->written(failed, true); });
    });
  }

  void written(beast::error_code ec, bool in_loop) {
    const bool keep_alive = response_.keep_alive();
    response_.body().clear();  // a sign reply carries the passphrase: cleared, it is wiped
    if (read_at_) metrics().observe_request(Steady::now() - *read_at_);
    server_->handler_.after_reply();
    if (ec || !keep_alive) return close();
    // Pipelined requests go through the loop, not ever deeper down this stack.
    if (!in_loop && buffer_.size() > 0) {
      return asio::post(socket_.get_executor(),
                        [self = shared_from_this()] { self->step([&] { self->wait_for_request(); }); });
    }
    wait_for_request();
  }

  Metrics& metrics() const { return server_->handler_.metrics(); }

  void close() {
    deadline_ = Steady::time_point::max();
    beast::error_code ignored;
    socket_.shutdown(local::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  std::shared_ptr<Server> server_;
  Server::Shard& shard_;
  Socket socket_;
  const std::uint64_t serial_;       // tells a session from a later one at the same address
  std::optional<Timer> hold_timer_;  // only after a wrong passphrase
  // Both wipe what they held when they let it go: a request may carry a secret.
  ReadBuffer buffer_{kMaxBuffered};
  std::optional<http::request_parser<WipingBody>> parser_;  // while a request is being read
  std::size_t header_bytes_ = 0;                            // of that request, so far
  Response response_;
  std::string head_;  // of response_, kept for the next reply's
  Peer peer_;
  Steady::time_point deadline_ = Steady::time_point::max();
  std::optional<Steady::time_point> read_at_;  // of the request being answered
  std::atomic<bool> idle_{false};
  std::atomic<bool> admin_{false};
  bool stopping_ = false;
  bool in_shard_ = false;  // in shard_.sessions
  // Under the server's slots_mutex_:
  bool admitted_ = false;  // counted in the server's slots_
  bool shed_ = false;      // marked to close for a newcomer
  uid_t uid_ = static_cast<uid_t>(-1);
};

std::chrono::milliseconds sweep_period(const ServerLimits& limits) {
  const auto shorter = std::min(limits.idle_timeout, limits.request_timeout);
  return std::clamp(shorter / 10, std::chrono::milliseconds(1), std::chrono::milliseconds(100));
}

Server::Server(EventLoops& loops, const Handler& handler, Acceptor acceptor, ServerLimits limits, Channel channel)
    : handler_(handler),
      acceptor_(std::move(acceptor)),
      limits_(limits),
      channel_(channel),
      slow_(loops.slow()),
      accept_retry_(acceptor_.get_executor()),
      accept_watch_(acceptor_.get_executor()) {
  for (std::size_t i = 0; i < loops.size(); ++i) shards_.push_back(std::make_unique<Shard>(loops.at(i)));
}

Server::~Server() = default;

void Server::start() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    self->accept();
    self->watch_accepts();
  });
  for (auto& shard : shards_) {
    asio::post(shard->io, [self = shared_from_this(), &shard = *shard] { self->sweep(shard); });
  }
}

// Runs until the server is stopped and the loop's last connection has closed:
// until then it keeps the loop running.
void Server::sweep(Shard& shard) {
  shard.sweep.expires_after(sweep_period(limits_));
  shard.sweep.async_wait([self = shared_from_this(), &shard](beast::error_code ec) {
    if (ec) return;
    const auto now = Steady::now();
    for (Session* session : shard.sessions) session->expire(now);
    if (!shard.stopping || !shard.sessions.empty()) self->sweep(shard);
  });
}

// Logs an accept that failed. Out of memory, logging can fail too: nothing of it
// may escape, or the accept would not be armed again and the daemon would serve
// no new connection.
void Server::accept_failed(const char* what, bool count) noexcept {
  try {
    if (count) handler_.metrics().count_error(Code::internal);
    spdlog::error("accepting a connection failed: {}", what);
  } catch (...) {
  }
}

// Held by an accept's handler: when Asio drops the handler without running it
// (out of memory completing the accept), no accept is outstanding any more, and
// the watch arms another.
class Server::AcceptTicket {
 public:
  explicit AcceptTicket(Server& server) : server_(&server) { server.accept_pending_ = true; }
  AcceptTicket(AcceptTicket&& other) noexcept : server_(std::exchange(other.server_, nullptr)) {}
  AcceptTicket& operator=(AcceptTicket&&) = delete;
  ~AcceptTicket() { used(); }
  void used() noexcept {
    if (server_ != nullptr) server_->accept_pending_ = false;
    server_ = nullptr;
  }

 private:
  Server* server_;
};

void Server::watch_accepts() {
  accept_watch_.expires_after(std::chrono::seconds(1));
  accept_watch_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec || self->stopping_) return;
    if (!self->accept_pending_) {
      self->accept_failed("no accept was outstanding: accepting again", false);
      self->accept_again();
    }
    self->watch_accepts();
  });
}

void Server::accept() {
  Shard& shard = *shards_[next_shard_++ % shards_.size()];
  acceptor_.async_accept(shard.io, [self = shared_from_this(), &shard,
                                    ticket = AcceptTicket(*this)](beast::error_code ec, Socket socket) mutable {
    ticket.used();
    if (ec == asio::error::operation_aborted) return;
    if (ec) {
      self->accept_failed(ec.message().c_str(), false);
      // Out of descriptors: accepting again at once would only spin.
      if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space) return self->accept_later();
    } else {
      try {
        self->admit(shard, std::move(socket));
      } catch (const std::exception& e) {  // that connection is closed; the next one may fare better
        self->accept_failed(e.what(), true);
      }
    }
    if (!self->stopping_) self->accept_again();
  });
}

void Server::accept_again() noexcept {
  try {
    accept();
    return;
  } catch (const std::exception& e) {
    accept_failed(e.what(), false);
  } catch (...) {
    accept_failed("unknown error", false);
  }
  accept_later();
}

void Server::accept_later() noexcept {
  const auto stopped = [](const char* why) noexcept {
    try {
      spdlog::critical("cannot accept connections any more: {}", why);
    } catch (...) {
    }
  };
  try {
    accept_retry_.expires_after(std::chrono::milliseconds(100));
    accept_retry_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec == asio::error::operation_aborted) return;  // a later retry, or the stop, replaced it
      self->accept_pending_ = false;
      if (!self->stopping_) self->accept_again();
    });
    accept_pending_ = true;  // the retry stands for the accept
  } catch (const std::exception& e) {
    stopped(e.what());
  } catch (...) {
    stopped("unknown error");
  }
}

// Admits a connection if its uid is under the per-uid cap (admins are exempt)
// and a slot is free, or can be freed by shedding an idle connection of the
// non-admin uid holding most, when that uid holds at least two more than the
// newcomer's (so that two heavy uids do not take turns shedding each other), or
// the newcomer is an admin. Otherwise answers 503.
void Server::admit(Shard& shard, Socket socket) {
  const int fd = socket.native_handle();
  const uid_t uid = peer_uid(fd);
  auto session = std::make_shared<Session>(shared_from_this(), shard, std::move(socket), ++serial_);
  const auto held_by = [&](uid_t who) {
    const auto it = slots_.find(who);
    return it == slots_.end() ? std::size_t{0} : it->second.sessions.size();
  };
  const auto enter = [&] {  // under the lock
    slots_[uid].sessions.insert(session.get());
    session->admitted_ = true;
    session->uid_ = uid;
    ++admitted_;
  };
  std::unique_lock lock(slots_mutex_);
  if (held_by(uid) < limits_.max_connections_per_uid && admitted_ - shedding_ < limits_.max_connections) {
    enter();
    lock.unlock();
    return Session::start(std::move(session), std::nullopt);
  }
  // At a limit, who the peer is decides: an admin's groups take a look-up, done
  // only now and not under the lock. Sessions only leave meanwhile.
  lock.unlock();
  Peer peer = identify_peer(fd);
  const bool admin = handler_.is_admin(peer);
  lock.lock();
  const std::size_t held = held_by(uid);
  if (!admin && held >= limits_.max_connections_per_uid) {
    lock.unlock();
    const std::string limit = std::to_string(limits_.max_connections_per_uid);
    Error error(Code::too_many_connections, "uid " + std::to_string(uid) + " holds " + std::to_string(held) +
                                                " connections, the most one user may hold (" + limit +
                                                ", --max-connections-per-uid); close some or try again later");
    refused(error);
    return Session::reject(std::move(session), std::move(error));
  }
  if (admitted_ - shedding_ < limits_.max_connections) {
    enter();
    lock.unlock();
    return Session::start(std::move(session), std::move(peer));
  }
  const auto mine = slots_.find(uid);
  Session* shed = victim(mine == slots_.end() ? 0 : mine->second.sessions.size() - mine->second.shedding, admin);
  if (shed == nullptr) {
    lock.unlock();
    Error error(Code::too_many_connections, "the daemon is at its connection limit (" +
                                                std::to_string(limits_.max_connections) +
                                                ", --max-connections); try again later");
    refused(error);
    return Session::reject(std::move(session), std::move(error));
  }
  enter();
  shed->shed_ = true;
  ++slots_.at(shed->uid_).shedding;
  ++shedding_;
  const uid_t shed_uid = shed->uid_;
  const std::size_t shed_held = held_by(shed_uid);
  Shard& shed_shard = shed->shard_;
  const std::uint64_t shed_serial = shed->serial_;
  lock.unlock();
  // To its loop, which alone touches it: there it is looked up by address and
  // serial, as it may have ended meanwhile.
  asio::post(shed_shard.io, [self = shared_from_this(), &shed_shard, shed, shed_serial] {
    if (shed_shard.sessions.contains(shed) && shed->serial() == shed_serial) shed->stop();
  });
  Session::start(std::move(session), std::move(peer));
  spdlog::info("connection limit {} reached: shedding an idle connection of uid {} (of {}) to admit uid {}",
               limits_.max_connections, shed_uid, shed_held, uid);
}

Session* Server::victim(std::size_t mine, bool admin) {
  Session* chosen = nullptr;
  std::size_t heaviest = admin ? 0 : mine + 1;  // a victim's uid must hold more than this
  for (auto& [uid, slots] : slots_) {
    const std::size_t held = slots.sessions.size() - slots.shedding;
    if (held <= heaviest) continue;
    for (Session* session : slots.sessions) {
      if (!session->shed_ && session->idle() && !session->admin()) {
        chosen = session;
        heaviest = held;
        break;
      }
    }
  }
  return chosen;
}

void Server::release(Session& session) {
  std::lock_guard lock(slots_mutex_);
  const auto it = slots_.find(session.uid_);
  if (it == slots_.end()) return;
  it->second.sessions.erase(&session);
  --admitted_;
  if (session.shed_) {
    --it->second.shedding;
    --shedding_;
  }
  if (it->second.sessions.empty()) slots_.erase(it);
}

// One line for the first refusal, then at most one a second summing up the rest:
// a peer retrying in a loop must not flood the log.
void Server::refused(const Error& error) {
  const auto now = Steady::now();
  if (now - refusals_logged_ < std::chrono::seconds(1)) {
    ++refusals_unlogged_;
    return;
  }
  if (refusals_unlogged_ > 0) {
    spdlog::warn("refused {} more connections since the last such line", refusals_unlogged_);
  }
  spdlog::warn("refusing a connection: {}", error.what());
  refusals_logged_ = now;
  refusals_unlogged_ = 0;
}

void Server::stop() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    self->stopping_ = true;
    self->accept_watch_.cancel();
    beast::error_code ignored;
    self->acceptor_.close(ignored);
  });
  for (auto& shard : shards_) {
    asio::post(shard->io, [self = shared_from_this(), &shard = *shard] {
      shard.stopping = true;
      for (Session* session : shard.sessions) session->stop();
    });
  }
}

void Server::abort() {
  for (auto& shard : shards_) {
    asio::post(shard->io, [self = shared_from_this(), &shard = *shard] {
      for (Session* session : shard.sessions) session->abort();
    });
  }
}

Server::Acceptor bind_unix_socket(asio::io_context& io, const std::filesystem::path& path, mode_t mode,
                                  std::optional<gid_t> group) {
  const std::string where = path.string();
  std::error_code fs_ec;
  const auto status = std::filesystem::symlink_status(path, fs_ec);
  if (std::filesystem::exists(status)) {
    if (!std::filesystem::is_socket(status)) {
      throw Error(Code::io_error, where + ": exists and is not a socket; refusing to replace it");
    }
    local::socket probe(io);
    beast::error_code ec;
    probe.connect(local::endpoint(where), ec);
    if (!ec) throw Error(Code::io_error, where + ": another okx-vaultd is already listening on this socket");
    std::filesystem::remove(path, fs_ec);  // stale: nobody is listening
  }

  Server::Acceptor acceptor(io);
  acceptor.open(local());
  // Created with `mode` from the start: the umask closes the window before chmod.
  const mode_t old_mask = ::umask(0777 & ~mode);
  beast::error_code ec;
  acceptor.bind(local::endpoint(where), ec);
  ::umask(old_mask);
  if (ec) throw Error(Code::io_error, where + ": cannot bind: " + ec.message());
  if (group && ::chown(where.c_str(), static_cast<uid_t>(-1), *group) != 0) {
    throw Error(Code::io_error, where + ": cannot give the socket to group " + std::to_string(*group));
  }
  if (::chmod(where.c_str(), mode) != 0) throw Error(Code::io_error, where + ": cannot set the socket's mode");
  acceptor.listen(asio::socket_base::max_listen_connections);
  return acceptor;
}

}  // namespace okxvault
