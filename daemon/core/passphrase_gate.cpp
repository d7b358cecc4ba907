#include "daemon/core/passphrase_gate.hpp"

#include <algorithm>
#include <string>

#include "common/error.hpp"

namespace okxvault {

void PassphraseGate::run(const std::function<void()>& attempt, std::chrono::milliseconds& hold) {
  {
    std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    if (running_) throw Error(Code::too_many_attempts, "another passphrase attempt is in progress; try again later");
    if (now < not_before_) {
      const auto wait = std::chrono::ceil<std::chrono::milliseconds>(not_before_ - now);
      throw Error(Code::too_many_attempts,
                  "too many wrong passphrases; try again in " + std::to_string(wait.count()) + " ms");
    }
    running_ = true;
  }
  enum class Outcome { opened, wrong, other };  // other errors neither count nor reset
  const auto done = [&](Outcome outcome) {
    std::lock_guard lock(mutex_);
    running_ = false;
    if (outcome == Outcome::opened) failures_ = 0;
    if (outcome != Outcome::wrong) return;
    ++failures_;
    const unsigned doublings = std::min(failures_ - 1, 16u);
    hold = std::min(kFirstDelay * (1u << doublings), kMaxDelay);
    not_before_ = Clock::now() + hold;
  };
  try {
    attempt();
  } catch (const Error& e) {
    done(e.code() == Code::wrong_passphrase ? Outcome::wrong : Outcome::other);
    throw;
  } catch (...) {
    done(Outcome::other);
    throw;
  }
  done(Outcome::opened);
}

unsigned PassphraseGate::failures() const {
  std::lock_guard lock(mutex_);
  return failures_;
}

}  // namespace okxvault
