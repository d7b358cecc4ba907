// The audit log's hash chain: any edit, deletion, reordering or cut is found, at
// the line where it happened; with the audit key, a chain recomputed by anyone
// else is found too.

#include "proto/audit_chain.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <array>
#include <optional>
#include <sstream>
#include <vector>

#include "tests/support/process.hpp"

namespace okxvault {
namespace {

// Appends n lines to `lines`, keyed with `key` if any.
void extend(std::vector<std::string>& lines, int n, const audit_chain::Key* key = nullptr) {
  std::string prev = lines.empty() ? std::string(audit_chain::kGenesis) : audit_chain::hash_of(lines.back());
  for (int i = 0; i < n; ++i) {
    std::string line;
    const std::string fields = R"("action":"sign","n":)" + std::to_string(lines.size());
    prev = audit_chain::view(audit_chain::seal_into(line, fields, prev, key));
    lines.push_back(line);
  }
}

std::vector<std::string> chain(int n, const audit_chain::Key* key = nullptr) {
  std::vector<std::string> lines;
  extend(lines, n, key);
  return lines;
}

audit_chain::Verdict verify(const std::vector<std::string>& lines, std::optional<std::string_view> head = std::nullopt,
                            const audit_chain::Key* key = nullptr) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  std::istringstream in(text);
  return audit_chain::verify(in, head, key);
}

TEST(AuditChain, AnIntactChainVerifies) {
  const auto verdict = verify(chain(5));
  EXPECT_TRUE(verdict.ok) << verdict.reason;
  EXPECT_EQ(verdict.lines, 5u);
  EXPECT_TRUE(verify({}).ok);
}

TEST(AuditChain, LinesAreJsonObjectsWithPrevFirstAndHashLast) {
  const auto lines = chain(2);
  EXPECT_TRUE(lines[0].starts_with(std::string(R"({"prev":")") + std::string(audit_chain::kGenesis) + R"(","v":2,)"));
  EXPECT_NE(lines[0].find(R"("action":"sign","n":0,"hash":")"), std::string::npos);
  EXPECT_EQ(lines[1].substr(9, 64), audit_chain::hash_of(lines[0]));
}

TEST(AuditChain, SealingAppendsToWhatTheBufferHoldsAndHashesOnlyTheNewLine) {
  std::string out = "earlier bytes\n";
  const audit_chain::Hash hash = audit_chain::seal_into(out, "", audit_chain::kGenesis, nullptr);
  ASSERT_TRUE(out.starts_with("earlier bytes\n"));
  const std::string line = out.substr(14);
  EXPECT_EQ(line, std::string(R"({"prev":")") + std::string(audit_chain::kGenesis) + R"(","v":2,"hash":")" +
                      std::string(audit_chain::view(hash)) + "\"}");
  EXPECT_EQ(audit_chain::hash_of(line), audit_chain::view(hash));
  EXPECT_TRUE(verify({line}).ok);
}

TEST(AuditChain, AnEditedLineFailsAtThatLine) {
  auto lines = chain(5);
  lines[2].replace(lines[2].find("\"n\":2"), 5, "\"n\":7");
  const auto verdict = verify(lines);
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.first_bad, 3u);
  EXPECT_NE(verdict.reason.find("edited"), std::string::npos);
}

TEST(AuditChain, ADeletedLineFailsWhereItWas) {
  auto lines = chain(5);
  lines.erase(lines.begin() + 2);
  const auto verdict = verify(lines);
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.first_bad, 3u);
}

TEST(AuditChain, ReorderedLinesFailAtTheFirstMovedLine) {
  auto lines = chain(5);
  std::swap(lines[1], lines[3]);
  const auto verdict = verify(lines);
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.first_bad, 2u);
}

TEST(AuditChain, CuttingTheStartIsFound) {
  auto lines = chain(5);
  lines.erase(lines.begin());
  const auto verdict = verify(lines);
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.first_bad, 1u);
}

