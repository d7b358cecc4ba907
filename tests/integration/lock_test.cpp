// Locked vaults, passphrases, key-file rotation and rekey, end to end: the real
// okx-vaultd and okx-vault, restarted between steps, and SIGKILLed in the middle
// of every slot change.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "client/client.hpp"
#include "common/error.hpp"
#include "tests/support/code_of.hpp"
#include "tests/support/process.hpp"
#include "tests/support/reference_sign.hpp"

namespace okxvault::test {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr char kApiKey[] = "lock-test-api-key-0123456789";
constexpr char kSecret[] = "SECRET-lock-4c1d9e2f7a8b";
constexpr char kKeyPassphrase[] = "KEYPASS-lock-77Zq";
constexpr char kOld[] = "old vault passphrase 1";
constexpr char kNew[] = "new vault passphrase 2";
constexpr char kPath[] = "/api/v5/account/balance";
constexpr int kExitForbidden = 4, kExitInvalidInput = 6, kExitLocked = 7;

const std::vector<std::string> kCheapArgon2 = {"--passphrase-cost", "test"};

SecretBytes text(std::string_view value) { return SecretBytes::copy_of(value); }

class LockTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ::signal(SIGPIPE, SIG_IGN); }

  // A daemon on a vault only a passphrase opens, or (passphrase empty) on a key file.
  void start(const std::string& passphrase, std::vector<std::string> extra = kCheapArgon2) {
    if (!passphrase.empty()) {
      std::vector<std::string> init = {daemon_binary(), "--init", "--passphrase", "--state-dir",
                                       (dir_ / "state").string()};
      init.insert(init.end(), extra.begin(), extra.end());
      const Output out = run(init, passphrase + "\n");
      ASSERT_EQ(out.exit_code, 0) << out.err;
    }
    daemon_ = std::make_unique<Daemon>(dir_.path(), std::move(extra));
  }

  void restart() {
    daemon_->stop(SIGTERM);
    daemon_->start();
    client_.reset();
  }

  Client& client() {
    if (!client_) client_ = std::make_unique<Client>(daemon_->socket().string());
    return *client_;
  }

  Output cli(const std::vector<std::string>& args, const std::string& input = {}) {
    std::vector<std::string> argv = {cli_binary(), "--socket", daemon_->socket().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, input);
  }

  void add_key() {
    const Output out = cli({"add", "bot", "--api-key", kApiKey}, std::string(kSecret) + "\n" + kKeyPassphrase + "\n");
    ASSERT_EQ(out.exit_code, 0) << out.err;
  }

  // The signature the vault makes, checked against the reference HMAC.
  void expect_signs() {
    const proto::SignReply reply = client().sign("bot", proto::SignRequest{"GET", kPath, "", std::nullopt});
    std::string sign;
    for (const auto& [name, value] : reply.headers) {
      if (name == "OK-ACCESS-SIGN") sign = value;
    }
    EXPECT_EQ(sign, okx_signature(kSecret, reply.timestamp + "GET" + kPath));
  }

  int sign_status() {
    return client().request("POST", "/v1/keys/bot/sign", R"({"method":"GET","path":"/api/v5/account/balance"})").status;
  }

  std::vector<std::string> slots() { return client().status().slots; }

  // Nothing secret in what the daemon wrote besides the store.
  void expect_no_secrets_on_disk() {
    const std::string log = daemon_->log();
    const std::string audit = read_file(daemon_->state_dir() / "audit.log");
    for (const char* secret : {kSecret, kKeyPassphrase, kOld, kNew}) {
      EXPECT_EQ(log.find(secret), std::string::npos) << "in the log: " << secret;
      EXPECT_EQ(audit.find(secret), std::string::npos) << "in the audit log: " << secret;
    }
  }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<Client> client_;
};

