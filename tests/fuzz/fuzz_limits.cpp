// A request to a key under a grant with trading limits, through the daemon's
// policy: validate_sign_request, then decide(), which runs the grant's rules,
// the built-in denies, the body reader (order_body.hpp) and the limits
// (order_limits.hpp). The input is a byte that picks the request path (the
// endpoints the limits read, a cancel, reads, other endpoints, a built-in deny,
// a query string, a path in another case, one that is not canonical, and the
// WebSocket login), a byte that picks the grants and limits, then the body.
//
// Invariants:
//   - a body the reader accepts is read the same by Boost.JSON's parse (a second,
//     independent reader): the same kinds, member names in the same order with
//     none lost (so no duplicate slipped through: Boost.JSON keeps one of a
//     duplicate pair), the same string bytes;
//   - whatever other grant names the peer, the limited grant decides: a
//     WebSocket login, a built-in deny, a POST with a query string and a POST to
//     an endpoint neither read nor cancel (unless an allow rule names it
//     exactly) are refused; a refusal by a limit names the limited grant;
//   - a body allowed to an endpoint the limits read keeps every limit, checked
//     here from Boost.JSON's reading by code written apart from
//     order_limits.cpp: the instrument and its type, side, order type, mode and
//     reduce-only, every size and every price; its orders are counted for the
//     limited grant.

#include <algorithm>
#include <boost/json.hpp>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "daemon/core/order_body.hpp"
#include "daemon/core/order_limits.hpp"
#include "daemon/core/policy.hpp"
#include "tests/fuzz/require.hpp"

