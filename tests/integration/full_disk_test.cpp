// The real daemon on a really full disk: its state directory is a small tmpfs,
// filled to the last byte by the test. Nothing is signed that the audit log
// cannot hold; a revoke is written into the space reserved for it, and without
// that space a revoke, an ungrant and a lock still take effect in memory and say
// that they are not on disk; a flood of refusals with 4 KiB paths writes short
// lines, and few of them. Codes are compared as the wire spells them.

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

#include "client/client.hpp"
#include "tests/support/fill.hpp"
#include "tests/support/process.hpp"

namespace okxvault {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::string_view kSecret = "5E1F0C9A8B7D6E5F4A3B2C1D0E9F8A7B";
constexpr std::string_view kPassphrase = "Full-Disk#Pass42";
constexpr const char* kBot = "okxv-test-bot1";
constexpr const char* kClientsGroup = "okxv-test-cli";  // may connect to the socket
// The longest audit line the protocol allows (PROTOCOL.md, "Audit log").
constexpr std::size_t kMaxAuditLine = 2560;

std::string code_of(const Client::RawReply& reply) {
  try {
    return std::string(json::parse(reply.body).at("error").at("code").as_string());
  } catch (const std::exception&) {
    return "(no error code: HTTP " + std::to_string(reply.status) + " " + reply.body + ")";
  }
}

std::string sign_body(const std::string& method, const std::string& path) {
  return json::serialize(json::object{{"method", method}, {"path", path}});
}

// Fills the filesystem that holds `file` until a write of even one byte fails for want of space.
void fill(const fs::path& file) {
  test::fill_filesystem(file);
  struct statvfs fsinfo {};
  ASSERT_EQ(::statvfs(file.parent_path().c_str(), &fsinfo), 0);
  ASSERT_EQ(fsinfo.f_bavail, 0u) << "the disk is not full";
}

std::vector<std::string> lines_of(const fs::path& path, std::uintmax_t from = 0) {
  std::ifstream in(path);
  in.seekg(static_cast<std::streamoff>(from));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class FullDiskTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) return;
    test::ensure_system_user(kBot, {kClientsGroup});
  }

  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: mounts a tmpfs and runs a client under another uid";
    ::chmod(dir_.path().c_str(), 0711);  // the bot reaches the socket; the state dir stays 0700
    fs::create_directory(dir_ / "state");
    if (::mount("okxv-test-full", (dir_ / "state").c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=0700") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs: " << std::strerror(errno);
    }
    mounted_ = true;
    daemon_ = std::make_unique<test::Daemon>(dir_.path(), std::vector<std::string>{"--socket-group", kClientsGroup});
  }

  void TearDown() override {
    daemon_.reset();  // SIGKILL if still running: nothing holds the mount after it
    if (mounted_ && ::umount2((dir_ / "state").c_str(), 0) != 0) ::umount2((dir_ / "state").c_str(), MNT_DETACH);
  }

  fs::path state(const std::string& name) const { return daemon_->state_dir() / name; }

  Client admin() const { return Client(daemon_->socket().string()); }

  void add(const std::string& name) {
    admin().add({name, "ak-" + name, SecretBytes::copy_of(kSecret), SecretBytes::copy_of(kPassphrase), false});
  }

  // A sign through curl under the bot's own uid; returns the HTTP status.
  int bot_signs(const std::string& key) {
    const test::Output out =
        test::run({"/usr/bin/setpriv", std::string("--reuid=") + kBot, std::string("--regid=") + kBot, "--init-groups",
                   "/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "--unix-socket",
                   daemon_->socket().string(), "http://okx-vault/v1/keys/" + key + "/sign", "--data-binary",
                   sign_body("GET", "/api/v5/account/balance")});
    return std::stoi(out.out);
  }

  bool store_holds(std::string_view text) const {
    return test::read_file(daemon_->store_file()).find(text) != std::string::npos;
  }

  test::TempDir dir_;
  bool mounted_ = false;
  std::unique_ptr<test::Daemon> daemon_;
};

