// The request handler without a socket: requests in, responses out, with the
// peer's identity as the kernel would report it.

#include "daemon/api/handler.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <algorithm>
#include <sstream>

#include "daemon/store/store.hpp"
#include "daemon/store/store_file.hpp"
#include "tests/support/process.hpp"

namespace okxvault {
namespace {
namespace http = boost::beast::http;
namespace json = boost::json;

constexpr uid_t kDaemonUid = 4242;
const Peer kRoot{0, 0, 1};
const Peer kDaemonUser{kDaemonUid, kDaemonUid, 2};
const Peer kStranger{1000, 1000, 3};

class HandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    vault_ = Vault::create(dir_ / "vault.store", SecretBytes::random(32));
    audit_ = std::make_unique<Audit>(dir_ / "audit.log");
    HandlerOptions options{std::chrono::seconds(30), kDaemonUid, {}};
    options.passphrase_cost = store::kTestPassphraseCost;
    handler_ = std::make_unique<Handler>(*vault_, *audit_, options);
  }

  Response call(http::verb verb, std::string target, std::string body = {}, const Peer& peer = kRoot) {
    Request request{verb, target, 11};
    request.body() = std::move(body);
    request.prepare_payload();
    return handler_->handle(request, peer);
  }

  std::string add_body(const std::string& name) {
    return R"({"name":")" + name +
           R"(","api_key":"ak-0123456789abcdef","secret":"S3CRET-VALUE-XYZ","passphrase":"Pass#Phrase-1"})";
  }

  // The audit lines written since the last call, as JSON.
  std::vector<json::object> new_audit_lines() {
    audit_->flush();
    std::vector<json::object> lines;
    std::istringstream log(test::read_file(dir_ / "audit.log"));
    std::size_t number = 0;
    for (std::string line; std::getline(log, line); ++number) {
      if (number >= audit_lines_seen_) lines.push_back(json::parse(line).as_object());
    }
    audit_lines_seen_ = number;
    return lines;
  }

  // The one audit line a call wrote, as "action key decision rule".
  std::string audited(const Response& response) {
    const auto lines = new_audit_lines();
    if (lines.size() != 1) return std::to_string(lines.size()) + " audit lines for a " + std::string(response.body());
    const auto text = [&](std::string_view field) {
      const json::value* value = lines[0].if_contains(field);
      return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
    };
    return text("action") + " " + text("key") + " " + text("decision") + " " + text("rule");
  }

  static std::string code(const Response& response) {
    return std::string(json::parse(response.body()).at("error").at("code").as_string());
  }

  test::TempDir dir_;
  std::unique_ptr<Vault> vault_;
  std::unique_ptr<Audit> audit_;
  std::unique_ptr<Handler> handler_;
  std::size_t audit_lines_seen_ = 0;
};

TEST_F(HandlerTest, StatusIsOpenToAnyConnectedPeer) {
  const Response response = call(http::verb::get, "/v1/status", {}, kStranger);
  EXPECT_EQ(response.result(), http::status::ok);
  const json::value status = json::parse(response.body());
  EXPECT_EQ(status.at("keys"), 0);
  EXPECT_EQ(status.at("locked"), false);
  EXPECT_EQ(response[http::field::content_type], "application/json");
}

TEST_F(HandlerTest, AdminEndpointsAreForAdminsOnly) {
  EXPECT_EQ(call(http::verb::post, "/v1/keys", add_body("main"), kDaemonUser).result(), http::status::created);
  for (const auto& [verb, target] :
       std::vector<std::pair<http::verb, std::string>>{{http::verb::post, "/v1/keys"},
                                                       {http::verb::delete_, "/v1/keys/main"},
                                                       {http::verb::get, "/v1/keys/main/grants"},
                                                       {http::verb::put, "/v1/keys/main/grants"}}) {
    const Response response = call(verb, target, add_body("other"), kStranger);
    EXPECT_EQ(response.result(), http::status::forbidden) << target;
    EXPECT_EQ(code(response), "forbidden");
  }
  EXPECT_EQ(vault_->size(), 1u);
}

