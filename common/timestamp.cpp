#include "common/timestamp.hpp"

#include <cstdint>

#include "common/error.hpp"

namespace okxvault {

namespace {

// Writes `value` as exactly `width` decimal digits at `out`.
void put_digits(char* out, unsigned value, int width) {
  for (int i = width - 1; i >= 0; --i, value /= 10) out[i] = static_cast<char>('0' + value % 10);
}

}  // namespace

// Writes the digits in place: no format string, no locale, no allocation but
// the result's.
std::string iso8601_ms(Clock::time_point time) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(time);
  const auto day = floor<days>(ms);
  const year_month_day date{day};
  const hh_mm_ss clock{ms - day};
  std::string text = "0000-00-00T00:00:00.000Z";
  put_digits(&text[0], static_cast<unsigned>(static_cast<int>(date.year())), 4);
  put_digits(&text[5], static_cast<unsigned>(date.month()), 2);
  put_digits(&text[8], static_cast<unsigned>(date.day()), 2);
  put_digits(&text[11], static_cast<unsigned>(clock.hours().count()), 2);
  put_digits(&text[14], static_cast<unsigned>(clock.minutes().count()), 2);
  put_digits(&text[17], static_cast<unsigned>(clock.seconds().count()), 2);
  put_digits(&text[20], static_cast<unsigned>(clock.subseconds().count()), 3);
  return text;
}

std::int64_t unix_ms(Clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

std::string iso8601_ms(std::int64_t unix_ms) {
  return iso8601_ms(Clock::time_point{std::chrono::milliseconds{unix_ms}});
}

std::string epoch_seconds(Clock::time_point time) {
  using namespace std::chrono;
  return std::to_string(duration_cast<seconds>(time.time_since_epoch()).count());
}

static_assert(std::chrono::sys_days{std::chrono::year{kFirstYear} / 1 / 1}.time_since_epoch().count() == 0);
static_assert(std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::sys_days{std::chrono::year{kLastYear + 1} / 1 / 1}.time_since_epoch())
                      .count() == kEndUnixMs,
              "kEndUnixMs is where the year after kLastYear begins");
static_assert(kEndUnixMs < std::chrono::duration_cast<std::chrono::milliseconds>(Clock::duration::max()).count(),
              "the clock holds every accepted time");

bool in_clock_range(std::int64_t unix_ms) { return unix_ms >= 0 && unix_ms < kEndUnixMs; }

namespace {

constexpr const char* kOutOfRange = "timestamp must lie between the years 1970 and 2200";

// Reads exactly `width` decimal digits at `pos`.
int digits(std::string_view text, std::size_t pos, std::size_t width) {
  int value = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') {
      throw Error(Code::bad_request, "timestamp must look like 2020-12-08T09:08:57.715Z");
    }
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

}  // namespace

Clock::time_point parse_iso8601_ms(std::string_view text) {
  using namespace std::chrono;
  constexpr std::string_view shape = "0000-00-00T00:00:00.000Z";
  bool ok = text.size() == shape.size();
  for (std::size_t i = 0; ok && i < shape.size(); ++i) {
    if (shape[i] != '0' && text[i] != shape[i]) ok = false;
  }
  if (!ok) throw Error(Code::bad_request, "timestamp must look like 2020-12-08T09:08:57.715Z");
  const year_month_day date{year{digits(text, 0, 4)}, month{static_cast<unsigned>(digits(text, 5, 2))},
                            day{static_cast<unsigned>(digits(text, 8, 2))}};
  const int h = digits(text, 11, 2), m = digits(text, 14, 2), s = digits(text, 17, 2);
  if (!date.ok() || h > 23 || m > 59 || s > 59) {
    throw Error(Code::bad_request, "timestamp is not a valid date and time");
  }
  if (static_cast<int>(date.year()) < kFirstYear || static_cast<int>(date.year()) > kLastYear) {
    throw Error(Code::bad_request, kOutOfRange);
  }
  return sys_days{date} + hours{h} + minutes{m} + seconds{s} + milliseconds{digits(text, 20, 3)};
}

Clock::time_point parse_epoch_seconds(std::string_view text) {
  if (text.empty() || text.size() > 12) {
    throw Error(Code::bad_request, "timestamp must be Unix epoch seconds, e.g. 1538054050");
  }
  std::int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      throw Error(Code::bad_request, "timestamp must be Unix epoch seconds, e.g. 1538054050");
    }
    value = value * 10 + (c - '0');
  }
  if (!in_clock_range(value * 1000)) throw Error(Code::bad_request, kOutOfRange);
  return Clock::time_point{std::chrono::seconds{value}};
}

}  // namespace okxvault
