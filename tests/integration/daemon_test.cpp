// okx-vaultd end to end: the real binary on a real Unix socket in a temp dir,
// driven by the real client library, with what is on disk checked directly.

#include <poll.h>
#include <sched.h>
#include <sodium.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <thread>

#include "client/client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/reference_sign.hpp"

namespace okxvault {
namespace {
namespace json = boost::json;
using test::Daemon;
using test::TempDir;

constexpr std::string_view kApiKey = "8f2e0a4c-5b1d-4e7f-9a3c-2d6b8e1f0a57";
constexpr std::string_view kSecret = "9D3F6A1C7E2B48D5A0F1C3E5B7D9A2C4";
constexpr std::string_view kPassphrase = "Correct-Horse#Battery9";

proto::AddKeyRequest add_request(std::string name, bool simulated = false) {
  return {std::move(name), std::string(kApiKey), SecretBytes::copy_of(kSecret), SecretBytes::copy_of(kPassphrase),
          simulated};
}

// The signature a second implementation computes, not the daemon's signer.
std::string expected_sign(std::string_view prehash) { return test::okx_signature(kSecret, prehash); }

std::map<std::string, std::string> as_map(const proto::Headers& headers) { return {headers.begin(), headers.end()}; }

std::string now_iso(std::chrono::milliseconds offset = {}) {
  using namespace std::chrono;
  const auto t = floor<milliseconds>(system_clock::now() + offset);
  const auto day = floor<days>(t);
  const year_month_day date{day};
  const hh_mm_ss time{t - day};
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                static_cast<int>(time.seconds().count()), static_cast<int>(time.subseconds().count()));
  return text;
}

std::string error_code_of(const Client::RawReply& reply) {
  return std::string(json::parse(reply.body).at("error").at("code").as_string());
}

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    daemon_ = std::make_unique<Daemon>(dir_.path());
  }

  Client client() { return Client(daemon_->socket().string()); }

  // Every response body seen, to check afterwards that no secret leaked into one.
  Client::RawReply raw(std::string_view method, std::string_view target, std::string_view body = {}) {
    auto reply = client().request(method, target, body);
    bodies_ += reply.body + "\n";
    return reply;
  }

  void expect_no_secret(const std::string& text, const std::string& what) {
    EXPECT_EQ(text.find(kSecret), std::string::npos) << "secret found in " << what;
    EXPECT_EQ(text.find(kPassphrase), std::string::npos) << "passphrase found in " << what;
  }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
  std::string bodies_;
};

TEST_F(DaemonTest, SignsGetWithQueryExactlyAsOkxExpects) {
  Client c = client();
  c.add(add_request("main"));
  const std::string ts = now_iso();
  const std::string path = "/api/v5/account/balance?ccy=BTC%2CETH";
  const proto::SignReply reply = c.sign("main", {"GET", path, "", ts});
  EXPECT_EQ(reply.timestamp, ts);
  const std::map<std::string, std::string> expected{{"OK-ACCESS-KEY", std::string(kApiKey)},
                                                    {"OK-ACCESS-SIGN", expected_sign(ts + "GET" + path)},
                                                    {"OK-ACCESS-TIMESTAMP", ts},
                                                    {"OK-ACCESS-PASSPHRASE", std::string(kPassphrase)}};
  EXPECT_EQ(as_map(reply.headers), expected);
}

TEST_F(DaemonTest, SignsPostBodyByteForByteIncludingUnicode) {
  Client c = client();
  c.add(add_request("main"));
  const std::string body = R"({"instId":"BTC-USDT","label":"ünïcødé-机器人-😀","px":"1.50"})";
  const std::string escaped = R"({"label":"\u00fcn\u673a"})";
  for (const std::string& b : {body, escaped}) {
    const proto::SignReply reply = c.sign("main", {"POST", "/api/v5/trade/order", b, std::nullopt});
    EXPECT_EQ(as_map(reply.headers).at("OK-ACCESS-SIGN"),
              expected_sign(reply.timestamp + "POST" + "/api/v5/trade/order" + b));
  }
}

