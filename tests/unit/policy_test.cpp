// Who may sign what: grants, rules, the built-in deny list and path tricks.

#include "daemon/core/policy.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

namespace okxvault {
namespace {

constexpr std::int64_t kNow = 1'800'000'000'000;
const Peer kBot{1001, 1001, 10, {1001, 2000}, "/usr/bin/bot"};
const Peer kOther{1002, 1002, 11, {1002}, "/usr/bin/other"};

Grant user_grant(std::uint32_t uid) {
  Grant g;
  g.kind = Grant::Kind::user;
  g.id = uid;
  g.name = "u" + std::to_string(uid);
  return g;
}

Grant group_grant(std::uint32_t gid) {
  Grant g = user_grant(gid);
  g.kind = Grant::Kind::group;
  g.name = "g" + std::to_string(gid);
  return g;
}

Decision decide_for(const std::vector<Grant>& grants, const Peer& peer, std::string_view method, std::string_view path,
                    bool admin = false) {
  return decide(grants, peer, admin, method, path, {}, false, kNow);
}

TEST(Policy, NoGrantNoSignature) {
  const Decision d = decide_for({user_grant(1002)}, kBot, "GET", "/api/v5/account/balance");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "no grant for uid 1001");
}

TEST(Policy, UserAndGroupGrantsNameThePeer) {
  EXPECT_TRUE(decide_for({user_grant(1001)}, kBot, "POST", "/api/v5/trade/order").allowed);
  EXPECT_TRUE(decide_for({group_grant(2000)}, kBot, "POST", "/api/v5/trade/order").allowed);
  EXPECT_FALSE(decide_for({group_grant(2000)}, kOther, "POST", "/api/v5/trade/order").allowed);
  EXPECT_TRUE(is_granted({group_grant(2000)}, kBot));
  EXPECT_FALSE(is_granted({group_grant(2000)}, kOther));
}

TEST(Policy, ReadOnlyAllowsOnlyGet) {
  Grant g = user_grant(1001);
  g.read_only = true;
  EXPECT_TRUE(decide_for({g}, kBot, "GET", "/api/v5/account/balance").allowed);
  const Decision post = decide_for({g}, kBot, "POST", "/api/v5/trade/order");
  EXPECT_FALSE(post.allowed);
  EXPECT_EQ(post.rule, "user u1001: read-only (GET only)");
}

TEST(Policy, ExpiredGrantRefuses) {
  Grant g = user_grant(1001);
  g.expires_ms = kNow;
  EXPECT_EQ(decide_for({g}, kBot, "GET", "/api/v5/account/balance").rule, "user u1001: grant expired");
  g.expires_ms = kNow + 1;
  EXPECT_TRUE(decide_for({g}, kBot, "GET", "/api/v5/account/balance").allowed);
}

TEST(Policy, AllowRulesLimitAndDenyRulesWin) {
  Grant g = user_grant(1001);
  g.allow = {Rule::parse("POST /api/v5/trade/"), Rule::parse("GET /api/v5/account/")};
  g.deny = {Rule::parse("POST /api/v5/trade/cancel-all-after")};
  EXPECT_TRUE(decide_for({g}, kBot, "POST", "/api/v5/trade/order").allowed);
  EXPECT_TRUE(decide_for({g}, kBot, "GET", "/api/v5/account/balance?ccy=BTC").allowed);
  EXPECT_EQ(decide_for({g}, kBot, "GET", "/api/v5/trade/orders-pending").rule, "user u1001: no allow rule matches");
  EXPECT_EQ(decide_for({g}, kBot, "POST", "/api/v5/trade/cancel-all-after").rule,
            "user u1001: deny POST /api/v5/trade/cancel-all-after");
}

TEST(Policy, BuiltinDenyListHoldsForEveryoneIncludingAdmins) {
  for (const char* path :
       {"/api/v5/asset/withdrawal", "/api/v5/asset/withdrawal-lightning", "/api/v5/asset/cancel-withdrawal",
        "/api/v5/asset/transfer", "/api/v5/asset/subaccount/transfer", "/api/v5/users/subaccount/apikey",
        "/api/v5/users/subaccount/modify-apikey", "/api/v5/users/subaccount/delete-apikey",
        "/api/v5/broker/nd/subaccount/apikey", "/api/v5/fiat/withdrawal", "/api/v5/rfq/execute-quote",
        "/api/v5/copytrading/first-copy-settings"}) {
    const Decision d = decide_for({user_grant(1001)}, kBot, "POST", path);
    EXPECT_FALSE(d.allowed) << path;
    EXPECT_TRUE(d.rule.starts_with("builtin deny ")) << d.rule;
    EXPECT_FALSE(decide_for({}, kBot, "POST", path, /*admin=*/true).allowed) << path;
  }
}

// Money moves only by POST, so reads of the same endpoints pass: withdrawal
// history, transfer state, sub-account lists (ccxt's fetchWithdrawals, fetchTransfer).
TEST(Policy, BuiltinDeniesLetReadsThrough) {
  for (const char* path : {"/api/v5/asset/withdrawal-history", "/api/v5/asset/transfer-state?transId=1",
                           "/api/v5/users/subaccount/list", "/api/v5/rfq/counterparties"}) {
    const Decision d = decide_for({user_grant(1001)}, kBot, "GET", path);
    EXPECT_TRUE(d.allowed) << path << ": " << d.rule;
    EXPECT_FALSE(decide_for({user_grant(1001)}, kBot, "POST", path).allowed) << path;
  }
}

TEST(Policy, OnlyAnAllowThatNamesTheEndpointLiftsABuiltinDeny) {
  Grant generic = user_grant(1001);
  generic.allow = {Rule::parse("POST /api/v5/")};
  EXPECT_FALSE(decide_for({generic}, kBot, "POST", "/api/v5/asset/withdrawal").allowed);

  Grant named = user_grant(1001);
  named.allow = {Rule::parse("POST /api/v5/asset/withdrawal")};
  const Decision d = decide_for({named}, kBot, "POST", "/api/v5/asset/withdrawal");
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.rule, "user u1001: allow POST /api/v5/asset/withdrawal");
  EXPECT_FALSE(decide_for({named}, kBot, "POST", "/api/v5/asset/transfer").allowed) << "lifts only what it names";
}

