// The state directory's integrity against someone who can write its files: an
// older vault.store put back in place of the current one (a rollback), or an
// audit log cut or rewritten below the head the store recorded, is refused at
// start (and the store at unlock), unless the admin accepts it, which is audited;
// a head sent to the journal finds a cut or rewritten log in `audit verify`.
// The real okx-vaultd and okx-vault throughout.

#include <gtest/gtest.h>
#include <signal.h>
#include <sodium.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "client/client.hpp"
#include "common/error.hpp"
#include "proto/audit_chain.hpp"
#include "tests/support/code_of.hpp"
#include "tests/support/process.hpp"

namespace okxvault::test {
namespace {
namespace fs = std::filesystem;

constexpr char kVaultPassphrase[] = "integrity vault passphrase";

proto::AddKeyRequest key(const std::string& name) {
  return {name, "api-key-of-" + name + "-0123", SecretBytes::copy_of("SECRET-" + name),
          SecretBytes::copy_of("PASS-" + name)};
}

// The generation of a store file, where store.hpp puts it (version 3).
std::uint64_t generation_of(const std::string& store) {
  EXPECT_EQ(store.substr(8, 2), std::string("\x03\x00", 2));
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = value << 8 | static_cast<unsigned char>(store[10 + static_cast<std::size_t>(i)]);
  return value;
}

std::string with_generation(std::string store, std::uint64_t generation) {
  for (int i = 0; i < 8; ++i) store[10 + static_cast<std::size_t>(i)] = static_cast<char>(generation >> (8 * i));
  return store;
}

// The unkeyed checksum recomputed, as anyone editing the file can.
std::string with_fresh_checksum(std::string file) {
  file.resize(file.size() - 32);
  std::array<unsigned char, 32> sum{};
  crypto_generichash(sum.data(), sum.size(), reinterpret_cast<const unsigned char*>(file.data()), file.size(), nullptr,
                     0);
  return file + std::string(sum.begin(), sum.end());
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  for (std::size_t at = 0, nl; (nl = text.find('\n', at)) != std::string::npos; at = nl + 1) {
    lines.push_back(text.substr(at, nl - at));
  }
  return lines;
}

// The `gen` of the last line that has one.
std::optional<std::uint64_t> last_recorded_generation(const std::string& audit) {
  const std::regex gen(R"re(,"gen":([0-9]+),"hash":")re");
  std::optional<std::uint64_t> last;
  for (const std::string& line : lines_of(audit)) {
    std::smatch match;
    if (std::regex_search(line, match, gen)) last = std::stoull(match[1]);
  }
  return last;
}

class IntegrityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ::signal(SIGPIPE, SIG_IGN); }

  fs::path store() const { return dir_ / "state" / "vault.store"; }
  fs::path audit_log() const { return dir_ / "state" / "audit.log"; }

