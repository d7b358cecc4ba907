// What a peer that is not an admin learns about keys it has no grant on: nothing.
// The daemon runs as root; the bot is a real system user whose requests go
// through curl under its own uid, so the daemon knows it only by SO_PEERCRED.

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "client/client.hpp"
#include "tests/support/process.hpp"

namespace okxvault {
namespace {
namespace json = boost::json;

constexpr const char* kBot = "okxv-test-bot1";
constexpr const char* kOtherBot = "okxv-test-bot2";
constexpr const char* kClientsGroup = "okxv-test-cli";  // may connect to the socket

struct Reply {
  int status = 0;
  std::string body;
};

class DisclosureTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) return;
    for (const char* user : {kBot, kOtherBot}) {
      test::ensure_system_user(user, {kClientsGroup});
    }
  }

  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: creates system users and runs clients under their uids";
    ::chmod(dir_.path().c_str(), 0711);  // the bot reaches the socket; the state dir stays 0700
    daemon_ = std::make_unique<test::Daemon>(dir_.path(), std::vector<std::string>{"--socket-group", kClientsGroup});
    Client admin(daemon_->socket().string());
    for (const char* name : {"mine", "theirs", "ungranted"}) {
      admin.add({name, "ak-0b1c2d3e4f5a", SecretBytes::copy_of("S3CR3T-disclosure"),
                 SecretBytes::copy_of("Pass-disclosure"), false});
    }
    grant(admin, "mine", std::string(R"({"grants":[{"user":")") + kBot + R"(","allow":["GET /api/v5/account/"]}]})");
    grant(admin, "theirs", std::string(R"({"grants":[{"user":")") + kOtherBot + R"("}]})");
  }

  static void grant(Client& admin, const std::string& key, const std::string& grants) {
    const auto reply = admin.request("PUT", "/v1/keys/" + key + "/grants", grants);
    ASSERT_EQ(reply.status, 200) << reply.body;
  }

  Reply as_bot(const std::string& method, const std::string& target, const std::string& body = {}) {
    test::CurlReply reply = test::curl_as(kBot, daemon_->socket(), method, target, body);
    return {reply.status, std::move(reply.body)};
  }

  // The reply with the key's name taken out: what tells one key from another.
  static std::string without(std::string text, const std::string& name) {
    for (std::size_t at; (at = text.find("'" + name + "'")) != std::string::npos;)
      text.replace(at, name.size() + 2, "'K'");
    return text;
  }

  test::TempDir dir_;
  std::unique_ptr<test::Daemon> daemon_;
};

TEST_F(DisclosureTest, AKeyWithoutAGrantForThePeerIsAnsweredAsAKeyThatDoesNotExist) {
  const std::string sign = R"({"method":"GET","path":"/api/v5/account/balance"})";
  const Reply absent = as_bot("POST", "/v1/keys/nosuchkey/sign", sign);
  EXPECT_EQ(absent.status, 404);
  EXPECT_EQ(json::parse(absent.body).at("error").at("code").as_string(), "key_not_found");
  for (const char* name : {"theirs", "ungranted"}) {
    SCOPED_TRACE(name);
    const Reply hidden = as_bot("POST", std::string("/v1/keys/") + name + "/sign", sign);
    EXPECT_EQ(hidden.status, absent.status);
    EXPECT_EQ(without(hidden.body, name), without(absent.body, "nosuchkey"));
    const Reply login = as_bot("POST", std::string("/v1/keys/") + name + "/ws-login", "{}");
    const Reply absent_login = as_bot("POST", "/v1/keys/nosuchkey/ws-login", "{}");
    EXPECT_EQ(login.status, 404);
    EXPECT_EQ(without(login.body, name), without(absent_login.body, "nosuchkey"));
  }
  // Its own key: signed where its grant allows, refused by rule where not.
  EXPECT_EQ(as_bot("POST", "/v1/keys/mine/sign", sign).status, 200);
  const Reply denied =
      as_bot("POST", "/v1/keys/mine/sign", R"({"method":"GET","path":"/api/v5/trade/orders-pending"})");
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(json::parse(denied.body).at("error").at("code").as_string(), "policy_denied");
  // Admin calls naming a key are refused alike, whether it exists or not.
  for (const char* name : {"theirs", "nosuchkey"}) {
    EXPECT_EQ(as_bot("GET", std::string("/v1/keys/") + name + "/grants").status, 403);
    EXPECT_EQ(as_bot("DELETE", std::string("/v1/keys/") + name).status, 403);
  }
  // The admin still sees the attempts on the hidden keys in the audit log.
  daemon_->stop();
  const std::string audit = test::read_file(daemon_->state_dir() / "audit.log");
  EXPECT_NE(audit.find(R"("key":"theirs")"), std::string::npos) << audit;
}

TEST_F(DisclosureTest, StatusAndListingCountOnlyThePeersOwnKeys) {
  const Reply status = as_bot("GET", "/v1/status");
  ASSERT_EQ(status.status, 200) << status.body;
  EXPECT_EQ(json::parse(status.body).at("keys").as_int64(), 1) << "only 'mine' is the bot's: " << status.body;
  const Reply listing = as_bot("GET", "/v1/keys");
  ASSERT_EQ(listing.status, 200);
  const json::value listed = json::parse(listing.body);
  const json::array& keys = listed.at("keys").as_array();
  ASSERT_EQ(keys.size(), 1u) << listing.body;
  EXPECT_EQ(keys[0].at("name").as_string(), "mine");
  EXPECT_EQ(Client(daemon_->socket().string()).status().keys, 3u) << "an admin counts every key";
}

}  // namespace
}  // namespace okxvault
