#pragma once
// What Boost.JSON's serializer does to the bytes of a string, known without
// running it: it escapes quotes, backslashes and control bytes, and writes any
// other byte, UTF-8 or not, as it is. Text with nothing to escape can be copied
// between quotes, which costs far less than the serializer.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace okxvault::proto {

constexpr bool needs_escape(char c) { return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20; }

// Eight bytes at a time: a byte below 0x20 and a byte equal to '"' or '\\' each
// leave its top bit set in one of the three words below, and only such a byte
// does (the classic "has a zero byte" test, exact as a yes or no).
inline bool needs_escape(std::string_view text) {
  constexpr std::uint64_t kOnes = 0x0101010101010101, kHighs = 0x8080808080808080;
  std::size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, text.data() + i, 8);
    const std::uint64_t quote = word ^ (kOnes * '"'), backslash = word ^ (kOnes * '\\');
    if ((((word - kOnes * 0x20) & ~word) | ((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash)) & kHighs) {
      return true;
    }
  }
  return std::ranges::any_of(text.substr(i), [](char c) { return needs_escape(c); });
}

// The bytes the serializer writes for one byte of a string: quotes and
// backslashes and the five control bytes with a short escape take two, other
// control bytes six (\u00XX), any other byte one.
constexpr std::size_t escaped_size(char c) {
  if (!needs_escape(c)) return 1;
  return c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t' ? 2 : 6;
}

}  // namespace okxvault::proto
