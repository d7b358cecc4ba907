#pragma once
// Timestamps as OKX and this protocol write them: ISO 8601 UTC with milliseconds
// (2020-12-08T09:08:57.715Z) and Unix epoch seconds (1538054050). Pure and
// thread-safe.
//
// Every time the protocol, the store and the CLI accept lies in the years 1970
// to 2200 (PROTOCOL.md): from 1970-01-01T00:00:00.000Z up to, not including,
// kEndUnixMs. The parsers and in_clock_range apply this one bound, so a time
// one of them accepts is accepted by all, and none can wrap around the
// nanosecond clock into another instant.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace okxvault {

using Clock = std::chrono::system_clock;

inline constexpr int kFirstYear = 1970;
inline constexpr int kLastYear = 2200;
// 2201-01-01T00:00:00.000Z in Unix milliseconds: the first time not accepted.
inline constexpr std::int64_t kEndUnixMs = 7'289'654'400'000;

std::string iso8601_ms(Clock::time_point time);     // 2020-12-08T09:08:57.715Z
std::string epoch_seconds(Clock::time_point time);  // 1538054050
// Times as the store keeps them: Unix milliseconds.
std::int64_t unix_ms(Clock::time_point time);
// Whether Unix milliseconds lie in the years kFirstYear to kLastYear.
bool in_clock_range(std::int64_t unix_ms);
std::string iso8601_ms(std::int64_t unix_ms);
// Throw Error(bad_request) for anything else, and for a time outside the years
// kFirstYear to kLastYear.
Clock::time_point parse_iso8601_ms(std::string_view text);
Clock::time_point parse_epoch_seconds(std::string_view text);

}  // namespace okxvault