TEST_F(HandlerTest, AnUngrantedPeerCannotSignAndSeesNoKeys) {
  ASSERT_EQ(call(http::verb::post, "/v1/keys", add_body("main")).result(), http::status::created);
  const Response sign =
      call(http::verb::post, "/v1/keys/main/sign", R"({"method":"GET","path":"/api/v5/account/balance"})", kStranger);
  EXPECT_EQ(sign.result(), http::status::not_found) << "to it, the key does not exist";
  EXPECT_EQ(code(sign), "key_not_found");
  EXPECT_EQ(code(call(http::verb::post, "/v1/keys/main/ws-login", {}, kStranger)), "key_not_found");
  EXPECT_EQ(json::parse(call(http::verb::get, "/v1/keys", {}, kStranger).body()).at("keys").as_array().size(), 0u);
}

TEST_F(HandlerTest, AGrantLetsAPeerSignAndListItsKey) {
  ASSERT_EQ(call(http::verb::post, "/v1/keys", add_body("main")).result(), http::status::created);
  ASSERT_EQ(call(http::verb::post, "/v1/keys", add_body("other")).result(), http::status::created);
  const Response put = call(http::verb::put, "/v1/keys/main/grants", R"({"grants":[{"user":"1000"}]})");
  ASSERT_EQ(put.result(), http::status::ok) << put.body();
  EXPECT_EQ(call(http::verb::post, "/v1/keys/main/sign", R"({"method":"GET","path":"/api/v5/account/balance"})",
                 kStranger)
                .result(),
            http::status::ok);
  const json::array keys = json::parse(call(http::verb::get, "/v1/keys", {}, kStranger).body()).at("keys").as_array();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].at("name").as_string(), "main");
  EXPECT_EQ(keys[0].at("grants").as_int64(), 1);
}

TEST_F(HandlerTest, GrantsRoundTripAndRejectUnknownPrincipals) {
  ASSERT_EQ(call(http::verb::post, "/v1/keys", add_body("main")).result(), http::status::created);
  const std::string grants =
      R"({"grants":[{"user":"root","read_only":true,"allow":["GET /api/v5/account/"],"deny":["GET /api/v5/account/bills"],"ws":false},)"
      R"({"group":"0","expires":"2099-01-01T00:00:00.000Z"}]})";
  ASSERT_EQ(call(http::verb::put, "/v1/keys/main/grants", grants).result(), http::status::ok);
  const json::array got = json::parse(call(http::verb::get, "/v1/keys/main/grants").body()).at("grants").as_array();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].at("user").as_string(), "root");
  EXPECT_EQ(got[0].at("id").as_int64(), 0);
  EXPECT_EQ(got[0].at("read_only").as_bool(), true);
  EXPECT_EQ(got[0].at("allow").as_array().at(0).as_string(), "GET /api/v5/account/");
  EXPECT_EQ(got[0].at("ws").as_bool(), false);
  EXPECT_EQ(got[1].at("group").as_string(), "root");
  EXPECT_EQ(got[1].at("expires").as_string(), "2099-01-01T00:00:00.000Z");

  EXPECT_EQ(code(call(http::verb::put, "/v1/keys/main/grants", R"({"grants":[{"user":"no-such-user-xyz"}]})")),
            "bad_request");
  EXPECT_EQ(code(call(http::verb::put, "/v1/keys/main/grants", R"({"grants":[{"user":"root","allow":["PUT /x"]}]})")),
            "bad_request");
  EXPECT_EQ(code(call(http::verb::put, "/v1/keys/main/grants", R"({"grants":[{"user":"root","group":"root"}]})")),
            "bad_request");
  EXPECT_EQ(code(call(http::verb::put, "/v1/keys/nope/grants", R"({"grants":[]})")), "key_not_found");
  EXPECT_EQ(json::parse(call(http::verb::get, "/v1/keys/main/grants").body()).at("grants").as_array().size(), 2u)
      << "a refused change leaves the grants as they were";
}

