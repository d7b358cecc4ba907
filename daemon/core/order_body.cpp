#include "daemon/core/order_body.hpp"

#include <algorithm>

#include "common/error.hpp"

namespace okxvault {
namespace {

// Enough for an OKX order's members at once, so that reading an order (at the
// top, or in a batch) allocates once. Deeper objects grow as they fill, so that
// a body of many small objects costs memory in proportion to its size.
constexpr std::size_t kTypicalMembers = 16;
constexpr std::size_t kOrderDepth = 2;

class Reader {
 public:
  explicit Reader(std::string_view body) : in_(body) {}

  JsonValue document() {
    skip_space();
    JsonValue value = read_value(1);
    skip_space();
    if (at_ != in_.size()) refuse("more after the JSON value");
    return value;
  }

 private:
  [[noreturn]] void refuse(const std::string& why) const {
    throw Error(Code::policy_denied, "body refused at byte " + std::to_string(at_) + ": " + why, "body");
  }

  bool more() const { return at_ < in_.size(); }
  char peek() const { return more() ? in_[at_] : '\0'; }

  void skip_space() {
    while (more() && (in_[at_] == ' ' || in_[at_] == '\t' || in_[at_] == '\n' || in_[at_] == '\r')) ++at_;
  }

  void expect(char c) {
    if (peek() != c) refuse(std::string("expected '") + c + "'");
    ++at_;
  }

  void literal(std::string_view word) {
    if (in_.substr(at_, word.size()) != word) refuse("not a JSON value");
    at_ += word.size();
  }

  JsonValue read_value(std::size_t depth) {
    JsonValue value;
    switch (peek()) {
      case '{':
        value.kind = JsonValue::Kind::object;
        read_object(value, depth);
        break;
      case '[':
        value.kind = JsonValue::Kind::array;
        read_array(value, depth);
        break;
      case '"':
        value.kind = JsonValue::Kind::string;
        value.text = read_string();
        break;
      case 't':
        literal("true");
        value.kind = JsonValue::Kind::boolean;
        value.boolean = true;
        break;
      case 'f':
        literal("false");
        value.kind = JsonValue::Kind::boolean;
        break;
      case 'n':
        literal("null");
        break;
      default:
        value.kind = JsonValue::Kind::number;
        value.text = read_number();
    }
    return value;
  }

  static std::string too_many() {
    return "more than " + std::to_string(kMaxBodyEntries) + " members or items in one object or array";
  }

  void enter(std::size_t depth) const {
    if (depth > kMaxBodyDepth) refuse("nested deeper than " + std::to_string(kMaxBodyDepth) + " levels");
  }

  void read_object(JsonValue& object, std::size_t depth) {
    enter(depth);
    if (depth <= kOrderDepth) object.members.reserve(kTypicalMembers);
    ++at_;
    skip_space();
    if (peek() == '}') {
      ++at_;
      return;
    }
    for (;;) {
      skip_space();
      if (peek() != '"') refuse("expected a member name");
      const std::size_t name_at = at_;
      const std::string_view name = read_string();
      if (object.members.size() == kMaxBodyEntries) refuse(too_many());
      const bool seen = std::any_of(object.members.begin(), object.members.end(),
                                    [&](const JsonMember& member) { return member.name == name; });
      if (seen) {
        at_ = name_at;
        refuse("a member name given twice");
      }
      skip_space();
      expect(':');
      skip_space();
      object.members.push_back({name, read_value(depth + 1)});
      skip_space();
      if (peek() == ',') {
        ++at_;
        continue;
      }
      expect('}');
      return;
    }
  }

  void read_array(JsonValue& array, std::size_t depth) {
    enter(depth);
    ++at_;
    skip_space();
    if (peek() == ']') {
      ++at_;
      return;
    }
    for (;;) {
      skip_space();
      if (array.items.size() == kMaxBodyEntries) refuse(too_many());
      array.items.push_back(read_value(depth + 1));
      skip_space();
      if (peek() == ',') {
        ++at_;
        continue;
      }
      expect(']');
      return;
    }
  }

  // The bytes between the quotes, which are the value: escapes are refused.
  std::string_view read_string() {
    ++at_;
    const std::size_t start = at_;
    while (more()) {
      const auto byte = static_cast<unsigned char>(in_[at_]);
      if (byte == '"') {
        const std::string_view text = in_.substr(start, at_ - start);
        ++at_;
        return text;
      }
      if (byte == '\\') refuse("a backslash escape in a string");
      if (byte < 0x20) refuse("a control character in a string");
      if (byte < 0x80) {
        ++at_;
      } else {
        utf8_sequence(byte);
      }
    }
    refuse("a string without its closing quote");
  }

  // One multi-byte UTF-8 sequence (RFC 3629): no overlong form, no surrogate,
  // nothing beyond U+10FFFF.
  void utf8_sequence(unsigned char lead) {
    std::size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead == 0xe0) low = 0xa0;
      if (lead == 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead == 0xf0) low = 0x90;
      if (lead == 0xf4) high = 0x8f;
    } else {
      refuse("invalid UTF-8");
    }
    if (in_.size() - at_ < length) refuse("invalid UTF-8");
    for (std::size_t i = 1; i < length; ++i) {
      const auto byte = static_cast<unsigned char>(in_[at_ + i]);
      const unsigned char lo = i == 1 ? low : 0x80;
      const unsigned char hi = i == 1 ? high : 0xbf;
      if (byte < lo || byte > hi) refuse("invalid UTF-8");
    }
    at_ += length;
  }

  // RFC 8259 without the exponent: -?(0|[1-9][0-9]*)(\.[0-9]+)?
  std::string_view read_number() {
    const std::size_t start = at_;
    const auto digits = [&] {
      const std::size_t from = at_;
      while (more() && in_[at_] >= '0' && in_[at_] <= '9') ++at_;
      return at_ - from;
    };
    if (peek() == '-') ++at_;
    if (peek() == '0') {
      ++at_;
    } else if (digits() == 0) {
      at_ = start;
      refuse("not a JSON value");
    }
    if (peek() == '.') {
      ++at_;
      if (digits() == 0) refuse("a number without digits after its dot");
    }
    // Readers disagree on exponents (Boost.JSON refuses 1e2222222222 that
    // others read as infinity), and no member OKX reads is a number anyway.
    if (peek() == 'e' || peek() == 'E') refuse("a number with an exponent");
    return in_.substr(start, at_ - start);
  }

  std::string_view in_;
  std::size_t at_ = 0;
};

}  // namespace

const JsonValue* JsonValue::find(std::string_view name) const {
  for (const JsonMember& member : members) {
    if (member.name == name) return &member.value;
  }
  return nullptr;
}

JsonValue read_body(std::string_view body) { return Reader(body).document(); }

}  // namespace okxvault
