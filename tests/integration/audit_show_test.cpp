// okx-vault audit show: the real okx-vaultd's audit log, written by signs it
// allowed and refused, shown for people one record a line, filtered by key,
// time and refusal; malformed lines reported by number, never skipped in
// silence; no secret anywhere in what it prints.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "client/client.hpp"
#include "tests/support/audit_lines.hpp"
#include "tests/support/process.hpp"

namespace okxvault::test {
namespace {
namespace fs = std::filesystem;

constexpr char kMainSecret[] = "SHOW-SECRET-main-71c2e0d9";
constexpr char kMainPassphrase[] = "Show-Pass-main-4Rt";
constexpr char kOtherSecret[] = "SHOW-SECRET-other-0b8f3a61";
constexpr char kOtherPassphrase[] = "Show-Pass-other-9Kp";
constexpr char kBalance[] = "/api/v5/account/balance";
constexpr char kWithdrawal[] = "/api/v5/asset/withdrawal";

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  return text;
}

// A record's string member.
std::string member(const boost::json::object& record, std::string_view name) {
  const boost::json::value* value = record.if_contains(name);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : std::string();
}

bool all_of(const std::vector<std::string>& lines, const std::string& part) {
  return std::all_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return l.find(part) != std::string::npos; });
}

class AuditShowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Client admin(daemon_.socket().string());
    proto::GrantInfo grant;
    grant.name = std::to_string(::getuid());
    admin.add(
        {"main", "show-api-key-main-0001", SecretBytes::copy_of(kMainSecret), SecretBytes::copy_of(kMainPassphrase)});
    admin.add({"other", "show-api-key-other-0002", SecretBytes::copy_of(kOtherSecret),
               SecretBytes::copy_of(kOtherPassphrase)});
    admin.set_grants("main", {grant});
    admin.set_grants("other", {grant});
    admin.sign("main", {"GET", kBalance, "", std::nullopt});
    EXPECT_THROW(admin.sign("main", {"POST", kWithdrawal, "{}", std::nullopt}), Error);
    admin.sign("other", {"GET", kBalance, "", std::nullopt});
    admin.verify_audit();  // every line written
    records_ = lines_of(read_file(log()));
  }

  fs::path log() const { return daemon_.state_dir() / "audit.log"; }

  Output show(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {cli_binary(), "audit", "show"};
    argv.insert(argv.end(), args.begin(), args.end());
    Output out = run(argv);
    for (const std::string& text : {out.out, out.err}) {
      for (const char* secret : {kMainSecret, kMainPassphrase, kOtherSecret, kOtherPassphrase}) {
        EXPECT_EQ(text.find(secret), std::string::npos) << text;
      }
    }
    return out;
  }

  // The lines `args` shows, which must succeed.
  std::vector<std::string> shown(const std::vector<std::string>& args) const {
    const Output out = show(args);
    EXPECT_EQ(out.exit_code, 0) << out.err;
    EXPECT_EQ(out.err, "");
    return lines_of(out.out);
  }

  // The log's own lines of the records that `keep` picks.
  template <typename Keep>
  std::vector<std::string> records_where(Keep keep) const {
    std::vector<std::string> out;
    for (const std::string& line : records_) {
      if (keep(boost::json::parse(line).as_object())) out.push_back(line);
    }
    return out;
  }

  TempDir dir_;
  Daemon daemon_{dir_.path()};
  std::vector<std::string> records_;
};

TEST_F(AuditShowTest, ShowsEveryRecordOnALineOfItsOwn) {
  const std::vector<std::string> lines = shown({log().string()});
  ASSERT_EQ(lines.size(), records_.size());
  const std::regex shape(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z  (allow|deny )  [a-z-]+  \S+  uid=\d+ pid=\d+.*)");
  for (const std::string& line : lines) EXPECT_TRUE(std::regex_match(line, shape)) << line;
  const std::string uid = "uid=" + std::to_string(::getuid());
  const auto has = [&](const std::string& part) {
    return std::any_of(lines.begin(), lines.end(),
                       [&](const std::string& l) { return l.find(part) != std::string::npos; });
  };
  EXPECT_TRUE(has("  allow  add  main  " + uid)) << joined(lines);
  EXPECT_TRUE(has("  allow  sign  main  " + uid)) << joined(lines);
  EXPECT_TRUE(has("  GET /api/v5/account/balance  (")) << joined(lines);
  EXPECT_TRUE(has("  deny   sign  main  " + uid)) << joined(lines);
  EXPECT_TRUE(has("  POST /api/v5/asset/withdrawal  denied by: ")) << joined(lines);
  // The times are the log's own, UTC.
  const boost::json::object first = boost::json::parse(records_.front()).as_object();
  EXPECT_TRUE(lines.front().starts_with(member(first, "time") + "  ")) << lines.front();
}

