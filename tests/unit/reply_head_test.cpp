// The head the server writes before a reply's body: byte for byte what Beast's
// own serializer writes, for every kind of reply the daemon makes.

#include "daemon/net/reply_head.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "daemon/api/handler.hpp"

namespace okxvault {
namespace {
namespace http = boost::beast::http;

// The whole reply as Beast serializes it.
std::string serialized(const Response& response) {
  std::ostringstream out;
  out << response;
  return out.str();
}

Response reply(http::status status, unsigned version, bool keep_alive, std::string body) {
  Response response{status, version};
  response.keep_alive(keep_alive);
  if (!body.empty()) response.set(http::field::content_type, "application/json");
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

TEST(ReplyHead, IsWhatBeastsSerializerWritesBeforeTheBody) {
  std::vector<std::pair<std::string, Response>> cases = {
      {"sign reply", reply(http::status::ok, 11, true, R"({"timestamp":"2020-12-08T09:08:57.715Z","headers":{}})")},
      {"no content", reply(http::status::no_content, 11, true, "")},
      {"created", reply(http::status::created, 11, true, R"({"name":"main"})")},
      {"HTTP/1.0 keep-alive", reply(http::status::ok, 10, true, "{}")},
      {"HTTP/1.0 close", reply(http::status::ok, 10, false, "{}")},
      {"closing", reply(http::status::ok, 11, false, "{}")},
      {"error",
       Handler::error_response(Error(Code::headers_too_large, "request headers exceed 8192 bytes"), 11, false)},
      {"busy", Handler::error_response(Error(Code::too_many_connections, "try again later"), 11, false)},
      {"locked", Handler::error_response(Error(Code::vault_locked, "the vault is locked"), 10, true)},
  };
  Response allowed = Handler::error_response(Error(Code::method_not_allowed, "not here"), 11, true);
  allowed.set(http::field::allow, "GET, POST");
  cases.emplace_back("with Allow", std::move(allowed));
  Response metrics = reply(http::status::ok, 11, true, "okxvault_locked 0\n");
  metrics.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  cases.emplace_back("metrics", std::move(metrics));

  std::string head = "left over from the reply before, and longer than any head here: " + std::string(500, 'x');
  for (const auto& [name, response] : cases) {
    SCOPED_TRACE(name);
    write_head(response, head);
    EXPECT_EQ(head + std::string(response.body()), serialized(response));
    EXPECT_TRUE(head.ends_with("\r\n\r\n"));
  }
}

}  // namespace
}  // namespace okxvault
