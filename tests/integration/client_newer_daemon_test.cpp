// The C++ client against a newer daemon: PROTOCOL.md has clients ignore fields
// they do not know in any reply. The real daemon sits behind a relay that adds
// such a field to every JSON object of every reply it passes on, as a later
// version of the protocol might; every call of the client still works. The
// daemon itself keeps refusing unknown fields in requests.

#include <sodium.h>

#include <gtest/gtest.h>
#include <atomic>
#include <boost/json.hpp>

#include "client/client.hpp"
#include "tests/integration/relay.hpp"
#include "tests/support/code_of.hpp"
#include "tests/support/process.hpp"

namespace okxvault {
namespace {
namespace json = boost::json;

// A member no version of the protocol defines, with a value of every JSON kind
// a client might trip over.
void add_unknown_fields(json::value& value) {
  if (json::object* object = value.if_object()) {
    for (auto& [key, member] : *object) {
      if (key != "headers") add_unknown_fields(member);  // a sign reply's headers are data, not fields
    }
    object->emplace("added_in_a_later_version", json::parse(R"({"n":1,"list":[true,null,"x"],"o":{}})"));
  } else if (json::array* array = value.if_array()) {
    for (json::value& item : *array) add_unknown_fields(item);
  }
}

// The daemon behind a relay that adds unknown fields to every JSON reply body.
class Relay {
 public:
  Relay(const std::filesystem::path& path, const std::filesystem::path& daemon)
      : relay_(path, daemon, [this](const test::Relay::Request&, test::Relay::Response& response) {
          if (!response.body().empty()) {
            json::value body = json::parse(response.body());
            add_unknown_fields(body);
            response.body() = json::serialize(body);
            response.prepare_payload();
            ++rewritten_;
          }
          return test::Relay::Next::pass;
        }) {}

  int rewritten() const { return rewritten_; }

 private:
  std::atomic<int> rewritten_{0};
  test::Relay relay_;  // last: its thread calls back into the members above
};

proto::AddKeyRequest add_request(std::string name) {
  return {std::move(name), "6a1f3c9e-2b7d-4e58-a0c4-9d3e7f1b2a68", SecretBytes::copy_of("NEWER-SECRET-8Kp2Wq5Rt7"),
          SecretBytes::copy_of("NEWER-PASS-Jd3-Hs6")};
}

class ClientNewerDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_GE(sodium_init(), 0); }

  test::TempDir dir_;
  test::Daemon daemon_{dir_.path()};
  Relay relay_{dir_ / "relay.sock", daemon_.socket()};
  Client client_{(dir_ / "relay.sock").string()};
};

TEST_F(ClientNewerDaemonTest, EveryReplyWithFieldsTheClientDoesNotKnowIsAccepted) {
  EXPECT_FALSE(client_.status().locked);
  EXPECT_EQ(client_.add(add_request("main")).name, "main");
  EXPECT_EQ(client_.list().size(), 1u);

  const proto::SignReply signed_request = client_.sign("main", {"GET", "/api/v5/account/balance", "", std::nullopt});
  EXPECT_EQ(signed_request.headers.size(), 4u) << "the headers object is passed on as the daemon wrote it";
  EXPECT_NE(client_.ws_login("main").find("added_in_a_later_version"), std::string::npos);

  proto::GrantInfo grant;
  grant.name = "0";
  grant.read_only = true;
  const auto set = client_.set_grants("main", {grant});
  ASSERT_EQ(set.size(), 1u);
  EXPECT_TRUE(set[0].read_only);
  const auto read = client_.grants("main");
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].id.value_or(1), 0u);

  EXPECT_TRUE(client_.lock().locked);
  EXPECT_FALSE(client_.unlock_with_key_file().locked);

  // An error reply with unknown fields still carries its code.
  EXPECT_EQ(code_name(test::code_of([&] { client_.revoke("no-such-key"); })), "key_not_found");
  client_.revoke("main");
  EXPECT_EQ(relay_.rewritten(), 10) << "every reply but the revoke's, which has no body";
}

TEST_F(ClientNewerDaemonTest, TheDaemonStillRefusesUnknownFieldsInRequests) {
  Client direct(daemon_.socket().string());
  direct.add(add_request("main"));
  for (const auto& [method, target, body] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"POST", "/v1/keys/main/sign", R"({"method":"GET","path":"/api/v5/account/balance","extra":1})"},
           {"POST", "/v1/keys/main/ws-login", R"({"extra":1})"},
           {"PUT", "/v1/keys/main/grants", R"({"grants":[],"extra":1})"},
           {"PUT", "/v1/keys/main/grants", R"({"grants":[{"user":"0","extra":1}]})"},
       }) {
    const Client::RawReply reply = direct.request(method, target, body);
    EXPECT_EQ(reply.status, 400) << method << ' ' << target << ' ' << body << ": " << reply.body;
    EXPECT_NE(reply.body.find("unknown field ("), std::string::npos) << reply.body;
    EXPECT_EQ(reply.body.find("extra"), std::string::npos) << "the unknown field is named: " << reply.body;
  }
}

}  // namespace
}  // namespace okxvault
