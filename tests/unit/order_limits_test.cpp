// The body reader and the trading limits, table-driven: every limit and every
// way a body could be read twice.

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "daemon/core/order_body.hpp"
#include "daemon/core/order_limits.hpp"
#include "daemon/core/order_rate.hpp"
#include "daemon/core/policy.hpp"

namespace okxvault {
namespace {

constexpr std::int64_t kNow = 1'800'000'000'000;
const Peer kBot{1001, 1001, 10, {1001}, "/usr/bin/bot"};

// ---- The body reader ----

struct BodyCase {
  const char* name;
  std::string body;
  const char* refusal;  // nullptr: read
};

class BodyReader : public testing::TestWithParam<BodyCase> {};

TEST_P(BodyReader, ReadsOrRefuses) {
  const BodyCase& c = GetParam();
  if (c.refusal == nullptr) {
    EXPECT_NO_THROW(read_body(c.body));
    return;
  }
  try {
    read_body(c.body);
    ADD_FAILURE() << "read: " << c.body;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::policy_denied);
    EXPECT_EQ(e.rule(), "body");
    EXPECT_NE(std::string(e.what()).find(c.refusal), std::string::npos) << e.what();
  }
}

const std::string kBom = "\xef\xbb\xbf";

INSTANTIATE_TEST_SUITE_P(
    Cases, BodyReader,
    testing::Values(
        BodyCase{"Object", R"({"instId":"BTC-USDT","sz":"1"})", nullptr},
        BodyCase{"Whitespace", " \t\r\n{ \"a\" : [ 1 , -0.5 , true , false , null ] } \n", nullptr},
        BodyCase{"Utf8", "{\"tag\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}", nullptr},
        BodyCase{"DepthFour", R"([{"attachAlgoOrds":[{"sz":"1"}]}])", nullptr},
        BodyCase{"DuplicateTop", R"({"sz":"1","sz":"100"})", "given twice"},
        BodyCase{"DuplicateNested", R"([{"a":{"b":1,"b":2}}])", "given twice"},
        BodyCase{"EscapedName", R"({"s\u007a":"100"})", "backslash"},
        BodyCase{"EscapedValue", R"({"instId":"BTC\u002dUSDT"})", "backslash"},
        BodyCase{"EscapedQuote", R"({"a":"\""})", "backslash"},
        BodyCase{"Bom", kBom + R"({"a":1})", "not a JSON value"},
        BodyCase{"Overlong", "{\"a\":\"\xc0\xaf\"}", "invalid UTF-8"},
        BodyCase{"Surrogate", "{\"a\":\"\xed\xa0\x80\"}", "invalid UTF-8"},
        BodyCase{"BeyondUnicode", "{\"a\":\"\xf4\x90\x80\x80\"}", "invalid UTF-8"},
        BodyCase{"Truncated", "{\"a\":\"\xe2\x82\"}", "invalid UTF-8"},
        BodyCase{"LoneContinuation", "{\"a\":\"\x80\"}", "invalid UTF-8"},
        BodyCase{"Control", "{\"a\":\"x\ty\"}", "control character"},
        BodyCase{"Nul", std::string("{\"a\":\"x\0y\"}", 11), "control character"},
        BodyCase{"DepthFive", R"([{"a":[{"b":{}}]}])", "deeper than 4"},
        BodyCase{"Trailing", R"({"a":1}x)", "more after"}, BodyCase{"TwoValues", R"({"a":1}{"a":2})", "more after"},
        BodyCase{"TrailingComma", R"({"a":1,})", "member name"}, BodyCase{"LeadingZero", R"({"a":01})", "expected '}'"},
        BodyCase{"BareDot", R"({"a":1.})", "after its dot"}, BodyCase{"Nan", R"({"a":NaN})", "not a JSON value"},
        BodyCase{"SingleQuotes", R"({'a':1})", "member name"}, BodyCase{"Comment", R"({"a":1/*x*/})", "expected '}'"},
        BodyCase{"Unclosed", R"({"a":"x)", "closing quote"}, BodyCase{"Exponent", R"({"a":6e2222222222})", "exponent"},
        BodyCase{"BareExponent", "1E2", "exponent"}, BodyCase{"Empty", "", "not a JSON value"},
        BodyCase{"TooManyMembers",
                 [] {
                   std::string body = "{";
                   for (int i = 0; i < 65; ++i) body += (i ? ",\"m" : "\"m") + std::to_string(i) + "\":1";
                   return body + "}";
                 }(),
                 "more than 64"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(BodyReaderValues, KeepsTheBytesAndTheOrder) {
  const std::string body = R"({"instId":"BTC-USDT","sz":"0.50","n":-1.5,"r":true,"l":[1,"x"]})";
  const JsonValue v = read_body(body);
  ASSERT_EQ(v.kind, JsonValue::Kind::object);
  ASSERT_EQ(v.members.size(), 5U);
  EXPECT_EQ(v.members[0].name, "instId");
  EXPECT_EQ(v.find("sz")->text, "0.50");
  EXPECT_EQ(v.find("n")->kind, JsonValue::Kind::number);
  EXPECT_EQ(v.find("n")->text, "-1.5");
  EXPECT_TRUE(v.find("r")->boolean);
  EXPECT_EQ(v.find("l")->items.size(), 2U);
  EXPECT_EQ(v.find("missing"), nullptr);
}

// ---- The limits ----

proto::Limits spot_and_swap() {
  proto::Limits l;
  l.inst = {"BTC-USDT", "ETH-USDT-SWAP", "BTC-USD-*"};
  l.max_sz = {{"BTC-USDT", "0.5"}, {"ETH-USDT-SWAP", "10"}};
  l.px_range = {{"BTC-USDT", "10000", "90000"}};
  l.ord_types = {"limit", "post_only", "market", "conditional"};
  l.td_modes = {"cash", "cross"};
  l.max_leverage = "5";
  return l;
}

struct LimitCase {
  const char* name;
  std::string path;
  std::string body;
  std::optional<LimitRule> rule;  // nullopt: allowed
  const char* detail = "";        // a part of the refusal
  std::uint32_t orders = 0;       // when allowed
};

class Limits : public testing::TestWithParam<LimitCase> {};

TEST_P(Limits, AllowOrRefuse) {
  const LimitCase& c = GetParam();
  const std::string request_path = c.path.starts_with("/") ? c.path : "/api/v5/" + c.path;
  const LimitVerdict v = check_limits(spot_and_swap(), canonical_path(request_path), request_path, c.body);
  if (!c.rule) {
    EXPECT_FALSE(v.refusal) << v.refusal->detail;
    EXPECT_EQ(v.orders, c.orders);
    return;
  }
  ASSERT_TRUE(v.refusal) << "allowed: " << c.body;
  EXPECT_EQ(rule_name(v.refusal->rule), rule_name(*c.rule)) << v.refusal->detail;
  EXPECT_NE(v.refusal->detail.find(c.detail), std::string::npos) << v.refusal->detail;
  EXPECT_EQ(v.orders, 0U);
}

constexpr auto kBody = LimitRule::body;
const std::string kLimitBuy =
    R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.5","px":"50000"})";

INSTANTIATE_TEST_SUITE_P(
    Cases, Limits,
    testing::Values(
        LimitCase{"LimitBuy", "trade/order", kLimitBuy, std::nullopt, "", 1},
        LimitCase{
            "SizeAsDecimalNotFloat", "trade/order",
            R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.50000000000000000001","px":"50000"})",
            LimitRule::max_sz, "sz 0.50000000000000000001 > max 0.5 for BTC-USDT"},
        LimitCase{
            "SizeEqualTrailingZeros", "trade/order",
            R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"000.5000","px":"50000"})",
            std::nullopt, "", 1},
        LimitCase{"SizeTooBig", "trade/order",
                  R"({"instId":"BTC-USDT","tdMode":"cash","side":"sell","ordType":"limit","sz":"5","px":"50000"})",
                  LimitRule::max_sz, "sz 5 > max 0.5 for BTC-USDT"},
        LimitCase{"SizeMissing", "trade/order",
                  R"({"instId":"BTC-USDT","tdMode":"cash","side":"sell","ordType":"limit","px":"50000"})",
                  LimitRule::max_sz, "sz missing"},
        LimitCase{"SizeNotDecimal", "trade/order",
                  R"({"instId":"BTC-USDT","tdMode":"cash","side":"sell","ordType":"limit","sz":"1e-3","px":"50000"})",
                  LimitRule::max_sz, "not a decimal"},
        LimitCase{"SizeAsNumber", "trade/order",
                  R"({"instId":"BTC-USDT","tdMode":"cash","side":"sell","ordType":"limit","sz":0.1,"px":"50000"})",
                  kBody, "sz must be a JSON string"},
        LimitCase{"InstNotAllowed", "trade/order",
                  R"({"instId":"SCAM-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"1","px":"1"})",
                  LimitRule::inst, "instId SCAM-USDT not allowed"},
        LimitCase{"InstPattern", "trade/order",
                  R"({"instId":"BTC-USD-250328","tdMode":"cross","side":"buy","ordType":"limit","sz":"100","px":"1"})",
                  std::nullopt, "", 1},
        LimitCase{"InstLowerCase", "trade/order",
                  R"({"instId":"btc-usdt","tdMode":"cash","side":"buy","ordType":"limit","sz":"1","px":"1"})",
                  LimitRule::inst, "not an OKX instId"},
        LimitCase{"InstMissing", "trade/order", R"({"tdMode":"cash","side":"buy","ordType":"limit","sz":"1","px":"1"})",
                  LimitRule::inst, "instId missing"},
        LimitCase{"PxBelow", "trade/order",
                  R"({"instId":"BTC-USDT","tdMode":"cash","side":"sell","ordType":"limit","sz":"0.1","px":"9999.99"})",
                  LimitRule::px_range, "px 9999.99 < min 10000 for BTC-USDT"},
        LimitCase{
            "PxAbove", "trade/order",
            R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"post_only","sz":"0.1","px":"4000000"})",
            LimitRule::px_range, "px 4000000 > max 90000"},
        LimitCase{"PxMissingOnLimit", "trade/order",
                  R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.1"})",
                  LimitRule::px_range, "px missing"},
        LimitCase{"PxNegative", "trade/order",
                  R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.1","px":"-1"})",
                  LimitRule::px_range, "not a decimal"},
        LimitCase{"OrdTypeNotAllowed", "trade/order",
                  R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"fok","sz":"0.1","px":"50000"})",
                  LimitRule::ord_type, "ordType fok not allowed"},
        LimitCase{"OrdTypeUnknown", "trade/order",
                  R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"LIMIT","sz":"0.1","px":"50000"})",
                  LimitRule::ord_type, "is not one the vault reads"},
        LimitCase{"TdModeNotAllowed", "trade/order",
                  R"({"instId":"BTC-USDT","tdMode":"isolated","side":"buy","ordType":"limit","sz":"0.1","px":"50000"})",
                  LimitRule::td_mode, "tdMode isolated not allowed"},
        LimitCase{"SpotMarketBuyInQuote", "trade/order",
                  R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"0.1"})",
                  LimitRule::max_sz, "quote currency"},
        LimitCase{
            "SpotMarketBuyInBase", "trade/order",
            R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"0.1","tgtCcy":"base_ccy"})",
            std::nullopt, "", 1},
        LimitCase{
            "SpotSellInQuote", "trade/order",
            R"({"instId":"BTC-USDT","tdMode":"cash","side":"sell","ordType":"market","sz":"0.1","tgtCcy":"quote_ccy"})",
            LimitRule::max_sz, "quote currency"},
        LimitCase{
            "UnknownField", "trade/order",
            R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.1","px":"50000","pxUsd":"1"})",
            kBody, "field pxUsd is not one the vault reads"},
        LimitCase{
            "ReduceOnlyAsString", "trade/order",
            R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.1","px":"50000","reduceOnly":"true"})",
            kBody, "reduceOnly must be true or false"},
        LimitCase{
            "DuplicateSize", "trade/order",
            R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.1","px":"50000","sz":"100"})",
            kBody, "given twice"},
        LimitCase{
            "EscapedNameSpellingSize", "trade/order",
            R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","px":"50000","s\u007a":"100"})",
            kBody, "backslash"},
        LimitCase{"ArrayToSingleOrder", "trade/order", "[" + kLimitBuy + "]", kBody, "an order is a JSON object"},
        LimitCase{"QueryOnPost", "trade/order?sz=100", kLimitBuy, kBody, "query string"},
        LimitCase{
            "AttachedStopAtMarket", "trade/order",
            R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.1","px":"50000","attachAlgoOrds":[{"slTriggerPx":"40000","slOrdPx":"-1"}]})",
            std::nullopt, "", 1},
        LimitCase{
            "AttachedPriceOutside", "trade/order",
            R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.1","px":"50000","attachAlgoOrds":[{"tpTriggerPx":"95000","tpOrdPx":"95000"}]})",
            LimitRule::px_range, "tpTriggerPx 95000 > max 90000"},
        LimitCase{
            "AttachedUnknownField", "trade/order",
            R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.1","px":"50000","attachAlgoOrds":[{"evil":"1"}]})",
            kBody, "field evil"},
        LimitCase{
            "AttachedNotObjects", "trade/order",
            R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.1","px":"50000","attachAlgoOrds":["x"]})",
            kBody, "holds objects"},
        LimitCase{"Batch", "trade/batch-orders", "[" + kLimitBuy + "," + kLimitBuy + "]", std::nullopt, "", 2},
        LimitCase{"BatchOneBad", "trade/batch-orders",
                  "[" + kLimitBuy +
                      R"(,{"instId":"SCAM-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"1","px":"1"}])",
                  LimitRule::inst, "order 2 of 2: instId SCAM-USDT not allowed"},
        LimitCase{"BatchAsObject", "trade/batch-orders", kLimitBuy, kBody, "a batch is a JSON array"},
        LimitCase{"BatchEmpty", "trade/batch-orders", "[]", kBody, "a batch is a JSON array"},
        LimitCase{"AmendWithinLimits", "trade/amend-order",
                  R"({"instId":"BTC-USDT","ordId":"1","newSz":"0.2","newPx":"60000"})", std::nullopt, "", 1},
        LimitCase{"AmendSizeTooBig", "trade/amend-order", R"({"instId":"BTC-USDT","ordId":"1","newSz":"2"})",
                  LimitRule::max_sz, "newSz 2 > max 0.5"},
        LimitCase{"AmendPriceOutside", "trade/amend-order", R"({"instId":"BTC-USDT","ordId":"1","newPx":"1"})",
                  LimitRule::px_range, "newPx 1 < min 10000"},
        LimitCase{"AmendOtherInstrument", "trade/amend-order", R"({"instId":"SCAM-USDT","ordId":"1","newSz":"1"})",
                  LimitRule::inst, "instId SCAM-USDT not allowed"},
        LimitCase{
            "AmendBatch", "trade/amend-batch-orders",
            R"([{"instId":"BTC-USDT","ordId":"1","newSz":"0.1"},{"instId":"BTC-USDT","ordId":"2","newSz":"0.6"}])",
            LimitRule::max_sz, "order 2 of 2: newSz 0.6 > max 0.5"},
        LimitCase{
            "Algo", "trade/order-algo",
            R"({"instId":"ETH-USDT-SWAP","tdMode":"cross","side":"sell","ordType":"conditional","sz":"3","slTriggerPx":"2000","slOrdPx":"-1","reduceOnly":true})",
            std::nullopt, "", 1},
        LimitCase{
            "AlgoTooBig", "trade/order-algo",
            R"({"instId":"ETH-USDT-SWAP","tdMode":"cross","side":"sell","ordType":"conditional","sz":"11","slTriggerPx":"2000","slOrdPx":"-1"})",
            LimitRule::max_sz, "sz 11 > max 10 for ETH-USDT-SWAP"},
        LimitCase{
            "AlgoTriggerPriceOutside", "trade/order-algo",
            R"({"instId":"BTC-USDT","tdMode":"cash","side":"sell","ordType":"conditional","sz":"0.1","slTriggerPx":"5","slOrdPx":"-1"})",
            LimitRule::px_range, "slTriggerPx 5 < min 10000"},
        LimitCase{"AlgoKindNotRead", "trade/order-algo",
                  R"({"instId":"ETH-USDT-SWAP","tdMode":"cross","side":"sell","ordType":"twap","sz":"1"})",
                  LimitRule::ord_type, "ordType twap is not one the vault reads"},
        LimitCase{
            "AlgoSpotBuyInQuote", "trade/order-algo",
            R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"conditional","sz":"0.1","tpTriggerPx":"20000","tpOrdPx":"-1"})",
            LimitRule::max_sz, "quote currency"},
        LimitCase{"ClosePosition", "trade/close-position", R"({"instId":"ETH-USDT-SWAP","mgnMode":"cross"})",
                  std::nullopt, "", 1},
        LimitCase{"ClosePositionOtherInstrument", "trade/close-position",
                  R"({"instId":"XRP-USDT-SWAP","mgnMode":"cross"})", LimitRule::inst,
                  "instId XRP-USDT-SWAP not allowed"},
        LimitCase{"Leverage", "account/set-leverage", R"({"instId":"ETH-USDT-SWAP","lever":"5","mgnMode":"cross"})",
                  std::nullopt, "", 0},
        LimitCase{"LeverageTooHigh", "account/set-leverage",
                  R"({"instId":"ETH-USDT-SWAP","lever":"100","mgnMode":"cross"})", LimitRule::max_leverage,
                  "lever 100 > max 5"},
        LimitCase{"LeverageByCurrency", "account/set-leverage", R"({"ccy":"BTC","lever":"3","mgnMode":"cross"})",
                  LimitRule::inst, "without instId"},
        LimitCase{"LeverageAsNumber", "account/set-leverage",
                  R"({"instId":"ETH-USDT-SWAP","lever":3,"mgnMode":"cross"})", kBody, "lever must be a JSON string"},
        LimitCase{"Cancel", "trade/cancel-order", R"({"instId":"SCAM-USDT","ordId":"1"})", std::nullopt, "", 0},
        LimitCase{"CancelBatch", "trade/cancel-batch-orders", R"([{"instId":"X","ordId":"1"}])", std::nullopt, "", 0},
        LimitCase{"OtherEndpoint", "account/set-position-mode", R"({"posMode":"long_short_mode"})", LimitRule::endpoint,
                  "POST /api/v5/account/set-position-mode is not an endpoint the vault reads"},
        LimitCase{"GridBot", "tradingbot/grid/order-algo", R"({})", LimitRule::endpoint, "not an endpoint"},
        LimitCase{"Convert", "asset/convert/trade", R"({})", LimitRule::endpoint, "not an endpoint"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(LimitsInstrumentTypes, ReadFromTheInstIdAndTheMode) {
  proto::Limits l;
  l.inst_types = {"SPOT", "SWAP"};
  const auto order = [](std::string_view inst, std::string_view mode) {
    return R"({"instId":")" + std::string(inst) + R"(","tdMode":")" + std::string(mode) +
           R"(","side":"sell","ordType":"limit","sz":"1","px":"1"})";
  };
  const auto refusal = [&](std::string_view inst, std::string_view mode) {
    return check_limits(l, "/api/v5/trade/order", "/api/v5/trade/order", order(inst, mode)).refusal;
  };
  EXPECT_FALSE(refusal("BTC-USDT", "cash"));
  EXPECT_FALSE(refusal("BTC-USDT-SWAP", "cross"));
  ASSERT_TRUE(refusal("BTC-USDT", "cross"));
  EXPECT_EQ(refusal("BTC-USDT", "cross")->detail, "instType MARGIN (BTC-USDT) not allowed");
  EXPECT_EQ(refusal("BTC-USD-250328", "cross")->detail, "instType FUTURES (BTC-USD-250328) not allowed");
  EXPECT_EQ(refusal("BTC-USD-250328-50000-C", "cross")->detail, "instType OPTION (BTC-USD-250328-50000-C) not allowed");
  EXPECT_EQ(refusal("WHAT-IS-THIS", "cross")->detail, "the instrument type of WHAT-IS-THIS is not known");
}