TEST_F(LockTest, PassphraseVaultStartsLockedAndSignsOnlyOnceUnlocked) {
  start(kOld);
  EXPECT_TRUE(client().status().locked);
  EXPECT_EQ(slots(), std::vector<std::string>{"passphrase"});
  Output out = cli({"add", "bot", "--api-key", kApiKey}, std::string(kSecret) + "\n" + kKeyPassphrase + "\n");
  EXPECT_EQ(out.exit_code, kExitLocked) << out.err;

  out = cli({"unlock"}, "wrong passphrase!\n");
  EXPECT_EQ(out.exit_code, kExitForbidden) << out.err;
  EXPECT_TRUE(client().status().locked);
  out = cli({"unlock"}, std::string(kOld) + "\n");
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_FALSE(client().status().locked);
  add_key();
  expect_signs();

  out = cli({"lock"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(sign_status(), 423);
  EXPECT_EQ(code_of([&] { client().ws_login("bot"); }), Code::vault_locked);
  EXPECT_EQ(cli({"sign", "bot", "GET", kPath}).exit_code, kExitLocked);
  EXPECT_EQ(client().list().size(), 1u) << "an admin still lists keys while locked";
  EXPECT_EQ(client().list().at(0).name, "bot");

  client().unlock(text(kOld));
  expect_signs();
  restart();
  EXPECT_TRUE(client().status().locked) << "a passphrase-only vault starts locked every time";
  EXPECT_EQ(sign_status(), 423);
  expect_no_secrets_on_disk();
  const std::string audit = read_file(daemon_->state_dir() / "audit.log");
  EXPECT_NE(audit.find("\"unlock\""), std::string::npos);
  EXPECT_NE(audit.find("wrong_passphrase"), std::string::npos);
}

TEST_F(LockTest, WrongPassphrasesAreAnsweredEverLaterAndRacingAttemptsAreRefused) {
  start(kOld);
  std::vector<std::chrono::milliseconds> took;
  for (int i = 0; i < 3; ++i) {
    const auto begin = std::chrono::steady_clock::now();
    EXPECT_EQ(code_of([&] { client().unlock(text("wrong passphrase!")); }), Code::wrong_passphrase);
    took.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - begin));
  }
  // Security delays, not speed: each reply waits at least its delay.
  EXPECT_GE(took[0], 250ms);
  EXPECT_GE(took[1], 500ms);
  EXPECT_GE(took[2], 1000ms);

  // While one wrong reply is held, another attempt is refused unevaluated.
  std::thread slow([&] {
    Client(daemon_->socket().string()).request("POST", "/v1/unlock", R"({"passphrase":"wrong passphrase!"})");
  });
  std::this_thread::sleep_for(300ms);
  Client racer(daemon_->socket().string());
  EXPECT_EQ(code_of([&] { racer.unlock(text(kOld)); }), Code::too_many_attempts);
  slow.join();
  EXPECT_TRUE(client().status().locked);
  client().unlock(text(kOld));
  EXPECT_FALSE(client().status().locked);
  client().lock();
  const auto begin = std::chrono::steady_clock::now();
  EXPECT_EQ(code_of([&] { client().unlock(text("wrong passphrase!")); }), Code::wrong_passphrase);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 2000ms) << "a success resets the delay";
  expect_no_secrets_on_disk();
}