namespace okxvault::fuzz {
namespace {

namespace json = boost::json;

constexpr std::string_view kLogin = "(ws login)";
constexpr std::string_view kPaths[] = {"/api/v5/trade/order",
                                       "/api/v5/trade/batch-orders",
                                       "/api/v5/trade/amend-order",
                                       "/api/v5/trade/amend-batch-orders",
                                       "/api/v5/trade/order-algo",
                                       "/api/v5/trade/close-position",
                                       "/api/v5/account/set-leverage",
                                       "/api/v5/trade/cancel-order",
                                       "/api/v5/trade/amend-algos",
                                       "/api/v5/account/balance?ccy=BTC",
                                       "/api/v5/trade/orders-pending",
                                       "/api/v5/account/set-position-mode",
                                       "/api/v5/tradingbot/grid/order-algo",
                                       "/api/v5/asset/withdrawal",
                                       "/api/v5/trade/order?sz=100",
                                       "/api/v5/trade/batch-orders?instId=BTC-USDT",
                                       "/api/v5/TRADE/Order",
                                       "/api/v5/trade//order",
                                       kLogin};
constexpr std::string_view kNamedEndpoint = "/api/v5/account/set-position-mode";
constexpr std::int64_t kNow = 1'800'000'000'000;
const Peer kBot{1001, 1001, 10, {1001, 2000}, "/usr/bin/bot"};

// What the second byte of the input picks.
struct Variant {
  bool buy_too = false;            // sides buy and sell, else sell
  bool reduce_only = false;        // every order must say reduceOnly
  std::vector<std::string> types;  // inst_types
  bool plain_group = false;        // the bot's group also has a grant without limits
  bool allow_rules = false;        // the limited grant has allow rules, one naming kNamedEndpoint
  bool get = false;                // a GET, without body, rather than a POST
};

Variant variant_of(unsigned char bits) {
  static const std::vector<std::string> kTypes[] = {{}, {"SPOT", "SWAP"}, {"MARGIN", "FUTURES"}, {"SWAP", "OPTION"}};
  return {(bits & 1) != 0,  (bits & 2) != 0,  kTypes[(bits >> 2) & 3],
          (bits & 16) != 0, (bits & 32) != 0, (bits & 64) != 0};
}

proto::Limits fuzz_limits(const Variant& v) {
  proto::Limits l;
  l.inst = {"BTC-USDT", "ETH-USDT-SWAP", "BTC-USD-*"};
  l.inst_types = v.types;
  l.max_sz = {{"BTC-USDT", "0.5"}, {"ETH-USDT-SWAP", "10"}};
  l.px_range = {{"BTC-USDT", "10000", "90000"}};
  l.ord_types = {"limit", "post_only", "market", "conditional", "trigger"};
  l.sides = v.buy_too ? std::vector<std::string>{"buy", "sell"} : std::vector<std::string>{"sell"};
  l.td_modes = {"cash", "cross", "isolated"};
  l.reduce_only = v.reduce_only;
  l.max_leverage = "5";
  l.orders_per_minute = 30;
  return l;
}

std::vector<Grant> fuzz_grants(const Variant& v) {
  Grant limited;
  limited.id = 1001;
  limited.name = "bot";
  limited.ws = true;
  limited.limits = fuzz_limits(v);
  if (v.allow_rules) {
    limited.allow = {Rule::parse("GET /api/v5/"), Rule::parse("POST /api/v5/trade/"),
                     Rule::parse("POST /api/v5/account/set-leverage"),
                     Rule::parse(std::string("POST ") + std::string(kNamedEndpoint))};
  }
  std::vector<Grant> grants{limited};
  if (v.plain_group) {
    Grant group;
    group.kind = Grant::Kind::group;
    group.id = 2000;
    group.name = "bots";
    group.ws = true;
    grants.insert(grants.begin(), group);
  }
  return grants;
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

bool one_of(std::string_view value, std::initializer_list<std::string_view> list) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

bool listed(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// The instrument type OKX gives `inst`, from the parts between its dashes; an
// amend of a pair may be either type of a pair.
std::string_view type_of(std::string_view inst, std::string_view mode, std::string_view path) {
  std::vector<std::string_view> parts;
  for (std::size_t from = 0;;) {
    const std::size_t dash = inst.find('-', from);
    parts.push_back(inst.substr(from, dash == std::string_view::npos ? std::string_view::npos : dash - from));
    if (dash == std::string_view::npos) break;
    from = dash + 1;
  }
  const std::string_view last = parts.back();
  const bool number = !last.empty() && last.find_first_not_of("0123456789") == std::string_view::npos;
  if (parts.size() == 3 && last == "SWAP") return "SWAP";
  if (parts.size() == 3 && number) return "FUTURES";
  if (parts.size() == 5 && (last == "C" || last == "P")) return "OPTION";
  if (parts.size() != 2) return "";
  if (path.ends_with("close-position") || path.ends_with("set-leverage")) return "MARGIN";
  if (path.find("amend") != std::string_view::npos) return "SPOT|MARGIN";
  if (mode == "cash") return "SPOT";
  return one_of(mode, {"cross", "isolated", "spot_isolated"}) ? "MARGIN" : "";
}

void order_holds(const json::value& value, std::string_view path, const Variant& v) {
  const json::object& o = value.as_object();
  const std::string_view inst = text(o, "instId");
  const bool inst_ok = inst == "BTC-USDT" || inst == "ETH-USDT-SWAP" || inst.starts_with("BTC-USD-");
  require(inst_ok, "an allowed request names an allowed instrument");
  if (!v.types.empty()) {
    const std::string_view mode = text(o, path.ends_with("close-position") ? "mgnMode" : "tdMode");
    const std::string_view type = type_of(inst, mode, path);
    require(type == "SPOT|MARGIN" ? listed(v.types, "SPOT") || listed(v.types, "MARGIN") : listed(v.types, type),
            "an allowed request keeps inst_types");
  }
  if (path.ends_with("set-leverage")) {
    require(plain_decimal(text(o, "lever")) && padded(text(o, "lever")) <= padded("5"), "lever keeps max_leverage");
    return;
  }
  if (path.ends_with("close-position")) {
    require(one_of(text(o, "mgnMode"), {"cash", "cross", "isolated"}), "close-position keeps td_modes");
    return;
  }
  if (path.find("amend") == std::string_view::npos) {
    const std::string_view side = text(o, "side");
    require(side == "sell" || (v.buy_too && side == "buy"), "an allowed order keeps sides");
    const std::string_view type = text(o, "ordType");
    require(one_of(type, {"limit", "post_only", "market", "conditional", "trigger"}),
            "an allowed order keeps ord_types");
    const std::string_view mode = text(o, "tdMode");
    require(one_of(mode, {"cash", "cross", "isolated"}), "an allowed order keeps td_modes");
    require(o.if_contains("pxUsd") == nullptr && o.if_contains("tradeQuoteCcy") == nullptr,
            "no member the vault does not read");
    if (inst == "BTC-USDT" || inst == "ETH-USDT-SWAP") {
      require(o.if_contains("sz") != nullptr || path.ends_with("order-algo"), "a size-limited order gives sz");
      require(text(o, "tgtCcy") != "quote_ccy", "no size in the quote currency under max_sz");
    }
    if (v.reduce_only) {
      const json::value* reduce = o.if_contains("reduceOnly");
      require(reduce != nullptr && reduce->is_bool() && reduce->get_bool(), "a reduce-only order says reduceOnly");
      require(mode == "cross" || mode == "isolated", "a reduce-only order is in a mode where OKX reads reduceOnly");
      const json::value* pos = o.if_contains("posSide");
      const std::string_view pos_side = text(o, "posSide");
      require(pos == nullptr || pos_side == "net" || (pos_side == "long" && side == "sell") ||
                  (pos_side == "short" && side == "buy"),
              "a reduce-only order in long/short mode only closes");
    }
  }
  amounts_hold(o, inst);
}

// The path as the policy matches it: without its query, in lower case.
std::string matched(std::string_view request_path) {
  std::string path(request_path.substr(0, request_path.find('?')));
  for (char& c : path) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return path;
}

bool read_by_limits(std::string_view path) {
  return path.find("?") == std::string_view::npos &&
         one_of(path, {"/api/v5/trade/order", "/api/v5/trade/batch-orders", "/api/v5/trade/amend-order",
                       "/api/v5/trade/amend-batch-orders", "/api/v5/trade/amend-algos", "/api/v5/trade/order-algo",
                       "/api/v5/trade/close-position", "/api/v5/account/set-leverage"});
}

}  // namespace
}  // namespace okxvault::fuzz

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  using namespace okxvault;
  using namespace okxvault::fuzz;
  if (size < 2) return 0;
  const std::string_view request_path = kPaths[data[0] % std::size(kPaths)];
  const Variant v = variant_of(data[1]);
  const std::string_view body = as_text(data + 2, size - 2);

