// okx-vault host-key, seal and import, end to end, as a fleet is provisioned:
// the host's vault prints its public key, a workstation seals a key to it with
// no daemon, and the host imports the file; the key then signs as OKX verifies.
// A key sealed to another vault, altered, or whose name is taken adds nothing;
// the host key survives a restart and a rekey; no secret is in the file, the
// logs, the output or any argument.

#include <gtest/gtest.h>
#include <signal.h>
#include <sodium.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "client/client.hpp"
#include "tests/support/audit_lines.hpp"
#include "tests/support/process.hpp"
#include "tests/support/reference_sign.hpp"

namespace okxvault {
namespace {
namespace json = boost::json;
using test::Daemon;
using test::Output;
using test::TempDir;

constexpr std::string_view kApiKey = "6d1e5f0a-2b3c-4d4e-8f5a-6b7c8d9e0f1a";
constexpr std::string_view kSecret = "SEALED-FLEET-SECRET-4e7d1c";
constexpr std::string_view kPassphrase = "Sealed-Fleet-Pass-6";
constexpr char kBalance[] = "/api/v5/account/balance?ccy=BTC";

std::map<std::string, std::string> as_map(const proto::Headers& headers) { return {headers.begin(), headers.end()}; }

std::string credentials() { return std::string(kSecret) + "\n" + std::string(kPassphrase) + "\n"; }

class SealTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ::signal(SIGPIPE, SIG_IGN); }

  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    host_ = std::make_unique<Daemon>(host_dir_.path());
    other_ = std::make_unique<Daemon>(other_dir_.path());
  }

  Output cli(const std::vector<std::string>& args, const std::string& input = {},
             const std::filesystem::path& socket = {}) {
    std::vector<std::string> argv = {test::cli_binary(), "--socket",
                                     (socket.empty() ? host_->socket() : socket).string()};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const std::string& arg : argv) argv_ += arg + " ";
    Output out = test::run(argv, input);
    outputs_ += out.out + out.err;
    return out;
  }

  std::string host_key(const Daemon& daemon) {
    const Output out = cli({"host-key"}, {}, daemon.socket());
    EXPECT_EQ(out.exit_code, 0) << out.err;
    EXPECT_EQ(out.out.size(), 45u) << "44 characters of base64 and a newline: " << out.out;
    return out.out.substr(0, out.out.find('\n'));
  }

  // Sealed on a "workstation": the CLI pointed at a socket where nothing listens.
  std::filesystem::path seal(const std::string& to, const std::string& name, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"seal", "--to", to, name, "--api-key", std::string(kApiKey)};
    args.insert(args.end(), extra.begin(), extra.end());
    const Output out = cli(args, credentials(), files_ / "no-daemon-here.sock");
    EXPECT_EQ(out.exit_code, 0) << out.err;
    const std::filesystem::path file = files_ / (name + ".sealed");
    test::write_file(file, out.out);
    return file;
  }

  static std::vector<std::string> names(const Daemon& daemon) {
    std::vector<std::string> out;
    for (const proto::KeyInfo& key : Client(daemon.socket().string()).list()) out.push_back(key.name);
    return out;
  }

  static void expect_no_secret(const std::string& text, const std::string& where) {
    EXPECT_EQ(text.find(kSecret), std::string::npos) << "the secret is in " << where;
    EXPECT_EQ(text.find(kPassphrase), std::string::npos) << "the passphrase is in " << where;
  }

  TempDir host_dir_, other_dir_, files_;
  std::unique_ptr<Daemon> host_, other_;
  std::string argv_, outputs_;
};

TEST_F(SealTest, AKeySealedOnAWorkstationIsImportedOnTheHostAndSigns) {
  const std::string to = host_key(*host_);
  const std::filesystem::path file = seal(to, "main", {"--simulated", "--expires", "2199-01-01T00:00:00.000Z"});
  const std::string sealed = test::read_file(file);
  expect_no_secret(sealed, "the sealed file");
  EXPECT_EQ(sealed.find(kApiKey), std::string::npos) << "the api key is sealed too";

  const Output imported = cli({"import", file.string()});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_NE(imported.err.find("Imported key 'main' (api key 6d1e…0f1a, demo trading)."), std::string::npos)
      << imported.err;
  const proto::KeyInfo key = Client(host_->socket().string()).list().at(0);
  EXPECT_EQ(key.name, "main");
  EXPECT_TRUE(key.simulated);
  EXPECT_EQ(key.expires, "2199-01-01T00:00:00.000Z");
  const proto::SignReply reply = Client(host_->socket().string()).sign("main", {"GET", kBalance, "", std::nullopt});
  const auto headers = as_map(reply.headers);
  EXPECT_EQ(headers.at("OK-ACCESS-KEY"), kApiKey);
  EXPECT_EQ(headers.at("OK-ACCESS-PASSPHRASE"), kPassphrase);
  EXPECT_EQ(headers.at("OK-ACCESS-SIGN"), test::okx_signature(kSecret, reply.timestamp + "GET" + kBalance));
  EXPECT_EQ(headers.at("x-simulated-trading"), "1");

  const std::vector<std::string> audit = test::audit_lines(host_->state_dir() / "audit.log");
  EXPECT_NE(std::find(audit.begin(), audit.end(), "import main allow demo key"), audit.end());
  expect_no_secret(host_->log(), "the daemon's log");
  expect_no_secret(test::read_file(host_->state_dir() / "audit.log"), "the audit log");
  expect_no_secret(outputs_, "the CLI's output");
  expect_no_secret(argv_, "the CLI's arguments");
}