// On a full disk the log's room ahead runs out and then nothing more is signed:
// not one signature without its line. Room again, and signing resumes by itself.
TEST_F(FullDiskTest, NothingIsSignedThatTheAuditLogCannotHold) {
  add("main");
  fill(state("filler"));
  Client c = admin();
  const std::string sign = sign_body("GET", "/api/v5/account/balance?pad=" + std::string(4000, 'p'));
  int signatures = 0;
  Client::RawReply refused;
  for (int i = 0; i < 50'000; ++i) {  // the log's room ahead holds a few thousand lines
    Client::RawReply reply = c.request("POST", "/v1/keys/main/sign", sign);
    if (reply.status != 200) {
      refused = std::move(reply);
      break;
    }
    ++signatures;
  }
  ASSERT_EQ(refused.status, 503) << "still signing after " << signatures
                                 << " signatures on a full disk: " << refused.body;
  EXPECT_EQ(code_of(refused), "audit_unavailable");
  EXPECT_EQ(refused.body.find("OK-ACCESS"), std::string::npos);
  const Client::RawReply login = c.request("POST", "/v1/keys/main/ws-login", "");
  EXPECT_EQ(login.status, 503);
  EXPECT_EQ(code_of(login), "audit_unavailable");
  EXPECT_EQ(login.body.find("\"args\""), std::string::npos);
  for (int i = 0; i < 200; ++i) ASSERT_EQ(c.request("POST", "/v1/keys/main/sign", sign).status, 503) << i;

  fs::remove(state("filler"));
  bool resumed = false;
  for (int i = 0; i < 1000 && !resumed; ++i) {  // a liveness bound, not a time target
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    resumed = c.request("POST", "/v1/keys/main/sign", sign).status == 200;
  }
  ASSERT_TRUE(resumed) << "signing did not resume once there was room";
  ++signatures;
  std::cout << signatures << " signatures given, each with its audit line\n";

  daemon_->stop();
  int allowed = 0;
  for (const std::string& line : lines_of(state("audit.log"))) {
    const json::object record = json::parse(line).as_object();
    if (record.at("action").as_string() == "sign" && record.at("decision").as_string() == "allow") ++allowed;
  }
  EXPECT_EQ(allowed, signatures) << "a signature without its audit line, or a line without its signature";
  const test::Output verdict = test::run({test::cli_binary(), "audit", "verify", state("audit.log").string()});
  EXPECT_EQ(verdict.exit_code, 0) << verdict.out << verdict.err;
}

// 4,000 refusals with 4 KiB paths and 3 KiB key names, half of them each naming
// another key: short lines, and few of them, yet every refusal counted.
TEST_F(FullDiskTest, AFloodOfRefusalsWritesShortLinesAndSummariesOfThem) {
  add("main");
  Client c = admin();
  const std::string path = "/api/v5/" + std::string(4000, '\\');
  const std::string long_key(3000, 'k');
  const std::uintmax_t before = fs::file_size(state("audit.log"));
  constexpr int kEach = 2000;
  for (int i = 0; i < kEach; ++i) {
    ASSERT_EQ(c.request("POST", "/v1/keys/" + long_key + "/sign", sign_body("POST", path)).status, 404);
    ASSERT_EQ(c.request("POST", "/v1/keys/nokey-" + std::to_string(i) + "/sign", sign_body("POST", path)).status, 404);
  }
  daemon_->stop();  // the counted refusals are summarised at shutdown
  const std::uintmax_t written = fs::file_size(state("audit.log")) - before;
  const double per_refusal = static_cast<double>(written) / (2 * kEach);
  std::cout << written << " bytes of audit log for " << 2 * kEach << " refusals: " << per_refusal
            << " bytes per refused request\n";
  RecordProperty("audit_bytes_per_refusal", std::to_string(per_refusal));
  EXPECT_LT(per_refusal, 100.0);

  std::uint64_t refusals = 0;
  std::size_t longest = 0;
  for (const std::string& line : lines_of(state("audit.log"), before)) {
    longest = std::max(longest, line.size() + 1);
    const json::object record = json::parse(line).as_object();
    if (record.at("decision").as_string() != "deny") continue;  // the add's line, if written late
    refusals += 1;
    if (const json::value* repeats = record.if_contains("repeats")) refusals += repeats->to_number<std::uint64_t>() - 1;
  }
  EXPECT_LE(longest, kMaxAuditLine);
  EXPECT_EQ(refusals, std::uint64_t{2 * kEach}) << "every refusal is in a line or a summary's count";
  const test::Output verdict = test::run({test::cli_binary(), "audit", "verify", state("audit.log").string()});
  EXPECT_EQ(verdict.exit_code, 0) << verdict.out << verdict.err;
}

