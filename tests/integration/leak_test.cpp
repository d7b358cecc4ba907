// Where a secret must never show up, after a whole life of the real daemon (add,
// sign, ws-login, list, grants, errors, revoke, restart): its log, the audit log,
// every file it wrote, every response body but the two that must carry the
// passphrase, the CLI's output, and its /proc cmdline and environment. Each
// search is in raw, base64 and hex form, and each place is shown to be searched
// by finding something that is there.

#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <thread>

#include "client/client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sanitizers.hpp"

namespace okxvault {
namespace {
using test::Daemon;
using test::Output;
using test::TempDir;

constexpr std::string_view kApiKey = "5e0c9a2b-71d4-4f3e-8b6a-0d9c2e4f6a81";
constexpr std::string_view kSecret = "LEAKCHECK-SECRET-7Fq2Lw9Zr4Tx8Kd1Mv6Bn3Hs";
constexpr std::string_view kPassphrase = "LEAKCHECK-PASS-Qm5-Wz8-Yr2";

std::span<const unsigned char> as_bytes(std::string_view text) {
  return {reinterpret_cast<const unsigned char*>(text.data()), text.size()};
}

std::string base64(std::string_view text, int variant) {
  std::string out(sodium_base64_ENCODED_LEN(text.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), as_bytes(text).data(), text.size(), variant);
  out.pop_back();
  return out;
}

std::string hex(std::string_view text) {
  std::string out(text.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), as_bytes(text).data(), text.size());
  out.pop_back();
  return out;
}

// The forms a secret could leak in: raw, base64 (with and without padding, URL
// alphabet), hex in either case.
std::vector<std::string> forms(std::string_view secret) {
  std::string upper = hex(secret);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return {std::string(secret),
          base64(secret, sodium_base64_VARIANT_ORIGINAL),
          base64(secret, sodium_base64_VARIANT_ORIGINAL_NO_PADDING),
          base64(secret, sodium_base64_VARIANT_URLSAFE),
          hex(secret),
          upper};
}

// Names the first form of `secret` found in `text`, or "".
std::string found(const std::string& text, std::string_view secret) {
  for (const std::string& form : forms(secret)) {
    if (text.find(form) != std::string::npos) return form;
  }
  return {};
}

class LeakTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ::signal(SIGPIPE, SIG_IGN); }
  void SetUp() override { ASSERT_GE(sodium_init(), 0); }

  // A place searched: it must hold neither the secret nor the passphrase.
  void searched(const std::string& text, const std::string& where) {
    EXPECT_EQ(found(text, kSecret), "") << "the secret is in " << where;
    EXPECT_EQ(found(text, kPassphrase), "") << "the passphrase is in " << where;
    ++places_;
  }

  Output cli(const std::vector<std::string>& args, const std::string& input = {}) {
    std::vector<std::string> argv = {test::cli_binary(), "--socket", daemon_->socket().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::run(argv, input);
  }

  // A CLI call that must succeed and whose output must hold no secret.
  Output clean_cli(const std::vector<std::string>& args, const std::string& input = {}) {
    Output out = cli(args, input);
    EXPECT_EQ(out.exit_code, 0) << args[0] << ": " << out.err;
    searched(out.out + out.err, "the output of okx-vault " + args[0]);
    return out;
  }

  Client::RawReply raw(std::string_view method, std::string_view target, std::string_view body = {}) {
    Client::RawReply reply = Client(daemon_->socket().string()).request(method, target, body);
    searched(reply.body, std::string(method) + " " + std::string(target) + " reply");
    return reply;
  }

  std::string proc(const std::string& what) const {
    return test::read_file("/proc/" + std::to_string(daemon_->pid()) + "/" + what);
  }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
  int places_ = 0;
};

TEST_F(LeakTest, TheSearchFindsEveryForm) {
  // The control for found(): each form, embedded in other text, is found.
  for (const std::string& form : forms(kSecret)) EXPECT_EQ(found("x" + form + "y", kSecret), form);
  EXPECT_EQ(found("unrelated", kSecret), "");
}

