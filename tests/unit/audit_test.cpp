// The audit log as the daemon writes it: lines that are exactly the JSON a tree
// would serialize to, every member bounded, one unbroken chain across restarts
// and concurrent callers, everything recorded before flush() on disk after it,
// lines written by the request path or else by the backstop, repeated refusals
// summarised in a bounded table, a log that cannot be written saying so, and a
// file only its owner reads.

#include "daemon/audit/audit.hpp"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "daemon/audit/audit_fields.hpp"
#include "proto/audit_chain.hpp"
#include "tests/support/process.hpp"

namespace okxvault {
namespace {
namespace json = boost::json;

const Peer kBot{1001, 1001, 4242, {1001}, "/usr/bin/python3.11"};

// What the log held before it was formatted by hand: a tree, serialized.
std::string tree_text(std::string_view time, const Peer& peer, const AuditRecord& r) {
  return json::serialize(json::object{{"time", time},
                                      {"uid", peer.uid},
                                      {"gid", peer.gid},
                                      {"pid", peer.pid},
                                      {"exe", peer.exe},
                                      {"action", r.action},
                                      {"key", r.key},
                                      {"method", r.method},
                                      {"path", r.path},
                                      {"decision", r.allowed ? "allow" : "deny"},
                                      {"rule", r.rule}});
}

std::string fields_text(std::string_view time, const Peer& peer, const AuditRecord& r) {
  std::string out = "{";
  append_audit_fields(out, time, peer, r);
  return out + "}";
}

std::vector<std::string> lines_of(const std::filesystem::path& path) {
  std::istringstream in(test::read_file(path));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

audit_chain::Verdict verify(const std::filesystem::path& path) {
  std::ifstream in(path);
  return audit_chain::verify(in);
}

// Values that fit their member's limit are written whole, exactly as a tree would be.
TEST(AuditFields, AreByteForByteWhatBoostJsonSerializeWrites) {
  std::string controls;
  for (char c = 0; c < 0x20; ++c) controls += c;
  const std::vector<std::string> awkward = {
      "",
      "plain",
      R"(quote " backslash \ slash / both \")",
      controls,
      "del \x7f, latin \xc3\xa9, emoji \xf0\x9f\x94\x91, cjk \xe4\xb8\xad",
      "invalid utf-8 \xff\xfe\xc3 and a lone continuation \x80",
      std::string(40, '\x01'),  // every byte grows sixfold
      std::string(120, '"') + std::string(10, 'a'),
      "/api/v5/trade/order?instId=BTC-USDT&ordId=1\n\r\t\b\f",
  };
  const auto fits = [](const std::string& text, std::size_t limit) {
    return json::serialize(json::value(text)).size() - 2 <= limit ? text : std::string("short");
  };
  for (const std::string& text : awkward) {
    const std::string time = fits(text, kAuditTimeLimit), action = fits(text, kAuditActionLimit),
                      key = fits(text, kAuditKeyLimit), method = fits(text, kAuditMethodLimit),
                      path = fits(text, kAuditPathLimit), rule = fits(text, kAuditRuleLimit);
    const AuditRecord record{action, key, method, path, true, rule};
    Peer peer = kBot;
    peer.exe = fits(text, kAuditExeLimit);
    EXPECT_EQ(fields_text(time, peer, record), tree_text(time, peer, record)) << "for " << json::serialize(text);
  }
  const Peer unknown;  // uid and gid -1, pid 0
  const AuditRecord denied{"sign", "main", "GET", "/", false, "no allow rule matches"};
  EXPECT_EQ(fields_text("2026-11-25T21:29:17.503Z", unknown, denied),
            tree_text("2026-11-25T21:29:17.503Z", unknown, denied));
  const Peer big{4'000'000'000u, 0, 2'147'483'647, {}, {}};
  EXPECT_EQ(fields_text("t", big, denied), tree_text("t", big, denied));
}

std::string blake2b_hex(std::string_view text) {
  unsigned char hash[crypto_generichash_BYTES];
  crypto_generichash(hash, sizeof hash, reinterpret_cast<const unsigned char*>(text.data()), text.size(), nullptr, 0);
  char hex[2 * sizeof hash + 1];
  return sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
}

// A 4 KiB path keeps its first 256 bytes, and says it was cut, how long it was
// and its hash, which tells which path it was.
TEST(AuditFields, ALongValueKeepsAPrefixItsSizeAndItsHash) {
  const std::string path = "/api/v5/trade/order?pad=" + std::string(4096 - 24, 'p');
  const std::string key(3000, 'k');
  const json::object line = json::parse(fields_text("t", kBot, {"sign", key, "GET", path, false, "r"})).as_object();
  EXPECT_EQ(line.at("path").as_string(), path.substr(0, kAuditPathLimit));
  EXPECT_EQ(line.at("path_cut").at("bytes").as_int64(), 4096);
  EXPECT_EQ(line.at("path_cut").at("blake2b").as_string(), blake2b_hex(path));
  EXPECT_EQ(line.at("key").as_string(), key.substr(0, kAuditKeyLimit));
  EXPECT_EQ(line.at("key_cut").at("bytes").as_int64(), 3000);
  EXPECT_EQ(line.at("key_cut").at("blake2b").as_string(), blake2b_hex(key));
  EXPECT_FALSE(line.contains("rule_cut")) << "a value that fits is not marked";
  const std::string fitting(kAuditPathLimit, 'p');
  EXPECT_FALSE(
      json::parse(fields_text("t", kBot, {"sign", "k", "GET", fitting, false, "r"})).as_object().contains("path_cut"));
}

// The limit counts the bytes written, escapes included, and the cut falls between
// characters: a reader finds neither half an escape nor half a character.
TEST(AuditFields, ACutCountsEscapesAndNeverSplitsACharacter) {
  const auto path_of = [](const std::string& value) {
    const std::string text = fields_text("t", kBot, {"sign", "k", "GET", value, false, "r"});
    const std::size_t from = text.find(R"(,"path":)") + 8, to = text.find(R"(,"path_cut")");
    return std::pair{std::string(json::parse(text).at("path").as_string()), text.substr(from, to - from)};
  };
  const auto [quotes, quotes_text] = path_of(std::string(1000, '"'));
  EXPECT_EQ(quotes, std::string(kAuditPathLimit / 2, '"'));
  EXPECT_LE(quotes_text.size(), kAuditPathLimit + 2);
  const auto [controls, controls_text] = path_of(std::string(1000, '\x01'));
  EXPECT_EQ(controls.size(), kAuditPathLimit / 6);
  EXPECT_LE(controls_text.size(), kAuditPathLimit + 2);
  std::string accents;
  for (int i = 0; i < 300; ++i) accents += "\xc3\xa9";  // é, two bytes
  for (const std::string& prefix : {std::string(), std::string("x")}) {
    const auto [kept, kept_text] = path_of(prefix + accents);
    EXPECT_EQ((kept.size() - prefix.size()) % 2, 0u) << "a character was cut in two";
    EXPECT_LE(kept_text.size(), kAuditPathLimit + 2);
  }
}

// Every member at its limit and cut, in a summary: the line stays within the
// stated maximum, whatever the peer's executable, key, path and rule are.
TEST(AuditFields, NoLineIsLongerThanTheStatedMaximum) {
  std::size_t longest = 0;
  for (const char fill : {'a', '"', '\x01', '\n'}) {
    const std::string big(100'000, fill);
    Peer peer{4'000'000'000u, 4'000'000'000u, -2'147'483'647 - 1, {}, big};
    const AuditRepeats repeats{~std::uint64_t{0}, big, true};
    std::string fields;
    append_audit_fields(fields, big, peer, {big, big, big, big, false, big}, &repeats);
    std::string line;
    const audit_chain::Key key(SecretBytes::random(32));  // a keyed line is the longer
    audit_chain::seal_into(line, fields, audit_chain::kGenesis, &key);
    longest = std::max(longest, line.size() + 1);
    EXPECT_NO_THROW(json::parse(line));
  }
  EXPECT_LE(longest, kAuditMaxLine);
}

// Two lines an earlier daemon wrote (format 1, their fields from a JSON tree,
// sealed into a string each): the same records still make the same members,
// byte for byte, now in format-2 lines; and the old lines still verify.
TEST(AuditLine, CarriesTheMembersEarlierVersionsWrote) {
  const std::string written[] = {
      R"--({"prev":"0000000000000000000000000000000000000000000000000000000000000000","time":"2026-11-26T06:18:50.733Z","uid":0,"gid":0,"pid":25861,"exe":"/usr/bin/curl","action":"sign","key":"k00000","method":"POST","path":"/api/v5/trade/order?a=\"b\\c","decision":"allow","rule":"user 0 (admin)","hash":"f16b6f8189db34d7263ffd7171e2be13c1d635905f5e1f797dbe1d8a2688fada"})--",
      R"--({"prev":"f16b6f8189db34d7263ffd7171e2be13c1d635905f5e1f797dbe1d8a2688fada","time":"2026-11-26T06:18:50.794Z","uid":0,"gid":0,"pid":25862,"exe":"/usr/bin/curl","action":"sign","key":"nokey","method":"GET","path":"/api/v5/account/balance","decision":"deny","rule":"key_not_found","hash":"8e8ffc1b2b96338585124aab90735c424766930bd17c73b0f4b9e06abc33a611"})--",
  };
  const Peer curl1{0, 0, 25861, {}, "/usr/bin/curl"}, curl2{0, 0, 25862, {}, "/usr/bin/curl"};
  std::string log;
  std::string fields;
  append_audit_fields(fields, "2026-11-26T06:18:50.733Z", curl1,
                      {"sign", "k00000", "POST", R"(/api/v5/trade/order?a="b\c)", true, "user 0 (admin)"});
  EXPECT_EQ(fields, audit_chain::parse(written[0]).value().fields);
  const audit_chain::Hash first = audit_chain::seal_into(log, fields, audit_chain::kGenesis, nullptr);
  log += '\n';
  fields.clear();
  append_audit_fields(fields, "2026-11-26T06:18:50.794Z", curl2,
                      {"sign", "nokey", "GET", "/api/v5/account/balance", false, "key_not_found"});
  EXPECT_EQ(fields, audit_chain::parse(written[1]).value().fields);
  const audit_chain::Hash second = audit_chain::seal_into(log, fields, audit_chain::view(first), nullptr);
  EXPECT_EQ(log, R"({"prev":")" + std::string(audit_chain::kGenesis) + R"(","v":2,)" +
                     std::string(audit_chain::parse(written[0]).value().fields) + R"(,"hash":")" +
                     std::string(audit_chain::view(first)) + R"("})" + "\n" + R"({"prev":")" +
                     std::string(audit_chain::view(first)) + R"(","v":2,)" +
                     std::string(audit_chain::parse(written[1]).value().fields) + R"(,"hash":")" +
                     std::string(audit_chain::view(second)) + R"("})");
  std::istringstream earlier(written[0] + "\n" + written[1] + "\n");
  const audit_chain::Verdict verdict = audit_chain::verify(earlier);
  EXPECT_TRUE(verdict.ok) << verdict.reason;
  EXPECT_EQ(verdict.lines, 2u);
}