// Wrong passphrases counted through one call are not forgotten through another:
// an unlock of the unlocked vault checks its passphrase too, so it is no success
// that resets the delay. The delay is read from the 429 that an attempt racing a
// held wrong reply gets, once the daemon has counted that wrong reply.
TEST_F(LockTest, AnUnlockOfTheUnlockedVaultDoesNotResetTheDelay) {
  start(kOld);
  client().unlock(text(kOld));
  const auto wrong_count = [&] {
    const std::string metrics = client().request("GET", "/v1/metrics").body;
    const std::string series = "okxvault_errors_total{code=\"wrong_passphrase\"} ";
    const std::size_t at = metrics.find(series);
    return at == std::string::npos ? 0 : std::stoi(metrics.substr(at + series.size()));
  };
  const std::string wrong_change = R"({"passphrase":"wrong passphrase!","new_passphrase":"new vault passphrase 2"})";
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(client().request("PUT", "/v1/slots/passphrase", wrong_change).status, 403);
  }
  // The reset an attacker would try between guesses: any passphrase, on the unlocked vault.
  const Client::RawReply reset = client().request("POST", "/v1/unlock", R"({"passphrase":"a guess"})");
  EXPECT_EQ(reset.status, 403) << "an unlock of the unlocked vault checks the passphrase: " << reset.body;
  ASSERT_EQ(wrong_count(), 3);

  // The fourth wrong passphrase in a row, whose reply the daemon holds...
  std::thread held([&] { Client(daemon_->socket().string()).request("PUT", "/v1/slots/passphrase", wrong_change); });
  while (wrong_count() < 4) std::this_thread::sleep_for(5ms);
  // ...while an attempt with the right one is refused unevaluated, for the fourth failure's delay.
  const Client::RawReply racer =
      Client(daemon_->socket().string()).request("POST", "/v1/unlock", R"({"passphrase":"old vault passphrase 1"})");
  held.join();
  EXPECT_EQ(racer.status, 429) << racer.body;
  const std::size_t in = racer.body.find("try again in ");
  ASSERT_NE(in, std::string::npos) << racer.body;
  EXPECT_GT(std::stoi(racer.body.substr(in + 13)), 1000) << "the delay went on growing: " << racer.body;

  client().unlock(text(kOld));  // the right passphrase, once the delay has passed, still opens
  EXPECT_FALSE(client().status().locked);
}

TEST_F(LockTest, RealArgon2DefaultsUnlock) {
  start(kOld, {});
  EXPECT_TRUE(client().status().locked);
  client().unlock(text(kOld));
  add_key();
  expect_signs();
}