  try {
    const JsonValue mine = read_body(body);
    boost::system::error_code ec;
    const json::value theirs = json::parse(body, ec);
    require(!ec, "a body the reader accepts is JSON to Boost.JSON");
    same_reading(mine, theirs);
  } catch (const Error& e) {
    require(e.code() == Code::policy_denied && e.rule() == "body", "the reader refuses as policy_denied body");
  }

  const std::vector<Grant> grants = fuzz_grants(v);
  if (request_path == kLogin) {
    const Decision d = decide(grants, kBot, false, "GET", "/users/self/verify", {}, true, kNow);
    require(!d.allowed && d.limit == LimitRule::ws,
            "trading limits refuse a WebSocket login, whatever else is granted");
    return 0;
  }
  const std::string_view method = v.get ? "GET" : "POST";
  const std::string_view sent = v.get ? std::string_view() : body;
  Decision d;
  try {
    validate_sign_request(method, request_path, sent);
    d = decide(grants, kBot, false, method, request_path, sent, false, kNow);
  } catch (const Error& e) {
    require(e.code() == Code::bad_request || e.rule() == "canonical-path", "a request refused before the policy");
    return 0;
  }
  if (d.limit) require(!d.allowed && d.rule.starts_with("user bot: "), "a limit's refusal names the limited grant");
  if (!d.allowed) return 0;
  require(!d.limit, "an allowed request carries no limit");
  require(d.rule.starts_with("user bot"), "only the limited grant allows");
  if (v.get) return 0;

  const std::string path = matched(request_path);
  require(request_path.find('?') == std::string_view::npos, "no POST with a query string is allowed");
  require(!path.starts_with("/api/v5/asset/"), "a built-in deny holds");
  if (path == "/api/v5/trade/cancel-order") return 0;
  if (!read_by_limits(path)) {
    require(v.allow_rules && path == kNamedEndpoint,
            "an endpoint the limits do not read needs an allow rule naming it");
    return 0;
  }
  const json::value value = json::parse(body);
  std::size_t orders = 1;
  if (value.is_array()) {
    require(path.find("batch") != std::string_view::npos, "only a batch is an array");
    require(!value.get_array().empty() && value.get_array().size() <= 20, "a batch holds 1 to 20 orders");
    for (const json::value& order : value.get_array()) order_holds(order, path, v);
    orders = value.get_array().size();
  } else {
    require(path.find("batch") == std::string_view::npos, "a batch is an array");
    order_holds(value, path, v);
  }
  require(body.find('\\') == std::string_view::npos, "an allowed body has no escape");
  if (path.ends_with("set-leverage")) orders = 0;
  require(d.orders == orders && d.orders_per_minute == (orders == 0 ? 0U : 30U) &&
              (orders == 0 || d.counted_for == "user bot"),
          "an allowed request's orders are counted for the limited grant");
  return 0;
}
