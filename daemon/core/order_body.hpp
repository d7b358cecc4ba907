#pragma once
// An OKX request body read the one way every JSON reader reads it, or refused.
// The trading limits (order_limits.hpp) check what this reads, and the daemon
// signs the very bytes it read, so the bytes must leave no room for a second
// reading by OKX, a proxy or another parser. The reader therefore accepts a
// strict subset of RFC 8259 JSON and refuses, with the reason:
//   - invalid UTF-8 (overlong forms, surrogates, beyond U+10FFFF), a BOM, and
//     control characters in strings;
//   - any backslash escape in a string, member names included: OKX's clients
//     write none in the fields it reads, and without escapes a string's bytes
//     are its value;
//   - a member name twice in one object (readers differ on which one wins);
//   - nesting deeper than kMaxBodyDepth, more than kMaxBodyEntries members
//     in an object or items in an array (OKX's largest have under 50), and
//     anything but whitespace after the value.
// Numbers are kept as their text; the limits accept none where OKX documents a
// string. Thread-safe: no state.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace okxvault {

// A batch (array) of orders whose attachAlgoOrds (array) hold objects.
inline constexpr std::size_t kMaxBodyDepth = 4;
inline constexpr std::size_t kMaxBodyEntries = 64;

struct JsonMember;

struct JsonValue {
  enum class Kind : unsigned char { object, array, string, number, boolean, null };
  Kind kind = Kind::null;
  bool boolean = false;
  std::string_view text;            // a string's bytes (its value: no escapes), a number's text
  std::vector<JsonMember> members;  // in order, names unique
  std::vector<JsonValue> items;

  // The member named `name`, or null.
  const JsonValue* find(std::string_view name) const;
};

struct JsonMember {
  std::string_view name;
  JsonValue value;
};

// The value the body holds; views into `body`, which must outlive it. Throws
// Error(policy_denied, rule "body") saying what was refused and where.
JsonValue read_body(std::string_view body);

}  // namespace okxvault
