// The types that carry secrets through ordinary memory wipe what they let go
// of: WipingString (request and reply bodies) and the session's ReadBuffer.
// Each check reads the bytes where the secret was, in memory still owned.

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstring>
#include <string>

#include "common/secret.hpp"
#include "daemon/api/response.hpp"
#include "daemon/net/read_buffer.hpp"

namespace okxvault {
namespace {
namespace http = boost::beast::http;

bool zero(const char* p, std::size_t n) {
  return std::all_of(p, p + n, [](char c) { return c == 0; });
}

TEST(WipingString, ClearWipesItsWholeCapacity) {
  WipingString text(std::string(100, 'S'));
  const char* at = text.data();
  const std::size_t capacity = text.capacity();
  text = "ab";  // shorter: the rest of the old text stays behind the end until cleared
  ASSERT_EQ(text.data(), at);
  text.clear();
  EXPECT_EQ(text.data(), at) << "clear keeps the block";
  EXPECT_TRUE(zero(at, capacity));
}

TEST(WipingString, AStringMovedFromIsLeftWiped) {
  WipingString small("sEcReT-9");  // in the short-string buffer, which a move copies
  const char* at = small.data();
  const WipingString moved(std::move(small));
  EXPECT_EQ(moved, "sEcReT-9");
  EXPECT_TRUE(zero(at, 8));

  WipingString target(std::string(64, 'x'));
  const char* old = target.data();
  const std::size_t old_capacity = target.capacity();
  WipingString source(std::string(80, 'y'));
  target = std::move(source);
  EXPECT_EQ(std::string_view(target), std::string(80, 'y'));
  // The block target held is wiped, whoever owns it now.
  if (source.data() == old) {
    EXPECT_TRUE(zero(old, old_capacity));
  }
  EXPECT_TRUE(source.empty());
}

TEST(WipingBody, BeastReadsAndWritesIt) {
  http::request_parser<WipingBody> parser;
  const std::string wire = "POST /v1/unlock HTTP/1.1\r\nContent-Length: 22\r\n\r\n{\"passphrase\":\"Pw-12\"}";
  boost::beast::error_code ec;
  std::size_t used = parser.put(boost::asio::buffer(wire), ec);
  used += parser.put(boost::asio::buffer(wire.data() + used, wire.size() - used), ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_TRUE(parser.is_done());
  const Request request = parser.release();
  EXPECT_EQ(request.body(), R"({"passphrase":"Pw-12"})");
  Response response{http::status::ok, 11};
  response.body() = std::string("{}");
  response.prepare_payload();
  EXPECT_EQ(response[http::field::content_length], "2");
}

std::string text_of(const ReadBuffer& buffer) {
  return {static_cast<const char*>(buffer.data().data()), buffer.size()};
}

void put(ReadBuffer& buffer, std::string_view text) {
  const auto room = buffer.prepare(text.size());
  std::memcpy(room.data(), text.data(), text.size());
  buffer.commit(text.size());
}

TEST(ReadBuffer, WhatIsConsumedIsWipedAtOnce) {
  ReadBuffer buffer(64);
  put(buffer, "SECRET-0123456789");
  const char* at = static_cast<const char*>(buffer.data().data());
  buffer.consume(7);
  EXPECT_TRUE(zero(at, 7));
  EXPECT_EQ(text_of(buffer), "0123456789");
  buffer.consume(100);
  EXPECT_EQ(buffer.size(), 0u);
  EXPECT_TRUE(zero(at, 17));
}

TEST(ReadBuffer, BytesMovedToMakeRoomAreWipedWhereTheyWere) {
  ReadBuffer buffer(64);
  put(buffer, "ABCDEFGH");
  const char* block = static_cast<const char*>(buffer.data().data());
  ASSERT_EQ(buffer.capacity(), 8u);
  buffer.consume(3);
  put(buffer, "xyz");  // no room at the end: "DEFGH" moves to the front
  ASSERT_EQ(buffer.data().data(), block) << "the same block";
  EXPECT_EQ(text_of(buffer), "DEFGHxyz");
  buffer.consume(8);
  EXPECT_TRUE(zero(block, 8));
}

TEST(ReadBuffer, GrowsUpToItsLimitKeepingWhatItHolds) {
  ReadBuffer buffer(32);
  put(buffer, "0123456789");
  buffer.consume(2);
  put(buffer, std::string(20, 'z'));
  EXPECT_EQ(text_of(buffer), "23456789" + std::string(20, 'z'));
  EXPECT_THROW(buffer.prepare(5), std::length_error);
}

}  // namespace
}  // namespace okxvault