TEST_F(DaemonTest, MintsAFreshTimestampWhenNoneIsGiven) {
  Client c = client();
  c.add(add_request("main"));
  const proto::SignReply reply = c.sign("main", {"GET", "/api/v5/account/balance", "", std::nullopt});
  // Same shape as now_iso() and within a few seconds of this test's clock.
  ASSERT_EQ(reply.timestamp.size(), 24u);
  EXPECT_EQ(reply.timestamp.back(), 'Z');
  const std::string before = now_iso(std::chrono::seconds(-5)), after = now_iso(std::chrono::seconds(5));
  EXPECT_LT(before, reply.timestamp);
  EXPECT_LT(reply.timestamp, after);
  EXPECT_EQ(as_map(reply.headers).at("OK-ACCESS-TIMESTAMP"), reply.timestamp);
}

TEST_F(DaemonTest, DemoKeyAddsSimulatedTradingHeader) {
  Client c = client();
  c.add(add_request("live"));
  c.add(add_request("demo", true));
  const proto::SignRequest request{"GET", "/api/v5/account/balance", "", std::nullopt};
  EXPECT_EQ(as_map(c.sign("demo", request).headers).at("x-simulated-trading"), "1");
  EXPECT_EQ(as_map(c.sign("live", request).headers).count("x-simulated-trading"), 0u);
}

TEST_F(DaemonTest, WsLoginReturnsTheReadyFrame) {
  Client c = client();
  c.add(add_request("main"));
  const std::string ts = std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  const json::value frame = json::parse(c.ws_login("main", ts));
  EXPECT_EQ(frame.at("op").as_string(), "login");
  const json::object& arg = frame.at("args").as_array().at(0).as_object();
  EXPECT_EQ(arg.at("apiKey").as_string(), kApiKey);
  EXPECT_EQ(arg.at("passphrase").as_string(), kPassphrase);
  EXPECT_EQ(arg.at("timestamp").as_string(), ts);
  EXPECT_EQ(arg.at("sign").as_string(), expected_sign(ts + "GET/users/self/verify"));
  EXPECT_EQ(arg.size(), 4u);
}

TEST_F(DaemonTest, ListShowsMetadataButNeverSecrets) {
  Client c = client();
  c.add(add_request("main"));
  c.add(add_request("demo", true));
  c.sign("main", {"GET", "/api/v5/account/balance", "", std::nullopt});
  const auto keys = c.list();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].name, "demo");
  EXPECT_TRUE(keys[0].simulated);
  EXPECT_EQ(keys[0].sign_count, 0u);
  EXPECT_FALSE(keys[0].last_used.has_value());
  EXPECT_EQ(keys[1].name, "main");
  EXPECT_EQ(keys[1].sign_count, 1u);
  EXPECT_TRUE(keys[1].last_used.has_value());
  EXPECT_EQ(keys[1].api_key, "8f2e…0a57");
  const auto listing = raw("GET", "/v1/keys");
  EXPECT_EQ(listing.status, 200);
  EXPECT_EQ(listing.body.find(kApiKey), std::string::npos) << "api key should be masked";
  expect_no_secret(listing.body, "key list");
}

TEST_F(DaemonTest, RevokedKeyIsGoneFromMemoryAndDisk) {
  Client c = client();
  c.add(add_request("main"));
  c.add(add_request("other"));
  c.revoke("main");
  try {
    c.sign("main", {"GET", "/api/v5/account/balance", "", std::nullopt});
    FAIL() << "signing with a revoked key succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::key_not_found);
  }
  EXPECT_EQ(raw("DELETE", "/v1/keys/main").status, 404);
  ASSERT_EQ(daemon_->stop(), 0);
  daemon_->start();
  const auto keys = client().list();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].name, "other");
}

TEST_F(DaemonTest, KeysSurviveARestart) {
  client().add(add_request("main"));
  client().add(add_request("demo", true));
  ASSERT_EQ(daemon_->stop(), 0);
  daemon_->start();
  Client c = client();
  EXPECT_EQ(c.status().keys, 2u);
  const proto::SignReply reply = c.sign("demo", {"GET", "/api/v5/account/balance", "", std::nullopt});
  EXPECT_EQ(as_map(reply.headers).at("OK-ACCESS-SIGN"), expected_sign(reply.timestamp + "GET/api/v5/account/balance"));
  EXPECT_EQ(as_map(reply.headers).at("x-simulated-trading"), "1");
}