TEST_F(LeakTest, NoSecretAnywhereAfterAWholeScenario) {
  const std::string marker = "okxv-leak-marker-" + hex(std::to_string(::getpid()));
  ::setenv("OKXV_LEAK_MARKER", marker.c_str(), 1);  // the daemon inherits it: the control for environ
  daemon_ = std::make_unique<Daemon>(dir_.path());
  ::unsetenv("OKXV_LEAK_MARKER");
  const std::string credentials = std::string(kSecret) + "\n" + std::string(kPassphrase) + "\n";

  clean_cli({"add", "main", "--api-key", std::string(kApiKey)}, credentials);
  // "demo" gets the secret and passphrase by an update, which must be as careful with them as add.
  clean_cli({"add", "demo", "--api-key", std::string(kApiKey), "--simulated"}, "OLD-DEMO-SECRET\nOLD-DEMO-PASS\n");
  clean_cli({"update", "demo", "--api-key", std::string(kApiKey), "--simulated"}, credentials);
  // The two places the passphrase must travel: the control that CLI output is searched.
  const Output signed_ = cli({"sign", "main", "POST", "/api/v5/trade/order", "--body", "{}"});
  ASSERT_EQ(signed_.exit_code, 0) << signed_.err;
  EXPECT_EQ(found(signed_.out, kPassphrase), std::string(kPassphrase)) << signed_.out;
  EXPECT_EQ(found(signed_.out, kSecret), "") << "the secret is in the sign output";
  const Output login = cli({"ws-login", "main"});
  ASSERT_EQ(login.exit_code, 0) << login.err;
  EXPECT_NE(login.out.find(kPassphrase), std::string::npos) << login.out;
  EXPECT_EQ(found(login.out, kSecret), "") << "the secret is in the ws-login output";

  for (const char* command : {"list", "status"}) {
    clean_cli({command});
    clean_cli({command, "--json"});
  }
  clean_cli({"grant", "main", "--user", "root", "--read-only"});
  clean_cli({"grants", "main", "--json"});
  // Failures whose input carried the secret or passphrase.
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"add", "main", "--api-key", std::string(kApiKey)},
                                             {"add", "Bad Name", "--api-key", std::string(kApiKey)},
                                             {"add", "x", "--api-key", "has space"},
                                             {"update", "main", "--api-key", "has space"},
                                             {"update", "nope", "--api-key", std::string(kApiKey)},
                                             {"update", "main", "--api-key", std::string(kApiKey), "--simulated"},
                                             {"revoke", "nope", "--yes"}}) {
    const Output out = cli(args, credentials);
    EXPECT_NE(out.exit_code, 0) << args[1];
    searched(out.out + out.err, "the failing okx-vault " + args[0] + " " + args[1]);
  }
  raw("GET", "/v1/status");
  const Client::RawReply listing = raw("GET", "/v1/keys");
  EXPECT_EQ(listing.status, 200);
  raw("GET", "/v1/keys/main/grants");
  const std::string s(kSecret), p(kPassphrase), k(kApiKey);
  raw("POST", "/v1/keys",
      R"({"name":"main","api_key":")" + k + R"(","secret":")" + s + R"(","passphrase":")" + p + "\"}");
  raw("POST", "/v1/keys",
      R"({"name":"Bad","api_key":")" + k + R"(","secret":")" + s + R"(","passphrase":")" + p + "\"}");
  raw("POST", "/v1/keys",
      R"({"name":"x","api_key":")" + k + R"(","secret":")" + s + R"( ","passphrase":")" + p + "\"}");
  raw("POST", "/v1/keys", R"({"name":"x","secret":")" + s + R"(","passphrase":")" + p + "\",\"" + s + "\":1}");
  raw("POST", "/v1/keys", R"({"name":"x","secret":)" + s);
  raw("POST", "/v1/keys/main/sign", R"({"method":"GET","path":"/api/v5/)" + s + R"(","timestamp":")" + p + "\"}");
  raw("POST", "/v1/keys/main/ws-login", R"({"timestamp":")" + s + "\"}");
  raw("PUT", "/v1/keys/main/credentials",
      R"({"api_key":")" + k + R"(","secret":")" + s + R"(","passphrase":")" + p + R"(","simulated":true})");
  raw("PUT", "/v1/keys/main/credentials",
      R"({"api_key":")" + k + R"(","secret":")" + s + R"( ","passphrase":")" + p + R"(","simulated":false})");
  raw("PUT", "/v1/keys/main/credentials",
      R"({"api_key":")" + k + R"(","secret":")" + s + R"(","passphrase":")" + p + R"(","simulted":false})");
  raw("PUT", "/v1/keys/nope/credentials",
      R"({"api_key":")" + k + R"(","secret":")" + s + R"(","passphrase":")" + p + R"(","simulated":false})");

  // The daemon's own process: arguments and environment.
  const std::string cmdline = proc("cmdline"), environ = proc("environ");
  EXPECT_NE(cmdline.find(daemon_->state_dir().string()), std::string::npos) << "control: cmdline was read";
  EXPECT_NE(environ.find(marker), std::string::npos) << "control: environ was read";
  searched(cmdline, "/proc/PID/cmdline");
  searched(environ, "/proc/PID/environ");

  clean_cli({"revoke", "demo", "--yes"});
  ASSERT_EQ(daemon_->stop(SIGTERM), 0);
  daemon_->start();
  clean_cli({"list", "--json"});
  clean_cli({"revoke", "main", "--yes"});
  ASSERT_EQ(daemon_->stop(SIGTERM), 0);

  const std::string log = daemon_->log();
  EXPECT_NE(log.find("key 'main' revoked"), std::string::npos) << "control: the daemon log was read:\n" << log;
  searched(log, "the daemon log");
  bool store_seen = false, audit_seen = false;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_.path())) {
    if (!entry.is_regular_file()) continue;
    const std::string bytes = test::read_file(entry.path());
    if (entry.path() == daemon_->store_file()) store_seen = true;
    if (entry.path().filename() == "audit.log") {
      audit_seen = bytes.find("\"action\":\"ws-login\"") != std::string::npos;  // control: it was read
    }
    searched(bytes, entry.path().string());
  }
  EXPECT_TRUE(store_seen);
  EXPECT_TRUE(audit_seen) << "the audit log records the ws-login";
  std::cout << places_ << " places searched for the secret and the passphrase in 6 forms each\n";
}

