// A POST under trading limits: the body reader (order_body.hpp) and the limits
// (order_limits.hpp) on one of the endpoints they know. The input is a byte that
// picks the endpoint, then the body.
//
// Invariants:
//   - a body the reader accepts is read the same by Boost.JSON's parse (a second,
//     independent reader): the same kinds, member names in the same order with
//     none lost (so no duplicate slipped through: Boost.JSON keeps one of a
//     duplicate pair), the same string bytes;
//   - a body the limits allow keeps every limit, checked here from Boost.JSON's
//     reading by code written apart from order_limits.cpp: the instrument, side,
//     order type and mode, every size and every price against the same limits.

#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "daemon/core/order_body.hpp"
#include "daemon/core/order_limits.hpp"
#include "tests/fuzz/require.hpp"

namespace okxvault::fuzz {
namespace {

namespace json = boost::json;

constexpr std::string_view kPaths[] = {"/api/v5/trade/order",          "/api/v5/trade/batch-orders",
                                       "/api/v5/trade/amend-order",    "/api/v5/trade/amend-batch-orders",
                                       "/api/v5/trade/order-algo",     "/api/v5/trade/close-position",
                                       "/api/v5/account/set-leverage", "/api/v5/trade/cancel-order"};

proto::Limits fuzz_limits() {
  proto::Limits l;
  l.inst = {"BTC-USDT", "ETH-USDT-SWAP", "BTC-USD-*"};
  l.max_sz = {{"BTC-USDT", "0.5"}, {"ETH-USDT-SWAP", "10"}};
  l.px_range = {{"BTC-USDT", "10000", "90000"}};
  l.ord_types = {"limit", "post_only", "market", "conditional", "trigger"};
  l.sides = {"sell"};
  l.td_modes = {"cash", "cross"};
  l.max_leverage = "5";
  return l;
}

void same_reading(const JsonValue& mine, const json::value& theirs) {
  switch (mine.kind) {
    case JsonValue::Kind::object: {
      require(theirs.is_object(), "an object is an object to Boost.JSON");
      const json::object& object = theirs.get_object();
      require(object.size() == mine.members.size(), "Boost.JSON reads as many members (no duplicate kept)");
      std::size_t i = 0;
      for (const auto& member : object) {
        require(member.key() == mine.members[i].name, "member names agree, in order");
        same_reading(mine.members[i].value, member.value());
        ++i;
      }
      return;
    }
    case JsonValue::Kind::array:
      require(theirs.is_array() && theirs.get_array().size() == mine.items.size(), "arrays agree");
      for (std::size_t i = 0; i < mine.items.size(); ++i) same_reading(mine.items[i], theirs.get_array()[i]);
      return;
    case JsonValue::Kind::string:
      require(theirs.is_string() && std::string_view(theirs.get_string()) == mine.text, "strings agree byte for byte");
      return;
    case JsonValue::Kind::number:
      require(theirs.is_number(), "numbers agree");
      return;
    case JsonValue::Kind::boolean:
      require(theirs.is_bool() && theirs.get_bool() == mine.boolean, "booleans agree");
      return;
    case JsonValue::Kind::null:
      require(theirs.is_null(), "nulls agree");
      return;
  }
}

// Decimals compared as 40.40 digit strings, apart from proto::compare_decimal.
std::string padded(std::string_view d) {
  const std::size_t dot = d.find('.');
  const std::string_view whole = d.substr(0, dot);
  const std::string_view fraction = dot == std::string_view::npos ? "" : d.substr(dot + 1);
  return std::string(40 - whole.size(), '0') + std::string(whole) + std::string(fraction) +
         std::string(40 - fraction.size(), '0');
}

bool plain_decimal(std::string_view d) {
  if (d.empty() || d.size() > 40 || d.front() == '.' || d.back() == '.') return false;
  return d.find_first_not_of("0123456789.") == std::string_view::npos && d.find('.') == d.rfind('.');
}

std::string_view text(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

bool ends_with_px(std::string_view name) { return name == "px" || name.ends_with("Px"); }
bool is_size(std::string_view name) { return name == "sz" || name == "newSz"; }

// Every size and price in `o` (an order or an attached order) for `inst`.
void amounts_hold(const json::object& o, std::string_view inst) {
  for (const auto& member : o) {
    const std::string_view name = member.key();
    if (member.value().is_array()) {
      for (const json::value& item : member.value().get_array()) amounts_hold(item.as_object(), inst);
      continue;
    }
    if (!member.value().is_string()) continue;
    const std::string_view value = member.value().get_string();
    if (is_size(name)) {
      require(plain_decimal(value), "an allowed size is a decimal");
      if (inst == "BTC-USDT") require(padded(value) <= padded("0.5"), "an allowed size keeps max_sz BTC-USDT");
      if (inst == "ETH-USDT-SWAP") require(padded(value) <= padded("10"), "an allowed size keeps max_sz ETH-USDT-SWAP");
    }
    if (ends_with_px(name) && !name.ends_with("TriggerPxType")) {
      const bool market = value == "-1" && (name.ends_with("OrdPx") || name == "orderPx" || name == "newOrdPx");
      if (market) continue;
      require(plain_decimal(value), "an allowed price is a decimal");
      if (inst == "BTC-USDT") {
        require(padded(value) >= padded("10000") && padded(value) <= padded("90000"),
                "an allowed price keeps px_range");
      }
    }
  }
}

void order_holds(const json::value& value, std::string_view path) {
  const json::object& o = value.as_object();
  const std::string_view inst = text(o, "instId");
  const bool inst_ok = inst == "BTC-USDT" || inst == "ETH-USDT-SWAP" || inst.starts_with("BTC-USD-");
  if (path.ends_with("set-leverage")) {
    require(inst_ok, "set-leverage names an allowed instrument");
    require(plain_decimal(text(o, "lever")) && padded(text(o, "lever")) <= padded("5"), "lever keeps max_leverage");
    return;
  }
  require(inst_ok, "an allowed order names an allowed instrument");
  if (path.ends_with("close-position")) {
    require(text(o, "mgnMode") == "cash" || text(o, "mgnMode") == "cross", "close-position keeps td_modes");
    return;
  }
  if (path.ends_with("order") || path.ends_with("orders") || path.ends_with("order-algo")) {
    if (path.find("amend") == std::string_view::npos) {
      require(text(o, "side") == "sell", "an allowed order keeps sides");
      const std::string_view type = text(o, "ordType");
      require(type == "limit" || type == "post_only" || type == "market" || type == "conditional" || type == "trigger",
              "an allowed order keeps ord_types");
      require(text(o, "tdMode") == "cash" || text(o, "tdMode") == "cross", "an allowed order keeps td_modes");
      require(o.if_contains("pxUsd") == nullptr && o.if_contains("tradeQuoteCcy") == nullptr,
              "no member the vault does not read");
      if (inst == "BTC-USDT" || inst == "ETH-USDT-SWAP") {
        require(o.if_contains("sz") != nullptr || path.ends_with("order-algo"), "a size-limited order gives sz");
        require(text(o, "tgtCcy") != "quote_ccy", "no size in the quote currency under max_sz");
      }
    }
  }
  amounts_hold(o, inst);
}

}  // namespace
}  // namespace okxvault::fuzz

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  using namespace okxvault;
  using namespace okxvault::fuzz;
  if (size < 1) return 0;
  const std::string_view path = kPaths[data[0] % std::size(kPaths)];
  const std::string_view body = as_text(data + 1, size - 1);

  try {
    const JsonValue mine = read_body(body);
    boost::system::error_code ec;
    const json::value theirs = json::parse(body, ec);
    require(!ec, "a body the reader accepts is JSON to Boost.JSON");
    same_reading(mine, theirs);
  } catch (const Error& e) {
    require(e.code() == Code::policy_denied && e.rule() == "body", "the reader refuses as policy_denied body");
  }

  static const proto::Limits limits = fuzz_limits();
  const LimitVerdict verdict = check_limits(limits, path, path, body);
  if (verdict.refusal || path.ends_with("cancel-order")) return 0;
  const json::value value = json::parse(body);
  if (value.is_array()) {
    require(path.find("batch") != std::string_view::npos, "only a batch is an array");
    require(!value.get_array().empty() && value.get_array().size() <= 20, "a batch holds 1 to 20 orders");
    for (const json::value& order : value.get_array()) order_holds(order, path);
  } else {
    order_holds(value, path);
  }
  require(body.find('\\') == std::string_view::npos, "an allowed body has no escape");
  return 0;
}