  // The daemon's command line on this state directory, under a timeout so that
  // a daemon that starts when it should not fails the test rather than hangs it.
  std::vector<std::string> daemon_argv(const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> argv = {"/usr/bin/timeout",
                                     "20",
                                     daemon_binary(),
                                     "--state-dir",
                                     (dir_ / "state").string(),
                                     "--socket",
                                     (dir_ / "okx-vault.sock").string(),
                                     "--passphrase-cost",
                                     "test"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  // A start that must be refused as a rollback, naming both files, both
  // generations and the flag, and leaving both files as they were.
  void expect_rollback_refused(std::uint64_t store_generation, std::uint64_t recorded) {
    const std::string store_before = read_file(store()), audit_before = read_file(audit_log());
    const Output out = run(daemon_argv());
    ASSERT_NE(out.exit_code, 124) << "the daemon started on a rolled-back store";
    EXPECT_NE(out.exit_code, 0);
    for (const std::string& part :
         std::vector<std::string>{"rollback", store().string(), audit_log().string(), "--accept-rollback",
                                  "store generation " + std::to_string(store_generation),
                                  "generation " + std::to_string(recorded)}) {
      EXPECT_NE(out.err.find(part), std::string::npos) << "missing '" << part << "' in: " << out.err;
    }
    EXPECT_EQ(read_file(store()), store_before) << "the refused start changed the store";
    EXPECT_EQ(read_file(audit_log()), audit_before) << "the refused start changed the audit log";
  }

  TempDir dir_;
};

TEST_F(IntegrityTest, AnOlderStoreIsRefusedAtStartAndAcceptedOnlyWithTheFlagWhichIsAudited) {
  std::string backup;
  std::uint64_t recorded = 0;
  {
    Daemon daemon(dir_.path(), {"--passphrase-cost", "test"});
    Client client(daemon.socket().string());
    client.add(key("revoked"));
    client.add(key("kept"));
    backup = read_file(store());
    client.revoke("revoked");  // what the backup would bring back
    recorded = generation_of(read_file(store()));
    ASSERT_EQ(daemon.stop(), 0);  // records the log's head in the store: one write more
  }
  EXPECT_EQ(last_recorded_generation(read_file(audit_log())), recorded) << "the revoke's record carries its generation";
  ASSERT_LT(generation_of(backup), recorded);

  write_file(store(), backup);
  expect_rollback_refused(generation_of(backup), recorded);

  // Accepted: the revoked key is back, and the log says who accepted what.
  {
    Daemon daemon(dir_.path(), {"--passphrase-cost", "test", "--accept-rollback"});
    EXPECT_EQ(Client(daemon.socket().string()).list().size(), 2u);
    ASSERT_EQ(daemon.stop(), 0);
  }
  const std::vector<std::string> lines = lines_of(read_file(audit_log()));
  ASSERT_FALSE(lines.empty());
  const std::string& accepted = lines.back();
  EXPECT_NE(accepted.find(R"("action":"accept-rollback")"), std::string::npos) << accepted;
  EXPECT_NE(accepted.find("generation " + std::to_string(recorded) + " to " + std::to_string(generation_of(backup))),
            std::string::npos)
      << accepted;
  EXPECT_EQ(last_recorded_generation(read_file(audit_log())), generation_of(backup));

  // From then on the accepted store is the reference: it starts without the flag,
  // and the next write goes on from its generation.
  Daemon daemon(dir_.path(), {"--passphrase-cost", "test"});
  const std::uint64_t started = generation_of(read_file(store()));
  EXPECT_GT(started, generation_of(backup));
  Client(daemon.socket().string()).revoke("revoked");
  ASSERT_EQ(daemon.stop(), 0);
  EXPECT_EQ(last_recorded_generation(read_file(audit_log())), started + 1);
}

TEST_F(IntegrityTest, EveryAdminWriteRecordsTheGenerationItProduced) {
  std::uint64_t generation = 0;
  {
    Daemon daemon(dir_.path(), {"--passphrase-cost", "test"});
    Client client(daemon.socket().string());
    client.add(key("main"));
    client.set_grants("main", {});
    client.sign("main", proto::SignRequest{"GET", "/api/v5/account/balance", "", std::nullopt});
    client.set_passphrase(SecretBytes::copy_of(kVaultPassphrase));
    client.lock();  // writes the usage counters of the sign
    client.unlock(SecretBytes::copy_of(kVaultPassphrase));
    client.rotate_key_file();
    const SecretBytes passphrase = SecretBytes::copy_of(kVaultPassphrase);
    client.rekey(&passphrase);
    client.remove_passphrase(passphrase);
    client.revoke("main");
    generation = generation_of(read_file(store()));
    ASSERT_EQ(daemon.stop(), 0);  // writes every audit line
  }
  const std::regex record(R"re("action":"([a-z-]+)".*,"gen":([0-9]+),"hash":")re");
  std::vector<std::string> actions;
  std::uint64_t last = 0;
  for (const std::string& line : lines_of(read_file(audit_log()))) {
    std::smatch match;
    if (!std::regex_search(line, match, record)) continue;
    actions.push_back(match[1]);
    EXPECT_GT(std::stoull(match[2]), last) << line;
    last = std::stoull(match[2]);
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"add", "set-grants", "set-passphrase", "lock", "rotate-key-file",
                                               "rekey", "remove-passphrase", "revoke"}));
  EXPECT_EQ(last, generation);
  EXPECT_EQ(generation_of(read_file(store())), generation + 1) << "the stop records the log's head in the store";
}

