// The /v1 protocol codec: strict decoders, exact round trips, stable error codes.

#include "proto/messages.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "proto/json_escape.hpp"
#include "tests/support/sign_request_tree.hpp"

namespace okxvault {
namespace {

namespace json = boost::json;

void expect_error(Code expected, const std::function<void()>& decode, std::string_view input) {
  SCOPED_TRACE("input: " + std::string(input));
  try {
    decode();
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), expected) << "got " << code_name(e.code()) << ": " << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw a std::exception that is not an okxvault::Error: " << e.what();
  }
}

const std::vector<std::string> kNotJson = {
    "", "{", "not json", "{\"method\":}", "{'method':'GET'}", "{\"method\":\"GET\",}", "\xff\xfe", "{} x", "{}{}"};
const std::vector<std::string> kNotAnObject = {"[]",  "[{\"method\":\"GET\",\"path\":\"/\"}]", "\"GET\"", "1", "null",
                                               "true"};

// ---------------------------------------------------------------------------
// decode_sign

TEST(DecodeSign, ReadsAllFields) {
  const proto::SignRequest r = proto::decode_sign(
      R"({"method":"POST","path":"/api/v5/trade/order?x=1","body":"{\"a\":1}","timestamp":"2020-12-08T09:08:57.715Z"})");
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/api/v5/trade/order?x=1");
  EXPECT_EQ(r.body, "{\"a\":1}");
  EXPECT_EQ(r.timestamp, "2020-12-08T09:08:57.715Z");
}

TEST(DecodeSign, BodyAndTimestampAreOptional) {
  const proto::SignRequest r = proto::decode_sign(R"({"method":"GET","path":"/api/v5/account/balance"})");
  EXPECT_EQ(r.body, "");
  EXPECT_FALSE(r.timestamp.has_value());
}

TEST(DecodeSign, RejectsTextThatIsNotJsonAsInvalidJson) {
  for (const auto& text : kNotJson)
    expect_error(
        Code::invalid_json, [&] { proto::decode_sign(text); }, text);
}

TEST(DecodeSign, RejectsJsonThatIsNotAnObjectAsBadRequest) {
  for (const auto& text : kNotAnObject)
    expect_error(
        Code::bad_request, [&] { proto::decode_sign(text); }, text);
}

TEST(DecodeSign, RejectsMissingFieldsWrongTypesAndUnknownFieldsAsBadRequest) {
  for (const std::string text : {
           R"({})",
           R"({"path":"/x"})",                                // no method
           R"({"method":"GET"})",                             // no path
           R"({"method":1,"path":"/x"})",                     // method not a string
           R"({"method":"GET","path":["/x"]})",               // path not a string
           R"({"method":"GET","path":null})",                 // path null
           R"({"method":"GET","path":"/x","body":{"a":1}})",  // body must be the exact text, not JSON
           R"({"method":"GET","path":"/x","body":5})", R"({"method":"GET","path":"/x","timestamp":1538054050})",
           R"({"method":"GET","path":"/x","extra":true})",  // unknown field
           R"({"method":"GET","path":"/x","Body":""})",     // names are case-sensitive
       }) {
    expect_error(
        Code::bad_request, [&] { proto::decode_sign(text); }, text);
  }
}

// decode_sign reads the text straight into its fields; the tree reading it
// replaced is the reference. Every combination of the four fields and an
// unknown one, each absent or holding one of several kinds of value, in both
// orders, with repeated members, nested values, broken text and every prefix
// of a request: the same request or the same error, message included.
TEST(DecodeSign, AgreesWithTheTreeReadingItReplaced) {
  const std::vector<std::string> values = {"",     R"("GET")", R"("a\"b\\c\u00e9\ud83d\ude00")",
                                           "null", "1",        "-2.5e3",
                                           "true", "{}",       R"({"method":"x","a":[1,{"b":null}]})",
                                           "[]",   R"(["x"])"};
  const std::vector<std::string> names = {"method", "path", "body", "timestamp", "extra"};
  std::vector<std::string> texts = kNotJson;
  texts.insert(texts.end(), kNotAnObject.begin(), kNotAnObject.end());
  const auto object = [&](const std::vector<std::size_t>& chosen, bool reversed) {
    std::vector<std::string> members;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (!values[chosen[i]].empty()) members.push_back("\"" + names[i] + "\":" + values[chosen[i]]);
    }
    if (reversed) std::reverse(members.begin(), members.end());
    std::string text = "{";
    for (const std::string& member : members) text += (text.size() > 1 ? "," : "") + member;
    return text + "}";
  };
  for (std::size_t method = 0; method < values.size(); ++method) {
    for (std::size_t path = 0; path < values.size(); ++path) {
      for (const std::size_t body : {0, 1, 2, 3, 4, 7}) {
        for (const std::size_t timestamp : {0, 1, 3, 6, 9}) {
          for (const std::size_t extra : {0, 1}) {
            texts.push_back(object({method, path, body, timestamp, extra}, false));
            texts.push_back(object({method, path, body, timestamp, extra}, true));
          }
        }
      }
    }
  }
  for (const std::string& first : values) {
    for (const std::string& second : values) {
      if (first.empty() || second.empty()) continue;
      texts.push_back(R"({"method":)" + first + R"(,"path":"/p","method":)" + second + "}");
      texts.push_back(R"({"method":"GET","path":"/p","body":)" + first + R"(,"body":)" + second + "}");
    }
  }
  const std::string full =
      R"({"method":"POST","path":"/api/v5/trade/order","body":"{\"instId\":\"BTC-USDT\"}","timestamp":"2020-12-08T09:08:57.715Z"})";
  for (std::size_t size = 0; size <= full.size(); ++size) texts.push_back(full.substr(0, size));
  texts.push_back(full + " ");
  texts.push_back(" \n" + full + "\t");
  for (const std::size_t depth : {30, 31, 32, 33, 100}) {
    texts.push_back(R"({"method":"GET","path":"/p","extra":)" + std::string(depth, '[') + std::string(depth, ']') +
                    "}");
  }
  texts.push_back(std::string(R"({"method":"GET","path":"/p","body":"a)") + '\xff' + "\"}");
  texts.push_back(std::string(R"({"method":"GET","path":"/p","body":"a)") + '\x01' + "\"}");
  for (const std::string& text : texts) {
    ASSERT_EQ(test::outcome(proto::decode_sign, text), test::outcome(test::sign_request_from_tree, text)) << text;
  }
  EXPECT_GT(texts.size(), 10'000U);
}

