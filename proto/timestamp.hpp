#pragma once
// Timestamps as OKX and this protocol write them: ISO 8601 UTC with milliseconds
// (2020-12-08T09:08:57.715Z) and Unix epoch seconds (1538054050). Parsers are
// strict and accept years 1970 to 2200 only, so no value can wrap around the
// nanosecond clock into another instant. Pure and thread-safe.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace okxvault {

using Clock = std::chrono::system_clock;

std::string iso8601_ms(Clock::time_point time);     // 2020-12-08T09:08:57.715Z
std::string epoch_seconds(Clock::time_point time);  // 1538054050
// Times as the store keeps them: Unix milliseconds.
std::int64_t unix_ms(Clock::time_point time);
// Unix milliseconds from 1970 up to the end of 2199: what the clock holds without wrapping.
bool in_clock_range(std::int64_t unix_ms);
std::string iso8601_ms(std::int64_t unix_ms);
// Throw Error(bad_request) for anything else.
Clock::time_point parse_iso8601_ms(std::string_view text);
Clock::time_point parse_epoch_seconds(std::string_view text);

}  // namespace okxvault