// An amend says no tdMode, and cannot change the instrument type of the order it
// amends: for a pair it passes when SPOT or MARGIN is allowed.
TEST(LimitsInstrumentTypes, AnAmendOfAPairPassesUnderSpotOrMargin) {
  struct Case {
    std::vector<std::string> inst_types;
    std::string path;
    std::string body;
    const char* refusal;  // nullptr: allowed
  };
  const std::string amend = R"({"instId":"BTC-USDT","ordId":"1","newSz":"0.1"})";
  const std::string amend_swap = R"({"instId":"BTC-USDT-SWAP","ordId":"1","newSz":"1"})";
  const std::string amend_algo = R"({"instId":"BTC-USDT","algoId":"1","newSz":"0.1","newTriggerPx":"50000"})";
  for (const Case& c : {
           Case{{"SPOT"}, "amend-order", amend, nullptr},
           Case{{"MARGIN"}, "amend-order", amend, nullptr},
           Case{{"SPOT", "SWAP"}, "amend-batch-orders", "[" + amend + "," + amend_swap + "]", nullptr},
           Case{{"SPOT"}, "amend-algos", amend_algo, nullptr},
           Case{{"MARGIN"}, "amend-algos", amend_algo, nullptr},
           Case{{"SWAP"}, "amend-order", amend, "instType SPOT or MARGIN (BTC-USDT) not allowed"},
           Case{{"SWAP", "FUTURES"}, "amend-algos", amend_algo, "instType SPOT or MARGIN (BTC-USDT) not allowed"},
           Case{{"SPOT"}, "amend-order", amend_swap, "instType SWAP (BTC-USDT-SWAP) not allowed"},
           Case{{"SPOT"},
                "amend-batch-orders",
                "[" + amend + "," + amend_swap + "]",
                "order 2 of 2: instType SWAP (BTC-USDT-SWAP) not allowed"},
       }) {
    SCOPED_TRACE(c.path + " " + c.body);
    proto::Limits l;
    l.inst_types = c.inst_types;
    const std::string path = "/api/v5/trade/" + c.path;
    const LimitVerdict v = check_limits(l, path, path, c.body);
    if (c.refusal == nullptr) {
      EXPECT_FALSE(v.refusal) << v.refusal->detail;
      continue;
    }
    ASSERT_TRUE(v.refusal);
    EXPECT_EQ(v.refusal->rule, LimitRule::inst_type);
    EXPECT_EQ(v.refusal->detail, c.refusal);
  }
}