constexpr char kAwkwardBytes[] = "quote \" backslash \\ tab \t newline \n cr \r nul \0 del \x7f end";

// The signed body must be byte for byte what the bot sends: whatever it contains.
TEST(SignRequestCodec, BodyRoundTripsByteExact) {
  const std::vector<std::string> bodies = {
      "",
      R"({"subAcct":"bot1","apiKey":"x","label":"ünïcødé-机器人-😀"})",
      R"({"label":"\u00fcn\u00efc\u00f8d\u00e9-\ud83d\ude00"})",  // escapes stay escapes
      "[{\"instId\":\"BTC-USDT\"},{\"instId\":\"ETH-USDT\"}]",
      "{\"instId\": \"BTC-USDT\",  \"sz\" : \"5\"}\n",
      std::string(kAwkwardBytes, sizeof kAwkwardBytes - 1),
  };
  for (const auto& body : bodies) {
    SCOPED_TRACE(body);
    proto::SignRequest request;
    request.method = "POST";
    request.path = "/api/v5/trade/order?ccy=BTC,ETH&x=%2C";
    request.body = body;
    request.timestamp = "2020-12-08T09:08:57.715Z";
    const proto::SignRequest decoded = proto::decode_sign(proto::encode(request));
    EXPECT_EQ(decoded.body, body);
    EXPECT_EQ(decoded.body.size(), body.size());
    EXPECT_EQ(decoded.method, request.method);
    EXPECT_EQ(decoded.path, request.path);
    EXPECT_EQ(decoded.timestamp, request.timestamp);
  }
}

// Beyond what the decoder keeps on its stack: up to the 64 KiB body limit.
TEST(SignRequestCodec, ALargeBodyRoundTrips) {
  proto::SignRequest request;
  request.method = "POST";
  request.path = "/api/v5/trade/batch-orders";
  for (int i = 0; request.body.size() < 60'000; ++i)
    request.body += R"({"instId":"BTC-USDT","sz":")" + std::to_string(i) + "\"},";
  const proto::SignRequest decoded = proto::decode_sign(proto::encode(request));
  EXPECT_EQ(decoded.body, request.body);
  EXPECT_EQ(decoded.path, request.path);
}

TEST(SignRequestCodec, AbsentTimestampStaysAbsent) {
  proto::SignRequest request;
  request.method = "GET";
  request.path = "/api/v5/account/balance";
  EXPECT_FALSE(proto::decode_sign(proto::encode(request)).timestamp.has_value());
}

// ---------------------------------------------------------------------------
// decode_add_key

constexpr std::string_view kAddKey =
    R"({"name":"main","api_key":"37c541a1-1d5a-4b3c-9e8f-10fe7a038418","secret":"SECRETVALUE42","passphrase":"PASSVALUE42","simulated":true})";

TEST(DecodeAddKey, ReadsAllFields) {
  const proto::AddKeyRequest r = proto::decode_add_key(kAddKey);
  EXPECT_EQ(r.name, "main");
  EXPECT_EQ(r.api_key, "37c541a1-1d5a-4b3c-9e8f-10fe7a038418");
  EXPECT_EQ(r.secret.reveal(), "SECRETVALUE42");
  EXPECT_EQ(r.passphrase.reveal(), "PASSVALUE42");
  EXPECT_TRUE(r.simulated);
}

TEST(DecodeAddKey, SimulatedDefaultsToFalse) {
  const proto::AddKeyRequest r = proto::decode_add_key(R"({"name":"a","api_key":"k","secret":"s","passphrase":"p"})");
  EXPECT_FALSE(r.simulated);
}

TEST(DecodeAddKey, RejectsTextThatIsNotJsonAsInvalidJson) {
  for (const auto& text : kNotJson)
    expect_error(
        Code::invalid_json, [&] { proto::decode_add_key(text); }, text);
}

TEST(DecodeAddKey, RejectsJsonThatIsNotAnObjectAsBadRequest) {
  for (const auto& text : kNotAnObject) {
    expect_error(
        Code::bad_request, [&] { proto::decode_add_key(text); }, text);
  }
}

