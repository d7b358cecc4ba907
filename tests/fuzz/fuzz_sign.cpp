// A sign request as a bot sends it: method, path and body, through the daemon's
// own checks (validate_sign_request) and policy (decide) under one of a few
// grants. The input is a flags byte (bit 0: POST, else GET; bits 1-2: the
// grant), then the path up to the first newline, then the body.
//
// Invariants, for every request the daemon would sign: OKX's reading of the
// signed tail METHOD + path + body (okx_reading.hpp, written independently)
// gives back the same method, path and body; no other cut of path + body into
// two is also accepted; a web stack reads the path as the policy did; and that
// reading is never a built-in denied endpoint nor outside what the grant allows.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "daemon/core/policy.hpp"
#include "tests/fuzz/okx_reading.hpp"
#include "tests/fuzz/require.hpp"

namespace okxvault::fuzz {
namespace {

const Peer kBot{1000, 1000, 1, {1000}};

enum class Scenario { admin, no_rules, trade_only, deny_asset };

std::vector<Grant> grants_for(Scenario scenario) {
  Grant grant{Grant::Kind::user, 1000, "bot"};
  switch (scenario) {
    case Scenario::admin:
      return {};
    case Scenario::no_rules:
      break;
    case Scenario::trade_only:
      grant.allow = {Rule::parse("POST /api/v5/trade/"), Rule::parse("GET /api/v5/account/")};
      break;
    case Scenario::deny_asset:
      grant.deny = {Rule::parse("* /api/v5/asset/"), Rule::parse("* /api/v5/account/set-leverage")};
      break;
  }
  return {grant};
}

// Whether the daemon signs it: its checks pass and the policy allows. A refusal
// is bad_request from the checks or policy_denied from the policy, nothing else.
bool daemon_signs(const std::vector<Grant>& grants, bool admin, std::string_view method, std::string_view path,
                  std::string_view body) {
  try {
    validate_sign_request(method, path, body);
  } catch (const Error& e) {
    require(e.code() == Code::bad_request, "the checks refuse with bad_request");
    return false;
  }
  try {
    return decide(grants, kBot, admin, method, path, body, false, 0).allowed;
  } catch (const Error& e) {
    require(e.code() == Code::policy_denied && e.rule() == "canonical-path", "decide refuses as canonical-path");
    return false;
  }
}

// Accepted by the grammar alone, whatever the policy says.
bool well_formed(std::string_view method, std::string_view path, std::string_view body) {
  try {
    validate_sign_request(method, path, body);
    canonical_path(path);
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace
}  // namespace okxvault::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace okxvault;
  using namespace okxvault::fuzz;
  if (size == 0) return 0;
  const std::string_view method = (data[0] & 1) != 0 ? "POST" : "GET";
  const auto scenario = static_cast<Scenario>((data[0] >> 1) & 3);
  const std::string_view rest = as_text(data + 1, size - 1);
  const std::size_t newline = rest.find('\n');
  const std::string_view path = rest.substr(0, newline);
  const std::string_view body = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);

  const bool admin = scenario == Scenario::admin;
  const std::vector<Grant> grants = grants_for(scenario);
  const bool signs = daemon_signs(grants, admin, method, path, body);
  if (signs) {
    require(well_formed(method, path, body), "what the daemon signs is well-formed");
    const std::string tail = std::string(method) + std::string(path) + std::string(body);
    const auto reading = read_signed(tail);
    require(reading.has_value(), "OKX reads a method");
    require(reading->method == method && reading->path == path && reading->body == body,
            "OKX reads the signed string as the request the policy saw");
    require(okx_request_path_ok(reading->path), "OKX's reading of the path is in its grammar");
    const std::string seen = web_stack_reading(reading->path);
    require(seen == canonical_path(path), "a web stack reads the path the policy read");
    require(!builtin_denied(reading->method, seen), "no signed request reads as a POST to a built-in denied endpoint");
    if (scenario == Scenario::trade_only) {
      require(seen.starts_with("/api/v5/trade/") || (method == "GET" && seen.starts_with("/api/v5/account/")),
              "a trade-only grant signs only what its rules allow");
    }
    if (scenario == Scenario::deny_asset) {
      require(!seen.starts_with("/api/v5/asset/") && !seen.starts_with("/api/v5/account/set-leverage"),
              "a grant's deny rules hold");
    }
  }

  // The one-reading property itself: at most one cut of path + body is well-formed.
  const std::string whole = std::string(path) + std::string(body);
  if (whole.size() <= 512) {
    std::size_t readings = 0;
    for (std::size_t cut = 0; cut <= whole.size(); ++cut) {
      const std::string_view head = std::string_view(whole).substr(0, cut);
      if (well_formed(method, head, std::string_view(whole).substr(cut))) {
        ++readings;
        if (signs) require(head == path, "the signed request is the string's one reading");
      }
    }
    require(readings <= 1, "the signed string has one reading at most");
  }
  return 0;
}
