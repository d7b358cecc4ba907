// Forged readings of the signed string, through the real daemon: OKX signs
// timestamp + METHOD + path + body with no separator, so a caller who moves the
// split between path and body, or spells the path in a way a web stack reads
// differently, must get nothing signed that the policy did not approve. Bots are
// real system users whose requests go through curl under their own uid.

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <boost/json.hpp>
#include <fstream>

#include "client/client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/reference_sign.hpp"

namespace okxvault {
namespace {
namespace json = boost::json;

constexpr const char* kBot = "okxv-test-bot1";
constexpr const char* kClientsGroup = "okxv-test-cli";  // may connect to the socket
constexpr std::string_view kSecret = "5E1F0C9A8B7D6E5F4A3B2C1D0E9F8A7B";
constexpr std::string_view kPassphrase = "Bots-Only#Pass42";
constexpr std::string_view kWithdrawal =
    R"({"ccy":"USDT","amt":"1000","dest":"4","toAddr":"TXyz0123456789","fee":"1","chain":"USDT-TRC20"})";

struct Reply {
  int status = 0;
  std::string body;
  bool signed_() const { return status == 200 || body.find("OK-ACCESS-SIGN") != std::string::npos; }
  std::string rule() const {
    if (body.empty() || body.front() != '{') return {};
    const json::value v = json::parse(body);
    const auto* error = v.as_object().if_contains("error");
    if (error == nullptr || !error->as_object().contains("rule")) return {};
    return std::string(error->at("rule").as_string());
  }
};

std::string sign_request(std::string_view method, std::string_view path, std::string_view body) {
  json::object request{{"method", method}, {"path", path}};
  if (!body.empty()) request["body"] = body;
  return json::serialize(request);
}

class ForgeryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) return;
    test::ensure_system_user(kBot, {kClientsGroup});
  }

  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: creates system users and runs clients under their uids";
    ::chmod(dir_.path().c_str(), 0711);  // the bot reaches the socket; the state dir stays 0700
  }

  void start() {
    daemon_ = std::make_unique<test::Daemon>(dir_.path(), std::vector<std::string>{"--socket-group", kClientsGroup});
    admin().add({"main", "ak-7f3e9c1b2a4d", SecretBytes::copy_of(kSecret), SecretBytes::copy_of(kPassphrase), false});
  }

  Client admin() { return Client(daemon_->socket().string()); }

  // One request as the bot, through curl under its own uid and groups.
  Reply as_bot(const std::string& method, const std::string& target, const std::string& body = {}) {
    test::CurlReply reply = test::curl_as(kBot, daemon_->socket(), method, target, body);
    return {reply.status, std::move(reply.body)};
  }

  Reply sign(bool bot, std::string_view method, std::string_view path, std::string_view body) {
    const std::string request = sign_request(method, path, body);
    if (bot) return as_bot("POST", "/v1/keys/main/sign", request);
    const Client::RawReply reply = admin().request("POST", "/v1/keys/main/sign", request);
    return {reply.status, reply.body};
  }

  void grant(const std::string& grants_json) {
    const auto reply = admin().request("PUT", "/v1/keys/main/grants", grants_json);
    ASSERT_EQ(reply.status, 200) << reply.body;
  }
  std::string bot_grant(const std::string& fields) {
    return std::string(R"({"grants":[{"user":")") + kBot + "\"" + fields + "}]}";
  }

  // Every way to cut METHOD's signed tail path + body in two is refused.
  void expect_every_split_refused(bool bot, std::string_view method, std::string_view path, std::string_view body) {
    const std::string whole = std::string(path) + std::string(body);
    for (std::size_t cut = 0; cut <= whole.size(); ++cut) {
      const std::string_view head = std::string_view(whole).substr(0, cut);
      const std::string_view tail = std::string_view(whole).substr(cut);
      const Reply reply = sign(bot, method, head, tail);
      EXPECT_FALSE(reply.signed_()) << method << " path '" << head << "' body '" << tail << "': " << reply.status << " "
                                    << reply.body;
    }
  }

  test::TempDir dir_;
  std::unique_ptr<test::Daemon> daemon_;
};