TEST_F(LockTest, AutoLockWipesAfterIdleTime) {
  start({}, {"--auto-lock-after", "3"});
  add_key();
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!client().status().locked && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(client().status().locked);
  EXPECT_EQ(sign_status(), 423);
  EXPECT_NE(read_file(daemon_->state_dir() / "audit.log").find("auto-lock"), std::string::npos);
  const Output out = cli({"unlock"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  expect_signs();
}

TEST_F(LockTest, SetChangeAndRemoveThePassphraseAcrossRestarts) {
  start({});
  add_key();
  const fs::path key = daemon_->key_file(), aside = dir_ / "master.key.aside";
  Output out = cli({"passphrase", "set"}, "short\n");
  EXPECT_EQ(out.exit_code, kExitInvalidInput) << out.err;
  out = cli({"passphrase", "set"}, std::string(kOld) + "\n");
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(slots(), (std::vector<std::string>{"key_file", "passphrase"}));

  // Without its key file the daemon starts locked and the passphrase opens it.
  fs::rename(key, aside);
  restart();
  EXPECT_TRUE(client().status().locked);
  client().unlock(text(kOld));
  expect_signs();

  out = cli({"passphrase", "change"}, "not the passphrase\n" + std::string(kNew) + "\n");
  EXPECT_EQ(out.exit_code, kExitForbidden) << out.err;
  std::this_thread::sleep_for(300ms);
  out = cli({"passphrase", "change"}, std::string(kOld) + "\n" + kNew + "\n");
  ASSERT_EQ(out.exit_code, 0) << out.err;
  restart();
  EXPECT_EQ(code_of([&] { client().unlock(text(kOld)); }), Code::wrong_passphrase) << "the old passphrase";
  std::this_thread::sleep_for(300ms);
  client().unlock(text(kNew));
  expect_signs();

  fs::rename(aside, key);
  out = cli({"passphrase", "remove"}, std::string(kNew) + "\n");
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(slots(), std::vector<std::string>{"key_file"});
  restart();
  EXPECT_FALSE(client().status().locked);
  expect_signs();
  EXPECT_EQ(code_of([&] {
              client().lock();
              client().unlock(text(kNew));
            }),
            Code::bad_request);
  client().unlock_with_key_file();
  expect_signs();
  client().lock();
  fs::rename(key, aside);
  daemon_->stop(SIGKILL);
  EXPECT_THROW(daemon_->start(), std::runtime_error) << "no key file and no passphrase: nothing opens it";
  expect_no_secrets_on_disk();
}

TEST_F(LockTest, TheOnlySlotCannotBeRemoved) {
  start(kOld);
  client().unlock(text(kOld));
  const std::string before = read_file(daemon_->store_file());
  const Output out = cli({"passphrase", "remove"}, std::string(kOld) + "\n");
  EXPECT_EQ(out.exit_code, kExitInvalidInput) << out.err;
  EXPECT_NE(out.err.find("only way"), std::string::npos) << out.err;
  EXPECT_EQ(read_file(daemon_->store_file()), before);
}

TEST_F(LockTest, RotatedKeyFileOpensTheVaultAndTheOldOneDoesNot) {
  start({});
  add_key();
  const std::string old_key = read_file(daemon_->key_file());
  const Output out = cli({"keyfile", "rotate"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const std::string new_key = read_file(daemon_->key_file());
  EXPECT_EQ(new_key.size(), 32u);
  EXPECT_NE(new_key, old_key);
  EXPECT_EQ(fs::status(daemon_->key_file()).permissions() & (fs::perms::group_all | fs::perms::others_all),
            fs::perms::none);
  restart();
  EXPECT_FALSE(client().status().locked);
  expect_signs();

  daemon_->stop(SIGKILL);
  write_file(daemon_->key_file(), old_key);
  EXPECT_THROW(daemon_->start(), std::runtime_error);
  EXPECT_NE(daemon_->log().find("does not open this store"), std::string::npos);
}

// A vault only a passphrase opens has no key file to rotate; the daemon would
// write one that opens it unattended, so the CLI refuses before it asks.
TEST_F(LockTest, KeyfileRotateOnAPassphraseOnlyVaultWritesNoKeyFile) {
  start(kOld);
  for (const bool locked : {true, false}) {
    SCOPED_TRACE(locked ? "locked" : "unlocked");
    if (!locked) client().unlock(text(kOld));
    const std::string before = read_file(daemon_->store_file());
    const Output out = cli({"keyfile", "rotate"});
    EXPECT_EQ(out.exit_code, kExitInvalidInput) << out.err;
    EXPECT_NE(out.err.find("no key file to rotate: only its passphrase opens it"), std::string::npos) << out.err;
    EXPECT_FALSE(fs::exists(daemon_->key_file())) << "a key file was written";
    EXPECT_EQ(read_file(daemon_->store_file()), before);
    EXPECT_EQ(slots(), std::vector<std::string>{"passphrase"});
  }
  // (RotatedKeyFileOpensTheVaultAndTheOldOneDoesNot is the control: a vault with a key file rotates it.)
}

TEST_F(LockTest, RekeyChangesEveryCiphertextAndBothSlotsStillOpen) {
  start({});
  add_key();
  ASSERT_EQ(cli({"passphrase", "set"}, std::string(kOld) + "\n").exit_code, 0);
  const std::string before = read_file(daemon_->store_file());
  Output out = cli({"rekey"}, "wrong passphrase!\n");
  EXPECT_EQ(out.exit_code, kExitForbidden) << out.err;
  EXPECT_EQ(read_file(daemon_->store_file()), before);
  std::this_thread::sleep_for(300ms);
  out = cli({"rekey"}, std::string(kOld) + "\n");
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const std::string after = read_file(daemon_->store_file());
  EXPECT_NE(after, before);
  // The end of the only record's sealed secret, just before the two hashes, changed.
  EXPECT_NE(after.substr(after.size() - 64 - 40), before.substr(before.size() - 64 - 40));
  expect_signs();
  restart();
  expect_signs();
  fs::rename(daemon_->key_file(), dir_ / "aside");
  restart();
  client().unlock(text(kOld));
  expect_signs();
  expect_no_secrets_on_disk();
}

// SIGKILL at a random instant around each slot change; the store must then open
// with the old or the new material, with the key intact.
class SlotCrashTest : public LockTest {
 protected:
  void crash_during(const std::function<void(Client&)>& change, const std::function<void()>& check) {
    std::mt19937 random(std::random_device{}());
    for (int round = 0; round < 8; ++round) {
      SCOPED_TRACE("round " + std::to_string(round));
      std::thread op([&] {
        Client own(daemon_->socket().string());
        try {
          change(own);
        } catch (const Error&) {  // killed midway, or done before: either is the point
        }
      });
      std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 30'000)(random)));
      daemon_->stop(SIGKILL);
      op.join();
      daemon_->start();
      client_.reset();
      check();
      if (HasFailure()) return;
    }
  }

  bool has_passphrase() {
    const auto s = slots();
    return std::find(s.begin(), s.end(), "passphrase") != s.end();
  }

  // Unlocks with the first passphrase that opens the vault (fails if none
  // does) and returns it. A wrong one's reply comes after the gate's delay.
  const char* unlock_with_either(const char* first, const char* second) {
    if (code_of([&] { client().unlock(text(first)); }) == Code::internal) return first;
    std::this_thread::sleep_for(50ms);
    client().unlock(text(second));
    return second;
  }
};

TEST_F(SlotCrashTest, SetPassphrase) {
  start({});
  add_key();
  crash_during([](Client& c) { c.set_passphrase(text(kOld)); },
               [&] {
                 EXPECT_FALSE(client().status().locked);
                 expect_signs();
                 if (has_passphrase()) {
                   client().lock();
                   client().unlock(text(kOld));
                   expect_signs();
                   client().remove_passphrase(text(kOld));  // the next round sets it again
                 }
               });
}

TEST_F(SlotCrashTest, ChangePassphrase) {
  start(kOld);
  client().unlock(text(kOld));
  add_key();
  bool swapped = false;  // which passphrase is "old" this round
  crash_during(
      [&](Client& c) {
        c.unlock(text(swapped ? kNew : kOld));
        c.change_passphrase(text(swapped ? kNew : kOld), text(swapped ? kOld : kNew));
      },
      [&] {
        EXPECT_TRUE(client().status().locked);
        swapped = unlock_with_either(kNew, kOld) == kNew;
        expect_signs();
        client().lock();
      });
}

TEST_F(SlotCrashTest, RemovePassphrase) {
  start({});
  add_key();
  client().set_passphrase(text(kOld));
  crash_during([](Client& c) { c.remove_passphrase(text(kOld)); },
               [&] {
                 EXPECT_FALSE(client().status().locked);
                 expect_signs();
                 if (!has_passphrase()) client().set_passphrase(text(kOld));
                 client().lock();
                 client().unlock(text(kOld));
                 expect_signs();
               });
}

TEST_F(SlotCrashTest, RotateKeyFile) {
  start({});
  add_key();
  crash_during([](Client& c) { c.rotate_key_file(); },
               [&] {
                 EXPECT_FALSE(client().status().locked);
                 expect_signs();
                 EXPECT_EQ(slots(), std::vector<std::string>{"key_file"});
               });
}

TEST_F(SlotCrashTest, Rekey) {
  start({});
  add_key();
  client().set_passphrase(text(kOld));
  crash_during(
      [](Client& c) {
        const SecretBytes passphrase = text(kOld);
        c.rekey(&passphrase);
      },
      [&] {
        EXPECT_FALSE(client().status().locked);
        expect_signs();
        client().lock();
        client().unlock(text(kOld));
        expect_signs();
      });
  expect_no_secrets_on_disk();
}

}  // namespace
}  // namespace okxvault::test
