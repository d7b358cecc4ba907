#include "proto/audit_chain.hpp"

#include <sodium.h>

#include <array>

#include "proto/secret.hpp"

namespace okxvault::audit_chain {
namespace {

constexpr std::string_view kPrevPrefix = "{\"prev\":\"";
constexpr std::string_view kHashMarker = ",\"hash\":\"";
constexpr std::size_t kHexLength = 64;

std::string blake2b_hex(std::string_view bytes) {
  ensure_sodium();
  std::array<unsigned char, 32> digest;
  crypto_generichash(digest.data(), digest.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                     bytes.size(), nullptr, 0);
  std::string hex(kHexLength + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
  hex.pop_back();
  return hex;
}

}  // namespace

std::string seal(std::string_view object_json, std::string_view prev) {
  std::string line;
  line.reserve(object_json.size() + 2 * kHexLength + 32);
  line += kPrevPrefix;
  line += prev;
  line += '"';
  if (object_json.size() > 2) line += ',';
  line += object_json.substr(1, object_json.size() - 2);  // the fields, without braces
  const std::string hash = blake2b_hex(line);
  line += kHashMarker;
  line += hash;
  line += "\"}";
  return line;
}

std::string hash_of(std::string_view line) {
  const std::size_t at = line.rfind(kHashMarker);
  if (at == std::string_view::npos || line.size() != at + kHashMarker.size() + kHexLength + 2) return {};
  return std::string(line.substr(at + kHashMarker.size(), kHexLength));
}

Verdict verify(std::istream& lines) {
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
    if (blake2b_hex(body) != hash) return fail("the line was edited (its hash does not match its contents)");
    if (line.compare(kPrevPrefix.size(), kHexLength, expected_prev) != 0) {
      return fail(verdict.lines == 1 ? "the log does not start at the beginning of the chain (lines were cut)"
                                     : "the chain is broken: a line before this one was deleted or lines were reordered");
    }
    expected_prev = hash;
  }
  return verdict;
}

}  // namespace okxvault::audit_chain
