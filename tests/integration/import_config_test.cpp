// okx-vault import-config: the OKX key of a bot's config moved into the real
// okx-vaultd, which then signs with exactly that secret; the config changed
// (printed, or rewritten with a private backup) so that it holds no secret;
// every config it cannot import refused with nothing added or changed, and
// the secret nowhere but in the vault and the backup.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "client/client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/reference_sign.hpp"

namespace okxvault::test {
namespace {
namespace fs = std::filesystem;

constexpr char kApiKey[] = "5d0c7b2e-1f4a-4c3b-9e8d-import-0001";
constexpr char kSecret[] = "IMPORT-SECRET-3e9b1c77d20a4f58";
constexpr char kPassphrase[] = "Import-Pass-6Wq";

std::string freqtrade_config(const std::string& exchange = "okx") {
  std::string text = R"({
    // freqtrade allows comments
    "max_open_trades": 3,
    "exchange": {
        "name": "EXCHANGE",
        "key": "API-KEY",
        "secret": "SECRET",
        "password": "PASSPHRASE",
        "pair_whitelist": ["BTC/USDT",],
    },
}
)";
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"EXCHANGE", exchange},
                                 {"API-KEY", kApiKey},
                                 {"SECRET", kSecret},
                                 {"PASSPHRASE", kPassphrase}}) {
    text.replace(text.find(from), from.size(), to);
  }
  return text;
}

std::string ccxt_config() {
  return std::string(R"({"apiKey":")") + kApiKey + R"(","secret":")" + kSecret + R"(","password":")" + kPassphrase +
         "\",\"enableRateLimit\":true}\n";
}

std::string octobot_config(const std::string& secret = kSecret) {
  return std::string(R"({"exchanges":{"okx":{"api-key":")") + kApiKey + R"(","api-secret":")" + secret +
         R"(","api-password":")" + kPassphrase + R"(","enabled":true,"exchange-type":"spot"}},"trading":{}})";
}

