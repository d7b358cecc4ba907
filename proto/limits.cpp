#include "proto/limits.hpp"

#include <algorithm>
#include <iterator>

#include "common/error.hpp"

namespace okxvault::proto {
namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }
bool inst_char(char c) { return (c >= 'A' && c <= 'Z') || digit(c) || c == '-'; }

[[noreturn]] void invalid(const std::string& what) { throw Error(Code::bad_request, "limits: " + what); }

// Names a value in an error without echoing more than a pattern's worth of it.
std::string quoted(std::string_view text) {
  std::string out(text.substr(0, kMaxPatternLength));
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c < 0x20 || c > 0x7e; }, '?');
  return "'" + out + (text.size() > kMaxPatternLength ? "...'" : "'");
}

void check_count(std::size_t n, std::string_view what) {
  if (n > kMaxLimitEntries) invalid(std::string(what) + ": at most " + std::to_string(kMaxLimitEntries) + " entries");
}

void check_names(const std::vector<std::string>& values, const std::vector<std::string_view>& known,
                 std::string_view what) {
  check_count(values.size(), what);
  for (const std::string& value : values) {
    if (std::find(known.begin(), known.end(), value) == known.end()) {
      std::string list;
      for (std::string_view name : known) list += (list.empty() ? "" : ", ") + std::string(name);
      invalid(std::string(what) + ": " + quoted(value) + " is not one of " + list);
    }
  }
}

void check_pattern(std::string_view pattern, std::string_view what) {
  if (!is_pattern(pattern)) {
    invalid(std::string(what) + ": " + quoted(pattern) +
            " is not an instrument pattern (an OKX instId such as BTC-USDT, or a prefix and *, such as BTC-USD-*)");
  }
}

void check_decimal(std::string_view value, std::string_view what) {
  if (!is_decimal(value)) {
    invalid(std::string(what) + ": " + quoted(value) + " is not a decimal (digits, optionally . and digits)");
  }
}

// The integer digits without leading zeros and the fraction without trailing ones.
std::pair<std::string_view, std::string_view> parts(std::string_view d) {
  const std::size_t dot = d.find('.');
  std::string_view whole = d.substr(0, dot);
  std::string_view fraction = dot == std::string_view::npos ? std::string_view() : d.substr(dot + 1);
  while (!whole.empty() && whole.front() == '0') whole.remove_prefix(1);
  while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
  return {whole, fraction};
}

// The ordType values of trade/order-algo that trading limits do not read, and so always refuse.
constexpr std::string_view kUnreadOrdTypes[] = {"twap", "iceberg", "chase"};

}  // namespace

const std::vector<std::string_view>& inst_type_names() {
  static const std::vector<std::string_view> names{"SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION"};
  return names;
}

const std::vector<std::string_view>& td_mode_names() {
  static const std::vector<std::string_view> names{"cash", "cross", "isolated", "spot_isolated"};
  return names;
}

const std::vector<std::string_view>& side_names() {
  static const std::vector<std::string_view> names{"buy", "sell"};
  return names;
}

const std::vector<std::string_view>& ord_type_names() {
  static const std::vector<std::string_view> names{// trade/order
                                                   "market", "limit", "post_only", "fok", "ioc", "optimal_limit_ioc",
                                                   "mmp", "mmp_and_post_only", "op_fok",
                                                   // trade/order-algo
                                                   "conditional", "oco", "trigger", "move_order_stop"};
  return names;
}

bool is_decimal(std::string_view text) {
  if (text.empty() || text.size() > kMaxDecimalLength || !digit(text.front()) || !digit(text.back())) return false;
  bool dot = false;
  for (char c : text) {
    if (c == '.') {
      if (dot) return false;
      dot = true;
    } else if (!digit(c)) {
      return false;
    }
  }
  return true;
}

int compare_decimal(std::string_view a, std::string_view b) {
  const auto [a_whole, a_fraction] = parts(a);
  const auto [b_whole, b_fraction] = parts(b);
  if (a_whole.size() != b_whole.size()) return a_whole.size() < b_whole.size() ? -1 : 1;
  if (const int c = a_whole.compare(b_whole); c != 0) return c < 0 ? -1 : 1;
  const int c = a_fraction.compare(b_fraction);  // digit strings: lexicographic is numeric
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

bool is_inst_id(std::string_view text) {
  return !text.empty() && text.size() <= kMaxPatternLength && std::all_of(text.begin(), text.end(), inst_char);
}

bool is_pattern(std::string_view text) {
  if (text.ends_with('*')) text.remove_suffix(1);
  return text.empty() ? false : is_inst_id(text);
}

bool pattern_matches(std::string_view pattern, std::string_view inst_id) {
  if (pattern.ends_with('*')) return inst_id.starts_with(pattern.substr(0, pattern.size() - 1));
  return inst_id == pattern;
}

void validate(const Limits& limits) {
  check_count(limits.inst.size(), "inst");
  for (const std::string& pattern : limits.inst) check_pattern(pattern, "inst");
  check_names(limits.inst_types, inst_type_names(), "inst_types");
  check_count(limits.max_sz.size(), "max_sz");
  for (const MaxSize& max : limits.max_sz) {
    check_pattern(max.inst, "max_sz");
    check_decimal(max.sz, "max_sz for " + max.inst);
  }
  check_count(limits.px_range.size(), "px_range");
  for (const PxRange& range : limits.px_range) {
    check_pattern(range.inst, "px_range");
    if (range.min.empty() && range.max.empty()) invalid("px_range for " + range.inst + ": give a min, a max or both");
    if (!range.min.empty()) check_decimal(range.min, "px_range min for " + range.inst);
    if (!range.max.empty()) check_decimal(range.max, "px_range max for " + range.inst);
    if (!range.min.empty() && !range.max.empty() && compare_decimal(range.min, range.max) > 0) {
      invalid("px_range for " + range.inst + ": min " + range.min + " is above max " + range.max);
    }
  }
  for (const std::string& type : limits.ord_types) {
    // Listed, they would read as allowed, yet every such order is refused.
    if (std::find(std::begin(kUnreadOrdTypes), std::end(kUnreadOrdTypes), type) != std::end(kUnreadOrdTypes)) {
      invalid("ord_types: '" + type +
              "' is an order-algo type whose orders the vault does not read, so trading limits refuse them all; "
              "leave it out");
    }
  }
  check_names(limits.ord_types, ord_type_names(), "ord_types");
  check_names(limits.sides, side_names(), "sides");
  check_names(limits.td_modes, td_mode_names(), "td_modes");
  if (limits.max_leverage) {
    check_decimal(*limits.max_leverage, "max_leverage");
    if (compare_decimal(*limits.max_leverage, "1") < 0) invalid("max_leverage: at least 1");
  }
  if (limits.orders_per_minute && (*limits.orders_per_minute == 0 || *limits.orders_per_minute > kMaxOrdersPerMinute)) {
    invalid("orders_per_minute: from 1 to " + std::to_string(kMaxOrdersPerMinute));
  }
}

}  // namespace okxvault::proto