// One mapping of the daemon's memory, from /proc/PID/smaps.
struct Region {
  std::uintptr_t begin = 0, end = 0;
  bool readable = false;
  bool locked = false;  // mlock'd: sodium_malloc's pages, where SecretBytes live
  std::string name;
};

std::vector<Region> regions_of(pid_t pid) {
  std::vector<Region> regions;
  std::istringstream smaps(test::read_file("/proc/" + std::to_string(pid) + "/smaps"));
  for (std::string line; std::getline(smaps, line);) {
    std::istringstream fields(line);
    std::string range, perms, offset, device, inode, name;
    fields >> range;
    if (range == "VmFlags:") {
      if (!regions.empty()) regions.back().locked = (" " + line + " ").find(" lo ") != std::string::npos;
      continue;
    }
    if (range.empty() || range.back() == ':') continue;  // another field of the mapping
    fields >> perms >> offset >> device >> inode;
    std::getline(fields >> std::ws, name);
    const std::size_t dash = range.find('-');
    regions.push_back({std::stoull(range.substr(0, dash), nullptr, 16),
                       std::stoull(range.substr(dash + 1), nullptr, 16), perms.starts_with("r"), false, name});
  }
  return regions;
}

// How many copies of `needle` the daemon's readable memory holds, in guarded
// (mlock'd) pages and in all other pages, with where the others are.
struct Copies {
  int guarded = 0;
  int ordinary = 0;
  std::string where;
};

