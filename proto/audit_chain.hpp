#pragma once
// The audit log's hash chain, shared by the daemon (which writes it) and the CLI
// (which verifies it). The log is JSON lines of the form
//
//   {"prev":"<64 hex>", ...fields..., "hash":"<64 hex>"}
//
// where `hash` is BLAKE2b-256 of the line's bytes up to (not including)
// `,"hash":"`, and `prev` is the previous line's `hash` (64 zeros on the first
// line). Editing a line breaks its own hash; deleting or reordering lines breaks
// the next line's `prev`; cutting lines off the start breaks the first `prev`.
// Functions are pure and thread-safe.

#include <array>
#include <cstddef>
#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>

namespace okxvault::audit_chain {

inline constexpr std::string_view kGenesis = "0000000000000000000000000000000000000000000000000000000000000000";

// A line's `hash`: 64 lowercase hex digits.
using Hash = std::array<char, 64>;
inline std::string_view view(const Hash& hash) { return {hash.data(), hash.size()}; }

// Appends to `out` the chained line (no newline) of a JSON object whose members,
// its text without the braces, are `fields`; `prev` is the previous line's hash.
// Returns the new line's hash. The line is hashed where it is written: no copy.
Hash seal_into(std::string& out, std::string_view fields, std::string_view prev);
// The `hash` of a sealed line, or "" if the line has none.
std::string hash_of(std::string_view line);

struct Verdict {
  bool ok = true;
  std::size_t lines = 0;        // lines checked
  std::size_t first_bad = 0;    // 1-based line number of the first break
  std::string reason;
  std::size_t head_line = 0;    // with a head: the 1-based line whose hash it is, 0 if none
};
// With `head` (a line's hash, as the daemon sends it to the journal), the log
// must also contain a line of that hash, at or before the first break: a log cut
// before it, or rewritten from any line before it on, fails.
Verdict verify(std::istream& lines, std::optional<std::string_view> head = std::nullopt);

// A written line of the log: its 1-based number and its hash.
struct Head {
  std::uint64_t line = 0;
  Hash hash{};
};

}  // namespace okxvault::audit_chain