TEST(Policy, PathTricksDoNotSneakPastADeny) {
  Grant g = user_grant(1001);
  for (const char* path :
       {"/api/v5/asset/./withdrawal", "//api/v5/asset/withdrawal", "/api/v5//asset/withdrawal",
        "/api/v5/asset/%77ithdrawal", "/api/v5/asset/withdrawal%2F", "/api/v5/trade/../asset/withdrawal",
        "/api/v5/asset\\withdrawal", "/api/v5/asset/withdrawal/.", "/api/v5/asset/ withdrawal",
        "/api/v5/asset/withdrawal?x=/..", "/api/v5/trade/..;/asset/withdrawal", "/api/v5/asset/withdrawal;",
        "/api/v5/trade/.../asset/withdrawal"}) {
    try {
      const Decision d = decide_for({g}, kBot, "POST", path);
      EXPECT_FALSE(d.allowed) << path;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Code::policy_denied) << path;
      EXPECT_EQ(e.rule(), "canonical-path") << path;
    }
  }
  for (const char* path : {"/API/V5/ASSET/WITHDRAWAL", "/api/v5/Asset/Withdrawal", "/api/v5/asset/withdrawal?x=.."}) {
    const Decision d = decide_for({g}, kBot, "POST", path);
    EXPECT_FALSE(d.allowed) << path;
    EXPECT_EQ(d.rule, "builtin deny POST /api/v5/asset/withdrawal") << path;
  }
}