Copies copies_in_memory(pid_t pid, std::string_view needle) {
  Copies copies;
  const int mem = ::open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_GE(mem, 0) << "cannot read the daemon's memory: " << std::strerror(errno);
  if (mem < 0) return copies;
  std::vector<char> chunk(1 << 20);
  for (const Region& region : regions_of(pid)) {
    if (!region.readable || region.name == "[vvar]" || region.name == "[vsyscall]") continue;
    // Chunks overlap by the needle's length, so a copy across two is found once.
    for (std::uintptr_t at = region.begin; at < region.end;) {
      const std::size_t want = std::min<std::uintptr_t>(chunk.size(), region.end - at);
      const ssize_t got = ::pread(mem, chunk.data(), want, static_cast<off_t>(at));
      if (got <= 0) break;
      for (const char *hit = chunk.data(), *last = chunk.data() + got;
           (hit = static_cast<const char*>(
                ::memmem(hit, static_cast<std::size_t>(last - hit), needle.data(), needle.size()))) != nullptr;
           ++hit) {
        if (region.locked) {
          ++copies.guarded;
        } else {
          ++copies.ordinary;
          char address[32];
          std::snprintf(address, sizeof address, "%#lx", static_cast<unsigned long>(at + (hit - chunk.data())));
          copies.where += std::string(" ") + address + " (" + (region.name.empty() ? "anonymous" : region.name) + ")";
        }
      }
      if (static_cast<std::size_t>(got) < want || at + want >= region.end) break;
      at += want - needle.size() + 1;
    }
  }
  ::close(mem);
  return copies;
}

// Sends raw bytes as one connection and reads the reply until the daemon closes.
std::string exchange_raw(const std::filesystem::path& socket, const std::string& bytes, bool half_close) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket.c_str(), sizeof address.sun_path - 1);
  std::string reply;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
    (void)!::write(fd, bytes.data(), bytes.size());
    if (half_close) ::shutdown(fd, SHUT_WR);
    char buffer[4096];
    for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) reply.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return reply;
}

// What the daemon was sent and what it does with it, read from its own memory:
// the secret and passphrase of an add and an update and the vault passphrase
// of an unlock and a passphrase change, whole and broken requests alike, are
// in no page but guarded ones; those an update replaced, and after a revoke
// and a lock all of them, in none at all.
TEST_F(LeakTest, NoCopyOfASecretInTheDaemonsMemoryButInGuardedPages) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to read the memory of a non-dumpable process";
#if defined(__SANITIZE_ADDRESS__)
  // Terabytes of shadow memory to read, and guarded pages the scan cannot tell
  // apart there: the normal build runs this test.
  GTEST_SKIP() << "scans the daemon's memory: not under AddressSanitizer";