// A rotated log: the new file starts with the daemon's reopen-log record, whose
// prev is the moved file's last hash.
TEST(AuditChain, AFileThatContinuesARotatedLogStartsWithAReopenRecord) {
  const auto moved = chain(3);
  const std::string moved_head = audit_chain::hash_of(moved.back());
  std::vector<std::string> next(1);
  audit_chain::seal_into(next[0], R"("time":"2026-12-05T05:30:01.123Z","action":"reopen-log","decision":"allow")",
                         moved_head, nullptr);
  extend(next, 2);
  const auto moved_verdict = verify(moved);
  EXPECT_EQ(moved_verdict.last_hash, moved_head);
  EXPECT_EQ(moved_verdict.follows, "");

  auto verdict = verify(next);
  EXPECT_TRUE(verdict.ok) << verdict.reason;
  EXPECT_EQ(verdict.follows, moved_head);
  EXPECT_EQ(verdict.last_hash, audit_chain::hash_of(next.back()));

  std::string text;
  for (const auto& line : next) text += line + "\n";
  std::istringstream linked(text);
  verdict = audit_chain::verify(linked, std::nullopt, nullptr, SIZE_MAX, moved_head);
  EXPECT_TRUE(verdict.ok) << verdict.reason;
  std::istringstream other(text);
  verdict = audit_chain::verify(other, std::nullopt, nullptr, SIZE_MAX, std::string(64, 'a'));
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.first_bad, 1u);
  // A fresh log given as following another one is not that one's continuation either.
  std::string fresh;
  for (const auto& line : moved) fresh += line + "\n";
  std::istringstream not_rotated(fresh);
  EXPECT_FALSE(audit_chain::verify(not_rotated, std::nullopt, nullptr, SIZE_MAX, moved_head).ok);

  // Cut after its reopen record, a file starts with neither the chain nor a reopen record.
  next.erase(next.begin());
  verdict = verify(next);
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.first_bad, 1u);
  // Nor does a refused reopen-log, or a line that only names the action in a value.
  for (const std::string fields :
       {R"("action":"reopen-log","decision":"deny")", R"("path":"\"action\":\"reopen-log\"")"}) {
    std::vector<std::string> forged(1);
    audit_chain::seal_into(forged[0], fields, moved_head, nullptr);
    EXPECT_FALSE(verify(forged).ok) << fields;
  }
}

TEST(AuditChain, AForeignLineIsFound) {
  auto lines = chain(3);
  lines.insert(lines.begin() + 1, R"({"action":"sign"})");
  const auto verdict = verify(lines);
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.first_bad, 2u);
}

TEST(AuditChain, AHeadMustBeInTheLogAtOrBeforeTheFirstBreak) {
  auto lines = chain(5);
  const std::string head = audit_chain::hash_of(lines[2]);
  auto verdict = verify(lines, head);
  EXPECT_TRUE(verdict.ok) << verdict.reason;
  EXPECT_EQ(verdict.head_line, 3u);

  lines.resize(2);  // cut before the head: the chain alone is intact
  EXPECT_TRUE(verify(lines).ok);
  verdict = verify(lines, head);
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.first_bad, 3u);
  EXPECT_NE(verdict.reason.find("is not in the log"), std::string::npos) << verdict.reason;

  lines = chain(5);
  lines[4].replace(lines[4].find("\"n\":4"), 5, "\"n\":9");  // a break after the head still fails
  verdict = verify(lines, head);
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.first_bad, 5u);
}

TEST(AuditChain, KeyedLinesEndInAMacOfTheirHashThatOnlyTheKeyChecks) {
  const audit_chain::Key key(SecretBytes::random(32));
  auto lines = chain(4, &key);
  EXPECT_NE(lines[0].find(R"("n":0,"hash":")"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find(R"(","mac":")"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[1].substr(9, 64), audit_chain::hash_of(lines[0]));

  auto verdict = verify(lines, std::nullopt, &key);
  EXPECT_TRUE(verdict.ok) << verdict.reason;
  EXPECT_EQ(verdict.keyed, 4u);
  EXPECT_TRUE(verdict.macs_checked);

  verdict = verify(lines);  // without the key: the hashes, as for any line
  EXPECT_TRUE(verdict.ok) << verdict.reason;
  EXPECT_EQ(verdict.keyed, 4u);
  EXPECT_FALSE(verdict.macs_checked);

  const audit_chain::Key other(SecretBytes::random(32));
  verdict = verify(lines, std::nullopt, &other);
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.first_bad, 1u);
  EXPECT_NE(verdict.reason.find("not the audit key's"), std::string::npos) << verdict.reason;

  lines[2].replace(lines[2].find("\"n\":2"), 5, "\"n\":7");  // an edit is found without the key
  verdict = verify(lines);
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.first_bad, 3u);
  EXPECT_NE(verdict.reason.find("edited"), std::string::npos) << verdict.reason;
}

// What an attacker without the key does: deletes a line and recomputes the rest
// of the chain, with a key of their own, or without macs.
TEST(AuditChain, AChainRecomputedWithoutTheKeyIsFoundOrNamedAsUnkeyed) {
  const audit_chain::Key key(SecretBytes::random(32));
  const audit_chain::Key forger(SecretBytes::random(32));
  for (const audit_chain::Key* rewrite_with : {&forger, static_cast<const audit_chain::Key*>(nullptr)}) {
    std::vector<std::string> lines = chain(2, &key);
    extend(lines, 3, rewrite_with);
    const auto verdict = verify(lines, std::nullopt, &key);
    if (rewrite_with != nullptr) {
      EXPECT_FALSE(verdict.ok);
      EXPECT_EQ(verdict.first_bad, 3u);
    } else {
      // Lines without a mac after keyed ones verify, but are named: no key vouches for them.
      EXPECT_TRUE(verdict.ok) << verdict.reason;
      EXPECT_EQ(verdict.unkeyed_tail, 3u);
    }
  }
}

