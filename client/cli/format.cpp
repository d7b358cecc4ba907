#include "client/cli/format.hpp"

#include <algorithm>
#include <array>
#include <optional>

#include "common/error.hpp"
#include "common/timestamp.hpp"

namespace okxvault::cli {
namespace {

// Columns are measured in characters, not bytes: masked api keys hold "…".
std::size_t display_width(std::string_view text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string joined(const std::vector<std::string>& values, std::string_view separator) {
  std::string out;
  for (const std::string& value : values) out.append(out.empty() ? "" : separator).append(value);
  return out;
}

// "inst BTC-USDT, ETH-*; max sz BTC-USDT 0.5; px BTC-USDT 10000..90000; ...".
std::string limits_text(const proto::Limits& limits) {
  std::vector<std::string> kinds;
  if (!limits.inst.empty()) kinds.push_back("inst " + joined(limits.inst, ", "));
  if (!limits.inst_types.empty()) kinds.push_back("inst types " + joined(limits.inst_types, ","));
  if (!limits.max_sz.empty()) {
    std::vector<std::string> sizes;
    for (const proto::MaxSize& max : limits.max_sz) sizes.push_back(max.inst + " " + max.sz);
    kinds.push_back("max sz " + joined(sizes, ", "));
  }
  if (!limits.px_range.empty()) {
    std::vector<std::string> ranges;
    for (const proto::PxRange& range : limits.px_range)
      ranges.push_back(range.inst + " " + range.min + ".." + range.max);
    kinds.push_back("px " + joined(ranges, ", "));
  }
  if (!limits.ord_types.empty()) kinds.push_back("ord types " + joined(limits.ord_types, ","));
  if (!limits.sides.empty()) kinds.push_back("sides " + joined(limits.sides, ","));
  if (!limits.td_modes.empty()) kinds.push_back("td modes " + joined(limits.td_modes, ","));
  if (limits.reduce_only) kinds.emplace_back("reduce-only");
  if (limits.max_leverage) kinds.push_back("max leverage " + *limits.max_leverage);
  if (limits.orders_per_minute) kinds.push_back(std::to_string(*limits.orders_per_minute) + " orders/min");
  return kinds.empty() ? "none listed" : joined(kinds, "; ");
}

}  // namespace

std::string shell_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

std::string duration_text(std::int64_t ms) {
  const std::int64_t s = ms / 1000;
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m";
  if (s < 86400) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

namespace {

// "2026-11-25T21:38:49.452Z" as "2026-11-25 21:38 UTC"; a time that is not
// the protocol's shape is shown as it came.
std::string minute_text(const std::string& iso) {
  if (iso.size() < 16 || iso[10] != 'T') return iso;
  return iso.substr(0, 10) + " " + iso.substr(11, 5) + " UTC";
}

std::optional<std::int64_t> unix_ms_of(const std::string& iso) {
  try {
    return unix_ms(parse_iso8601_ms(iso));
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::string last_used_text(const std::optional<std::string>& last_used, std::int64_t now_ms) {
  if (!last_used) return "never";
  const auto at = unix_ms_of(*last_used);
  if (!at) return *last_used;
  return *at > now_ms ? minute_text(*last_used) : duration_text(now_ms - *at) + " ago";
}

std::string expires_text(const std::optional<std::string>& expires, std::int64_t now_ms) {
  if (!expires) return "never";
  const auto at = unix_ms_of(*expires);
  if (!at) return *expires;
  if (*at <= now_ms) return "EXPIRED " + minute_text(*expires);
  return minute_text(*expires) + " (in " + duration_text(*at - now_ms) + ")";
}

}  // namespace

std::string key_table(const std::vector<proto::KeyInfo>& keys, std::int64_t now_ms) {
  using Row = std::array<std::string, 8>;
  std::vector<Row> rows;
  rows.push_back({"NAME", "API KEY", "DEMO", "GRANTS", "CREATED", "LAST USED", "SIGNS", "EXPIRES"});
  for (const auto& key : keys) {
    rows.push_back({key.name, key.api_key, key.simulated ? "yes" : "no", std::to_string(key.grants),
                    minute_text(key.created), last_used_text(key.last_used, now_ms), std::to_string(key.sign_count),
                    expires_text(key.expires, now_ms)});
  }
  std::array<std::size_t, 8> widths{};
  for (const Row& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], display_width(row[i]));
  }
  std::string out;
  for (const Row& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - display_width(row[i]) + 2, ' ');
    }
    while (line.ends_with(' ')) line.pop_back();
    out += line;
    out += '\n';
  }
  return out;
}

namespace {

std::string header_line(std::string_view name, std::string_view value) {
  std::string line(name);
  return line.append(": ").append(value);
}

}  // namespace

std::string header_lines(const proto::Headers& headers) {
  std::string out;
  for (const auto& [name, value] : headers) out.append(name).append(": ").append(value).append("\n");
  return out;
}

std::string curl_arguments(std::string_view method, const proto::Headers& headers, std::string_view body) {
  if (body.find('\0') != std::string_view::npos) {
    throw Error(Code::bad_request, "a body with a NUL byte cannot be passed to curl as an argument");
  }
  std::string out = "-X " + shell_quote(method);
  for (const auto& [name, value] : headers) out.append(" -H ").append(shell_quote(header_line(name, value)));
  if (!body.empty()) {
    // The daemon's headers already carry Content-Type for a POST. curl reads a file for a --data-binary value that
    // starts with '@';
    // --data-raw sends such a body as it is.
    out += body.front() == '@' ? " --data-raw " : " --data-binary ";
    out += shell_quote(body);
  }
  return out;
}

namespace {

// A curl config value: "..." with what curl's config parser unescapes escaped.
std::string config_quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        out += c;
    }
  }
  out += '"';
  return out;
}

}  // namespace

