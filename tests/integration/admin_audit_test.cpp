// Every admin action of the real daemon leaves exactly one line in its audit
// log, whatever its outcome: done, refused to a caller that is not an admin
// there, refused as invalid (the error code as the rule), or failed.

#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <thread>

#include "client/client.hpp"
#include "tests/support/audit_lines.hpp"
#include "tests/support/process.hpp"

namespace okxvault {
namespace {
using test::Daemon;
using test::TempDir;

constexpr std::string_view kAdd =
    R"({"name":"main","api_key":"8f2e0a4c-5b1d-4e7f-9a3c","secret":"AUDITCHECK-SECRET-4Hq","passphrase":"Audit-Pass-7"})";

constexpr std::string_view kUpdate =
    R"({"api_key":"9a1b52e0-3c4d-77c0","secret":"AUDITCHECK-SECRET-8Wz","passphrase":"Audit-Pass-9","simulated":false})";

// One call, the status it must get, and the audit line it must leave.
struct Case {
  std::string method, target, body;
  int status;
  std::string line;  // "action key decision rule"
  bool on_bot_socket = false;
};

TEST(AdminAuditTest, EveryAdminActionLeavesOneLineWhateverItsOutcome) {
  TempDir dir;
  // On the bots' socket nobody is an admin, root included: admin calls go through the admin socket.
  const std::filesystem::path admin_socket = dir / "admin.sock";
  auto daemon = std::make_unique<Daemon>(dir.path(), std::vector<std::string>{"--admin-socket", admin_socket.string()});
  const std::vector<Case> cases = {
      {"POST", "/v1/keys", std::string(kAdd), 403, "add  deny admin only", true},
      {"POST", "/v1/lock", "", 403, "lock  deny admin only", true},
      {"POST", "/v1/keys", "{", 400, "add  deny invalid_json"},
      {"POST", "/v1/keys", R"({"name":"main"})", 400, "add  deny bad_request"},
      {"POST", "/v1/keys", R"({"name":"Main","api_key":"k","secret":"s","passphrase":"p"})", 400,
       "add Main deny invalid_name"},
      {"POST", "/v1/keys", std::string(kAdd), 201, "add main allow live key"},
      {"POST", "/v1/keys", std::string(kAdd), 409, "add main deny key_exists"},
      {"PUT", "/v1/keys/main/grants", "[]", 400, "set-grants main deny bad_request"},
      {"PUT", "/v1/keys/other/grants", R"({"grants":[{"user":"no-such-user-here"}]})", 400,
       "set-grants other deny bad_request"},
      {"PUT", "/v1/keys/main/grants", R"({"grants":[]})", 403, "set-grants main deny admin only", true},
      {"PUT", "/v1/keys/gone/grants", R"({"grants":[]})", 404, "set-grants gone deny key_not_found"},
      {"PUT", "/v1/keys/main/grants", R"({"grants":[{"user":"root"}]})", 200, "set-grants main allow user root"},
      {"PUT", "/v1/keys/main/credentials", std::string(kUpdate), 403, "update main deny admin only", true},
      {"PUT", "/v1/keys/main/credentials", "{", 400, "update main deny invalid_json"},
      {"PUT", "/v1/keys/main/credentials", std::string(kUpdate), 200, "update main allow live key, api key 9a1b…77c0"},
      {"DELETE", "/v1/keys/gone", "", 404, "revoke gone deny key_not_found"},
      {"DELETE", "/v1/keys/main", "", 403, "revoke main deny admin only", true},
      {"PUT", "/v1/slots/passphrase", R"({"new_passphrase":"short"})", 400, "set-passphrase  deny bad_request"},
      {"DELETE", "/v1/slots/passphrase", R"({"passphrase":"Not-A-Slot-1"})", 404, "remove-passphrase  deny not_found"},
      {"POST", "/v1/rekey", R"({"passphrase":"Not-A-Slot-1"})", 400, "rekey  deny bad_request"},
      {"POST", "/v1/lock", "", 200, "lock  allow "},
      {"POST", "/v1/keys", R"({"name":"late","api_key":"k","secret":"s","passphrase":"p"})", 423,
       "add late deny vault_locked"},
      {"DELETE", "/v1/keys/main", "", 423, "revoke main deny vault_locked"},
      {"PUT", "/v1/keys/main/credentials", std::string(kUpdate), 423, "update main deny vault_locked"},
      {"POST", "/v1/unlock", R"({"passphrase":1})", 400, "unlock  deny bad_request"},
      {"POST", "/v1/unlock", "", 200, "unlock  allow "},
      {"DELETE", "/v1/keys/main", "", 204, "revoke main allow "},
  };
  for (int i = 0; i < 500 && !test::can_connect(admin_socket); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Client admin(admin_socket.string()), bot(daemon->socket().string());
  for (const Case& c : cases) {
    const Client::RawReply reply = (c.on_bot_socket ? bot : admin).request(c.method, c.target, c.body);
    EXPECT_EQ(reply.status, c.status) << c.method << " " << c.target << " " << c.body << ": " << reply.body;
  }
  ASSERT_EQ(daemon->stop(SIGTERM), 0);  // every line written

  const std::vector<std::string> lines = test::audit_lines(daemon->state_dir() / "audit.log");
  std::vector<std::string> expected;
  for (const Case& c : cases) expected.push_back(c.line);
  EXPECT_EQ(lines, expected);
}

}  // namespace
}  // namespace okxvault