TEST_F(HandlerTest, AGrantHasNoWebSocketLoginUnlessItSaysSo) {
  ASSERT_EQ(call(http::verb::post, "/v1/keys", add_body("main")).result(), http::status::created);
  ASSERT_EQ(call(http::verb::put, "/v1/keys/main/grants",
                 R"({"grants":[{"user":"1000","allow":["GET /api/v5/account/"]}]})")
                .result(),
            http::status::ok);
  EXPECT_EQ(json::parse(call(http::verb::get, "/v1/keys/main/grants").body()).at("grants").at(0).at("ws"), false);
  const Response refused = call(http::verb::post, "/v1/keys/main/ws-login", {}, kStranger);
  EXPECT_EQ(code(refused), "policy_denied");
  const std::string rule(json::parse(refused.body()).at("error").at("rule").as_string());
  EXPECT_TRUE(rule.ends_with(": no WebSocket login")) << rule;
  ASSERT_EQ(call(http::verb::put, "/v1/keys/main/grants",
                 R"({"grants":[{"user":"1000","allow":["GET /api/v5/account/"],"ws":true}]})")
                .result(),
            http::status::ok);
  EXPECT_EQ(call(http::verb::post, "/v1/keys/main/ws-login", {}, kStranger).result(), http::status::ok);
}

// A store written before WebSocket logins became opt-in: its grants said
// "ws": true by default, which for a grant with allow rules is read as off.
TEST_F(HandlerTest, AnOlderGrantWithAllowRulesLosesItsDefaultWebSocketLogin) {
  const auto grant = [](std::string_view allow) {
    return R"({"kind":"user","id":1000,"name":"bot","read_only":false,"expires_ms":null,"allow":[)" +
           std::string(allow) + R"(],"deny":[],"ws":true})";
  };
  const auto metadata = [](const std::string& grants) {
    return R"({"simulated":false,"created_ms":1764000000000,"expires_ms":null,"last_used_ms":0,"sign_count":0,)"
           R"("grants":[)" +
           grants + "]}";
  };
  const SecretBytes master = SecretBytes::random(32);
  const store::DataKey data_key = store::DataKey::generate();
  store::Image image;
  image.slots.push_back(store::wrap_with_key_file(data_key, master));
  for (const auto& [name, grants] :
       {std::pair{"rules", grant(R"("GET /api/v5/account/")")}, std::pair{"plain", grant("")}}) {
    image.records.push_back(store::seal_record(data_key, name, "ak-0123456789abcdef", metadata(grants),
                                               SecretBytes::copy_of(std::string_view("S3CRET-VALUE-XYZ")),
                                               SecretBytes::copy_of(std::string_view("Pass#Phrase-1"))));
  }
  const auto path = dir_ / "old.store";
  write_file_atomically(path, store::serialize(image, data_key));

  std::ostringstream log;
  const auto previous = spdlog::default_logger();
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
  vault_ = Vault::open(path, master);
  spdlog::set_default_logger(previous);
  HandlerOptions options{std::chrono::seconds(30), kDaemonUid, {}};
  handler_ = std::make_unique<Handler>(*vault_, *audit_, options);

  EXPECT_EQ(code(call(http::verb::post, "/v1/keys/rules/ws-login", {}, kStranger)), "policy_denied");
  EXPECT_EQ(json::parse(call(http::verb::get, "/v1/keys/rules/grants").body()).at("grants").at(0).at("ws"), false);
  EXPECT_EQ(call(http::verb::post, "/v1/keys/plain/ws-login", {}, kStranger).result(), http::status::ok)
      << "a grant without allow rules keeps what it had";
  EXPECT_EQ(call(http::verb::post, "/v1/keys/rules/sign", R"({"method":"GET","path":"/api/v5/account/balance"})",
                 kStranger)
                .result(),
            http::status::ok);
  const std::string warned = log.str();
  EXPECT_NE(warned.find("key 'rules': the grant of user bot has allow rules"), std::string::npos) << warned;
  EXPECT_EQ(warned.find("key 'plain'"), std::string::npos) << warned;
  EXPECT_EQ(warned.find("S3CRET"), std::string::npos);
  EXPECT_EQ(std::count(warned.begin(), warned.end(), '\n'), 1) << warned;

  // The sign changed the usage counters: their write stores the grant as it is now read.
  vault_->save_usage();
  handler_.reset();
  std::ostringstream again;
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(again)));
  vault_ = Vault::open(path, master);
  spdlog::set_default_logger(previous);
  EXPECT_EQ(again.str(), "") << "warned once, then stored as ws: false";
  handler_ = std::make_unique<Handler>(*vault_, *audit_, options);
  EXPECT_EQ(code(call(http::verb::post, "/v1/keys/rules/ws-login", {}, kStranger)), "policy_denied");
}