TEST(LimitsShape, SidesAndReduceOnly) {
  proto::Limits l;
  l.sides = {"sell"};
  l.reduce_only = true;
  const std::string sell = R"({"instId":"X-Y","tdMode":"cross","side":"sell","ordType":"limit","sz":"1","px":"1")";
  const auto detail = [&](const std::string& body) {
    const auto v = check_limits(l, "/api/v5/trade/order", "/api/v5/trade/order", body);
    return v.refusal ? v.refusal->detail : std::string("allowed");
  };
  EXPECT_EQ(detail(sell + R"(,"reduceOnly":true})"), "allowed");
  EXPECT_EQ(detail(sell + "}"), "reduceOnly true required");
  EXPECT_EQ(detail(sell + R"(,"reduceOnly":false})"), "reduceOnly true required");
  EXPECT_EQ(
      detail(R"({"instId":"X-Y","tdMode":"cross","side":"buy","ordType":"limit","sz":"1","px":"1","reduceOnly":true})"),
      "side buy not allowed");
}

// OKX reads reduceOnly only on margin orders, and on futures and swaps in net
// mode: under reduce_only, an order OKX would not hold to it is refused.
TEST(LimitsShape, ReduceOnlyOnlyWhereOkxHoldsToIt) {
  proto::Limits l;
  l.reduce_only = true;
  struct Case {
    std::string path;
    std::string members;  // after instId, ordType, sz and reduceOnly true
    const char* detail;   // "allowed", or the refusal
  };
  for (const Case& c : {
           Case{"trade/order", R"("tdMode":"cross","side":"sell")", "allowed"},
           Case{"trade/order", R"("tdMode":"isolated","side":"buy","posSide":"net")", "allowed"},
           Case{"trade/order", R"("tdMode":"cross","side":"sell","posSide":"long")", "allowed"},
           Case{"trade/order", R"("tdMode":"cross","side":"buy","posSide":"short")", "allowed"},
           Case{"trade/order-algo", R"("tdMode":"cross","side":"sell","posSide":"long")", "allowed"},
           Case{"trade/order", R"("tdMode":"cash","side":"sell")",
                "tdMode cash: reduceOnly holds at OKX only in tdMode cross or isolated"},
           Case{"trade/order", R"("tdMode":"spot_isolated","side":"sell")",
                "tdMode spot_isolated: reduceOnly holds at OKX only in tdMode cross or isolated"},
           Case{"trade/order", R"("side":"sell")",
                "tdMode missing: reduceOnly holds at OKX only in tdMode cross or isolated"},
           Case{"trade/order-algo", R"("tdMode":"cash","side":"sell")",
                "tdMode cash: reduceOnly holds at OKX only in tdMode cross or isolated"},
           Case{"trade/order", R"("tdMode":"cross","side":"buy","posSide":"long")",
                "side buy with posSide long opens a position (OKX ignores reduceOnly with posSide); reduce-only allows "
                "sell long and buy short"},
           Case{"trade/order", R"("tdMode":"cross","side":"sell","posSide":"short")",
                "side sell with posSide short opens a position (OKX ignores reduceOnly with posSide); reduce-only "
                "allows sell long and buy short"},
           Case{"trade/order-algo", R"("tdMode":"cross","side":"buy","posSide":"long")",
                "side buy with posSide long opens a position (OKX ignores reduceOnly with posSide); reduce-only allows "
                "sell long and buy short"},
           Case{"trade/order", R"("tdMode":"cross","side":"sell","posSide":"LONG")",
                "posSide LONG is not net, long or short"},
           Case{"trade/order", R"("tdMode":"cross","side":"sell","posSide":"")",
                "posSide (a value of 0 bytes) is not net, long or short"},
       }) {
    SCOPED_TRACE(c.path + " " + c.members);
    const std::string path = "/api/v5/" + c.path;
    const std::string type = c.path == "trade/order" ? "market" : "conditional";
    const std::string body = R"({"instId":"ETH-USDT-SWAP","ordType":")" + type + R"(","sz":"1","reduceOnly":true,)" +
                             c.members + (c.path == "trade/order" ? "" : R"(,"slTriggerPx":"1","slOrdPx":"-1")") + "}";
    const LimitVerdict v = check_limits(l, path, path, body);
    EXPECT_EQ(v.refusal ? v.refusal->detail : std::string("allowed"), c.detail);
    if (v.refusal) {
      EXPECT_EQ(v.refusal->rule, LimitRule::reduce_only);
    }
  }
}