TEST(Audit, ALineCarriesTheRecordBetweenPrevAndHash) {
  test::TempDir dir;
  {
    Audit audit(dir / "audit.log");
    audit.record(kBot, {"sign", "main", "POST", "/api/v5/trade/order", true, "user bot"});
  }
  const auto lines = lines_of(dir / "audit.log");
  ASSERT_EQ(lines.size(), 1u);
  const json::object line = json::parse(lines[0]).as_object();
  EXPECT_EQ(line.at("prev").as_string(), audit_chain::kGenesis);
  EXPECT_EQ(line.at("exe").as_string(), "/usr/bin/python3.11");
  EXPECT_EQ(line.at("path").as_string(), "/api/v5/trade/order");
  EXPECT_EQ(line.at("decision").as_string(), "allow");
  EXPECT_EQ(line.at("rule").as_string(), "user bot");
  EXPECT_EQ(line.at("hash").as_string(), audit_chain::hash_of(lines[0]));
  EXPECT_TRUE(verify(dir / "audit.log").ok);
}

TEST(Audit, ARestartContinuesTheChainOfTheLastLine) {
  test::TempDir dir;
  for (int run = 0; run < 3; ++run) {
    Audit audit(dir / "audit.log");
    audit.record(kBot, {"sign", "main", "GET", "/run/" + std::to_string(run) + "/a", true, "user bot"});
    audit.record(kBot, {"sign", "main", "GET", "/run/" + std::to_string(run) + "/b", false, "no allow rule matches"});
  }
  const auto lines = lines_of(dir / "audit.log");
  ASSERT_EQ(lines.size(), 6u);
  const auto verdict = verify(dir / "audit.log");
  EXPECT_TRUE(verdict.ok) << "line " << verdict.first_bad << ": " << verdict.reason;
  EXPECT_EQ(lines[2].substr(9, 64), audit_chain::hash_of(lines[1])) << "the second run starts where the first ended";
}

