// GET /v1/metrics on the real daemon: every counter moves by exactly what the
// requests made in between should cause, and only admins may read them.

#include <unistd.h>

#include <gtest/gtest.h>
#include <map>
#include <sstream>
#include <thread>

#include "client/client.hpp"
#include "tests/support/process.hpp"

namespace okxvault {
namespace {

constexpr std::string_view kSecret = "0F1E2D3C4B5A69788796A5B4C3D2E1F0";
constexpr std::string_view kPassphrase = "Metrics#Pass-7";
constexpr const char* kSignBody = R"({"method":"GET","path":"/api/v5/account/balance?ccy=BTC"})";
constexpr const char* kDurationCount = "okxvault_request_duration_seconds_count";
constexpr const char* kDurationInf = "okxvault_request_duration_seconds_bucket{le=\"+Inf\"}";

using Samples = std::map<std::string, double>;

// The exposition format: "# ..." comments, then "name{labels} value" lines.
Samples parse(const std::string& text) {
  Samples samples;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line.front() == '#') continue;
    const std::size_t space = line.rfind(' ');
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: reads the metrics as another uid";
    ::chmod(dir_.path().c_str(), 0711);  // a non-admin reaches the socket; the state dir stays 0700
    daemon_ = std::make_unique<test::Daemon>(dir_.path(), std::vector<std::string>{"--socket-group", "nogroup"});
    admin_.emplace(daemon_->socket().string());
    admin_->add({"main", "ak-5d1c0e9b7a3f", SecretBytes::copy_of(kSecret), SecretBytes::copy_of(kPassphrase), false});
  }

  Samples metrics() {
    const Client::RawReply reply = admin_->request("GET", "/v1/metrics");
    EXPECT_EQ(reply.status, 200) << reply.body;
    return parse(reply.body);
  }

  int status_of(std::string_view method, std::string_view target, std::string_view body = {}) {
    return admin_->request(method, target, body).status;
  }

  // What a peer that is not an admin gets: curl as nobody.
  test::Output as_nobody(const std::string& target) {
    return test::run({"/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/curl", "-s",
                      "-w", "\n%{http_code}", "--unix-socket", daemon_->socket().string(),
                      "http://okx-vault" + target});
  }

  test::TempDir dir_;
  std::unique_ptr<test::Daemon> daemon_;
  std::optional<Client> admin_;
};

TEST_F(MetricsTest, CountersMoveExactlyWithSignsDenialsAndErrors) {
  const Samples before = metrics();
  EXPECT_EQ(before.at("okxvault_locked"), 0);
  EXPECT_EQ(before.at("okxvault_keys"), 1);
  EXPECT_EQ(before.at("okxvault_key_signs_total{key=\"main\"}"), 0);
  EXPECT_EQ(before.at("okxvault_key_denials_total{key=\"main\"}"), 0);

  for (int i = 0; i < 3; ++i) EXPECT_EQ(status_of("POST", "/v1/keys/main/sign", kSignBody), 200);
  EXPECT_EQ(status_of("POST", "/v1/keys/main/ws-login"), 200);
  // Built-in deny: an admin without a grant still may not withdraw.
  EXPECT_EQ(status_of("POST", "/v1/keys/main/sign", R"({"method":"POST","path":"/api/v5/asset/withdrawal"})"), 403);
  EXPECT_EQ(status_of("POST", "/v1/keys/nope/sign", kSignBody), 404);
  EXPECT_EQ(status_of("POST", "/v1/keys/main/sign", "{not json"), 400);
  EXPECT_EQ(status_of("DELETE", "/v1/metrics"), 405);
  const Samples after = metrics();

  EXPECT_EQ(after.at("okxvault_key_signs_total{key=\"main\"}"), 4);  // three signs and one ws-login
  EXPECT_EQ(after.at("okxvault_key_denials_total{key=\"main\"}"), 1);
  EXPECT_EQ(after.at("okxvault_errors_total{code=\"policy_denied\"}"), 1);
  EXPECT_EQ(after.at("okxvault_errors_total{code=\"key_not_found\"}"), 1);
  EXPECT_EQ(after.at("okxvault_errors_total{code=\"invalid_json\"}"), 1);
  EXPECT_EQ(after.at("okxvault_errors_total{code=\"method_not_allowed\"}"), 1);
  EXPECT_FALSE(after.contains("okxvault_errors_total{code=\"forbidden\"}"));
  // Eight requests in between, and the first metrics request itself.
  EXPECT_EQ(after.at(kDurationCount) - before.at(kDurationCount), 9);
  EXPECT_EQ(after.at(kDurationInf), after.at(kDurationCount));
  EXPECT_GT(after.at("okxvault_request_duration_seconds_sum"), before.at("okxvault_request_duration_seconds_sum"));
}

TEST_F(MetricsTest, HistogramBucketsAreCumulative) {
  for (int i = 0; i < 5; ++i) status_of("POST", "/v1/keys/main/sign", kSignBody);
  const Samples samples = metrics();
  const std::string prefix = "okxvault_request_duration_seconds_bucket{le=\"";
  std::map<double, double> buckets;  // upper bound in seconds -> requests at most that long
  for (const auto& [name, value] : samples) {
    if (!name.starts_with(prefix) || name == kDurationInf) continue;
    buckets[std::stod(name.substr(prefix.size()))] = value;
  }
  ASSERT_EQ(buckets.size(), 15u);
  EXPECT_DOUBLE_EQ(buckets.begin()->first, 10e-6);
  EXPECT_DOUBLE_EQ(buckets.rbegin()->first, 1.0);
  double previous = 0;
  for (const auto& [bound, count] : buckets) {
    EXPECT_GE(count, previous) << "le=" << bound;
    previous = count;
  }
  EXPECT_LE(previous, samples.at(kDurationInf));
  EXPECT_GE(samples.at(kDurationCount), 6);
}

TEST_F(MetricsTest, OpenConnectionsCountsEveryClientConnection) {
  const auto open_connections = [&] { return metrics().at("okxvault_open_connections"); };
  const auto settles_at = [&](double expected) {
    for (int i = 0; i < 200 && open_connections() != expected; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return open_connections();
  };
  EXPECT_EQ(settles_at(1), 1);
  {
    Client second(daemon_->socket().string());
    second.status();  // connects, and stays connected until destroyed
    EXPECT_EQ(settles_at(2), 2);
  }
  EXPECT_EQ(settles_at(1), 1);
}

TEST_F(MetricsTest, NonAdminsAreRefusedAndCounted) {
  const test::Output out = as_nobody("/v1/metrics");
  const std::size_t newline = out.out.rfind('\n');
  ASSERT_NE(newline, std::string::npos) << out.err;
  EXPECT_EQ(out.out.substr(newline + 1), "403");
  EXPECT_NE(out.out.find("\"forbidden\""), std::string::npos);
  EXPECT_EQ(out.out.find("okxvault_"), std::string::npos);
  EXPECT_EQ(metrics().at("okxvault_errors_total{code=\"forbidden\"}"), 1);
}

}  // namespace
}  // namespace okxvault
