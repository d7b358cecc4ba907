// Grants, policy and audit with real peers: the daemon runs as root, the bots are
// real system users (created here) whose requests go through curl under their own
// uid, so the daemon learns who they are only from SO_PEERCRED.

#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <fstream>
#include <gtest/gtest.h>

#include "client/client.hpp"
#include "proto/audit_chain.hpp"
#include "tests/support/process.hpp"

namespace okxvault {
namespace {
namespace json = boost::json;

constexpr const char* kBot1 = "okxv-test-bot1";
constexpr const char* kBot2 = "okxv-test-bot2";
constexpr const char* kBotsGroup = "okxv-test-bots";    // bot2 is a member
constexpr const char* kClientsGroup = "okxv-test-cli";  // may connect to the socket
constexpr std::string_view kSecret = "5E1F0C9A8B7D6E5F4A3B2C1D0E9F8A7B";
constexpr std::string_view kPassphrase = "Bots-Only#Pass42";

struct Reply {
  int status = 0;
  json::value body;
};

class PolicyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) return;
    test::ensure_system_user(kBot1, {kClientsGroup});
    test::ensure_system_user(kBot2, {kClientsGroup, kBotsGroup});
  }

  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: creates system users and runs clients under their uids";
    ::chmod(dir_.path().c_str(), 0711);  // bots reach the socket; the state dir stays 0700
    daemon_ = std::make_unique<test::Daemon>(dir_.path(), std::vector<std::string>{"--socket-group", kClientsGroup});
    Client admin(daemon_->socket().string());
    for (const char* name : {"main", "other"}) {
      admin.add({name, "ak-7f3e9c1b2a4d", SecretBytes::copy_of(kSecret), SecretBytes::copy_of(kPassphrase), false});
    }
  }

  // One request as a bot, through curl under the bot's own uid and groups.
  Reply as(const char* user, const std::string& method, const std::string& target, const std::string& body = {}) {
    const test::CurlReply out = test::curl_as(user, daemon_->socket(), method, target, body);
    Reply reply;
    reply.status = out.status;
    if (!out.body.empty()) reply.body = json::parse(out.body);
    responses_ += out.body + "\n";
    return reply;
  }

  Reply sign_as(const char* user, const std::string& key, const std::string& method, const std::string& path,
                const std::string& body = {}) {
    json::object request{{"method", method}, {"path", path}};
    if (!body.empty()) request["body"] = body;
    return as(user, "POST", "/v1/keys/" + key + "/sign", json::serialize(request));
  }

  void grant(const std::string& key, const std::string& grants_json) {
    const auto reply = Client(daemon_->socket().string()).request("PUT", "/v1/keys/" + key + "/grants", grants_json);
    ASSERT_EQ(reply.status, 200) << reply.body;
  }

  static std::string rule_of(const Reply& reply) { return std::string(reply.body.at("error").at("rule").as_string()); }

  std::vector<json::object> audit_lines() {
    daemon_->stop();  // flushes the audit log
    std::vector<json::object> lines;
    std::ifstream in(daemon_->state_dir() / "audit.log");
    for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line).as_object());
    return lines;
  }

  test::TempDir dir_;
  std::unique_ptr<test::Daemon> daemon_;
  std::string responses_;
};

TEST_F(PolicyTest, AnUngrantedUidGets404AsForNoSuchKey) {
  const Reply reply = sign_as(kBot1, "main", "GET", "/api/v5/account/balance");
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(reply.body.at("error").at("code").as_string(), "key_not_found");
}

