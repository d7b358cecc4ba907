#include "daemon/audit/audit_fields.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <boost/json/serializer.hpp>
#include <charconv>
#include <concepts>

#include "common/error.hpp"
#include "proto/json_escape.hpp"

namespace okxvault {
namespace {

using proto::escaped_size;
using proto::needs_escape;

// How much of `value` is kept: all of it if its escaped text fits in `limit`
// bytes, else the longest prefix that does, cut before a UTF-8 character (a
// reader then finds no broken character at the cut).
std::size_t kept_size(std::string_view value, std::size_t limit) {
  constexpr std::size_t kWidest = 6;
  if (value.size() * kWidest <= limit) return value.size();  // fits whatever it holds
  std::size_t kept = 0;
  for (std::size_t used = 0; kept < value.size(); ++kept) {
    used += escaped_size(value[kept]);
    if (used > limit) break;
  }
  if (kept == value.size()) return kept;
  constexpr std::size_t kLongestContinuation = 3;
  for (std::size_t back = 0;
       back < kLongestContinuation && kept > 0 && (static_cast<unsigned char>(value[kept]) & 0xc0) == 0x80; ++back) {
    --kept;
  }
  return kept;
}

// A string member: `lead` is its comma (if any), quoted name and colon; `cut`
// the start of the member that says it was cut.
struct Field {
  std::string_view lead;
  std::string_view cut;
  std::size_t limit;
};

constexpr Field kTime{R"("time":)", R"(,"time_cut":{"bytes":)", kAuditTimeLimit};
constexpr Field kExe{R"(,"exe":)", R"(,"exe_cut":{"bytes":)", kAuditExeLimit};
constexpr Field kAction{R"(,"action":)", R"(,"action_cut":{"bytes":)", kAuditActionLimit};
constexpr Field kKey{R"(,"key":)", R"(,"key_cut":{"bytes":)", kAuditKeyLimit};
constexpr Field kMethod{R"(,"method":)", R"(,"method_cut":{"bytes":)", kAuditMethodLimit};
constexpr Field kPath{R"(,"path":)", R"(,"path_cut":{"bytes":)", kAuditPathLimit};
constexpr Field kRule{R"(,"rule":)", R"(,"rule_cut":{"bytes":)", kAuditRuleLimit};
constexpr Field kSince{R"(,"since":)", R"(,"since_cut":{"bytes":)", kAuditTimeLimit};

// Each member is written after its `lead`: the comma, if any, and its quoted name
// and colon, all constants of ours that need no escaping. Written through a
// pointer into `out`, sized up front to its capacity: a record costs no
// allocation and no per-byte bookkeeping once the buffer has grown.
class Members {
 public:
  explicit Members(std::string& out) : out_(out), used_(out.size()) { out_.resize(out_.capacity()); }
  ~Members() { out_.resize(used_); }
  Members(const Members&) = delete;
  Members& operator=(const Members&) = delete;

  // The value, or as much of it as fits the field's limit and a note of the cut.
  Members& bounded(const Field& field, std::string_view value) {
    if (value.size() <= field.limit && !needs_escape(value)) return plain(field.lead, value);  // most values
    const std::size_t kept = kept_size(value, field.limit);
    string(field.lead, value.substr(0, kept));
    if (kept == value.size()) return *this;
    std::array<unsigned char, crypto_generichash_BYTES> hash{};
    crypto_generichash(hash.data(), hash.size(), reinterpret_cast<const unsigned char*>(value.data()), value.size(),
                       nullptr, 0);
    std::array<char, 2 * crypto_generichash_BYTES + 1> hex{};
    sodium_bin2hex(hex.data(), hex.size(), hash.data(), hash.size());
    number(field.cut, value.size());
    raw(R"(,"blake2b":")");
    raw(std::string_view(hex.data(), hex.size() - 1));
    return raw(R"("})");
  }

  Members& string(std::string_view lead, std::string_view value) {
    if (!needs_escape(value)) return plain(lead, value);
    char* at = start(lead, 6 * value.size() + 2);  // a control byte becomes \u00XX
    serializer_.reset(value);
    at += serializer_.read(at, static_cast<std::size_t>(out_.data() + out_.size() - at)).size();
    if (!serializer_.done()) throw Error(Code::internal, "audit record does not fit its buffer");
    used_ = static_cast<std::size_t>(at - out_.data());
    return *this;
  }

  // A value that needs no escaping, in quotes.
  Members& plain(std::string_view lead, std::string_view value) {
    char* at = start(lead, value.size() + 2);
    *at++ = '"';
    at = std::copy(value.begin(), value.end(), at);
    *at++ = '"';
    used_ = static_cast<std::size_t>(at - out_.data());
    return *this;
  }

  Members& number(std::string_view lead, std::integral auto value) {
    constexpr std::size_t kDigits = 20;  // any 64-bit integer, with its sign
    char* at = start(lead, kDigits);
    used_ = static_cast<std::size_t>(std::to_chars(at, at + kDigits, value).ptr - out_.data());
    return *this;
  }

  // Text of ours that needs no escaping, as it is.
  Members& raw(std::string_view text) {
    used_ = static_cast<std::size_t>(start(text, 0) - out_.data());
    return *this;
  }

 private:
  // Writes `lead` after what is written so far, with room for `count` more
  // bytes after it, and returns where they go.
  char* start(std::string_view lead, std::size_t count) {
    if (out_.size() - used_ < lead.size() + count) out_.resize(2 * (used_ + lead.size() + count));
    return std::copy(lead.begin(), lead.end(), out_.data() + used_);
  }

  std::string& out_;
  std::size_t used_;
  boost::json::serializer serializer_;
};

}  // namespace

void append_audit_fields(std::string& out, std::string_view time, const Peer& peer, const AuditRecord& r,
                         const AuditRepeats* repeats) {
  Members members(out);
  members.bounded(kTime, time)
      .number(R"(,"uid":)", peer.uid)
      .number(R"(,"gid":)", peer.gid)
      .number(R"(,"pid":)", peer.pid)
      .bounded(kExe, peer.exe)
      .bounded(kAction, r.action)
      .bounded(kKey, r.key)
      .bounded(kMethod, r.method)
      .bounded(kPath, r.path)
      .string(R"(,"decision":)", r.allowed ? "allow" : "deny")
      .bounded(kRule, r.rule);
  if (repeats == nullptr) return;
  members.number(R"(,"repeats":)", repeats->count).bounded(kSince, repeats->since);
  if (repeats->mixed) members.raw(R"(,"mixed":true)");
}

}  // namespace okxvault