TEST(Policy, CanonicalPathDropsTheQueryAndLowercases) {
  EXPECT_EQ(canonical_path("/api/v5/account/balance?ccy=BTC%2CETH"), "/api/v5/account/balance");
  EXPECT_EQ(canonical_path("/api/v5/Account/Balance"), "/api/v5/account/balance");
  EXPECT_EQ(canonical_path("/api/v5/tradingBot/signal/amendTPSL"), "/api/v5/tradingbot/signal/amendtpsl");
  EXPECT_EQ(canonical_path("/api/v5/account/simulated_margin"), "/api/v5/account/simulated_margin");
  EXPECT_EQ(canonical_path("/api/v5/market/platform-24-volume"), "/api/v5/market/platform-24-volume");
  EXPECT_THROW(canonical_path("/api/v5/account/"), Error);
  EXPECT_THROW(canonical_path("api/v5/account"), Error);
  EXPECT_THROW(canonical_path("/users/self/verify"), Error) << "REST paths are under /api/v5/";
  EXPECT_THROW(canonical_path("/api/v5/"), Error);
}

// The refusal every spelling outside OKX V5's grammar gets.
void expect_not_canonical(std::string_view path) {
  try {
    const std::string canonical = canonical_path(path);
    ADD_FAILURE() << path << " was accepted as " << canonical;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::policy_denied) << path;
    EXPECT_EQ(e.rule(), "canonical-path") << path;
  }
}

TEST(Policy, PathsAreMadeOnlyOfLettersDigitsDashAndUnderscore) {
  // Path parameters and dot tricks that web stacks (Tomcat, Spring, proxies) route past.
  for (const char* path : {"/api/v5/trade/..;/asset/withdrawal",
                           "/api/v5/users/subaccount;/apikey",
                           "/api/v5/trade/.;/order",
                           "/api/v5/trade/;x=1/order",
                           "/api/v5/asset/withdrawal;",
                           "/api/v5/trade/.../asset/withdrawal",
                           "/api/v5/trade/...",
                           "/api/v5/trade/.",
                           "/api/v5/trade/..",
                           "/api/v5/trade/order.json",
                           "/api/v5/asset/.withdrawal",
                           "/api/v5/trade/order%3B",
                           "/api/v5/trade\\order",
                           "/api/v5/trade/{order}",
                           "/api/v5/trade/[0]",
                           "/api/v5/trade/order!",
                           "/api/v5/trade/order*",
                           "/api/v5/trade/@order",
                           "/api/v5/trade/order+",
                           "/api/v5/trade/~order",
                           "/api/v5/trade/order,",
                           "/api/v5/trade/or:der",
                           "/api/v5/trade/or'der",
                           "/api/v5/trade//order",
                           "/api/v5/trade/order/"}) {
    expect_not_canonical(path);
  }
}

TEST(Policy, QueriesAreWhatUrlEncodingProduces) {
  for (const char* path :
       {"/api/v5/account/balance?", "/api/v5/account/balance?ccy=BTC,ETH", "/api/v5/account/balance?ccy=BTC%2CETH",
        "/api/v5/market/history-candles?instId=BTC-USDT&after=1700000000000&bar=1m",
        "/api/v5/trade/fills?begin=2024-01-01T00:00:00.000Z&x=a_b.c~d", "/api/v5/account/balance?ccy=%7b%7D"}) {
    EXPECT_NO_THROW(canonical_path(path)) << path;
  }
  for (const char* query : {"ccy={", "ccy=[0]", "ccy=BTC?x", "x=/..", "x=a b", "x=%", "x=%4", "x=%GG", "x=a#b", "x=a;b",
                            "x=\\", "x=a+b", "x=\"1\"", "x=a\tb"}) {
    expect_not_canonical("/api/v5/account/balance?" + std::string(query));
  }
}

