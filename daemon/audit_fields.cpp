#include "daemon/audit_fields.hpp"

#include <algorithm>
#include <boost/json/serializer.hpp>
#include <charconv>
#include <concepts>

#include "proto/error.hpp"

namespace okxvault {
namespace {

// Boost.JSON escapes quotes, backslashes and control bytes, and writes any other
// text as it is: most fields skip the serializer, which costs more than the hash.
bool needs_escape(std::string_view text) {
  return std::ranges::any_of(text, [](char c) { return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20; });
}

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

  Members& string(std::string_view lead, std::string_view value) {
    char* at = start(lead, 6 * value.size() + 2);  // a control byte becomes \u00XX
    if (needs_escape(value)) {
      serializer_.reset(value);
      at += serializer_.read(at, static_cast<std::size_t>(out_.data() + out_.size() - at)).size();
      if (!serializer_.done()) throw Error(Code::internal, "audit record does not fit its buffer");
    } else {
      *at++ = '"';
      at = std::copy(value.begin(), value.end(), at);
      *at++ = '"';
    }
    used_ = static_cast<std::size_t>(at - out_.data());
    return *this;
  }

  Members& number(std::string_view lead, std::integral auto value) {
    constexpr std::size_t kDigits = 20;  // any 64-bit integer, with its sign
    char* at = start(lead, kDigits);
    used_ = static_cast<std::size_t>(std::to_chars(at, at + kDigits, value).ptr - out_.data());
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

void append_audit_fields(std::string& out, std::string_view time, const Peer& peer, const AuditRecord& r) {
  Members(out)
      .string(R"("time":)", time)
      .number(R"(,"uid":)", peer.uid)
      .number(R"(,"gid":)", peer.gid)
      .number(R"(,"pid":)", peer.pid)
      .string(R"(,"exe":)", peer.exe)
      .string(R"(,"action":)", r.action)
      .string(R"(,"key":)", r.key)
      .string(R"(,"method":)", r.method)
      .string(R"(,"path":)", r.path)
      .string(R"(,"decision":)", r.allowed ? "allow" : "deny")
      .string(R"(,"rule":)", r.rule);
}

}  // namespace okxvault