// A crash can leave the last line cut short: the next start ends it, so the
// verdict names that line, and the new lines chain on from the last whole one.
TEST(Audit, ALineCutShortByACrashIsNamedAndTheChainGoesOn) {
  test::TempDir dir;
  {
    Audit audit(dir / "audit.log");
    audit.record(kBot, {"sign", "main", "GET", "/a", true, "user bot"});
    audit.record(kBot, {"sign", "main", "GET", "/b", true, "user bot"});
  }
  const auto whole = lines_of(dir / "audit.log");
  ASSERT_EQ(whole.size(), 2u);
  test::write_file(dir / "audit.log", whole[0] + "\n" + whole[1].substr(0, 40));
  {
    Audit audit(dir / "audit.log");
    audit.record(kBot, {"sign", "main", "GET", "/c", true, "user bot"});
  }
  const auto lines = lines_of(dir / "audit.log");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1], whole[1].substr(0, 40));
  EXPECT_EQ(lines[2].substr(9, 64), audit_chain::hash_of(lines[0])) << "the chain goes on from the last whole line";
  const auto verdict = verify(dir / "audit.log");
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.first_bad, 2u) << verdict.reason;
}

// Looked at the moment flush() returns, before the writer thread could catch up
// with a flush() that did not wait for it.
TEST(Audit, FlushReturnsOnlyOnceEveryRecordSoFarIsInTheFile) {
  test::TempDir dir;
  Audit audit(dir / "audit.log");
  std::uintmax_t size = 0;
  for (int i = 0; i < 200; ++i) {
    audit.record(kBot, {"sign", "main", "GET", "/", true, "user bot"});
    audit.flush();
    const std::uintmax_t now = std::filesystem::file_size(dir / "audit.log");
    ASSERT_GT(now, size) << "record " << i << " is not in the file after flush()";
    size = now;
  }
}

