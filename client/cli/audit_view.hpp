#pragma once
// The audit log for people (okx-vault audit show): the record of each of the
// log's JSON lines, the filters that pick records, and one line of text per
// record. Pure functions, no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace okxvault::cli {

// One record, as its line holds it (proto/PROTOCOL.md, "Audit log").
struct AuditEntry {
  std::string time;  // ISO 8601 UTC with milliseconds, as the daemon wrote it
  std::int64_t time_ms = 0;
  std::string decision, action, key, method, path, rule, exe;
  std::int64_t uid = -1, pid = 0;
  std::uint64_t repeats = 0;  // a summary of refusals: how many it stands for
  std::string since;          // and the time of the first
  bool mixed = false;
};

// Records that pass every filter given (AND).
struct AuditFilter {
  std::optional<std::string> key;
  std::optional<std::int64_t> since_ms;  // at or after this Unix time
  bool denied = false;
};

// The record of one line; Error(bad_request) saying what is wrong with it.
AuditEntry parse_audit_line(std::string_view line);

bool matches(const AuditEntry& entry, const AuditFilter& filter);

// TIME  DECISION  ACTION  KEY  uid=U pid=P EXE  METHOD PATH  RULE, on one line:
// "-" for a key or request the record has none of; a refusal's rule after
// "denied by:", an allowed one's in parentheses; a summary's count. Control
// characters in the record's values are written as \xHH, so that nothing a
// peer sent can move the terminal's cursor or colour the text.
std::string audit_line_text(const AuditEntry& entry);

}  // namespace okxvault::cli
