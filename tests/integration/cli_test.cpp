// okx-vault, the CLI, end to end: the real binary against a real okx-vaultd,
// and its signatures checked by an exchange double that knows the secret.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/exchange_double.hpp"
#include "tests/support/process.hpp"

namespace okxvault::test {
namespace {
namespace json = boost::json;
namespace fs = std::filesystem;

constexpr char kApiKey[] = "37c5e7d2-96a3-4d4f-9d4b-1f0a2b3c8418";
constexpr char kMaskedApiKey[] = "37c5…8418";
constexpr char kSecret[] = "SECRET-b91f0c7e44d2a8e6f3c1d5e7a9b0c2d4";
constexpr char kPassphrase[] = "PASSPHRASE-Xq7-zR2-wK9";
constexpr char kBalance[] = "/api/v5/account/balance?ccy=BTC";
constexpr char kOrder[] = "/api/v5/trade/order";
// Quotes, a dollar, a backslash, a space and a newline: a body a shell would mangle.
constexpr char kOrderBody[] = "{\"instId\":\"BTC-USDT\",\"tag\":\"it's $HOME \\\\ `x`\",\n \"sz\":\"1\"}";

constexpr int kExitFailure = 1, kExitUsage = 2, kExitUnreachable = 3, kExitForbidden = 4, kExitNotFound = 5,
              kExitInvalidInput = 6, kExitLocked = 7, kExitUntrusted = 8;

std::string credentials_input() { return std::string(kSecret) + "\n" + kPassphrase + "\n"; }

// "Name: value" lines into header pairs.
HeaderList parse_header_lines(const std::string& text) {
  HeaderList headers;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    const std::string line = text.substr(start, end - start);
    const std::size_t colon = line.find(": ");
    if (colon != std::string::npos) headers.emplace_back(line.substr(0, colon), line.substr(colon + 2));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return headers;
}

std::string header(const HeaderList& headers, const std::string& name) {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return {};
}

bool one_line(const std::string& text) { return !text.empty() && text.find('\n') == text.size() - 1; }

// A run whose stdin is handed on, after the program exits, to cat: `unread` is
// what the program left of `input`. okx-vault reads a secret line byte by byte,
// so a program that read nothing leaves all of it.
struct Unread {
  Output output;
  std::string unread;
};

Unread run_then_cat(const std::vector<std::string>& argv, const std::string& input) {
  constexpr char kMark[] = "\n--exit-code ";
  std::vector<std::string> shell = {"/bin/sh", "-c", "\"$@\"; printf '\\n--exit-code %d\\n' $?; exec cat", "sh"};
  shell.insert(shell.end(), argv.begin(), argv.end());
  Unread result{run(shell, input), {}};
  Output& out = result.output;
  const std::size_t mark = out.out.rfind(kMark);
  if (mark == std::string::npos) return result;
  const std::size_t code_end = out.out.find('\n', mark + 1);
  out.exit_code = std::stoi(out.out.substr(mark + std::strlen(kMark), code_end));
  result.unread = out.out.substr(code_end + 1);
  out.out.resize(mark);
  return result;
}

class CliTest : public ::testing::Test {
 protected:
  // The CLI exits before reading stdin on a usage error; the writer must see
  // EPIPE then, not die of SIGPIPE.
  static void SetUpTestSuite() { ::signal(SIGPIPE, SIG_IGN); }

  Output cli(const std::vector<std::string>& args, const std::string& input = {}) {
    std::vector<std::string> argv = {cli_binary(), "--socket", daemon_.socket().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, input);
  }

  void add_key(const std::string& name = "bot", const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"add", name, "--api-key", kApiKey};
    args.insert(args.end(), extra.begin(), extra.end());
    const Output out = cli(args, credentials_input());
    ASSERT_EQ(out.exit_code, 0) << out.err;
    expect_no_secrets(out);
  }

  // An add or update refused before it asked for anything: the error, its exit
  // code and the words that name the cause, with stdin left unread and no key
  // added or changed.
  void expect_refused_unread(const std::vector<std::string>& argv, int exit_code, const std::string& cause) {
    SCOPED_TRACE(cause);
    const Unread result = run_then_cat(argv, credentials_input());
    expect_error(result.output, exit_code);
    EXPECT_NE(result.output.err.find(cause), std::string::npos) << result.output.err;
    EXPECT_EQ(result.unread, credentials_input()) << "stdin was read before the refusal";
    for (const char* prompt : {"Secret for", "New secret for"}) {
      EXPECT_EQ(result.output.err.find(prompt), std::string::npos) << "it prompted";
    }
  }

