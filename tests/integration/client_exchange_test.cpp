// The C++ client library against a real okx-vaultd, its signatures checked by
// the exchange double; and the double itself, so that a pass means something.

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>

#include "client/client.hpp"
#include "tests/integration/exchange_double.hpp"
#include "tests/support/process.hpp"

namespace okxvault::test {
namespace {

constexpr char kApiKey[] = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";
constexpr char kSecret[] = "CLIENT-SECRET-7d3e9a1b5c";
constexpr char kPassphrase[] = "client-Passphrase-42";

std::string iso8601_ms(std::chrono::system_clock::time_point when) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return text;
}

class ClientExchangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    proto::AddKeyRequest add;
    add.name = "bot";
    add.api_key = kApiKey;
    add.secret = SecretBytes::copy_of(std::string_view(kSecret));
    add.passphrase = SecretBytes::copy_of(std::string_view(kPassphrase));
    const proto::KeyInfo info = client_.add(add);
    ASSERT_EQ(info.name, "bot");
  }

  HttpReply send(std::string_view method, std::string_view target, std::string_view body = {}) {
    const proto::SignReply reply =
        client_.sign("bot", {std::string(method), std::string(target), std::string(body), {}});
    return http_request(exchange_, method, target, reply.headers, body);
  }

  TempDir dir_;
  Daemon daemon_{dir_.path()};
  Client client_{daemon_.socket().string()};
  ExchangeDouble exchange_{{kApiKey, kSecret, kPassphrase}};
};

TEST_F(ClientExchangeTest, SignedGetWithQueryIsAccepted) {
  const HttpReply reply = send("GET", "/api/v5/account/balance?ccy=BTC,ETH");
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.body, R"({"code":"0","msg":"","data":[]})");
}

TEST_F(ClientExchangeTest, SignedPostWithJsonBodyIsAccepted) {
  const std::string body =
      R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","px":"2.15","sz":"2"})";
  EXPECT_EQ(send("POST", "/api/v5/trade/order", body).code, "0");
}

TEST_F(ClientExchangeTest, BodyChangedAfterSigningIsAnInvalidSign) {
  const std::string target = "/api/v5/trade/order";
  const proto::SignReply reply = client_.sign("bot", {"POST", target, R"({"instId":"BTC-USDT","sz":"1"})", {}});
  const HttpReply tampered =
      http_request(exchange_, "POST", target, reply.headers, R"({"instId":"BTC-USDT","sz":"9"})");
  EXPECT_EQ(tampered.status, 401);
  EXPECT_EQ(tampered.code, "50113") << tampered.body;
  const HttpReply other_path =
      http_request(exchange_, "POST", "/api/v5/trade/cancel-order", reply.headers, R"({"instId":"BTC-USDT","sz":"1"})");
  EXPECT_EQ(other_path.code, "50113") << "the path is signed too";
}

TEST_F(ClientExchangeTest, WsLoginFrameSignsTheVerifyPath) {
  const proto::WsLoginFrame frame = proto::decode_ws_login_frame(client_.ws_login("bot"));
  EXPECT_EQ(frame.api_key, kApiKey);
  EXPECT_EQ(frame.sign, okx_signature(kSecret, frame.timestamp + "GET" + "/users/self/verify"));
}

// The double rejects what OKX rejects; otherwise an accepted request would prove nothing.
TEST(ExchangeDoubleTest, RejectsWhatOkxRejects) {
  ExchangeDouble exchange({kApiKey, kSecret, kPassphrase});
  const std::string target = "/api/v5/account/balance";
  auto headers = [&](std::chrono::system_clock::time_point when, std::string passphrase, std::string secret) {
    const std::string ts = iso8601_ms(when);
    return HeaderList{{"OK-ACCESS-KEY", kApiKey},
                      {"OK-ACCESS-SIGN", okx_signature(secret, ts + "GET" + target)},
                      {"OK-ACCESS-TIMESTAMP", ts},
                      {"OK-ACCESS-PASSPHRASE", std::move(passphrase)}};
  };
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(http_request(exchange, "GET", target, headers(now, kPassphrase, kSecret)).code, "0");
  const HttpReply stale =
      http_request(exchange, "GET", target, headers(now - std::chrono::seconds(31), kPassphrase, kSecret));
  EXPECT_EQ(stale.status, 401);
  EXPECT_EQ(stale.body, R"({"code":"50102","msg":"Timestamp request expired"})");
  EXPECT_EQ(http_request(exchange, "GET", target, headers(now + std::chrono::seconds(31), kPassphrase, kSecret)).code,
            "50102");
  EXPECT_EQ(http_request(exchange, "GET", target, headers(now, "wrong", kSecret)).body,
            R"({"code":"50105","msg":"Passphrase incorrect"})");
  EXPECT_EQ(http_request(exchange, "GET", target, headers(now, kPassphrase, "wrong")).body,
            R"({"code":"50113","msg":"Invalid Sign"})");
  EXPECT_EQ(http_request(exchange, "GET", target, {}).code, "50103");
  EXPECT_EQ(exchange.seen().size(), 6u);
}

}  // namespace
}  // namespace okxvault::test
