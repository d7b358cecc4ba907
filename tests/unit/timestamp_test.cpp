// Times: one bound, the years 1970 to 2200, for both wire forms and for the
// Unix milliseconds the store keeps.

#include "common/timestamp.hpp"

#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"

namespace okxvault {
namespace {

Code code_of_parse(void (*parse)(const std::string&), const std::string& text) {
  try {
    parse(text);
  } catch (const Error& e) {
    return e.code();
  }
  return Code::internal;  // accepted
}

void iso(const std::string& text) { parse_iso8601_ms(text); }
void epoch(const std::string& text) { parse_epoch_seconds(text); }

TEST(Timestamp, TheLastAcceptedTimeIsAcceptedInEveryForm) {
  const auto last_iso = parse_iso8601_ms("2200-12-31T23:59:59.999Z");
  EXPECT_EQ(unix_ms(last_iso), kEndUnixMs - 1);
  EXPECT_TRUE(in_clock_range(unix_ms(last_iso))) << "what the parser accepts, the store must accept too";
  EXPECT_EQ(iso8601_ms(unix_ms(last_iso)), "2200-12-31T23:59:59.999Z");

  const auto last_epoch = parse_epoch_seconds(std::to_string(kEndUnixMs / 1000 - 1));
  EXPECT_EQ(epoch_seconds(last_epoch), "7289654399");
  EXPECT_TRUE(in_clock_range(unix_ms(last_epoch)));
  EXPECT_EQ(iso8601_ms(unix_ms(last_epoch)), "2200-12-31T23:59:59.000Z");
}

TEST(Timestamp, TheFirstTimeAfterTheBoundIsRefusedInEveryForm) {
  EXPECT_EQ(code_of_parse(iso, "2201-01-01T00:00:00.000Z"), Code::bad_request);
  EXPECT_EQ(code_of_parse(epoch, std::to_string(kEndUnixMs / 1000)), Code::bad_request);
  EXPECT_FALSE(in_clock_range(kEndUnixMs));
}

TEST(Timestamp, TheBoundStartsIn1970) {
  EXPECT_EQ(unix_ms(parse_iso8601_ms("1970-01-01T00:00:00.000Z")), 0);
  EXPECT_EQ(unix_ms(parse_epoch_seconds("0")), 0);
  EXPECT_TRUE(in_clock_range(0));
  EXPECT_EQ(code_of_parse(iso, "1969-12-31T23:59:59.999Z"), Code::bad_request);
  EXPECT_FALSE(in_clock_range(-1));
}

TEST(Timestamp, EveryYearTheParserAcceptsIsInRange) {
  for (int year = kFirstYear; year <= kLastYear; ++year) {
    for (const char* end_of_year : {"-01-01T00:00:00.000Z", "-12-31T23:59:59.999Z"}) {
      const std::string text = std::to_string(year) + end_of_year;
      EXPECT_TRUE(in_clock_range(unix_ms(parse_iso8601_ms(text)))) << text;
    }
  }
}

}  // namespace
}  // namespace okxvault
