#include "proto/audit_chain.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <boost/algorithm/hex.hpp>

#include "proto/secret.hpp"

namespace okxvault::audit_chain {
namespace {

constexpr std::string_view kPrevPrefix = "{\"prev\":\"";
constexpr std::string_view kHashMarker = ",\"hash\":\"";
constexpr std::size_t kHexLength = std::tuple_size_v<Hash>;

// Hex of the BLAKE2b-256 of `bytes`, written at `hex`. A hash is public: its hex
// needs no constant-time encoder, and sodium_bin2hex cost a third of the hash.
void blake2b_hex(std::string_view bytes, char* hex) {
  ensure_sodium();
  std::array<unsigned char, kHexLength / 2> digest;
  crypto_generichash(digest.data(), digest.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                     bytes.size(), nullptr, 0);
  boost::algorithm::hex_lower(digest.begin(), digest.end(), hex);
}

}  // namespace

Hash seal_into(std::string& out, std::string_view fields, std::string_view prev) {
  const std::size_t start = out.size();
  out += kPrevPrefix;
  out += prev;
  out += '"';
  if (!fields.empty()) out += ',';
  out += fields;
  const std::size_t body_end = out.size();
  out += kHashMarker;
  const std::size_t hex_at = out.size();
  out.resize(hex_at + kHexLength);
  blake2b_hex(std::string_view(out).substr(start, body_end - start), &out[hex_at]);
  out += "\"}";
  Hash hash;
  std::copy_n(out.begin() + static_cast<std::ptrdiff_t>(hex_at), kHexLength, hash.begin());
  return hash;
}

std::string hash_of(std::string_view line) {
  const std::size_t at = line.rfind(kHashMarker);
  if (at == std::string_view::npos || line.size() != at + kHashMarker.size() + kHexLength + 2) return {};
  return std::string(line.substr(at + kHashMarker.size(), kHexLength));
}

Verdict verify(std::istream& lines, std::optional<std::string_view> head) {
  Verdict verdict;
  std::string expected_prev(kGenesis);
  std::string line;
  const auto fail = [&](std::string reason) {
    verdict.ok = false;
    verdict.first_bad = verdict.lines;
    verdict.reason = std::move(reason);
    return verdict;
  };
  while (std::getline(lines, line)) {
    ++verdict.lines;
    const std::string hash = hash_of(line);
    if (!line.starts_with(kPrevPrefix) || line.size() < kPrevPrefix.size() + kHexLength + 1 || hash.empty()) {
      return fail("not a chained audit line");
    }
    const std::string_view body = std::string_view(line).substr(0, line.rfind(kHashMarker));
    Hash actual;
    blake2b_hex(body, actual.data());
    if (view(actual) != hash) return fail("the line was edited (its hash does not match its contents)");
    if (line.compare(kPrevPrefix.size(), kHexLength, expected_prev) != 0) {
      return fail(verdict.lines == 1 ? "the log does not start at the beginning of the chain (lines were cut)"
                                     : "the chain is broken: a line before this one was deleted or lines were reordered");
    }
    if (head && verdict.head_line == 0 && hash == *head) verdict.head_line = verdict.lines;
    expected_prev = hash;
  }
  if (head && verdict.head_line == 0) {
    verdict.ok = false;
    verdict.first_bad = verdict.lines + 1;
    verdict.reason = "the head " + std::string(*head) +
                     " is not in the log: lines were cut off its end, or the log was rewritten before it";
  }
  return verdict;
}

}  // namespace okxvault::audit_chain
