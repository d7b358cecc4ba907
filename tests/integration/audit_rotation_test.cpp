// The audit log rotated as logrotate does it: the real okx-vaultd's log moved
// aside, then SIGHUP. The daemon finishes the moved file and goes on in a new
// one, mode 0600, whose first line continues the moved file's chain; both
// verify, the new one against the moved one's last hash; the daemon answers
// throughout and starts again on the new file.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "client/client.hpp"
#include "proto/audit_chain.hpp"
#include "tests/support/audit_lines.hpp"
#include "tests/support/process.hpp"

namespace okxvault::test {
namespace {
namespace fs = std::filesystem;

constexpr char kSecret[] = "ROTATION-SECRET-5c1e9a77f0";
constexpr char kPassphrase[] = "Rotation-Pass-8Qd";

class AuditRotationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Client admin = client();
    admin.add({"main", "rotation-api-key-0001", SecretBytes::copy_of(kSecret), SecretBytes::copy_of(kPassphrase)});
    proto::GrantInfo grant;
    grant.name = std::to_string(::getuid());
    admin.set_grants("main", {grant});
  }

  Client client() const { return Client(daemon_->socket().string()); }

  static void sign(Client& client) { client.sign("main", {"GET", "/api/v5/account/balance", "", std::nullopt}); }

  // Sends SIGHUP and waits until the daemon logged the outcome that `says`.
  void hang_up(const std::string& says) {
    const std::size_t before = count(daemon_->log(), says);
    ASSERT_EQ(::kill(daemon_->pid(), SIGHUP), 0);
    for (int i = 0; i < 500 && count(daemon_->log(), says) == before; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_GT(count(daemon_->log(), says), before) << daemon_->log();
  }

  static std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }

  Output verify(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {cli_binary(), "audit", "verify"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  }

  fs::path log() const { return daemon_->state_dir() / "audit.log"; }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_ = std::make_unique<Daemon>(dir_.path());
};

TEST_F(AuditRotationTest, AMovedLogIsFinishedAndANewOneContinuesItsChain) {
  Client bot = client();
  sign(bot);
  EXPECT_THROW(bot.sign("main", {"POST", "/api/v5/asset/withdrawal", "{}", std::nullopt}), Error);  // a deny line
  const fs::path moved = daemon_->state_dir() / "audit.log.1";
  fs::rename(log(), moved);
  sign(bot);  // after the move, before the signal: its line belongs to the moved file
  hang_up("audit log reopened");

  // The moved file is finished: every line recorded before the signal, then nothing more.
  const std::string moved_text = read_file(moved);
  const std::vector<std::string> moved_lines = lines_of(moved_text);
  ASSERT_FALSE(moved_lines.empty());
  const std::string moved_head = audit_chain::hash_of(moved_lines.back());
  ASSERT_FALSE(moved_head.empty());

  struct stat info {};
  ASSERT_EQ(::stat(log().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0600u);

  sign(bot);
  sign(bot);
  EXPECT_FALSE(client().status().locked);
  const audit_chain::Verdict daemon_verdict = client().verify_audit();  // writes every line first
  EXPECT_TRUE(daemon_verdict.ok) << daemon_verdict.reason;
  EXPECT_TRUE(daemon_verdict.macs_checked);
  EXPECT_EQ(daemon_verdict.follows, moved_head);
  EXPECT_EQ(read_file(moved), moved_text) << "the moved file was written after the reopen";

  // The new file: the reopen record first, linked to the moved file's last line, then the signs.
  const std::vector<std::string> lines = lines_of(read_file(log()));
  ASSERT_GE(lines.size(), 3u);
  const boost::json::object first = boost::json::parse(lines.front()).as_object();
  EXPECT_EQ(first.at("action").as_string(), "reopen-log");
  EXPECT_EQ(first.at("prev").as_string(), moved_head);
  EXPECT_TRUE(first.contains("gen"));
  EXPECT_EQ(boost::json::parse(lines[1]).as_object().at("action").as_string(), "sign");

  // Both verify without the daemon; the new one also against the moved one's head.
  const Output old_verdict = verify({moved.string()});
  EXPECT_EQ(old_verdict.exit_code, 0) << old_verdict.err;
  EXPECT_NE(old_verdict.out.find("last line's hash: " + moved_head), std::string::npos) << old_verdict.out;
  const Output alone = verify({log().string()});
  EXPECT_EQ(alone.exit_code, 0) << alone.err;
  EXPECT_NE(alone.out.find("continues a rotated log whose last line's hash is " + moved_head), std::string::npos)
      << alone.out;
  const Output linked = verify({log().string(), "--follows", moved_head});
  EXPECT_EQ(linked.exit_code, 0) << linked.err;

  // Another file's head is not the one it follows; a usage error for a malformed hash.
  const Output other = verify({log().string(), "--follows", std::string(64, 'a')});
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_NE(other.err.find("line 1: the first line does not continue the log whose last hash is"), std::string::npos)
      << other.err;
  EXPECT_EQ(verify({log().string(), "--follows", "abc"}).exit_code, 2);
  EXPECT_EQ(verify({"--follows", moved_head}).exit_code, 2);

  // A file whose first lines were cut starts with neither the chain nor a reopen record.
  const std::string cut = (dir_ / "cut.log").string();
  write_file(cut, read_file(log()).substr(lines.front().size() + 1));
  const Output cut_verdict = verify({cut});
  EXPECT_EQ(cut_verdict.exit_code, 1);
  EXPECT_NE(cut_verdict.err.find("line 1: the log does not start at the beginning of the chain"), std::string::npos)
      << cut_verdict.err;

  // A restart finds the store's head in the new file and goes on in it.
  ASSERT_EQ(daemon_->stop(SIGTERM), 0);
  daemon_->start();
  Client again = client();
  sign(again);
  const audit_chain::Verdict restarted = again.verify_audit();
  EXPECT_TRUE(restarted.ok) << restarted.reason;
  EXPECT_EQ(restarted.follows, moved_head);
  EXPECT_EQ(read_file(moved), moved_text);

  for (const fs::path& file : {moved, log()}) {
    const std::string text = read_file(file);
    EXPECT_EQ(text.find(kSecret), std::string::npos) << file;
    EXPECT_EQ(text.find(kPassphrase), std::string::npos) << file;
  }
}

// Signs go on while the log is reopened: each one's line is in the moved file or
// the new one, exactly once, and the chain runs on across them.
TEST_F(AuditRotationTest, SignsInFlightDuringTheReopenEachLeaveOneLine) {
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> signed_count{0};
  std::vector<std::thread> bots;
  for (int i = 0; i < 4; ++i) {
    bots.emplace_back([&] {
      Client bot = client();
      while (!stop.load()) {
        sign(bot);
        ++signed_count;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const fs::path moved = daemon_->state_dir() / "audit.log.1";
  fs::rename(log(), moved);
  hang_up("audit log reopened");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  stop = true;
  for (std::thread& bot : bots) bot.join();
  const audit_chain::Verdict verdict = client().verify_audit();
  EXPECT_TRUE(verdict.ok) << verdict.reason;

  const std::vector<std::string> moved_lines = lines_of(read_file(moved));
  const std::vector<std::string> new_lines = lines_of(read_file(log()));
  const auto signs = [](const std::vector<std::string>& lines) {
    return static_cast<std::size_t>(std::count_if(lines.begin(), lines.end(), [](const std::string& line) {
      return line.find(R"("action":"sign")") != std::string::npos;
    }));
  };
  EXPECT_GT(signs(moved_lines), 0u);
  EXPECT_GT(signs(new_lines), 0u);
  EXPECT_EQ(signs(moved_lines) + signs(new_lines), signed_count.load());
  EXPECT_EQ(verify({moved.string()}).exit_code, 0);
  const Output linked = verify({log().string(), "--follows", audit_chain::hash_of(moved_lines.back())});
  EXPECT_EQ(linked.exit_code, 0) << linked.err;
}

TEST_F(AuditRotationTest, ALogNotMovedGoesOnInTheSameFile) {
  Client bot = client();
  sign(bot);
  struct stat before {};
  ASSERT_EQ(::stat(log().c_str(), &before), 0);
  hang_up("the audit log was not moved");
  sign(bot);
  struct stat after {};
  ASSERT_EQ(::stat(log().c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  const audit_chain::Verdict verdict = client().verify_audit();
  EXPECT_TRUE(verdict.ok) << verdict.reason;
  EXPECT_EQ(verdict.follows, "");
  for (const std::string& line : lines_of(read_file(log()))) {
    EXPECT_EQ(line.find("reopen-log"), std::string::npos) << line;
  }
}

// Another file at the log's path is neither taken over nor written: the log
// goes on in the moved file, nothing is lost, and the error says why.
TEST_F(AuditRotationTest, AFileThatIsNotTheLogIsRefusedAndTheLogGoesOnWhereItWas) {
  Client bot = client();
  sign(bot);
  client().verify_audit();  // writes every line
  const fs::path moved = daemon_->state_dir() / "audit.log.1";
  const std::size_t before = lines_of(read_file(log())).size();
  fs::rename(log(), moved);
  write_file(log(), "not the audit log\n");
  ::chmod(log().c_str(), 0600);
  hang_up("SIGHUP: ");
  EXPECT_NE(daemon_->log().find("not reopened: the file there is not the audit log and is not empty"),
            std::string::npos)
      << daemon_->log();
  sign(bot);
  client().verify_audit();
  EXPECT_EQ(read_file(log()), "not the audit log\n");
  const std::vector<std::string> moved_lines = lines_of(read_file(moved));
  EXPECT_GT(moved_lines.size(), before);
  EXPECT_EQ(std::count_if(moved_lines.begin(), moved_lines.end(),
                          [](const std::string& line) {
                            return line.find("\"action\":\"sign\"") != std::string::npos;
                          }),
            2);
  const Output verdict = verify({moved.string()});
  EXPECT_EQ(verdict.exit_code, 0) << verdict.err;

  // Moved out of the way, the next signal reopens.
  fs::remove(log());
  hang_up("audit log reopened");
  sign(bot);
  const audit_chain::Verdict reopened = client().verify_audit();
  EXPECT_TRUE(reopened.ok) << reopened.reason;
  EXPECT_EQ(reopened.follows, audit_chain::hash_of(lines_of(read_file(moved)).back()));
}

}  // namespace
}  // namespace okxvault::test
