// Slow changes beside signing, through the real daemon: a rekey under a real
// Argon2id cost runs while bots sign, and a sign issued once the rekey is
// provably at work (its Argon2id memory is in the daemon's RSS) is answered
// before the rekey is. Latency is printed for information only; what is asserted
// is order. And on a full disk, a change that cannot be written leaves memory as
// it was.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <future>
#include <iostream>
#include <thread>

#include "client/client.hpp"
#include "tests/support/fill.hpp"
#include "tests/support/process.hpp"

namespace okxvault::test {
namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr char kVaultPassphrase[] = "slow change passphrase 1";
constexpr char kSign[] = R"({"method":"GET","path":"/api/v5/account/balance"})";

SecretBytes text(std::string_view value) { return SecretBytes::copy_of(value); }

int connect_to(const fs::path& socket) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket.c_str(), sizeof address.sun_path - 1);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) return fd;
  if (fd >= 0) ::close(fd);
  return -1;
}

std::uint64_t rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

class SlowChangeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ::signal(SIGPIPE, SIG_IGN); }

  // A vault only a passphrase opens, at the real Argon2id cost (64 MiB a run).
  // With the two I/O threads of every test daemon the admin's connection and the
  // bot's are on different loops (connections are dealt to the loops in turn);
  // with `--threads 1`, on the same one.
  void start(std::vector<std::string> daemon_args = {}) {
    const Output out = run({daemon_binary(), "--init", "--passphrase", "--state-dir", (dir_ / "state").string()},
                           std::string(kVaultPassphrase) + "\n");
    ASSERT_EQ(out.exit_code, 0) << out.err;
    daemon_ = std::make_unique<Daemon>(dir_.path(), std::move(daemon_args));
    Client c(daemon_->socket().string());
    c.unlock(text(kVaultPassphrase));
    c.add({"bot", "slow-change-api-key-0123", text("SECRET-slow-1"), text("KEYPASS-slow-1"), false});
  }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
};

class SlowChangeOnLoops : public SlowChangeTest, public ::testing::WithParamInterface<const char*> {};

// On another loop than the admin's, and on the same one: the change runs on a
// thread of its own either way.
TEST_P(SlowChangeOnLoops, ASignIssuedWhileARekeyRunsIsAnsweredBeforeIt) {
  start({"--threads", GetParam()});
  Client bot(daemon_->socket().string());
  ASSERT_EQ(bot.request("POST", "/v1/keys/bot/sign", kSign).status, 200);
  const std::uint64_t idle_rss = rss_kib(daemon_->pid());

  // The rekey checks the passphrase and wraps the new data key for it: two
  // Argon2id runs of 64 MiB each, which show in the daemon's RSS while they run.
  // It goes out on a connection of its own, read by hand, so that whether its
  // reply has been written can be asked at any moment without waiting for it.
  const int admin = connect_to(daemon_->socket());
  ASSERT_GE(admin, 0);
  const std::string body = std::string(R"({"passphrase":")") + kVaultPassphrase + "\"}";
  const std::string rekey = "POST /v1/rekey HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body;
  ASSERT_EQ(::write(admin, rekey.data(), rekey.size()), static_cast<ssize_t>(rekey.size()));
  const auto rekey_answered = [admin] {
    pollfd ready{admin, POLLIN, 0};
    return ::poll(&ready, 1, 0) == 1;
  };
  bool at_work = false;
  while (!rekey_answered() && !at_work) {
    at_work = rss_kib(daemon_->pid()) > idle_rss + 32 * 1024;
    if (!at_work) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ASSERT_TRUE(at_work) << "the rekey ended before its Argon2id was seen at work; nothing to observe";
  int signed_during = 0;
  std::chrono::nanoseconds slowest{0};
  // While the rekey is at work: every sign succeeds, and the first one issued is
  // answered before the rekey's reply is written. A sign queued behind the rekey
  // on its loop would find the rekey's reply already there.
  do {
    const auto sent = Clock::now();
    ASSERT_EQ(bot.request("POST", "/v1/keys/bot/sign", kSign).status, 200);
    slowest = std::max(slowest, Clock::now() - sent);
    if (signed_during++ == 0) {
      EXPECT_FALSE(rekey_answered()) << "the sign waited for the rekey to finish";
    }
  } while (!rekey_answered());
  std::string reply(256, '\0');
  const ssize_t got = ::read(admin, reply.data(), reply.size());
  ::close(admin);
  ASSERT_GT(got, 0);
  EXPECT_EQ(reply.substr(0, 12), "HTTP/1.1 200") << reply;
  std::cout << signed_during << " signs during the rekey, the slowest in "
            << std::chrono::duration_cast<std::chrono::microseconds>(slowest).count() << " us (for information)\n";
  EXPECT_EQ(bot.request("POST", "/v1/keys/bot/sign", kSign).status, 200);

  // The new data key is what the store holds: a restart opens it with the passphrase.
  daemon_->stop();
  daemon_->start();
  Client after(daemon_->socket().string());
  after.unlock(text(kVaultPassphrase));
  EXPECT_EQ(after.request("POST", "/v1/keys/bot/sign", kSign).status, 200);
}

INSTANTIATE_TEST_SUITE_P(Threads, SlowChangeOnLoops, ::testing::Values("2", "1"),
                         [](const ::testing::TestParamInfo<const char*>& threads) {
                           return std::string(threads.param) + "Threads";
                         });

// Many changes one after another, beside signs on every loop: none is lost, and
// the store holds each of them at the end.
TEST_F(SlowChangeTest, ChangesRacingEachOtherAndSignsAreAllKept) {
  start();
  std::atomic<bool> done{false};
  std::atomic<int> signs{0}, failures{0};
  std::vector<std::thread> bots;
  for (int i = 0; i < 3; ++i) {
    bots.emplace_back([&] {
      Client c(daemon_->socket().string());
      while (!done) {
        if (c.request("POST", "/v1/keys/bot/sign", kSign).status == 200) {
          ++signs;
        } else {
          ++failures;
        }
      }
    });
  }
  auto rekeys = std::async(std::launch::async, [&] {
    Client admin(daemon_->socket().string());
    const SecretBytes passphrase = text(kVaultPassphrase);
    for (int i = 0; i < 2; ++i) admin.rekey(&passphrase);
  });
  auto adds = std::async(std::launch::async, [&] {
    Client admin(daemon_->socket().string());
    for (int i = 0; i < 10; ++i) {
      admin.add({"key" + std::to_string(i), "slow-change-api-key-" + std::to_string(i), text("SECRET-slow-2"),
                 text("KEYPASS-slow-2"), false});
    }
  });
  adds.get();
  rekeys.get();
  done = true;
  for (auto& bot : bots) bot.join();
  EXPECT_EQ(failures, 0);
  EXPECT_GT(signs, 0);

  daemon_->stop();
  daemon_->start();
  Client after(daemon_->socket().string());
  after.unlock(text(kVaultPassphrase));
  EXPECT_EQ(after.list().size(), 11u) << "an add was lost between a rekey's snapshot and its swap";
  EXPECT_EQ(after.request("POST", "/v1/keys/key9/sign", kSign).status, 200);
  EXPECT_EQ(after.request("POST", "/v1/keys/bot/sign", kSign).status, 200);
}

// The real daemon on a full disk (a small tmpfs), as in full_disk_test.cpp.
class FailedWriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: mounts a tmpfs";
    fs::create_directory(dir_ / "state");
    if (::mount("okxv-test-full", (dir_ / "state").c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=0700") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs: " << std::strerror(errno);
    }
    mounted_ = true;
    daemon_ = std::make_unique<Daemon>(dir_.path(), std::vector<std::string>{"--passphrase-cost", "test"});
  }

  void TearDown() override {
    daemon_.reset();
    if (mounted_ && ::umount2((dir_ / "state").c_str(), 0) != 0) ::umount2((dir_ / "state").c_str(), MNT_DETACH);
  }

  void fill() {
    std::error_code ignored;  // without the reserve, no write of the store can succeed
    fs::remove(daemon_->state_dir() / "vault.store.reserve", ignored);
    test::fill_filesystem(daemon_->state_dir() / "filler");
  }

  TempDir dir_;
  bool mounted_ = false;
  std::unique_ptr<Daemon> daemon_;
};