TEST(LimitsMarket, AnAlgoAtMarketPriceNeedsMarketAllowed) {
  proto::Limits l;
  l.ord_types = {"conditional"};
  const std::string body =
      R"({"instId":"ETH-USDT-SWAP","tdMode":"cross","side":"sell","ordType":"conditional","sz":"1","slTriggerPx":"1","slOrdPx":"-1"})";
  const auto v = check_limits(l, "/api/v5/trade/order-algo", "/api/v5/trade/order-algo", body);
  ASSERT_TRUE(v.refusal);
  EXPECT_EQ(v.refusal->rule, LimitRule::ord_type);
  EXPECT_EQ(v.refusal->detail, "slOrdPx -1 executes at the market price, and ordType market is not allowed");
}

TEST(LimitsMessages, NeverEchoWhatTheyDidNotCheck) {
  const std::string huge(5000, 'A');
  const auto v =
      check_limits(spot_and_swap(), "/api/v5/trade/order", "/api/v5/trade/order",
                   R"({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.1","px":"50000",")" +
                       huge + R"(":"1"})");
  ASSERT_TRUE(v.refusal);
  EXPECT_EQ(v.refusal->detail.find(huge.substr(0, 100)), std::string::npos) << v.refusal->detail;
  EXPECT_LT(v.refusal->detail.size(), 200U);
}