class LockedIntegrityTest : public IntegrityTest {
 protected:
  void SetUp() override {
    const Output init = run({daemon_binary(), "--init", "--passphrase", "--state-dir", (dir_ / "state").string(),
                             "--passphrase-cost", "test"},
                            std::string(kVaultPassphrase) + "\n");
    ASSERT_EQ(init.exit_code, 0) << init.err;
    daemon_ = std::make_unique<Daemon>(dir_.path(), std::vector<std::string>{"--passphrase-cost", "test"});
    client_ = std::make_unique<Client>(daemon_->socket().string());
    client_->unlock(SecretBytes::copy_of(kVaultPassphrase));
    client_->add(key("revoked"));
    backup_ = read_file(store());
    client_->revoke("revoked");
    recorded_ = generation_of(read_file(store()));
  }

  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<Client> client_;
  std::string backup_;
  std::uint64_t recorded_ = 0;
};

// A locked start reads the generation before any key can authenticate it: the
// older store is refused there, and a generation edited upward to get past that
// check fails the MAC at unlock.
TEST_F(LockedIntegrityTest, ALockedStartRefusesAnOlderStoreAndUnlockRefusesAnEditedGeneration) {
  ASSERT_EQ(daemon_->stop(), 0);
  write_file(store(), backup_);
  expect_rollback_refused(generation_of(backup_), recorded_);

  write_file(store(), with_fresh_checksum(with_generation(backup_, recorded_ + 5)));
  daemon_->start();
  client_ = std::make_unique<Client>(daemon_->socket().string());
  ASSERT_TRUE(client_->status().locked);
  EXPECT_EQ(code_of([&] { client_->unlock(SecretBytes::copy_of(kVaultPassphrase)); }), Code::tampered_store);
  EXPECT_TRUE(client_->status().locked);
}