// Every time the protocol accepts, the store accepts when it reads it back: an
// expiry in the last accepted year (2200) must not make the vault refuse to open.
TEST_F(DaemonTest, ExpiriesUpToTheLastAcceptedTimeSurviveARestart) {
  constexpr std::string_view kLast = "2200-12-31T23:59:59.999Z";
  proto::AddKeyRequest request = add_request("main");
  request.expires = std::string(kLast);
  ASSERT_EQ(client().add(request).expires.value_or(""), kLast);
  const auto granted =
      raw("PUT", "/v1/keys/main/grants", R"({"grants":[{"user":"0","expires":")" + std::string(kLast) + R"("}]})");
  ASSERT_EQ(granted.status, 200) << granted.body;

  proto::AddKeyRequest late = add_request("late");
  late.expires = "2201-01-01T00:00:00.000Z";
  const auto refused = raw("POST", "/v1/keys", proto::encode(late).reveal());
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_EQ(error_code_of(refused), "bad_request");

  ASSERT_EQ(daemon_->stop(), 0);
  daemon_->start();
  Client c = client();
  const auto keys = c.list();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].expires.value_or(""), kLast);
  const auto grants = c.grants("main");
  ASSERT_EQ(grants.size(), 1u);
  EXPECT_EQ(grants[0].expires.value_or(""), kLast);
  const proto::SignReply reply = c.sign("main", {"GET", "/api/v5/account/balance", "", std::nullopt});
  EXPECT_EQ(as_map(reply.headers).at("OK-ACCESS-SIGN"), expected_sign(reply.timestamp + "GET/api/v5/account/balance"));
}

TEST_F(DaemonTest, WrongKeyFileIsAClearErrorAndLeavesTheStoreAlone) {
  client().add(add_request("main"));
  ASSERT_EQ(daemon_->stop(), 0);
  const std::string store_before = test::read_file(daemon_->store_file());
  std::string other_key(32, 'k');
  test::write_file(daemon_->key_file(), other_key);
  std::vector<std::string> argv = {test::daemon_binary()};
  for (const auto& a : daemon_->args()) argv.push_back(a);
  const test::Output out = test::run(argv);
  EXPECT_NE(out.exit_code, 0);
  EXPECT_NE(out.err.find(daemon_->store_file().string()), std::string::npos) << out.err;
  EXPECT_NE(out.err.find("master key does not open"), std::string::npos) << out.err;
  EXPECT_EQ(test::read_file(daemon_->store_file()), store_before);
}

TEST_F(DaemonTest, MissingKeyFileNeverCreatesANewVault) {
  client().add(add_request("main"));
  ASSERT_EQ(daemon_->stop(), 0);
  const std::string store_before = test::read_file(daemon_->store_file());
  std::filesystem::remove(daemon_->key_file());
  std::vector<std::string> argv = {test::daemon_binary()};
  for (const auto& a : daemon_->args()) argv.push_back(a);
  const test::Output out = test::run(argv);
  EXPECT_NE(out.exit_code, 0);
  EXPECT_NE(out.err.find(daemon_->key_file().string()), std::string::npos) << out.err;
  EXPECT_FALSE(std::filesystem::exists(daemon_->key_file()));
  EXPECT_EQ(test::read_file(daemon_->store_file()), store_before);
}

TEST_F(DaemonTest, InitNeverOverwritesAnExistingVault) {
  client().add(add_request("main"));
  std::vector<std::string> argv = {test::daemon_binary(), "--init"};
  for (const auto& a : daemon_->args()) argv.push_back(a);
  daemon_->stop();
  const std::string store_before = test::read_file(daemon_->store_file());
  const test::Output out = test::run(argv);
  EXPECT_NE(out.exit_code, 0);
  EXPECT_NE(out.err.find("already exists"), std::string::npos) << out.err;
  EXPECT_EQ(test::read_file(daemon_->store_file()), store_before);
}