TEST_F(ForgeryTest, NoSplitOfABuiltinDeniedRequestIsSignedForAnAdmin) {
  start();
  const auto post = [](std::string_view path) { return std::pair{path, kWithdrawal}; };
  for (const auto& [path, body] :
       {post("/api/v5/asset/withdrawal"), post("/api/v5/asset/transfer"), post("/api/v5/asset/cancel-withdrawal"),
        post("/api/v5/users/subaccount/apikey"), post("/api/v5/broker/nd/subaccount/apikey"),
        post("/api/v5/fiat/create-withdrawal")}) {
    SCOPED_TRACE(path);
    expect_every_split_refused(false, "POST", path, body);
  }
}

TEST_F(ForgeryTest, NoSplitIsSignedUnderAGrantWithoutRules) {
  start();
  grant(bot_grant(""));
  expect_every_split_refused(true, "POST", "/api/v5/asset/withdrawal", kWithdrawal);
  ASSERT_EQ(sign(true, "POST", "/api/v5/trade/order", R"({"instId":"BTC-USDT"})").status, 200) << "control";
}

TEST_F(ForgeryTest, NoSplitIsSignedUnderATradeOnlyGrant) {
  start();
  grant(bot_grant(R"(,"allow":["POST /api/v5/trade/"])"));
  expect_every_split_refused(true, "POST", "/api/v5/asset/withdrawal", kWithdrawal);
  // The same request spelled from inside the allowed prefix.
  expect_every_split_refused(true, "POST", "/api/v5/trade/x/../../asset/withdrawal", kWithdrawal);
  ASSERT_EQ(sign(true, "POST", "/api/v5/trade/order", R"({"instId":"BTC-USDT"})").status, 200) << "control";
}

TEST_F(ForgeryTest, NoSplitIsSignedAgainstTheGrantsOwnDenyRule) {
  start();
  grant(bot_grant(R"(,"deny":["POST /api/v5/asset/","POST /api/v5/account/set-leverage"])"));
  expect_every_split_refused(true, "POST", "/api/v5/asset/withdrawal", kWithdrawal);
  expect_every_split_refused(true, "POST", "/api/v5/account/set-leverage", R"({"instId":"BTC-USDT","lever":"100"})");
  ASSERT_EQ(sign(true, "POST", "/api/v5/trade/order", R"({"instId":"BTC-USDT"})").status, 200) << "control";
}

TEST_F(ForgeryTest, TheReportedExploitsAreRefused) {
  start();
  // As an admin: the end of the path carried in the body.
  Reply reply = sign(false, "POST", "/api/v5/asset/w", "ithdrawal" + std::string(kWithdrawal));
  EXPECT_FALSE(reply.signed_()) << reply.body;
  EXPECT_EQ(reply.status, 400) << reply.body;

  // A trade-only grant: dot segments moved into the body, and path parameters.
  grant(bot_grant(R"(,"allow":["POST /api/v5/trade/"])"));
  reply = sign(true, "POST", "/api/v5/trade/x", "/../../asset/withdrawal" + std::string(kWithdrawal));
  EXPECT_FALSE(reply.signed_()) << reply.body;
  for (const char* path : {"/api/v5/trade/..;/asset/withdrawal", "/api/v5/trade/.;/../asset/withdrawal",
                           "/api/v5/trade/.../asset/withdrawal", "/api/v5/trade/;/../../asset/withdrawal",
                           "/api/v5/trade/order;jsessionid=1", "/api/v5/trade/order.json"}) {
    reply = sign(true, "POST", path, kWithdrawal);
    EXPECT_FALSE(reply.signed_()) << path << ": " << reply.body;
    EXPECT_EQ(reply.status, 403) << path;
    EXPECT_EQ(reply.rule(), "canonical-path") << path;
  }

  // A read-only grant: a path parameter hides a built-in denied prefix.
  grant(bot_grant(R"(,"read_only":true)"));
  for (const char* path : {"/api/v5/users/subaccount;/apikey", "/api/v5/users/subaccount;x/apikey?subAcct=a",
                           "/api/v5/users/subaccount/.;/apikey", "/api/v5/asset/subaccount;/bills"}) {
    reply = sign(true, "GET", path, "");
    EXPECT_FALSE(reply.signed_()) << path << ": " << reply.body;
    EXPECT_EQ(reply.rule(), "canonical-path") << path;
  }

  // Without a grant's rules, as an admin: .; and ... segments past the built-in denies.
  for (const char* path : {"/api/v5/asset/.;/withdrawal", "/api/v5/asset/withdrawal/.;", "/api/v5/.../asset/withdrawal",
                           "/api/v5/asset/...;/withdrawal", "/api/v5/users/subaccount;/apikey"}) {
    reply = sign(false, "POST", path, kWithdrawal);
    EXPECT_FALSE(reply.signed_()) << path << ": " << reply.body;
    EXPECT_EQ(reply.rule(), "canonical-path") << path;
  }
}