TEST_F(SealTest, TheHostKeyIsTheSameAfterARestartAndARekey) {
  const std::string before = host_key(*host_);
  EXPECT_NE(host_key(*other_), before) << "each vault has its own";
  ASSERT_EQ(host_->stop(SIGTERM), 0);
  host_->start();
  EXPECT_EQ(host_key(*host_), before);
  ASSERT_EQ(cli({"rekey"}).exit_code, 0);
  EXPECT_EQ(host_key(*host_), before);
  ASSERT_EQ(cli({"import", seal(before, "main").string()}).exit_code, 0) << "a key sealed before the rekey opens";
  const json::value reply = json::parse(cli({"host-key", "--json"}).out);
  EXPECT_EQ(reply.at("public_key").as_string(), before);
}

TEST_F(SealTest, AKeySealedToAnotherVaultAlteredOrWhoseNameIsTakenAddsNothing) {
  const std::string to = host_key(*host_);
  const std::filesystem::path elsewhere = seal(host_key(*other_), "main");
  const Output refused = cli({"import", elsewhere.string()});
  EXPECT_EQ(refused.exit_code, 6) << refused.err;
  EXPECT_NE(refused.err.find("the key was sealed to another vault: to host key " + host_key(*other_).substr(0, 12) +
                             "…, and this vault's is " + to.substr(0, 12) +
                             "… (okx-vault host-key prints it); seal it again --to this one"),
            std::string::npos)
      << refused.err;

  std::string altered = test::read_file(seal(to, "main"));
  altered[100] = altered[100] == 'A' ? 'B' : 'A';
  test::write_file(files_ / "altered.sealed", altered);
  const Output damaged = cli({"import", (files_ / "altered.sealed").string()});
  EXPECT_EQ(damaged.exit_code, 6);
  EXPECT_NE(damaged.err.find("does not open with this vault's host key: it was damaged or altered"), std::string::npos)
      << damaged.err;

  test::write_file(files_ / "note.txt", "not a key\n");
  const Output other_file = cli({"import", (files_ / "note.txt").string()});
  EXPECT_EQ(other_file.exit_code, 6);
  EXPECT_NE(other_file.err.find("not a sealed okx-vault key"), std::string::npos) << other_file.err;
  EXPECT_TRUE(names(*host_).empty());

  const std::filesystem::path file = seal(to, "main");
  ASSERT_EQ(cli({"import", file.string()}).exit_code, 0);
  const Output again = cli({"import", file.string()});
  EXPECT_EQ(again.exit_code, 6);
  EXPECT_NE(again.err.find("a key named 'main' already exists"), std::string::npos) << again.err;
  EXPECT_EQ(names(*host_), std::vector<std::string>{"main"});
  const std::vector<std::string> audit = test::audit_lines(host_->state_dir() / "audit.log");
  EXPECT_NE(std::find(audit.begin(), audit.end(), "import  deny bad_request"), audit.end());
  EXPECT_NE(std::find(audit.begin(), audit.end(), "import main deny key_exists"), audit.end());
}

TEST_F(SealTest, SealChecksWhatAddChecksWithoutADaemon) {
  const std::string to = host_key(*host_);
  const std::filesystem::path nowhere = files_ / "no-daemon-here.sock";
  const auto sealing = [&](const std::vector<std::string>& args, const std::string& input) {
    std::vector<std::string> all = {"seal", "--to", to};
    all.insert(all.end(), args.begin(), args.end());
    return cli(all, input, nowhere);
  };
  EXPECT_EQ(sealing({"Bad Name", "--api-key", "k"}, credentials()).exit_code, 6);
  EXPECT_EQ(sealing({"main", "--api-key", "has space"}, credentials()).exit_code, 6);
  EXPECT_EQ(sealing({"main", "--api-key", "k", "--expires", "soon"}, credentials()).exit_code, 2);
  const Output spaced = sealing({"main", "--api-key", "k"}, "a secret with spaces\npass\n");
  EXPECT_EQ(spaced.exit_code, 6);
  EXPECT_NE(spaced.err.find("the secret must be 1 to 512 characters of printable ASCII without spaces"),
            std::string::npos)
      << spaced.err;
  const Output bad_key = cli({"seal", "--to", "not-a-key", "main", "--api-key", "k"}, credentials(), nowhere);
  EXPECT_EQ(bad_key.exit_code, 6);
  EXPECT_NE(bad_key.err.find("a host key is 32 bytes in base64, as okx-vault host-key prints it"), std::string::npos);
  const Output json_out = sealing({"main", "--api-key", "k", "--json"}, credentials());
  ASSERT_EQ(json_out.exit_code, 0) << json_out.err;
  const json::value reply = json::parse(json_out.out);
  EXPECT_EQ(reply.at("name").as_string(), "main");
  EXPECT_EQ(reply.at("to").as_string(), to);
  test::write_file(files_ / "from-json.sealed", std::string(reply.at("sealed").as_string()));
  EXPECT_EQ(cli({"import", (files_ / "from-json.sealed").string()}).exit_code, 0);
  expect_no_secret(outputs_, "the CLI's output");
}

}  // namespace
}  // namespace okxvault