TEST(DecodeAddKey, RejectsMissingFieldsWrongTypesAndUnknownFieldsAsBadRequest) {
  for (const std::string text : {
           R"({"api_key":"k","secret":"s","passphrase":"p"})",
           R"({"name":"a","secret":"s","passphrase":"p"})",
           R"({"name":"a","api_key":"k","passphrase":"p"})",
           R"({"name":"a","api_key":"k","secret":"s"})",
           R"({"name":1,"api_key":"k","secret":"s","passphrase":"p"})",
           R"({"name":"a","api_key":"k","secret":12345,"passphrase":"p"})",
           R"({"name":"a","api_key":"k","secret":"s","passphrase":["p"]})",
           R"({"name":"a","api_key":"k","secret":"s","passphrase":"p","simulated":"yes"})",
           R"({"name":"a","api_key":"k","secret":"s","passphrase":"p","simulated":1})",
           R"({"name":"a","api_key":"k","secret":"s","passphrase":"p","grant":"bob"})",
       }) {
    expect_error(
        Code::bad_request, [&] { proto::decode_add_key(text); }, text);
  }
}

// A JSON array of n small numbers, e.g. [1,1,1].
std::string array_of(int n) {
  std::string out = "[1";
  for (int i = 1; i < n; ++i) out += ",1";
  return out + "]";
}

// A field of the wrong type is a bad request however many values it holds, in a
// body far below the 64 KiB limit: decoding must not run out of memory instead.
TEST(DecodeAddKey, AFieldHoldingManyValuesIsBadRequest) {
  for (const int n : {1, 63, 64, 1000}) {
    const std::string text = R"({"name":)" + array_of(n) + R"(,"api_key":"k","secret":"s","passphrase":"p"})";
    expect_error(
        Code::bad_request, [&] { proto::decode_add_key(text); },
        std::to_string(n) + " values in " + std::to_string(text.size()) + " bytes");
  }
}

TEST(DecodeAddKey, ManyUnknownFieldsAreBadRequest) {
  for (const int n : {1, 28, 29, 100}) {
    std::string text = R"({"name":"a","api_key":"k","secret":"s","passphrase":"p")";
    for (int i = 0; i < n; ++i) text += ",\"f" + std::to_string(i) + "\":0";
    text += "}";
    expect_error(
        Code::bad_request, [&] { proto::decode_add_key(text); },
        std::to_string(n) + " unknown fields in " + std::to_string(text.size()) + " bytes");
  }
}

TEST(DecodeSign, AFieldHoldingManyValuesIsBadRequest) {
  const std::string text = R"({"method":"GET","path":)" + array_of(1000) + "}";
  expect_error(
      Code::bad_request, [&] { proto::decode_sign(text); }, "1000 values");
}

// A rejected add request must not echo the secrets it carried.
TEST(DecodeAddKey, ErrorMessagesDoNotContainTheSecrets) {
  for (const std::string text : {
           R"({"name":"a","api_key":"k","secret":"SECRETVALUE42","passphrase":"PASSVALUE42","simulated":"x"})",
           R"({"name":"a","api_key":"k","secret":"SECRETVALUE42","passphrase":"PASSVALUE42","x":"y"})",
           R"({"name":"a","api_key":"k","secret":"SECRETVALUE42","passphrase":"PASSVALUE42")",
       }) {
    SCOPED_TRACE(text);
    try {
      proto::decode_add_key(text);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).find("SECRETVALUE42"), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find("PASSVALUE42"), std::string::npos) << e.what();
    }
  }
}

TEST(AddKeyCodec, EncodeThenDecodeKeepsEveryField) {
  proto::AddKeyRequest request;
  request.name = "bot_2.x";
  request.api_key = "37c541a1-1d5a-4b3c-9e8f-10fe7a038418";
  request.secret = SecretBytes::copy_of(std::string_view("22582BD0\"CFF14C41\\EDBF1AB9/8506286D"));
  request.passphrase = SecretBytes::copy_of(std::string_view("Vault-Test#2024 {}\"\\"));
  request.simulated = true;

  const SecretBytes text = proto::encode(request);
  const proto::AddKeyRequest decoded = proto::decode_add_key(text.reveal());
  EXPECT_EQ(decoded.name, request.name);
  EXPECT_EQ(decoded.api_key, request.api_key);
  EXPECT_TRUE(decoded.secret.equals(request.secret.bytes())) << "secret bytes changed";
  EXPECT_TRUE(decoded.passphrase.equals(request.passphrase.bytes())) << "passphrase bytes changed";
  EXPECT_TRUE(decoded.simulated);

  request.simulated = false;
  EXPECT_FALSE(proto::decode_add_key(proto::encode(request).reveal()).simulated);
}

// ---------------------------------------------------------------------------
// decode_ws_login

TEST(DecodeGrants, WebSocketLoginIsOffUnlessAskedFor) {
  const auto grants =
      proto::decode_grants(R"({"grants":[{"user":"bot"},{"group":"bots","ws":true},{"user":"x","ws":false}]})");
  ASSERT_EQ(grants.size(), 3u);
  EXPECT_FALSE(grants[0].ws);
  EXPECT_TRUE(grants[1].ws);
  EXPECT_FALSE(grants[2].ws);
  EXPECT_FALSE(proto::GrantInfo{}.ws);
  EXPECT_THROW(proto::decode_grants(R"({"grants":[{"user":"bot","ws":"yes"}]})"), Error);
}