// ---- Through decide(): a grant's limits with its rules ----

Grant limited_grant() {
  Grant g;
  g.id = 1001;
  g.name = "bot";
  g.limits = spot_and_swap();
  g.limits->orders_per_minute = 30;
  return g;
}

TEST(PolicyWithLimits, RefusesNameTheRuleAndTheField) {
  const Decision d =
      decide({limited_grant()}, kBot, false, "POST", "/api/v5/trade/order",
             R"({"instId":"SCAM-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"1","px":"1"})", false, kNow);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "user bot: instId SCAM-USDT not allowed");
  EXPECT_EQ(d.limit, LimitRule::inst);
}

TEST(PolicyWithLimits, AllowedOrdersAreCountedForTheRate) {
  const Decision d = decide({limited_grant()}, kBot, false, "POST", "/api/v5/trade/batch-orders",
                            "[" + kLimitBuy + "," + kLimitBuy + "]", false, kNow);
  ASSERT_TRUE(d.allowed) << d.rule;
  EXPECT_EQ(d.orders, 2U);
  EXPECT_EQ(d.orders_per_minute, 30U);
  EXPECT_EQ(d.counted_for, "user bot");
}

TEST(PolicyWithLimits, ReadsPassAndCancelsAreNotCounted) {
  EXPECT_TRUE(decide({limited_grant()}, kBot, false, "GET", "/api/v5/account/balance", {}, false, kNow).allowed);
  const Decision cancel = decide({limited_grant()}, kBot, false, "POST", "/api/v5/trade/cancel-order",
                                 R"({"instId":"BTC-USDT","ordId":"1"})", false, kNow);
  EXPECT_TRUE(cancel.allowed);
  EXPECT_EQ(cancel.orders_per_minute, 0U);
}

