#include "daemon/core/order_limits.hpp"

#include <algorithm>
#include <span>

#include "common/error.hpp"
#include "daemon/core/order_body.hpp"

namespace okxvault {
namespace {

struct Refused {
  LimitRule rule;
  std::string detail;
};

[[noreturn]] void refuse(LimitRule rule, std::string detail) { throw Refused{rule, std::move(detail)}; }

enum class Type : unsigned char { string, boolean, attachments };
// What a member means to the limits.
enum class Role : unsigned char {
  none,
  inst,
  side,
  pos_side,
  ord_type,
  td_mode,
  sz,
  px,
  ord_px,
  reduce_only,
  tgt_ccy,
  lever
};

struct Field {
  std::string_view name;
  Type type = Type::string;
  Role role = Role::none;
};
using Fields = std::span<const Field>;

constexpr Type S = Type::string;
constexpr Type B = Type::boolean;
constexpr Type A = Type::attachments;

// The members OKX documents for each endpoint, and what the limits read in them.
constexpr Field kOrder[] = {{"instId", S, Role::inst},
                            {"tdMode", S, Role::td_mode},
                            {"ccy"},
                            {"clOrdId"},
                            {"tag"},
                            {"side", S, Role::side},
                            {"posSide", S, Role::pos_side},
                            {"ordType", S, Role::ord_type},
                            {"sz", S, Role::sz},
                            {"px", S, Role::px},
                            {"reduceOnly", B, Role::reduce_only},
                            {"tgtCcy", S, Role::tgt_ccy},
                            {"banAmend", B},
                            {"quickMgnType"},
                            {"stpId"},
                            {"stpMode"},
                            {"attachAlgoOrds", A}};
constexpr Field kOrderAttached[] = {{"attachAlgoClOrdId"},   {"tpTriggerPx", S, Role::px}, {"tpOrdPx", S, Role::ord_px},
                                    {"tpOrdKind"},           {"slTriggerPx", S, Role::px}, {"slOrdPx", S, Role::ord_px},
                                    {"tpTriggerPxType"},     {"slTriggerPxType"},          {"sz", S, Role::sz},
                                    {"amendPxOnTriggerType"}};
constexpr Field kAlgo[] = {{"instId", S, Role::inst},
                           {"tdMode", S, Role::td_mode},
                           {"ccy"},
                           {"side", S, Role::side},
                           {"posSide", S, Role::pos_side},
                           {"ordType", S, Role::ord_type},
                           {"sz", S, Role::sz},
                           {"tag"},
                           {"tgtCcy", S, Role::tgt_ccy},
                           {"algoClOrdId"},
                           {"closeFraction"},
                           {"reduceOnly", B, Role::reduce_only},
                           {"cxlOnClosePos", B},
                           {"quickMgnType"},
                           {"tpTriggerPx", S, Role::px},
                           {"tpTriggerPxType"},
                           {"tpOrdPx", S, Role::ord_px},
                           {"tpOrdKind"},
                           {"slTriggerPx", S, Role::px},
                           {"slTriggerPxType"},
                           {"slOrdPx", S, Role::ord_px},
                           {"triggerPx", S, Role::px},
                           {"orderPx", S, Role::ord_px},
                           {"triggerPxType"},
                           {"callbackRatio"},
                           {"callbackSpread"},
                           {"activePx", S, Role::px},
                           {"attachAlgoOrds", A}};
constexpr Field kAlgoAttached[] = {{"attachAlgoClOrdId"},        {"tpTriggerPx", S, Role::px}, {"tpTriggerPxType"},
                                   {"tpOrdPx", S, Role::ord_px}, {"slTriggerPx", S, Role::px}, {"slTriggerPxType"},
                                   {"slOrdPx", S, Role::ord_px}};
constexpr Field kAmend[] = {{"instId", S, Role::inst},
                            {"ordId"},
                            {"clOrdId"},
                            {"algoId"},
                            {"algoClOrdId"},
                            {"reqId"},
                            {"cxlOnFail", B},
                            {"newSz", S, Role::sz},
                            {"newPx", S, Role::px},
                            {"newTpTriggerPx", S, Role::px},
                            {"newTpOrdPx", S, Role::ord_px},
                            {"newTpOrdKind"},
                            {"newSlTriggerPx", S, Role::px},
                            {"newSlOrdPx", S, Role::ord_px},
                            {"newTpTriggerPxType"},
                            {"newSlTriggerPxType"},
                            {"newTriggerPx", S, Role::px},
                            {"newOrdPx", S, Role::ord_px},
                            {"newTriggerPxType"},
                            {"attachAlgoOrds", A}};
constexpr Field kAmendAttached[] = {{"attachAlgoId"},
                                    {"attachAlgoClOrdId"},
                                    {"newTpTriggerPx", S, Role::px},
                                    {"newTpOrdPx", S, Role::ord_px},
                                    {"newTpOrdKind"},
                                    {"newSlTriggerPx", S, Role::px},
                                    {"newSlOrdPx", S, Role::ord_px},
                                    {"newTpTriggerPxType"},
                                    {"newSlTriggerPxType"},
                                    {"sz", S, Role::sz},
                                    {"amendPxOnTriggerType"}};
constexpr Field kClose[] = {{"instId", S, Role::inst},
                            {"mgnMode", S, Role::td_mode},
                            {"posSide"},
                            {"ccy"},
                            {"autoCxl", B},
                            {"clOrdId"},
                            {"tag"}};
constexpr Field kLeverage[] = {{"instId", S, Role::inst}, {"ccy"}, {"lever", S, Role::lever}, {"mgnMode"}, {"posSide"}};

enum class Kind : unsigned char { order, algo, amend, close, leverage };

struct Endpoint {
  std::string_view path;
  Kind kind;
  bool batch;
  Fields fields;
  Fields attached;
};

constexpr Endpoint kEndpoints[] = {
    {"/api/v5/trade/order", Kind::order, false, kOrder, kOrderAttached},
    {"/api/v5/trade/batch-orders", Kind::order, true, kOrder, kOrderAttached},
    {"/api/v5/trade/amend-order", Kind::amend, false, kAmend, kAmendAttached},
    {"/api/v5/trade/amend-batch-orders", Kind::amend, true, kAmend, kAmendAttached},
    {"/api/v5/trade/amend-algos", Kind::amend, false, kAmend, kAmendAttached},
    {"/api/v5/trade/order-algo", Kind::algo, false, kAlgo, kAlgoAttached},
    {"/api/v5/trade/close-position", Kind::close, false, kClose, {}},
    {"/api/v5/account/set-leverage", Kind::leverage, false, kLeverage, {}},
};

constexpr std::string_view kCancels[] = {"/api/v5/trade/cancel-order", "/api/v5/trade/cancel-batch-orders",
                                         "/api/v5/trade/cancel-algos", "/api/v5/trade/cancel-advance-algos",
                                         "/api/v5/trade/mass-cancel",  "/api/v5/trade/cancel-all-after"};

// OKX takes at most 20 orders in a batch.
constexpr std::size_t kMaxBatch = 20;

// The ordTypes of order-algo whose prices the vault reads.
constexpr std::string_view kAlgoOrdTypes[] = {"conditional", "oco", "trigger", "move_order_stop"};
// The ordTypes of trade/order that execute at the order's own price.
constexpr std::string_view kPricedOrdTypes[] = {"limit", "post_only",         "fok",   "ioc",
                                                "mmp",   "mmp_and_post_only", "op_fok"};

template <typename List>
bool contains(const List& list, std::string_view value) {
  return std::find(std::begin(list), std::end(list), value) != std::end(list);
}

// A name or value from the body, in a refusal: short printable ASCII as is,
// anything else only described.
std::string shown(std::string_view text) {
  const bool plain = !text.empty() && text.size() <= 40 &&
                     std::all_of(text.begin(), text.end(), [](char c) { return c > 0x20 && c < 0x7f && c != '\''; });
  return plain ? std::string(text) : std::string("(a value of ") + std::to_string(text.size()) + " bytes)";
}

// The instrument type of an amend of a pair. An amend says no mode, and cannot
// change the type of the order it amends, which was checked when it was placed.
constexpr std::string_view kSpotOrMargin = "SPOT or MARGIN";

// OKX's instrument types by the shape of the instId: BTC-USDT-SWAP, BTC-USD-250328,
// BTC-USD-250328-50000-C; a pair is SPOT in cash mode and MARGIN otherwise.
std::optional<std::string_view> inst_type(std::string_view inst, std::string_view mode, Kind kind) {
  const auto parts = static_cast<std::size_t>(std::count(inst.begin(), inst.end(), '-')) + 1;
  const std::string_view last = inst.substr(inst.rfind('-') + 1);
  const bool digits = !last.empty() &&
                      std::all_of(last.begin(), last.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (parts == 3 && last == "SWAP") return "SWAP";
  if (parts == 3 && digits) return "FUTURES";
  if (parts == 5 && (last == "C" || last == "P")) return "OPTION";
  if (parts == 2) {
    if (kind == Kind::leverage || kind == Kind::close) return "MARGIN";
    if (kind == Kind::amend) return kSpotOrMargin;
    if (mode == "cash") return "SPOT";
    if (contains(proto::td_mode_names(), mode)) return "MARGIN";
  }
  return std::nullopt;
}

// What one order says, as the limits read it.
struct Order {
  std::string_view inst;
  std::string_view side;
  std::optional<std::string_view> pos_side;  // absent is net mode; "" is not
  std::string_view ord_type;
  std::string_view td_mode;
  std::string_view tgt_ccy;
  std::string_view lever;
  std::optional<bool> reduce_only;
  bool sized = false;   // has sz
  bool priced = false;  // has px
};

class Checker {
 public:
  Checker(const proto::Limits& limits, const Endpoint& endpoint) : limits_(limits), endpoint_(endpoint) {}

  void check(const JsonValue& value) {
    if (value.kind != JsonValue::Kind::object) refuse(LimitRule::body, "an order is a JSON object");
    Order order;
    std::array<const Field*, kMaxBodyEntries> fields{};  // the reader allows no more members
    for (std::size_t i = 0; i < value.members.size(); ++i) {
      fields[i] = &read_scalar(order, endpoint_.fields, value.members[i].name, value.members[i].value);
    }
    check_instrument(order);
    check_shape(order);
    // Sizes and prices are read against the instrument, in the order and its attachments.
    for (std::size_t i = 0; i < value.members.size(); ++i) {
      if (fields[i]->type == Type::attachments) {
        check_attachments(order, value.members[i].value);
      } else {
        check_amount(order, *fields[i], value.members[i].value);
      }
    }
    check_missing(order);
  }

 private:
  static const Field* find(Fields fields, std::string_view name) {
    const auto it = std::find_if(fields.begin(), fields.end(), [&](const Field& f) { return f.name == name; });
    return it == fields.end() ? nullptr : &*it;
  }

  const Field& typed(Fields fields, std::string_view name, const JsonValue& member) const {
    const Field* field = find(fields, name);
    if (field == nullptr) {
      refuse(LimitRule::body, "field " + shown(name) + " is not one the vault reads on " + std::string(endpoint_.path));
    }
    const bool ok = field->type == Type::string    ? member.kind == JsonValue::Kind::string
                    : field->type == Type::boolean ? member.kind == JsonValue::Kind::boolean
                                                   : member.kind == JsonValue::Kind::array;
    if (!ok) {
      const char* what = field->type == Type::string    ? "a JSON string"
                         : field->type == Type::boolean ? "true or false"
                                                        : "an array of objects";
      refuse(LimitRule::body, std::string(field->name) + " must be " + what + ", as OKX documents it");
    }
    return *field;
  }

  const Field& read_scalar(Order& order, Fields fields, std::string_view name, const JsonValue& member) const {
    const Field& field = typed(fields, name, member);
    switch (field.role) {
      case Role::inst:
        order.inst = member.text;
        break;
      case Role::side:
        order.side = member.text;
        break;
      case Role::pos_side:
        order.pos_side = member.text;
        break;
      case Role::ord_type:
        order.ord_type = member.text;
        break;
      case Role::td_mode:
        order.td_mode = member.text;
        break;
      case Role::tgt_ccy:
        order.tgt_ccy = member.text;
        break;
      case Role::lever:
        order.lever = member.text;
        break;
      case Role::reduce_only:
        order.reduce_only = member.boolean;
        break;
      case Role::sz:
        order.sized = true;
        break;
      case Role::px:
        order.priced = order.priced || name == "px";
        break;
      default:
        break;
    }
    return field;
  }

  bool instrument_limited() const { return !limits_.inst.empty() || !limits_.inst_types.empty(); }

  void check_instrument(const Order& order) const {
    if (order.inst.empty() && endpoint_.kind == Kind::leverage) {
      if (instrument_limited()) {
        refuse(LimitRule::inst, "set-leverage without instId cannot be held to the instrument limits");
      }
      return;
    }
    if (order.inst.empty()) refuse(LimitRule::inst, "instId missing");
    if (!proto::is_inst_id(order.inst)) {
      refuse(LimitRule::inst, "instId " + shown(order.inst) + " is not an OKX instId (upper-case letters, digits, -)");
    }
    const std::string inst(order.inst);
    if (!limits_.inst.empty() &&
        std::none_of(limits_.inst.begin(), limits_.inst.end(),
                     [&](const std::string& pattern) { return proto::pattern_matches(pattern, inst); })) {
      refuse(LimitRule::inst, "instId " + inst + " not allowed");
    }
    if (limits_.inst_types.empty()) return;
    const auto type = inst_type(order.inst, order.td_mode, endpoint_.kind);
    if (!type) refuse(LimitRule::inst_type, "the instrument type of " + inst + " is not known");
    const bool allowed = *type == kSpotOrMargin
                             ? contains(limits_.inst_types, "SPOT") || contains(limits_.inst_types, "MARGIN")
                             : contains(limits_.inst_types, *type);
    if (!allowed) {
      refuse(LimitRule::inst_type, "instType " + std::string(*type) + " (" + inst + ") not allowed");
    }
  }

  // side, ordType, tdMode, reduceOnly and lever.
  void check_shape(const Order& order) const {
    const Kind kind = endpoint_.kind;
    if (kind == Kind::order || kind == Kind::algo) {
      if (!limits_.sides.empty() && !contains(limits_.sides, order.side)) {
        refuse(LimitRule::side, "side " + (order.side.empty() ? "missing" : shown(order.side) + " not allowed"));
      }
      const bool known = kind == Kind::algo ? contains(kAlgoOrdTypes, order.ord_type)
                                            : contains(proto::ord_type_names(), order.ord_type) &&
                                                  !contains(kAlgoOrdTypes, order.ord_type);
      if (!known) {
        refuse(LimitRule::ord_type,
               "ordType " + shown(order.ord_type) + " is not one the vault reads on " + std::string(endpoint_.path));
      }
      if (!limits_.ord_types.empty() && !contains(limits_.ord_types, order.ord_type)) {
        refuse(LimitRule::ord_type, "ordType " + std::string(order.ord_type) + " not allowed");
      }
      if (limits_.reduce_only) check_reduce_only(order);
    }
    if ((kind == Kind::order || kind == Kind::algo || kind == Kind::close) && !limits_.td_modes.empty() &&
        !contains(limits_.td_modes, order.td_mode)) {
      const std::string name = kind == Kind::close ? "mgnMode " : "tdMode ";
      refuse(LimitRule::td_mode, name + (order.td_mode.empty() ? "missing" : shown(order.td_mode) + " not allowed"));
    }
    if (kind == Kind::leverage) {
      if (!proto::is_decimal(order.lever)) refuse(LimitRule::max_leverage, "lever missing or not a decimal");
      if (limits_.max_leverage && proto::compare_decimal(order.lever, *limits_.max_leverage) > 0) {
        refuse(LimitRule::max_leverage, "lever " + std::string(order.lever) + " > max " + *limits_.max_leverage);
      }
    }
    if (kind == Kind::algo && order.ord_type == "move_order_stop" && price_limited(order)) {
      refuse(LimitRule::px_range,
             "ordType move_order_stop follows the market, so it cannot be held to the px range for " +
                 std::string(order.inst));
    }
  }

  // OKX reads reduceOnly only on margin orders and on futures and swaps in net
  // mode: in tdMode cash, or with posSide long or short, reduceOnly true still
  // opens a position. In long/short mode, sell long and buy short only close one.
  static void check_reduce_only(const Order& order) {
    if (order.reduce_only != true) refuse(LimitRule::reduce_only, "reduceOnly true required");
    if (order.td_mode != "cross" && order.td_mode != "isolated") {
      refuse(LimitRule::reduce_only, (order.td_mode.empty() ? "tdMode missing" : "tdMode " + shown(order.td_mode)) +
                                         ": reduceOnly holds at OKX only in tdMode cross or isolated");
    }
    if (!order.pos_side || *order.pos_side == "net") return;
    const std::string_view pos_side = *order.pos_side;
    if (pos_side != "long" && pos_side != "short") {
      refuse(LimitRule::reduce_only, "posSide " + shown(pos_side) + " is not net, long or short");
    }
    const bool closes = (pos_side == "long" && order.side == "sell") || (pos_side == "short" && order.side == "buy");
    if (!closes) {
      refuse(LimitRule::reduce_only,
             (order.side.empty() ? "side missing" : "side " + shown(order.side)) + " with posSide " +
                 std::string(pos_side) +
                 " opens a position (OKX ignores reduceOnly with posSide); reduce-only allows sell long and buy short");
    }
  }

  bool price_limited(const Order& order) const {
    return std::any_of(limits_.px_range.begin(), limits_.px_range.end(),
                       [&](const proto::PxRange& r) { return proto::pattern_matches(r.inst, order.inst); });
  }

  bool size_limited(const Order& order) const {
    return std::any_of(limits_.max_sz.begin(), limits_.max_sz.end(),
                       [&](const proto::MaxSize& m) { return proto::pattern_matches(m.inst, order.inst); });
  }

  void check_attachments(const Order& order, const JsonValue& list) const {
    for (const JsonValue& item : list.items) {
      if (item.kind != JsonValue::Kind::object) refuse(LimitRule::body, "attachAlgoOrds holds objects");
      for (const auto& [name, member] : item.members) {
        check_amount(order, typed(endpoint_.attached, name, member), member);
      }
    }
  }

  void check_amount(const Order& order, const Field& field, const JsonValue& member) const {
    if (field.role == Role::sz) check_size(order, field.name, member.text);
    if (field.role == Role::px || field.role == Role::ord_px) check_price(order, field, member.text);
  }

  void check_size(const Order& order, std::string_view name, std::string_view sz) const {
    if (!proto::is_decimal(sz)) refuse(LimitRule::max_sz, std::string(name) + " " + shown(sz) + " is not a decimal");
    for (const proto::MaxSize& max : limits_.max_sz) {
      if (proto::pattern_matches(max.inst, order.inst) && proto::compare_decimal(sz, max.sz) > 0) {
        refuse(LimitRule::max_sz, std::string(name) + " " + std::string(sz) + " > max " + max.sz + " for " + max.inst);
      }
    }
  }

  void check_price(const Order& order, const Field& field, std::string_view px) const {
    const std::string name(field.name);
    if (field.role == Role::ord_px && px == "-1") {
      // OKX executes at the market price.
      if (!limits_.ord_types.empty() && !contains(limits_.ord_types, "market")) {
        refuse(LimitRule::ord_type, name + " -1 executes at the market price, and ordType market is not allowed");
      }
      return;
    }
    if (!proto::is_decimal(px)) refuse(LimitRule::px_range, name + " " + shown(px) + " is not a decimal");
    for (const proto::PxRange& range : limits_.px_range) {
      if (!proto::pattern_matches(range.inst, order.inst)) continue;
      if (!range.min.empty() && proto::compare_decimal(px, range.min) < 0) {
        refuse(LimitRule::px_range, name + " " + std::string(px) + " < min " + range.min + " for " + range.inst);
      }
      if (!range.max.empty() && proto::compare_decimal(px, range.max) > 0) {
        refuse(LimitRule::px_range, name + " " + std::string(px) + " > max " + range.max + " for " + range.inst);
      }
    }
  }

  // What a limit needs and the order does not say.
  void check_missing(const Order& order) const {
    const Kind kind = endpoint_.kind;
    if (kind != Kind::order && kind != Kind::algo) return;
    if (size_limited(order)) {
      if (!order.sized && kind == Kind::order) refuse(LimitRule::max_sz, "sz missing");
      // In the quote currency OKX reads sz as an amount to spend, which the
      // maximum (in the unit of the instrument) does not bound. OKX's default
      // is the quote currency for spot market buys and spot buy algo orders.
      const bool pair = std::count(order.inst.begin(), order.inst.end(), '-') == 1;
      const bool quote_by_default = pair && order.side == "buy" && (kind == Kind::algo || order.ord_type == "market");
      if (order.tgt_ccy == "quote_ccy" || (quote_by_default && order.tgt_ccy != "base_ccy")) {
        refuse(LimitRule::max_sz, "sz in the quote currency cannot be held to the max sz for " +
                                      std::string(order.inst) + "; send tgtCcy base_ccy");
      }
    }
    if (kind == Kind::order && !order.priced && price_limited(order) && contains(kPricedOrdTypes, order.ord_type)) {
      refuse(LimitRule::px_range, "px missing");
    }
  }

  const proto::Limits& limits_;
  const Endpoint& endpoint_;
};

}  // namespace

std::string_view rule_name(LimitRule rule) {
  static constexpr std::array<std::string_view, kLimitRules> names{
      "body",     "endpoint", "ws",      "inst",        "inst_type",    "max_sz", "px_range",
      "ord_type", "side",     "td_mode", "reduce_only", "max_leverage", "rate"};
  return names.at(static_cast<std::size_t>(rule));
}

LimitVerdict check_limits(const proto::Limits& limits, std::string_view path, std::string_view request_path,
                          std::string_view body) {
  LimitVerdict verdict;
  try {
    if (request_path.find('?') != std::string_view::npos) {
      refuse(LimitRule::body, "a query string on a POST; OKX reads a POST's parameters from its body");
    }
    if (contains(kCancels, path)) return verdict;
    const auto endpoint =
        std::find_if(std::begin(kEndpoints), std::end(kEndpoints), [&](const Endpoint& e) { return e.path == path; });
    if (endpoint == std::end(kEndpoints)) {
      refuse(LimitRule::endpoint,
             "POST " + std::string(path.substr(0, 128)) + " is not an endpoint the vault reads under trading limits");
    }
    JsonValue value;
    try {
      value = read_body(body);
    } catch (const Error& e) {
      refuse(LimitRule::body, e.what());
    }
    Checker checker(limits, *endpoint);
    if (!endpoint->batch) {
      checker.check(value);
      verdict.orders = endpoint->kind == Kind::leverage ? 0 : 1;
      return verdict;
    }
    if (value.kind != JsonValue::Kind::array || value.items.empty() || value.items.size() > kMaxBatch) {
      refuse(LimitRule::body, "a batch is a JSON array of 1 to " + std::to_string(kMaxBatch) + " orders");
    }
    for (std::size_t i = 0; i < value.items.size(); ++i) {
      try {
        checker.check(value.items[i]);
      } catch (Refused& refused) {
        refused.detail =
            "order " + std::to_string(i + 1) + " of " + std::to_string(value.items.size()) + ": " + refused.detail;
        throw;
      }
    }
    verdict.orders = static_cast<std::uint32_t>(value.items.size());
  } catch (Refused& refused) {
    verdict.refusal = LimitRefusal{refused.rule, std::move(refused.detail)};
    verdict.orders = 0;
  }
  return verdict;
}

}  // namespace okxvault
