// The OKX V5 signer, specified by the independent vectors in
// tests/data/okx_v5_sign_vectors.json (computed outside this code base and
// cross-checked with OpenSSL), and the timestamp formats OKX expects.

#include "daemon/core/credentials.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nettle/sha2.h>
#include <sodium.h>

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <latch>
#include <map>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "common/secret.hpp"
#include "proto/messages.hpp"
#include "tests/support/process.hpp"
#include "tests/support/reference_sign.hpp"

namespace okxvault {
namespace {

namespace json = boost::json;

struct Vector {
  std::string name;
  std::string kind;  // "rest" or "ws_login"
  std::string api_key;
  std::string secret;
  std::string passphrase;
  std::string timestamp;
  std::string method;
  std::string request_path;
  std::string body;
  bool demo = false;
  std::string expected_sign;
  std::map<std::string, std::string> expected_headers;
  json::value expected_login_frame;
  std::optional<std::string> negative_control_sign;
};

void PrintTo(const Vector& v, std::ostream* os) { *os << v.name; }

std::string string_field(const json::object& o, std::string_view key) { return std::string(o.at(key).as_string()); }

std::vector<Vector> load_vectors() {
  const std::string text = test::read_file(std::string(OKXVAULT_TEST_DATA) + "/okx_v5_sign_vectors.json");
  std::vector<Vector> vectors;
  try {
    const json::value document = json::parse(text);
    for (const json::value& item : document.as_array()) {
      const json::object& o = item.as_object();
      Vector v;
      v.name = string_field(o, "name");
      v.kind = string_field(o, "kind");
      v.api_key = string_field(o, "api_key");
      v.secret = string_field(o, "secret");
      v.passphrase = string_field(o, "passphrase");
      v.timestamp = string_field(o, "timestamp");
      v.method = string_field(o, "method");
      v.request_path = string_field(o, "request_path");
      v.body = string_field(o, "body");
      v.demo = o.at("demo").as_bool();
      v.expected_sign = string_field(o, "expected_sign");
      for (const auto& header : o.at("expected_headers").as_object()) {
        v.expected_headers.emplace(header.key(), header.value().as_string());
      }
      if (const json::value* frame = o.if_contains("expected_login_frame")) v.expected_login_frame = *frame;
      if (const json::value* negative = o.if_contains("negative_control_sign_if_secret_hex_decoded")) {
        v.negative_control_sign = std::string(negative->as_string());
      }
      vectors.push_back(std::move(v));
    }
  } catch (const std::exception&) {
    // A missing or malformed vector file leaves the list empty; the count test fails.
    return {};
  }
  return vectors;
}

const std::vector<Vector>& all_vectors() {
  static const std::vector<Vector> vectors = load_vectors();
  return vectors;
}

// The api key is viewed, not copied: it must outlive the credentials.
Credentials make_credentials(std::string_view api_key, std::string_view passphrase, bool simulated) {
  Credentials credentials;
  credentials.api_key = api_key;
  credentials.passphrase = SecretBytes::copy_of(passphrase);
  credentials.simulated = simulated;
  return credentials;
}

Credentials credentials_of(const Vector& v) { return make_credentials(v.api_key, v.passphrase, v.demo); }

// Header names must be unique: a map of them must lose nothing.
std::map<std::string, std::string> as_map(const proto::Headers& headers) {
  std::map<std::string, std::string> out(headers.begin(), headers.end());
  EXPECT_EQ(out.size(), headers.size()) << "a header name appears twice";
  return out;
}

// ---------------------------------------------------------------------------
// The vector file itself: every case the signer must get right is present.

TEST(SignVectorFile, HoldsSeventeenVectorsCoveringEveryCategory) {
  const auto& vectors = all_vectors();
  ASSERT_EQ(vectors.size(), 17u);

  const auto any = [&](auto predicate) { return std::any_of(vectors.begin(), vectors.end(), predicate); };
  const auto query_of = [](const Vector& v) {
    const auto q = v.request_path.find('?');
    return q == std::string::npos ? std::string() : v.request_path.substr(q);
  };
  EXPECT_TRUE(any([](const Vector& v) { return v.kind == "rest"; })) << "REST";
  EXPECT_TRUE(any([](const Vector& v) { return v.kind == "ws_login"; })) << "WebSocket login";
  EXPECT_TRUE(any([](const Vector& v) { return v.kind == "rest" && v.demo; })) << "demo REST";
  EXPECT_TRUE(any([](const Vector& v) { return v.kind == "rest" && !v.demo; })) << "live REST";
  EXPECT_TRUE(any([](const Vector& v) { return v.kind == "ws_login" && v.demo; })) << "demo ws";
  EXPECT_TRUE(any([](const Vector& v) { return v.kind == "ws_login" && !v.demo; })) << "live ws";
  EXPECT_TRUE(any([&](const Vector& v) { return query_of(v).find("%2C") != std::string::npos; }))
      << "a percent-encoded comma in the query";
  EXPECT_TRUE(any([&](const Vector& v) { return query_of(v).find(',') != std::string::npos; }))
      << "a raw comma in the query";
  EXPECT_TRUE(any([](const Vector& v) { return v.body.find("\\u") != std::string::npos; }))
      << "a body with \\u escapes";
  EXPECT_TRUE(any([](const Vector& v) { return !v.body.empty() && v.body.front() == '['; }))
      << "a body that is a JSON array";
  EXPECT_TRUE(any([](const Vector& v) { return v.kind == "rest" && v.method == "POST" && v.body.empty(); }))
      << "a POST with an empty body";
  EXPECT_TRUE(any([](const Vector& v) { return v.negative_control_sign.has_value(); }))
      << "the hex-decoded-secret negative control";
}

// ---------------------------------------------------------------------------
// Every vector, one test each, named after the vector.

std::vector<Vector> vectors_of_kind(std::string_view kind) {
  std::vector<Vector> out;
  for (const Vector& v : all_vectors()) {
    if (v.kind == kind) out.push_back(v);
  }
  return out;
}

std::string vector_name(const ::testing::TestParamInfo<Vector>& info) { return info.param.name; }

class RestVector : public ::testing::TestWithParam<Vector> {};

TEST_P(RestVector, SignEqualsExpectedSign) {
  const Vector& v = GetParam();
  const Signer signer(SecretBytes::copy_of(v.secret));
  EXPECT_EQ(signer.sign(v.timestamp, v.method, v.request_path, v.body), v.expected_sign);
}

TEST_P(RestVector, HeadersEqualExpectedHeadersExactly) {
  const Vector& v = GetParam();
  const Signer signer(SecretBytes::copy_of(v.secret));
  const proto::SignReply reply =
      proto::decode_sign_reply(sign_reply(signer, credentials_of(v), v.timestamp, v.method, v.request_path, v.body));
  EXPECT_EQ(reply.timestamp, v.timestamp);
  auto got = as_map(reply.headers);
  EXPECT_EQ(got, v.expected_headers);
  // Spelled out, so a failure above says which part is wrong.
  EXPECT_EQ(got.count("x-simulated-trading"), v.demo ? 1u : 0u);
  if (v.demo) {
    EXPECT_EQ(got["x-simulated-trading"], "1");
  }
  EXPECT_EQ(got["OK-ACCESS-SIGN"], v.expected_sign);
  EXPECT_EQ(got["OK-ACCESS-KEY"], v.api_key);
  EXPECT_EQ(got["OK-ACCESS-TIMESTAMP"], v.timestamp);
  EXPECT_EQ(got["OK-ACCESS-PASSPHRASE"], v.passphrase);
}

INSTANTIATE_TEST_SUITE_P(OkxV5, RestVector, ::testing::ValuesIn(vectors_of_kind("rest")), vector_name);

class WsLoginVector : public ::testing::TestWithParam<Vector> {};

TEST_P(WsLoginVector, LoginFrameEqualsExpectedLoginFrame) {
  const Vector& v = GetParam();
  const Signer signer(SecretBytes::copy_of(v.secret));
  EXPECT_EQ(signer.sign(v.timestamp, "GET", "/users/self/verify", ""), v.expected_sign);
  const std::string body(ws_login_reply(signer, credentials_of(v), v.timestamp));
  const proto::WsLoginFrame frame = proto::decode_ws_login_frame(body);
  EXPECT_EQ(frame.api_key, v.api_key);
  EXPECT_EQ(frame.passphrase, v.passphrase);
  EXPECT_EQ(frame.timestamp, v.timestamp);
  EXPECT_EQ(frame.sign, v.expected_sign);
  EXPECT_EQ(json::parse(body), v.expected_login_frame) << body;
}

INSTANTIATE_TEST_SUITE_P(OkxV5, WsLoginVector, ::testing::ValuesIn(vectors_of_kind("ws_login")), vector_name);

TEST(SignVectorFile, EveryVectorIsRestOrWsLogin) {
  EXPECT_EQ(vectors_of_kind("rest").size() + vectors_of_kind("ws_login").size(), all_vectors().size());
}

// ---------------------------------------------------------------------------

// The secret is used as its ASCII bytes. The vector file gives the signature one
// would get by hex-decoding it instead; the signer must not produce that.
TEST(Signer, UsesTheSecretAsAsciiNotHexDecoded) {
  const auto& vectors = all_vectors();
  const auto it =
      std::find_if(vectors.begin(), vectors.end(), [](const Vector& v) { return v.negative_control_sign.has_value(); });
  ASSERT_NE(it, vectors.end());
  const Vector& v = *it;

  const Signer ascii(SecretBytes::copy_of(v.secret));
  EXPECT_NE(ascii.sign(v.timestamp, v.method, v.request_path, v.body), *v.negative_control_sign);
  EXPECT_EQ(ascii.sign(v.timestamp, v.method, v.request_path, v.body), v.expected_sign);

  // The control is meaningful: a signer given the hex-decoded bytes does produce it.
  ensure_sodium();
  std::vector<unsigned char> decoded(v.secret.size() / 2);
  std::size_t decoded_size = 0;
  ASSERT_EQ(sodium_hex2bin(decoded.data(), decoded.size(), v.secret.data(), v.secret.size(), nullptr, &decoded_size,
                           nullptr),
            0);
  decoded.resize(decoded_size);
  const Signer hex(SecretBytes::copy_of(std::span<const unsigned char>(decoded)));
  EXPECT_EQ(hex.sign(v.timestamp, v.method, v.request_path, v.body), *v.negative_control_sign);
}

// The prehash is the plain concatenation; where the parts are split does not matter.
TEST(Signer, SignsTheConcatenationOfItsParts) {
  const Signer signer(SecretBytes::copy_of("22582BD0CFF14C41EDBF1AB98506286D"));
  EXPECT_EQ(signer.sign("2020-12-08T09:08:57.715Z", "GET", "/api/v5/account/balance", ""),
            signer.sign("2020-12-08T09:08:57.715ZGET", "", "/api/v5/account", "/balance"));
  EXPECT_NE(signer.sign("2020-12-08T09:08:57.715Z", "GET", "/api/v5/account/balance", ""),
            signer.sign("2020-12-08T09:08:57.716Z", "GET", "/api/v5/account/balance", ""));
}

// The signer keeps only part of the HMAC state: every secret length gives the
// plain HMAC, short keys padded and keys longer than a block (64) hashed first.
TEST(Signer, EverySecretLengthSignsAsThePlainHmac) {
  const std::string message = "2020-12-08T09:08:57.715ZPOST/api/v5/trade/order{\"sz\":\"1\"}";
  for (std::size_t length : {1u, 31u, 32u, 55u, 63u, 64u, 65u, 128u, 200u, 512u}) {
    SCOPED_TRACE("secret of " + std::to_string(length) + " bytes");
    std::string secret;
    for (std::size_t i = 0; i < length; ++i) secret.push_back(static_cast<char>('!' + (i * 7) % 94));
    const Signer signer(SecretBytes::copy_of(secret));
    EXPECT_EQ(signer.sign("2020-12-08T09:08:57.715Z", "POST", "/api/v5/trade/order", "{\"sz\":\"1\"}"),
              test::okx_signature(secret, message));
    EXPECT_EQ(signer.sign("", "", "", ""), test::okx_signature(secret, "")) << "an empty message";
  }
}

// Every message length up to four blocks, split into its four parts at
// different places, gives the plain HMAC: the buffer and the padding of the
// SHA-256 the signer uses at and around every block boundary.
TEST(Signer, EveryMessageLengthSignsAsThePlainHmac) {
  const std::string secret = "22582BD0CFF14C41EDBF1AB98506286D";
  const Signer signer(SecretBytes::copy_of(secret));
  std::string message;
  for (std::size_t length = 0; length <= 256; ++length) {
    SCOPED_TRACE("message of " + std::to_string(length) + " bytes");
    const std::string_view m = message;
    const std::size_t a = length / 3, b = length / 2, c = length * 3 / 4;
    EXPECT_EQ(signer.sign(m.substr(0, a), m.substr(a, b - a), m.substr(b, c - b), m.substr(c)),
              test::okx_signature(secret, message));
    message.push_back(static_cast<char>('a' + length % 26));
  }
}

// A Signer keeps no per-signature state: one instance shared by 4 threads gives
// exactly the single-threaded results.
TEST(Signer, OneSignerUsedFromFourThreadsGivesTheSingleThreadedResults) {
  constexpr int kThreads = 4;
  constexpr int kSignatures = 1000;
  const Signer signer(SecretBytes::copy_of("22582BD0CFF14C41EDBF1AB98506286D"));
  const auto body_of = [](int i) { return "{\"clOrdId\":\"c" + std::to_string(i) + "\",\"sz\":\"1\"}"; };

  std::vector<std::string> expected;
  for (int i = 0; i < kSignatures; ++i) {
    expected.push_back(signer.sign("2020-12-08T09:08:57.715Z", "POST", "/api/v5/trade/order", body_of(i)));
  }
  ASSERT_NE(expected[0], expected[1]);

  std::atomic<int> mismatches{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int n = 0; n < kSignatures; ++n) {
        const int i = (n + t * 250) % kSignatures;  // threads walk the inputs out of step
        if (signer.sign("2020-12-08T09:08:57.715Z", "POST", "/api/v5/trade/order", body_of(i)) != expected[i]) {
          mismatches.fetch_add(1);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(Signer, RestHeadersForALiveKeyHaveExactlyTheFourAccessHeaders) {
  const Signer signer(SecretBytes::copy_of("s3cr3t"));
  const Credentials live = make_credentials("live-key", "pp", false);
  const auto headers =
      as_map(proto::decode_sign_reply(sign_reply(signer, live, "2020-12-08T09:08:57.715Z", "GET", "/x", "")).headers);
  std::vector<std::string> names;
  for (const auto& [name, value] : headers) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"OK-ACCESS-KEY", "OK-ACCESS-PASSPHRASE", "OK-ACCESS-SIGN",
                                             "OK-ACCESS-TIMESTAMP"}));
}

// ---------------------------------------------------------------------------
// Timestamps.

using namespace std::chrono;
using namespace std::chrono_literals;

TEST(Timestamps, Iso8601MsFormatsUtcWithMilliseconds) {
  const Clock::time_point t = sys_days{2020y / 12 / 8} + 9h + 8min + 57s + 715ms;
  EXPECT_EQ(iso8601_ms(t), "2020-12-08T09:08:57.715Z");
  EXPECT_EQ(iso8601_ms(sys_days{1970y / 1 / 1}), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(iso8601_ms(sys_days{2024y / 2 / 29} + 23h + 59min + 59s + 7ms), "2024-02-29T23:59:59.007Z");
}

// Never rounds up into the future: sub-millisecond parts are dropped.
TEST(Timestamps, Iso8601MsTruncatesToTheMillisecond) {
  const Clock::time_point t = sys_days{2020y / 12 / 8} + 9h + 8min + 57s + 715ms + 999us;
  EXPECT_EQ(iso8601_ms(t), "2020-12-08T09:08:57.715Z");
}

TEST(Timestamps, ParseIso8601MsRoundTrips) {
  const Clock::time_point t = sys_days{2020y / 12 / 8} + 9h + 8min + 57s + 715ms;
  EXPECT_EQ(parse_iso8601_ms("2020-12-08T09:08:57.715Z"), t);
  for (const char* text : {"2020-12-08T09:08:57.715Z", "1970-01-01T00:00:00.000Z", "2024-02-29T23:59:59.999Z",
                           "2099-12-31T00:00:00.001Z"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(iso8601_ms(parse_iso8601_ms(text)), text);
  }
}

TEST(Timestamps, EpochSecondsRoundTrips) {
  EXPECT_EQ(parse_epoch_seconds("1538054050"), Clock::time_point{1538054050s});
  EXPECT_EQ(epoch_seconds(parse_epoch_seconds("1538054050")), "1538054050");
  EXPECT_EQ(epoch_seconds(Clock::time_point{1538054050s + 999ms}), "1538054050");
  EXPECT_EQ(epoch_seconds(sys_days{1970y / 1 / 1}), "0");
}

void expect_bad_request(const std::function<void()>& parse, const std::string& input) {
  SCOPED_TRACE("input: \"" + input + "\"");
  try {
    parse();
    ADD_FAILURE() << "accepted a malformed timestamp";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::bad_request) << e.what();
  }
}

TEST(Timestamps, ParseIso8601MsRejectsEverythingElse) {
  for (const std::string text : {
           "",
           "2020-12-08T09:08:57.715",    // missing Z
           "2020-12-08T09:08:57.715ZZ",  // too long
           "2020-12-08T09:08:57.71Z",    // too short
           "2020-12-08T09:08:57Z",       // no milliseconds
           "2020-12-08t09:08:57.715Z",   // lowercase t
           "2020-12-08T09:08:57.715z",   // lowercase z
           "2020-12-08 09:08:57.715Z",   // space instead of T
           "2020-12-08T09:08:57.715+00:00",
           "2020-12-08T09:08:57+00:00",
           "2020-13-01T00:00:00.000Z",  // month 13
           "2020-00-01T00:00:00.000Z",  // month 0
           "2020-02-30T00:00:00.000Z",  // no such day
           "2021-02-29T00:00:00.000Z",  // not a leap year
           "2020-12-08T24:00:00.000Z",
           "2020-12-08T09:60:00.000Z",
           "2020-12-08T09:08:60.000Z",
           "2020-12-08T09:08:5a.715Z",  // a letter
           "abcd-ef-ghTij:kl:mn.opqZ",
           "2020/12/08T09:08:57.715Z",
           "-020-12-08T09:08:57.715Z",
           "1538054050",
       }) {
    expect_bad_request([&] { parse_iso8601_ms(text); }, text);
  }
}

TEST(Timestamps, ParseEpochSecondsRejectsEverythingElse) {
  for (const std::string text : {
           "", "-1", "12ab", "+1538054050", " 1538054050", "1538054050 ", "1538054050.5", "1.5e9", "0x5bad",
           "2020-12-08T09:08:57.715Z",
           "99999999999999999999",  // would overflow a 64-bit integer
       }) {
    expect_bad_request([&] { parse_epoch_seconds(text); }, text);
  }
}

// Runs `body` in a forked child and returns its exit code (128 + signal if it was
// killed), so undefined behaviour caught by UBSan fails one test, not the run.
int exit_code_in_child(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    int code = 99;
    try {
      code = body();
    } catch (...) {
      code = 98;
    }
    ::_exit(code);
  }
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

constexpr const char* kChildOutcomes =
    "(0: refused with bad_request or round-tripped; 1: parsed to another instant; "
    "2: refused with another code; 134: aborted, e.g. UBSan on signed overflow)";

// A strict parser either refuses the text or returns the very instant it names;
// it never hands back some other time. This matters beyond tidiness: the daemon
// checks a client's timestamp against its clock with the parsed value but signs
// the text, so a text that parses to a different instant could pass the skew
// check while the signature is dated elsewhere. Texts past the range of
// Clock::time_point (64-bit nanoseconds on libstdc++: 1677-09-21 to 2262-04-11)
// must be refused, not wrapped around.
TEST(Timestamps, ParseIso8601MsNeverReturnsAnotherInstant) {
  for (const std::string text : {"2262-04-11T23:47:16.854Z", "2262-04-12T00:00:00.000Z", "2611-06-16T21:17:02.886Z",
                                 "9999-12-31T23:59:59.999Z", "1677-09-21T00:00:00.000Z", "0000-01-01T00:00:00.000Z"}) {
    SCOPED_TRACE(text);
    const int code = exit_code_in_child([&] {
      try {
        return iso8601_ms(parse_iso8601_ms(text)) == text ? 0 : 1;
      } catch (const Error& e) {
        return e.code() == Code::bad_request ? 0 : 2;
      }
    });
    EXPECT_EQ(code, 0) << kChildOutcomes;
  }
}

TEST(Timestamps, ParseEpochSecondsNeverReturnsAnotherInstant) {
  for (const std::string text : {"9223372036", "9223372037", "20242387014", "99999999999", "999999999999"}) {
    SCOPED_TRACE(text);
    const int code = exit_code_in_child([&] {
      try {
        return epoch_seconds(parse_epoch_seconds(text)) == text ? 0 : 1;
      } catch (const Error& e) {
        return e.code() == Code::bad_request ? 0 : 2;
      }
    });
    EXPECT_EQ(code, 0) << kChildOutcomes;
  }
}

constexpr std::size_t kPaintedBytes = 16384;
constexpr unsigned char kPaint = 0xA5;

// Fills the stack below the caller's frame with kPaint.
[[gnu::noinline]] void paint_stack() {
  volatile unsigned char below[kPaintedBytes];
  for (auto& byte : below) byte = kPaint;
}

// How deep below the caller's frame the stack no longer holds kPaint: what a
// call made in between used. The array is read as paint_stack left it.
[[gnu::noinline]] std::size_t painted_depth_used() {
  volatile unsigned char below[kPaintedBytes];
  asm volatile("" : : "r"(below) : "memory");  // the bytes are the stack's, whatever the compiler assumes
  std::size_t untouched = 0;
  while (untouched < kPaintedBytes && below[untouched] == kPaint) ++untouched;
  return kPaintedBytes - untouched;
}

// What HmacSha256::mac() does with Nettle, in a frame at least as large as its
// own: an HMAC's two hashes, the first over several blocks.
[[gnu::noinline]] void hash_as_sign_does() {
  const std::string message(300, 'x');
  sha256_ctx state;
  sha256_init(&state);
  sha256_update(&state, message.size(), reinterpret_cast<const std::uint8_t*>(message.data()));
  std::array<std::uint8_t, SHA256_DIGEST_SIZE> inner, mac;
  sha256_digest(&state, inner.size(), inner.data());
  sha256_update(&state, inner.size(), inner.data());
  sha256_digest(&state, mac.size(), mac.data());
  asm volatile("" : : "r"(mac.data()) : "memory");
}

// HmacSha256::mac() (what signs, and keys the audit log's lines) wipes
// kWipedStackBytes below its frame after Nettle's hashes: more
// than they use, with the SHA instructions or without (NETTLE_FAT_OVERRIDE=none
// measures the plain code). Sanitizers grow every frame.
TEST(HmacSha256, UsesLessStackThanItWipes) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "sanitizers enlarge the frames this measures";
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  GTEST_SKIP() << "sanitizers enlarge the frames this measures";
#endif
#endif
  hash_as_sign_does();  // binds every symbol first
  paint_stack();
  hash_as_sign_does();
  const std::size_t used = painted_depth_used();
  EXPECT_GT(used, 0U) << "the measurement sees the call";
  EXPECT_LE(used, HmacSha256::kWipedStackBytes) << "Nettle's hashes used more stack than mac() wipes";
}
}  // namespace
}  // namespace okxvault
