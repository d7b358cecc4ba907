// A key's metadata as the store keeps it: grants and their limits round-trip,
// older metadata still reads, and a malformed limit is a tampered store.

#include "daemon/core/metadata_codec.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <string>

#include "common/error.hpp"

namespace okxvault {
namespace {

namespace json = boost::json;

KeyMetadata with_grants() {
  KeyMetadata meta;
  meta.simulated = true;
  meta.created_ms = 1767225600000;
  meta.last_used_ms = 1767225601000;
  meta.sign_count = 7;
  Grant trader;
  trader.id = 1001;
  trader.name = "bot";
  trader.allow = {Rule::parse("POST /api/v5/trade/")};
  trader.ws = true;
  proto::Limits limits;
  limits.inst = {"BTC-USDT", "ETH-*"};
  limits.inst_types = {"SPOT"};
  limits.max_sz = {{"BTC-USDT", "0.5"}};
  limits.px_range = {{"BTC-USDT", "10000", "90000"}, {"ETH-*", "", "4000"}};
  limits.ord_types = {"limit", "post_only"};
  limits.sides = {"buy"};
  limits.td_modes = {"cash"};
  limits.reduce_only = true;
  limits.max_leverage = "3.5";
  limits.orders_per_minute = 30;
  trader.limits = limits;
  Grant empty_limits;
  empty_limits.kind = Grant::Kind::group;
  empty_limits.id = 2000;
  empty_limits.name = "bots";
  empty_limits.limits = proto::Limits{};
  Grant no_limits;
  no_limits.id = 1002;
  no_limits.name = "reader";
  no_limits.read_only = true;
  meta.grants = {trader, empty_limits, no_limits};
  return meta;
}

Code code_of(const std::string& text) {
  try {
    decode_metadata(text, "main");
  } catch (const Error& e) {
    return e.code();
  }
  return Code::internal;
}

TEST(MetadataCodec, GrantsAndTheirLimitsRoundTrip) {
  const KeyMetadata meta = with_grants();
  const std::string text = encode_metadata(meta);
  const KeyMetadata back = decode_metadata(text, "main");
  ASSERT_EQ(back.grants.size(), 3u);
  EXPECT_EQ(back.grants, meta.grants);
  EXPECT_EQ(encode_metadata(back), text);
  // One JSON form for limits, the protocol's.
  EXPECT_EQ(json::parse(text).at("grants").at(0).at("limits").at("max_sz"),
            json::parse(R"([{"inst":"BTC-USDT","sz":"0.5"}])"));
  EXPECT_EQ(json::parse(text).at("grants").at(1).at("limits"), json::object{});
  EXPECT_FALSE(json::parse(text).at("grants").at(2).as_object().contains("limits"));
}

TEST(MetadataCodec, MetadataWrittenBeforeLimitsReadsAsNone) {
  const std::string old =
      R"({"simulated":false,"created_ms":1767225600000,"expires_ms":null,"last_used_ms":0,"sign_count":0,)"
      R"("grants":[{"kind":"user","id":1001,"name":"bot","read_only":false,"expires_ms":null,)"
      R"("allow":["POST /api/v5/trade/"],"deny":[],"ws":false,"ws_explicit":true}]})";
  const KeyMetadata meta = decode_metadata(old, "main");
  ASSERT_EQ(meta.grants.size(), 1u);
  EXPECT_FALSE(meta.grants[0].limits.has_value());
}

TEST(MetadataCodec, AMalformedOrUnknownLimitIsATamperedStore) {
  const std::string good = encode_metadata(with_grants());
  for (const char* limits : {R"({"max_sz":[{"inst":"BTC-USDT","sz":"abc"}]})", R"({"inst":["btc-usdt"]})",
                             R"({"a_later_limit":true})", R"({"orders_per_minute":0})", R"("none")", "[]"}) {
    SCOPED_TRACE(limits);
    json::value value = json::parse(good);
    value.at("grants").at(0).as_object()["limits"] = json::parse(limits);
    EXPECT_EQ(code_of(json::serialize(value)), Code::tampered_store);
  }
}

}  // namespace
}  // namespace okxvault