TEST(DecodeGrants, ARequestWithAFieldTheProtocolDoesNotDefineIsBadRequest) {
  for (const char* text : {R"({"grants":[],"extra":1})", R"({"grants":[{"user":"bot","extra":1}]})",
                           R"({"grants":[{"user":"bot","read_ony":true}]})"}) {
    expect_error(
        Code::bad_request, [&] { proto::decode_grants(text); }, text);
  }
}

// ---------------------------------------------------------------------------
// Replies: what a client decodes ignores the fields it does not know
// (PROTOCOL.md, "Errors"), so that it keeps working with a newer daemon.

// `text` with a member no version of the protocol defines in every object,
// except in a sign reply's headers, which are data.
std::string with_unknown_fields(std::string_view text) {
  std::function<void(json::value&)> add = [&](json::value& value) {
    if (json::object* object = value.if_object()) {
      for (auto& [key, member] : *object) {
        if (key != "headers") add(member);
      }
      object->emplace("later", json::parse(R"({"n":1,"a":[true,null],"s":"x"})"));
    } else if (json::array* array = value.if_array()) {
      for (json::value& item : *array) add(item);
    }
  };
  json::value value = json::parse(text);
  add(value);
  return json::serialize(value);
}

TEST(DecodeGrantsReply, IgnoresFieldsItDoesNotKnowAndStillChecksThoseItDoes) {
  proto::GrantInfo grant;
  grant.kind = proto::GrantInfo::Kind::group;
  grant.name = "bots";
  grant.id = 2000;
  grant.read_only = true;
  grant.expires = "2027-01-01T00:00:00.000Z";
  grant.allow = {"GET /api/v5/account/"};
  const std::string text = with_unknown_fields(proto::encode(std::vector{grant}));
  expect_error(
      Code::bad_request, [&] { proto::decode_grants(text); }, text);
  const auto grants = proto::decode_grants_reply(text);
  ASSERT_EQ(grants.size(), 1u);
  EXPECT_EQ(grants[0].kind, proto::GrantInfo::Kind::group);
  EXPECT_EQ(grants[0].name, "bots");
  EXPECT_EQ(grants[0].id, 2000u);
  EXPECT_TRUE(grants[0].read_only);
  EXPECT_EQ(grants[0].expires, "2027-01-01T00:00:00.000Z");
  EXPECT_EQ(grants[0].allow, std::vector<std::string>{"GET /api/v5/account/"});
  EXPECT_EQ(proto::encode(grants), proto::encode(std::vector{grant}));

  for (const char* bad : {R"({"grants":[{"user":"bot","read_only":"yes"}]})", R"({"grants":[{"id":1}]})",
                          R"({"later":1})", R"({"grants":{}})"}) {
    expect_error(
        Code::bad_request, [&] { proto::decode_grants_reply(bad); }, bad);
  }
}

// Every limit set, so that a field the codec forgets shows in the round trip.
proto::Limits every_limit() {
  proto::Limits limits;
  limits.inst = {"BTC-USDT", "ETH-USDT-SWAP", "SOL-*"};
  limits.inst_types = {"SPOT", "SWAP"};
  limits.max_sz = {{"BTC-USDT", "0.5"}, {"ETH-*", "12"}};
  limits.px_range = {{"BTC-USDT", "10000", "90000.5"}, {"ETH-*", "", "5000"}, {"SOL-*", "10", ""}};
  limits.ord_types = {"limit", "post_only"};
  limits.sides = {"buy", "sell"};
  limits.td_modes = {"cash", "cross"};
  limits.reduce_only = true;
  limits.max_leverage = "5";
  limits.orders_per_minute = 30;
  return limits;
}

// A grant request whose "limits" member is the given JSON text.
std::string grant_with_limits(std::string_view limits) {
  return R"({"grants":[{"user":"bot","limits":)" + std::string(limits) + "}]}";
}

TEST(GrantLimits, EveryFieldRoundTripsThroughARequestAndAReply) {
  proto::GrantInfo grant;
  grant.name = "bot";
  grant.allow = {"POST /api/v5/trade/"};
  grant.limits = every_limit();
  const std::string text = proto::encode(std::vector{grant});
  const auto request = proto::decode_grants(text);
  ASSERT_EQ(request.size(), 1u);
  ASSERT_TRUE(request[0].limits.has_value());
  EXPECT_EQ(*request[0].limits, every_limit());
  const auto reply = proto::decode_grants_reply(text);
  ASSERT_TRUE(reply[0].limits.has_value());
  EXPECT_EQ(*reply[0].limits, every_limit());
  EXPECT_EQ(proto::encode(reply), text);

  const json::value limits = json::parse(text).at("grants").at(0).at("limits");
  EXPECT_EQ(limits.at("max_sz"), json::parse(R"([{"inst":"BTC-USDT","sz":"0.5"},{"inst":"ETH-*","sz":"12"}])"));
  EXPECT_EQ(limits.at("px_range"),
            json::parse(R"([{"inst":"BTC-USDT","min":"10000","max":"90000.5"},{"inst":"ETH-*","max":"5000"},)"
                        R"({"inst":"SOL-*","min":"10"}])"));
  EXPECT_EQ(limits.at("max_leverage"), "5");
  EXPECT_EQ(limits.at("orders_per_minute"), 30);
}