#endif
  if (test::kThreadSanitizer)
    GTEST_SKIP() << "scans the daemon's memory: not under ThreadSanitizer, whose shadow is as large";
  constexpr std::string_view kVaultPassphrase = "LEAKCHECK-VAULT-Jh4-Pn7-Dc1",
                             kNewVaultPassphrase = "LEAKCHECK-VAULT-Ub5-Ge9";
  daemon_ = std::make_unique<Daemon>(dir_.path());
  const std::string s(kSecret), p(kPassphrase), k(kApiKey), v(kVaultPassphrase), n(kNewVaultPassphrase);
  const auto expect_only_guarded = [&](const std::vector<std::string_view>& secrets, const std::string& after) {
    for (const std::string_view secret : secrets) {
      const Copies copies = copies_in_memory(daemon_->pid(), secret);
      EXPECT_EQ(copies.ordinary, 0) << secret << " is in ordinary memory after " << after << ", at" << copies.where;
    }
  };
  constexpr std::string_view kReplacedSecret = "LEAKCHECK-REPLACED-Vb2Nq8Xe5", kReplacedPassphrase = "LEAKCHECK-RP-Zt4";
  clean_cli({"add", "main", "--api-key", k},
            std::string(kReplacedSecret) + "\n" + std::string(kReplacedPassphrase) + "\n");
  expect_only_guarded({kReplacedSecret, kReplacedPassphrase}, "an add");
  clean_cli({"update", "main", "--api-key", k}, s + "\n" + p + "\n");
  expect_only_guarded({kSecret, kPassphrase}, "an update");
  for (const std::string_view replaced : {kReplacedSecret, kReplacedPassphrase}) {
    const Copies copies = copies_in_memory(daemon_->pid(), replaced);
    EXPECT_EQ(copies.ordinary + copies.guarded, 0)
        << replaced << " is still in memory after an update replaced it:" << copies.where;
  }
  clean_cli({"passphrase", "set"}, v + "\n");
  expect_only_guarded({kVaultPassphrase}, "a passphrase set");
  clean_cli({"lock"});
  clean_cli({"unlock"}, v + "\n");
  clean_cli({"passphrase", "change"}, v + "\n" + n + "\n");
  clean_cli({"lock"});
  clean_cli({"unlock"}, n + "\n");
  const Output signed_ = cli({"sign", "main", "GET", "/api/v5/account/balance"});  // its reply carries the passphrase
  ASSERT_EQ(signed_.exit_code, 0) << signed_.err;
  // Requests the daemon refuses, whole, cut short, and in chunks.
  raw("POST", "/v1/keys",
      R"({"name":"main","api_key":")" + k + R"(","secret":")" + s + R"(","passphrase":")" + p + "\"}");
  raw("POST", "/v1/keys", R"({"name":"x","secret":)" + s);
  raw("PUT", "/v1/keys/main/credentials",
      R"({"api_key":")" + k + R"(","secret":")" + s + R"(","passphrase":")" + p + R"(","simulated":true})");
  raw("POST", "/v1/unlock", R"({"passphrase":")" + n + R"(","extra":1})");
  raw("PUT", "/v1/slots/passphrase", R"({"new_passphrase":")" + v + "\"}");
  const std::string body =
      R"({"name":"cut","api_key":")" + k + R"(","secret":")" + s + R"(","passphrase":")" + p + "\"}";
  exchange_raw(daemon_->socket(),
               "POST /v1/keys HTTP/1.1\r\nHost: v\r\nContent-Length: " + std::to_string(body.size() + 100) +
                   "\r\n\r\n" + body,
               true);
  std::string chunked = "POST /v1/keys HTTP/1.1\r\nHost: v\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  for (std::size_t at = 0; at < body.size(); at += 7) {
    const std::string piece = body.substr(at, 7);
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
    chunked += size + piece + "\r\n";
  }
  exchange_raw(daemon_->socket(), chunked + "0\r\n\r\n", false);
  raw("GET", "/v1/status");

  expect_only_guarded({kSecret, kPassphrase, kVaultPassphrase, kNewVaultPassphrase}, "all of it");
  EXPECT_GT(copies_in_memory(daemon_->pid(), kPassphrase).guarded, 0)
      << "control: the key's passphrase is in guarded memory while the vault is unlocked, and the scan sees it";

  clean_cli({"revoke", "main", "--yes"});
  clean_cli({"lock"});
  for (const std::string_view secret : {kSecret, kPassphrase, kVaultPassphrase, kNewVaultPassphrase}) {
    const Copies copies = copies_in_memory(daemon_->pid(), secret);
    EXPECT_EQ(copies.ordinary + copies.guarded, 0)
        << secret << " is still in memory after revoke and lock:" << copies.where;
  }
}