// The first line after a quiet spell goes out with the reply's write_due, not
// with the backstop, which waits for the requests for some milliseconds first.
TEST(Audit, ALineAfterAQuietSpellIsWrittenByWriteDue) {
  test::TempDir dir;
  Audit audit(dir / "audit.log");
  audit.record(kBot, {"sign", "main", "GET", "/first", true, "user bot"});
  audit.write_due();
  EXPECT_NE(test::read_file(dir / "audit.log").find("/first"), std::string::npos);
}

// Lines that came too soon after a write to be due, with no request after them
// to write them: the backstop writes them, with no flush() and no write_due().
TEST(Audit, LinesLeftWhenRequestsStopAreWrittenByTheBackstop) {
  test::TempDir dir;
  Audit audit(dir / "audit.log");
  audit.record(kBot, {"sign", "main", "GET", "/first", true, "user bot"});
  audit.write_due();
  audit.record(kBot, {"sign", "main", "GET", "/last", true, "user bot"});
  bool written = false;
  for (int i = 0; i < 500 && !written; ++i) {  // a liveness bound, not a time target
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    written = test::read_file(dir / "audit.log").find("/last") != std::string::npos;
  }
  EXPECT_TRUE(written);
  EXPECT_TRUE(verify(dir / "audit.log").ok);
}