// Locked, the daemon holds no key to check a store with: a store swapped for an
// older copy meanwhile is refused when it is read again at unlock.
TEST_F(LockedIntegrityTest, AStoreSwappedForAnOlderOneWhileLockedIsRefusedAtUnlock) {
  client_->lock();
  write_file(store(), backup_);
  try {
    client_->unlock(SecretBytes::copy_of(kVaultPassphrase));
    ADD_FAILURE() << "unlocked an older store";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::rollback) << e.what();
    EXPECT_NE(std::string(e.what()).find("--accept-rollback"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(client_->status().locked);
  EXPECT_EQ(read_file(store()), backup_);
}

// --- the audit log's head, as the daemon sends it to the journal ------------

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  return text;
}

// The lines rechained from the start without the key, as anyone can.
std::vector<std::string> rechained(const std::vector<std::string>& lines) {
  std::vector<std::string> out;
  std::string prev(audit_chain::kGenesis);
  for (const std::string& line : lines) {
    const std::string fields(audit_chain::parse(line).value().fields);
    std::string sealed;
    prev = audit_chain::view(audit_chain::seal_into(sealed, fields, prev, nullptr));
    out.push_back(sealed);
  }
  return out;
}

// A short history in the log and the store: an add, five signs and a revoke, then a clean stop.
void add_sign_and_revoke(const std::filesystem::path& dir) {
  Daemon daemon(dir, {"--passphrase-cost", "test"});
  Client client(daemon.socket().string());
  client.add(key("main"));
  for (int i = 0; i < 5; ++i)
    client.sign("main", proto::SignRequest{"GET", "/api/v5/account/balance", "", std::nullopt});
  client.revoke("main");
  ASSERT_EQ(daemon.stop(), 0);
}

TEST_F(IntegrityTest, AHeadFromTheJournalFindsACutTailAndARewrittenChain) {
  ASSERT_NO_FATAL_FAILURE(add_sign_and_revoke(dir_.path()));
  // The fields the daemon sent to the journal, which it also logs at exit.
  std::smatch match;
  const std::string log = read_file(dir_ / "daemon.log");
  ASSERT_TRUE(std::regex_search(log, match, std::regex("audit log head: HEAD=([0-9a-f]{64}) LINE=([0-9]+)"))) << log;
  const std::string head = match[1];
  const std::vector<std::string> lines = lines_of(read_file(audit_log()));
  ASSERT_EQ(std::stoul(match[2]), lines.size());
  ASSERT_EQ(audit_chain::hash_of(lines.back()), head);

  const auto verify = [&](const std::vector<std::string>& log_lines, bool with_head) {
    write_file(dir_ / "copy.log", joined(log_lines));
    std::vector<std::string> argv = {cli_binary(), "audit", "verify", (dir_ / "copy.log").string()};
    if (with_head) argv.insert(argv.end(), {"--head", head});
    return run(argv);
  };
  Output out = verify(lines, true);
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.out.find("head at line " + std::to_string(lines.size())), std::string::npos) << out.out;

  // The tail cut: the chain alone still verifies, the head does not.
  const std::vector<std::string> cut(lines.begin(), lines.end() - 2);
  EXPECT_EQ(verify(cut, false).exit_code, 0);
  out = verify(cut, true);
  EXPECT_EQ(out.exit_code, 1) << out.out;
  EXPECT_NE(out.err.find("is not in the log"), std::string::npos) << out.err;

  // A line deleted and the whole chain recomputed: the same.
  std::vector<std::string> edited = lines;
  edited.erase(edited.begin() + 1);
  const std::vector<std::string> rewritten = rechained(edited);
  EXPECT_EQ(verify(rewritten, false).exit_code, 0);
  EXPECT_EQ(verify(rewritten, true).exit_code, 1);
}

// The store records the log's head at each write: a log cut below it, or
// rewritten before it, is refused at start like a rollback.
TEST_F(IntegrityTest, AnAuditLogCutOrRewrittenBelowTheStoresAnchorIsRefusedAtStart) {
  ASSERT_NO_FATAL_FAILURE(add_sign_and_revoke(dir_.path()));
  const std::vector<std::string> lines = lines_of(read_file(audit_log()));
  const auto expect_refused = [&](const std::string& log, const char* what) {
    write_file(audit_log(), log);
    const std::string store_before = read_file(store());
    const Output out = run(daemon_argv());
    ASSERT_NE(out.exit_code, 124) << what << ": the daemon started";
    EXPECT_NE(out.exit_code, 0) << what;
    for (const std::string& part :
         std::vector<std::string>{"rollback", audit_log().string(), store().string(), "--accept-rollback"}) {
      EXPECT_NE(out.err.find(part), std::string::npos) << what << ": missing '" << part << "' in: " << out.err;
    }
    EXPECT_EQ(read_file(audit_log()), log) << what;
    EXPECT_EQ(read_file(store()), store_before) << what;
  };
  expect_refused(joined(std::vector<std::string>(lines.begin(), lines.end() - 2)), "the last two lines dropped");
  std::vector<std::string> edited = lines;
  edited.erase(edited.begin() + 2);
  expect_refused(joined(rechained(edited)), "a line deleted and the chain recomputed");

  // Accepted: audited, and the next start is clean again.
  write_file(audit_log(), joined(std::vector<std::string>(lines.begin(), lines.end() - 2)));
  {
    Daemon daemon(dir_.path(), {"--passphrase-cost", "test", "--accept-rollback"});
    ASSERT_EQ(daemon.stop(), 0);
  }
  EXPECT_NE(lines_of(read_file(audit_log())).back().find(R"("action":"accept-rollback")"), std::string::npos);
  Daemon daemon(dir_.path(), {"--passphrase-cost", "test"});
  ASSERT_EQ(daemon.stop(), 0);
}

