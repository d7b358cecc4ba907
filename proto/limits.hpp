#pragma once
// A grant's trading limits: which orders a bot may have signed with a key. Shared
// by the daemon (which enforces them on the body it signs) and the clients
// (which send and show them); PROTOCOL.md's "Trading limits" is the normative
// description. Pure functions, safe from any thread.
//
// Decimals are OKX's: digits with at most one dot and digits after it, never an
// exponent, a sign or a space; they are compared exactly, as decimals, never as
// floating point. Instrument patterns are an OKX instId (upper-case letters,
// digits and -), or such a prefix followed by a single trailing *.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace okxvault::proto {

inline constexpr std::size_t kMaxDecimalLength = 40;
inline constexpr std::size_t kMaxPatternLength = 64;
inline constexpr std::size_t kMaxLimitEntries = 256;  // per list
inline constexpr std::uint32_t kMaxOrdersPerMinute = 1000000;

// A price range for limit orders; an empty side is unbounded.
struct PxRange {
  std::string inst;  // pattern
  std::string min;   // decimal or ""
  std::string max;   // decimal or ""
  bool operator==(const PxRange&) const = default;
};

struct MaxSize {
  std::string inst;  // pattern
  std::string sz;    // decimal
  bool operator==(const MaxSize&) const = default;
};

// Every list empty means "any"; a grant with limits, even all empty, also
// refuses state-changing endpoints whose body the vault does not read.
struct Limits {
  std::vector<std::string> inst;                   // instId patterns
  std::vector<std::string> inst_types;             // SPOT MARGIN SWAP FUTURES OPTION
  std::vector<MaxSize> max_sz;                     // every pattern that matches applies
  std::vector<PxRange> px_range;                   // every pattern that matches applies
  std::vector<std::string> ord_types;              // OKX ordType values
  std::vector<std::string> sides;                  // buy, sell
  std::vector<std::string> td_modes;               // cash, cross, isolated, spot_isolated
  bool reduce_only = false;                        // every order must say reduceOnly: true
  std::optional<std::string> max_leverage;         // decimal, for set-leverage
  std::optional<std::uint32_t> orders_per_minute;  // 1..kMaxOrdersPerMinute
  bool operator==(const Limits&) const = default;
};

// The instrument types, trade modes and sides OKX defines.
const std::vector<std::string_view>& inst_type_names();
const std::vector<std::string_view>& td_mode_names();
const std::vector<std::string_view>& side_names();
// The ordType values of trade/order and trade/order-algo that trading limits read.
const std::vector<std::string_view>& ord_type_names();

// Throws Error(bad_request) naming the limit and the value at fault.
void validate(const Limits& limits);

// Digits, optionally a dot and more digits; at most kMaxDecimalLength bytes.
bool is_decimal(std::string_view text);
// -1, 0 or 1 as a < b, a == b, a > b; both must be is_decimal.
int compare_decimal(std::string_view a, std::string_view b);

bool is_inst_id(std::string_view text);  // [A-Z0-9-]+, at most kMaxPatternLength bytes
bool is_pattern(std::string_view text);  // an instId, or an instId prefix and a trailing *
bool pattern_matches(std::string_view pattern, std::string_view inst_id);

}  // namespace okxvault::proto
