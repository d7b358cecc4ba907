#pragma once
// An invariant a fuzz target asserts. A violation aborts, so libFuzzer keeps the
// input as a crash and the replay test fails on it.

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace okxvault::fuzz {

inline void require(bool holds, std::string_view invariant) {
  if (holds) return;
  std::fprintf(stderr, "fuzz invariant violated: %.*s\n", static_cast<int>(invariant.size()), invariant.data());
  std::abort();
}

inline std::string_view as_text(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace okxvault::fuzz
