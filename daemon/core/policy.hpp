#pragma once
// Who may sign what with a key: grants, request rules and the built-in deny list.
// Pure functions of their arguments (no I/O, no clock), safe from any thread.
//
// A request is allowed if some grant that names the peer (its uid, or a group it
// is in) allows it; if any of those grants has trading limits, only one with
// limits may allow it. Admins without a grant sign as if under an unrestricted one.
// Within a grant, in order: an expired grant denies; a WebSocket login needs
// `ws` and a grant that is not read-only; a read-only grant denies all but GET;
// a matching deny rule denies; a matching built-in deny denies unless one of the
// grant's allow rules matches the request and names that endpoint (its prefix
// starts with the built-in one); a grant with allow rules denies what none of
// them matches. Then a grant with trading limits: a WebSocket login is denied;
// a POST must pass check_limits, except that an endpoint it does not read
// passes if an allow rule names it exactly (its prefix is the whole path).
//
// OKX signs timestamp + METHOD + path + body with no separator, so the policy
// holds only if that string has one reading. Requests therefore follow OKX V5's
// own grammar (validate_sign_request, canonical_path): a path of segments made
// of [A-Za-z0-9_-], a query of what URL encoding produces, a body that is empty
// or JSON (starts with { or [). Neither path nor query can hold { or [, so the
// body starts at the first of them and nowhere else.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/core/order_limits.hpp"
#include "daemon/core/peer.hpp"
#include "proto/limits.hpp"

namespace okxvault {

// "METHOD PREFIX": METHOD is GET, POST or *; PREFIX a canonical path prefix.
struct Rule {
  std::string method;
  std::string prefix;

  // Throws Error(bad_request) for malformed text.
  static Rule parse(std::string_view text);
  std::string text() const { return method + " " + prefix; }
  bool matches(std::string_view method, std::string_view canonical_path) const;
  bool operator==(const Rule&) const = default;
};

struct Grant {
  enum class Kind { user, group };
  Kind kind = Kind::user;
  std::uint32_t id = 0;  // uid or gid
  std::string name;      // user or group name, for people
  bool read_only = false;
  std::optional<std::int64_t> expires_ms;  // Unix ms; absent: never
  std::vector<Rule> allow;
  std::vector<Rule> deny;
  bool ws = false;                      // may fetch WebSocket login frames: only if asked for
  std::optional<proto::Limits> limits;  // trading limits (order_limits.hpp); absent: none

  bool names(const Peer& peer) const;
  std::string who() const;  // "user alice" / "group bots"
  bool operator==(const Grant&) const = default;
};

// The money-moving and key-managing endpoints of OKX V5, denied to POST unless
// allowed by name; reads of them pass.
const std::vector<Rule>& builtin_denies();

// The longest request path (with its query) the daemon signs.
inline constexpr std::size_t kMaxRequestPath = 4096;

// The lower-cased path without its query. Throws Error(policy_denied, rule
// "canonical-path") unless the path is /api/v5/ then segments of [A-Za-z0-9_-]
// joined by single slashes (no trailing slash), and the query after the first
// ? (if any) is made only of letters, digits, - _ . ~ = & , : and %XX escapes.
std::string canonical_path(std::string_view request_path);

// The checks before any policy, on what a sign request says: method GET or POST,
// a path starting /api/v5/ of at most kMaxRequestPath printable ASCII bytes
// without a fragment, no body on a GET, and a POST body that is empty or starts
// with { or [ (OKX bodies are JSON objects or arrays). Throws Error(bad_request).
// The path's own grammar is canonical_path's, which decide applies.
void validate_sign_request(std::string_view method, std::string_view request_path, std::string_view body);

struct Decision {
  bool allowed = false;
  std::string rule;                // the rule that decided, for the audit record and the 403
  std::optional<LimitRule> limit;  // a refusal by the trading limits: which limit
  // An allowed request under a per-minute order limit: the orders it places or
  // amends, the limit, and whose count it is ("user 1000").
  std::uint32_t orders = 0;
  std::uint32_t orders_per_minute = 0;
  std::string counted_for;
};

// The WebSocket login is the request "GET /users/self/verify" with ws = true;
// its path is fixed by the daemon and not read. For any other request the path
// is canonical_path's (its refusal propagates as an Error). A grant with
// trading limits also reads a POST's body (order_limits.hpp), and refuses a
// WebSocket login.
Decision decide(const std::vector<Grant>& grants, const Peer& peer, bool admin, std::string_view method,
                std::string_view request_path, std::string_view body, bool ws, std::int64_t now_ms);

// Grants that name the peer exist: the peer may see the key in a listing.
bool is_granted(const std::vector<Grant>& grants, const Peer& peer);

}  // namespace okxvault