// Several threads record at once, more than the pending bound holds, each flushing now
// and then: every flush finds its thread's records on disk, and in the end the
// file is one chain holding every record, each thread's in its order.
TEST(Audit, FlushWritesEverythingRecordedBeforeItWhileOthersRecord) {
  test::TempDir dir;
  constexpr int kThreads = 4, kEach = 3000, kFlushEvery = 1000;
  Audit audit(dir / "audit.log");
  std::vector<std::string> missing(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 1; i <= kEach; ++i) {
        const std::string path = "/t" + std::to_string(t) + "/" + std::to_string(i) + "/";
        audit.record(kBot, {"sign", "main", "GET", path, true, "user bot"});
        if (i % kFlushEvery != 0) continue;
        audit.flush();
        if (test::read_file(dir / "audit.log").find(path) == std::string::npos) missing[t] += path + " ";
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(missing[t], "") << "not on disk after flush()";

  const auto lines = lines_of(dir / "audit.log");
  ASSERT_EQ(lines.size(), std::size_t{kThreads * kEach});
  const auto verdict = verify(dir / "audit.log");
  EXPECT_TRUE(verdict.ok) << "line " << verdict.first_bad << ": " << verdict.reason;
  std::vector<int> last(kThreads, 0);
  for (const std::string& line : lines) {
    const std::string path(json::parse(line).at("path").as_string());
    const int t = std::stoi(path.substr(2));
    const int i = std::stoi(path.substr(path.find('/', 1) + 1));
    EXPECT_EQ(i, last[t] + 1) << line;
    last[t] = i;
  }
}

TEST(Audit, TheLogIsReadableByItsOwnerOnly) {
  test::TempDir dir;
  { Audit(dir / "audit.log").record(kBot, {"list", {}, {}, {}, true, {}}); }
  struct stat st {};
  ASSERT_EQ(::stat((dir / "audit.log").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST(Audit, ASymlinkInPlaceOfTheLogIsRefusedAndItsTargetUntouched) {
  test::TempDir dir;
  std::ofstream(dir / "elsewhere") << "untouched\n";
  std::filesystem::create_symlink(dir / "elsewhere", dir / "audit.log");
  EXPECT_THROW(Audit(dir / "audit.log"), Error);
  EXPECT_EQ(test::read_file(dir / "elsewhere"), "untouched\n");
}

// A log whose every write fails (a full disk, here /dev/full's device node): the
// caller carries on, the log says it cannot take more (so nothing is signed), and
// flush() says the lines are not written rather than waiting for room.
TEST(Audit, AnUnwritableLogSaysSoAndNeverBlocksTheCaller) {
  test::TempDir dir;
  if (::mknod((dir / "audit.log").c_str(), S_IFCHR | 0600, ::makedev(1, 7)) != 0) {
    GTEST_SKIP() << "cannot create a device node (not root)";
  }
  Audit audit(dir / "audit.log");
  EXPECT_TRUE(audit.writable());
  for (int i = 0; i < 100; ++i) audit.record(kBot, {"sign", "main", "GET", "/", true, "user bot"});
  EXPECT_FALSE(audit.flush());
  EXPECT_FALSE(audit.writable());
  try {
    audit.require_writable();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::audit_unavailable);
  }
  // Past the pending bound: refusals are counted, not kept; the caller never waits.
  for (int i = 0; i < 2000; ++i) audit.record(kBot, {"sign", "main", "GET", std::string(2000, 'p'), true, "user bot"});
  for (int i = 0; i < 20'000; ++i) {
    audit.record(kBot, {"sign", "key-" + std::to_string(i), "GET", std::string(2000, 'p'), false, "r"});
  }
  audit.record(kBot, {"revoke", "main", {}, {}, true, {}});  // an admin's change is kept all the same
  EXPECT_FALSE(audit.flush());
}

std::vector<json::object> records_of(const std::filesystem::path& path) {
  std::vector<json::object> records;
  for (const std::string& line : lines_of(path)) records.push_back(json::parse(line).as_object());
  return records;
}

std::uint64_t refusals_in(const std::vector<json::object>& records) {
  std::uint64_t count = 0;
  for (const json::object& r : records) {
    if (r.at("decision").as_string() != "deny") continue;
    const json::value* repeats = r.if_contains("repeats");
    count += repeats != nullptr ? repeats->to_number<std::uint64_t>() : 1;
  }
  return count;
}

// The same refusal a thousand times: the first is written in full, the others
// are one summary line, with their count, the time of the first of them and the
// last one's path.
TEST(Audit, ARepeatedRefusalIsWrittenOnceAndThenSummarised) {
  test::TempDir dir;
  {
    Audit audit(dir / "audit.log");
    for (int i = 0; i < 1000; ++i) {
      audit.record(kBot, {"sign", "main", "POST", "/api/v5/asset/withdrawal?" + std::to_string(i), false,
                          "builtin deny POST /api/v5/asset/withdrawal"});
    }
    EXPECT_TRUE(audit.flush());
  }
  const auto records = records_of(dir / "audit.log");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].at("path").as_string(), "/api/v5/asset/withdrawal?0");
  EXPECT_FALSE(records[0].contains("repeats"));
  EXPECT_EQ(records[1].at("repeats").as_int64(), 999);
  EXPECT_EQ(records[1].at("path").as_string(), "/api/v5/asset/withdrawal?999");
  EXPECT_EQ(records[1].at("rule").as_string(), "builtin deny POST /api/v5/asset/withdrawal");
  EXPECT_EQ(records[1].at("decision").as_string(), "deny");
  EXPECT_TRUE(records[1].contains("since"));
  EXPECT_FALSE(records[1].contains("mixed"));
  EXPECT_TRUE(verify(dir / "audit.log").ok);
}

// A window that ends writes its summary by itself, with no flush; the next
// refusal then opens a new window and is written in full again.
TEST(Audit, AWindowThatEndsWritesItsSummaryWithoutAFlush) {
  test::TempDir dir;
  Audit audit(dir / "audit.log", std::chrono::milliseconds(20));
  for (int i = 0; i < 10; ++i) audit.record(kBot, {"sign", "main", "GET", "/a", false, "r"});
  bool summarised = false;
  for (int i = 0; i < 500 && !summarised; ++i) {  // a liveness bound, not a time target
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    summarised = test::read_file(dir / "audit.log").find(R"("repeats":9)") != std::string::npos;
  }
  ASSERT_TRUE(summarised);
  audit.record(kBot, {"sign", "main", "GET", "/b", false, "r"});
  EXPECT_TRUE(audit.flush());
  const auto records = records_of(dir / "audit.log");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[2].at("path").as_string(), "/b");
  EXPECT_FALSE(records[2].contains("repeats"));
}