  std::vector<std::string> cli_argv(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {cli_binary(), "--socket", daemon_.socket().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  static void expect_no_secrets(const Output& out) {
    for (const std::string& text : {out.out, out.err}) {
      EXPECT_EQ(text.find(kSecret), std::string::npos) << text;
      EXPECT_EQ(text.find(kPassphrase), std::string::npos) << text;
    }
  }

  // An error: one line "okx-vault: ..." on stderr, nothing on stdout, no secrets.
  static void expect_error(const Output& out, int exit_code, const char* why = "") {
    SCOPED_TRACE(why);
    EXPECT_EQ(out.exit_code, exit_code) << out.err;
    EXPECT_TRUE(out.err.starts_with("okx-vault: ")) << out.err;
    EXPECT_TRUE(one_line(out.err)) << out.err;
    EXPECT_EQ(out.out, "");
    expect_no_secrets(out);
  }

  TempDir dir_;
  Daemon daemon_{dir_.path()};
  ExchangeDouble exchange_{{kApiKey, kSecret, kPassphrase}};
};

TEST_F(CliTest, AddReadsSecretAndPassphraseFromStdinAndListShowsOnlyMetadata) {
  add_key();

  const Output table = cli({"list"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("NAME"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("bot"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find(kMaskedApiKey), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("never"), std::string::npos) << table.out;
  EXPECT_EQ(table.out.find(kApiKey), std::string::npos) << "the full api key is shown masked";
  expect_no_secrets(table);

  const Output listed = cli({"list", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  expect_no_secrets(listed);
  const json::array keys = json::parse(listed.out).at("keys").as_array();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].at("name").as_string(), "bot");
  EXPECT_EQ(keys[0].at("api_key").as_string(), kMaskedApiKey);
  EXPECT_EQ(keys[0].at("simulated").as_bool(), false);
  EXPECT_EQ(keys[0].at("sign_count").to_number<std::uint64_t>(), 0u);
  EXPECT_TRUE(keys[0].at("last_used").is_null());
}

// The cells of each line of a table, split where two or more spaces are.
std::vector<std::vector<std::string>> table_rows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  const std::regex gap(" {2,}");
  for (std::string line; std::getline(in, line);) {
    rows.emplace_back(std::sregex_token_iterator(line.begin(), line.end(), gap, -1), std::sregex_token_iterator());
  }
  return rows;
}

TEST_F(CliTest, ListShowsGrantsAndExpiryAndMarksExpiredKeys) {
  add_key("bot");
  add_key("soon", {"--expires", "30d"});
  add_key("old", {"--expires", "1s"});
  ASSERT_EQ(cli({"grant", "bot", "--user", "0"}).exit_code, 0);
  ASSERT_EQ(cli({"grant", "bot", "--group", "0", "--read-only"}).exit_code, 0);
  ASSERT_EQ(cli({"sign", "bot", "GET", kBalance}).exit_code, 0);
  // Past its expiry (1 s), "old" signs nothing.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  expect_error(cli({"sign", "old", "GET", kBalance}), kExitForbidden, "expired");

  const Output table = cli({"list"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  const auto rows = table_rows(table.out);
  ASSERT_EQ(rows.size(), 4u) << table.out;
  EXPECT_EQ(rows[0], (std::vector<std::string>{"NAME", "API KEY", "DEMO", "GRANTS", "CREATED", "LAST USED", "SIGNS",
                                               "EXPIRES"}));
  const std::regex minute(R"(\d{4}-\d\d-\d\d \d\d:\d\d UTC)");
  for (const auto& row : rows) {
    SCOPED_TRACE(row[0]);
    ASSERT_EQ(row.size(), 8u) << table.out;
    if (row[0] != "NAME") {
      EXPECT_TRUE(std::regex_match(row[4], minute)) << row[4];
    }
  }
  // Sorted by name: bot, old, soon.
  EXPECT_EQ(rows[1][0], "bot");
  EXPECT_EQ(rows[1][3], "2") << "two grants";
  EXPECT_TRUE(std::regex_match(rows[1][5], std::regex(R"(\d+s ago)"))) << rows[1][5];
  EXPECT_EQ(rows[1][7], "never");
  EXPECT_EQ(rows[2][0], "old");
  EXPECT_EQ(rows[2][3], "0");
  EXPECT_TRUE(rows[2][7].starts_with("EXPIRED ")) << rows[2][7];
  EXPECT_TRUE(std::regex_match(rows[2][7].substr(8), minute)) << rows[2][7];
  EXPECT_EQ(rows[3][0], "soon");
  EXPECT_TRUE(std::regex_search(rows[3][7], std::regex(R"(UTC \(in (29|30)d\)$)"))) << rows[3][7];

  // --json stays raw: exact times and the count.
  const json::array keys = json::parse(cli({"list", "--json"}).out).at("keys").as_array();
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[0].at("grants").to_number<std::uint64_t>(), 2u);
  EXPECT_TRUE(std::regex_match(std::string(keys[1].at("expires").as_string()),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
  EXPECT_TRUE(std::regex_match(std::string(keys[0].at("created").as_string()),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
}

TEST_F(CliTest, AddAcceptsCrLfLinesAndALastLineWithoutNewline) {
  const Output out =
      cli({"add", "bot", "--api-key", kApiKey}, std::string(kSecret) + "\r\n" + kPassphrase);  // no final newline
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const Output signed_ = cli({"sign", "bot", "GET", kBalance});
  ASSERT_EQ(signed_.exit_code, 0) << signed_.err;
  EXPECT_EQ(http_request(exchange_, "GET", kBalance, parse_header_lines(signed_.out)).code, "0");
}

// add checks what it can before it asks for the secret and passphrase: each
// refusal comes with its exit code, before a byte of stdin is read.
TEST_F(CliTest, AddRefusesBeforeItReadsTheSecretAndPassphrase) {
  add_key("bot");
  const std::string list_before = cli({"list", "--json"}).out;

  expect_refused_unread(cli_argv({"add", "Not-A-Name", "--api-key", kApiKey}), kExitInvalidInput, "key name");
  expect_refused_unread(cli_argv({"add", "x", "--api-key", "has space"}), kExitInvalidInput, "--api-key");
  expect_refused_unread(cli_argv({"add", "bot", "--api-key", kApiKey}), kExitInvalidInput,
                        "a key named 'bot' already exists");
  expect_refused_unread({cli_binary(), "--socket", (dir_ / "no-such.sock").string(), "add", "other", "--api-key",
                         kApiKey},
                        kExitUnreachable, "cannot connect");

  ASSERT_EQ(cli({"lock"}).exit_code, 0);
  expect_refused_unread(cli_argv({"add", "other", "--api-key", kApiKey}), kExitLocked, "okx-vault unlock");
  ASSERT_EQ(cli({"unlock"}).exit_code, 0);

  EXPECT_EQ(cli({"list", "--json"}).out, list_before) << "nothing was added";
  // The same add, now that nothing stands in its way, reads both lines.
  const Unread added = run_then_cat(cli_argv({"add", "other", "--api-key", kApiKey}), credentials_input() + "rest\n");
  EXPECT_EQ(added.output.exit_code, 0) << added.output.err;
  EXPECT_EQ(added.unread, "rest\n");
}

// update checks what it can before it asks for the new secret and passphrase,
// as add does: each refusal with its exit code, before a byte of stdin is read.
TEST_F(CliTest, UpdateRefusesBeforeItReadsTheNewSecretAndPassphrase) {
  add_key("bot");
  add_key("demo", {"--simulated"});
  const std::string list_before = cli({"list", "--json"}).out;
  expect_refused_unread(cli_argv({"update", "Not-A-Name", "--api-key", kApiKey}), kExitInvalidInput, "key name");
  expect_refused_unread(cli_argv({"update", "bot", "--api-key", "has space"}), kExitInvalidInput, "--api-key");
  expect_refused_unread(cli_argv({"update", "nokey", "--api-key", kApiKey}), kExitNotFound, "no key named 'nokey'");
  expect_refused_unread(cli_argv({"update", "bot", "--api-key", kApiKey, "--simulated"}), kExitInvalidInput,
                        "key 'bot' is a live key");
  expect_refused_unread(cli_argv({"update", "demo", "--api-key", kApiKey}), kExitInvalidInput,
                        "key 'demo' is a demo key: give --simulated");
  expect_refused_unread({cli_binary(), "--socket", (dir_ / "no-such.sock").string(), "update", "bot", "--api-key",
                         kApiKey},
                        kExitUnreachable, "cannot connect");
  ASSERT_EQ(cli({"lock"}).exit_code, 0);
  expect_refused_unread(cli_argv({"update", "bot", "--api-key", kApiKey}), kExitLocked, "okx-vault unlock");
  ASSERT_EQ(cli({"unlock"}).exit_code, 0);
  // On the bots' socket of a daemon with an admin socket, nobody is an admin.
  TempDir other;
  Daemon split(other.path(), {"--admin-socket", (other / "admin.sock").string()});
  ASSERT_EQ(run({cli_binary(), "--socket", split.socket().string(), "--admin-socket", (other / "admin.sock").string(),
                 "add", "bot", "--api-key", kApiKey},
                credentials_input())
                .exit_code,
            0);
  expect_refused_unread({cli_binary(), "--socket", split.socket().string(), "update", "bot", "--api-key", kApiKey},
                        kExitForbidden, "not an admin");

  EXPECT_EQ(cli({"list", "--json"}).out, list_before) << "nothing was updated";
  // The same update, now that nothing stands in its way, reads both lines.
  const Unread updated =
      run_then_cat(cli_argv({"update", "demo", "--api-key", kApiKey, "--simulated"}), credentials_input() + "rest\n");
  EXPECT_EQ(updated.output.exit_code, 0) << updated.output.err;
  EXPECT_EQ(updated.unread, "rest\n");
}

// The connection add opened for its checks may be closed by the daemon while a
// person types (its idle timeout): the key still arrives, over a new one.
TEST_F(CliTest, AddOutlivesTheDaemonClosingItsConnectionDuringThePrompt) {
  TempDir dir;
  Daemon daemon(dir.path(), {"--idle-timeout-ms", "200"});
  const Output added =
      run({"/bin/sh", "-c",
           "{ sleep 1; printf '%s\\n%s\\n' \"$S\" \"$P\"; } | \"$CLI\" --socket \"$SOCK\" add slow --api-key \"$K\""},
          "",
          {"S=" + std::string(kSecret), "P=" + std::string(kPassphrase), "CLI=" + cli_binary(),
           "SOCK=" + daemon.socket().string(), "K=" + std::string(kApiKey)});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  const Output listed = run({cli_binary(), "--socket", daemon.socket().string(), "list", "--json"});
  EXPECT_NE(listed.out.find("\"slow\""), std::string::npos) << listed.out;
}

TEST_F(CliTest, StatusShowsTheDaemonWithoutSecrets) {
  add_key();
  const Output out = cli({"status"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.out.find("okx-vaultd "), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("keys:    1"), std::string::npos) << out.out;
  expect_no_secrets(out);

  const Output as_json = cli({"status", "--json"});
  ASSERT_EQ(as_json.exit_code, 0) << as_json.err;
  EXPECT_EQ(json::parse(as_json.out).at("keys").to_number<std::uint64_t>(), 1u);
}

TEST_F(CliTest, SocketComesFromTheEnvironmentWithoutSocketOption) {
  const Output out = run({cli_binary(), "status"}, "", {"OKX_VAULT_SOCKET=" + daemon_.socket().string()});
  EXPECT_EQ(out.exit_code, 0) << out.err;
}

TEST_F(CliTest, SignedHeaderLinesAreAcceptedByTheExchange) {
  add_key();
  const Output get = cli({"sign", "bot", "GET", kBalance});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  const HeaderList get_headers = parse_header_lines(get.out);
  EXPECT_EQ(header(get_headers, "OK-ACCESS-KEY"), kApiKey);
  EXPECT_EQ(header(get_headers, "x-simulated-trading"), "") << "a live key";
  const HttpReply get_reply = http_request(exchange_, "GET", kBalance, get_headers);
  EXPECT_EQ(get_reply.status, 200) << get_reply.body;
  EXPECT_EQ(get_reply.code, "0") << get_reply.body;

  const Output post = cli({"sign", "bot", "POST", kOrder, "--body", kOrderBody});
  ASSERT_EQ(post.exit_code, 0) << post.err;
  EXPECT_EQ(http_request(exchange_, "POST", kOrder, parse_header_lines(post.out), kOrderBody).code, "0");
}

TEST_F(CliTest, SignJsonIsTheDaemonsReplyAndIsAcceptedByTheExchange) {
  add_key();
  const Output out = cli({"sign", "bot", "POST", kOrder, "--body", kOrderBody, "--json"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const json::object reply = json::parse(out.out).as_object();
  HeaderList headers;
  for (const auto& entry : reply.at("headers").as_object()) {
    headers.emplace_back(entry.key(), entry.value().as_string());
  }
  EXPECT_EQ(reply.at("timestamp").as_string(), header(headers, "OK-ACCESS-TIMESTAMP"));
  EXPECT_EQ(http_request(exchange_, "POST", kOrder, headers, kOrderBody).code, "0");
}

// The documented use: eval "curl $(okx-vault sign ... --curl) URL".
TEST_F(CliTest, SignCurlArgumentsWorkWithRealCurl) {
  add_key();
  const std::string script =
      R"(eval "/usr/bin/curl -sS --max-time 10 $("$CLI" --socket "$SOCK" sign bot "$METHOD" "$P" --body "$BODY" )"
      R"(--curl) \"$EXCHANGE\$P\"")";
  struct Case {
    std::string method, path, body;
  };
  for (const Case& c : {Case{"GET", kBalance, ""}, Case{"POST", kOrder, kOrderBody}}) {
    SCOPED_TRACE(c.method);
    const Output out = run({"/bin/sh", "-c", script}, "",
                           {"CLI=" + cli_binary(), "SOCK=" + daemon_.socket().string(), "METHOD=" + c.method,
                            "P=" + c.path, "BODY=" + c.body, "EXCHANGE=" + exchange_.url("")});
    ASSERT_EQ(out.exit_code, 0) << out.err;
    EXPECT_EQ(json::parse(out.out).at("code").as_string(), "0") << out.out;
    const auto seen = exchange_.seen();
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.back().method, c.method);
    EXPECT_EQ(seen.back().target, c.path);
    EXPECT_EQ(seen.back().body, c.body) << "curl sent the body byte for byte";
  }
}

// okx-vault curl: the real curl, through the real daemon, to the exchange double.
TEST_F(CliTest, CurlSendsExactlyTheSignedRequest) {
  add_key();
  // A passphrase with a quote and a backslash, which curl's config syntax escapes.
  const std::string odd_passphrase = "Pass\"wd\\x'y$";
  ASSERT_EQ(cli({"add", "odd", "--api-key", kApiKey}, std::string(kSecret) + "\n" + odd_passphrase + "\n").exit_code,
            0);
  ExchangeDouble odd_exchange({kApiKey, kSecret, odd_passphrase});
  // Quotes, a tab, a carriage return, non-ASCII bytes, a leading @ and a trailing newline.
  const std::string file_body = std::string(kOrderBody).insert(1, "\"note\":\"@x\\t\t\r€\",") + "\n";
  write_file(dir_ / "order.json", file_body);
  struct Case {
    std::string key, method, path, body;
    std::vector<std::string> body_args;
    const ExchangeDouble* exchange;
  };
  for (const Case& c :
       {Case{"bot", "GET", kBalance, "", {}, &exchange_},
        Case{"bot", "post", kOrder, kOrderBody, {"--body", kOrderBody}, &exchange_},
        Case{"bot", "POST", kOrder, file_body, {"--body-file", (dir_ / "order.json").string()}, &exchange_},
        Case{"odd", "GET", kBalance, "", {}, &odd_exchange}}) {
    SCOPED_TRACE(c.key + " " + c.method + " " + c.body);
    std::vector<std::string> args = {"curl", c.key, c.method, c.path, "--base-url", c.exchange->url("")};
    args.insert(args.end(), c.body_args.begin(), c.body_args.end());
    args.insert(args.end(), {"--", "-sS", "--max-time", "10"});
    const Output out = cli(args);
    ASSERT_EQ(out.exit_code, 0) << out.err;
    EXPECT_EQ(json::parse(out.out).at("code").as_string(), "0") << out.out;
    const auto seen = c.exchange->seen();
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.back().method, "GET" == c.method ? "GET" : "POST");
    EXPECT_EQ(seen.back().target, c.path);
    EXPECT_EQ(seen.back().body, c.body) << "curl sent the signed body byte for byte";
    expect_no_secrets(out);
  }
}

TEST_F(CliTest, CurlSendsTheDemoTradingHeaderOfADemoKeyAndExitsWithCurlsStatus) {
  add_key("demo", {"--simulated"});
  ExchangeDouble demo_exchange({kApiKey, kSecret, kPassphrase, true});
  const Output demo = cli({"curl", "demo", "GET", kBalance, "--base-url", demo_exchange.url(""), "--", "-sS"});
  ASSERT_EQ(demo.exit_code, 0) << demo.err;
  EXPECT_EQ(json::parse(demo.out).at("code").as_string(), "0") << demo.out;

  // The live exchange refuses a demo key (HTTP 401): with --fail, curl exits 22, and so does okx-vault.
  const Output live = cli({"curl", "demo", "GET", kBalance, "--base-url", exchange_.url(""), "--", "-sS", "--fail"});
  EXPECT_EQ(live.exit_code, 22) << live.err;
  EXPECT_EQ(exchange_.seen().back().code, "50101");
  // Nothing listens on port 1: curl's "could not connect", 7.
  EXPECT_EQ(cli({"curl", "demo", "GET", kBalance, "--base-url", "http://127.0.0.1:1", "--", "-sS"}).exit_code, 7);
}

// A curl first on PATH that records its arguments and what it read on stdin.
class FakeCurl {
 public:
  explicit FakeCurl(const fs::path& dir) : dir_(dir) {
    fs::create_directories(dir_ / "bin");
    write_file(dir_ / "bin" / "curl",
               "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"$0.argv\"\ncat > \"$0.stdin\"\n");
    fs::permissions(dir_ / "bin" / "curl", fs::perms::owner_all);
  }
  std::string path_env() const { return "PATH=" + (dir_ / "bin").string() + ":/usr/bin:/bin"; }
  bool ran() const { return fs::exists(dir_ / "bin" / "curl.argv"); }
  std::string argv() const { return read_file(dir_ / "bin" / "curl.argv"); }
  std::string input() const { return read_file(dir_ / "bin" / "curl.stdin"); }
  void forget() const {
    fs::remove(dir_ / "bin" / "curl.argv");
    fs::remove(dir_ / "bin" / "curl.stdin");
  }

 private:
  fs::path dir_;
};

TEST_F(CliTest, CurlGetsThePassphraseAndSignatureOnStdinNeverInItsArguments) {
  add_key();
  const FakeCurl fake(dir_ / "fake");
  const Output out =
      run(cli_argv({"curl", "bot", "POST", kOrder, "--body", kOrderBody, "--", "-sS"}), "", {fake.path_env()});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  ASSERT_TRUE(fake.ran());
  const std::string argv = fake.argv(), config = fake.input();
  EXPECT_EQ(argv, "-sS\n--config\n-\n");
  const std::regex sign_line(R"(header = "OK-ACCESS-SIGN: ([A-Za-z0-9+/=]+)\")");
  std::smatch sign;
  ASSERT_TRUE(std::regex_search(config, sign, sign_line)) << "the signature is in the config";
  EXPECT_NE(config.find(std::string("header = \"OK-ACCESS-PASSPHRASE: ") + kPassphrase + "\""), std::string::npos)
      << "the passphrase is in the config";
  EXPECT_NE(config.find("url = \"https://www.okx.com/api/v5/trade/order\""), std::string::npos) << config;
  EXPECT_EQ(argv.find(kPassphrase), std::string::npos) << argv;
  EXPECT_EQ(argv.find(sign[1].str()), std::string::npos) << argv;
  EXPECT_EQ(config.find(kSecret), std::string::npos) << "the secret never leaves the daemon";
}

TEST_F(CliTest, CurlIsNotRunWhenSigningFails) {
  add_key();
  const FakeCurl fake(dir_ / "fake");
  const auto curl = [&](const std::vector<std::string>& argv) { return run(argv, "", {fake.path_env()}); };
  // The control: a request the daemon signs does run it.
  ASSERT_EQ(curl(cli_argv({"curl", "bot", "GET", kBalance})).exit_code, 0);
  ASSERT_TRUE(fake.ran());
  fake.forget();

  expect_error(curl(cli_argv({"curl", "nokey", "GET", kBalance})), kExitNotFound, "no such key");
  expect_error(curl(cli_argv({"curl", "bot", "GET", "/not/okx"})), kExitInvalidInput, "not an OKX path");
  expect_error(curl(cli_argv({"curl", "bot", "GET", kBalance, "--body", "{}"})), kExitInvalidInput, "GET with a body");
  expect_error(curl({cli_binary(), "--socket", (dir_ / "no-such.sock").string(), "curl", "bot", "GET", kBalance}),
               kExitUnreachable, "no daemon");
  expect_error(curl(cli_argv({"curl", "bot", "GET", kBalance, "--base-url", "http://example.com"})), kExitUsage,
               "plain http to another host");
  expect_error(curl(cli_argv({"curl", "bot", "GET", kBalance, "--base-url", "https://www.okx.com/api"})), kExitUsage,
               "a base URL with a path");
  ASSERT_EQ(cli({"lock"}).exit_code, 0);
  expect_error(curl(cli_argv({"curl", "bot", "GET", kBalance})), kExitLocked, "locked");
  EXPECT_FALSE(fake.ran()) << "curl ran without a signature: " << fake.argv();
}

TEST_F(CliTest, BodyFromFileOrStdinIsSignedByteForByte) {
  add_key();
  const std::string body = std::string(kOrderBody) + "\n";  // a trailing newline is part of the body
  write_file(dir_ / "order.json", body);

  const Output from_file = cli({"sign", "bot", "POST", kOrder, "--body-file", (dir_ / "order.json").string()});
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  EXPECT_EQ(http_request(exchange_, "POST", kOrder, parse_header_lines(from_file.out), body).code, "0");

  const Output from_stdin = cli({"sign", "bot", "POST", kOrder, "--body-stdin"}, body);
  ASSERT_EQ(from_stdin.exit_code, 0) << from_stdin.err;
  const HeaderList headers = parse_header_lines(from_stdin.out);
  EXPECT_EQ(http_request(exchange_, "POST", kOrder, headers, body).code, "0");
  EXPECT_EQ(http_request(exchange_, "POST", kOrder, headers, kOrderBody).code, "50113")
      << "without its newline it is another body";
}

TEST_F(CliTest, SimulatedKeySignsForDemoTrading) {
  add_key("demo", {"--simulated"});
  const Output out = cli({"sign", "demo", "GET", kBalance});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const HeaderList headers = parse_header_lines(out.out);
  EXPECT_EQ(header(headers, "x-simulated-trading"), "1");
  ExchangeDouble demo_exchange({kApiKey, kSecret, kPassphrase, true});
  EXPECT_EQ(http_request(demo_exchange, "GET", kBalance, headers).code, "0");
  EXPECT_EQ(http_request(exchange_, "GET", kBalance, headers).code, "50101") << "a demo key on the live exchange";
}

TEST_F(CliTest, WsLoginFrameIsSignedOverTheVerifyPath) {
  add_key();
  const Output out = cli({"ws-login", "bot"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_TRUE(one_line(out.out)) << out.out;
  const json::object frame = json::parse(out.out).as_object();
  EXPECT_EQ(frame.at("op").as_string(), "login");
  const json::object& arg = frame.at("args").as_array().at(0).as_object();
  EXPECT_EQ(arg.at("apiKey").as_string(), kApiKey);
  EXPECT_EQ(arg.at("passphrase").as_string(), kPassphrase);
  const std::string timestamp(arg.at("timestamp").as_string());
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LE(std::abs(std::stoll(timestamp) - now), 30) << timestamp;
  EXPECT_EQ(arg.at("sign").as_string(), okx_signature(kSecret, timestamp + "GET/users/self/verify"));
}

TEST_F(CliTest, RevokedKeyCannotSign) {
  add_key();
  const Output revoked = cli({"revoke", "bot", "--yes"});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  EXPECT_EQ(cli({"list", "--json"}).out.find("\"bot\""), std::string::npos);
  expect_error(cli({"sign", "bot", "GET", kBalance}), kExitNotFound);
  expect_error(cli({"revoke", "bot", "--yes"}), kExitNotFound);
}

TEST_F(CliTest, RevokeWithoutYesIsRefusedWhenStdinIsNotATerminal) {
  add_key();
  expect_error(cli({"revoke", "bot"}, "y\n"), kExitUsage);
  EXPECT_EQ(cli({"sign", "bot", "GET", kBalance}).exit_code, 0) << "the key is still there";
}

// A name is part of the request target: "bot?x" must not reach key "bot".
TEST_F(CliTest, NameWithUrlCharactersCannotReachAnotherKey) {
  add_key();
  for (const std::string name : {"bot?x", "bot/sign", "bot#x"}) {
    expect_error(cli({"revoke", name, "--yes"}), kExitNotFound);
  }
  EXPECT_EQ(cli({"sign", "bot", "GET", kBalance}).exit_code, 0) << "bot was not revoked";
}

TEST_F(CliTest, UsageErrorsExitWithTwo) {
  add_key();
  expect_error(cli({}), kExitUsage);
  expect_error(cli({"frobnicate"}), kExitUsage);
  expect_error(cli({"sign", "bot", "GET"}), kExitUsage);
  expect_error(cli({"add", "other"}), kExitUsage, "--api-key is required");
  expect_error(cli({"list", "--no-such-option"}), kExitUsage);
  expect_error(cli({"sign", "bot", "GET", kBalance, "--json", "--curl"}), kExitUsage);
  expect_error(cli({"sign", "bot", "POST", kOrder, "--body", "{}", "--body-stdin"}), kExitUsage);
  expect_error(cli({"--timeout", "-1", "status"}), kExitUsage);
}

TEST_F(CliTest, AMistypedCommandIsAnsweredWithTheNearestOne) {
  for (const auto& [typed, meant] : std::vector<std::pair<std::string, std::string>>{
           {"lsit", "list"}, {"revok", "revoke"}, {"grnats", "grants"}, {"sing", "sign"}, {"hlep", "help"}}) {
    SCOPED_TRACE(typed);
    const Output out = cli({typed});
    expect_error(out, kExitUsage);
    EXPECT_NE(out.err.find("unknown command '" + typed + "' (did you mean '" + meant + "'?)"), std::string::npos)
        << out.err;
  }
  const Output help = cli({"help", "stauts"});
  expect_error(help, kExitUsage);
  EXPECT_NE(help.err.find("did you mean 'status'?"), std::string::npos) << help.err;
  const Output far = cli({"frobnicate"});
  expect_error(far, kExitUsage);
  EXPECT_EQ(far.err.find("did you mean"), std::string::npos) << far.err;
}

// Nobody is asked to confirm a revoke that cannot happen.
TEST_F(CliTest, RevokeChecksTheKeyExistsBeforeAskingForConfirmation) {
  add_key();
  expect_error(cli({"revoke", "nokey"}, "y\n"), kExitNotFound, "no terminal: not found, not a usage error");
  if (!fs::exists("/usr/bin/script")) GTEST_SKIP() << "script (util-linux) is not installed";
  // On a terminal (script gives it one): no question for a key that is not there...
  const auto on_terminal = [&](const std::string& name, const std::string& answer) {
    return run({"/usr/bin/script", "-qec", "\"$CLI\" --socket \"$SOCK\" revoke " + name + "; echo \"exit=$?\"",
                "/dev/null"},
               answer, {"CLI=" + cli_binary(), "SOCK=" + daemon_.socket().string()});
  };
  const Output missing = on_terminal("nokey", "y\n");
  EXPECT_EQ(missing.out.find("Revoke key"), std::string::npos) << missing.out;
  EXPECT_NE(missing.out.find("no key named 'nokey'"), std::string::npos) << missing.out;
  EXPECT_NE(missing.out.find("exit=5"), std::string::npos) << missing.out;
  // ...and the control: for one that is, the question, and "n" keeps it.
  const Output declined = on_terminal("bot", "n\n");
  EXPECT_NE(declined.out.find("Revoke key 'bot'?"), std::string::npos) << declined.out;
  EXPECT_NE(declined.out.find("exit=1"), std::string::npos) << declined.out;
  EXPECT_EQ(cli({"sign", "bot", "GET", kBalance}).exit_code, 0) << "the key is still there";
}

TEST_F(CliTest, ErrorsNameTheOptionsAndArgumentsNotTheProtocolsFields) {
  add_key();
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string says;
  };
  for (const Case& c : {
           Case{{"sign", "bot", "GET", kBalance, "--timestamp", "yesterday"}, kExitInvalidInput, "--timestamp must"},
           Case{{"sign", "bot", "GET", kBalance, "--timestamp", "2020-12-08T09:08:57.715Z"},
                kExitInvalidInput,
                "--timestamp is "},
           Case{{"sign", "bot", "GET", "/not/okx"}, kExitInvalidInput, "PATH must start with /api/v5/"},
           Case{{"curl", "bot", "GET", "/not/okx"}, kExitInvalidInput, "PATH must start with /api/v5/"},
           Case{{"sign", "bot", "GET", kBalance, "--body", "{}"}, kExitInvalidInput, "give no --body"},
           Case{{"sign", "bot", "POST", kOrder, "--body", "x=1"}, kExitInvalidInput, "the body (--body) is empty"},
           Case{{"ws-login", "bot", "--timestamp", "soon"}, kExitInvalidInput, "--timestamp must be Unix epoch"},
           Case{{"grant", "bot", "--user", "0", "--allow", "nonsense"}, kExitInvalidInput, "--allow"},
           Case{{"grant", "bot", "--user", "no-such-user-7f3e"}, kExitInvalidInput, "--user: no such user"},
       }) {
    SCOPED_TRACE(c.says);
    const Output out = cli(c.args);
    expect_error(out, c.exit_code);
    EXPECT_NE(out.err.find(c.says), std::string::npos) << out.err;
  }
}

// Trading limits go from grant's options to the daemon, back out through
// grants (as a line for people and the wire form in --json) and through the
// store across a restart.
TEST_F(CliTest, GrantCarriesTradingLimitsThatGrantsShowsAndTheStoreKeeps) {
  add_key("bot");
  std::vector<std::string> limits;  // no value holds a space
  std::istringstream words(
      "--inst BTC-USDT --inst ETH-USDT-SWAP --max-sz BTC-USDT=0.5 --px-range BTC-USDT=10000:90000 "
      "--ord-types limit,post_only --sides buy,sell --td-modes cash --reduce-only --max-leverage 5 "
      "--orders-per-minute 30");
  for (std::string word; words >> word;) limits.push_back(word);
  std::vector<std::string> args = {"grant", "bot", "--user", "0", "--allow", "POST /api/v5/trade/"};
  args.insert(args.end(), limits.begin(), limits.end());
  const Output granted = cli(args);
  ASSERT_EQ(granted.exit_code, 0) << granted.err;
  ASSERT_EQ(cli({"grant", "bot", "--group", "0", "--read-only"}).exit_code, 0);

  const std::string line =
      "\n  limits: inst BTC-USDT, ETH-USDT-SWAP; max sz BTC-USDT 0.5; px BTC-USDT 10000..90000; ord types "
      "limit,post_only; sides buy,sell; td modes cash; reduce-only; max leverage 5; 30 orders/min\n";
  const json::value wire = json::parse(
      R"({"inst":["BTC-USDT","ETH-USDT-SWAP"],"max_sz":[{"inst":"BTC-USDT","sz":"0.5"}],)"
      R"("px_range":[{"inst":"BTC-USDT","min":"10000","max":"90000"}],"ord_types":["limit","post_only"],)"
      R"("sides":["buy","sell"],"td_modes":["cash"],"reduce_only":true,"max_leverage":"5","orders_per_minute":30})");
  const auto expect_shown = [&](const char* when) {
    SCOPED_TRACE(when);
    const Output shown = cli({"grants", "bot"});
    ASSERT_EQ(shown.exit_code, 0) << shown.err;
    EXPECT_NE(shown.out.find("user root (0): read-write, no WebSocket login, allow POST /api/v5/trade/" + line),
              std::string::npos)
        << shown.out;
    EXPECT_EQ(shown.out.find("limits:"), shown.out.rfind("limits:")) << "the group's grant has none: " << shown.out;
    const Output as_json = cli({"grants", "bot", "--json"});
    ASSERT_EQ(as_json.exit_code, 0) << as_json.err;
    const json::array grants = json::parse(as_json.out).at("grants").as_array();
    ASSERT_EQ(grants.size(), 2u);
    EXPECT_EQ(grants[0].at("limits"), wire) << as_json.out;
    EXPECT_TRUE(grants[1].at("limits").is_null()) << as_json.out;
  };
  expect_shown("as granted");

  // The store keeps them: in the key's metadata on disk, and read back at start.
  daemon_.stop();
  EXPECT_NE(read_file(daemon_.store_file()).find(R"("max_sz":[{"inst":"BTC-USDT","sz":"0.5"}])"), std::string::npos);
  daemon_.start();
  expect_shown("after a restart");

  // The same grant again changes nothing; other limits need --replace.
  const Output again = cli(args);
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("Nothing changed"), std::string::npos) << again.err;
  const std::string before = cli({"grants", "bot", "--json"}).out;
  for (const std::vector<std::string>& other :
       {std::vector<std::string>{"--max-sz", "BTC-USDT=0.6"}, std::vector<std::string>{"--orders-per-minute", "31"},
        std::vector<std::string>{}}) {
    std::vector<std::string> changed = {"grant", "bot", "--user", "0", "--allow", "POST /api/v5/trade/"};
    if (!other.empty()) {
      changed.insert(changed.end(), limits.begin(), limits.end() - 2);  // all but --orders-per-minute 30
      changed.insert(changed.end(), other.begin(), other.end());
    }
    SCOPED_TRACE(other.empty() ? "no limits" : other[0] + " " + other[1]);
    const Output refused = cli(changed);
    expect_error(refused, kExitInvalidInput);
    EXPECT_NE(refused.err.find("already has a grant for user root (0)"), std::string::npos) << refused.err;
    EXPECT_NE(refused.err.find("limits (inst BTC-USDT, ETH-USDT-SWAP; max sz BTC-USDT 0.5;"), std::string::npos)
        << "names the limits there: " << refused.err;
    EXPECT_NE(refused.err.find("--replace"), std::string::npos) << refused.err;
    EXPECT_EQ(cli({"grants", "bot", "--json"}).out, before) << "nothing changed";
  }
  ASSERT_EQ(cli({"grant", "bot", "--user", "0", "--max-sz", "BTC-*=2", "--replace"}).exit_code, 0);
  const json::value replaced = json::parse(cli({"grants", "bot", "--json"}).out).at("grants").at(1);
  EXPECT_EQ(replaced.at("limits"), json::parse(R"({"max_sz":[{"inst":"BTC-*","sz":"2"}]})"));
  EXPECT_TRUE(replaced.at("allow").as_array().empty());
}

// A malformed limit is refused before anything is sent, in the option's terms
// (not the protocol's field names), and nothing is stored.
TEST_F(CliTest, AMalformedTradingLimitIsRefusedNamingTheOption) {
  add_key("bot");
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  for (const Case& c : {
           Case{{"--max-sz", "BTC-USDT=abc"}, "--max-sz BTC-USDT=abc: 'abc' is not a decimal"},
           Case{{"--max-sz", "BTC-USDT=1e3"}, "--max-sz BTC-USDT=1e3: '1e3' is not a decimal"},
           Case{{"--max-sz", "BTC-USDT=-1"}, "--max-sz BTC-USDT=-1: '-1' is not a decimal"},
           Case{{"--max-sz", "BTC-USDT="}, "--max-sz BTC-USDT=: '' is not a decimal"},
           Case{{"--max-sz", "BTC-USDT"}, "--max-sz BTC-USDT: give PATTERN=SIZE"},
           Case{{"--max-sz", "*=1"}, "--max-sz *=1: '*' is not an instrument pattern"},
           Case{{"--inst", "btc-usdt"}, "--inst btc-usdt: 'btc-usdt' is not an instrument pattern"},
           Case{{"--inst", "*"}, "--inst *: '*' is not an instrument pattern"},
           Case{{"--inst-type", "spot"}, "--inst-type spot: 'spot' is not one of SPOT, MARGIN"},
           Case{{"--px-range", "BTC-USDT=90000:10000"},
                "--px-range BTC-USDT=90000:10000: min 90000 is above max 10000"},
           Case{{"--px-range", "BTC-USDT=:"}, "--px-range BTC-USDT=:: give a min, a max or both"},
           Case{{"--px-range", "BTC-USDT=10000"}, "--px-range BTC-USDT=10000: give PATTERN=MIN:MAX"},
           Case{{"--ord-types", "limit,market_ish"}, "--ord-types limit,market_ish: 'market_ish' is not one of"},
           Case{{"--sides", "long"}, "--sides long: 'long' is not one of buy, sell"},
           Case{{"--td-modes", "cash,"}, "--td-modes cash,: '' is not one of"},
           Case{{"--ord-types", ""},
                "--ord-types '': give at least one ordType, comma-separated; leave --ord-types out"},
           Case{{"--sides", ""}, "--sides '': give at least one side"},
           Case{{"--td-modes", ""}, "--td-modes '': give at least one tdMode"},
           Case{{"--ord-types", "limit,twap"},
                "--ord-types limit,twap: 'twap' is an order-algo type whose orders the vault does not read"},
           Case{{"--max-leverage", "five"}, "--max-leverage five: 'five' is not a decimal"},
           Case{{"--max-leverage", "0.5"}, "--max-leverage 0.5: at least 1"},
           Case{{"--orders-per-minute", "0"}, "--orders-per-minute 0: from 1 to 1000000"},
           Case{{"--orders-per-minute", "lots"}, "--orders-per-minute lots: from 1 to 1000000"},
           Case{{"--orders-per-minute", "1000001"}, "--orders-per-minute 1000001: from 1 to 1000000"},
       }) {
    SCOPED_TRACE(c.says);
    std::vector<std::string> args = {"grant", "bot", "--user", "0", "--inst", "BTC-USDT"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    const Output out = cli(args);
    expect_error(out, kExitInvalidInput);
    EXPECT_NE(out.err.find(c.says), std::string::npos) << out.err;
    for (const char* field : {"limits:", "max_sz", "px_range", "inst_types", "ord_types", "td_modes", "max_leverage",
                              "orders_per_minute"}) {
      EXPECT_EQ(out.err.find(field), std::string::npos) << out.err;
    }
  }
  // What no single value shows: more entries of one kind than a grant holds.
  std::vector<std::string> many = {"grant", "bot", "--user", "0"};
  for (int i = 0; i <= 256; ++i) many.insert(many.end(), {"--inst", "BTC-" + std::to_string(i)});
  const Output too_many = cli(many);
  expect_error(too_many, kExitInvalidInput);
  EXPECT_NE(too_many.err.find("--inst: at most 256 entries"), std::string::npos) << too_many.err;

  const Output none = cli({"grants", "bot"});
  EXPECT_EQ(none.out, "No grants: only admins may sign with this key.\n") << none.out;
}

// Every command that prints data takes --json and then prints one JSON document.
TEST_F(CliTest, EveryCommandThatPrintsDataTakesJson) {
  const Output added = cli({"add", "bot", "--api-key", kApiKey, "--json"}, credentials_input());
  ASSERT_EQ(added.exit_code, 0) << added.err;
  EXPECT_EQ(json::parse(added.out).at("name").as_string(), "bot");
  expect_no_secrets(added);
  const Output updated = cli({"update", "bot", "--api-key", kApiKey, "--json"}, credentials_input());
  ASSERT_EQ(updated.exit_code, 0) << updated.err;
  EXPECT_TRUE(one_line(updated.out)) << updated.out;
  EXPECT_EQ(json::parse(updated.out).at("api_key").as_string(), kMaskedApiKey);
  expect_no_secrets(updated);
  for (const std::vector<std::string>& args : {std::vector<std::string>{"status", "--json"},
                                               {"list", "--json"},
                                               {"grants", "bot", "--json"},
                                               {"sign", "bot", "GET", kBalance, "--json"},
                                               {"ws-login", "bot", "--json"},
                                               {"audit", "verify", "--json"}}) {
    SCOPED_TRACE(args[0]);
    const Output out = cli(args);
    ASSERT_EQ(out.exit_code, 0) << out.err;
    EXPECT_TRUE(one_line(out.out)) << out.out;
    EXPECT_NO_THROW(json::parse(out.out)) << out.out;
  }
  const json::object verdict = json::parse(cli({"audit", "verify", "--json"}).out).as_object();
  EXPECT_EQ(verdict.at("ok").as_bool(), true);
  write_file(dir_ / "broken.log", "{\"not\":\"a chain\"}\n");
  const Output broken = cli({"audit", "verify", (dir_ / "broken.log").string(), "--json"});
  EXPECT_EQ(broken.exit_code, kExitFailure);
  EXPECT_EQ(json::parse(broken.out).at("ok").as_bool(), false) << broken.out;
}

// A duration is checked against the last time the protocol accepts (the end of
// 2200), before it is added to the clock, so it can neither overflow nor reach
// the daemon as a time it refuses.
TEST_F(CliTest, AnExpiryPastTheLastAcceptedYearIsAUsageError) {
  for (const char* expires : {"100000d", "3000000h", "99999999999999999999s", "2201-01-01T00:00:00.000Z"}) {
    expect_error(cli({"add", "late", "--api-key", kApiKey, "--expires", expires}, credentials_input()), kExitUsage,
                 expires);
  }
  add_key("last", {"--expires", "2200-12-31T23:59:59.999Z"});
  add_key("soon", {"--expires", "365d"});
  const Output list = cli({"list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find(R"("expires":"2200-12-31T23:59:59.999Z")"), std::string::npos) << list.out;
}

TEST_F(CliTest, SecretsCannotBePassedOnTheCommandLine) {
  const std::string argv_secret = "ARGV-SECRET-5f2d9";
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"add", "bot", "--api-key", kApiKey, "--secret", argv_secret},
        std::vector<std::string>{"add", "bot", "--api-key", kApiKey, "--secret=" + argv_secret},
        std::vector<std::string>{"add", "bot", "--api-key", kApiKey, "--passphrase", argv_secret},
        std::vector<std::string>{"add", "bot", "--api-key", kApiKey, argv_secret, argv_secret}}) {
    const Output out = cli(args, credentials_input());
    expect_error(out, kExitUsage);
    EXPECT_EQ(out.err.find(argv_secret), std::string::npos) << out.err;
  }
  EXPECT_EQ(cli({"list", "--json"}).out, "{\"keys\":[]}\n") << "nothing was added";
}

TEST_F(CliTest, UnreachableDaemonExitsWithThree) {
  const Output out = run({cli_binary(), "--socket", (dir_ / "no-such.sock").string(), "status"});
  expect_error(out, kExitUnreachable);
}

TEST_F(CliTest, PermissionDeniedExitsWithFour) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run the CLI as another user";
  if (!fs::exists("/usr/bin/setpriv")) GTEST_SKIP() << "setpriv (util-linux) is not installed";
  add_key();
  // Let nobody reach the socket, so that it is the daemon, not the file mode, that refuses.
  fs::permissions(dir_.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                   fs::perms::others_read | fs::perms::others_exec);
  ::chmod(daemon_.socket().c_str(), 0666);
  const std::vector<std::string> as_nobody = {"/usr/bin/setpriv",       "--reuid=65534", "--regid=65534",
                                              "--clear-groups",         cli_binary(),    "--socket",
                                              daemon_.socket().string()};
  auto nobody = [&](std::vector<std::string> args, const std::string& input = {}) {
    std::vector<std::string> argv = as_nobody;
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, input);
  };
  const Output status = nobody({"status"});
  ASSERT_EQ(status.exit_code, 0) << "anyone connected may ask for the status: " << status.err;
  const Output listed = nobody({"list", "--json"});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(listed.out, "{\"keys\":[]}\n") << "a peer sees only the keys granted to it";
  std::vector<std::string> add_as_nobody = as_nobody;
  for (const char* arg : {"add", "mine", "--api-key", kApiKey}) add_as_nobody.emplace_back(arg);
  expect_refused_unread(add_as_nobody, kExitForbidden, "not an admin");
  // Nor does a name that exists tell a non-admin anything: the same refusal.
  add_as_nobody[add_as_nobody.size() - 3] = "bot";
  expect_refused_unread(add_as_nobody, kExitForbidden, "not an admin");
  expect_error(nobody({"revoke", "bot", "--yes"}), kExitForbidden, "revoke");
  expect_error(nobody({"sign", "bot", "GET", kBalance}), kExitNotFound, "sign without a grant: no such key, to it");
  expect_error(nobody({"ws-login", "bot"}), kExitNotFound, "ws-login without a grant: no such key, to it");
}

// A listener that is not the daemon: bound by another user before the daemon,
// it answers every request with the status of a locked passphrase vault and
// keeps every byte it receives.
constexpr char kFakeListener[] = R"(
import socket, sys
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(sys.argv[1])
server.listen(8)
reply = b'{"version":"0.1.0","locked":true,"keys":0,"uptime_seconds":1,"slots":["passphrase"]}'
while True:
    peer, _ = server.accept()
    data = b''
    with open(sys.argv[2], 'ab') as log:
        while True:
            chunk = peer.recv(65536)
            if not chunk:
                break
            log.write(chunk)
            log.flush()
            data += chunk
            if data.startswith(b'GET ') and b'\r\n\r\n' in data:
                peer.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' % (len(reply), reply))
                data = b''
    peer.close()
)";

TEST_F(CliTest, SecretsGoOnlyToADaemonNoOtherUserCanImpersonate) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to bind a socket as another user";
  if (!fs::exists("/usr/bin/setpriv") || !fs::exists("/usr/bin/python3")) GTEST_SKIP() << "needs setpriv and python3";
  ::chmod(dir_.path().c_str(), 0711);
  // A world-writable directory, and a sticky one (like /tmp) where whoever binds first owns the name.
  for (const mode_t mode : {mode_t{0777}, mode_t{01777}}) {
    SCOPED_TRACE(mode);
    const fs::path shared = dir_ / ("shared-" + std::to_string(mode));
    fs::create_directory(shared);
    ::chmod(shared.c_str(), mode);
    const fs::path socket = shared / "okx-vault.sock", received = dir_ / ("received-" + std::to_string(mode));
    write_file(received, "");
    ASSERT_EQ(::chown(received.c_str(), 65534, 65534), 0);
    Process fake({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c",
                  kFakeListener, socket.string(), received.string()},
                 dir_ / "fake.log");
    for (int i = 0; i < 500 && !can_connect(socket); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_TRUE(can_connect(socket)) << read_file(dir_ / "fake.log");
    const auto to_fake = [&](const std::vector<std::string>& args, const std::string& input = {}) {
      std::vector<std::string> argv = {cli_binary(), "--socket", socket.string(), "--timeout", "5"};
      argv.insert(argv.end(), args.begin(), args.end());
      return run(argv, input);
    };
    // The control: what carries no secret reaches the listener, which answers it.
    const Output status = to_fake({"status"});
    EXPECT_EQ(status.exit_code, 0) << status.err;
    EXPECT_NE(read_file(received).find("GET /v1/status"), std::string::npos) << "the listener receives requests";

    expect_refused_unread({cli_binary(), "--socket", socket.string(), "--timeout", "5", "add", "bot", "--api-key",
                           kApiKey},
                          kExitUntrusted, "not sending a secret");
    EXPECT_EQ(read_file(received).find("/v1/keys"), std::string::npos) << "add asked the listener nothing";
    expect_error(to_fake({"unlock"}, std::string(kPassphrase) + "\n"), kExitUntrusted, "unlock");
    expect_error(to_fake({"passphrase", "set"}, std::string(kPassphrase) + "\n"), kExitUntrusted, "passphrase set");
    expect_error(to_fake({"rekey"}, std::string(kPassphrase) + "\n"), kExitUntrusted, "rekey");
    fake.stop(SIGKILL);
    const std::string bytes = read_file(received);
    EXPECT_EQ(bytes.find(kSecret), std::string::npos) << "the secret reached the listener";
    EXPECT_EQ(bytes.find(kPassphrase), std::string::npos) << "the passphrase reached the listener";
    EXPECT_EQ(bytes.find("POST /v1/keys"), std::string::npos) << bytes;
  }
  // The real daemon, run by root in a directory only root may write to, still gets them.
  add_key();
}

// The environment of a CLI that reads its sockets from config files only:
// `system` in place of /etc/okx-vault/okx-vault.conf, the user's file under `xdg`.
std::vector<std::string> config_env(const fs::path& system, const fs::path& xdg) {
  return {"OKX_VAULT_CONFIG=" + system.string(), "XDG_CONFIG_HOME=" + xdg.string(),
          "OKX_VAULT_SOCKET=", "OKX_VAULT_ADMIN_SOCKET="};
}

TEST_F(CliTest, ConfigFilesNameTheSocketTheUsersOverTheSystemsAndTheCommandLineOverBoth) {
  const fs::path system = dir_ / "okx-vault.conf", xdg = dir_ / "xdg", missing = dir_ / "no-such.sock";
  const std::vector<std::string> env = config_env(system, xdg);
  const auto status = [&](const std::vector<std::string>& global) {
    std::vector<std::string> argv = {cli_binary()};
    argv.insert(argv.end(), global.begin(), global.end());
    argv.emplace_back("status");
    return run(argv, "", env);
  };
  write_file(system, "# the system's\nsocket = " + daemon_.socket().string() + "\n");
  EXPECT_EQ(status({}).exit_code, 0) << status({}).err;

  fs::create_directories(xdg / "okx-vault");
  write_file(xdg / "okx-vault" / "config", "socket = " + missing.string() + "\n");
  const Output user_wins = status({});
  expect_error(user_wins, kExitUnreachable, "the user's file wins");
  EXPECT_NE(user_wins.err.find(missing.string()), std::string::npos) << user_wins.err;

  EXPECT_EQ(status({"--socket", daemon_.socket().string()}).exit_code, 0) << "the command line wins";
  EXPECT_EQ(run({cli_binary(), "status"}, "",
                {"OKX_VAULT_CONFIG=" + system.string(), "XDG_CONFIG_HOME=" + xdg.string(),
                 "OKX_VAULT_SOCKET=" + daemon_.socket().string()})
                .exit_code,
            0)
      << "the environment wins over the files";

  // A name the file may not hold is an error naming the file, never its value.
  write_file(xdg / "okx-vault" / "config", "secret = HUSH-3f9a1\n");
  const Output unknown = status({});
  expect_error(unknown, kExitUsage, "unknown name");
  EXPECT_NE(unknown.err.find((xdg / "okx-vault" / "config").string()), std::string::npos) << unknown.err;
  EXPECT_EQ(unknown.err.find("HUSH-3f9a1"), std::string::npos) << unknown.err;
}

class AdminSocketTest : public CliTest {
 protected:
  Output as(const std::vector<std::string>& prefix, const std::vector<std::string>& args,
            const std::string& input = {}) {
    std::vector<std::string> argv = prefix;
    argv.push_back(cli_binary());
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, input, config_env(config_, dir_ / "xdg"));
  }
  Output configured(const std::vector<std::string>& args, const std::string& input = {}) { return as({}, args, input); }

  TempDir admin_dir_;
  Daemon admin_daemon_{admin_dir_.path(), {"--admin-socket", (admin_dir_ / "admin.sock").string()}};
  fs::path admin_socket_ = admin_dir_ / "admin.sock";
  fs::path config_ = [this] {
    const fs::path path = admin_dir_ / "okx-vault.conf";
    write_file(path,
               "socket = " + admin_daemon_.socket().string() + "\nadmin-socket = " + admin_socket_.string() + "\n");
    return path;
  }();
};

TEST_F(AdminSocketTest, AdminCommandsGoToTheConfiguredAdminSocket) {
  const Output added = configured({"add", "bot", "--api-key", kApiKey}, credentials_input());
  ASSERT_EQ(added.exit_code, 0) << added.err;
  EXPECT_EQ(configured({"grants", "bot"}).exit_code, 0);
  const Output listed = configured({"list", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("\"bot\""), std::string::npos) << "root lists on the admin socket: every key";
  EXPECT_EQ(configured({"sign", "bot", "GET", kBalance}).exit_code, 0) << "an admin signs on the admin socket";

  // The control: the same command on the bot socket, which the daemon refuses
  // admin calls on. A --socket on the command line is not paired with the
  // admin socket of the config file.
  const std::string bot_socket = admin_daemon_.socket().string();
  const Output refused = configured({"--socket", bot_socket, "revoke", "bot", "--yes"});
  expect_error(refused, kExitForbidden, "revoke on the bot socket");
  EXPECT_NE(refused.err.find("not an admin"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("on the socket " + bot_socket), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--admin-socket"), std::string::npos) << refused.err;
  // Given both on the command line, it goes to the admin socket.
  const Output revoked =
      configured({"--socket", bot_socket, "--admin-socket", admin_socket_.string(), "revoke", "bot", "--yes"});
  EXPECT_EQ(revoked.exit_code, 0) << revoked.err;
}

TEST_F(AdminSocketTest, PermissionDeniedNamesTheSocketTriedAndTheOneToUse) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run the CLI as another user";
  if (!fs::exists("/usr/bin/setpriv")) GTEST_SKIP() << "setpriv (util-linux) is not installed";
  ASSERT_EQ(configured({"add", "bot", "--api-key", kApiKey}, credentials_input()).exit_code, 0);
  fs::permissions(admin_dir_.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                         fs::perms::others_read | fs::perms::others_exec);
  const std::string bot_socket = admin_daemon_.socket().string();
  ::chmod(bot_socket.c_str(), 0666);
  const std::vector<std::string> nobody = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};

  // What needs no admin falls back to the bot socket, which nobody may use.
  const Output listed = as(nobody, {"list", "--json"});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(listed.out, "{\"keys\":[]}\n");

  const Output added = as(nobody, {"add", "mine", "--api-key", kApiKey}, credentials_input());
  expect_error(added, kExitForbidden, "add: the admin socket is root's");
  EXPECT_NE(added.err.find("permission denied on the admin socket " + admin_socket_.string()), std::string::npos)
      << added.err;
  EXPECT_NE(added.err.find("run okx-vault as root"), std::string::npos) << added.err;
  EXPECT_NE(added.err.find(bot_socket), std::string::npos) << added.err;

  // Not allowed on the bot socket either: the error names its group.
  ::chmod(bot_socket.c_str(), 0660);
  const Output status = as(nobody, {"status"});
  expect_error(status, kExitForbidden, "status: the bot socket is its group's");
  EXPECT_NE(status.err.find("permission denied on the socket " + bot_socket), std::string::npos) << status.err;
  EXPECT_NE(status.err.find("members of group"), std::string::npos) << status.err;
}

TEST_F(CliTest, NotFoundExitsWithFive) {
  expect_error(cli({"sign", "nokey", "GET", kBalance}), kExitNotFound);
  expect_error(cli({"ws-login", "nokey"}), kExitNotFound);
  expect_error(cli({"revoke", "nokey", "--yes"}), kExitNotFound);
}

TEST_F(CliTest, InvalidInputExitsWithSix) {
  add_key();
  expect_error(cli({"add", "Not A Name", "--api-key", kApiKey}, credentials_input()), kExitInvalidInput);
  expect_error(cli({"add", "bot", "--api-key", kApiKey}, credentials_input()), kExitInvalidInput, "key exists");
  expect_error(cli({"add", "other", "--api-key", kApiKey}, std::string(kSecret) + "\n"), kExitInvalidInput,
               "stdin ended before the passphrase");
  expect_error(cli({"sign", "bot", "GET", "/not/okx"}), kExitInvalidInput);
  expect_error(cli({"sign", "bot", "GET", kBalance, "--timestamp", "2020-12-08T09:08:57.715Z"}), kExitInvalidInput,
               "timestamp skew");
  // Far more than the socket buffer: the daemon refuses it before it has read it all.
  write_file(dir_ / "huge.json", std::string(4 * 1024 * 1024, 'x'));
  expect_error(cli({"sign", "bot", "POST", kOrder, "--body-file", (dir_ / "huge.json").string()}), kExitInvalidInput,
               "payload too large");
  expect_error(cli({"sign", "bot", "POST", kOrder, "--body", std::string(70 * 1024, 'x')}), kExitInvalidInput,
               "payload too large");
}

// A server error that is real, not staged: the state directory vanished under
// the daemon, so it cannot persist a new key and answers io_error (HTTP 500).
TEST_F(CliTest, ServerErrorExitsWithOne) {
  add_key();
  fs::remove_all(daemon_.state_dir());
  const Output out = cli({"add", "other", "--api-key", kApiKey}, credentials_input());
  expect_error(out, kExitFailure);
  EXPECT_EQ(cli({"list", "--json"}).out.find("\"other\""), std::string::npos)
      << "a key that could not be stored is not in memory either";
}

TEST_F(CliTest, HelpAndVersion) {
  const Output help = cli({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("Exit codes:"), std::string::npos) << help.out;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"help", "sign"}, std::vector<std::string>{"sign", "--help"}}) {
    const Output out = cli(args);
    EXPECT_EQ(out.exit_code, 0) << out.err;
    EXPECT_NE(out.out.find("Usage: okx-vault sign NAME METHOD PATH"), std::string::npos) << out.out;
  }
  const Output version = cli({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_TRUE(version.out.starts_with("okx-vault ")) << version.out;
  const Output short_version = cli({"-V"});
  EXPECT_EQ(short_version.exit_code, 0) << short_version.err;
  EXPECT_EQ(short_version.out, version.out);
  // What help says of locking is what unlock does: the key file unlocks a vault with one.
  const Output lock_help = cli({"help", "lock"});
  EXPECT_NE(lock_help.out.find("okx-vault unlock unlocks it"), std::string::npos) << lock_help.out;
  EXPECT_NE(lock_help.out.find("--key-file"), std::string::npos) << lock_help.out;
}

// client/CLI.md is the CLI's reference: it names exactly the commands, options
// and exit codes the binary's own help lists, so the two cannot drift apart.
class CliReference : public ::testing::Test {
 protected:
  static std::string help(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {cli_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    const Output out = run(argv);
    EXPECT_EQ(out.exit_code, 0) << out.err;
    return out.out;
  }

  // The lines of `text` after the line `heading` up to the next empty line.
  static std::string block(const std::string& text, const std::string& heading) {
    const std::size_t at = text.find("\n" + heading + "\n");
    if (at == std::string::npos) return {};
    const std::size_t start = at + heading.size() + 2;
    const std::size_t end = text.find("\n\n", start);
    return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
  }

  // Every first capture of `pattern`, matched line by line.
  static std::set<std::string> captures(const std::string& text, const std::string& pattern) {
    std::set<std::string> out;
    const std::regex re(pattern);
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      std::smatch match;
      if (std::regex_search(line, match, re)) out.insert(match[1]);
    }
    return out;
  }

  // The options in a help block: "  --api-key arg", "  -y [ --yes ]".
  static std::set<std::string> help_options(const std::string& text) {
    return captures(text, R"(^  (?:-\w \[ )?(--[a-z-]+))");
  }

  // The text of CLI.md's section for `command`, up to the next heading.
  std::string section(const std::string& command) const {
    const std::string heading = "### `okx-vault " + command;
    const std::size_t at = reference_.find(heading + " ") != std::string::npos ? reference_.find(heading + " ")
                                                                               : reference_.find(heading + "`");
    if (at == std::string::npos) return {};
    const std::size_t end = reference_.find("\n#", at + heading.size());
    return reference_.substr(at, end == std::string::npos ? std::string::npos : end - at);
  }

  const std::string reference_ = read_file(fs::path(OKXVAULT_SOURCE_DIR) / "client" / "CLI.md");
};

TEST_F(CliReference, NamesEveryCommandAndNoOther) {
  const std::set<std::string> listed = captures(block(help({"--help"}), "Commands:"), R"(^  ([a-z-]+) )");
  ASSERT_GE(listed.size(), 10u);
  EXPECT_EQ(captures(reference_, R"(^### `okx-vault ([a-z-]+))"), listed);
}

TEST_F(CliReference, HeadsEachCommandWithItsSynopsis) {
  for (const std::string& command : captures(block(help({"--help"}), "Commands:"), R"(^  ([a-z-]+) )")) {
    if (command == "help") continue;
    const std::string usage = help({"help", command});
    std::string synopsis = usage.substr(0, usage.find('\n'));
    ASSERT_TRUE(synopsis.starts_with("Usage: ")) << usage;
    synopsis = synopsis.substr(7);
    while (synopsis.ends_with(' ')) synopsis.pop_back();
    EXPECT_NE(reference_.find("\n### `" + synopsis + "`\n"), std::string::npos) << synopsis;
  }
}

TEST_F(CliReference, NamesEveryOptionOfEachCommandAndNoOther) {
  for (const std::string& command : captures(block(help({"--help"}), "Commands:"), R"(^  ([a-z-]+) )")) {
    if (command == "help") continue;
    SCOPED_TRACE(command);
    const std::string text = section(command);
    ASSERT_FALSE(text.empty());
    EXPECT_EQ(captures(text, R"(^- `(--[a-z-]+))"), help_options(block(help({"help", command}), "Options:")));
  }
}

TEST_F(CliReference, NamesTheGlobalOptionsAndEveryExitCode) {
  const std::string usage = help({"--help"});
  EXPECT_EQ(captures(reference_, R"(^\| `(--[a-z-]+))"), help_options(block(usage, "Global options:")));
  const std::set<std::string> codes = captures(block(usage, "Exit codes:"), R"(^  (\d)  )");
  EXPECT_EQ(codes.size(), 9u);
  EXPECT_EQ(captures(reference_, R"(^\| (\d) \|)"), codes);
}

// okx-vault(1) is made at build time from the CLI's table; CLI.md is written
// by hand. They must name the same commands and options.
class ManPage : public CliReference {
 protected:
  // Roff as text: "\-" is "-", "\e" is "\", fonts dropped.
  static std::string plain(std::string text) {
    text = std::regex_replace(text, std::regex(R"(\\f[BIRP])"), "");
    text = std::regex_replace(text, std::regex(R"(\\-)"), "-");
    text = std::regex_replace(text, std::regex(R"(\\e)"), "\\");
    return std::regex_replace(text, std::regex(R"(\\&)"), "");
  }
  // The text of the man page's part for `command`, up to the next .SS or .SH.
  static std::string man_section(const std::string& man, const std::string& command) {
    const std::string heading = ".SS \"okx-vault " + command;
    std::size_t at = man.find(heading + " ");
    if (at == std::string::npos) at = man.find(heading + "\"");
    if (at == std::string::npos) return {};
    const std::size_t end = man.find("\n.S", at + heading.size());
    return man.substr(at, end == std::string::npos ? std::string::npos : end - at);
  }
  const std::string man_ = plain(read_file(fs::path(cli_binary()).parent_path() / "okx-vault.1"));
};

TEST_F(ManPage, NamesTheCommandsAndOptionsOfCliMd) {
  const std::set<std::string> documented = captures(reference_, R"(^### `okx-vault ([a-z-]+))");
  ASSERT_GE(documented.size(), 10u);
  EXPECT_EQ(captures(man_, R"re(^\.SS "okx-vault ([a-z-]+))re"), documented);
  for (const std::string& command : documented) {
    if (command == "help") continue;
    SCOPED_TRACE(command);
    EXPECT_EQ(captures(man_section(man_, command), R"(^(?:-\w \[ )?(--[a-z-]+))"),
              captures(section(command), R"(^- `(--[a-z-]+))"));
  }
  const std::size_t global = man_.find(".SH GLOBAL OPTIONS");
  ASSERT_NE(global, std::string::npos);
  const std::string globals = man_.substr(global, man_.find("\n.SH", global + 1) - global);
  EXPECT_EQ(captures(globals, R"(^(?:-\w \[ )?(--[a-z-]+))"), captures(reference_, R"(^\| `(--[a-z-]+))"));
}

TEST_F(ManPage, BothPagesRenderWithoutWarnings) {
  if (!fs::exists("/usr/bin/groff")) GTEST_SKIP() << "groff is not installed";
  for (const fs::path& page : {fs::path(cli_binary()).parent_path() / "okx-vault.1",
                               fs::path(OKXVAULT_SOURCE_DIR) / "systemd" / "okx-vaultd.8"}) {
    SCOPED_TRACE(page.string());
    const Output out = run({"/usr/bin/groff", "-man", "-ww", "-z", page.string()});
    EXPECT_EQ(out.exit_code, 0);
    EXPECT_EQ(out.err, "");
    const Output text = run({"/usr/bin/groff", "-man", "-Tascii", "-P-cbou", page.string()});
    EXPECT_NE(text.out.find("SEE ALSO"), std::string::npos) << text.out;
  }
}

// okx-vaultd(8) is written by hand: it names exactly the options of the
// daemon's --help (the hidden ones are for tests and benchmarks).
TEST_F(ManPage, DaemonPageNamesEveryOptionOfItsHelp) {
  const std::string page = plain(read_file(fs::path(OKXVAULT_SOURCE_DIR) / "systemd" / "okx-vaultd.8"));
  const Output help = run({daemon_binary(), "--help"});
  ASSERT_EQ(help.exit_code, 0) << help.err;
  const std::set<std::string> options = captures(help.out, R"(^  (?:-\w \[ )?(--[a-z-]+))");
  ASSERT_GE(options.size(), 15u);
  EXPECT_EQ(captures(page, R"(^(?:-\w, )?(--[a-z-]+))"), options);
}

// The bash completion, sourced into a real bash (without the bash-completion
// package), against the real CLI and daemon.
TEST_F(CliTest, BashCompletionOffersCommandsOptionsAndKeyNames) {
  add_key("bot");
  add_key("demo", {"--simulated"});
  const fs::path script = fs::path(OKXVAULT_SOURCE_DIR) / "client" / "completions" / "okx-vault.bash";
  const auto complete = [&](const std::string& line) {
    // COMP_WORDS as bash splits the line; an empty last word when it ends in a space.
    const std::string program =
        "source \"$SCRIPT\"; read -ra COMP_WORDS <<< \"$LINE\"; "
        "[[ $LINE == *' ' ]] && COMP_WORDS+=(''); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); "
        "_okx_vault; printf '%s\\n' \"${COMPREPLY[@]}\" | sort";
    const Output out =
        run({"/bin/bash", "-c", program}, "",
            {"SCRIPT=" + script.string(), "LINE=" + line, "OKX_VAULT_SOCKET=" + daemon_.socket().string()});
    EXPECT_EQ(out.exit_code, 0) << out.err;
    std::set<std::string> words;
    std::istringstream in(out.out);
    for (std::string word; std::getline(in, word);) {
      if (!word.empty()) words.insert(word);
    }
    return words;
  };
  const std::string cli = cli_binary();
  const std::set<std::string> commands = complete(cli + " ");
  EXPECT_TRUE(commands.contains("curl") && commands.contains("list") && commands.contains("help")) << commands.size();
  const std::string help = run({cli, "--help"}).out;
  const std::string listed =
      help.substr(help.find("Commands:\n"), help.find("\n\n", help.find("Commands:\n")) - help.find("Commands:\n"));
  EXPECT_EQ(commands.size(), static_cast<std::size_t>(std::count(listed.begin(), listed.end(), '\n')));
  EXPECT_EQ(complete(cli + " re"), (std::set<std::string>{"rekey", "restore", "revoke"}));
  EXPECT_EQ(complete(cli + " grant bot --re"), (std::set<std::string>{"--read-only", "--reduce-only", "--replace"}));
  EXPECT_EQ(complete(cli + " grant bot --user 0 --inst-type S"), (std::set<std::string>{"SPOT", "SWAP"}));
  EXPECT_EQ(complete(cli + " grant bot --user 0 --sides buy,"), (std::set<std::string>{"buy,buy", "buy,sell"}));
  EXPECT_EQ(complete(cli + " grant bot --user 0 --max-sz "), std::set<std::string>{});
  EXPECT_EQ(complete(cli + " sign "), (std::set<std::string>{"bot", "demo"}));
  EXPECT_EQ(complete(cli + " curl bot "), (std::set<std::string>{"GET", "POST"}));
  EXPECT_EQ(complete(cli + " passphrase "), (std::set<std::string>{"change", "remove", "set"}));
  EXPECT_EQ(complete(cli + " --admin"), (std::set<std::string>{"--admin-socket"}));
  // Key names come from the socket typed on the command line, if one is.
  TempDir other;
  Daemon empty(other.path());
  EXPECT_EQ(complete(cli + " --socket " + empty.socket().string() + " revoke "), std::set<std::string>{});
  EXPECT_EQ(complete(cli + " --socket " + daemon_.socket().string() + " revoke "),
            (std::set<std::string>{"bot", "demo"}));
}

}  // namespace
}  // namespace okxvault::test