TEST(PolicyWithLimits, NoWebSocketLogin) {
  Grant g = limited_grant();
  g.ws = true;
  const Decision d = decide({g}, kBot, false, "GET", "/users/self/verify", {}, true, kNow);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.limit, LimitRule::ws);
  EXPECT_NE(d.rule.find("trading limits exclude WebSocket login"), std::string::npos) << d.rule;
}

TEST(PolicyWithLimits, AnEndpointNotReadNeedsAnAllowRuleNamingIt) {
  Grant g = limited_grant();
  const std::string path = "/api/v5/account/set-position-mode";
  EXPECT_EQ(decide({g}, kBot, false, "POST", path, "{}", false, kNow).limit, LimitRule::endpoint);
  g.allow = {Rule::parse("POST /api/v5/account/"), Rule::parse("* /api/v5/trade/")};
  EXPECT_FALSE(decide({g}, kBot, false, "POST", path, "{}", false, kNow).allowed) << "a prefix does not name it";
  g.allow.push_back(Rule::parse("POST /api/v5/account/set-position-mode"));
  EXPECT_TRUE(decide({g}, kBot, false, "POST", path, "{}", false, kNow).allowed);
  EXPECT_FALSE(
      decide({g}, kBot, false, "POST", "/api/v5/trade/order", R"({"instId":"SCAM-USDT"})", false, kNow).allowed)
      << "an allow rule does not lift the limits of an endpoint the vault reads";
}