// --- the keyed chain ---------------------------------------------------------

// A stop records the log's head in the store, so the lines written since the
// last admin change (signs, refusals) are anchored too.
TEST_F(IntegrityTest, AStopAnchorsTheLinesSinceTheLastChangeSoCuttingThemIsRefusedAtStart) {
  {
    Daemon daemon(dir_.path(), {"--passphrase-cost", "test"});
    Client client(daemon.socket().string());
    client.add(key("main"));
    for (int i = 0; i < 5; ++i)
      client.sign("main", proto::SignRequest{"GET", "/api/v5/account/balance", "", std::nullopt});
    ASSERT_EQ(daemon.stop(), 0);
  }
  const std::vector<std::string> lines = lines_of(read_file(audit_log()));
  ASSERT_EQ(lines.size(), 6u);
  write_file(audit_log(), joined(std::vector<std::string>(lines.begin(), lines.end() - 2)));  // two signs gone
  const Output out = run(daemon_argv());
  ASSERT_NE(out.exit_code, 124) << "the daemon started on a log cut after its last change";
  EXPECT_NE(out.exit_code, 0);
  EXPECT_NE(out.err.find("rollback: the audit log has no line 6"), std::string::npos) << out.err;
}

// Every line the daemon writes once it holds the audit key carries a mac that
// only that key makes. The daemon checks them (okx-vault audit verify without
// FILE): a chain recomputed by someone who can write the log but lacks the key
// fails, whether the macs were kept or dropped. A rekey keeps the key.
TEST_F(IntegrityTest, TheDaemonChecksEveryMacAndFindsAChainRecomputedWithoutItsKey) {
  Daemon daemon(dir_.path(), {"--passphrase-cost", "test"});
  Client client(daemon.socket().string());
  client.add(key("main"));
  client.sign("main", proto::SignRequest{"GET", "/api/v5/account/balance", "", std::nullopt});
  client.rekey(nullptr);
  client.sign("main", proto::SignRequest{"GET", "/api/v5/account/balance", "", std::nullopt});
  const auto verify_by_daemon = [&] {
    return run({cli_binary(), "--socket", daemon.socket().string(), "audit", "verify"});
  };
  Output out = verify_by_daemon();
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.out.find("chain intact, the store's head at line"), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("every mac checked with the audit key"), std::string::npos) << out.out;
  EXPECT_NE(out.out.find(" 0 unkeyed;"), std::string::npos) << "every line is keyed: " << out.out;

  const std::vector<std::string> lines = lines_of(read_file(audit_log()));
  ASSERT_GE(lines.size(), 4u);
  for (const std::string& line : lines) EXPECT_TRUE(audit_chain::parse(line).value().mac.size() == 64) << line;

  // The first sign's line deleted and the chain after it recomputed, the macs kept.
  std::vector<std::string> edited = lines;
  edited.erase(edited.begin() + 1);
  std::vector<std::string> forged = rechained(edited);
  for (std::size_t i = 0; i < forged.size(); ++i) {
    forged[i].insert(forged[i].size() - 2, R"(","mac":")" + std::string(audit_chain::parse(edited[i])->mac));
  }
  write_file(audit_log(), joined(forged));
  out = run({cli_binary(), "audit", "verify", audit_log().string()});
  EXPECT_EQ(out.exit_code, 0) << "without the key, the file alone looks whole: " << out.err;
  EXPECT_NE(out.out.find("macs not checked"), std::string::npos) << out.out;
  out = verify_by_daemon();
  EXPECT_EQ(out.exit_code, 1) << out.out;
  EXPECT_NE(out.err.find("line 2: the line's mac is not the audit key's"), std::string::npos) << out.err;

  // The same with the macs dropped, as for a log from before the audit key: the
  // store's head is not in it.
  write_file(audit_log(), joined(rechained(edited)));
  out = verify_by_daemon();
  EXPECT_EQ(out.exit_code, 1) << out.out;
  EXPECT_NE(out.err.find("is not in the log"), std::string::npos) << out.err;

  write_file(audit_log(), joined(lines));
  EXPECT_EQ(verify_by_daemon().exit_code, 0) << "the log put back verifies again";
}