TEST_F(ForgeryTest, TheAuditRecordShowsExactlyThePathThatWasSigned) {
  start();
  grant(bot_grant(R"(,"allow":["GET /api/v5/account/","POST /api/v5/trade/"])"));
  const std::string get_path = "/api/v5/account/balance?ccy=BTC,ETH&x=%2C";
  const std::string post_path = "/api/v5/trade/order?tag=a_b.c~d";
  const std::string post_body = R"({"instId":"BTC-USDT","sz":"1"})";
  for (const auto& [method, path, body] :
       {std::tuple{"GET", get_path, std::string()}, std::tuple{"POST", post_path, post_body}}) {
    const Reply reply = sign(true, method, path, body);
    ASSERT_EQ(reply.status, 200) << reply.body;
    const json::value headers = json::parse(reply.body).at("headers");
    const std::string ts(headers.at("OK-ACCESS-TIMESTAMP").as_string());
    EXPECT_EQ(headers.at("OK-ACCESS-SIGN").as_string(), test::okx_signature(kSecret, ts + method + path + body))
        << "the signature covers exactly this path and body";
  }
  // A forged split would have been recorded as the allowed "/api/v5/trade/x".
  const Reply forged = sign(true, "POST", "/api/v5/trade/x", R"(/../../account/set-leverage{"lever":"100"})");
  EXPECT_FALSE(forged.signed_()) << forged.body;
  daemon_->stop();  // flushes the audit log
  std::vector<std::string> signed_paths;
  std::ifstream in(daemon_->state_dir() / "audit.log");
  for (std::string line; std::getline(in, line);) {
    const json::object record = json::parse(line).as_object();
    if (record.at("action").as_string() == "sign" && record.at("decision").as_string() == "allow") {
      signed_paths.emplace_back(record.at("method").as_string().c_str() + std::string(" ") +
                                std::string(record.at("path").as_string()));
    }
  }
  EXPECT_EQ(signed_paths, (std::vector<std::string>{"GET " + get_path, "POST " + post_path}));
}

