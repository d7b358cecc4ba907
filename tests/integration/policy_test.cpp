// Grants, policy and audit with real peers: the daemon runs as root, the bots are
// real system users (created here) whose requests go through curl under their own
// uid, so the daemon learns who they are only from SO_PEERCRED.

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <algorithm>
#include <boost/json.hpp>
#include <fstream>

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

// A group grant matches the groups the peer's process holds, as the kernel
// reports them (SO_PEERGROUPS), not the group database: a bot in a container
// given the group with --group-add is in it, and a process that dropped the
// group is not.
TEST_F(PolicyTest, AGroupGrantMatchesTheGroupsTheProcessHolds) {
  grant("main", std::string(R"({"grants":[{"group":")") + kBotsGroup + R"("}]})");
  const auto sign_holding = [&](const char* user, std::vector<std::string> groups) {
    const std::string body = R"({"method":"GET","path":"/api/v5/account/balance"})";
    return test::curl_as(user, daemon_->socket(), "POST", "/v1/keys/main/sign", body, groups).status;
  };
  // bot1 is not a member in /etc/group, but its process holds the group.
  EXPECT_EQ(sign_holding(kBot1, {kClientsGroup, kBotsGroup}), 200);
  EXPECT_EQ(sign_holding(kBot1, {kClientsGroup}), 404);
  // bot2 is a member in /etc/group, but its process dropped the group.
  EXPECT_EQ(sign_holding(kBot2, {kClientsGroup}), 404);
  EXPECT_EQ(sign_holding(kBot2, {kClientsGroup, kBotsGroup}), 200);
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
  EXPECT_EQ(rule_of(denied), "builtin deny POST /api/v5/asset/withdrawal");
  // Reading is no money move: withdrawal history and transfer state sign.
  EXPECT_EQ(sign_as(kBot1, "main", "GET", "/api/v5/asset/withdrawal-history?ccy=BTC").status, 200);
  EXPECT_EQ(sign_as(kBot1, "main", "GET", "/api/v5/asset/transfer-state?transId=1").status, 200);
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
  for (const char* field : {"time", "gid", "pid", "rule", "prev", "hash"})
    EXPECT_TRUE(allowed->contains(field)) << field;
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

  // Granting the same user again replaces that user's grant only with --replace.
  ASSERT_EQ(cli({"grant", "main", "--user", kBot1, "--replace"}).exit_code, 0);
  EXPECT_EQ(sign_as(kBot1, "main", "POST", "/api/v5/trade/order", "{}").status, 200);
  EXPECT_EQ(Client(daemon_->socket().string()).grants("main").size(), 2u);

  ASSERT_EQ(cli({"ungrant", "main", "--user", kBot1}).exit_code, 0);
  EXPECT_EQ(sign_as(kBot1, "main", "GET", "/api/v5/account/balance").status, 404) << "no grant: no such key, to it";
  EXPECT_EQ(cli({"ungrant", "main", "--user", kBot1}).exit_code, 5);
  EXPECT_EQ(cli({"grant", "main"}).exit_code, 2) << "--user or --group is required";
  EXPECT_EQ(cli({"grant", "main", "--user", "no-such-user-okxv"}).exit_code, 6);
  EXPECT_EQ(cli({"grant", "main", "--user", kBot1, "--allow", "PUT /api/v5/"}).exit_code, 6);
}

// A user or group has one grant per key, and grant never drops it unasked:
// without --replace it shows the grant there and changes nothing.
TEST_F(PolicyCliTest, GrantRefusesToReplaceAGrantWithoutReplace) {
  Client admin(daemon_->socket().string());
  ASSERT_EQ(cli({"grant", "main", "--user", kBot1, "--allow", "POST /api/v5/trade/", "--expires", "30d"}).exit_code, 0);
  ASSERT_EQ(cli({"grant", "main", "--group", kBotsGroup, "--read-only"}).exit_code, 0);
  const std::string before = proto::encode(admin.grants("main"));

  const passwd* bot1_entry = ::getpwnam(kBot1);
  ASSERT_NE(bot1_entry, nullptr);
  const std::string uid = std::to_string(bot1_entry->pw_uid);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"grant", "main", "--user", kBot1, "--read-only"},
        std::vector<std::string>{"grant", "main", "--user", uid},  // the same user, by uid
        std::vector<std::string>{"grant", "main", "--user", kBot1, "--allow", "POST /api/v5/trade/"},  // no expiry
        std::vector<std::string>{"grant", "main", "--group", kBotsGroup}}) {
    SCOPED_TRACE(args[3] + (args.size() > 4 ? " " + args[4] : ""));
    const test::Output out = cli(args);
    EXPECT_EQ(out.exit_code, 6) << out.err;
    EXPECT_EQ(out.out, "");
    EXPECT_TRUE(out.err.starts_with("okx-vault: key 'main' already has a grant for ")) << out.err;
    EXPECT_NE(out.err.find("--replace"), std::string::npos) << out.err;
    EXPECT_EQ(std::count(out.err.begin(), out.err.end(), '\n'), 1) << out.err;
    EXPECT_EQ(proto::encode(admin.grants("main")), before) << "the grants are unchanged";
  }
  const test::Output user = cli({"grant", "main", "--user", kBot1, "--read-only"});
  EXPECT_NE(user.err.find(std::string("user ") + kBot1 + " (" + uid + "): read-write"), std::string::npos) << user.err;
  EXPECT_NE(user.err.find("allow POST /api/v5/trade/"), std::string::npos) << "names what exists: " << user.err;
  EXPECT_NE(user.err.find("expires "), std::string::npos) << user.err;
  EXPECT_EQ(sign_as(kBot1, "main", "POST", "/api/v5/trade/order", "{}").status, 200) << "the grant still stands";

  // The same grant again changes nothing, and says so.
  const test::Output group_again = cli({"grant", "main", "--group", kBotsGroup, "--read-only"});
  EXPECT_EQ(group_again.exit_code, 0) << group_again.err;
  EXPECT_NE(group_again.err.find("Nothing changed"), std::string::npos) << group_again.err;
  EXPECT_EQ(proto::encode(admin.grants("main")), before);

  // --replace replaces that grant, by name or uid, and leaves the others.
  const test::Output replaced = cli({"grant", "main", "--user", uid, "--read-only", "--replace"});
  ASSERT_EQ(replaced.exit_code, 0) << replaced.err;
  EXPECT_NE(replaced.err.find("Replaced"), std::string::npos) << replaced.err;
  const std::vector<proto::GrantInfo> after = admin.grants("main");
  ASSERT_EQ(after.size(), 2u);
  const auto bot1 = std::find_if(after.begin(), after.end(), [](const auto& g) { return g.name == kBot1; });
  ASSERT_NE(bot1, after.end());
  EXPECT_TRUE(bot1->read_only);
  EXPECT_TRUE(bot1->allow.empty());
  EXPECT_FALSE(bot1->expires.has_value());
  EXPECT_EQ(sign_as(kBot1, "main", "POST", "/api/v5/trade/order", "{}").status, 403) << "read-only now";
  EXPECT_EQ(sign_as(kBot1, "main", "GET", "/api/v5/account/balance").status, 200);

  // --replace with no grant there simply grants.
  ASSERT_EQ(cli({"grant", "other", "--user", kBot1, "--replace"}).exit_code, 0);
  EXPECT_EQ(admin.grants("other").size(), 1u);
}

TEST_F(PolicyCliTest, AnExplicitAllowLiftsTheWithdrawalDeny) {
  ASSERT_EQ(cli({"grant", "main", "--user", kBot1}).exit_code, 0);
  EXPECT_EQ(sign_as(kBot1, "main", "POST", "/api/v5/asset/withdrawal", "{}").status, 403);
  ASSERT_EQ(cli({"grant", "main", "--user", kBot1, "--allow", "POST /api/v5/asset/withdrawal", "--replace"}).exit_code,
            0);
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
