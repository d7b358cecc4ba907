#pragma once
// A grant's trading limits (proto/limits.hpp) applied to the body the daemon is
// about to sign. Pure functions, safe from any thread; the per-minute order
// count is kept by order_rate.hpp.
//
// Under limits, a POST is one of:
//   - read: trade/order, batch-orders, amend-order, amend-batch-orders,
//     amend-algos, order-algo, close-position and account/set-leverage. The
//     body (order_body.hpp) must hold only the members the vault knows for the
//     endpoint, with the JSON types OKX documents (strings, except the booleans
//     reduceOnly, banAmend, cxlOnFail, autoCxl, cxlOnClosePos and the array
//     attachAlgoOrds), and every order in it must pass every limit;
//   - a cancel (cancel-order, cancel-batch-orders, cancel-algos,
//     cancel-advance-algos, mass-cancel, cancel-all-after): allowed;
//   - anything else: refused (policy.cpp lets it through if an allow rule names
//     the endpoint exactly).
// A POST with a query string is refused.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proto/limits.hpp"

namespace okxvault {

// What refused a request under limits, for the 403/429 and the metrics.
enum class LimitRule : unsigned char {
  body,          // a body that is not what OKX reads, or not what the endpoint takes
  endpoint,      // a state-changing endpoint the vault does not read
  ws,            // a WebSocket login: its stream can place orders unseen
  inst,          // instId not in the allowlist
  inst_type,     // instrument type not allowed
  max_sz,        // size above the maximum
  px_range,      // price outside the range
  ord_type,      // ordType not allowed
  side,          // side not allowed
  td_mode,       // tdMode / mgnMode not allowed
  reduce_only,   // reduceOnly required, on an order OKX holds to it
  max_leverage,  // lever above the maximum
  rate,          // orders per minute
};
inline constexpr std::size_t kLimitRules = 13;
std::string_view rule_name(LimitRule rule);  // "max_sz", as in the metrics

struct LimitRefusal {
  LimitRule rule;
  std::string detail;  // "sz 5 > max 0.5 for BTC-USDT"; every value in it is checked, short and printable
};

struct LimitVerdict {
  std::optional<LimitRefusal> refusal;
  std::uint32_t orders = 0;  // orders the request places or amends, for the per-minute count
};

// The verdict on a POST of `body` to `request_path` (as sent) whose
// canonical_path is `path`.
LimitVerdict check_limits(const proto::Limits& limits, std::string_view path, std::string_view request_path,
                          std::string_view body);

}  // namespace okxvault