TEST(GrantLimits, OnlyWhatIsSetIsWrittenAndNoLimitsAreNull) {
  proto::GrantInfo grant;
  grant.name = "bot";
  const std::string none = proto::encode(std::vector{grant});
  EXPECT_TRUE(json::parse(none).at("grants").at(0).at("limits").is_null()) << "stated, so that none is not unknown";
  EXPECT_FALSE(proto::decode_grants(none)[0].limits.has_value());
  EXPECT_TRUE(proto::decode_grants(none)[0].limits_stated);
  EXPECT_FALSE(proto::decode_grants(grant_with_limits("null"))[0].limits.has_value());
  EXPECT_FALSE(proto::decode_grants(R"({"grants":[{"user":"bot"}]})")[0].limits_stated)
      << "a client that does not know limits is told apart";

  // Limits with nothing in them are still limits: {} is kept, not dropped.
  grant.limits = proto::Limits{};
  const std::string empty = proto::encode(std::vector{grant});
  EXPECT_EQ(json::parse(empty).at("grants").at(0).at("limits"), json::object{});
  ASSERT_TRUE(proto::decode_grants(empty)[0].limits.has_value());
  EXPECT_EQ(*proto::decode_grants(empty)[0].limits, proto::Limits{});

  grant.limits->max_sz = {{"BTC-USDT", "1"}};
  EXPECT_EQ(json::parse(proto::encode(std::vector{grant})).at("grants").at(0).at("limits"),
            json::parse(R"({"max_sz":[{"inst":"BTC-USDT","sz":"1"}]})"));
}

TEST(GrantLimits, MalformedLimitsAreBadRequestNamingTheLimit) {
  struct Case {
    const char* limits;
    const char* names;  // what the message must mention
  };
  const Case cases[] = {
      {R"({"inst":["BTC-USDT"],"nonsense":1})", "unknown field"},
      {R"({"max_sz":[{"inst":"BTC-USDT","sz":"1","extra":"x"}]})", "unknown field"},
      {R"({"px_range":[{"inst":"BTC-USDT","min":"1","mni":"2"}]})", "unknown field"},
      {R"({"max_sz":[{"inst":"BTC-USDT","sz":0.5}]})", "'sz' must be a string"},
      {R"({"max_leverage":5})", "'max_leverage' must be a string"},
      {R"({"px_range":[{"inst":"BTC-USDT","min":100}]})", "'min' must be a string"},
      {R"({"max_sz":[{"inst":"BTC-USDT","sz":"1e3"}]})", "'1e3' is not a decimal"},
      {R"({"max_sz":[{"inst":"BTC-USDT","sz":"-1"}]})", "'-1' is not a decimal"},
      {R"({"max_sz":[{"inst":"BTC-USDT","sz":""}]})", "'' is not a decimal"},
      {R"({"max_sz":[{"inst":"BTC-USDT","sz":".5"}]})", "'.5' is not a decimal"},
      {R"({"max_sz":[{"inst":"BTC-USDT"}]})", "missing field 'sz'"},
      {R"({"max_leverage":"1e3"})", "max_leverage"},
      {R"({"max_leverage":"0.5"})", "max_leverage: at least 1"},
      {R"({"inst":["btc-usdt"]})", "'btc-usdt' is not an instrument pattern"},
      {R"({"inst":["*"]})", "'*' is not an instrument pattern"},
      {R"({"inst":["BTC-*-USDT"]})", "is not an instrument pattern"},
      {R"({"max_sz":[{"inst":"*","sz":"1"}]})", "'*' is not an instrument pattern"},
      {R"({"px_range":[{"inst":"BTC-USDT","min":"9","max":"10.0"},{"inst":"ETH-USDT","min":"3000","max":"2000"}]})",
       "min 3000 is above max 2000"},
      {R"({"px_range":[{"inst":"BTC-USDT"}]})", "give a min, a max or both"},
      {R"({"orders_per_minute":0})", "orders_per_minute: from 1 to"},
      {R"({"orders_per_minute":1000001})", "orders_per_minute: from 1 to"},
      {R"({"orders_per_minute":4294967297})", "orders_per_minute: from 1 to"},
      {R"({"orders_per_minute":-1})", "'orders_per_minute' must be a non-negative integer"},
      {R"({"orders_per_minute":"30"})", "'orders_per_minute' must be a non-negative integer"},
      {R"({"reduce_only":"true"})", "'reduce_only' must be a boolean"},
      {R"({"sides":["long"]})", "sides: 'long' is not one of buy, sell"},
      {R"({"td_modes":"cash"})", "'td_modes' must be an array of strings"},
      {R"({"ord_types":["limit",7]})", "'ord_types' must be a string"},
      {R"({"ord_types":["limit","twap"]})",
       "ord_types: 'twap' is an order-algo type whose orders the vault does not read, so trading limits refuse them "
       "all"},
      {R"({"ord_types":["iceberg"]})", "ord_types: 'iceberg' is an order-algo type"},
      {R"({"ord_types":["chase"]})", "ord_types: 'chase' is an order-algo type"},
      {R"({"inst_types":["spot"]})", "inst_types: 'spot' is not one of"},
      {R"({"max_sz":{"inst":"BTC-USDT","sz":"1"}})", "'max_sz' must be an array"},
      {R"({"px_range":["BTC-USDT"]})", "expected a JSON object"},
      {R"([])", "expected a JSON object"},
  };
  for (const Case& c : cases) {
    const std::string text = grant_with_limits(c.limits);
    SCOPED_TRACE(text);
    try {
      proto::decode_grants(text);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Code::bad_request) << e.what();
      EXPECT_NE(std::string(e.what()).find("limits"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.names), std::string::npos) << e.what();
    }
  }
}

