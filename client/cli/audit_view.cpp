#include "client/cli/audit_view.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "common/error.hpp"
#include "common/timestamp.hpp"

namespace okxvault::cli {
namespace {

namespace json = boost::json;

// `text` with its C0 and C1 control characters (and DEL) as \xHH.
std::string printable(std::string_view text) {
  static constexpr std::string_view kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  const auto escape = [&](unsigned char byte) {
    out += "\\x";
    out += kDigits[byte >> 4];
    out += kDigits[byte & 15];
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    // U+0080 to U+009F in UTF-8: 0xc2 then 0x80 to 0x9f.
    const bool c1 = byte == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(text[i + 1]) <= 0x9f;
    if (byte < 0x20 || byte == 0x7f) {
      escape(byte);
    } else if (c1) {
      escape(byte);
      escape(static_cast<unsigned char>(text[++i]));
    } else {
      out += static_cast<char>(byte);
    }
  }
  return out;
}

}  // namespace

AuditEntry parse_audit_line(std::string_view line) {
  boost::system::error_code ec;
  const json::value value = json::parse(line, ec);
  if (ec) throw Error(Code::bad_request, "not JSON (" + ec.message() + ")");
  const json::object* record = value.if_object();
  if (record == nullptr) throw Error(Code::bad_request, "not a JSON object");
  const auto text = [&](std::string_view name, bool required) -> std::string {
    const json::value* member = record->if_contains(name);
    if (member == nullptr && !required) return {};
    if (member == nullptr || !member->is_string()) {
      throw Error(Code::bad_request, "no string member \"" + std::string(name) + "\"");
    }
    return std::string(member->get_string());
  };
  const auto integer = [&](std::string_view name, bool required) -> std::int64_t {
    const json::value* member = record->if_contains(name);
    if (member == nullptr && !required) return 0;
    if (member != nullptr && member->is_int64()) return member->get_int64();
    if (member != nullptr && member->is_uint64() && member->get_uint64() <= INT64_MAX) {
      return static_cast<std::int64_t>(member->get_uint64());
    }
    throw Error(Code::bad_request, "no integer member \"" + std::string(name) + "\"");
  };
  AuditEntry entry;
  entry.time = text("time", true);
  try {
    entry.time_ms = unix_ms(parse_iso8601_ms(entry.time));
  } catch (const Error&) {
    throw Error(Code::bad_request, "its time is not an ISO 8601 UTC time");
  }
  entry.decision = text("decision", true);
  if (entry.decision != "allow" && entry.decision != "deny") {
    throw Error(Code::bad_request, "its decision is neither allow nor deny");
  }
  entry.action = text("action", true);
  entry.uid = integer("uid", true);
  entry.pid = integer("pid", true);
  entry.exe = text("exe", false);
  entry.key = text("key", false);
  entry.method = text("method", false);
  entry.path = text("path", false);
  entry.rule = text("rule", false);
  const std::int64_t repeats = integer("repeats", false);
  if (repeats < 0) throw Error(Code::bad_request, "its repeats is negative");
  entry.repeats = static_cast<std::uint64_t>(repeats);
  entry.since = text("since", false);
  const json::value* mixed = record->if_contains("mixed");
  entry.mixed = mixed != nullptr && mixed->is_bool() && mixed->get_bool();
  return entry;
}

bool matches(const AuditEntry& entry, const AuditFilter& filter) {
  if (filter.key && entry.key != *filter.key) return false;
  if (filter.since_ms && entry.time_ms < *filter.since_ms) return false;
  return !filter.denied || entry.decision == "deny";
}

std::string audit_line_text(const AuditEntry& entry) {
  std::string out = entry.time;
  out += entry.decision == "deny" ? "  deny   " : "  allow  ";
  out += printable(entry.action);
  out += "  ";
  out += entry.key.empty() ? "-" : printable(entry.key);
  out += "  uid=" + std::to_string(entry.uid) + " pid=" + std::to_string(entry.pid);
  if (!entry.exe.empty()) out += " " + printable(entry.exe);
  out += "  ";
  if (entry.method.empty() && entry.path.empty()) {
    out += "-";
  } else {
    out += printable(entry.method) + " " + printable(entry.path);
  }
  if (entry.decision == "deny") {
    out += "  denied by: " + (entry.rule.empty() ? std::string("-") : printable(entry.rule));
  } else if (!entry.rule.empty()) {
    out += "  (" + printable(entry.rule) + ")";
  }
  if (entry.repeats > 0) {
    out += "  [" + std::to_string(entry.repeats) + " refusals since " + printable(entry.since) +
           (entry.mixed ? ", of several kinds: the last one shown" : "") + "]";
  }
  return out;
}

}  // namespace okxvault::cli
