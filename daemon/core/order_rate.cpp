#include "daemon/core/order_rate.hpp"

#include <algorithm>
#include <numeric>

namespace okxvault {

bool OrderRate::admit(std::string_view who, std::uint32_t per_minute, std::uint32_t orders, std::int64_t now_ms) {
  const std::int64_t second = now_ms / 1000;
  const ExclusiveLock<Mutex> lock(mutex_);
  auto it = windows_.find(who);
  if (it == windows_.end()) it = windows_.emplace(std::string(who), Window{{}, second}).first;
  Window& window = it->second;
  // Forget the seconds that left the window; a clock that went back keeps the
  // newest second, so that it never forgets early.
  if (second > window.second) {
    const std::int64_t gone = std::min<std::int64_t>(second - window.second, kBuckets);
    for (std::int64_t s = 1; s <= gone; ++s)
      window.counts[static_cast<std::size_t>((window.second + s) % kBuckets)] = 0;
    window.second = second;
  }
  const std::uint64_t counted = std::accumulate(window.counts.begin(), window.counts.end(), std::uint64_t{0});
  if (counted + orders > per_minute) return false;
  window.counts[static_cast<std::size_t>(window.second % kBuckets)] += orders;
  return true;
}

}  // namespace okxvault
