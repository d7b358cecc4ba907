// okx-vault backup and restore, end to end: two real daemons, the real CLI
// backing up one vault and restoring into the other. A restored key signs the
// same bytes as the original for the same timestamp, keeps its grants and
// trading limits (enforced for a real bot user), and survives a restart. A name
// clash, a wrong passphrase, a cut, damaged, edited or future file each change
// nothing; no secret or passphrase is in the file, the logs or any output.

#include <gtest/gtest.h>
#include <signal.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "client/client.hpp"
#include "common/timestamp.hpp"
#include "tests/support/audit_lines.hpp"
#include "tests/support/process.hpp"
#include "tests/support/reference_sign.hpp"

namespace okxvault {
namespace {
namespace json = boost::json;
using test::Daemon;
using test::Output;
using test::TempDir;

constexpr const char* kBot = "okxv-test-bkbot";
constexpr const char* kClientsGroup = "okxv-test-bkcli";
constexpr char kBalance[] = "/api/v5/account/balance?ccy=BTC";
constexpr std::string_view kBackupPassphrase = "Backup-Passphrase-7f3e9c";

struct Issued {
  std::string_view name, api_key, secret, passphrase;
  bool simulated;
};
constexpr Issued kKeys[] = {
    {"demo", "5a1f0c9e-0000-4000-8000-00000000d3e0", "BACKUP-DEMO-SECRET-91aa", "Backup-Demo-Pass-1", true},
    {"main", "37c5e7d2-96a3-4d4f-9d4b-1f0a2b3c8418", "BACKUP-MAIN-SECRET-3c5d", "Backup-Main-Pass-2", false},
    {"spare", "0b0b0b0b-1111-4222-8333-444455556666", "BACKUP-SPARE-SECRET-77e1", "Backup-Spare-Pass-3", false},
};
// What the vault receiving the backup holds under the name "main" already.
constexpr Issued kOther{"main", "ffff0000-aaaa-4bbb-8ccc-ddddeeeeffff", "OTHER-MAIN-SECRET-0042", "Other-Pass-9",
                        false};

// Where the ciphertext starts (proto/backup.hpp).
constexpr std::size_t kSealedAt = 83;

const std::string kAllowedOrder =
    R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.05","px":"60000"})";
const std::string kTooLargeOrder =
    R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.5","px":"60000"})";

std::map<std::string, std::string> as_map(const proto::Headers& headers) { return {headers.begin(), headers.end()}; }

std::vector<unsigned char> bytes_of(const std::string& text) { return {text.begin(), text.end()}; }

void fix_checksum(std::string& bytes) {
  auto* data = reinterpret_cast<unsigned char*>(bytes.data());
  crypto_generichash(data + bytes.size() - 32, 32, data, bytes.size() - 32, nullptr, 0);
}

class BackupTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ::signal(SIGPIPE, SIG_IGN); }

  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: signs as a system user it creates";
    ASSERT_GE(sodium_init(), 0);
    test::ensure_system_user(kBot, {kClientsGroup});
    for (const TempDir* dir : {&a_dir_, &b_dir_}) ::chmod(dir->path().c_str(), 0711);
    const std::vector<std::string> args{"--passphrase-cost", "test", "--socket-group", kClientsGroup};
    a_ = std::make_unique<Daemon>(a_dir_.path(), args);
    b_ = std::make_unique<Daemon>(b_dir_.path(), args);
    for (const Issued& key : kKeys) add(*a_, key);
    // The bot trades BTC-USDT only, at most 0.1 an order; a group may read.
    const std::string grants =
        std::string(R"({"grants":[{"user":")") + kBot +
        R"(","allow":["POST /api/v5/trade/","GET /api/v5/"],"ws":true,)"
        R"("limits":{"inst":["BTC-USDT"],"max_sz":[{"inst":"BTC-USDT","sz":"0.1"}],"orders_per_minute":600}},)"
        R"({"group":"daemon","read_only":true,"expires":"2199-01-01T00:00:00.000Z","limits":null}]})";
    ASSERT_EQ(admin(*a_).request("PUT", "/v1/keys/main/grants", grants).status, 200);
    for (int i = 0; i < 3; ++i) admin(*a_).sign("main", {"GET", kBalance, "", std::nullopt});
  }

  static Client admin(const Daemon& daemon) { return Client(daemon.socket().string()); }

  static void add(const Daemon& daemon, const Issued& key) {
    admin(daemon).add({std::string(key.name), std::string(key.api_key), SecretBytes::copy_of(key.secret),
                       SecretBytes::copy_of(key.passphrase), key.simulated,
                       key.name == "main" ? std::optional<std::string>("2199-01-01T00:00:00.000Z") : std::nullopt});
  }

  // The CLI, its arguments kept to check that no secret was among them.
  Output cli(const Daemon& daemon, const std::vector<std::string>& args, const std::string& input = {}) {
    std::vector<std::string> argv = {test::cli_binary(), "--socket", daemon.socket().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const std::string& arg : argv) argv_ += arg + " ";
    Output out = test::run(argv, input);
    outputs_ += out.out + out.err;
    return out;
  }

  static std::string passphrase_line() { return std::string(kBackupPassphrase) + "\n"; }

  Output backup(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"backup", file_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return cli(*a_, args, passphrase_line());
  }

  Output restore(const std::filesystem::path& file, const std::vector<std::string>& extra = {},
                 const std::string& input = passphrase_line()) {
    std::vector<std::string> args = {"restore", file.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return cli(*b_, args, input);
  }

  static std::vector<std::string> names(const Daemon& daemon) {
    std::vector<std::string> out;
    for (const proto::KeyInfo& key : admin(daemon).list()) out.push_back(key.name);
    return out;
  }

  // No secret, key passphrase or backup passphrase in `text`.
  static void expect_no_secret(const std::string& text, const std::string& where) {
    for (const Issued& key : kKeys) {
      EXPECT_EQ(text.find(key.secret), std::string::npos) << key.name << "'s secret is in " << where;
      EXPECT_EQ(text.find(key.passphrase), std::string::npos) << key.name << "'s passphrase is in " << where;
    }
    EXPECT_EQ(text.find(kBackupPassphrase), std::string::npos) << "the backup passphrase is in " << where;
  }

  TempDir a_dir_, b_dir_, files_;
  std::filesystem::path file_ = files_ / "vault.backup";
  std::unique_ptr<Daemon> a_, b_;
  std::string argv_, outputs_;
};

