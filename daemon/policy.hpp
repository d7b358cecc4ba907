#pragma once
// Who may sign what with a key: grants, request rules and the built-in deny list.
// Pure functions of their arguments (no I/O, no clock), safe from any thread.
//
// A request is allowed if some grant that names the peer (its uid, or a group it
// is in) allows it; admins without a grant sign as if under an unrestricted one.
// Within a grant, in order: an expired grant denies; a WebSocket login needs
// `ws` and a grant that is not read-only; a read-only grant denies all but GET;
// a matching deny rule denies; a matching built-in deny denies unless one of the
// grant's allow rules matches the request and names that endpoint (its prefix
// starts with the built-in one); a grant with allow rules denies what none of
// them matches. Paths are matched in canonical form; a path that is not
// canonical (dot or empty segments, percent-encoding, backslashes, control
// characters) is refused outright, since OKX V5 paths never need them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/peer.hpp"

namespace okxvault {

// "METHOD PREFIX": METHOD is GET, POST or *; PREFIX a canonical path prefix.
struct Rule {
  std::string method;
  std::string prefix;

  // Throws Error(bad_request) for malformed text.
  static Rule parse(std::string_view text);
  std::string text() const { return method + " " + prefix; }
  bool matches(std::string_view method, std::string_view canonical_path) const;
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
  bool ws = true;

  bool names(const Peer& peer) const;
  std::string who() const;  // "user alice" / "group bots"
};

// The money-moving and key-managing endpoints of OKX V5, denied unless allowed by name.
const std::vector<Rule>& builtin_denies();

// The lower-cased path without its query; throws Error(policy_denied, rule
// "canonical-path") for a path that is not canonical.
std::string canonical_path(std::string_view request_path);

struct Decision {
  bool allowed = false;
  std::string rule;  // the rule that decided, for the audit record and the 403
};

// The WebSocket login is the request "GET /users/self/verify" with ws = true.
Decision decide(const std::vector<Grant>& grants, const Peer& peer, bool admin, std::string_view method,
                std::string_view request_path, bool ws, std::int64_t now_ms);

// Grants that name the peer exist: the peer may see the key in a listing.
bool is_granted(const std::vector<Grant>& grants, const Peer& peer);

}  // namespace okxvault