TEST_F(HandlerTest, AddWipesTheRequestBodyThatCarriedTheSecret) {
  Request request{http::verb::post, "/v1/keys", 11};
  request.body() = add_body("main");
  request.prepare_payload();
  const Response response = handler_->handle(request, kRoot);
  EXPECT_EQ(response.result(), http::status::created);
  EXPECT_TRUE(request.body().empty());
  EXPECT_EQ(response.body().find("S3CRET-VALUE-XYZ"), std::string::npos);
  EXPECT_EQ(response.body().find("Pass#Phrase-1"), std::string::npos);
}

TEST_F(HandlerTest, AFailedAddAlsoWipesTheBody) {
  Request request{http::verb::post, "/v1/keys", 11};
  request.body() = R"({"name":"BAD NAME","api_key":"k","secret":"S3CRET-VALUE-XYZ","passphrase":"p"})";
  request.prepare_payload();
  const Response response = handler_->handle(request, kRoot);
  EXPECT_EQ(code(response), "invalid_name");
  EXPECT_TRUE(request.body().empty());
}

TEST_F(HandlerTest, RoutesAndMethods) {
  ASSERT_EQ(call(http::verb::post, "/v1/keys", add_body("main")).result(), http::status::created);
  EXPECT_EQ(code(call(http::verb::get, "/v2/status")), "not_found");
  EXPECT_EQ(code(call(http::verb::get, "/v1/keys/main/other")), "not_found");
  const Response wrong = call(http::verb::get, "/v1/keys/main/sign");
  EXPECT_EQ(wrong.result(), http::status::method_not_allowed);
  EXPECT_EQ(wrong[http::field::allow], "POST");
  EXPECT_EQ(call(http::verb::get, "/v1/status?verbose=1").result(), http::status::ok);
  EXPECT_EQ(call(http::verb::delete_, "/v1/keys/main").result(), http::status::no_content);
  EXPECT_EQ(code(call(http::verb::delete_, "/v1/keys/main")), "key_not_found");
}

