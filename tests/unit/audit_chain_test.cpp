// The audit log's hash chain: any edit, deletion, reordering or cut is found, at
// the line where it happened.

#include "proto/audit_chain.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <sstream>
#include <vector>

namespace okxvault {
namespace {

std::vector<std::string> chain(int n) {
  std::vector<std::string> lines;
  std::string prev(audit_chain::kGenesis);
  for (int i = 0; i < n; ++i) {
    std::string line;
    prev = audit_chain::view(audit_chain::seal_into(line, R"("action":"sign","n":)" + std::to_string(i), prev));
    lines.push_back(line);
  }
  return lines;
}

audit_chain::Verdict verify(const std::vector<std::string>& lines,
                            std::optional<std::string_view> head = std::nullopt) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  std::istringstream in(text);
  return audit_chain::verify(in, head);
}

TEST(AuditChain, AnIntactChainVerifies) {
  const auto verdict = verify(chain(5));
  EXPECT_TRUE(verdict.ok) << verdict.reason;
  EXPECT_EQ(verdict.lines, 5u);
  EXPECT_TRUE(verify({}).ok);
}

TEST(AuditChain, LinesAreJsonObjectsWithPrevFirstAndHashLast) {
  const auto lines = chain(2);
  EXPECT_TRUE(lines[0].starts_with(std::string(R"({"prev":")") + std::string(audit_chain::kGenesis) + "\","));
  EXPECT_NE(lines[0].find(R"("action":"sign","n":0,"hash":")"), std::string::npos);
  EXPECT_EQ(lines[1].substr(9, 64), audit_chain::hash_of(lines[0]));
}

TEST(AuditChain, SealingAppendsToWhatTheBufferHoldsAndHashesOnlyTheNewLine) {
  std::string out = "earlier bytes\n";
  const audit_chain::Hash hash = audit_chain::seal_into(out, "", audit_chain::kGenesis);
  ASSERT_TRUE(out.starts_with("earlier bytes\n"));
  const std::string line = out.substr(14);
  EXPECT_EQ(line, std::string(R"({"prev":")") + std::string(audit_chain::kGenesis) + R"(","hash":")" +
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

}  // namespace
}  // namespace okxvault
