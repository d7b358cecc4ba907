// Trading limits through the real daemon and CLI: a bot user (a real system
// user, its requests sent by curl under its own uid) holds a grant with limits
// made by `okx-vault grant`. Allowed orders are signed; every kind of violation
// is refused with its rule, leaves an audit record, counts in the metrics and
// gets no signature.

#include <unistd.h>

#include <gtest/gtest.h>
#include <boost/json.hpp>
#include <chrono>
#include <sstream>
#include <thread>

#include "client/client.hpp"
#include "tests/support/audit_lines.hpp"
#include "tests/support/process.hpp"
#include "tests/support/reference_sign.hpp"

namespace okxvault {
namespace {
namespace json = boost::json;

constexpr const char* kBot = "okxv-test-bot1";
constexpr const char* kClientsGroup = "okxv-test-cli";
constexpr std::string_view kSecret = "4C1F0C9A8B7D6E5F4A3B2C1D0E9F8A7B";
constexpr std::string_view kPassphrase = "Limits#Pass42";

const std::string kLimitBuy =
    R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.05","px":"60000"})";

struct Reply {
  int status = 0;
  json::value body;
  std::string text;
};

class LimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: creates a system user and signs as it";
    test::ensure_system_user(kBot, {kClientsGroup});
    ::chmod(dir_.path().c_str(), 0711);
    daemon_ = std::make_unique<test::Daemon>(dir_.path(), std::vector<std::string>{"--socket-group", kClientsGroup});
    Client(daemon_->socket().string())
        .add({"main", "ak-limits-1", SecretBytes::copy_of(kSecret), SecretBytes::copy_of(kPassphrase), false});
  }

  test::Output cli(std::vector<std::string> args) {
    args.insert(args.begin(), {test::cli_binary(), "--socket", daemon_->socket().string()});
    return test::run(args);
  }

  // The spot bot of the README.
  void grant_spot(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"grant",          "main",
                                  "--user",         kBot,
                                  "--inst",         "BTC-USDT",
                                  "--inst",         "ETH-USDT-SWAP",
                                  "--max-sz",       "BTC-USDT=0.1",
                                  "--max-sz",       "ETH-USDT-SWAP=10",
                                  "--px-range",     "BTC-USDT=20000:200000",
                                  "--ord-types",    "limit,post_only,market,conditional",
                                  "--sides",        "buy,sell",
                                  "--td-modes",     "cash,cross",
                                  "--max-leverage", "5"};
    args.insert(args.end(), extra.begin(), extra.end());
    const test::Output out = cli(args);
    ASSERT_EQ(out.exit_code, 0) << out.out << out.err;
  }

  Reply sign(const std::string& method, const std::string& path, const std::string& body = {}) {
    json::object request{{"method", method}, {"path", path}};
    if (!body.empty()) request["body"] = body;
    return send("/v1/keys/main/sign", json::serialize(request));
  }

  Reply send(const std::string& target, const std::string& body) {
    const test::CurlReply out = test::curl_as(kBot, daemon_->socket(), "POST", target, body);
    responses_ += out.body + "\n";
    return {out.status, out.body.empty() ? json::value() : json::parse(out.body), out.body};
  }

  static std::string rule_of(const Reply& reply) {
    const json::value* rule = reply.body.is_object() ? reply.body.as_object().if_contains("error") : nullptr;
    return rule != nullptr ? std::string(rule->at("rule").as_string()) : std::string("(no error: ") + reply.text + ")";
  }

  // A refusal: the status, the code, the rule, and no signature.
  void expect_refused(const Reply& reply, int status, const std::string& rule) {
    EXPECT_EQ(reply.status, status) << reply.text;
    EXPECT_EQ(rule_of(reply), rule);
    EXPECT_EQ(reply.text.find("OK-ACCESS-SIGN"), std::string::npos) << "a refusal carries no signature";
  }

  std::string metrics() { return Client(daemon_->socket().string()).request("GET", "/v1/metrics").body; }

  // Stops the daemon and expects each record ("sign main deny RULE") in its audit log.
  void expect_audited(const std::vector<std::string>& records) {
    daemon_->stop();
    const std::vector<std::string> audit = test::audit_lines(daemon_->state_dir() / "audit.log");
    for (const std::string& record : records) {
      EXPECT_NE(std::find(audit.begin(), audit.end(), record), audit.end()) << record;
    }
  }

  // The words of `text`, none of which holds a space.
  static std::vector<std::string> words(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> out;
    for (std::string word; in >> word;) out.push_back(word);
    return out;
  }

  test::TempDir dir_;
  std::unique_ptr<test::Daemon> daemon_;
  std::string responses_;
};