TEST(GrantLimits, ErrorMessagesDoNotEchoHugeInput) {
  const std::string huge(20000, '7');
  const std::string name = "SECRET" + std::string(5000, 'X');  // a member name is never repeated
  for (const std::string& limits :
       {R"({"max_sz":[{"inst":"BTC-USDT","sz":")" + huge + R"(x"}]})", R"({"max_leverage":")" + huge + R"(."})",
        R"({"inst":[")" + std::string(5000, 'A') + R"("]})", R"({"sides":[")" + std::string(5000, 's') + R"("]})",
        R"({"px_range":[{"inst":"BTC-USDT","min":")" + huge + R"("}]})", R"({")" + name + R"(":1})",
        R"({"max_sz":[{"inst":"BTC-USDT","sz":"1",")" + name + R"(":1}]})"}) {
    try {
      proto::decode_grants(grant_with_limits(limits));
      ADD_FAILURE() << limits.substr(0, 80);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Code::bad_request);
      EXPECT_LT(std::string(e.what()).size(), 400u) << std::string(e.what()).substr(0, 200);
      EXPECT_EQ(std::string(e.what()).find("SECRET"), std::string::npos) << e.what();
    }
  }
}

TEST(GrantLimits, AReplyIgnoresLimitsItDoesNotKnowAndStillChecksTypes) {
  const std::string text = grant_with_limits(
      R"({"inst":["BTC-USDT"],"later_limit":{"x":1},"max_sz":[{"inst":"BTC-USDT","sz":"1","later":true}],)"
      R"("ord_types":["a_later_ord_type"]})");
  expect_error(
      Code::bad_request, [&] { proto::decode_grants(text); }, text);
  const auto grants = proto::decode_grants_reply(text);
  ASSERT_TRUE(grants.at(0).limits.has_value());
  EXPECT_EQ(grants[0].limits->inst, std::vector<std::string>{"BTC-USDT"});
  EXPECT_EQ(grants[0].limits->max_sz, (std::vector<proto::MaxSize>{{"BTC-USDT", "1"}}));
  EXPECT_EQ(grants[0].limits->ord_types, std::vector<std::string>{"a_later_ord_type"});
  const std::string mistyped = grant_with_limits(R"({"max_sz":[{"inst":"BTC-USDT","sz":1}]})");
  expect_error(
      Code::bad_request, [&] { proto::decode_grants_reply(mistyped); }, mistyped);
}

TEST(ReplyDecoders, EveryReplyIgnoresFieldsItDoesNotKnow) {
  const proto::StatusReply status{"9.9.9", true, 3, 60, {"key_file", "passphrase"}};
  const proto::StatusReply status_back = proto::decode_status(with_unknown_fields(proto::encode(status)));
  EXPECT_EQ(status_back.version, "9.9.9");
  EXPECT_EQ(status_back.slots, status.slots);

  proto::KeyInfo key;
  key.name = "main";
  key.api_key = "37c5…8418";
  key.created = "2026-01-01T00:00:00.000Z";
  key.expires = "2200-12-31T23:59:59.999Z";
  key.grants = 2;
  EXPECT_EQ(proto::encode(proto::decode_key_info(with_unknown_fields(proto::encode(key)))), proto::encode(key));
  const std::vector<proto::KeyInfo> keys{key, key};
  EXPECT_EQ(proto::encode(proto::decode_key_list(with_unknown_fields(proto::encode(keys)))), proto::encode(keys));

  const proto::SignReply sign{"2020-12-08T09:08:57.715Z", {{"OK-ACCESS-KEY", "k"}, {"OK-ACCESS-SIGN", "s"}}};
  EXPECT_EQ(proto::encode(proto::decode_sign_reply(with_unknown_fields(proto::encode(sign)))), proto::encode(sign));

  const std::string frame(proto::encode(proto::WsLoginFrameView{"k", "p", "1538054050", "s"}));
  EXPECT_EQ(proto::decode_ws_login_frame(with_unknown_fields(frame)).sign, "s");

  const proto::ErrorReply error{Code::policy_denied, "refused", "read-only"};
  const proto::ErrorReply error_back = proto::decode_error(with_unknown_fields(proto::encode(error)));
  EXPECT_EQ(error_back.code, Code::policy_denied);
  EXPECT_EQ(error_back.rule, "read-only");
}

TEST(DecodeWsLogin, NoBodyOrAnEmptyObjectMeansNoTimestamp) {
  EXPECT_FALSE(proto::decode_ws_login("").timestamp.has_value());
  EXPECT_FALSE(proto::decode_ws_login("{}").timestamp.has_value());
  EXPECT_EQ(proto::decode_ws_login(R"({"timestamp":"1538054050"})").timestamp, "1538054050");
}