TEST_F(DaemonTest, FilesOnDiskArePrivateAndHoldNoPlaintext) {
  client().add(add_request("main"));
  struct stat st {};
  ASSERT_EQ(::stat(daemon_->store_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(daemon_->key_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(daemon_->socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_.path())) {
    if (entry.is_regular_file()) expect_no_secret(test::read_file(entry.path()), entry.path().string());
  }
}

TEST_F(DaemonTest, BadRequestsGetClearErrorsAndChangeNothing) {
  client().add(add_request("main"));
  const auto expect_error = [&](const Client::RawReply& reply, int status, const std::string& code) {
    EXPECT_EQ(reply.status, status) << reply.body;
    EXPECT_EQ(error_code_of(reply), code) << reply.body;
    EXPECT_FALSE(json::parse(reply.body).at("error").at("message").as_string().empty());
  };
  expect_error(raw("POST", "/v1/keys/main/sign", "{not json"), 400, "invalid_json");
  expect_error(raw("POST", "/v1/keys/main/sign", R"({"method":"GET"})"), 400, "bad_request");
  expect_error(raw("POST", "/v1/keys/main/sign", R"({"method":"GET","path":"/api/v5/x","bodyy":""})"), 400,
               "bad_request");
  expect_error(raw("POST", "/v1/keys/main/sign", R"({"method":"DELETE","path":"/api/v5/x"})"), 400, "bad_request");
  expect_error(raw("POST", "/v1/keys/main/sign", R"({"method":"GET","path":"/etc/passwd"})"), 400, "bad_request");
  expect_error(raw("POST", "/v1/keys/nope/sign", R"({"method":"GET","path":"/api/v5/x"})"), 404, "key_not_found");
  expect_error(raw("GET", "/v1/nothing"), 404, "not_found");
  expect_error(raw("GET", "/v1/keys/main/sign"), 405, "method_not_allowed");
  expect_error(raw("PUT", "/v1/status"), 405, "method_not_allowed");
  expect_error(raw("POST", "/v1/keys/main/sign", std::string(70 * 1024, ' ')), 413, "payload_too_large");

  const std::string stale = now_iso(std::chrono::seconds(-60));
  const std::string future = now_iso(std::chrono::seconds(60));
  for (const std::string& ts : {stale, future}) {
    expect_error(raw("POST", "/v1/keys/main/sign",
                     R"({"method":"GET","path":"/api/v5/account/balance","timestamp":")" + ts + "\"}"),
                 400, "timestamp_skew");
  }
  expect_error(raw("POST", "/v1/keys/main/sign",
                   R"({"method":"GET","path":"/api/v5/account/balance","timestamp":"yesterday"})"),
               400, "bad_request");

  const SecretBytes again = proto::encode(add_request("main"));
  expect_error(raw("POST", "/v1/keys", again.reveal()), 409, "key_exists");
  const SecretBytes bad_name = proto::encode(add_request("Bad Name"));
  expect_error(raw("POST", "/v1/keys", bad_name.reveal()), 400, "invalid_name");

  // None of that changed the vault.
  Client c = client();
  ASSERT_EQ(c.list().size(), 1u);
  const auto reply = c.sign("main", {"GET", "/api/v5/account/balance", "", std::nullopt});
  EXPECT_EQ(as_map(reply.headers).at("OK-ACCESS-SIGN"), expected_sign(reply.timestamp + "GET/api/v5/account/balance"));
  expect_no_secret(bodies_, "error responses");
}

TEST_F(DaemonTest, OversizeHeadersAreRefused) {
  // curl, since the client library never sends such a request.
  const test::Output out =
      test::run({"/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket",
                 daemon_->socket().string(), "-H", "X-Big: " + std::string(9000, 'a'), "http://okx-vault/v1/status"});
  EXPECT_EQ(out.out, "431");
}

TEST_F(DaemonTest, ASecondDaemonOnTheSameSocketRefusesToStart) {
  TempDir other;
  std::vector<std::string> init = {test::daemon_binary(), "--init", "--state-dir", (other / "state").string()};
  ASSERT_EQ(test::run(init).exit_code, 0);
  const test::Output out = test::run(
      {test::daemon_binary(), "--state-dir", (other / "state").string(), "--socket", daemon_->socket().string()});
  EXPECT_NE(out.exit_code, 0);
  EXPECT_NE(out.err.find("already listening"), std::string::npos) << out.err;
  EXPECT_EQ(client().status().version.empty(), false) << "the first daemon must keep serving";
}

// Whoever may write to the state directory may swap the store, the audit log or
// the key file under the daemon: it refuses to start there, naming the fix.
TEST_F(DaemonTest, AStateDirectoryOthersMayWriteToIsRefusedAtStart) {
  ASSERT_EQ(daemon_->stop(), 0);
  const std::string state = daemon_->state_dir().string();
  std::vector<std::string> serve = {test::daemon_binary()}, init = {test::daemon_binary(), "--init"};
  for (const std::string& arg : daemon_->args()) {
    serve.push_back(arg);
    init.push_back(arg);
  }
  // The daemon's exit code and what it wrote, or "serving" if it did not exit but listened.
  const auto start = [&]() -> std::pair<int, std::string> {
    const std::filesystem::path log = dir_ / "refused.log";
    std::filesystem::remove(log);
    test::Process process(serve, log);
    for (;;) {
      if (const auto code = process.exited()) return {*code, test::read_file(log)};
      if (test::can_connect(daemon_->socket())) {
        process.stop();
        return {-1, "serving"};
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };
  for (const mode_t mode : {mode_t{0777}, mode_t{0770}, mode_t{0720}, mode_t{0702}, mode_t{01777}}) {
    SCOPED_TRACE(mode);
    ASSERT_EQ(::chmod(state.c_str(), mode), 0);
    const auto [code, err] = start();
    EXPECT_EQ(code, 1) << err;
    EXPECT_NE(err.find(state + ": group or others may write to this directory"), std::string::npos) << err;
    EXPECT_NE(err.find("chmod 700"), std::string::npos) << err;
    const test::Output again = test::run(init);
    EXPECT_NE(again.err.find("chmod 700"), std::string::npos) << "--init is refused there too: " << again.err;
  }
  // Owned by another user, it is as unsafe: that user may change its mode at will.
  ASSERT_EQ(::chmod(state.c_str(), 0700), 0);
  ASSERT_EQ(::chown(state.c_str(), 65534, 65534), 0);
  const auto [code, err] = start();
  EXPECT_EQ(code, 1) << err;
  EXPECT_NE(err.find("belongs to uid 65534"), std::string::npos) << err;
  ASSERT_EQ(::chown(state.c_str(), 0, 0), 0);
  for (const mode_t mode :
       {mode_t{0700}, mode_t{0750}, mode_t{0755}}) {  // what --init and systemd create, and readable ones
    ASSERT_EQ(::chmod(state.c_str(), mode), 0);
    daemon_->start();
    EXPECT_EQ(client().status().keys, 0u);
    ASSERT_EQ(daemon_->stop(), 0);
  }
}

// A numeric id names that uid or gid, and only if it is one: "4294967296" would
// wrap around to 0, root, and -1 means "no one" to the kernel.
TEST_F(DaemonTest, GrantIdsOutOfRangeAreRefusedNotWrapped) {
  client().add(add_request("main"));
  for (const char* kind : {"user", "group"}) {
    for (const char* id : {"4294967296", "4294967297", "4294967295", "18446744073709551616", "99999999999999999999999",
                           "-1", "-4294967296"}) {
      SCOPED_TRACE(std::string(kind) + " " + id);
      const auto reply =
          raw("PUT", "/v1/keys/main/grants", std::string(R"({"grants":[{")") + kind + R"(":")" + id + R"("}]})");
      EXPECT_EQ(reply.status, 400) << reply.body;
      EXPECT_EQ(error_code_of(reply), "bad_request");
    }
  }
  EXPECT_TRUE(client().grants("main").empty()) << "no grant was stored";
  const auto largest = raw("PUT", "/v1/keys/main/grants", R"({"grants":[{"user":"4294967294"},{"group":"0"}]})");
  ASSERT_EQ(largest.status, 200) << largest.body;
  const auto grants = client().grants("main");
  ASSERT_EQ(grants.size(), 2u);
  EXPECT_EQ(grants[0].id.value_or(0), 4294967294u);
  EXPECT_EQ(grants[1].id.value_or(1), 0u);
}

TEST_F(DaemonTest, AStaleSocketFileIsReplaced) {
  ASSERT_EQ(daemon_->stop(SIGKILL), 128 + SIGKILL);
  ASSERT_TRUE(std::filesystem::exists(daemon_->socket())) << "a killed daemon leaves its socket behind";
  daemon_->start();
  EXPECT_EQ(client().status().keys, 0u);
}

// Started under taskset or CPUAffinity= with one CPU and no --threads, the
// daemon runs one I/O thread, not one per CPU of the machine. A child inherits
// the CPU mask of the thread that starts it.
TEST(DaemonThreads, OnePerCpuTheDaemonMayRunOn) {
  cpu_set_t all;
  ASSERT_EQ(::sched_getaffinity(0, sizeof all, &all), 0);
  if (CPU_COUNT(&all) < 2) GTEST_SKIP() << "needs at least 2 CPUs";
  int first = 0;
  while (!CPU_ISSET(first, &all)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  TempDir dir;
  const std::string state = (dir / "state").string();
  ASSERT_EQ(test::run({test::daemon_binary(), "--init", "--state-dir", state}).exit_code, 0);
  ASSERT_EQ(::sched_setaffinity(0, sizeof one, &one), 0);
  test::Process daemon({test::daemon_binary(), "--state-dir", state, "--socket", (dir / "sock").string()},
                       dir / "daemon.log");
  ASSERT_EQ(::sched_setaffinity(0, sizeof all, &all), 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::string log;
  while ((log = test::read_file(dir / "daemon.log")).find("serving") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NE(log.find("serving 0 keys with 1 threads"), std::string::npos) << log;
  EXPECT_EQ(daemon.stop(SIGTERM), 0);
}

TEST_F(DaemonTest, SigtermStopsCleanlyAndRemovesTheSocket) {
  client().status();
  EXPECT_EQ(daemon_->stop(SIGTERM), 0);
  EXPECT_FALSE(std::filesystem::exists(daemon_->socket()));
  EXPECT_NE(daemon_->log().find("stopped"), std::string::npos);
}

// The moment the socket file exists, a client can connect; a SIGTERM then must
// find the daemon ready to stop cleanly, however early in its start it comes.
TEST_F(DaemonTest, SigtermAsSoonAsTheSocketAppearsStopsCleanly) {
  ASSERT_EQ(daemon_->stop(SIGTERM), 0);
  const int events = ::inotify_init1(IN_CLOEXEC);
  ASSERT_GE(events, 0);
  ASSERT_GE(::inotify_add_watch(events, daemon_->socket().parent_path().c_str(), IN_CREATE), 0);
  std::vector<std::string> argv = {test::daemon_binary()};
  for (const std::string& arg : daemon_->args()) argv.push_back(arg);
  for (int i = 0; i < 20; ++i) {
    SCOPED_TRACE("start " + std::to_string(i));
    test::Process daemon(argv, dir_ / "early-sigterm.log");
    // Waits for the socket's creation event, and sends SIGTERM right then.
    for (bool created = false; !created;) {
      pollfd ready{events, POLLIN, 0};
      ASSERT_EQ(::poll(&ready, 1, 60'000), 1) << "no socket: " << test::read_file(dir_ / "early-sigterm.log");
      alignas(inotify_event) char buffer[4096];
      const ssize_t n = ::read(events, buffer, sizeof buffer);
      ASSERT_GT(n, 0);
      for (ssize_t at = 0; at < n;) {
        const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
        created = created || (event->len > 0 && daemon_->socket().filename() == event->name);
        at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      }
    }
    EXPECT_EQ(daemon.stop(SIGTERM), 0) << test::read_file(dir_ / "early-sigterm.log");
    EXPECT_FALSE(std::filesystem::exists(daemon_->socket()));
  }
  ::close(events);
}

TEST_F(DaemonTest, KeepAliveServesManyRequestsOnOneConnection) {
  Client c = client();
  c.add(add_request("main"));
  for (int i = 0; i < 200; ++i) c.sign("main", {"GET", "/api/v5/account/balance", "", std::nullopt});
  EXPECT_EQ(c.list().at(0).sign_count, 200u);
}

TEST_F(DaemonTest, LogsNeverContainSecretsOrSignatures) {
  Client c = client();
  c.add(add_request("main"));
  const auto reply = c.sign("main", {"POST", "/api/v5/trade/order", "{}", std::nullopt});
  c.ws_login("main");
  raw("POST", "/v1/keys", "{\"name\":\"x\",\"secret\":\"" + std::string(kSecret) + "\"}");
  // Secrets sent by mistake as member names, after every field the request takes:
  // refused as unknown fields, which the reply and the logs do not name.
  for (const std::string_view secret : {kSecret, kPassphrase}) {
    const std::string body = R"({"name":"y","api_key":")" + std::string(kApiKey) +
                             R"(","secret":"S","passphrase":"P",")" + std::string(secret) + R"(":1})";
    EXPECT_EQ(raw("POST", "/v1/keys", body).status, 400);
  }
  c.revoke("main");
  daemon_->stop();
  const std::string log = daemon_->log();
  expect_no_secret(log, "daemon log");
  EXPECT_EQ(log.find(as_map(reply.headers).at("OK-ACCESS-SIGN")), std::string::npos) << "signature in log";
  EXPECT_NE(log.find("key 'main' added"), std::string::npos) << log;
  EXPECT_NE(log.find("key 'main' revoked"), std::string::npos) << log;
  expect_no_secret(bodies_, "responses");
}

}  // namespace
}  // namespace okxvault