TEST_F(LimitsTest, AnAllowedOrderIsSignedAsOkxVerifies) {
  grant_spot();
  const Reply reply = sign("POST", "/api/v5/trade/order", kLimitBuy);
  ASSERT_EQ(reply.status, 200) << reply.text;
  EXPECT_EQ(reply.body.at("headers").at("OK-ACCESS-SIGN").as_string(),
            test::okx_signature(kSecret, std::string(reply.body.at("timestamp").as_string()) +
                                             "POST/api/v5/trade/order" + kLimitBuy));
  EXPECT_EQ(sign("GET", "/api/v5/account/balance?ccy=BTC").status, 200) << "reads pass";
  EXPECT_EQ(sign("POST", "/api/v5/trade/cancel-order", R"({"instId":"DOGE-USDT","ordId":"1"})").status, 200)
      << "cancels pass";
  const Reply batch = sign("POST", "/api/v5/trade/batch-orders", "[" + kLimitBuy + "," + kLimitBuy + "]");
  EXPECT_EQ(batch.status, 200) << batch.text;
}

// The README's spot bot: orders of SPOT instruments only, and it amends them
// (an amend says no tdMode, so a pair's amend passes under SPOT or MARGIN).
TEST_F(LimitsTest, TheReadmeSpotBotPlacesAndAmendsSpotOrdersOnly) {
  const test::Output out = cli(words(
      "grant main --user " + std::string(kBot) +
      " --inst BTC-USDT --inst ETH-USDT --inst-type SPOT --max-sz BTC-USDT=0.05 "
      "--max-sz ETH-USDT=1 --px-range BTC-USDT=20000:200000 --px-range ETH-USDT=1000:20000 --ord-types limit,post_only "
      "--sides buy,sell --td-modes cash --orders-per-minute 30"));
  ASSERT_EQ(out.exit_code, 0) << out.out << out.err;
  EXPECT_EQ(sign("POST", "/api/v5/trade/order", kLimitBuy).status, 200);
  const std::string amend = R"({"instId":"BTC-USDT","ordId":"1","newSz":"0.04","newPx":"61000"})";
  const Reply amended = sign("POST", "/api/v5/trade/amend-order", amend);
  EXPECT_EQ(amended.status, 200) << amended.text;
  EXPECT_EQ(sign("POST", "/api/v5/trade/amend-batch-orders", "[" + amend + "," + amend + "]").status, 200);
  EXPECT_EQ(sign("POST", "/api/v5/trade/amend-algos", R"({"instId":"ETH-USDT","algoId":"1","newSz":"0.5"})").status,
            200);
  const std::string who = std::string("user ") + kBot + ": ";
  expect_refused(sign("POST", "/api/v5/trade/amend-order", R"({"instId":"BTC-USDT","ordId":"1","newSz":"0.5"})"), 403,
                 who + "newSz 0.5 > max 0.05 for BTC-USDT");
  expect_refused(
      sign("POST", "/api/v5/trade/order",
           R"({"instId":"BTC-USDT","tdMode":"cross","side":"buy","ordType":"limit","sz":"0.05","px":"60000"})"),
      403, who + "instType MARGIN (BTC-USDT) not allowed");
}

// The README's swap bot, and the refusals the README shows for it.
TEST_F(LimitsTest, TheReadmeSwapBotIsRefusedAsTheReadmeSays) {
  const test::Output out = cli(words(
      "grant main --user " + std::string(kBot) +
      " --inst ETH-USDT-SWAP --inst BTC-USDT-SWAP --inst-type SWAP --max-sz ETH-USDT-SWAP=10 --max-sz BTC-USDT-SWAP=10 "
      "--ord-types limit,post_only,market,conditional,oco --td-modes cross --max-leverage 3 --orders-per-minute 60"));
  ASSERT_EQ(out.exit_code, 0) << out.out << out.err;
  const auto order = [](const char* sz) {
    return std::string(R"({"instId":"ETH-USDT-SWAP","tdMode":"cross","side":"buy","ordType":"limit","sz":")") + sz +
           R"(","px":"2000"})";
  };
  const std::string who = std::string("user ") + kBot + ": ";
  EXPECT_EQ(sign("POST", "/api/v5/trade/batch-orders", "[" + order("1") + "," + order("10") + "]").status, 200);
  expect_refused(sign("POST", "/api/v5/trade/batch-orders",
                      "[" + order("1") + "," + order("20") + "," + order("1") + "]"),
                 403, who + "order 2 of 3: sz 20 > max 10 for ETH-USDT-SWAP");
  expect_refused(sign("POST", "/api/v5/account/set-leverage",
                      R"({"instId":"ETH-USDT-SWAP","lever":"20","mgnMode":"cross"})"),
                 403, who + "lever 20 > max 3");
}

