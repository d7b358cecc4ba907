#pragma once
// How the CLI prints what the daemon answered: for people (a table, header
// lines) and for other programs (JSON, curl arguments). Pure functions, no I/O.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proto/messages.hpp"

namespace okxvault::cli {

// One shell word: single-quoted, with each ' written as '\'' so that nothing
// inside (spaces, $, `, \, newlines) is interpreted by sh, bash or zsh.
std::string shell_quote(std::string_view text);

// NAME  API KEY  DEMO  GRANTS  CREATED  LAST USED  SIGNS  EXPIRES, one key per
// line, times for people: "2026-11-25 21:38 UTC", "3m ago", "in 29d", and an
// expired key's EXPIRES says "EXPIRED". `now_ms` is the Unix time to measure from.
std::string key_table(const std::vector<proto::KeyInfo>& keys, std::int64_t now_ms);

// How long `ms` milliseconds are, for people: "45s", "12m", "5h", "30d".
std::string duration_text(std::int64_t ms);

// "Name: value" lines, as they go on the wire.
std::string header_lines(const proto::Headers& headers);

// Arguments for curl, to be evaluated by a shell (see client/CLI.md):
//   eval "curl $(okx-vault sign NAME POST "$P" --body-file f --curl) \"https://www.okx.com\$P\""
// -X METHOD, one -H per header (the daemon's set includes Content-Type for a
// POST), and the body bytes exactly. Throws Error(bad_request) for a body no argv can carry
// (a NUL byte).
std::string curl_arguments(std::string_view method, const proto::Headers& headers, std::string_view body);

// A curl config (curl --config -) for one signed request: the method, one
// header line per signed header, the body as --data-raw (never read as @file),
// and --globoff and --path-as-is so that curl sends `url` as given. Every value
// is double-quoted with \\, \" and the control characters escaped, so curl
// reads back exactly these bytes. It holds the passphrase: it goes to curl
// through a pipe, never its argv, and the caller wipes it. Throws
// Error(bad_request) for a body with a NUL byte, which no config can carry.
std::string curl_config(std::string_view method, const proto::Headers& headers, std::string_view body,
                        std::string_view url);

// The grants of a key: one line each, then an indented line of its trading
// limits if it has any.
std::string grant_table(const std::vector<proto::GrantInfo>& grants);

std::string status_text(const proto::StatusReply& status, std::string_view socket_path);

}  // namespace okxvault::cli
