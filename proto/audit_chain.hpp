#pragma once
// The audit log's hash chain, shared by the daemon (which writes it) and the CLI
// (which verifies it). The log is JSON lines of the form
//
//   {"prev":"<64 hex>","v":2, ...fields..., "hash":"<64 hex>","mac":"<64 hex>"}
//
// where `hash` is SHA-256 of the line's bytes up to (not including)
// `,"hash":"`, `prev` is the previous line's `hash` (64 zeros on the first
// line), and `mac` is HMAC-SHA-256 keyed with the vault's audit key (sealed in
// the store, daemon/store/store.hpp) of the `hash` (its 64 hex digits). Editing a line
// breaks its own hash; deleting or reordering lines breaks the next line's
// `prev`; cutting lines off the start breaks the first `prev`: anyone can check
// that. Without the key, a whole chain can be recomputed after lines were
// deleted; its macs cannot, so a keyed line vouches for itself and, through its
// `prev`, for every line before it. A line written without the key (by a log
// from before the audit key, or by a vault started locked, until it is first
// unlocked) has no `mac`.
//
// `"v":2` right after `prev` names the line's format. A line without it is of
// format 1, which okx-vaultd wrote before: `hash` is BLAKE2b-256 and `mac`
// BLAKE2b-256 keyed with the audit key, the rest the same. verify() reads each
// line by its own format, so a log goes on in format 2 after lines of format 1,
// one chain.
//
// A log that is rotated (moved aside, and the daemon told to reopen its path)
// goes on in a new file whose first line is the daemon's `reopen-log` record:
// its `prev` is the moved file's last hash, so the chain runs on across the
// files. Functions are pure and thread-safe.

#include <array>
#include <cstddef>
#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/hmac_sha256.hpp"
#include "common/secret.hpp"

namespace okxvault::audit_chain {

inline constexpr std::string_view kGenesis = "0000000000000000000000000000000000000000000000000000000000000000";

// A line's `hash`: 64 lowercase hex digits.
using Hash = std::array<char, 64>;
inline std::string_view view(const Hash& hash) { return {hash.data(), hash.size()}; }

// The action of the record that starts the file a rotated log goes on in.
inline constexpr std::string_view kReopenAction = "reopen-log";

// The audit key, ready to key lines: its HMAC-SHA-256 schedule, and the key
// itself for the macs of format-1 lines. Immutable: safe to share between threads.
class Key {
 public:
  explicit Key(SecretBytes key) : hmac_(key.bytes()), key_(std::move(key)) {}
  const HmacSha256& hmac() const { return hmac_; }
  const SecretBytes& bytes() const { return key_; }

 private:
  HmacSha256 hmac_;
  SecretBytes key_;
};

// Appends to `out` the chained line (no newline, format 2) of a JSON object whose
// members, its text without the braces, are `fields`; `prev` is the previous
// line's hash. With `key` (the audit key) the line ends in a `mac`. Returns the
// new line's hash. The line is hashed where it is written: no copy.
Hash seal_into(std::string& out, std::string_view fields, std::string_view prev, const Key* key);

// A sealed line's parts: its bytes up to `,"hash":"`, its hash, and its mac ("" if none).
struct Sealed {
  std::string_view body;
  std::string_view fields;  // the record's members: the body without `prev` and `v` ("" if it has no `prev`)
  int format = 1;           // 2 when `"v":2` follows `prev`
  std::string_view hash;
  std::string_view mac;
};
std::optional<Sealed> parse(std::string_view line);
// The `hash` of a sealed line, or "" if the line has none.
std::string hash_of(std::string_view line);

struct Verdict {
  bool ok = true;
  std::size_t lines = 0;      // lines checked
  std::size_t first_bad = 0;  // 1-based line number of the first break
  std::string reason;
  std::size_t head_line = 0;  // with a head: the 1-based line whose hash it is, 0 if none
  std::size_t keyed = 0;      // lines with a `mac`
  bool macs_checked = false;  // verified with the audit key: every `mac` was checked
  // Lines without a `mac` after the last keyed one: the key vouches for none of
  // them, and anyone who can write the log could have rewritten them.
  std::size_t unkeyed_tail = 0;
  // The `prev` of the first line when it is not the genesis: the last hash of
  // the file this one continues (a rotated log). "" for a log that starts the chain.
  std::string follows;
  std::string last_hash;  // the hash of the last line checked ("" if none)
};
// With `head` (a line's hash, as the daemon sends it to the journal), the log
// must also contain a line of that hash, at or before the first break: a log cut
// before it, or rewritten from any line before it on, fails. With `key`, every
// `mac` is checked too. Reads at most `max_lines` lines.
//
// The first line must start the chain (its `prev` the genesis) or continue a
// rotated log: with `follows` (the moved file's last hash), its `prev` must be
// that hash; without, it must be a `reopen-log` record, whose `prev` the verdict
// reports in `follows` (a log whose first lines were cut starts with neither).
Verdict verify(std::istream& lines, std::optional<std::string_view> head = std::nullopt, const Key* key = nullptr,
               std::size_t max_lines = SIZE_MAX, std::optional<std::string_view> follows = std::nullopt);

// A written line of the log: its 1-based number and its hash.
struct Head {
  std::uint64_t line = 0;
  Hash hash{};
};

}  // namespace okxvault::audit_chain