// The store cannot be written for want of space: the revoke goes into the space
// reserved beside it, and is on disk before the reply.
TEST_F(FullDiskTest, ARevokeOnAFullDiskIsWrittenIntoItsReservedSpace) {
  add("kept-key");
  add("gone-key");
  fill(state("filler"));
  Client c = admin();
  const Client::RawReply revoked = c.request("DELETE", "/v1/keys/gone-key");
  EXPECT_EQ(revoked.status, 204) << revoked.body;
  EXPECT_FALSE(store_holds("gone-key")) << "the revoked key is still on disk";
  EXPECT_TRUE(store_holds("kept-key"));
  EXPECT_EQ(code_of(c.request("POST", "/v1/keys/gone-key/sign", sign_body("GET", "/api/v5/account/balance"))),
            "key_not_found");

  daemon_->stop();
  daemon_->start();
  const auto keys = admin().list();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].name, "kept-key");
}

// No room and no reserve: a revoke, an ungrant and a lock take effect at once and
// answer 507 not_persisted; once there is room, they are written.
TEST_F(FullDiskTest, WithoutRoomOrReserveRevokeUngrantAndLockStillTakeEffect) {
  add("main");
  add("gone-key");
  Client c = admin();
  ASSERT_EQ(c.request("PUT", "/v1/keys/main/grants", std::string(R"({"grants":[{"user":")") + kBot + R"("}]})").status,
            200);
  ASSERT_EQ(bot_signs("main"), 200);
  std::error_code ignored;  // without the reserve, no write of the store can succeed
  fs::remove(state("vault.store.reserve"), ignored);
  fill(state("filler"));

  // A change that gives access does not outlive a failed write: it is refused whole.
  const Client::RawReply widen =
      c.request("PUT", "/v1/keys/gone-key/grants", std::string(R"({"grants":[{"user":")") + kBot + R"("}]})");
  EXPECT_EQ(widen.status, 500) << widen.body;
  EXPECT_EQ(code_of(widen), "io_error");
  EXPECT_TRUE(c.grants("gone-key").empty());
  EXPECT_EQ(bot_signs("gone-key"), 404) << "a grant the store does not hold applies";

  const Client::RawReply ungrant = c.request("PUT", "/v1/keys/main/grants", R"({"grants":[]})");
  EXPECT_EQ(ungrant.status, 507) << ungrant.body;
  EXPECT_EQ(code_of(ungrant), "not_persisted");
  // With no grant left, the key does not exist for the bot: the same reply as for a name no key has.
  EXPECT_EQ(bot_signs("main"), 404) << "the removed grant still applies";
  EXPECT_TRUE(c.grants("main").empty());

  const Client::RawReply revoke = c.request("DELETE", "/v1/keys/gone-key");
  EXPECT_EQ(revoke.status, 507) << revoke.body;
  EXPECT_EQ(code_of(revoke), "not_persisted");
  EXPECT_EQ(code_of(c.request("POST", "/v1/keys/gone-key/sign", sign_body("GET", "/api/v5/account/balance"))),
            "key_not_found");
  for (const auto& key : c.list()) EXPECT_NE(key.name, "gone-key");
  EXPECT_TRUE(store_holds("gone-key")) << "the store could not be written, as the reply said";

  const Client::RawReply lock = c.request("POST", "/v1/lock");
  EXPECT_EQ(lock.status, 507) << lock.body;
  EXPECT_EQ(code_of(lock), "not_persisted");
  EXPECT_TRUE(c.status().locked);
  EXPECT_EQ(code_of(c.request("POST", "/v1/keys/main/sign", sign_body("GET", "/api/v5/account/balance"))),
            "vault_locked");

  // Room again: unlocking reads the store and keeps what memory said, then writes it.
  fs::remove(state("filler"));
  EXPECT_EQ(c.request("POST", "/v1/unlock").status, 200);
  for (const auto& key : c.list()) EXPECT_NE(key.name, "gone-key") << "the revoked key came back at unlock";
  EXPECT_EQ(bot_signs("main"), 404) << "the removed grant came back at unlock";
  EXPECT_FALSE(store_holds("gone-key"));
  EXPECT_TRUE(fs::exists(state("vault.store.reserve")));

  daemon_->stop();
  daemon_->start();
  const auto keys = admin().list();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].name, "main");
  EXPECT_TRUE(admin().grants("main").empty());
  EXPECT_EQ(bot_signs("main"), 404);

  // The audit log, written once there was room, says what was in memory only.
  daemon_->stop();
  int in_memory_only = 0;
  for (const std::string& line : lines_of(state("audit.log"))) {
    const json::object record = json::parse(line).as_object();
    const bool allowed = record.at("decision").as_string() == "allow";
    if (allowed && record.at("rule").as_string().find("in memory only") != json::string::npos) ++in_memory_only;
  }
  EXPECT_EQ(in_memory_only, 3) << "revoke, set-grants and lock, each audited as in memory only";
}

}  // namespace
}  // namespace okxvault