TEST(AuditChain, AnUnkeyedLogGoesOnKeyedAndTheKeyedLinesVouchForIt) {
  const audit_chain::Key key(SecretBytes::random(32));
  std::vector<std::string> lines = chain(3);
  extend(lines, 2, &key);
  auto verdict = verify(lines, std::nullopt, &key);
  EXPECT_TRUE(verdict.ok) << verdict.reason;
  EXPECT_EQ(verdict.lines, 5u);
  EXPECT_EQ(verdict.keyed, 2u);
  EXPECT_EQ(verdict.unkeyed_tail, 0u);

  // A line of the unkeyed start deleted and every hash after it recomputed, as
  // anyone can; the keyed lines keep their macs, which no one else can redo.
  lines.erase(lines.begin() + 1);
  std::vector<std::string> rewritten;
  for (const std::string& line : lines) {
    const audit_chain::Sealed old = audit_chain::parse(line).value();
    std::string sealed;
    audit_chain::seal_into(sealed, old.fields,
                           rewritten.empty() ? std::string(audit_chain::kGenesis)
                                             : audit_chain::hash_of(rewritten.back()),
                           nullptr);
    if (!old.mac.empty()) sealed.insert(sealed.size() - 2, R"(","mac":")" + std::string(old.mac));
    rewritten.push_back(sealed);
  }
  verdict = verify(rewritten);
  EXPECT_TRUE(verdict.ok) << "without the key, the rewrite looks whole: " << verdict.reason;
  verdict = verify(rewritten, std::nullopt, &key);
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.first_bad, 3u);
}

// A line's hash and mac, computed with libsodium's SHA-256 and HMAC-SHA-256,
// not the Nettle code that seals: what PROTOCOL.md says a format-2 line is.
TEST(AuditChain, AFormat2LineIsSha256OfItsBodyAndHmacSha256OfItsHash) {
  const audit_chain::Key key(SecretBytes::random(32));
  for (const std::string& line : chain(3, &key)) {
    const audit_chain::Sealed sealed = audit_chain::parse(line).value();
    std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
    crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(sealed.body.data()), sealed.body.size());
    std::array<char, 65> hex{};
    sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
    EXPECT_EQ(sealed.hash, std::string_view(hex.data(), 64)) << line;
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, key.bytes().data(), key.bytes().size());
    crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(sealed.hash.data()),
                                  sealed.hash.size());
    crypto_auth_hmacsha256_final(&state, digest.data());
    sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
    EXPECT_EQ(sealed.mac, std::string_view(hex.data(), 64)) << line;
  }
}

// tests/data/audit-v1.log: six format-1 lines (BLAKE2b), the last three keyed
// with the bytes 0, 1, ..., 31, as okx-vaultd 0.1.0 wrote them before format 2.
// They still verify, macs included, and a log goes on from them in format 2.
audit_chain::Key fixture_key() {
  SecretBytes bytes(32);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes.data()[i] = static_cast<unsigned char>(i);
  return audit_chain::Key(std::move(bytes));
}

std::vector<std::string> format1_lines() {
  std::vector<std::string> lines;
  std::istringstream in(test::read_file(std::string(OKXVAULT_TEST_DATA) + "/audit-v1.log"));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(AuditChain, Format1LinesStillVerifyWithTheirMacs) {
  const audit_chain::Key key = fixture_key();
  std::vector<std::string> lines = format1_lines();
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0].find(R"("v":)"), std::string::npos) << "format 1 has no version member";
  auto verdict = verify(lines, std::nullopt, &key);
  EXPECT_TRUE(verdict.ok) << verdict.reason;
  EXPECT_EQ(verdict.keyed, 3u);
  EXPECT_TRUE(verdict.macs_checked);
  EXPECT_TRUE(audit_chain::parse(lines[1]).value().fields.starts_with(R"("time":)"));

  const audit_chain::Key other(SecretBytes::random(32));
  verdict = verify(lines, std::nullopt, &other);
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.first_bad, 4u);

  lines[1].replace(lines[1].find("refuse"), 6, "allow!");
  verdict = verify(lines);
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.first_bad, 2u);
  EXPECT_NE(verdict.reason.find("edited"), std::string::npos) << verdict.reason;
}

TEST(AuditChain, ALogOfFormat1GoesOnInFormat2AsOneChain) {
  const audit_chain::Key key = fixture_key();
  std::vector<std::string> lines = format1_lines();
  extend(lines, 3, &key);
  EXPECT_EQ(lines[6].substr(9, 64), audit_chain::hash_of(lines[5]));
  auto verdict = verify(lines, audit_chain::hash_of(lines[4]), &key);
  EXPECT_TRUE(verdict.ok) << verdict.reason;
  EXPECT_EQ(verdict.keyed, 6u);
  EXPECT_EQ(verdict.head_line, 5u);

  // A format-1 line relabelled as format 2 (or the reverse) is hashed the other
  // way, and fails as an edit.
  std::vector<std::string> relabelled = lines;
  relabelled[2].insert(9 + 64 + 1, R"(,"v":2)");
  verdict = verify(relabelled);
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.first_bad, 3u);
  relabelled = lines;
  relabelled[7].erase(9 + 64 + 1, 6);
  verdict = verify(relabelled);
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.first_bad, 8u);
}

}  // namespace
}  // namespace okxvault