TEST(DecodeWsLogin, RejectsNonJsonAsInvalidJsonAndEverythingElseAsBadRequest) {
  for (const std::string text : {"{", "nope", "{\"timestamp\":}"}) {
    expect_error(
        Code::invalid_json, [&] { proto::decode_ws_login(text); }, text);
  }
  for (const std::string text : {"[]", "\"1538054050\"", "1538054050", R"({"timestamp":1538054050})",
                                 R"({"timestamp":["1538054050"]})", R"({"ts":"1538054050"})"}) {
    expect_error(
        Code::bad_request, [&] { proto::decode_ws_login(text); }, text);
  }
}

TEST(WsLoginFrameCodec, HasTheOkxLoginShapeAndRoundTrips) {
  const proto::WsLoginFrameView frame{"key", "pass", "1538054050", "c2lnbg=="};
  EXPECT_EQ(
      proto::encode(frame),
      R"({"op":"login","args":[{"apiKey":"key","passphrase":"pass","timestamp":"1538054050","sign":"c2lnbg=="}]})");
  const proto::WsLoginFrame decoded = proto::decode_ws_login_frame(proto::encode(frame));
  EXPECT_EQ(decoded.api_key, frame.api_key);
  EXPECT_EQ(decoded.passphrase, frame.passphrase);
  EXPECT_EQ(decoded.timestamp, frame.timestamp);
  EXPECT_EQ(decoded.sign, frame.sign);
}

// Text that JSON must escape, and text it must not touch.
const std::vector<std::string> kAwkwardText = {"",
                                               "plain",
                                               R"(q"uo\te)",
                                               "</script>",
                                               std::string("nul\0ctl\x01\x1f\b\f\n\r\t", 14),
                                               "\x7f\xc3\xa9\xe2\x80\xa6",
                                               std::string(256, '"'),
                                               std::string(256, '\x01')};

// The writer escapes exactly as Boost.JSON serializes the same object.
TEST(SignReplyCodec, WritesWhatBoostJsonWouldForTheSameObject) {
  for (const std::string& text : kAwkwardText) {
    SCOPED_TRACE(json::serialize(json::string(text)));
    const std::vector<proto::HeaderView> headers{{"OK-ACCESS-KEY", "k"}, {"OK-ACCESS-PASSPHRASE", text}, {text, "v"}};
    json::object expected_headers;
    for (const auto& [name, value] : headers) expected_headers[name] = value;
    EXPECT_EQ(std::string(proto::encode(proto::SignReplyView{text, headers})),
              json::serialize(json::object{{"timestamp", text}, {"headers", std::move(expected_headers)}}));
    EXPECT_EQ(std::string(proto::encode(proto::WsLoginFrameView{text, text, "1538054050", text})),
              json::serialize(json::object{{"op", "login"},
                                           {"args", json::array{json::object{{"apiKey", text},
                                                                             {"passphrase", text},
                                                                             {"timestamp", "1538054050"},
                                                                             {"sign", text}}}}}));
  }
}

// Text with nothing to escape is copied, any other goes through the serializer:
// each of the 256 bytes, alone and amid plain text, comes out as Boost.JSON
// writes it, and escaped_size (what the audit record sizes its cuts by) agrees.
TEST(SignReplyCodec, EveryByteIsWrittenAsBoostJsonWould) {
  for (int byte = 0; byte < 256; ++byte) {
    const char c = static_cast<char>(byte);
    SCOPED_TRACE(byte);
    const std::string serialized = json::serialize(json::string(std::string(1, c)));
    EXPECT_EQ(proto::escaped_size(c), serialized.size() - 2);
    const std::string as_is{'"', c, '"'};
    EXPECT_EQ(proto::needs_escape(c), serialized != as_is);
    for (const std::string& text : {std::string(1, c), "OK-" + std::string(1, c) + "-SIGN"}) {
      const std::vector<proto::HeaderView> headers{{text, text}};
      EXPECT_EQ(std::string(proto::encode(proto::SignReplyView{text, headers})),
                json::serialize(json::object{{"timestamp", text}, {"headers", json::object{{text, text}}}}));
    }
  }
}

// needs_escape reads eight bytes at a time: a byte to escape is found at every
// place in a word and in the tail, among bytes with the top bit set or not.
TEST(JsonEscape, EveryByteIsFoundAtEveryPlace) {
  for (const char filler : {'a', '\x7f', '\x80', '\xff', '!'}) {
    for (int byte = 0; byte < 256; ++byte) {
      for (std::size_t at = 0; at < 17; ++at) {
        std::string text(17, filler);
        text[at] = static_cast<char>(byte);
        ASSERT_EQ(proto::needs_escape(text), proto::needs_escape(static_cast<char>(byte)))
            << "byte " << byte << " at " << at << " among " << static_cast<int>(static_cast<unsigned char>(filler));
      }
    }
    EXPECT_FALSE(proto::needs_escape(std::string(17, filler)));
  }
}

