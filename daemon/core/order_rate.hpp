#pragma once
// Orders signed per minute under each grant that limits them: a sliding window
// of 61 one-second buckets, so that a refusal looks back at least a full
// minute. Thread-safe: one short critical section per admitted request, no I/O.

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/thread_annotations.hpp"

namespace okxvault {

class OrderRate {
 public:
  // Counts `orders` for `who` (a key and a grant) at `now_ms` if that keeps the
  // last minute's count at or under `per_minute`; false, and nothing counted,
  // if not.
  bool admit(std::string_view who, std::uint32_t per_minute, std::uint32_t orders, std::int64_t now_ms);

 private:
  static constexpr std::size_t kBuckets = 61;
  struct Window {
    std::array<std::uint32_t, kBuckets> counts{};
    std::int64_t second = 0;  // of the newest bucket
  };

  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view who) const noexcept { return std::hash<std::string_view>{}(who); }
  };
  Mutex mutex_;
  std::unordered_map<std::string, Window, Hash, std::equal_to<>> windows_ GUARDED_BY(mutex_);
};

}  // namespace okxvault