class ImportConfigTest : public ::testing::Test {
 protected:
  Output cli(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {cli_binary(), "--socket", daemon_.socket().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    Output out = run(argv);
    for (const std::string& text : {out.out, out.err}) {
      EXPECT_EQ(text.find(kSecret), std::string::npos) << text;
      EXPECT_EQ(text.find(kPassphrase), std::string::npos) << text;
    }
    return out;
  }

  fs::path config(const std::string& name, const std::string& text, mode_t mode = 0640) const {
    const fs::path path = dir_ / name;
    write_file(path, text);
    ::chmod(path.c_str(), mode);
    return path;
  }

  std::vector<std::string> key_names() const {
    std::vector<std::string> names;
    for (const proto::KeyInfo& key : Client(daemon_.socket().string()).list()) names.push_back(key.name);
    return names;
  }

  // The vault signs with the secret that was in the config.
  void expect_signs_with_the_configs_secret(const std::string& name) const {
    Client admin(daemon_.socket().string());
    proto::GrantInfo grant;
    grant.name = std::to_string(::getuid());
    admin.set_grants(name, {grant});
    const proto::SignReply reply = admin.sign(name, {"GET", "/api/v5/account/balance", "", std::nullopt});
    std::string timestamp, signature, passphrase, api_key;
    for (const auto& [header, value] : reply.headers) {
      if (header == "OK-ACCESS-TIMESTAMP") timestamp = value;
      if (header == "OK-ACCESS-SIGN") signature = value;
      if (header == "OK-ACCESS-PASSPHRASE") passphrase = value;
      if (header == "OK-ACCESS-KEY") api_key = value;
    }
    EXPECT_EQ(signature, okx_signature(kSecret, timestamp + "GET/api/v5/account/balance"));
    EXPECT_EQ(passphrase, kPassphrase);
    EXPECT_EQ(api_key, kApiKey);
  }

  // A refusal: the exit code, the cause, and nothing added or changed.
  void expect_refused(const std::vector<std::string>& args, const fs::path& file, int exit_code,
                      const std::string& cause) {
    SCOPED_TRACE(cause);
    const std::string before = read_file(file);
    const std::vector<std::string> keys = key_names();
    const Output out = cli(args);
    EXPECT_EQ(out.exit_code, exit_code) << out.err;
    EXPECT_NE(out.err.find(cause), std::string::npos) << out.err;
    EXPECT_EQ(out.out, "");
    EXPECT_EQ(read_file(file), before);
    EXPECT_EQ(key_names(), keys);
  }

  TempDir dir_;
  Daemon daemon_{dir_.path()};
};

TEST_F(ImportConfigTest, FreqtradeKeyIsAddedAndTheChangePrinted) {
  const fs::path file = config("config.json", freqtrade_config());
  const Output out = cli({"import-config", file.string(), "--from", "freqtrade", "--name", "ft"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.out.find("  exchange.secret: \"okx-vault:ft\"\n  exchange.password: \"okx-vault\"\n"),
            std::string::npos)
      << out.out;
  EXPECT_NE(out.err.find("Added key 'ft'"), std::string::npos) << out.err;
  EXPECT_EQ(read_file(file), freqtrade_config());  // printed, not written
  EXPECT_FALSE(fs::exists(file.string() + ".bak"));
  expect_signs_with_the_configs_secret("ft");
}

TEST_F(ImportConfigTest, RewriteReplacesTheSecretAndKeepsAPrivateBackup) {
  for (const auto& [format, text, secret_member, passphrase_member] :
       std::vector<std::tuple<std::string, std::string, std::vector<std::string>, std::vector<std::string>>>{
           {"ccxt-json", ccxt_config(), {"secret"}, {"password"}},
           {"octobot", octobot_config(), {"exchanges", "okx", "api-secret"}, {"exchanges", "okx", "api-password"}},
           {"freqtrade", freqtrade_config(), {"exchange", "secret"}, {"exchange", "password"}}}) {
    SCOPED_TRACE(format);
    const std::string name = "bot-" + format;
    const fs::path file = config(format + ".json", text, 0640);
    const Output out = cli({"import-config", file.string(), "--from", format, "--name", name, "--rewrite"});
    ASSERT_EQ(out.exit_code, 0) << out.err;
    EXPECT_NE(out.err.find(".bak (mode 0600)"), std::string::npos) << out.err;

    const std::string rewritten = read_file(file);
    EXPECT_EQ(rewritten.find(kSecret), std::string::npos) << rewritten;
    EXPECT_EQ(rewritten.find(kPassphrase), std::string::npos) << rewritten;
    EXPECT_NE(rewritten.find(kApiKey), std::string::npos);
    struct stat info {};
    ASSERT_EQ(::stat(file.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 07777, 0640u);
    boost::json::parse_options lenient;
    lenient.allow_comments = lenient.allow_trailing_commas = true;
    const boost::json::value parsed = boost::json::parse(rewritten, {}, lenient);
    const auto at = [&](const std::vector<std::string>& path) {
      const boost::json::value* value = &parsed;
      for (const std::string& member : path) value = &value->as_object().at(member);
      return std::string(value->as_string());
    };
    EXPECT_EQ(at(secret_member), "okx-vault:" + name);
    EXPECT_EQ(at(passphrase_member), "okx-vault");

    const std::string backup = file.string() + ".bak";
    EXPECT_EQ(read_file(backup), text);
    ASSERT_EQ(::stat(backup.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 07777, 0600u);
    expect_signs_with_the_configs_secret(name);

    // Again: the config now uses the vault, so there is nothing to import.
    fs::remove(backup);
    expect_refused({"import-config", file.string(), "--from", format, "--name", name + "-again", "--rewrite"}, file, 6,
                   "already uses the vault: nothing to import");
  }
  // A freqtrade config keeps its comments and layout: only the two strings changed.
  std::string expected = freqtrade_config();
  expected.replace(expected.find(kSecret) - 1, std::string(kSecret).size() + 2, "\"okx-vault:bot-freqtrade\"");
  expected.replace(expected.find(kPassphrase) - 1, std::string(kPassphrase).size() + 2, "\"okx-vault\"");
  EXPECT_EQ(read_file(dir_ / "freqtrade.json"), expected);

  const std::string daemon_files = daemon_.log() + read_file(daemon_.state_dir() / "audit.log");
  EXPECT_EQ(daemon_files.find(kSecret), std::string::npos);
  EXPECT_EQ(daemon_files.find(kPassphrase), std::string::npos);
}

TEST_F(ImportConfigTest, AConfigItCannotImportIsRefusedWithNothingAddedOrChanged) {
  const fs::path encrypted =
      config("octobot.json",
             octobot_config("gAAAAABnT3Xq0cZpE2y1o7lJ8kR4vN9sW6hB3mD5fA2gC8iU0tY7rE1wQ4zX6vB9nM3kL5jH7gF2dS4aP"));
  expect_refused({"import-config", encrypted.string(), "--from", "octobot", "--name", "ob"}, encrypted, 6,
                 "exchanges.okx.api-secret is encrypted");
  const fs::path binance = config("binance.json", freqtrade_config("binance"));
  expect_refused({"import-config", binance.string(), "--from", "freqtrade", "--name", "ft"}, binance, 6,
                 "holds no OKX key: exchange.name is not \"okx\"");
  const fs::path no_secret = config("nosecret.json", std::string(R"({"apiKey":")") + kApiKey + R"(","secret":""})");
  expect_refused({"import-config", no_secret.string(), "--from", "ccxt-json", "--name", "cx"}, no_secret, 6,
                 "holds no OKX key: secret is missing or empty");
  const fs::path not_json = config("broken.json", std::string("{\"secret\":\"") + kSecret + "\",");
  expect_refused({"import-config", not_json.string(), "--from", "ccxt-json", "--name", "cx"}, not_json, 6,
                 "is not JSON");
  const fs::path good = config("good.json", ccxt_config());
  expect_refused({"import-config", good.string(), "--from", "hummingbot", "--name", "cx"}, good, 2,
                 "--from takes freqtrade, octobot or ccxt-json");
  expect_refused({"import-config", good.string(), "--from", "ccxt-json", "--name", "Bad Name"}, good, 6,
                 "key name must be");
  expect_refused({"import-config", (dir_ / "missing.json").string(), "--from", "ccxt-json", "--name", "cx"}, good, 1,
                 "cannot read");
  // A backup already there is never overwritten: it may be the only copy of an older config.
  write_file(good.string() + ".bak", "an older config\n");
  expect_refused({"import-config", good.string(), "--from", "ccxt-json", "--name", "cx", "--rewrite"}, good, 6,
                 ".bak exists: move it away first");
  EXPECT_EQ(read_file(good.string() + ".bak"), "an older config\n");
  fs::remove(good.string() + ".bak");
  // A name the vault has already: refused before anything is sent.
  ASSERT_EQ(cli({"import-config", good.string(), "--from", "ccxt-json", "--name", "cx"}).exit_code, 0);
  expect_refused({"import-config", good.string(), "--from", "ccxt-json", "--name", "cx", "--rewrite"}, good, 6,
                 "a key named 'cx' already exists");
  EXPECT_FALSE(fs::exists(good.string() + ".bak"));
}

}  // namespace
}  // namespace okxvault::test