TEST(Policy, ValidateSignRequestKeepsTheSignedStringToOneReading) {
  EXPECT_NO_THROW(validate_sign_request("GET", "/api/v5/account/balance?ccy=BTC", ""));
  EXPECT_NO_THROW(validate_sign_request("POST", "/api/v5/trade/order", R"({"instId":"BTC-USDT"})"));
  EXPECT_NO_THROW(validate_sign_request("POST", "/api/v5/trade/batch-orders", R"([{"instId":"BTC-USDT"}])"));
  EXPECT_NO_THROW(validate_sign_request("POST", "/api/v5/trade/cancel-all-after", ""));
  const auto code = [](std::string_view method, std::string_view path, std::string_view body) {
    try {
      validate_sign_request(method, path, body);
      return std::string("accepted");
    } catch (const Error& e) {
      return std::string(code_name(e.code()));
    }
  };
  // The body may not carry the end of the path: "/api/v5/asset/w" + "ithdrawal{...}".
  EXPECT_EQ(code("POST", "/api/v5/asset/w", R"(ithdrawal{"ccy":"USDT"})"), "bad_request");
  EXPECT_EQ(code("POST", "/api/v5/trade/x", R"(/../../asset/withdrawal{"ccy":"USDT"})"), "bad_request");
  EXPECT_EQ(code("POST", "/api/v5/trade/order", R"( {"instId":"BTC-USDT"})"), "bad_request");
  EXPECT_EQ(code("POST", "/api/v5/trade/order", "?x=1"), "bad_request");
  EXPECT_EQ(code("GET", "/api/v5/account/balance", "{}"), "bad_request");
  EXPECT_EQ(code("PUT", "/api/v5/account/balance", ""), "bad_request");
  EXPECT_EQ(code("GET", "/api/v5/account/balance#x", ""), "bad_request");
  EXPECT_EQ(code("GET", "/api/v5/account/" + std::string(kMaxRequestPath, 'a'), ""), "bad_request");
}

TEST(Policy, WebSocketLoginNeedsWsAndAWritableGrant) {
  Grant g = user_grant(1001);
  EXPECT_EQ(decide(std::vector{g}, kBot, false, "GET", "/users/self/verify", {}, true, kNow).rule,
            "user u1001: no WebSocket login")
      << "a grant has no WebSocket login unless it asks for one";
  EXPECT_TRUE(decide({}, kBot, true, "GET", "/users/self/verify", {}, true, kNow).allowed)
      << "an admin without a grant";
  g.ws = true;
  EXPECT_TRUE(decide(std::vector{g}, kBot, false, "GET", "/users/self/verify", {}, true, kNow).allowed);
  g.ws = false;
  EXPECT_EQ(decide(std::vector{g}, kBot, false, "GET", "/users/self/verify", {}, true, kNow).rule,
            "user u1001: no WebSocket login");
  g.ws = true;
  g.read_only = true;
  EXPECT_FALSE(decide(std::vector{g}, kBot, false, "GET", "/users/self/verify", {}, true, kNow).allowed);
}

TEST(Policy, AnyMatchingGrantMayAllow) {
  Grant read_only = user_grant(1001);
  read_only.read_only = true;
  EXPECT_TRUE(decide_for({read_only, group_grant(2000)}, kBot, "POST", "/api/v5/trade/order").allowed);
}

TEST(Policy, RulesAreParsedStrictly) {
  EXPECT_EQ(Rule::parse("POST /api/v5/trade/").text(), "POST /api/v5/trade/");
  EXPECT_EQ(Rule::parse("* /API/V5/Trade/").text(), "* /api/v5/trade/");
  EXPECT_EQ(Rule::parse("GET /api/v5/tradingBot/grid").text(), "GET /api/v5/tradingbot/grid");
  for (const char* bad : {"", "POST", "PUT /api/v5/", "post /api/v5/", "POST /etc/", "POST /api/v5/./x",
                          "POST /api/v5/%41", "POST  /api/v5/", "POST /api/v5/trade;/", "POST /api/v5/trade/..;/",
                          "POST /api/v5/trade/order.json", "POST /api/v5/trade/{", "POST /api/v5/trade//",
                          "POST /api/v5/trade?x=1", "POST /api/v5/trade/[", "POST /api/v5"}) {
    EXPECT_THROW(Rule::parse(bad), Error) << bad;
  }
}

}  // namespace
}  // namespace okxvault
