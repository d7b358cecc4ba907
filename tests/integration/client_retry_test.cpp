// When the client sends a request again after its kept-alive connection dropped:
// only where that cannot do anything twice. The real daemon sits behind a relay
// that loses the connection on cue, as a crash or a cut link would: after the
// daemon answered a request (the reply is lost), or after a reply while the
// connection is idle (the daemon's idle timeout).

#include <sodium.h>

#include <algorithm>

#include <gtest/gtest.h>
#include <atomic>
#include <mutex>

#include "client/client.hpp"
#include "tests/integration/relay.hpp"
#include "tests/support/code_of.hpp"
#include "tests/support/process.hpp"

namespace okxvault {
namespace {

// The daemon behind a relay that records each request it received and, on
// cue, loses the next reply or closes the connection after it.
class Relay {
 public:
  enum class Cue { none, lose_next_reply, close_after_next_reply };

  Relay(const std::filesystem::path& path, const std::filesystem::path& daemon)
      : relay_(path, daemon, [this](const test::Relay::Request& request, test::Relay::Response&) {
          {
            std::lock_guard lock(mutex_);
            received_.push_back(std::string(request.method_string()) + " " + std::string(request.target()));
          }
          switch (cue_.exchange(Cue::none)) {
            case Cue::lose_next_reply:
              return test::Relay::Next::lose;
            case Cue::close_after_next_reply:
              return test::Relay::Next::pass_then_close;
            case Cue::none:
              break;
          }
          return test::Relay::Next::pass;
        }) {}

  void cue(Cue cue) { cue_ = cue; }
  // "METHOD target" of every request the daemon received.
  std::vector<std::string> received() {
    std::lock_guard lock(mutex_);
    return received_;
  }
  // Waits until the relay has closed `n` client connections in all.
  void wait_closed(int n) { relay_.wait_closed(n); }

 private:
  std::atomic<Cue> cue_{Cue::none};
  std::mutex mutex_;
  std::vector<std::string> received_;
  test::Relay relay_;  // last: its thread calls back into the members above
};

proto::AddKeyRequest add_request(std::string name) {
  return {std::move(name), "0b5e2f7a-4c1d-4e8f-9a3b-6d2c8e1f0a47", SecretBytes::copy_of("RETRY-SECRET-3Hq8Zt2Lm6"),
          SecretBytes::copy_of("RETRY-PASS-Vn4-Kd9")};
}

class ClientRetryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    daemon_ = std::make_unique<test::Daemon>(dir_.path());
    relay_ = std::make_unique<Relay>(dir_ / "relay.sock", daemon_->socket());
    client_.status();  // the kept-alive connection the cue then breaks
  }

  std::size_t times_received(const std::string& request) {
    const auto all = relay_->received();
    return static_cast<std::size_t>(std::count(all.begin(), all.end(), request));
  }

  test::TempDir dir_;
  std::unique_ptr<test::Daemon> daemon_;
  std::unique_ptr<Relay> relay_;
  Client client_{(dir_ / "relay.sock").string()};
};

TEST_F(ClientRetryTest, AnAddWhoseReplyWasLostIsNotSentAgain) {
  relay_->cue(Relay::Cue::lose_next_reply);
  EXPECT_EQ(code_name(test::code_of([&] { client_.add(add_request("main")); })), "unreachable")
      << "an add sent again answers key_exists for the add that succeeded";
  EXPECT_EQ(times_received("POST /v1/keys"), 1u);
  EXPECT_EQ(Client(daemon_->socket().string()).list().size(), 1u) << "the add was done";
}

TEST_F(ClientRetryTest, ARevokeWhoseReplyWasLostIsNotSentAgain) {
  client_.add(add_request("main"));
  relay_->cue(Relay::Cue::lose_next_reply);
  EXPECT_EQ(code_name(test::code_of([&] { client_.revoke("main"); })), "unreachable")
      << "a revoke sent again answers key_not_found for the revoke that succeeded";
  EXPECT_EQ(times_received("DELETE /v1/keys/main"), 1u);
  EXPECT_TRUE(Client(daemon_->socket().string()).list().empty()) << "the revoke was done";
}

TEST_F(ClientRetryTest, ReadsAndSignsWhoseReplyWasLostAreSentOnceMore) {
  client_.add(add_request("main"));
  relay_->cue(Relay::Cue::lose_next_reply);
  EXPECT_EQ(client_.sign("main", {"GET", "/api/v5/account/balance", "", std::nullopt}).headers.size(), 4u);
  EXPECT_EQ(times_received("POST /v1/keys/main/sign"), 2u);
  relay_->cue(Relay::Cue::lose_next_reply);
  EXPECT_FALSE(client_.ws_login("main").empty());
  EXPECT_EQ(times_received("POST /v1/keys/main/ws-login"), 2u);
  relay_->cue(Relay::Cue::lose_next_reply);
  EXPECT_EQ(client_.list().size(), 1u);
  EXPECT_EQ(times_received("GET /v1/keys"), 2u);
}

// The daemon closed the connection while idle: the next request cannot be
// written whole, so no handler saw it, and it is sent again whatever it is.
TEST_F(ClientRetryTest, ARequestOnAConnectionClosedWhileIdleIsSentOnANewOne) {
  relay_->cue(Relay::Cue::close_after_next_reply);
  client_.status();
  relay_->wait_closed(1);
  EXPECT_EQ(client_.add(add_request("main")).name, "main");
  EXPECT_EQ(times_received("POST /v1/keys"), 1u);
  relay_->cue(Relay::Cue::close_after_next_reply);
  client_.status();
  relay_->wait_closed(2);
  client_.revoke("main");
  EXPECT_EQ(times_received("DELETE /v1/keys/main"), 1u);
}

}  // namespace
}  // namespace okxvault