TEST_F(PolicyTest, GrantedUserAndGrantedGroupGetSignatures) {
  grant("main", std::string(R"({"grants":[{"user":")") + kBot1 + R"("},{"group":")" + kBotsGroup + R"("}]})");
  for (const char* bot : {kBot1, kBot2}) {
    const Reply reply = sign_as(bot, "main", "POST", "/api/v5/trade/order", R"({"instId":"BTC-USDT"})");
    EXPECT_EQ(reply.status, 200) << bot;
    EXPECT_EQ(reply.body.at("headers").at("OK-ACCESS-KEY").as_string(), "ak-7f3e9c1b2a4d");
  }
  EXPECT_EQ(sign_as(kBot1, "other", "GET", "/api/v5/account/balance").status, 404) << "grants are per key";
}

TEST_F(PolicyTest, ReadOnlyRefusesPost) {
  grant("main", std::string(R"({"grants":[{"user":")") + kBot1 + R"(","read_only":true}]})");
  EXPECT_EQ(sign_as(kBot1, "main", "GET", "/api/v5/account/balance").status, 200);
  const Reply post = sign_as(kBot1, "main", "POST", "/api/v5/trade/order", "{}");
  EXPECT_EQ(post.status, 403);
  EXPECT_NE(rule_of(post).find("read-only"), std::string::npos);
  EXPECT_EQ(as(kBot1, "POST", "/v1/keys/main/ws-login").status, 403) << "a read-only grant gets no WebSocket login";
}

TEST_F(PolicyTest, AnExpiredGrantRefuses) {
  grant("main", std::string(R"({"grants":[{"user":")") + kBot1 + R"(","expires":"2020-01-01T00:00:00.000Z"}]})");
  const Reply reply = sign_as(kBot1, "main", "GET", "/api/v5/account/balance");
  EXPECT_EQ(reply.status, 403);
  EXPECT_NE(rule_of(reply).find("grant expired"), std::string::npos);
}

TEST_F(PolicyTest, BuiltinDenyListHoldsAndAnExplicitAllowLiftsIt) {
  grant("main", std::string(R"({"grants":[{"user":")") + kBot1 + R"("}]})");
  const Reply denied = sign_as(kBot1, "main", "POST", "/api/v5/asset/withdrawal", "{}");
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(rule_of(denied), "builtin deny * /api/v5/asset/withdrawal");
  grant("main", std::string(R"({"grants":[{"user":")") + kBot1 + R"(","allow":["POST /api/v5/asset/withdrawal"]}]})");
  EXPECT_EQ(sign_as(kBot1, "main", "POST", "/api/v5/asset/withdrawal", "{}").status, 200);
}

TEST_F(PolicyTest, PathTricksAreRefused) {
  grant("main", std::string(R"({"grants":[{"user":")") + kBot1 + R"("}]})");
  for (const char* path : {"/api/v5/asset/./withdrawal", "/api/v5//asset/withdrawal", "/api/v5/asset/%77ithdrawal",
                           "/api/v5/ASSET/Withdrawal", "/api/v5/trade/../asset/withdrawal"}) {
    EXPECT_EQ(sign_as(kBot1, "main", "POST", path, "{}").status, 403) << path;
  }
  // The request-path check refuses this one before policy: it does not start with /api/v5/.
  EXPECT_EQ(sign_as(kBot1, "main", "POST", "//api/v5/asset/withdrawal", "{}").status, 400);
}

TEST_F(PolicyTest, AClientListsOnlyItsKeysAndCannotAdminister) {
  grant("other", std::string(R"({"grants":[{"user":")") + kBot1 + R"("}]})");
  const Reply list = as(kBot1, "GET", "/v1/keys");
  ASSERT_EQ(list.status, 200);
  const json::array& keys = list.body.at("keys").as_array();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].at("name").as_string(), "other");
  EXPECT_EQ(as(kBot2, "GET", "/v1/keys").body.at("keys").as_array().size(), 0u);
  EXPECT_EQ(as(kBot1, "DELETE", "/v1/keys/other").status, 403);
  EXPECT_EQ(as(kBot1, "PUT", "/v1/keys/other/grants", R"({"grants":[]})").status, 403);
  EXPECT_EQ(Client(daemon_->socket().string()).list().size(), 2u) << "root still sees and has both keys";
}

TEST_F(PolicyTest, EveryDecisionIsAuditedInAnUnbrokenChain) {
  grant("main", std::string(R"({"grants":[{"user":")") + kBot1 + R"(","read_only":true}]})");
  sign_as(kBot1, "main", "GET", "/api/v5/account/balance");
  sign_as(kBot1, "main", "POST", "/api/v5/trade/order", "{}");
  sign_as(kBot2, "main", "GET", "/api/v5/account/balance");
  as(kBot2, "DELETE", "/v1/keys/main");
  const auto lines = audit_lines();

  const auto find = [&](std::string_view action, std::string_view decision, uid_t uid) -> const json::object* {
    for (const auto& line : lines) {
      if (line.at("action").as_string() == action && line.at("decision").as_string() == decision &&
          line.at("uid").as_int64() == uid) {
        return &line;
      }
    }
    return nullptr;
  };
  const uid_t bot1 = static_cast<uid_t>(std::stoul(test::run({"/usr/bin/id", "-u", kBot1}).out));
  const uid_t bot2 = static_cast<uid_t>(std::stoul(test::run({"/usr/bin/id", "-u", kBot2}).out));
  ASSERT_NE(find("add", "allow", 0), nullptr);
  ASSERT_NE(find("set-grants", "allow", 0), nullptr);
  const json::object* allowed = find("sign", "allow", bot1);
  ASSERT_NE(allowed, nullptr);
  EXPECT_EQ(allowed->at("key").as_string(), "main");
  EXPECT_EQ(allowed->at("method").as_string(), "GET");
  EXPECT_EQ(allowed->at("path").as_string(), "/api/v5/account/balance");
  EXPECT_EQ(allowed->at("exe").as_string(), "/usr/bin/curl");
  for (const char* field : {"time", "gid", "pid", "rule", "prev", "hash"}) EXPECT_TRUE(allowed->contains(field)) << field;
  const json::object* denied = find("sign", "deny", bot1);
  ASSERT_NE(denied, nullptr);
  EXPECT_NE(std::string(denied->at("rule").as_string()).find("read-only"), std::string::npos);
  ASSERT_NE(find("sign", "deny", bot2), nullptr);
  ASSERT_NE(find("revoke", "deny", bot2), nullptr);

  std::ifstream in(daemon_->state_dir() / "audit.log");
  const auto verdict = audit_chain::verify(in);
  EXPECT_TRUE(verdict.ok) << verdict.reason;
  EXPECT_EQ(verdict.lines, lines.size());

  const std::string log = test::read_file(daemon_->state_dir() / "audit.log");
  EXPECT_EQ(log.find(kSecret), std::string::npos);
  EXPECT_EQ(log.find(kPassphrase), std::string::npos);
  EXPECT_EQ(responses_.find(kSecret), std::string::npos);
}

TEST_F(PolicyTest, TheAuditChainContinuesAcrossRestarts) {
  sign_as(kBot1, "main", "GET", "/api/v5/account/balance");
  daemon_->stop();
  daemon_->start();
  sign_as(kBot1, "main", "GET", "/api/v5/account/balance");
  const auto lines = audit_lines();
  EXPECT_GE(lines.size(), 4u);
  std::ifstream in(daemon_->state_dir() / "audit.log");
  const auto verdict = audit_chain::verify(in);
  EXPECT_TRUE(verdict.ok) << verdict.reason << " at line " << verdict.first_bad;
}

// The admin CLI: grant, grants, ungrant, add --expires and audit verify.
class PolicyCliTest : public PolicyTest {
 protected:
  test::Output cli(std::vector<std::string> args, const std::string& input = {}) {
    args.insert(args.begin(), {test::cli_binary(), "--socket", daemon_->socket().string()});
    return test::run(args, input);
  }
};

TEST_F(PolicyCliTest, GrantGrantsAndUngrant) {
  ASSERT_EQ(cli({"grant", "main", "--user", kBot1, "--read-only"}).exit_code, 0);
  ASSERT_EQ(cli({"grant", "main", "--group", kBotsGroup, "--allow", "POST /api/v5/trade/", "--no-ws"}).exit_code, 0);
  const test::Output shown = cli({"grants", "main"});
  EXPECT_NE(shown.out.find(std::string("user ") + kBot1), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("read-only"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("allow POST /api/v5/trade/"), std::string::npos) << shown.out;
  EXPECT_EQ(sign_as(kBot1, "main", "GET", "/api/v5/account/balance").status, 200);
  EXPECT_EQ(sign_as(kBot1, "main", "POST", "/api/v5/trade/order", "{}").status, 403);
  EXPECT_EQ(sign_as(kBot2, "main", "POST", "/api/v5/trade/order", "{}").status, 200);

  // Granting the same user again replaces that user's grant.
  ASSERT_EQ(cli({"grant", "main", "--user", kBot1}).exit_code, 0);
  EXPECT_EQ(sign_as(kBot1, "main", "POST", "/api/v5/trade/order", "{}").status, 200);
  EXPECT_EQ(Client(daemon_->socket().string()).grants("main").size(), 2u);

  ASSERT_EQ(cli({"ungrant", "main", "--user", kBot1}).exit_code, 0);
  EXPECT_EQ(sign_as(kBot1, "main", "GET", "/api/v5/account/balance").status, 404) << "no grant: no such key, to it";
  EXPECT_EQ(cli({"ungrant", "main", "--user", kBot1}).exit_code, 5);
  EXPECT_EQ(cli({"grant", "main"}).exit_code, 2) << "--user or --group is required";
  EXPECT_EQ(cli({"grant", "main", "--user", "no-such-user-okxv"}).exit_code, 6);
  EXPECT_EQ(cli({"grant", "main", "--user", kBot1, "--allow", "PUT /api/v5/"}).exit_code, 6);
}

TEST_F(PolicyCliTest, AnExplicitAllowLiftsTheWithdrawalDeny) {
  ASSERT_EQ(cli({"grant", "main", "--user", kBot1}).exit_code, 0);
  EXPECT_EQ(sign_as(kBot1, "main", "POST", "/api/v5/asset/withdrawal", "{}").status, 403);
  ASSERT_EQ(cli({"grant", "main", "--user", kBot1, "--allow", "POST /api/v5/asset/withdrawal"}).exit_code, 0);
  EXPECT_EQ(sign_as(kBot1, "main", "POST", "/api/v5/asset/withdrawal", "{}").status, 200);
}

TEST_F(PolicyCliTest, AnExpiredKeyRefusesToSign) {
  ASSERT_EQ(cli({"add", "old", "--api-key", "ak-old-000000", "--expires", "2020-01-01T00:00:00.000Z"},
                std::string(kSecret) + "\n" + std::string(kPassphrase) + "\n")
                .exit_code,
            0);
  ASSERT_EQ(cli({"add", "young", "--api-key", "ak-young-00000", "--expires", "30d"},
                std::string(kSecret) + "\n" + std::string(kPassphrase) + "\n")
                .exit_code,
            0);
  const test::Output old = cli({"sign", "old", "GET", "/api/v5/account/balance"});
  EXPECT_EQ(old.exit_code, 4);
  EXPECT_NE(old.err.find("expired"), std::string::npos) << old.err;
  EXPECT_EQ(cli({"sign", "young", "GET", "/api/v5/account/balance"}).exit_code, 0);
  EXPECT_EQ(cli({"add", "bad", "--api-key", "ak-bad-0000000", "--expires", "soon"}, "s\np\n").exit_code, 2);
}

TEST_F(PolicyCliTest, AuditVerifyFindsEditedDeletedAndReorderedLines) {
  ASSERT_EQ(cli({"grant", "main", "--user", kBot1}).exit_code, 0);
  for (int i = 0; i < 3; ++i) sign_as(kBot1, "main", "GET", "/api/v5/account/balance");
  daemon_->stop();
  const std::filesystem::path log = daemon_->state_dir() / "audit.log";
  const test::Output intact = cli({"audit", "verify", log.string()});
  EXPECT_EQ(intact.exit_code, 0) << intact.err;
  EXPECT_NE(intact.out.find("chain intact"), std::string::npos);

  std::vector<std::string> lines;
  {
    std::ifstream in(log);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  ASSERT_GE(lines.size(), 5u);
  const auto verify_with = [&](std::vector<std::string> changed) {
    std::string text;
    for (const auto& line : changed) text += line + "\n";
    const std::filesystem::path copy = dir_ / "changed.log";
    test::write_file(copy, text);
    return cli({"audit", "verify", copy.string()});
  };
  auto edited = lines;
  edited[3].replace(edited[3].find("\"decision\":\"allow\""), 18, "\"decision\":\"deny\" ");
  test::Output out = verify_with(edited);
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("line 4: the line was edited"), std::string::npos) << out.err;

  auto deleted = lines;
  deleted.erase(deleted.begin() + 2);
  out = verify_with(deleted);
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("line 3:"), std::string::npos) << out.err;

  auto reordered = lines;
  std::swap(reordered[1], reordered[2]);
  out = verify_with(reordered);
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("line 2:"), std::string::npos) << out.err;
}

}  // namespace
}  // namespace okxvault
