#pragma once
// Guessing the vault passphrase is slow by design: one attempt at a time (each
// is an Argon2id hash, heavy in CPU and memory), and after the k-th consecutive
// failure no attempt is evaluated for 250 ms * 2^(k-1), capped at 30 s. A
// success resets the count: so every attempt run here checks the passphrase it
// is given, whatever state the vault is in (an unlock of an unlocked vault too). The gate only counts and times; the
// caller holds the failing reply for the returned delay, so the attacker waits either way. Thread-safe.

#include <chrono>
#include <functional>
#include <mutex>

namespace okxvault {

class PassphraseGate {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kFirstDelay{250};
  static constexpr std::chrono::milliseconds kMaxDelay{30'000};

  // Runs `attempt` unless another is running or the delay since the last failure
  // has not passed: then Error(too_many_attempts) saying how long to wait, and
  // `attempt` is not run. If `attempt` throws Error(wrong_passphrase), the
  // failure is counted and `hold` is set to the new delay before rethrowing.
  void run(const std::function<void()>& attempt, std::chrono::milliseconds& hold);

  unsigned failures() const;

 private:
  mutable std::mutex mutex_;
  bool running_ = false;
  unsigned failures_ = 0;
  Clock::time_point not_before_{};
};

}  // namespace okxvault