// A plain grant to one of the bot's groups does not lift its user grant's limits;
// another grant with limits may allow what the first refuses.
TEST(PolicyWithLimits, AGrantWithoutLimitsDoesNotWidenOneWithThem) {
  Grant group;
  group.kind = Grant::Kind::group;
  group.id = 1001;
  group.name = "bots";
  group.ws = true;
  const std::string scam = R"({"instId":"SCAM-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"1","px":"1"})";
  for (const std::vector<Grant>& grants : {std::vector<Grant>{limited_grant(), group}, {group, limited_grant()}}) {
    const Decision refused = decide(grants, kBot, false, "POST", "/api/v5/trade/order", scam, false, kNow);
    EXPECT_FALSE(refused.allowed);
    EXPECT_EQ(refused.rule, "user bot: instId SCAM-USDT not allowed");
    const Decision allowed = decide(grants, kBot, false, "POST", "/api/v5/trade/order", kLimitBuy, false, kNow);
    EXPECT_TRUE(allowed.allowed) << allowed.rule;
    EXPECT_EQ(allowed.counted_for, "user bot");
    EXPECT_FALSE(decide(grants, kBot, false, "GET", "/users/self/verify", {}, true, kNow).allowed);
    EXPECT_TRUE(decide(grants, kBot, false, "GET", "/api/v5/account/balance", {}, false, kNow).allowed);
    const Peer other{1002, 1002, 11, {1001}, "/usr/bin/other"};
    EXPECT_TRUE(decide(grants, other, false, "POST", "/api/v5/trade/order", scam, false, kNow).allowed)
        << "a peer no limited grant names keeps the plain grant";
  }
  group.limits = proto::Limits{};
  group.limits->inst = {"SCAM-USDT"};
  const Decision wider =
      decide({limited_grant(), group}, kBot, false, "POST", "/api/v5/trade/order", scam, false, kNow);
  EXPECT_TRUE(wider.allowed) << "any grant with limits may allow";
  EXPECT_EQ(wider.rule, "group bots");
}