// Allowed records are never summarised; refusals of another pid, key or rule
// are groups of their own, each written in full first.
TEST(Audit, OnlyTheSameRefusalIsSummarised) {
  test::TempDir dir;
  Peer other = kBot;
  other.pid = 4343;
  {
    Audit audit(dir / "audit.log");
    for (int i = 0; i < 10; ++i) {
      audit.record(kBot, {"sign", "main", "GET", "/a", true, "user bot"});
      audit.record(kBot, {"sign", "main", "GET", "/a", false, "r1"});
      audit.record(kBot, {"sign", "main", "GET", "/a", false, "r2"});
      audit.record(kBot, {"sign", "other", "GET", "/a", false, "r1"});
      audit.record(other, {"sign", "main", "GET", "/a", false, "r1"});
    }
  }
  const auto records = records_of(dir / "audit.log");
  int allowed = 0, full = 0, summaries = 0;
  for (const json::object& r : records) {
    if (r.at("decision").as_string() == "allow") {
      ++allowed;
    } else if (r.contains("repeats")) {
      ++summaries;
      EXPECT_EQ(r.at("repeats").as_int64(), 9);
    } else {
      ++full;
    }
  }
  EXPECT_EQ(allowed, 10);
  EXPECT_EQ(full, 4);
  EXPECT_EQ(summaries, 4);
  EXPECT_EQ(refusals_in(records), 40u);
}

// A peer that varies its refusals gets a bounded number of groups; the rest are
// counted in one mixed summary. Another peer still gets its own group.
TEST(Audit, APeerCannotGrowTheTableOfRepeatedRefusals) {
  test::TempDir dir;
  Peer other = kBot;
  other.uid = 1002;
  {
    Audit audit(dir / "audit.log");
    for (int i = 0; i < 5000; ++i) audit.record(kBot, {"sign", "key-" + std::to_string(i), "GET", "/", false, "r"});
    audit.record(other, {"sign", "main", "GET", "/", false, "r"});
  }
  const auto records = records_of(dir / "audit.log");
  std::size_t full = 0, mixed = 0;
  bool other_in_full = false;
  for (const json::object& r : records) {
    if (r.contains("mixed")) {
      ++mixed;
    } else if (!r.contains("repeats")) {
      ++full;
      other_in_full = other_in_full || r.at("uid").as_int64() == 1002;
    }
  }
  EXPECT_LE(full, 64u) << "one peer filled the log with refusals in full";
  EXPECT_EQ(mixed, 1u);
  EXPECT_TRUE(other_in_full);
  EXPECT_EQ(refusals_in(records), 5001u);
  EXPECT_TRUE(verify(dir / "audit.log").ok);
}

}  // namespace
}  // namespace okxvault