std::string curl_config(std::string_view method, const proto::Headers& headers, std::string_view body,
                        std::string_view url) {
  if (body.find('\0') != std::string_view::npos) {
    throw Error(Code::bad_request, "a body with a NUL byte cannot be passed to curl");
  }
  std::string out = "globoff\npath-as-is\nrequest = " + config_quote(method) + "\n";
  for (const auto& [name, value] : headers)
    out.append("header = ").append(config_quote(header_line(name, value))).append("\n");
  if (!body.empty()) out += "data-raw = " + config_quote(body) + "\n";
  out += "url = " + config_quote(url) + "\n";
  return out;
}

std::string grant_table(const std::vector<proto::GrantInfo>& grants) {
  if (grants.empty()) return "No grants: only admins may sign with this key.\n";
  std::string out;
  for (const proto::GrantInfo& g : grants) {
    out += (g.kind == proto::GrantInfo::Kind::user ? "user " : "group ") + g.name;
    if (g.id) out += " (" + std::to_string(*g.id) + ")";
    out += g.read_only ? ": read-only" : ": read-write";
    // A read-only grant never gets a login, whatever its ws says (PROTOCOL.md).
    out += !g.ws ? ", no WebSocket login" : g.read_only ? ", no WebSocket login (read-only)" : ", WebSocket login";
    if (g.expires) out += ", expires " + *g.expires;
    for (const auto& rule : g.allow) out += ", allow " + rule;
    for (const auto& rule : g.deny) out += ", deny " + rule;
    out += '\n';
    if (g.limits) out += "  limits: " + limits_text(*g.limits) + '\n';
  }
  return out;
}

std::string status_text(const proto::StatusReply& status, std::string_view socket_path) {
  const std::uint64_t s = status.uptime_seconds;
  std::string uptime;
  if (s >= 86400) uptime += std::to_string(s / 86400) + "d ";
  if (s >= 3600) uptime += std::to_string(s % 86400 / 3600) + "h ";
  if (s >= 60) uptime += std::to_string(s % 3600 / 60) + "m ";
  uptime += std::to_string(s % 60) + "s";
  std::string out;
  out += "okx-vaultd " + status.version + " on " + std::string(socket_path) + "\n";
  out += std::string("vault:   ") + (status.locked ? "locked" : "unlocked") + "\n";
  out += "keys:    " + std::to_string(status.keys) + "\n";
  if (!status.slots.empty()) {
    std::string slots;
    for (const std::string& slot : status.slots) slots += (slots.empty() ? "" : ", ") + slot;
    out += "opens:   with " + slots + "\n";
  }
  out += "uptime:  " + uptime + "\n";
  return out;
}

}  // namespace okxvault::cli