TEST_F(AuditShowTest, FiltersByKeyTimeAndRefusalTogether) {
  const std::vector<std::string> denied = shown({log().string(), "--denied"});
  EXPECT_EQ(denied.size(), records_where([](const auto& r) { return member(r, "decision") == "deny"; }).size());
  EXPECT_FALSE(denied.empty());
  EXPECT_TRUE(all_of(denied, "  deny   ")) << denied.front();

  const std::vector<std::string> other = shown({log().string(), "--key", "other"});
  EXPECT_EQ(other.size(), records_where([](const auto& r) { return member(r, "key") == "other"; }).size());
  EXPECT_GE(other.size(), 3u);  // add, set-grants, sign
  EXPECT_TRUE(all_of(other, "  other  "));

  const std::vector<std::string> main_denied = shown({log().string(), "--key", "main", "--denied"});
  ASSERT_EQ(main_denied.size(), 1u);
  EXPECT_NE(main_denied.front().find(kWithdrawal), std::string::npos);
  EXPECT_TRUE(shown({log().string(), "--key", "other", "--denied"}).empty());

  EXPECT_EQ(shown({log().string(), "--since", "1h"}).size(), records_.size());
  EXPECT_EQ(shown({log().string(), "--since", "2d"}).size(), records_.size());
  EXPECT_TRUE(shown({log().string(), "--since", "2199-01-01T00:00:00.000Z"}).empty());
  // From the time of the last record on: the records of that millisecond or later.
  const std::string time = member(boost::json::parse(records_.back()).as_object(), "time");
  const std::size_t at_or_after = records_where([&](const auto& r) { return member(r, "time") >= time; }).size();
  EXPECT_GE(at_or_after, 1u);
  EXPECT_EQ(shown({log().string(), "--since", time}).size(), at_or_after);
  EXPECT_EQ(shown({log().string(), "--since", time, "--key", "nobody"}).size(), 0u);

  // --json: the chosen records' lines of the log, as they are.
  EXPECT_EQ(shown({log().string(), "--key", "other", "--json"}),
            records_where([](const auto& r) { return member(r, "key") == "other"; }));
}

TEST_F(AuditShowTest, AMalformedLineIsReportedByNumberAndTheOthersShown) {
  std::vector<std::string> edited = records_;
  edited.insert(edited.begin() + 2, "this is not JSON");
  edited.insert(edited.begin() + 4, R"({"time":"yesterday","decision":"allow","action":"sign","uid":1,"pid":2})");
  std::string text;
  for (const std::string& line : edited) text += line + "\n";
  const fs::path copy = dir_ / "edited.log";
  write_file(copy, text);
  const Output out = show({copy.string()});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_EQ(lines_of(out.out).size(), records_.size());
  EXPECT_TRUE(out.err.starts_with("okx-vault: " + copy.string() + ": line 3 is not an audit record (not JSON"))
      << out.err;
  EXPECT_TRUE(out.err.ends_with("; 2 such lines in all; every other line was read\n")) << out.err;
}

TEST_F(AuditShowTest, ControlCharactersInARecordAreShownEscaped) {
  const fs::path crafted = dir_ / "crafted.log";
  write_file(crafted,
             R"({"time":"2026-12-05T05:30:01.123Z","uid":7,"gid":7,"pid":9,"exe":"/bin/x\u001b]0;t\u0007",)"
             R"("action":"sign","key":"k","method":"GET","path":"/api/v5/\u001b[31mred\u00c2\u009b","decision":"deny",)"
             R"("rule":"builtin\r\nforged","repeats":3,"since":"2026-12-05T05:30:00.000Z"})"
             "\n");
  const std::vector<std::string> lines = shown({crafted.string()});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines.front(),
            "2026-12-05T05:30:01.123Z  deny   sign  k  uid=7 pid=9 /bin/x\\x1b]0;t\\x07  "
            "GET /api/v5/\\x1b[31mred\xc3\x82\\xc2\\x9b  denied by: builtin\\x0d\\x0aforged  "
            "[3 refusals since 2026-12-05T05:30:00.000Z]");
}

TEST_F(AuditShowTest, BadInputIsAClearErrorAndShowsNothing) {
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{}, 2, "needs FILE, the daemon's audit log: /var/lib/okx-vault/audit.log"},
      {{log().string(), "--since", "yesterday"}, 2, "--since takes a duration"},
      {{log().string(), "--since", "5w"}, 2, "--since takes a duration"},
      {{log().string(), "--head", std::string(64, 'a')}, 2, "--head is an option of okx-vault audit verify"},
      {{(dir_ / "missing.log").string()}, 5, "cannot read"},
  };
  for (const Case& c : cases) {
    const Output out = show(c.args);
    EXPECT_EQ(out.exit_code, c.exit_code) << out.err;
    EXPECT_NE(out.err.find(c.says), std::string::npos) << out.err;
    EXPECT_EQ(out.out, "");
  }
  const Output verify = run({cli_binary(), "audit", "verify", log().string(), "--denied"});
  EXPECT_EQ(verify.exit_code, 2);
  EXPECT_NE(verify.err.find("are options of okx-vault audit show"), std::string::npos) << verify.err;
}

}  // namespace
}  // namespace okxvault::test
