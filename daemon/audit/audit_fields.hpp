#pragma once
// The members of one audit record's JSON object, written straight into a buffer
// with no JSON tree: exactly the bytes boost::json::serialize writes for the same
// object, strings escaped by Boost.JSON's own serializer. Every member is bounded,
// so that no peer can make a line longer than kAuditMaxLine.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "daemon/audit/audit.hpp"

namespace okxvault {

// The most bytes a string member's value takes in the line, escapes included. A
// longer value is cut, before a UTF-8 character, to the longest prefix that fits,
// and followed by `"<name>_cut":{"bytes":<whole size>,"blake2b":"<64 hex>"}`: the
// size and BLAKE2b-256 of the whole value, to tell which one it was.
inline constexpr std::size_t kAuditTimeLimit = 32;  // every time the daemon writes is 24 bytes
inline constexpr std::size_t kAuditExeLimit = 256;
inline constexpr std::size_t kAuditActionLimit = 32;
inline constexpr std::size_t kAuditKeyLimit = 128;  // a valid key name has at most 64 bytes
inline constexpr std::size_t kAuditMethodLimit = 16;
inline constexpr std::size_t kAuditPathLimit = 256;
inline constexpr std::size_t kAuditRuleLimit = 256;
// The longest line, chain and newline included, that the daemon writes: a record
// or a summary (below) with every member at its limit and cut.
inline constexpr std::size_t kAuditMaxLine = 2560;

// A summary of refusals not written one by one (audit.hpp): how many, the time of
// the first of them, and whether they came from several (uid, pid, action, key,
// rule) groups, the record then naming the last one.
struct AuditRepeats {
  std::uint64_t count = 0;
  std::string_view since;
  bool mixed = false;
};

// Appends `"time":...,"uid":...,...,"rule":...` (no braces) to `out`, and for a
// summary `,"repeats":N,"since":"...",` and `"mixed":true` if it is.
void append_audit_fields(std::string& out, std::string_view time, const Peer& peer, const AuditRecord& record,
                         const AuditRepeats* repeats = nullptr);

}  // namespace okxvault
