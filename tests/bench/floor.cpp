// okxv-floor: the floor of okx-vaultd's stack. An HTTP/1.1 server over a Unix
// socket built the way the daemon's is (one io_context per I/O thread, one per
// CPU the process may run on; Beast's request parser per request; the reply's
// head and body in one gather write), that answers every request with the same
// JSON body and does nothing else: no handler, no signing, no audit. What the
// daemon costs beyond it is its own work; what it costs beyond nginx is the stack's.
//
//   okxv-floor --socket PATH --body-bytes N

#include <array>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/net/event_loops.hpp"
#include "daemon/net/reply_head.hpp"
#include "daemon/net/server.hpp"
#include "daemon/service/options.hpp"

namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Socket = asio::local::stream_protocol::socket::rebind_executor<asio::io_context::executor_type>::other;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Socket socket, const okxvault::Response& reply) : socket_(std::move(socket)), reply_(reply) {
    okxvault::write_head(reply_, head_);
    socket_.non_blocking(true);
  }

  void read() {
    parser_.emplace();
    parse();
  }

 private:
  void read_more() {
    socket_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      self->buffer_.commit(n);
      if (!ec) self->parse();
    });
  }

  // As the daemon does: the header, then the body, each as far as the bytes go.
  void parse() {
    while (!parser_->is_done()) {
      if (buffer_.size() == 0) return read_more();
      beast::error_code ec;
      buffer_.consume(parser_->put(buffer_.data(), ec));
      if (ec == http::error::need_more) return read_more();
      if (ec) return;
    }
    const std::array<asio::const_buffer, 2> bytes{asio::buffer(head_), asio::buffer(reply_.body())};
    beast::error_code write_ec;
    const std::size_t sent = socket_.write_some(bytes, write_ec);
    if (!write_ec && sent == head_.size() + reply_.body().size()) return read();
    std::fprintf(stderr, "okxv-floor: a reply did not go out at once; the floor assumes it does\n");
  }

  Socket socket_;
  const okxvault::Response& reply_;
  std::string head_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

void accept(okxvault::Server::Acceptor& acceptor, okxvault::EventLoops& loops, std::size_t next,
            const okxvault::Response& reply) {
  asio::io_context& loop = loops.at(next % loops.size());
  acceptor.async_accept(loop, [&acceptor, &loops, next, &reply](beast::error_code ec, Socket socket) {
    if (ec) return;
    std::make_shared<Connection>(std::move(socket), reply)->read();
    accept(acceptor, loops, next + 1, reply);
  });
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket;
  std::size_t body_bytes = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view arg = argv[i];
    if (arg == "--socket") socket = argv[i + 1];
    if (arg == "--body-bytes") body_bytes = std::strtoul(argv[i + 1], nullptr, 10);
  }
  if (socket.empty() || body_bytes < 8) {
    std::fprintf(stderr, "usage: okxv-floor --socket PATH --body-bytes N (N >= 8)\n");
    return 2;
  }
  okxvault::Response reply{http::status::ok, 11};
  reply.set(http::field::content_type, "application/json");
  reply.body() = "{\"x\":\"" + std::string(body_bytes - 8, 'a') + "\"}";
  reply.prepare_payload();

  okxvault::EventLoops loops(okxvault::usable_cpus());
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> running;
  for (std::size_t i = 0; i < loops.size(); ++i) running.push_back(asio::make_work_guard(loops.at(i)));
  auto acceptor = okxvault::bind_unix_socket(loops.main(), socket, 0600, std::nullopt);
  accept(acceptor, loops, 0, reply);
  loops.run();
}