// A member given twice is read once: the policy decides on the value that is
// signed and audited (the last, as Boost.JSON's tree keeps it), whichever order
// the two come in, so no order of them gets an allowed reading past the policy
// and another signed.
TEST_F(ForgeryTest, AMemberGivenTwiceIsReadOnceForThePolicyAndTheSignature) {
  start();
  grant(bot_grant(R"(,"allow":["GET /api/v5/account/"])"));
  const std::string allowed = "/api/v5/account/balance", refused = "/api/v5/asset/balances";
  const auto twice = [](std::string_view first, std::string_view last) {
    return std::string(R"({"method":"GET","path":")") + std::string(first) + R"(","path":")" + std::string(last) +
           R"("})";
  };
  const Reply denied = as_bot("POST", "/v1/keys/main/sign", twice(allowed, refused));
  EXPECT_EQ(denied.status, 403) << denied.body;
  EXPECT_FALSE(denied.signed_()) << denied.body;
  const Reply granted = as_bot("POST", "/v1/keys/main/sign", twice(refused, allowed));
  ASSERT_EQ(granted.status, 200) << granted.body;
  const json::value headers = json::parse(granted.body).at("headers");
  const std::string ts(headers.at("OK-ACCESS-TIMESTAMP").as_string());
  EXPECT_EQ(headers.at("OK-ACCESS-SIGN").as_string(), test::okx_signature(kSecret, ts + "GET" + allowed));
  const Reply method_twice =
      as_bot("POST", "/v1/keys/main/sign", R"({"method":"POST","path":")" + allowed + R"(","method":"GET"})");
  ASSERT_EQ(method_twice.status, 200) << method_twice.body;
  const json::value method_headers = json::parse(method_twice.body).at("headers");
  EXPECT_EQ(method_headers.at("OK-ACCESS-SIGN").as_string(),
            test::okx_signature(kSecret,
                                std::string(method_headers.at("OK-ACCESS-TIMESTAMP").as_string()) + "GET" + allowed));
  daemon_->stop();  // flushes the audit log
  std::vector<std::string> decisions;
  std::ifstream in(daemon_->state_dir() / "audit.log");
  for (std::string line; std::getline(in, line);) {
    const json::object record = json::parse(line).as_object();
    if (record.at("action").as_string() != "sign") continue;
    decisions.push_back(std::string(record.at("decision").as_string()) + " " +
                        std::string(record.at("method").as_string()) + " " +
                        std::string(record.at("path").as_string()));
  }
  EXPECT_EQ(decisions,
            (std::vector<std::string>{"deny GET " + refused, "allow GET " + allowed, "allow GET " + allowed}));
}

// WebSocket logins: a logged-in private WebSocket can place orders, so a grant
// gets one only if it says so.
class WsLoginTest : public ForgeryTest {
 protected:
  test::Output cli(std::vector<std::string> args) {
    args.insert(args.begin(), {test::cli_binary(), "--socket", daemon_->socket().string()});
    return test::run(args);
  }
  Reply ws_login() { return as_bot("POST", "/v1/keys/main/ws-login"); }
};

TEST_F(WsLoginTest, AGrantWithAllowRulesGetsALoginOnlyWithWs) {
  start();
  grant(bot_grant(R"(,"allow":["GET /api/v5/account/"])"));
  Reply reply = ws_login();
  EXPECT_EQ(reply.status, 403) << reply.body;
  EXPECT_EQ(reply.rule(), std::string("user ") + kBot + ": no WebSocket login");
  EXPECT_EQ(reply.body.find("\"sign\""), std::string::npos);

  ASSERT_EQ(cli({"grant", "main", "--user", kBot, "--allow", "GET /api/v5/account/"}).exit_code, 0);
  EXPECT_EQ(ws_login().status, 403) << "okx-vault grant without --ws";
  const test::Output shown = cli({"grants", "main"});
  EXPECT_NE(shown.out.find("no WebSocket login"), std::string::npos) << shown.out;

  ASSERT_EQ(cli({"grant", "main", "--user", kBot, "--allow", "GET /api/v5/account/", "--ws", "--replace"}).exit_code,
            0);
  reply = ws_login();
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_NE(reply.body.find("\"op\":\"login\""), std::string::npos) << reply.body;
  EXPECT_EQ(cli({"grant", "main", "--user", kBot, "--ws", "--no-ws"}).exit_code, 2);
}

TEST_F(WsLoginTest, ANewGrantHasNoLoginUnlessAskedFor) {
  start();
  ASSERT_EQ(cli({"grant", "main", "--user", kBot}).exit_code, 0);
  EXPECT_EQ(ws_login().status, 403);
  EXPECT_EQ(sign(true, "GET", "/api/v5/account/balance", "").status, 200) << "the grant itself works";
  ASSERT_EQ(cli({"grant", "main", "--user", kBot, "--no-ws"}).exit_code, 0);
  EXPECT_EQ(ws_login().status, 403);
  ASSERT_EQ(cli({"grant", "main", "--user", kBot, "--ws", "--replace"}).exit_code, 0);
  EXPECT_EQ(ws_login().status, 200);
  EXPECT_EQ(admin().request("POST", "/v1/keys/main/ws-login").status, 200) << "an admin without a grant";
}

}  // namespace
}  // namespace okxvault
