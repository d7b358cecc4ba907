#include "tests/integration/exchange_double.hpp"

#include <sodium.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <thread>

namespace okxvault::test {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

constexpr auto kMaxSkew = std::chrono::seconds(30);

// 2020-12-08T09:08:57.715Z, and nothing else, as OKX requires.
std::optional<std::chrono::system_clock::time_point> parse_timestamp(std::string_view text) {
  if (text.size() != 24) return std::nullopt;
  const std::string s(text);
  std::tm tm{};
  int millis = 0;
  char t = 0, dot = 0, z = 0;
  const int fields = std::sscanf(s.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d%c%3d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &t,
                                 &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &dot, &millis, &z);
  if (fields != 10 || t != 'T' || dot != '.' || z != 'Z') return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const std::time_t seconds = ::timegm(&tm);
  if (seconds == -1) return std::nullopt;
  return std::chrono::system_clock::from_time_t(seconds) + std::chrono::milliseconds(millis);
}

struct Verdict {
  std::string code;
  std::string msg;
};

Verdict check(const ExchangeAccount& account, const Request& request) {
  const std::string_view key = request["OK-ACCESS-KEY"];
  const std::string_view sign = request["OK-ACCESS-SIGN"];
  const std::string_view timestamp = request["OK-ACCESS-TIMESTAMP"];
  const std::string_view passphrase = request["OK-ACCESS-PASSPHRASE"];
  if (key.empty()) return {"50103", "Request header OK-ACCESS-KEY cannot be empty"};
  if (passphrase.empty()) return {"50104", "Request header OK-ACCESS-PASSPHRASE cannot be empty"};
  if (sign.empty()) return {"50106", "Request header OK-ACCESS-SIGN cannot be empty"};
  if (timestamp.empty()) return {"50107", "Request header OK-ACCESS-TIMESTAMP cannot be empty"};
  if (key != account.api_key) return {"50111", "Invalid OK-ACCESS-KEY"};
  const auto when = parse_timestamp(timestamp);
  if (!when) return {"50112", "Invalid OK-ACCESS-TIMESTAMP"};
  const auto skew = std::chrono::abs(std::chrono::system_clock::now() - *when);
  if (skew > kMaxSkew) return {"50102", "Timestamp request expired"};
  if (passphrase != account.passphrase) return {"50105", "Passphrase incorrect"};
  const bool simulated = request["x-simulated-trading"] == "1";
  if (simulated != account.simulated) return {"50101", "APIKey does not match current environment"};
  const std::string prehash =
      std::string(timestamp) + std::string(request.method_string()) + std::string(request.target()) + request.body();
  if (sign != okx_signature(account.secret, prehash)) return {"50113", "Invalid Sign"};
  return {"0", ""};
}

Response answer(const Request& request, const Verdict& verdict) {
  json::object body{{"code", verdict.code}, {"msg", verdict.msg}};
  if (verdict.code == "0") body["data"] = json::array();
  Response response{verdict.code == "0" ? http::status::ok : http::status::unauthorized, request.version()};
  response.set(http::field::content_type, "application/json");
  response.keep_alive(request.keep_alive());
  response.body() = json::serialize(body);
  response.prepare_payload();
  return response;
}

}  // namespace

struct ExchangeDouble::Server {
  explicit Server(ExchangeAccount a) : account(std::move(a)) {}

  // One connection: read a request, answer it, and again while kept alive.
  struct Session : std::enable_shared_from_this<Session> {
    Session(Server& s, tcp::socket socket) : server(s), stream(std::move(socket)) {}
    void read() {
      request = {};
      stream.expires_after(std::chrono::seconds(30));
      http::async_read(stream, buffer, request, [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (!ec) self->respond();
      });
    }
    void respond() {
      const Verdict verdict = check(server.account, request);
      {
        const std::lock_guard lock(server.mutex);
        server.seen.push_back(
            {std::string(request.method_string()), std::string(request.target()), request.body(), verdict.code});
      }
      response = answer(request, verdict);
      http::async_write(stream, response, [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (!ec && self->response.keep_alive()) self->read();
      });
    }
    Server& server;
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    Request request;
    Response response;
  };

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      std::make_shared<Session>(*this, std::move(socket))->read();
      accept();
    });
  }

  const ExchangeAccount account;
  asio::io_context io{1};
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::thread thread;
  mutable std::mutex mutex;
  std::vector<Seen> seen;
};

ExchangeDouble::ExchangeDouble(ExchangeAccount account) : server_(std::make_unique<Server>(std::move(account))) {
  port_ = server_->acceptor.local_endpoint().port();
  server_->accept();
  server_->thread = std::thread([server = server_.get()] { server->io.run(); });
}

ExchangeDouble::~ExchangeDouble() {
  server_->io.stop();
  server_->thread.join();
}

std::string ExchangeDouble::url(std::string_view target) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(target);
}

std::vector<ExchangeDouble::Seen> ExchangeDouble::seen() const {
  const std::lock_guard lock(server_->mutex);
  return server_->seen;
}

HttpReply http_request(const ExchangeDouble& exchange, std::string_view method, std::string_view target,
                       const HeaderList& headers, std::string_view body) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), exchange.port()));
  Request request{http::string_to_verb(method), target, 11};
  request.set(http::field::host, "127.0.0.1:" + std::to_string(exchange.port()));
  for (const auto& [name, value] : headers) request.set(name, value);
  if (!body.empty()) request.set(http::field::content_type, "application/json");
  request.body() = std::string(body);
  request.prepare_payload();
  http::write(stream, request);
  beast::flat_buffer buffer;
  Response response;
  http::read(stream, buffer, response);
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);

  HttpReply reply{static_cast<int>(response.result_int()), response.body(), {}};
  boost::system::error_code ec;
  const json::value parsed = json::parse(reply.body, ec);
  if (!ec && parsed.is_object()) {
    if (const json::value* code = parsed.get_object().if_contains("code"); code != nullptr && code->is_string()) {
      reply.code = code->get_string();
    }
  }
  return reply;
}

}  // namespace okxvault::test