TEST(SignReplyCodec, KeepsTheHeadersInOrderAndRoundTrips) {
  const std::vector<proto::HeaderView> headers{{"OK-ACCESS-KEY", "key"},
                                               {"OK-ACCESS-SIGN", "c2lnbg=="},
                                               {"OK-ACCESS-TIMESTAMP", "2020-12-08T09:08:57.715Z"},
                                               {"OK-ACCESS-PASSPHRASE", "p\"p"},
                                               {"Content-Type", "application/json"}};
  const std::string text(proto::encode(proto::SignReplyView{"2020-12-08T09:08:57.715Z", headers}));
  EXPECT_EQ(text, R"({"timestamp":"2020-12-08T09:08:57.715Z","headers":{"OK-ACCESS-KEY":"key",)"
                  R"("OK-ACCESS-SIGN":"c2lnbg==","OK-ACCESS-TIMESTAMP":"2020-12-08T09:08:57.715Z",)"
                  R"("OK-ACCESS-PASSPHRASE":"p\"p","Content-Type":"application/json"}})");
  const proto::SignReply decoded = proto::decode_sign_reply(text);
  EXPECT_EQ(decoded.timestamp, "2020-12-08T09:08:57.715Z");
  ASSERT_EQ(decoded.headers.size(), headers.size());
  for (std::size_t i = 0; i < headers.size(); ++i) {
    EXPECT_EQ(decoded.headers[i].first, headers[i].name);
    EXPECT_EQ(decoded.headers[i].second, headers[i].value);
  }
  EXPECT_EQ(proto::encode(decoded), text) << "a client re-encodes what it decoded as it was";
  EXPECT_EQ(proto::encode(proto::SignReplyView{"t", {}}), R"({"timestamp":"t","headers":{}})");
}

// ---------------------------------------------------------------------------
// Errors on the wire

proto::ErrorReply error_reply(Code code, std::string message) {
  proto::ErrorReply reply;
  reply.code = code;
  reply.message = std::move(message);
  return reply;
}

TEST(ErrorReplyCodec, EncodesTheDocumentedShape) {
  const proto::ErrorReply reply = error_reply(Code::key_not_found, "no key named 'main'");
  EXPECT_EQ(json::parse(proto::encode(reply)),
            json::parse(R"({"error":{"code":"key_not_found","message":"no key named 'main'"}})"));
  const proto::ErrorReply decoded = proto::decode_error(proto::encode(reply));
  EXPECT_EQ(decoded.code, Code::key_not_found);
  EXPECT_EQ(decoded.message, reply.message);
}

// The first and the last Code as declared in common/error.hpp.
constexpr Code kFirstCode = Code::bad_request;
constexpr Code kLastCode = Code::untrusted_server;

std::vector<Code> all_codes() {
  std::vector<Code> codes;
  for (int i = static_cast<int>(kFirstCode); i <= static_cast<int>(kLastCode); ++i) {
    codes.push_back(static_cast<Code>(i));
  }
  return codes;
}

TEST(Codes, EveryCodeNameRoundTripsAndIsUnique) {
  std::set<std::string_view> names;
  for (const Code code : all_codes()) {
    const std::string_view name = code_name(code);
    SCOPED_TRACE(std::string(name));
    EXPECT_FALSE(name.empty());
    EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_"), std::string_view::npos);
    EXPECT_EQ(code_from_name(name), code);
    EXPECT_TRUE(names.insert(name).second) << "duplicate name";
  }
}

TEST(Codes, EveryCodeMapsToAnErrorHttpStatus) {
  for (const Code code : all_codes()) {
    SCOPED_TRACE(std::string(code_name(code)));
    EXPECT_GE(http_status(code), 400);
    EXPECT_LE(http_status(code), 599);
  }
  EXPECT_EQ(http_status(Code::key_not_found), 404);
  EXPECT_EQ(http_status(Code::forbidden), 403);
  EXPECT_EQ(http_status(Code::bad_request), 400);
  EXPECT_EQ(http_status(Code::internal), 500);
}

TEST(Codes, UnknownNamesMapToInternal) {
  EXPECT_EQ(code_from_name("no_such_code"), Code::internal);
  EXPECT_EQ(code_from_name(""), Code::internal);
  EXPECT_EQ(code_from_name("KEY_NOT_FOUND"), Code::internal);
}

TEST(Codes, EveryCodeRoundTripsThroughAnErrorReply) {
  for (const Code code : all_codes()) {
    SCOPED_TRACE(std::string(code_name(code)));
    EXPECT_EQ(proto::decode_error(proto::encode(error_reply(code, "m"))).code, code);
  }
}

TEST(PassphraseRequest, RoundTripsInGuardedMemoryAndIsStrict) {
  const proto::PassphraseRequest request{SecretBytes::copy_of(std::string_view("old \"quoted\" one")),
                                         SecretBytes::copy_of(std::string_view("new\tone"))};
  const SecretBytes text = proto::encode(request);
  const proto::PassphraseRequest back = proto::decode_passphrases(text.reveal());
  EXPECT_EQ(back.passphrase.reveal(), "old \"quoted\" one");
  EXPECT_EQ(back.new_passphrase.reveal(), "new\tone");
  EXPECT_TRUE(proto::decode_passphrases("").passphrase.empty());
  EXPECT_EQ(proto::encode(proto::PassphraseRequest{}).reveal(), "{}");
  for (const char* bad : {R"({"passphrase":""})", R"({"pasphrase":"x"})", R"({"passphrase":1})", "[]"}) {
    try {
      proto::decode_passphrases(bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Code::bad_request) << bad;
      EXPECT_EQ(std::string(e.what()).find("x\""), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace okxvault