TEST_F(BackupTest, ARestoredKeySignsTheSameBytesAndKeepsItsGrantsLimitsAndHistory) {
  const std::vector<proto::KeyInfo> before = admin(*a_).list();
  const Output made = backup();
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_NE(made.err.find("Wrote a backup of 3 keys to " + file_.string()), std::string::npos) << made.err;

  // Mode 0600, written whole: no temporary file left beside it.
  struct stat info {};
  ASSERT_EQ(::stat(file_.c_str(), &info), 0);
  EXPECT_TRUE(S_ISREG(info.st_mode));
  EXPECT_EQ(info.st_mode & 07777, 0600u);
  std::vector<std::string> beside;
  for (const auto& entry : std::filesystem::directory_iterator(files_.path())) {
    beside.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(beside, std::vector<std::string>{"vault.backup"});
  const std::string file = test::read_file(file_);
  expect_no_secret(file, "the backup file");
  for (const Issued& key : kKeys) EXPECT_EQ(file.find(key.api_key), std::string::npos) << "api keys are sealed too";

  const Output restored = restore(file_);
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_NE(restored.err.find("Restored 3 keys from " + file_.string()), std::string::npos) << restored.err;
  EXPECT_NE(restored.err.find(": demo, main, spare."), std::string::npos) << restored.err;

  // Every key as it was: api key, demo flag, times, usage, expiry, grants.
  const std::vector<proto::KeyInfo> after = admin(*b_).list();
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].name, before[i].name);
    EXPECT_EQ(after[i].api_key, before[i].api_key);
    EXPECT_EQ(after[i].simulated, before[i].simulated);
    EXPECT_EQ(after[i].created, before[i].created);
    EXPECT_EQ(after[i].last_used, before[i].last_used);
    EXPECT_EQ(after[i].sign_count, before[i].sign_count);
    EXPECT_EQ(after[i].expires, before[i].expires);
    EXPECT_EQ(after[i].grants, before[i].grants);
  }
  EXPECT_EQ(after.at(1).sign_count, 3u);
  for (const Issued& key : kKeys) {
    const std::string target = "/v1/keys/" + std::string(key.name) + "/grants";
    EXPECT_EQ(admin(*b_).request("GET", target).body, admin(*a_).request("GET", target).body) << key.name;
  }

  // The same timestamp gives the same bytes, which OKX's own reading verifies.
  const auto same_signatures = [&](const std::string& when) {
    const std::string timestamp = iso8601_ms(Clock::now());
    for (const Issued& key : kKeys) {
      const proto::SignRequest request{"POST", "/api/v5/trade/order", kAllowedOrder, timestamp};
      const auto original = as_map(admin(*a_).sign(key.name, request).headers);
      const auto copy = as_map(admin(*b_).sign(key.name, request).headers);
      EXPECT_EQ(copy, original) << key.name << " " << when;
      EXPECT_EQ(copy.at("OK-ACCESS-SIGN"),
                test::okx_signature(key.secret, timestamp + "POST/api/v5/trade/order" + kAllowedOrder));
      EXPECT_EQ(copy.at("OK-ACCESS-KEY"), key.api_key);
      EXPECT_EQ(copy.count("x-simulated-trading"), key.simulated ? 1u : 0u) << key.name;
      const std::string seconds = epoch_seconds(Clock::now());
      EXPECT_EQ(admin(*b_).ws_login(key.name, seconds), admin(*a_).ws_login(key.name, seconds)) << key.name;
    }
  };
  same_signatures("after the restore");

  // The trading limits came along, and bind the bot on the vault they came to.
  const auto bot_signs = [&](const std::string& order) {
    const json::object body{{"method", "POST"}, {"path", "/api/v5/trade/order"}, {"body", order}};
    return test::curl_as(kBot, b_->socket(), "POST", "/v1/keys/main/sign", json::serialize(body));
  };
  EXPECT_EQ(bot_signs(kAllowedOrder).status, 200);
  const test::CurlReply refused = bot_signs(kTooLargeOrder);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_NE(refused.body.find("sz 0.5 > max 0.1 for BTC-USDT"), std::string::npos) << refused.body;

  // In the store, not only in memory.
  ASSERT_EQ(b_->stop(SIGTERM), 0);
  b_->start();
  same_signatures("after a restart");

  // One audit line each, with what was taken and what was restored.
  const std::vector<std::string> a_audit = test::audit_lines(a_->state_dir() / "audit.log");
  EXPECT_NE(std::find(a_audit.begin(), a_audit.end(), "backup  allow 3 keys"), a_audit.end());
  const std::vector<std::string> b_audit = test::audit_lines(b_->state_dir() / "audit.log");
  EXPECT_NE(std::find(b_audit.begin(), b_audit.end(), "restore  allow 3 keys: demo, main, spare"), b_audit.end());
  const std::string b_log = test::read_file(b_->state_dir() / "audit.log");
  EXPECT_NE(b_log.find(R"("action":"restore","key":"","method":"","path":"","decision":"allow")"), std::string::npos);
  EXPECT_NE(b_log.find(R"(3 keys: demo, main, spare","gen":)"), std::string::npos) << "a restore writes the store";

  for (const Daemon* daemon : {a_.get(), b_.get()}) {
    expect_no_secret(daemon->log(), "a daemon's log");
    expect_no_secret(test::read_file(daemon->state_dir() / "audit.log"), "an audit log");
  }
  expect_no_secret(outputs_, "the CLI's output");
  expect_no_secret(argv_, "the CLI's arguments");
}