// The whole life of a key's secrets through the daemon's session, over one
// connection that stays open: an add, a passphrase set, a lock and an unlock,
// a sign and a WebSocket login (both replies carry the key's passphrase), and a
// secret and a passphrase sent to no endpoint that takes them. Then,
// with that connection still open and idle, and again after it closed, the
// daemon's memory holds the secret, the key's passphrase and the vault
// passphrase in guarded pages only: not in the connection's read buffer, its
// parser, a request or reply body, or any block freed on the way.
TEST_F(LeakTest, TheSessionLeavesNoCopyOfWhatPassedThroughIt) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to read the memory of a non-dumpable process";
  if (test::kAddressSanitizer) GTEST_SKIP() << "scans the daemon's memory: not under AddressSanitizer";
  if (test::kThreadSanitizer)
    GTEST_SKIP() << "scans the daemon's memory: not under ThreadSanitizer, whose shadow is as large";
  constexpr std::string_view kVaultPassphrase = "LEAKCHECK-SESSION-VAULT-Tz3-Qa8";
  daemon_ = std::make_unique<Daemon>(dir_.path());
  const std::string s(kSecret), p(kPassphrase), k(kApiKey), v(kVaultPassphrase);
  Client client(daemon_->socket().string());
  const auto call = [&](std::string_view method, std::string_view target, const std::string& body) {
    const Client::RawReply reply = client.request(method, target, body);
    EXPECT_LT(reply.status, 300) << method << " " << target << ": " << reply.body;
    return reply.body;
  };
  call("POST", "/v1/keys",
       R"({"name":"main","api_key":")" + k + R"(","secret":")" + s + R"(","passphrase":")" + p + "\"}");
  call("PUT", "/v1/slots/passphrase", R"({"new_passphrase":")" + v + "\"}");
  call("POST", "/v1/lock", "");
  call("POST", "/v1/unlock", R"({"passphrase":")" + v + "\"}");
  const std::string signed_ =
      call("POST", "/v1/keys/main/sign", R"({"method":"GET","path":"/api/v5/account/balance"})");
  EXPECT_NE(signed_.find(kPassphrase), std::string::npos) << "control: the sign reply carries the passphrase";
  const std::string login = call("POST", "/v1/keys/main/ws-login", "");
  EXPECT_NE(login.find(kPassphrase), std::string::npos) << "control: the login frame carries the passphrase";
  // Secrets sent where none is expected, by a wrong method or to no endpoint, pass
  // through the same buffers and are refused before any handler reads them.
  EXPECT_EQ(client.request("PUT", "/v1/keys", R"({"name":"main","secret":")" + s + "\"}").status, 405);
  EXPECT_EQ(client.request("POST", "/v1/unlock/", R"({"passphrase":")" + v + "\"}").status, 404);

  const auto expect_only_guarded = [&](const std::string& when) {
    for (const std::string_view secret : {kSecret, kPassphrase, kVaultPassphrase}) {
      const Copies copies = copies_in_memory(daemon_->pid(), secret);
      std::cout << when << ": " << secret << ": " << copies.guarded << " guarded, " << copies.ordinary
                << " ordinary copies" << copies.where << "\n";
      EXPECT_EQ(copies.ordinary, 0) << secret << " is in ordinary memory " << when << ", at" << copies.where;
    }
    EXPECT_GT(copies_in_memory(daemon_->pid(), kPassphrase).guarded, 0)
        << "control: the key's passphrase is in guarded memory, and the scan sees it";
  };
  expect_only_guarded("with the connection open");
  client = Client(daemon_->socket().string());  // closes the connection
  Client admin(daemon_->socket().string());
  for (int i = 0; i < 1000; ++i) {  // until the daemon has ended the session: only this one is left
    if (admin.request("GET", "/v1/metrics").body.find("\nokxvault_open_connections 1\n") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  expect_only_guarded("after the connection closed");
}

// A backup and a restore: the key's secret and passphrase, which the daemon
// opens from its store and seals into the backup, then opens from the backup
// and adds under another name, and the backup passphrase of both, are in
// guarded pages only; so are those of a key sealed to the vault and imported.
// In none once the keys are revoked and the vault locked.
TEST_F(LeakTest, ABackupARestoreAndAnImportLeaveNoCopyOutsideGuardedPages) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to read the memory of a non-dumpable process";
  if (test::kAddressSanitizer) GTEST_SKIP() << "scans the daemon's memory: not under AddressSanitizer";
  if (test::kThreadSanitizer)
    GTEST_SKIP() << "scans the daemon's memory: not under ThreadSanitizer, whose shadow is as large";
  constexpr std::string_view kBackupPassphrase = "LEAKCHECK-BACKUP-Rf6-Kw3-Tm8";
  const std::vector<std::string_view> secrets = {kSecret, kPassphrase, kBackupPassphrase};
  daemon_ = std::make_unique<Daemon>(dir_.path(), std::vector<std::string>{"--passphrase-cost", "test"});
  const auto expect_only_guarded = [&](const std::string& after) {
    for (const std::string_view secret : secrets) {
      const Copies copies = copies_in_memory(daemon_->pid(), secret);
      EXPECT_EQ(copies.ordinary, 0) << secret << " is in ordinary memory after " << after << ", at" << copies.where;
    }
  };
  clean_cli({"add", "main", "--api-key", std::string(kApiKey)},
            std::string(kSecret) + "\n" + std::string(kPassphrase) + "\n");
  const std::string file = (dir_ / "vault.backup").string();
  const std::string passphrase = std::string(kBackupPassphrase) + "\n";
  clean_cli({"backup", file}, passphrase);
  searched(test::read_file(file), "the backup file");
  expect_only_guarded("a backup");
  clean_cli({"restore", file, "--rename", "main=copy"}, passphrase);
  EXPECT_EQ(cli({"restore", file}, "LEAKCHECK-WRONG-Bp1\n").exit_code, 4);
  const std::string host_key = clean_cli({"host-key"}).out;
  const Output sealed =
      clean_cli({"seal", "--to", host_key.substr(0, host_key.find('\n')), "sealed", "--api-key", std::string(kApiKey)},
                std::string(kSecret) + "\n" + std::string(kPassphrase) + "\n");
  test::write_file(dir_ / "key.sealed", sealed.out);
  clean_cli({"import", (dir_ / "key.sealed").string()});
  expect_only_guarded("a backup, a restore and an import");
  EXPECT_GT(copies_in_memory(daemon_->pid(), kPassphrase).guarded, 0)
      << "control: the keys' passphrase is in guarded memory while the vault is unlocked, and the scan sees it";

  clean_cli({"revoke", "main", "--yes"});
  clean_cli({"revoke", "copy", "--yes"});
  clean_cli({"revoke", "sealed", "--yes"});
  clean_cli({"lock"});
  for (const std::string_view secret : secrets) {
    const Copies copies = copies_in_memory(daemon_->pid(), secret);
    EXPECT_EQ(copies.ordinary + copies.guarded, 0)
        << secret << " is still in memory after revoke and lock:" << copies.where;
  }
}