TEST(PolicyWithLimits, BuiltinDeniesStillApply) {
  EXPECT_FALSE(decide({limited_grant()}, kBot, false, "POST", "/api/v5/asset/withdrawal", "{}", false, kNow).allowed);
}

// ---- The per-minute count ----

TEST(OrderRateWindow, HoldsForAMinuteAcrossCallersAndThenResets) {
  OrderRate rate;
  EXPECT_TRUE(rate.admit("k\nuser bot", 3, 2, kNow));
  EXPECT_FALSE(rate.admit("k\nuser bot", 3, 2, kNow + 1)) << "a batch counts each of its orders";
  EXPECT_TRUE(rate.admit("k\nuser bot", 3, 1, kNow + 2));
  EXPECT_FALSE(rate.admit("k\nuser bot", 3, 1, kNow + 59'000));
  EXPECT_TRUE(rate.admit("k\nuser other", 3, 3, kNow + 59'000)) << "each grant has its own count";
  EXPECT_FALSE(rate.admit("k\nuser bot", 3, 1, kNow + 60'000)) << "a full minute back";
  EXPECT_TRUE(rate.admit("k\nuser bot", 3, 3, kNow + 61'000));
  EXPECT_FALSE(rate.admit("k\nuser bot", 3, 1, kNow - 10'000)) << "a clock that went back forgets nothing";
  EXPECT_TRUE(rate.admit("k\nuser bot", 3, 3, kNow + 10'000'000));
}

}  // namespace
}  // namespace okxvault