TEST_F(BackupTest, ANameTheVaultHasRefusesTheRestoreAsAWholeUnlessSkippedOrRenamed) {
  ASSERT_EQ(backup().exit_code, 0);
  add(*b_, kOther);
  const std::string store = test::read_file(b_->store_file());

  const Output clash = restore(file_);
  EXPECT_EQ(clash.exit_code, 6) << clash.err;
  EXPECT_NE(clash.err.find("the vault already has a key named 'main', which the backup holds too; nothing was "
                           "restored (okx-vault restore --skip-existing leaves it out, --rename main=NEW restores it "
                           "under another name)"),
            std::string::npos)
      << clash.err;
  EXPECT_EQ(names(*b_), std::vector<std::string>{"main"});
  EXPECT_EQ(test::read_file(b_->store_file()), store) << "nothing was written";

  const Output skipped = restore(file_, {"--skip-existing"});
  ASSERT_EQ(skipped.exit_code, 0) << skipped.err;
  EXPECT_NE(skipped.err.find("Restored 2 keys"), std::string::npos) << skipped.err;
  EXPECT_NE(skipped.err.find("Left out, as the vault has keys of these names: main."), std::string::npos);
  EXPECT_EQ(names(*b_), (std::vector<std::string>{"demo", "main", "spare"}));
  const auto kept = as_map(admin(*b_).sign("main", {"GET", kBalance, "", std::nullopt}).headers);
  EXPECT_EQ(kept.at("OK-ACCESS-KEY"), kOther.api_key) << "the vault's own key is left as it was";

  // Every name is taken now: renamed, the keys all come in under new names.
  const Output renamed =
      restore(file_, {"--rename", "main=main-a", "--rename", "demo=demo-a", "--rename", "spare=spare-a", "--json"});
  ASSERT_EQ(renamed.exit_code, 0) << renamed.err;
  const json::value reply = json::parse(renamed.out);
  EXPECT_EQ(reply.at("restored").as_array().size(), 3u);
  EXPECT_EQ(names(*b_), (std::vector<std::string>{"demo", "demo-a", "main", "main-a", "spare", "spare-a"}));
  const proto::SignReply moved = admin(*b_).sign("main-a", {"GET", kBalance, "", std::nullopt});
  EXPECT_EQ(as_map(moved.headers).at("OK-ACCESS-SIGN"),
            test::okx_signature(kKeys[1].secret, moved.timestamp + "GET" + kBalance));
  EXPECT_EQ(admin(*b_).request("GET", "/v1/keys/main-a/grants").body,
            admin(*a_).request("GET", "/v1/keys/main/grants").body);

  // A rename of a key the backup lacks, or of two keys onto one name, is refused.
  const Output unknown = restore(file_, {"--rename", "nosuch=other"});
  EXPECT_EQ(unknown.exit_code, 6);
  EXPECT_NE(unknown.err.find("--rename nosuch=other: the backup has no key named 'nosuch' (it holds 'demo', "
                             "'main', 'spare'); nothing was restored"),
            std::string::npos)
      << unknown.err;
  const Output twice = restore(file_, {"--rename", "main=x", "--rename", "demo=x"});
  EXPECT_EQ(twice.exit_code, 6);
  EXPECT_NE(twice.err.find("two keys are renamed to 'x'"), std::string::npos) << twice.err;
  EXPECT_EQ(restore(file_, {"--rename", "main"}).exit_code, 2) << "OLD=NEW, or a usage error";
  EXPECT_EQ(names(*b_).size(), 6u);
  expect_no_secret(outputs_, "the CLI's output");
}

