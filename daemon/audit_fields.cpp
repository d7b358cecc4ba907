#include "daemon/audit_fields.hpp"

#include <algorithm>
#include <boost/json/serializer.hpp>
#include <charconv>
#include <concepts>
#include <cstring>

namespace okxvault {
namespace {

// Boost.JSON escapes quotes, backslashes and control bytes, and writes any other
// text as it is: most fields skip the serializer, which costs more than the hash.
bool needs_escape(std::string_view text) {
  return std::ranges::any_of(text, [](char c) { return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20; });
}

// Each member is written after its `lead`: the comma, if any, and its quoted name
// and colon, all constants of ours that need no escaping.
class Members {
 public:
  explicit Members(std::string& out) : out_(out) {}

  Members& string(std::string_view lead, std::string_view value) {
    if (!needs_escape(value)) {
      char* at = grow(lead.size() + value.size() + 2);
      at = std::copy(lead.begin(), lead.end(), at);
      *at++ = '"';
      at = std::copy(value.begin(), value.end(), at);
      *at = '"';
      return *this;
    }
    out_ += lead;
    serializer_.reset(value);
    do {  // one pass unless escapes make the text longer than this first guess
      const std::size_t size = out_.size();
      char* at = grow(value.size() + 2);
      out_.resize(size + serializer_.read(at, value.size() + 2).size());
    } while (!serializer_.done());
    return *this;
  }

  Members& number(std::string_view lead, std::integral auto value) {
    char digits[24];
    out_ += lead;
    out_.append(digits, std::to_chars(digits, digits + sizeof digits, value).ptr);
    return *this;
  }

 private:
  // `count` more bytes at the end of `out_`, to be written.
  char* grow(std::size_t count) {
    const std::size_t size = out_.size();
    out_.resize(size + count);
    return out_.data() + size;
  }

  std::string& out_;
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