// A vault started locked has no audit key until its unlock: what it writes
// meanwhile has no mac, and the keyed lines after the unlock vouch for it.
TEST_F(LockedIntegrityTest, LinesWrittenBeforeTheFirstUnlockHaveNoMacAndTheKeyedOnesAfterVouchForThem) {
  ASSERT_EQ(daemon_->stop(), 0);
  daemon_->start();
  client_ = std::make_unique<Client>(daemon_->socket().string());
  EXPECT_EQ(code_of([&] {
              client_->sign("kept", {"GET", "/api/v5/account/balance", "", std::nullopt});
            }),
            Code::vault_locked);
  client_->unlock(SecretBytes::copy_of(kVaultPassphrase));
  const Output out = run({cli_binary(), "--socket", daemon_->socket().string(), "audit", "verify"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.out.find("1 unkeyed; every mac checked"), std::string::npos) << out.out;
  const std::vector<std::string> lines = lines_of(read_file(audit_log()));
  ASSERT_GE(lines.size(), 2u);
  EXPECT_TRUE(audit_chain::parse(lines[lines.size() - 2]).value().mac.empty()) << lines[lines.size() - 2];
  EXPECT_EQ(audit_chain::parse(lines.back()).value().mac.size(), 64u) << lines.back();
}

// A log that okx-vaultd 0.1.0 began (format 1: BLAKE2b, no "v") goes on in
// format 2 as one chain: the daemon and the file alone verify it whole, and an
// edit of an old line is still found.
TEST(AuditFormatTest, ALogInTheOlderFormatGoesOnInTheNewOneAsOneChain) {
  TempDir dir;
  const fs::path state = dir / "state";
  fs::create_directory(state);
  fs::permissions(state, fs::perms::owner_all);
  std::vector<std::string> older = lines_of(read_file(std::string(OKXVAULT_TEST_DATA) + "/audit-v1.log"));
  older.resize(3);  // the unkeyed ones: the keyed ones are another vault's
  write_file(state / "audit.log", joined(older));
  fs::permissions(state / "audit.log", fs::perms::owner_read | fs::perms::owner_write);

  Daemon daemon(dir.path(), {"--passphrase-cost", "test"});
  Client client(daemon.socket().string());
  client.add(key("main"));
  client.sign("main", proto::SignRequest{"GET", "/api/v5/account/balance", "", std::nullopt});
  const auto verify_by_daemon = [&] {
    return run({cli_binary(), "--socket", daemon.socket().string(), "audit", "verify"});
  };
  Output out = verify_by_daemon();
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.out.find("every mac checked with the audit key"), std::string::npos) << out.out;

  const std::vector<std::string> lines = lines_of(read_file(state / "audit.log"));
  ASSERT_GE(lines.size(), 5u);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].substr(9 + 64, 7) == R"(","v":2)", i >= 3) << "line " << i + 1 << ": " << lines[i];
  }
  EXPECT_EQ(std::vector<std::string>(lines.begin(), lines.begin() + 3), older)
      << "the older lines are kept as they were";
  EXPECT_EQ(lines[3].substr(9, 64), audit_chain::hash_of(older[2])) << "the first new line continues the older chain";
  out = run({cli_binary(), "audit", "verify", (state / "audit.log").string()});
  EXPECT_EQ(out.exit_code, 0) << out.err;

  std::vector<std::string> edited = lines;
  edited[1].replace(edited[1].find("refuse"), 6, "allow!");
  write_file(state / "audit.log", joined(edited));
  out = verify_by_daemon();
  EXPECT_EQ(out.exit_code, 1) << out.out;
  EXPECT_NE(out.err.find("line 2: the line was edited"), std::string::npos) << out.err;
}

}  // namespace
}  // namespace okxvault::test