// An add, a passphrase set and a rekey that cannot be written change nothing in
// memory: the vault signs, lists and opens exactly as before.
TEST_F(FailedWriteTest, ChangesThatCannotBeWrittenLeaveMemoryAsItWas) {
  Client c(daemon_->socket().string());
  c.add({"main", "failed-write-api-key-01", text("SECRET-full-1"), text("KEYPASS-full-1"), false});
  const std::string store_before = read_file(daemon_->store_file());
  fill();

  const Client::RawReply add = c.request(
      "POST", "/v1/keys",
      R"({"name":"extra","api_key":"failed-write-api-key-02","secret":"SECRET-full-2","passphrase":"KEYPASS-full-2"})");
  EXPECT_EQ(add.status, 500) << add.body;
  EXPECT_EQ(c.list().size(), 1u) << "an add that is not on disk is in memory";
  EXPECT_EQ(c.request("POST", "/v1/keys/extra/sign", kSign).status, 404);

  const SecretBytes passphrase = text(kVaultPassphrase);
  EXPECT_THROW(c.set_passphrase(passphrase), std::exception);
  EXPECT_EQ(c.status().slots, std::vector<std::string>{"key_file"}) << "a slot that is not on disk is in memory";

  EXPECT_THROW(c.rekey(), std::exception);
  EXPECT_EQ(c.request("POST", "/v1/keys/main/sign", kSign).status, 200);
  EXPECT_EQ(read_file(daemon_->store_file()), store_before);

  // Room again: the next change is written whole, and a restart opens it with the
  // data key memory kept.
  fs::remove(daemon_->state_dir() / "filler");
  c.add({"later", "failed-write-api-key-03", text("SECRET-full-3"), text("KEYPASS-full-3"), false});
  daemon_->stop();
  daemon_->start();
  Client after(daemon_->socket().string());
  EXPECT_EQ(after.list().size(), 2u);
  EXPECT_EQ(after.request("POST", "/v1/keys/main/sign", kSign).status, 200);
  EXPECT_EQ(after.request("POST", "/v1/keys/later/sign", kSign).status, 200);
}

}  // namespace
}  // namespace okxvault::test