TEST_F(HandlerTest, SignRejectsRequestsOkxWouldNotAccept) {
  ASSERT_EQ(call(http::verb::post, "/v1/keys", add_body("main")).result(), http::status::created);
  const auto sign = [&](const std::string& body) { return code(call(http::verb::post, "/v1/keys/main/sign", body)); };
  EXPECT_EQ(sign(R"({"method":"get","path":"/api/v5/account/balance"})"), "bad_request");
  EXPECT_EQ(sign(R"({"method":"GET","path":"/api/v5/account/balance","body":"{}"})"), "bad_request");
  EXPECT_EQ(sign(R"({"method":"GET","path":"/api/v5/account/bal ance"})"), "bad_request");
  EXPECT_EQ(sign(R"({"method":"GET","path":"/api/v5/account/balance#frag"})"), "bad_request");
  EXPECT_EQ(sign(R"({"method":"GET","path":"api/v5/account/balance"})"), "bad_request");
  EXPECT_EQ(sign(R"({"method":"GET","path":"/api/v5/account/balance","timestamp":1})"), "bad_request");
  EXPECT_EQ(sign(R"(["GET"])"), "bad_request");
  EXPECT_EQ(sign(R"({"method":"GET","path":"/api/v5/account/balance","timestamp":"2020-12-08T09:08:57.715Z"})"),
            "timestamp_skew");
  // The signed string must read one way: the body is JSON, the path in OKX's grammar.
  EXPECT_EQ(sign(R"({"method":"POST","path":"/api/v5/asset/w","body":"ithdrawal{}"})"), "bad_request");
  EXPECT_EQ(sign(R"({"method":"POST","path":"/api/v5/trade/order","body":"x"})"), "bad_request");
  EXPECT_EQ(sign(R"({"method":"POST","path":"/api/v5/trade/..;/asset/withdrawal","body":"{}"})"), "policy_denied");
  EXPECT_EQ(sign(R"({"method":"GET","path":"/api/v5/users/subaccount;/apikey"})"), "policy_denied");
  EXPECT_EQ(sign(R"({"method":"GET","path":"/api/v5/account/balance?ccy={"})"), "policy_denied");
  const std::string batch = R"({"method":"POST","path":"/api/v5/trade/batch-orders","body":"[]"})";
  EXPECT_EQ(call(http::verb::post, "/v1/keys/main/sign", batch).result(), http::status::ok);
}

TEST_F(HandlerTest, WsLoginChecksItsTimestampToo) {
  ASSERT_EQ(call(http::verb::post, "/v1/keys", add_body("main")).result(), http::status::created);
  EXPECT_EQ(call(http::verb::post, "/v1/keys/main/ws-login").result(), http::status::ok);
  EXPECT_EQ(code(call(http::verb::post, "/v1/keys/main/ws-login", R"({"timestamp":"1538054050"})")), "timestamp_skew");
  EXPECT_EQ(code(call(http::verb::post, "/v1/keys/main/ws-login", R"({"timestamp":"soon"})")), "bad_request");
  EXPECT_EQ(code(call(http::verb::post, "/v1/keys/main/ws-login", R"({"ts":"1"})")), "bad_request");
}

TEST_F(HandlerTest, KeepAliveFollowsTheRequest) {
  // HTTP/1.1 keeps alive unless told to close; HTTP/1.0 closes unless told to keep alive.
  for (const unsigned version : {10u, 11u}) {
    SCOPED_TRACE(version);
    Request request{http::verb::get, "/v1/status", version};
    request.keep_alive(false);
    const Response closing = handler_->handle(request, kRoot);
    EXPECT_FALSE(closing.keep_alive());
    EXPECT_EQ(closing[http::field::connection], version == 11 ? "close" : "");
    request.keep_alive(true);
    const Response kept = handler_->handle(request, kRoot);
    EXPECT_TRUE(kept.keep_alive());
    EXPECT_EQ(kept[http::field::connection], version == 10 ? "keep-alive" : "");
  }
}

TEST_F(HandlerTest, LockAndSlotCallsAreForAdminsOnly) {
  for (const auto& [verb, target] :
       std::vector<std::pair<http::verb, std::string>>{{http::verb::post, "/v1/lock"},
                                                       {http::verb::post, "/v1/unlock"},
                                                       {http::verb::put, "/v1/slots/passphrase"},
                                                       {http::verb::delete_, "/v1/slots/passphrase"},
                                                       {http::verb::post, "/v1/slots/key-file/rotate"},
                                                       {http::verb::post, "/v1/rekey"}}) {
    const Response response = call(verb, target, R"({"passphrase":"a passphrase"})", kStranger);
    EXPECT_EQ(response.result(), http::status::forbidden) << target;
    EXPECT_EQ(code(response), "forbidden");
  }
  EXPECT_FALSE(vault_->locked());
}

TEST_F(HandlerTest, LockedVaultAnswers423AndPassphraseBodiesAreWiped) {
  ASSERT_EQ(call(http::verb::post, "/v1/keys", add_body("main")).result(), http::status::created);
  Request set{http::verb::put, "/v1/slots/passphrase", 11};
  set.body() = R"({"new_passphrase":"Vault-Pass-123"})";
  set.prepare_payload();
  ASSERT_EQ(handler_->handle(set, kRoot).result(), http::status::ok);
  EXPECT_EQ(set.body().find("Vault-Pass-123"), std::string::npos) << "the body was not wiped";

  const Response locked = call(http::verb::post, "/v1/lock");
  EXPECT_EQ(json::parse(locked.body()).at("locked"), true);
  const Response sign =
      call(http::verb::post, "/v1/keys/main/sign", R"({"method":"GET","path":"/api/v5/account/balance"})");
  EXPECT_EQ(static_cast<int>(sign.result()), 423);
  EXPECT_EQ(code(sign), "vault_locked");
  EXPECT_EQ(code(call(http::verb::delete_, "/v1/keys/main")), "vault_locked");

  std::chrono::milliseconds hold{0};
  Request wrong{http::verb::post, "/v1/unlock", 11};
  wrong.body() = R"({"passphrase":"Not-The-Pass"})";
  wrong.prepare_payload();
  const Response refused = handler_->handle(wrong, kRoot, true, &hold);
  EXPECT_EQ(code(refused), "wrong_passphrase");
  EXPECT_EQ(hold, std::chrono::milliseconds(250)) << "the server holds this reply";
  EXPECT_EQ(refused.body().find("Not-The-Pass"), std::string::npos);
}

// Every admin action writes one audit line whatever its outcome: refused to a
// non-admin, refused as invalid (400s included, the error code as the rule),
// failed, or done.
TEST_F(HandlerTest, EveryAdminActionIsAuditedExactlyOnceWhateverItsOutcome) {
  const auto audited_call = [&](http::verb verb, const std::string& target, const std::string& body = {},
                                const Peer& peer = kRoot) { return audited(call(verb, target, body, peer)); };
  const std::string grants = R"({"grants":[{"user":"root","read_only":true}]})";
  new_audit_lines();

  EXPECT_EQ(audited_call(http::verb::post, "/v1/keys", "{", kStranger), "add  deny admin only");
  EXPECT_EQ(audited_call(http::verb::post, "/v1/keys", "{"), "add  deny invalid_json");
  EXPECT_EQ(audited_call(http::verb::post, "/v1/keys", R"({"name":"main"})"), "add  deny bad_request");
  EXPECT_EQ(audited_call(http::verb::post, "/v1/keys", add_body("Main")), "add Main deny invalid_name");
  EXPECT_EQ(audited_call(http::verb::post, "/v1/keys", add_body("main")), "add main allow live key");
  EXPECT_EQ(audited_call(http::verb::post, "/v1/keys", add_body("main")), "add main deny key_exists");

  EXPECT_EQ(audited_call(http::verb::put, "/v1/keys/main/grants", grants, kStranger),
            "set-grants main deny admin only");
  EXPECT_EQ(audited_call(http::verb::put, "/v1/keys/main/grants", "[]"), "set-grants main deny bad_request");
  EXPECT_EQ(audited_call(http::verb::put, "/v1/keys/other/grants", R"({"grants":[{"user":"no-such-user-here"}]})"),
            "set-grants other deny bad_request");
  EXPECT_EQ(audited_call(http::verb::put, "/v1/keys/other/grants", grants), "set-grants other deny key_not_found");
  EXPECT_EQ(audited_call(http::verb::put, "/v1/keys/main/grants", grants), "set-grants main allow user root");
  EXPECT_EQ(audited_call(http::verb::get, "/v1/keys/other/grants"), "grants other deny key_not_found");

  EXPECT_EQ(audited_call(http::verb::delete_, "/v1/keys/main", {}, kStranger), "revoke main deny admin only");
  EXPECT_EQ(audited_call(http::verb::delete_, "/v1/keys/other"), "revoke other deny key_not_found");

  EXPECT_EQ(audited_call(http::verb::put, "/v1/slots/passphrase", R"({"new_passphrase":"short"})"),
            "set-passphrase  deny bad_request");
  EXPECT_EQ(audited_call(http::verb::delete_, "/v1/slots/passphrase", R"({"passphrase":"Vault-Pass-123"})"),
            "remove-passphrase  deny not_found");
  EXPECT_EQ(audited_call(http::verb::post, "/v1/rekey", R"({"passphrase":"Vault-Pass-123"})"),
            "rekey  deny bad_request");
  EXPECT_EQ(audited_call(http::verb::post, "/v1/unlock", R"({"passphrase":1})"), "unlock  deny bad_request");

  EXPECT_EQ(audited_call(http::verb::delete_, "/v1/keys/main"), "revoke main allow ");
  EXPECT_EQ(audited_call(http::verb::post, "/v1/lock"), "lock  allow ");
  EXPECT_EQ(audited_call(http::verb::post, "/v1/keys", add_body("two")), "add two deny vault_locked");
  EXPECT_EQ(audited_call(http::verb::delete_, "/v1/keys/main"), "revoke main deny vault_locked");
  EXPECT_EQ(audited_call(http::verb::put, "/v1/keys/main/grants", grants), "set-grants main deny vault_locked");
  EXPECT_EQ(audited_call(http::verb::get, "/v1/metrics", {}, kStranger), "metrics  deny admin only");
  EXPECT_EQ(audited_call(http::verb::get, "/v1/audit/verify", {}, kStranger), "audit-verify  deny admin only");
}

// The route table keeps the wire as it was: what is not found, what is not
// allowed and the Allow header of each path, and which errors come first.
TEST_F(HandlerTest, TheRouteTableAnswersEveryPathAndMethodAsBefore) {
  const std::vector<std::pair<std::string, std::string>> allowed = {
      {"/v1/status", "GET"},
      {"/v1/lock", "POST"},
      {"/v1/unlock", "POST"},
      {"/v1/slots/passphrase", "PUT, DELETE"},
      {"/v1/slots/key-file/rotate", "POST"},
      {"/v1/rekey", "POST"},
      {"/v1/metrics", "GET"},
      {"/v1/audit/verify", "GET"},
      {"/v1/keys", "GET, POST"},
      {"/v1/keys/main", "DELETE"},
      {"/v1/keys/", "DELETE"},
      {"/v1/keys/main/sign", "POST"},
      {"/v1/keys//sign", "POST"},
      {"/v1/keys/main/ws-login", "POST"},
      {"/v1/keys/main/grants", "GET, PUT"},
  };
  for (const auto& [path, allow] : allowed) {
    const Response response = call(http::verb::patch, path + "?x=1");
    EXPECT_EQ(response.result(), http::status::method_not_allowed) << path;
    EXPECT_EQ(response[http::field::allow], allow) << path;
    EXPECT_EQ(code(response), "method_not_allowed") << path;
  }
  for (const std::string path : {"/v1", "/v1/keys/main/", "/v1/keys/main/sign/x", "/v1/keys/a/b", "/v1/keysx",
                                 "/v1/status/", "/v1/slots", "/v1/keys/main/other"}) {
    EXPECT_EQ(code(call(http::verb::get, path)), "not_found") << path;
  }
  // Locked, a request's own faults are still reported before the lock.
  ASSERT_EQ(call(http::verb::post, "/v1/keys", add_body("main")).result(), http::status::created);
  ASSERT_EQ(call(http::verb::post, "/v1/lock").result(), http::status::ok);
  EXPECT_EQ(code(call(http::verb::post, "/v1/keys", "{")), "invalid_json");
  EXPECT_EQ(code(call(http::verb::post, "/v1/keys/main/sign", R"({"method":"get","path":"/api/v5/x"})")),
            "bad_request");
  EXPECT_EQ(code(call(http::verb::put, "/v1/keys/main/grants", R"({"grants":[{"user":"no-such-user-here"}]})")),
            "bad_request");
  EXPECT_EQ(code(call(http::verb::put, "/v1/slots/passphrase", R"({"new_passphrase":"short"})")), "bad_request");
  EXPECT_EQ(code(call(http::verb::post, "/v1/keys/main/ws-login", "", kStranger)), "vault_locked");
  EXPECT_EQ(code(call(http::verb::delete_, "/v1/keys/main", "", kStranger)), "forbidden");
  // Sign refusals stay decisions about a key: audited once read, not before.
  new_audit_lines();
  EXPECT_EQ(code(call(http::verb::post, "/v1/keys/main/sign", "{")), "invalid_json");
  EXPECT_TRUE(new_audit_lines().empty());
  EXPECT_EQ(audited(call(http::verb::post, "/v1/keys/main/sign", R"({"method":"GET","path":"/api/v5/x"})")),
            "sign main deny vault_locked");
}

TEST(HandlerAdminSocket, AnAdminCallRefusedOnTheBotsSocketNamesTheAdminSocket) {
  test::TempDir dir;
  auto vault = Vault::create(dir / "vault.store", SecretBytes::random(32));
  Audit audit(dir / "audit.log");
  HandlerOptions options{std::chrono::seconds(30), kDaemonUid, {}};
  options.admin_socket = "/run/okx-vault/admin.sock";
  const Handler handler(*vault, audit, options);
  const auto message = [&](const Peer& peer, bool admin_channel) {
    Request request{http::verb::post, "/v1/lock", 11};
    const Response response = handler.handle(request, peer, admin_channel);
    EXPECT_EQ(response.result(), http::status::forbidden);
    return std::string(json::parse(response.body()).at("error").at("message").as_string());
  };
  for (const Peer& peer : {kRoot, kStranger}) {
    EXPECT_EQ(message(peer, false), "uid " + std::to_string(peer.uid) +
                                        " is not an admin on this socket: admin calls go to the daemon's admin socket "
                                        "/run/okx-vault/admin.sock");
  }
  // On the admin socket itself, a refusal is about the caller.
  EXPECT_EQ(message(kStranger, true), "uid 1000 is not an admin of this vault");
  EXPECT_FALSE(vault->locked());
}

TEST(HandlerCredential, KeyFileRotationOfACredentialIsRefusedSayingWhereToLook) {
  test::TempDir dir;
  auto vault = Vault::create(dir / "vault.store", SecretBytes::random(32));
  Audit audit(dir / "audit.log");
  HandlerOptions options{std::chrono::seconds(30), kDaemonUid, {}};
  options.key_file = dir / "credential";
  options.key_file_is_credential = true;
  const Handler handler(*vault, audit, options);
  const std::string before = test::read_file(dir / "vault.store");
  Request request{http::verb::post, "/v1/slots/key-file/rotate", 11};
  const Response response = handler.handle(request, kRoot);
  EXPECT_EQ(response.result(), http::status::bad_request);
  EXPECT_NE(response.body().find("systemd credential"), std::string::npos) << response.body();
  EXPECT_NE(response.body().find("Rotating a credential"), std::string::npos) << response.body();
  EXPECT_EQ(test::read_file(dir / "vault.store"), before);
  EXPECT_FALSE(std::filesystem::exists(dir / "credential"));
}

}  // namespace
}  // namespace okxvault