TEST_F(BackupTest, AWrongPassphraseOrACutDamagedEditedOrFutureFileAddsNothing) {
  ASSERT_EQ(backup().exit_code, 0);
  const std::string good = test::read_file(file_);
  const auto variant = [&](const std::string& name, const std::string& bytes) {
    const std::filesystem::path path = files_ / name;
    test::write_file(path, bytes);
    return path;
  };

  const Output wrong = restore(file_, {}, "not-the-passphrase\n");
  EXPECT_EQ(wrong.exit_code, 4) << wrong.err;
  EXPECT_NE(wrong.err.find("wrong backup passphrase"), std::string::npos) << wrong.err;

  // Refused before any passphrase is asked: stdin is empty, and it is never read.
  std::string damaged = good;
  damaged[kSealedAt + 10] ^= 0x01;
  std::string future = good;
  future[8] = 2;
  fix_checksum(future);
  const std::vector<std::pair<std::filesystem::path, std::string>> refused = {
      {variant("cut.backup", good.substr(0, good.size() / 2)), "the backup is truncated"},
      {variant("empty.backup", ""), "not an okx-vault backup"},
      {variant("damaged.backup", damaged), "the backup is damaged (checksum mismatch)"},
      {variant("future.backup", future),
       "backup format version 2 is not one this okx-vault reads (version 1): restore it with the okx-vault that "
       "made it, or a newer one"},
      {b_->store_file(), "not an okx-vault backup (it does not start with OKXVBKUP)"},
  };
  for (const auto& [path, message] : refused) {
    const Output out = restore(path, {}, "");
    EXPECT_EQ(out.exit_code, 6) << path << ": " << out.err;
    EXPECT_NE(out.err.find(message), std::string::npos) << path << ": " << out.err;
  }
  EXPECT_EQ(restore(files_ / "missing.backup", {}, "").exit_code, 5);

  // Edited by someone who made the checksum right again: it never opens.
  std::string edited = good;
  edited[kSealedAt + 10] ^= 0x01;
  fix_checksum(edited);
  const Output tampered = restore(variant("edited.backup", edited));
  EXPECT_EQ(tampered.exit_code, 4) << tampered.err;
  EXPECT_NE(tampered.err.find("wrong backup passphrase (or the backup was altered"), std::string::npos);

  // The daemon checks for itself what the CLI checked.
  for (const std::string& bytes : {good.substr(0, good.size() - 1), future, damaged}) {
    try {
      admin(*b_).restore({bytes_of(bytes), SecretBytes::copy_of(kBackupPassphrase), {}, false});
      ADD_FAILURE() << "restored";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Code::bad_request) << e.what();
    }
  }
  EXPECT_TRUE(names(*b_).empty());
  const std::vector<std::string> audit = test::audit_lines(b_->state_dir() / "audit.log");
  EXPECT_NE(std::find(audit.begin(), audit.end(), "restore  deny wrong_passphrase"), audit.end());
  EXPECT_NE(std::find(audit.begin(), audit.end(), "restore  deny bad_request"), audit.end());

  // And the good file still restores.
  ASSERT_EQ(restore(file_).exit_code, 0);
  EXPECT_EQ(names(*b_).size(), 3u);
  expect_no_secret(outputs_ + b_->log(), "the CLI's output and the daemon's log");
}