TEST_F(LimitsTest, EachViolationIsRefusedWithItsRuleAuditedAndCounted) {
  grant_spot();
  struct Case {
    std::string path;
    std::string body;
    std::string rule;
    std::string metric;
  };
  const std::string who = std::string("user ") + kBot + ": ";
  const std::vector<Case> cases{
      {"/api/v5/trade/order",
       R"({"instId":"SCAM-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"1","px":"1"})",
       who + "instId SCAM-USDT not allowed", "inst"},
      {"/api/v5/trade/order",
       R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"5","px":"60000"})",
       who + "sz 5 > max 0.1 for BTC-USDT", "max_sz"},
      {"/api/v5/trade/order",
       R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.1","px":"6000000"})",
       who + "px 6000000 > max 200000 for BTC-USDT", "px_range"},
      {"/api/v5/trade/order",
       R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"fok","sz":"0.1","px":"60000"})",
       who + "ordType fok not allowed", "ord_type"},
      {"/api/v5/trade/order",
       R"({"instId":"BTC-USDT","tdMode":"isolated","side":"buy","ordType":"limit","sz":"0.1","px":"60000"})",
       who + "tdMode isolated not allowed", "td_mode"},
      {"/api/v5/account/set-leverage", R"({"instId":"ETH-USDT-SWAP","lever":"100","mgnMode":"cross"})",
       who + "lever 100 > max 5", "max_leverage"},
      {"/api/v5/trade/order",
       R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.1","px":"60000","sz":"50"})",
       who + "body refused at byte 92: a member name given twice", "body"},
      {"/api/v5/trade/order",
       R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","px":"60000","s\u007a":"50"})",
       who + "body refused at byte 83: a backslash escape in a string", "body"},
      {"/api/v5/trade/order",
       R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":50,"px":"60000"})",
       who + "sz must be a JSON string, as OKX documents it", "body"},
      {"/api/v5/trade/order?sz=50", kLimitBuy,
       who + "a query string on a POST; OKX reads a POST's parameters from its body", "body"},
      {"/api/v5/asset/convert/trade", R"({"quoteId":"1"})",
       who + "POST /api/v5/asset/convert/trade is not an endpoint the vault reads under trading limits; an allow rule "
             "naming it exactly permits it",
       "endpoint"},
  };
  for (const Case& c : cases) expect_refused(sign("POST", c.path, c.body), 403, c.rule);

  const std::string counted = metrics();
  for (const char* rule : {"inst", "max_sz", "px_range", "ord_type", "td_mode", "max_leverage", "endpoint"}) {
    EXPECT_NE(counted.find(std::string("okxvault_limit_refusals_total{rule=\"") + rule + "\"} 1\n"), std::string::npos)
        << rule << "\n"
        << counted;
  }
  EXPECT_NE(counted.find("okxvault_limit_refusals_total{rule=\"body\"} 4\n"), std::string::npos) << counted;

  daemon_->stop();
  const std::vector<std::string> audit = test::audit_lines(daemon_->state_dir() / "audit.log");
  for (const Case& c : cases) {
    EXPECT_NE(std::find(audit.begin(), audit.end(), "sign main deny " + c.rule), audit.end()) << c.rule;
  }
}

TEST_F(LimitsTest, ABatchWithOneBadOrderIsRefusedWhole) {
  grant_spot();
  const std::string bad =
      R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"9","px":"60000"})";
  const std::string rule = std::string("user ") + kBot + ": order 2 of 3: sz 9 > max 0.1 for BTC-USDT";
  expect_refused(sign("POST", "/api/v5/trade/batch-orders", "[" + kLimitBuy + "," + bad + "," + kLimitBuy + "]"), 403,
                 rule);
  expect_audited({"sign main deny " + rule});
}

