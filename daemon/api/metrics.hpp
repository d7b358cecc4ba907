#pragma once
// The daemon's counters for GET /v1/metrics, in the Prometheus text format:
// errors by code, the time requests spend in the daemon, open connections.
// Signs and denials per key are counted with each key in the Vault, not here.
// Every update is one relaxed atomic add, so counting never makes a request
// wait for another. Thread-safe.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "daemon/core/vault.hpp"

namespace okxvault {

class Metrics {
 public:
  void count_error(Code code) noexcept;
  // From the moment a request has been read to the moment its reply is written.
  void observe_request(std::chrono::steady_clock::duration elapsed) noexcept;
  void connection_opened() noexcept { connections_.fetch_add(1, std::memory_order_relaxed); }
  void connection_closed() noexcept { connections_.fetch_sub(1, std::memory_order_relaxed); }

  std::uint64_t errors(Code code) const noexcept;
  std::int64_t connections() const noexcept { return connections_.load(std::memory_order_relaxed); }

  // Every metric, with the per-key counts, the lock state and the trading
  // limits' refusals given by the caller.
  std::string render(const std::vector<KeyCounts>& keys, bool locked,
                     const std::array<std::uint64_t, kLimitRules>& limit_refusals) const;

  // Upper bounds of the latency histogram's buckets, in microseconds.
  static constexpr std::array<std::uint64_t, 15> kBucketsUs{10,     25,     50,      100,     250,
                                                            500,    1'000,  2'500,   5'000,   10'000,
                                                            25'000, 50'000, 100'000, 250'000, 1'000'000};

 private:
  static constexpr std::size_t kMaxCodes = 64;
  std::array<std::atomic<std::uint64_t>, kMaxCodes> errors_{};
  std::array<std::atomic<std::uint64_t>, kBucketsUs.size() + 1> buckets_{};  // the last one is +Inf
  std::atomic<std::uint64_t> latency_sum_ns_{0};
  std::atomic<std::int64_t> connections_{0};
};

}  // namespace okxvault