TEST_F(BackupTest, AnExistingFileIsKeptUnlessForcedAndNothingIsAskedBeforeTheFileCanBeWritten) {
  test::write_file(file_, "precious");
  ::chmod(file_.c_str(), 0644);
  const Output kept = backup();
  EXPECT_EQ(kept.exit_code, 6);
  EXPECT_NE(kept.err.find(file_.string() + " exists; nothing was written (--force replaces it)"), std::string::npos)
      << kept.err;
  EXPECT_EQ(test::read_file(file_), "precious");

  const Output forced = backup({"--force", "--json"});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_EQ(json::parse(forced.out), (json::value{{"file", file_.string()}, {"keys", 3}}));
  struct stat info {};
  ASSERT_EQ(::stat(file_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0600u) << "the new file, not the old one's mode";
  EXPECT_EQ(test::read_file(file_).substr(0, 8), "OKXVBKUP");

  // No directory to write in: refused before the passphrase is read (stdin is empty).
  const Output nowhere = cli(*a_, {"backup", (files_ / "no" / "such" / "dir.backup").string()});
  EXPECT_EQ(nowhere.exit_code, 1);
  EXPECT_NE(nowhere.err.find("cannot create a file there"), std::string::npos) << nowhere.err;

  const Output short_passphrase = cli(*a_, {"backup", (files_ / "short.backup").string()}, "short\n");
  EXPECT_EQ(short_passphrase.exit_code, 6);
  EXPECT_NE(short_passphrase.err.find("a backup passphrase must be 8 to 1024 bytes long"), std::string::npos);
  const Output unknown = cli(*a_, {"backup", (files_ / "one.backup").string(), "--key", "nosuch"}, passphrase_line());
  EXPECT_EQ(unknown.exit_code, 5) << unknown.err;
  std::vector<std::string> left;
  for (const auto& entry : std::filesystem::directory_iterator(files_.path())) {
    left.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(left, std::vector<std::string>{"vault.backup"}) << "a refused backup leaves no file behind";

  // Some keys only.
  const std::filesystem::path one = files_ / "one.backup";
  ASSERT_EQ(cli(*a_, {"backup", one.string(), "--key", "main"}, passphrase_line()).exit_code, 0);
  ASSERT_EQ(restore(one).exit_code, 0);
  EXPECT_EQ(names(*b_), std::vector<std::string>{"main"});
}

TEST_F(BackupTest, AGrantWhoseUserThisHostLacksRefusesTheRestore) {
  constexpr const char* kGone = "okxv-test-bkgone";
  test::ensure_system_user(kGone, {});
  const std::string grants = std::string(R"({"grants":[{"user":")") + kGone + R"(","limits":null}]})";
  ASSERT_EQ(admin(*a_).request("PUT", "/v1/keys/spare/grants", grants).status, 200);
  ASSERT_EQ(backup().exit_code, 0);
  test::run({"/bin/sh", "-c", std::string("userdel ") + kGone});

  const Output out = restore(file_);
  EXPECT_EQ(out.exit_code, 6) << out.err;
  EXPECT_NE(out.err.find(std::string("key 'spare', its grant of user '") + kGone + "': no such user: " + kGone +
                         "; nothing was restored (create it on this host, then restore again)"),
            std::string::npos)
      << out.err;
  EXPECT_TRUE(names(*b_).empty());
}

TEST_F(BackupTest, AVaultTooLargeForOneRestoreIsBackedUpInParts) {
  // Long secrets and passphrases: a few dozen keys fill what a restore takes.
  const std::string secret(512, 'S'), passphrase(256, 'P');
  std::vector<std::string> half;
  for (int i = 0; i < 56; ++i) {
    const std::string name = "bulk-" + std::to_string(i);
    admin(*a_).add({name, "ak-" + name, SecretBytes::copy_of(secret), SecretBytes::copy_of(passphrase), false});
    if (i % 2 == 0) half.insert(half.end(), {"--key", name});
  }
  const Output whole = backup();
  EXPECT_EQ(whole.exit_code, 6) << whole.err;
  EXPECT_NE(whole.err.find("more than a restore takes (43008); nothing was backed up: back the keys up in parts "
                           "(okx-vault backup FILE --key NAME ...)"),
            std::string::npos)
      << whole.err;
  EXPECT_FALSE(std::filesystem::exists(file_));

  const Output part = backup(half);
  ASSERT_EQ(part.exit_code, 0) << part.err;
  ASSERT_EQ(restore(file_).exit_code, 0);
  EXPECT_EQ(names(*b_).size(), 28u);
}

}  // namespace
}  // namespace okxvault