TEST_F(LimitsTest, ReduceOnlyAndSidesHold) {
  const test::Output out = cli({"grant", "main", "--user", kBot, "--sides", "sell", "--reduce-only"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const std::string sell = R"({"instId":"ETH-USDT-SWAP","tdMode":"cross","side":"sell","ordType":"market","sz":"1")";
  EXPECT_EQ(sign("POST", "/api/v5/trade/order", sell + R"(,"reduceOnly":true})").status, 200);
  expect_refused(sign("POST", "/api/v5/trade/order", sell + "}"), 403,
                 std::string("user ") + kBot + ": reduceOnly true required");
  expect_refused(
      sign("POST", "/api/v5/trade/order",
           R"({"instId":"ETH-USDT-SWAP","tdMode":"cross","side":"buy","ordType":"market","sz":"1","reduceOnly":true})"),
      403, std::string("user ") + kBot + ": side buy not allowed");
  // Only where OKX holds an order to reduceOnly: margin, and net mode or the closing side.
  const std::string reduce =
      R"({"instId":"ETH-USDT-SWAP","side":"sell","ordType":"market","sz":"1","reduceOnly":true,)";
  EXPECT_EQ(sign("POST", "/api/v5/trade/order", reduce + R"("tdMode":"isolated","posSide":"long"})").status, 200);
  expect_refused(sign("POST", "/api/v5/trade/order", reduce + R"("tdMode":"cash"})"), 403,
                 std::string("user ") + kBot +
                     ": tdMode cash: reduceOnly holds at OKX only in tdMode cross or isolated");
  expect_refused(sign("POST", "/api/v5/trade/order", reduce + R"("tdMode":"cross","posSide":"short"})"), 403,
                 std::string("user ") + kBot +
                     ": side sell with posSide short opens a position (OKX ignores reduceOnly with posSide); "
                     "reduce-only allows sell long and buy short");
  const std::string counted = metrics();
  EXPECT_NE(counted.find("okxvault_limit_refusals_total{rule=\"reduce_only\"} 3\n"), std::string::npos) << counted;
  EXPECT_NE(counted.find("okxvault_limit_refusals_total{rule=\"side\"} 1\n"), std::string::npos) << counted;
  const std::string who = std::string("sign main deny user ") + kBot + ": ";
  expect_audited({who + "reduceOnly true required", who + "side buy not allowed",
                  who + "tdMode cash: reduceOnly holds at OKX only in tdMode cross or isolated"});
}

TEST_F(LimitsTest, NoWebSocketLoginUnderLimits) {
  grant_spot({"--ws"});
  const Reply reply = send("/v1/keys/main/ws-login", "{}");
  EXPECT_EQ(reply.status, 403) << reply.text;
  EXPECT_NE(rule_of(reply).find("trading limits exclude WebSocket login"), std::string::npos) << rule_of(reply);
  EXPECT_EQ(reply.text.find("\"sign\""), std::string::npos);
  EXPECT_NE(metrics().find("okxvault_limit_refusals_total{rule=\"ws\"} 1\n"), std::string::npos);
  expect_audited({"ws-login main deny " + rule_of(reply)});
}

// Each curl is its own connection; the count is the grant's, across them, and a
// minute later it is free again.
TEST_F(LimitsTest, TheOrdersPerMinuteHoldAcrossConnectionsAndThenReset) {
  grant_spot({"--orders-per-minute", "3"});
  ASSERT_EQ(sign("POST", "/api/v5/trade/batch-orders", "[" + kLimitBuy + "," + kLimitBuy + "]").status, 200);
  const auto first = std::chrono::steady_clock::now();
  ASSERT_EQ(sign("POST", "/api/v5/trade/order", kLimitBuy).status, 200);
  const Reply over = sign("POST", "/api/v5/trade/order", kLimitBuy);
  expect_refused(over, 429, std::string("user ") + kBot + ": more than 3 orders per minute");
  EXPECT_EQ(over.body.at("error").at("code").as_string(), "rate_limited");
  EXPECT_EQ(sign("POST", "/api/v5/trade/cancel-order", R"({"instId":"BTC-USDT","ordId":"1"})").status, 200)
      << "cancels are not orders";
  EXPECT_EQ(sign("GET", "/api/v5/account/balance").status, 200);
  std::this_thread::sleep_until(first + std::chrono::seconds(62));
  EXPECT_EQ(
      sign("POST", "/api/v5/trade/batch-orders", "[" + kLimitBuy + "," + kLimitBuy + "," + kLimitBuy + "]").status, 200)
      << "a minute later the count is free";
  EXPECT_NE(metrics().find("okxvault_limit_refusals_total{rule=\"rate\"} 1\n"), std::string::npos);
  expect_audited({std::string("sign main deny user ") + kBot + ": more than 3 orders per minute"});
}

TEST_F(LimitsTest, AnEndpointNamedByAnAllowRulePasses) {
  grant_spot({"--allow", "POST /api/v5/account/set-position-mode", "--allow", "GET /api/v5/", "--allow",
              "POST /api/v5/trade/"});
  EXPECT_EQ(sign("POST", "/api/v5/account/set-position-mode", R"({"posMode":"net_mode"})").status, 200);
  expect_refused(sign("POST", "/api/v5/trade/order-precheck", kLimitBuy), 403,
                 std::string("user ") + kBot +
                     ": POST /api/v5/trade/order-precheck is not an endpoint the vault reads under trading limits; an "
                     "allow rule naming it exactly permits it");
}

// The bot is in a group that holds a plain grant on the key: its own grant's
// limits still hold, since a grant without limits never widens one with them.
TEST_F(LimitsTest, APlainGrantToTheBotsGroupDoesNotLiftItsLimits) {
  grant_spot();
  const test::Output group = cli({"grant", "main", "--group", kClientsGroup});
  ASSERT_EQ(group.exit_code, 0) << group.out << group.err;
  expect_refused(sign("POST", "/api/v5/trade/order",
                      R"({"instId":"SCAM-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"1","px":"1"})"),
                 403, std::string("user ") + kBot + ": instId SCAM-USDT not allowed");
  expect_refused(sign("POST", "/api/v5/asset/convert/trade", R"({"quoteId":"1"})"), 403,
                 std::string("user ") + kBot +
                     ": POST /api/v5/asset/convert/trade is not an endpoint the vault reads under trading limits; an "
                     "allow rule naming it exactly permits it");
  EXPECT_EQ(sign("POST", "/api/v5/trade/order", kLimitBuy).status, 200);
}

TEST_F(LimitsTest, ResponsesNeverCarryTheSecret) {
  grant_spot();
  sign("POST", "/api/v5/trade/order", kLimitBuy);
  sign("POST", "/api/v5/trade/order", R"({"instId":"SCAM-USDT"})");
  EXPECT_EQ(responses_.find(kSecret), std::string::npos);
  daemon_->stop();
  EXPECT_EQ(daemon_->log().find(kSecret), std::string::npos);
}

// A client that does not know trading limits rewrites all of a key's grants to
// change one: it leaves "limits" out, and must not drop another grant's limits.
TEST_F(LimitsTest, AClientThatDoesNotKnowLimitsCannotDropThem) {
  grant_spot();
  Client admin(daemon_->socket().string());
  const std::string without = std::string(R"({"grants":[{"user":")") + kBot + R"(","allow":["GET /api/v5/"]}]})";
  const auto refused = admin.request("PUT", "/v1/keys/main/grants", without);
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_NE(refused.body.find("has trading limits, and this request does not say them"), std::string::npos)
      << refused.body;
  ASSERT_EQ(admin.grants("main").size(), 1U);
  EXPECT_TRUE(admin.grants("main")[0].limits.has_value()) << "the limits stay";
  expect_refused(sign("POST", "/api/v5/trade/order", R"({"instId":"SCAM-USDT"})"), 403,
                 std::string("user ") + kBot + ": instId SCAM-USDT not allowed");

  const std::string removed = std::string(R"({"grants":[{"user":")") + kBot + R"(","limits":null}]})";
  EXPECT_EQ(admin.request("PUT", "/v1/keys/main/grants", removed).status, 200);
  EXPECT_FALSE(admin.grants("main")[0].limits.has_value()) << "null removes them";
}

// The reader's bounds, through the daemon: a near-limit body of many small
// objects, and one nested past OKX's depth, are refused as bodies, and the
// daemon goes on answering.
TEST_F(LimitsTest, BodiesOfManySmallObjectsOrDeepNestingAreRefusedAndTheDaemonGoesOn) {
  grant_spot();
  std::string many = "[";
  for (int i = 0; i < 64; ++i) {
    many += i == 0 ? "{" : ",{";
    for (int m = 0; m < 40; ++m) many += (m == 0 ? "\"m" : ",\"m") + std::to_string(m) + "\":{}";
    many += "}";
  }
  many += "]";
  ASSERT_LT(many.size(), 60'000U);
  const Reply wide = sign("POST", "/api/v5/trade/batch-orders", many);
  EXPECT_EQ(wide.status, 403) << wide.text.substr(0, 300);
  EXPECT_NE(rule_of(wide).find("a batch is a JSON array of 1 to 20 orders"), std::string::npos) << rule_of(wide);
  const Reply deep = sign("POST", "/api/v5/trade/order", R"({"a":[{"b":[{}]}]})");
  EXPECT_NE(rule_of(deep).find("nested deeper than 4 levels"), std::string::npos) << rule_of(deep);
  EXPECT_EQ(sign("POST", "/api/v5/trade/order", kLimitBuy).status, 200) << "the daemon goes on";
  expect_audited({"sign main deny " + rule_of(wide), "sign main deny " + rule_of(deep)});
}

// What the daemon reads before the limits: a body that is not valid UTF-8 is not
// JSON in the request, and one that starts with a BOM is not an object or array.
// Then the limits: each endpoint takes one kind of top-level value.
TEST_F(LimitsTest, BodiesNotOfOneReadingOrOfTheWrongKindAreRefused) {
  grant_spot();
  const auto expect_invalid = [&](const Reply& reply, const char* code) {
    EXPECT_EQ(reply.status, 400) << reply.text;
    EXPECT_EQ(reply.body.at("error").at("code").as_string(), code) << reply.text;
    EXPECT_EQ(reply.text.find("OK-ACCESS-SIGN"), std::string::npos);
  };
  expect_invalid(sign("POST", "/api/v5/trade/order",
                      R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.05","px":"60000",)"
                      "\"tag\":\"\xc0\xaf\"}"),
                 "invalid_json");
  expect_invalid(sign("POST", "/api/v5/trade/order", "\xef\xbb\xbf" + kLimitBuy), "bad_request");
  const std::string who = std::string("user ") + kBot + ": ";
  expect_refused(sign("POST", "/api/v5/trade/order", "[" + kLimitBuy + "]"), 403, who + "an order is a JSON object");
  expect_refused(sign("POST", "/api/v5/trade/batch-orders", kLimitBuy), 403,
                 who + "a batch is a JSON array of 1 to 20 orders");
  expect_refused(sign("POST", "/api/v5/trade/amend-batch-orders", R"({"instId":"BTC-USDT","ordId":"1"})"), 403,
                 who + "a batch is a JSON array of 1 to 20 orders");
  EXPECT_EQ(sign("POST", "/api/v5/trade/order", kLimitBuy).status, 200);
}

TEST_F(LimitsTest, AlgoOrdersAndClosingPositionsKeepTheLimits) {
  grant_spot();
  const std::string who = std::string("user ") + kBot + ": ";
  const std::string stop =
      R"({"instId":"ETH-USDT-SWAP","tdMode":"cross","side":"sell","slTriggerPx":"2000","slOrdPx":"-1",)";
  EXPECT_EQ(sign("POST", "/api/v5/trade/order-algo", stop + R"("ordType":"conditional","sz":"3"})").status, 200);
  expect_refused(sign("POST", "/api/v5/trade/order-algo", stop + R"("ordType":"conditional","sz":"11"})"), 403,
                 who + "sz 11 > max 10 for ETH-USDT-SWAP");
  expect_refused(sign("POST", "/api/v5/trade/order-algo", stop + R"("ordType":"oco","sz":"3"})"), 403,
                 who + "ordType oco not allowed");
  expect_refused(sign("POST", "/api/v5/trade/order-algo",
                      R"({"instId":"ETH-USDT-SWAP","tdMode":"cross","side":"sell","ordType":"twap","sz":"3"})"),
                 403, who + "ordType twap is not one the vault reads on /api/v5/trade/order-algo");
  EXPECT_EQ(sign("POST", "/api/v5/trade/close-position", R"({"instId":"ETH-USDT-SWAP","mgnMode":"cross"})").status,
            200);
  expect_refused(sign("POST", "/api/v5/trade/close-position", R"({"instId":"ETH-USDT-SWAP","mgnMode":"isolated"})"),
                 403, who + "mgnMode isolated not allowed");
  expect_refused(sign("POST", "/api/v5/trade/close-position", R"({"instId":"XRP-USDT-SWAP","mgnMode":"cross"})"), 403,
                 who + "instId XRP-USDT-SWAP not allowed");
}

}  // namespace
}  // namespace okxvault
