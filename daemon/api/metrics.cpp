#include "daemon/api/metrics.hpp"

#include <algorithm>
#include <cstdio>

namespace okxvault {

static_assert(static_cast<std::size_t>(Code::protocol_error) < 64, "Metrics::kMaxCodes is too small");

namespace {

void line(std::string& out, const char* format, auto... args) {
  char text[256];
  const int n = std::snprintf(text, sizeof text, format, args...);
  out.append(text, static_cast<std::size_t>(std::clamp(n, 0, static_cast<int>(sizeof text) - 1)));
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  line(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

}  // namespace

void Metrics::count_error(Code code) noexcept {
  const auto index = static_cast<std::size_t>(code);
  if (index < errors_.size()) errors_[index].fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t Metrics::errors(Code code) const noexcept {
  const auto index = static_cast<std::size_t>(code);
  return index < errors_.size() ? errors_[index].load(std::memory_order_relaxed) : 0;
}

void Metrics::observe_request(std::chrono::steady_clock::duration elapsed) noexcept {
  const auto ns = static_cast<std::uint64_t>(
      std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()));
  const auto bucket = std::lower_bound(kBucketsUs.begin(), kBucketsUs.end(), (ns + 999) / 1000) - kBucketsUs.begin();
  buckets_[static_cast<std::size_t>(bucket)].fetch_add(1, std::memory_order_relaxed);
  latency_sum_ns_.fetch_add(ns, std::memory_order_relaxed);
}

std::string Metrics::render(const std::vector<KeyCounts>& keys, bool locked,
                            const std::array<std::uint64_t, kLimitRules>& limit_refusals) const {
  std::string out;
  out.reserve(1024 + keys.size() * 128);
  header(out, "okxvault_locked", "gauge", "1 while the vault is locked (no key can sign), else 0.");
  line(out, "okxvault_locked %d\n", locked ? 1 : 0);
  header(out, "okxvault_keys", "gauge", "Keys in the vault.");
  line(out, "okxvault_keys %zu\n", keys.size());
  header(out, "okxvault_open_connections", "gauge", "Client connections open now.");
  line(out, "okxvault_open_connections %lld\n", static_cast<long long>(connections()));

  header(out, "okxvault_key_signs_total", "counter",
         "Signatures made with the key (REST signs and WebSocket logins), kept across restarts.");
  for (const KeyCounts& key : keys)
    line(out, "okxvault_key_signs_total{key=\"%s\"} %llu\n", key.name.c_str(),
         static_cast<unsigned long long>(key.signs));
  header(out, "okxvault_key_denials_total", "counter",
         "Signs and WebSocket logins with the key refused by its grants, policy or expiry, since start.");
  for (const KeyCounts& key : keys)
    line(out, "okxvault_key_denials_total{key=\"%s\"} %llu\n", key.name.c_str(),
         static_cast<unsigned long long>(key.denials));

  header(
      out, "okxvault_limit_refusals_total", "counter",
      "Signs and WebSocket logins refused by a grant's trading limits, by the limit that refused them, since start.");
  for (std::size_t i = 0; i < kLimitRules; ++i) {
    const std::string_view rule = rule_name(static_cast<LimitRule>(i));
    line(out, "okxvault_limit_refusals_total{rule=\"%.*s\"} %llu\n", static_cast<int>(rule.size()), rule.data(),
         static_cast<unsigned long long>(limit_refusals[i]));
  }

  header(out, "okxvault_errors_total", "counter", "Error replies by error code, since start.");
  for (std::size_t i = 0; i < errors_.size(); ++i) {
    const std::uint64_t n = errors_[i].load(std::memory_order_relaxed);
    if (n != 0) {
      line(out, "okxvault_errors_total{code=\"%.*s\"} %llu\n", static_cast<int>(code_name(static_cast<Code>(i)).size()),
           code_name(static_cast<Code>(i)).data(), static_cast<unsigned long long>(n));
    }
  }

  header(out, "okxvault_request_duration_seconds", "histogram",
         "Time from a request read to its reply written, since start.");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    if (i < kBucketsUs.size()) {
      line(out, "okxvault_request_duration_seconds_bucket{le=\"%g\"} %llu\n", static_cast<double>(kBucketsUs[i]) / 1e6,
           static_cast<unsigned long long>(cumulative));
    } else {
      line(out, "okxvault_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
           static_cast<unsigned long long>(cumulative));
    }
  }
  line(out, "okxvault_request_duration_seconds_sum %.9f\n",
       static_cast<double>(latency_sum_ns_.load(std::memory_order_relaxed)) / 1e9);
  line(out, "okxvault_request_duration_seconds_count %llu\n", static_cast<unsigned long long>(cumulative));
  return out;
}

}  // namespace okxvault
