// The path normalizer and the policy decisions built on it. The input is a
// request path as a bot would send it to be signed.
//
// Invariants: canonical_path accepts exactly the paths of OKX V5's grammar as
// okx_reading.hpp writes it (/api/v5/, segments of [A-Za-z0-9_-], a query of
// URL-encoding characters); its result is the lower-cased path without the
// query, canonical again on itself, and what a web stack would read the path
// as; and no accepted spelling of a path reaches a built-in denied endpoint
// through a grant that does not allow it by name.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "daemon/core/policy.hpp"
#include "tests/fuzz/okx_reading.hpp"
#include "tests/fuzz/require.hpp"

namespace okxvault::fuzz {
namespace {

// Returns the canonical form, or nothing for a refused path; anything but a
// canonical-path refusal is a bug.
std::optional<std::string> try_canonical(std::string_view path) {
  try {
    return canonical_path(path);
  } catch (const Error& e) {
    require(e.code() == Code::policy_denied && e.rule() == "canonical-path", "refusal is policy_denied canonical-path");
    return std::nullopt;
  }
}

// decide refuses a non-canonical path by throwing, as canonical_path does.
Decision try_decide(const std::vector<Grant>& grants, const Peer& peer, bool admin, std::string_view method,
                    std::string_view path) {
  try {
    return decide(grants, peer, admin, method, path, {}, false, 0);
  } catch (const Error& e) {
    require(e.code() == Code::policy_denied && e.rule() == "canonical-path", "decide refuses as canonical-path");
    return {false, e.rule(), {}, 0, 0, {}};
  }
}

void check_rule(std::string_view prefix) {
  const bool expect = okx_path_ok(prefix, true) && ascii_lower(prefix).starts_with("/api/v5/");
  try {
    const Rule rule = Rule::parse("* " + std::string(prefix));
    require(expect, "Rule::parse accepts only canonical /api/v5/ prefixes");
    require(rule.prefix == ascii_lower(prefix), "a rule's prefix is the lower-cased text");
    require(Rule::parse(rule.text()).text() == rule.text(), "a rule's text parses back to itself");
  } catch (const Error& e) {
    require(!expect, "Rule::parse refuses only non-canonical or non-/api/v5/ prefixes");
    require(e.code() == Code::bad_request, "a bad rule is bad_request");
  }
}

}  // namespace
}  // namespace okxvault::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace okxvault;
  using namespace okxvault::fuzz;
  const std::string_view path = as_text(data, size);
  const std::string_view without_query = path.substr(0, path.find('?'));

  const std::optional<std::string> canonical = try_canonical(path);
  require(canonical.has_value() == okx_request_path_ok(path), "accepts exactly OKX V5's request paths");
  if (canonical) {
    require(*canonical == ascii_lower(without_query), "canonical form is the lower-cased path without its query");
    require(try_canonical(*canonical) == canonical, "canonical_path is idempotent");
    require(try_canonical(*canonical + "?instId=BTC-USDT") == canonical, "a query never changes the path");
    require(web_stack_reading(path) == *canonical, "a web stack reads an accepted path as the policy does");
  }
  check_rule(without_query);

  // An unrestricted grant (and an admin without grants) may sign any canonical
  // path except a POST to the built-in denied endpoints; a grant that allows the path's
  // own prefix by name lifts the deny.
  const Peer bot{1000, 1000, 1, {1000}};
  const Grant plain{Grant::Kind::user, 1000, "bot"};
  for (const std::string_view method : {"GET", "POST"}) {
    const bool expect = canonical && !builtin_denied(method, *canonical);
    for (const bool admin : {false, true}) {
      const Decision decision =
          try_decide(admin ? std::vector<Grant>{} : std::vector<Grant>{plain}, bot, admin, method, path);
      require(decision.allowed == expect, "only canonical paths outside the built-in denies are allowed");
      if (canonical && !expect) require(decision.rule.starts_with("builtin deny "), "the built-in rule is named");
    }
    if (canonical && canonical->starts_with("/api/v5/")) {
      Grant lifted = plain;
      lifted.allow.push_back(Rule::parse("* " + *canonical));
      require(try_decide({lifted}, bot, false, method, path).allowed, "an allow naming the path lifts the deny");
    }
  }
  return 0;
}
