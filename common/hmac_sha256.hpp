#pragma once
// HMAC-SHA-256 with a key fixed once: its schedule (the SHA-256 chaining values
// after the inner and the outer padded key) is computed at construction and kept
// in guarded memory, and each MAC starts from it. Hashes with Nettle, which uses
// the CPU's SHA instructions where it has them; every copy of keyed state a MAC
// makes is wiped before it returns. Immutable after construction: safe to use
// from many threads.

#include <array>
#include <cstddef>
#include <initializer_list>
#include <span>
#include <string_view>

#include "common/secret.hpp"

namespace okxvault {

class HmacSha256 {
 public:
  using Digest = std::array<unsigned char, 32>;

  explicit HmacSha256(std::span<const unsigned char> key);

  // HMAC-SHA-256 of the concatenation of `parts`.
  Digest mac(std::initializer_list<std::string_view> parts) const;

  // What mac() wipes of the stack below its own frame, since Nettle wipes
  // nothing: more than mac() uses with its callees, compression included
  // (about 500 bytes with or without the SHA instructions;
  // HmacSha256.UsesLessStackThanItWipes measures it), and less than glibc's 2 KiB
  // threshold for `rep stosb`, which callgrind counts byte by byte.
  static constexpr std::size_t kWipedStackBytes = 1024;

 private:
  SecretBytes chaining_;  // inner, then outer: 64 bytes
};

}  // namespace okxvault
