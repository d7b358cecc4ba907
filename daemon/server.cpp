#include "daemon/server.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <spdlog/spdlog.h>

#include "proto/messages.hpp"

namespace okxvault {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using local = asio::local::stream_protocol;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<Server> server, local::socket socket)
      : server_(std::move(server)), stream_(std::move(socket)) {
    server_->enter(this);
  }
  ~Session() { server_->leave(this); }

  void start() {
    peer_ = identify_peer(stream_.socket().native_handle());
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->wait_for_request(); });
  }

  // Answers 503 and closes: the server is at its connection limit.
  void reject() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->metrics().count_error(Code::too_many_connections);
      self->response_ = Handler::error_response(
          Error(Code::too_many_connections, "the daemon is at its connection limit; try again later"), 11, false);
      self->write();
    });
  }

  // From Server::stop(): an idle connection closes now, a busy one after its reply.
  void stop() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->stopping_ = true;
      if (self->idle_) self->stream_.socket().close();
    });
  }

 private:
  // Between requests the connection may idle for idle_timeout; once the first
  // byte of a request arrives, the whole request must follow within request_timeout.
  void wait_for_request() {
    if (stopping_) return close();
    if (buffer_.size() > 0) return read_request();  // pipelined bytes already here
    idle_ = true;
    stream_.expires_after(server_->limits_.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      self->idle_ = false;
      if (ec) return self->close();
      self->buffer_.commit(n);
      self->read_request();
    });
  }

  void read_request() {
    parser_.emplace();
    parser_->header_limit(proto::kMaxHeaderBytes);
    parser_->body_limit(proto::kMaxBodyBytes);
    stream_.expires_after(server_->limits_.request_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit) return fail(Code::payload_too_large, "request body exceeds 65536 bytes");
    if (ec == http::error::header_limit) return fail(Code::headers_too_large, "request headers exceed 8192 bytes");
    if (ec == beast::error::timeout) return close();
    if (ec == http::error::end_of_stream || ec == asio::error::eof) return close();
    if (ec) return fail(Code::bad_request, "malformed HTTP request: " + ec.message());

    Request request = parser_->release();
    read_at_ = std::chrono::steady_clock::now();
    std::chrono::milliseconds hold{0};
    response_ = server_->handler_.handle(request, peer_, server_->channel_.admin, &hold);
    if (stopping_) response_.keep_alive(false);
    wipe(request.body());
    if (hold.count() == 0) return write();
    // A wrong passphrase: its reply waits, without keeping an I/O thread.
    hold_timer_.expires_after(hold);
    hold_timer_.async_wait([self = shared_from_this()](beast::error_code) { self->write(); });
  }

  // A request that could not be read is answered once, then the connection closes:
  // whatever follows it on the wire cannot be trusted to start a new request.
  void fail(Code code, const std::string& message) {
    metrics().count_error(code);
    read_at_.reset();
    response_ = Handler::error_response(Error(code, message), 11, false);
    write();
  }

  void write() {
    stream_.expires_after(server_->limits_.request_timeout);
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      const bool keep_alive = self->response_.keep_alive();
      wipe(self->response_.body());  // a sign reply carries the passphrase
      if (self->read_at_) self->metrics().observe_request(std::chrono::steady_clock::now() - *self->read_at_);
      if (ec || !keep_alive) return self->close();
      self->wait_for_request();
    });
  }

  Metrics& metrics() const { return server_->handler_.metrics(); }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(local::socket::shutdown_both, ignored);
    stream_.close();
  }

  std::shared_ptr<Server> server_;
  beast::basic_stream<local> stream_;
  asio::steady_timer hold_timer_{stream_.get_executor()};
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Response response_;
  Peer peer_;
  std::optional<std::chrono::steady_clock::time_point> read_at_;  // of the request being answered
  bool idle_ = false;
  bool stopping_ = false;
};

Server::Server(asio::io_context& io, const Handler& handler, Acceptor acceptor, ServerLimits limits, Channel channel)
    : io_(io),
      handler_(handler),
      strand_(asio::make_strand(io)),
      acceptor_(std::move(acceptor)),
      limits_(limits),
      channel_(channel) {}

void Server::start() {
  asio::dispatch(strand_, [self = shared_from_this()] { self->accept(); });
}

void Server::accept() {
  acceptor_.async_accept(asio::make_strand(io_), asio::bind_executor(strand_, [self = shared_from_this()](
                                                                              beast::error_code ec,
                                                                              local::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      spdlog::warn("accept failed: {}", ec.message());
    } else {
      const bool full = self->connections() >= self->limits_.max_connections;
      auto session = std::make_shared<Session>(self, std::move(socket));
      if (full) {
        spdlog::warn("connection limit {} reached; refusing a connection", self->limits_.max_connections);
        session->reject();
      } else {
        session->start();
      }
    }
    std::lock_guard lock(self->mutex_);
    if (!self->stopping_) self->accept();
  }));
}

void Server::stop() {
  std::vector<std::shared_ptr<Session>> sessions;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (Session* session : sessions_) {
      if (auto alive = session->weak_from_this().lock()) sessions.push_back(std::move(alive));
    }
  }
  asio::post(strand_, [self = shared_from_this()] {
    beast::error_code ignored;
    self->acceptor_.close(ignored);
  });
  for (auto& session : sessions) session->stop();
}

std::size_t Server::connections() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

void Server::enter(Session* session) {
  handler_.metrics().connection_opened();
  std::lock_guard lock(mutex_);
  sessions_.insert(session);
}

void Server::leave(Session* session) {
  handler_.metrics().connection_closed();
  std::lock_guard lock(mutex_);
  sessions_.erase(session);
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
