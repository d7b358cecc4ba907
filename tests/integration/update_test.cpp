// okx-vault update, end to end: the real okx-vaultd with a bots' socket and an
// admin socket, the real CLI swapping a key's credentials, a bot signing on the
// bots' socket, and the signatures checked against a second implementation.

#include <gtest/gtest.h>
#include <signal.h>
#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "client/client.hpp"
#include "tests/support/audit_lines.hpp"
#include "tests/support/process.hpp"
#include "tests/support/reference_sign.hpp"

namespace okxvault {
namespace {
namespace json = boost::json;
using test::Daemon;
using test::Output;
using test::TempDir;

// A key's credentials as OKX issues them: before the update, and after.
struct Issued {
  std::string_view api_key, secret, passphrase;
};
constexpr Issued kOld{"37c5e7d2-96a3-4d4f-9d4b-1f0a2b3c8418", "UPDATE-OLD-SECRET-6c1e9a0b44d2", "Update-Old-Pass-3"};
constexpr Issued kNew{"9a1b52e0-3c4d-4e5f-8a6b-7c8d9e0f77c0", "UPDATE-NEW-SECRET-f08d2c7b19e5", "Update-New-Pass-8"};
constexpr std::string_view kMaskedNewApiKey = "9a1b…77c0";
constexpr char kBalance[] = "/api/v5/account/balance?ccy=BTC";

std::string new_credentials_input() { return std::string(kNew.secret) + "\n" + std::string(kNew.passphrase) + "\n"; }

std::map<std::string, std::string> as_map(const proto::Headers& headers) { return {headers.begin(), headers.end()}; }

std::string error_code_of(const Client::RawReply& reply) {
  return std::string(json::parse(reply.body).at("error").at("code").as_string());
}

class UpdateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ::signal(SIGPIPE, SIG_IGN); }

  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    daemon_ = std::make_unique<Daemon>(dir_.path(), std::vector<std::string>{"--admin-socket", admin_socket_.string()});
    wait_for_admin_socket();
    add("main", false);
  }

  void wait_for_admin_socket() const {
    for (int i = 0; i < 500 && !test::can_connect(admin_socket_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  Client admin() const { return Client(admin_socket_.string()); }
  // On the bots' socket nobody is an admin: this test's uid signs as a bot,
  // under the grant that names it.
  Client bot() const { return Client(daemon_->socket().string()); }

  void add(const std::string& name, bool simulated) const {
    admin().add({name, std::string(kOld.api_key), SecretBytes::copy_of(kOld.secret),
                 SecretBytes::copy_of(kOld.passphrase), simulated, "2199-01-01T00:00:00.000Z"});
  }

  Output cli(const std::vector<std::string>& args, const std::string& input = {}) const {
    std::vector<std::string> argv = {test::cli_binary(), "--socket", daemon_->socket().string(), "--admin-socket",
                                     admin_socket_.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::run(argv, input);
  }

  // A reply, kept to check afterwards that no secret is in any.
  Client::RawReply raw(Client client, std::string_view method, std::string_view target, std::string_view body) {
    Client::RawReply reply = client.request(method, target, body);
    replies_ += reply.body + "\n";
    return reply;
  }

  // The bot's signature of GET kBalance checks out with `issued`'s secret, and carries its api key and passphrase.
  void expect_bot_signs_with(const Issued& issued) const {
    const proto::SignReply reply = bot().sign("main", {"GET", kBalance, "", std::nullopt});
    const auto headers = as_map(reply.headers);
    EXPECT_EQ(headers.at("OK-ACCESS-KEY"), issued.api_key);
    EXPECT_EQ(headers.at("OK-ACCESS-PASSPHRASE"), issued.passphrase);
    EXPECT_EQ(headers.at("OK-ACCESS-SIGN"), test::okx_signature(issued.secret, reply.timestamp + "GET" + kBalance));
  }

  // Neither the new secret nor the new passphrase is in `text`.
  static void expect_no_new_secret(const std::string& text, const std::string& where) {
    EXPECT_EQ(text.find(kNew.secret), std::string::npos) << "the new secret is in " << where;
    EXPECT_EQ(text.find(kNew.passphrase), std::string::npos) << "the new passphrase is in " << where;
  }

  std::vector<std::string> audit_lines() const { return test::audit_lines(daemon_->state_dir() / "audit.log"); }

  TempDir dir_;
  std::filesystem::path admin_socket_ = dir_ / "admin.sock";
  std::unique_ptr<Daemon> daemon_;
  std::string replies_;
};

TEST_F(UpdateTest, KeepsTheKeysGrantsUsageAndExpiryAndTheBotsNextSignatureUsesTheNewSecret) {
  const std::string grants = R"({"grants":[{"user":"root","allow":["GET /api/v5/account/"],"ws":true}]})";
  ASSERT_EQ(raw(admin(), "PUT", "/v1/keys/main/grants", grants).status, 200);
  expect_bot_signs_with(kOld);
  expect_bot_signs_with(kOld);
  const proto::KeyInfo before = admin().list().at(0);
  const std::string grants_before = raw(admin(), "GET", "/v1/keys/main/grants", "").body;
  ASSERT_EQ(before.sign_count, 2u);

  const Output updated = cli({"update", "main", "--api-key", std::string(kNew.api_key)}, new_credentials_input());
  ASSERT_EQ(updated.exit_code, 0) << updated.err;
  EXPECT_NE(updated.err.find("Updated key 'main'"), std::string::npos) << updated.err;
  expect_no_new_secret(updated.out + updated.err, "the output of okx-vault update");

  // Everything but the credentials is as it was.
  const proto::KeyInfo after = admin().list().at(0);
  EXPECT_EQ(after.name, "main");
  EXPECT_EQ(after.api_key, kMaskedNewApiKey);
  EXPECT_EQ(after.simulated, false);
  EXPECT_EQ(after.created, before.created);
  EXPECT_EQ(after.last_used, before.last_used);
  EXPECT_EQ(after.sign_count, 2u);
  EXPECT_EQ(after.expires, before.expires);
  EXPECT_EQ(after.grants, 1u);
  EXPECT_EQ(raw(admin(), "GET", "/v1/keys/main/grants", "").body, grants_before);

  // The bot's very next signature, and its WebSocket login, are with the new credentials.
  expect_bot_signs_with(kNew);
  const json::object frame = json::parse(bot().ws_login("main")).at("args").at(0).as_object();
  EXPECT_EQ(frame.at("apiKey").as_string(), kNew.api_key);
  EXPECT_EQ(frame.at("passphrase").as_string(), kNew.passphrase);
  const std::string timestamp(frame.at("timestamp").as_string());
  EXPECT_EQ(frame.at("sign").as_string(), test::okx_signature(kNew.secret, timestamp + "GET/users/self/verify"));

  // The store on disk opens after a restart, with the new credentials and the usage kept.
  ASSERT_EQ(daemon_->stop(SIGTERM), 0);
  daemon_->start();
  wait_for_admin_socket();
  expect_bot_signs_with(kNew);
  const proto::KeyInfo restarted = admin().list().at(0);
  EXPECT_EQ(restarted.api_key, kMaskedNewApiKey);
  EXPECT_EQ(restarted.sign_count, 5u);
  EXPECT_EQ(restarted.created, before.created);
  EXPECT_EQ(restarted.expires, before.expires);
  EXPECT_EQ(raw(admin(), "GET", "/v1/keys/main/grants", "").body, grants_before);
  ASSERT_EQ(daemon_->stop(SIGTERM), 0);

  const std::vector<std::string> lines = audit_lines();
  EXPECT_EQ(std::count(lines.begin(), lines.end(),
                       "update main allow live key, api key " + std::string(kMaskedNewApiKey)),
            1);
  const std::string audit = test::read_file(daemon_->state_dir() / "audit.log");
  EXPECT_NE(audit.find("\"action\":\"update\""), std::string::npos) << "control: the audit log was read";
  EXPECT_NE(audit.find("\"gen\":"), std::string::npos);
  expect_no_new_secret(audit, "the audit log");
  expect_no_new_secret(daemon_->log(), "the daemon log");
  expect_no_new_secret(test::read_file(daemon_->store_file()), "the store");
  expect_no_new_secret(replies_, "a reply");
}

// No downtime: a bot signing all through an update gets every signature, each
// made wholly with the old credentials or wholly with the new ones, and never
// the old ones again once it got the new.
TEST_F(UpdateTest, ABotSigningThroughAnUpdateIsNeverRefusedAndNeverGetsAMixture) {
  ASSERT_EQ(raw(admin(), "PUT", "/v1/keys/main/grants", R"({"grants":[{"user":"root"}]})").status, 200);
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> signed_{0};  // replies[0, signed_) are complete
  std::vector<proto::SignReply> replies;
  replies.reserve(100'000);  // never reallocated while the main thread counts
  std::string failure;
  std::thread signer([&] {
    Client client = bot();
    try {
      while (!stop && replies.size() < replies.capacity()) {
        replies.push_back(client.sign("main", {"GET", kBalance, "", std::nullopt}));
        ++signed_;
      }
    } catch (const Error& e) {
      failure = e.what();
    }
    stop = true;
  });
  const auto wait_for_signs_past = [&](std::size_t count) {
    for (int i = 0; i < 10'000 && !stop && signed_ <= count; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  };
  wait_for_signs_past(0);
  const Output updated = cli({"update", "main", "--api-key", std::string(kNew.api_key)}, new_credentials_input());
  const std::size_t before_reply = signed_;  // signs answered before the update's reply at the latest
  wait_for_signs_past(before_reply);
  stop = true;
  signer.join();
  ASSERT_EQ(updated.exit_code, 0) << updated.err;
  EXPECT_EQ(failure, "") << "a sign failed during the update";

  ASSERT_GT(replies.size(), before_reply);
  std::size_t old_ones = 0, new_ones = 0;
  for (const proto::SignReply& reply : replies) {
    const auto headers = as_map(reply.headers);
    const Issued& issued = headers.at("OK-ACCESS-KEY") == kNew.api_key ? kNew : kOld;
    EXPECT_EQ(headers.at("OK-ACCESS-PASSPHRASE"), issued.passphrase);
    EXPECT_EQ(headers.at("OK-ACCESS-SIGN"), test::okx_signature(issued.secret, reply.timestamp + "GET" + kBalance));
    if (&issued == &kNew) {
      ++new_ones;
    } else {
      EXPECT_EQ(new_ones, 0u) << "the old credentials signed after the new ones had";
      ++old_ones;
    }
  }
  EXPECT_GT(old_ones, 0u);
  EXPECT_GE(new_ones, replies.size() - before_reply) << "a sign after the update's reply used the old credentials";
}

TEST_F(UpdateTest, ARefusedUpdateSaysWhyAndChangesNothingOnDisk) {
  add("demo", true);
  const std::string k(kNew.api_key), s(kNew.secret), p(kNew.passphrase);
  const auto body = [&](const std::string& api_key, const std::string& simulated, const std::string& more = {}) {
    return R"({"api_key":")" + api_key + R"(","secret":")" + s + R"(","passphrase":")" + p + "\"" + simulated + more +
           "}";
  };
  struct Case {
    std::string why;
    bool on_bot_socket;
    std::string target, body;
    int status;
    std::string code, message;
  };
  const std::vector<Case> cases = {
      {"not an admin", true, "/v1/keys/main/credentials", body(k, R"(,"simulated":false)"), 403, "forbidden",
       "not an admin on this socket: admin calls go to the daemon's admin socket " + admin_socket_.string()},
      {"unknown key", false, "/v1/keys/nokey/credentials", body(k, R"(,"simulated":false)"), 404, "key_not_found",
       "no key named 'nokey'"},
      {"not JSON", false, "/v1/keys/main/credentials", R"({"api_key":)" + s, 400, "invalid_json", "not valid JSON"},
      {"unknown field", false, "/v1/keys/main/credentials", body(k, R"(,"simulated":false)", R"(,"simulted":true)"),
       400, "bad_request", "unknown field (its name is not repeated, in case it is a secret)"},
      {"no demo flag", false, "/v1/keys/main/credentials", body(k, ""), 400, "bad_request",
       "missing field 'simulated'"},
      {"live to demo", false, "/v1/keys/main/credentials", body(k, R"(,"simulated":true)"), 400, "bad_request",
       "is a live key"},
      {"demo to live", false, "/v1/keys/demo/credentials", body(k, R"(,"simulated":false)"), 400, "bad_request",
       "is a demo key"},
      {"api key with a space", false, "/v1/keys/main/credentials", body("9a1b 52e0", R"(,"simulated":false)"), 400,
       "bad_request", "api_key"},
      {"empty api key", false, "/v1/keys/main/credentials", body("", R"(,"simulated":false)"), 400, "bad_request",
       "api_key"},
      {"no secret", false, "/v1/keys/main/credentials", R"({"api_key":")" + k + R"(","simulated":false})", 400,
       "bad_request", "missing field 'secret'"},
  };
  const auto check = [&](const Case& c) {
    SCOPED_TRACE(c.why);
    const std::string store_before = test::read_file(daemon_->store_file());
    const Client::RawReply reply = raw(c.on_bot_socket ? bot() : admin(), "PUT", c.target, c.body);
    EXPECT_EQ(reply.status, c.status) << reply.body;
    EXPECT_EQ(error_code_of(reply), c.code);
    EXPECT_NE(reply.body.find(c.message), std::string::npos) << reply.body;
    EXPECT_EQ(test::read_file(daemon_->store_file()), store_before) << "the store changed";
  };
  for (const Case& c : cases) check(c);

  admin().lock();
  check({"locked", false, "/v1/keys/main/credentials", body(k, R"(,"simulated":false)"), 423, "vault_locked",
         "okx-vault unlock"});
  admin().unlock_with_key_file();

  // The old credentials still sign; the keys are as they were.
  const proto::SignReply signed_ = admin().sign("main", {"GET", kBalance, "", std::nullopt});
  EXPECT_EQ(as_map(signed_.headers).at("OK-ACCESS-SIGN"),
            test::okx_signature(kOld.secret, signed_.timestamp + "GET" + kBalance));
  for (const proto::KeyInfo& key : admin().list()) EXPECT_EQ(key.api_key, "37c5…8418") << key.name;

  ASSERT_EQ(daemon_->stop(SIGTERM), 0);
  std::vector<std::string> refusals;
  for (const std::string& line : audit_lines()) {
    if (line.starts_with("update ")) refusals.push_back(line);
  }
  // Each refused, once: the five bad requests for "main" after its first are
  // counted into one summary line, written at shutdown (PROTOCOL.md, "Audit log").
  EXPECT_EQ(refusals, (std::vector<std::string>{"update main deny admin only", "update nokey deny key_not_found",
                                                "update main deny invalid_json", "update main deny bad_request",
                                                "update demo deny bad_request", "update main deny vault_locked",
                                                "update main deny bad_request"}));
  const std::string audit = test::read_file(daemon_->state_dir() / "audit.log");
  EXPECT_NE(audit.find("\"rule\":\"bad_request\",\"repeats\":5,"), std::string::npos) << audit;
  expect_no_new_secret(audit, "the audit log");
  expect_no_new_secret(daemon_->log(), "the daemon log");
  expect_no_new_secret(replies_, "a reply");
}

}  // namespace
}  // namespace okxvault