// The kernel makes /proc/PID/status of a non-dumpable process owned by root, so
// a daemon running as nobody shows whether it turned core dumps and ptrace off.
TEST_F(LeakTest, TheDaemonIsNotDumpable) {
  ASSERT_EQ(::chown(dir_.path().c_str(), 65534, 65534), 0);
  const std::vector<std::string> as_nobody = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
  const auto owner = [](pid_t pid) {
    struct stat st {};
    return ::stat(("/proc/" + std::to_string(pid) + "/status").c_str(), &st) == 0 ? st.st_uid : uid_t(-1);
  };

  // The control: an ordinary process as nobody owns its /proc entries.
  std::vector<std::string> sleeper = as_nobody;
  sleeper.insert(sleeper.end(), {"/bin/sleep", "30"});
  test::Process control(sleeper, dir_ / "sleep.log");
  uid_t control_owner = uid_t(-1);
  for (int i = 0; i < 200 && control_owner != 65534; ++i) {  // until setpriv has switched users
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    control_owner = owner(control.pid());
  }
  EXPECT_EQ(control_owner, 65534u);

  const std::string state = (dir_ / "state").string(), socket = (dir_ / "d.sock").string();
  std::vector<std::string> init = as_nobody;
  init.insert(init.end(), {test::daemon_binary(), "--init", "--state-dir", state});
  const Output initialized = test::run(init);
  ASSERT_EQ(initialized.exit_code, 0) << initialized.err;
  std::vector<std::string> serve = as_nobody;
  serve.insert(serve.end(), {test::daemon_binary(), "--state-dir", state, "--socket", socket});
  test::Process daemon(serve, dir_ / "daemon.log");
  for (int i = 0; i < 2000 && !test::can_connect(socket); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(test::can_connect(socket)) << test::read_file(dir_ / "daemon.log");
  // An answer means its loop runs, so its SIGTERM handler is in place too.
  EXPECT_EQ(Client(socket).status().keys, 0u);
  const std::string status = test::read_file("/proc/" + std::to_string(daemon.pid()) + "/status");
  EXPECT_NE(status.find("Uid:\t65534"), std::string::npos) << "the daemon runs as nobody:\n" << status;
  EXPECT_EQ(owner(daemon.pid()), 0u) << "/proc/PID of the daemon is not root's: it is dumpable";
  const std::string limits = test::read_file("/proc/" + std::to_string(daemon.pid()) + "/limits");
  EXPECT_NE(limits.find("Max core file size        0                    0"), std::string::npos) << limits;
  EXPECT_EQ(daemon.stop(SIGTERM), 0);
}

}  // namespace
}  // namespace okxvault
