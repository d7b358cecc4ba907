#include "daemon/core/policy.hpp"

#include <algorithm>

#include "common/error.hpp"

namespace okxvault {
namespace {

constexpr std::string_view kCanonicalRule = "canonical-path";

[[noreturn]] void not_canonical(const std::string& why) {
  throw Error(Code::policy_denied, "path is not canonical (" + why + "); send the path exactly as OKX documents it",
              std::string(kCanonicalRule));
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// What OKX V5 paths are made of: no V5 endpoint has a dot, a percent sign or a
// parameter (;) in its path, and web stacks read each of those in their own way.
bool segment_char(char c) { return alnum(c) || c == '-' || c == '_'; }

// What OKX V5 queries and URL encoders (ccxt's urlencode, Python's quote)
// produce: unreserved characters, the separators = and &, the , and : OKX shows
// unencoded in lists and times, and %XX escapes. Never { or [, so no query can
// be read as the start of a body, and no / ? # or space.
bool query_char(char c) {
  return alnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '=' || c == '&' || c == ',' || c == ':';
}

// Names a refused byte without echoing one that is not printable ASCII.
std::string shown(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte > 0x20 && byte < 0x7f) return std::string("'") + c + "'";
  return "a control, space or non-ASCII byte";
}

// Checks and lower-cases a path (no query). Empty segments are allowed only at
// the end when `trailing_slash_ok` (rule prefixes like "/api/v5/trade/").
std::string canonical(std::string_view path, bool trailing_slash_ok) {
  if (path.empty() || path.front() != '/') not_canonical("must start with /");
  std::string out(path);
  bool segment_empty = true;  // the segment after the last '/', so far
  for (std::size_t i = 1; i < out.size(); ++i) {
    char& c = out[i];
    if (c == '/') {
      if (segment_empty) not_canonical("empty segment");
      segment_empty = true;
      continue;
    }
    segment_empty = false;
    if (c == '.') not_canonical("a dot; OKX V5 paths have none");
    if (c == '%') not_canonical("percent-encoding");
    if (c == ';') not_canonical("a path parameter (;)");
    if (!segment_char(c)) not_canonical(shown(c) + " in a segment; OKX V5 paths are made of letters, digits, - and _");
    c = lower(c);
  }
  if (segment_empty && !trailing_slash_ok) not_canonical("empty segment");
  return out;
}

void check_query(std::string_view query) {
  for (std::size_t i = 0; i < query.size(); ++i) {
    const char c = query[i];
    if (c == '%') {
      if (i + 2 >= query.size() || !hex(query[i + 1]) || !hex(query[i + 2])) {
        not_canonical("a % in the query not followed by two hex digits");
      }
      i += 2;
      continue;
    }
    if (!query_char(c)) {
      not_canonical(shown(c) + " in the query; a query is letters, digits, - _ . ~ = & , : and %XX");
    }
  }
}

Decision deny(std::string rule) { return {false, std::move(rule)}; }

// The grant's rules without its trading limits.
Decision evaluate_rules(const Grant& grant, std::string_view method, const std::string& path, bool ws,
                        std::int64_t now_ms) {
  if (grant.expires_ms && now_ms >= *grant.expires_ms) return deny(grant.who() + ": grant expired");
  if (ws) {
    // A logged-in private WebSocket can place orders, so read-only excludes it.
    if (!grant.ws) return deny(grant.who() + ": no WebSocket login");
    if (grant.read_only) return deny(grant.who() + ": read-only grant excludes WebSocket login");
    return {true, grant.who() + ": ws login"};
  }
  if (grant.read_only && method != "GET") return deny(grant.who() + ": read-only (GET only)");
  for (const Rule& rule : grant.deny) {
    if (rule.matches(method, path)) return deny(grant.who() + ": deny " + rule.text());
  }
  const auto allowing = [&](const Rule& builtin) {
    return std::any_of(grant.allow.begin(), grant.allow.end(), [&](const Rule& allow) {
      return allow.matches(method, path) && allow.prefix.starts_with(builtin.prefix);
    });
  };
  for (const Rule& builtin : builtin_denies()) {
    if (builtin.matches(method, path) && !allowing(builtin)) return deny("builtin deny " + builtin.text());
  }
  if (!grant.allow.empty()) {
    const auto it = std::find_if(grant.allow.begin(), grant.allow.end(),
                                 [&](const Rule& allow) { return allow.matches(method, path); });
    if (it == grant.allow.end()) return deny(grant.who() + ": no allow rule matches");
    return {true, grant.who() + ": allow " + it->text()};
  }
  return {true, grant.who()};
}

Decision limited(const Grant& grant, LimitRule rule, const std::string& detail) {
  Decision decision = deny(grant.who() + ": " + detail);
  decision.limit = rule;
  return decision;
}

Decision evaluate(const Grant& grant, std::string_view method, const std::string& path, std::string_view request_path,
                  std::string_view body, bool ws, std::int64_t now_ms) {
  Decision decision = evaluate_rules(grant, method, path, ws, now_ms);
  if (!decision.allowed || !grant.limits) return decision;
  if (ws) {
    return limited(grant, LimitRule::ws,
                   "trading limits exclude WebSocket login (a private stream places orders the vault never reads); "
                   "log in with a read-only key");
  }
  if (method != "POST") return decision;
  LimitVerdict verdict = check_limits(*grant.limits, path, request_path, body);
  if (verdict.refusal) {
    const bool named = verdict.refusal->rule == LimitRule::endpoint &&
                       std::any_of(grant.allow.begin(), grant.allow.end(), [&](const Rule& allow) {
                         return allow.matches(method, path) && allow.prefix == path;
                       });
    if (!named) {
      return limited(grant, verdict.refusal->rule,
                     verdict.refusal->rule == LimitRule::endpoint
                         ? verdict.refusal->detail + "; an allow rule naming it exactly permits it"
                         : verdict.refusal->detail);
    }
    return decision;
  }
  if (grant.limits->orders_per_minute && verdict.orders > 0) {
    decision.orders = verdict.orders;
    decision.orders_per_minute = *grant.limits->orders_per_minute;
    decision.counted_for = grant.who();
  }
  return decision;
}

}  // namespace

Rule Rule::parse(std::string_view text) {
  const std::size_t space = text.find(' ');
  if (space == std::string_view::npos) {
    throw Error(Code::bad_request, "a rule is 'METHOD PATH-PREFIX', e.g. 'POST /api/v5/trade/'");
  }
  Rule rule{std::string(text.substr(0, space)), {}};
  if (rule.method != "GET" && rule.method != "POST" && rule.method != "*") {
    throw Error(Code::bad_request, "a rule's method is GET, POST or *");
  }
  try {
    rule.prefix = canonical(text.substr(space + 1), true);
  } catch (const Error& e) {
    throw Error(Code::bad_request, std::string("rule '") + std::string(text) + "': " + e.what());
  }
  if (!rule.prefix.starts_with("/api/v5/")) throw Error(Code::bad_request, "a rule's path prefix starts with /api/v5/");
  return rule;
}

bool Rule::matches(std::string_view request_method, std::string_view canonical_path) const {
  return (method == "*" || method == request_method) && canonical_path.starts_with(prefix);
}

bool Grant::names(const Peer& peer) const {
  return kind == Kind::user ? peer.uid == id : peer.in_group(static_cast<gid_t>(id));
}

std::string Grant::who() const { return (kind == Kind::user ? "user " : "group ") + name; }

const std::vector<Rule>& builtin_denies() {
  static const std::vector<Rule> rules = [] {
    std::vector<Rule> out;
    // Money moves only by POST: reads (withdrawal history, transfer state) pass.
    for (const char* text : {
             "POST /api/v5/asset/withdrawal",         // on-chain, internal and lightning withdrawals
             "POST /api/v5/asset/cancel-withdrawal",  //
             "POST /api/v5/asset/transfer",           // funding/trading and sub-account transfers
             "POST /api/v5/asset/subaccount/",        // sub-account transfers
             "POST /api/v5/users/subaccount/",        // sub-accounts and their API keys
             "POST /api/v5/account/subaccount/",      // sub-account loan and limit settings
             "POST /api/v5/broker/",                  // broker sub-accounts and their API keys
             "POST /api/v5/fiat/",                    // fiat deposits and withdrawals
             "POST /api/v5/rfq/",                     // block trades: a chosen counterparty's quote
             "POST /api/v5/copytrading/",             // following, and acting as, a lead trader
         }) {
      out.push_back(Rule::parse(text));
    }
    return out;
  }();
  return rules;
}

std::string canonical_path(std::string_view request_path) {
  const std::size_t question = request_path.find('?');
  std::string path = canonical(request_path.substr(0, question), false);
  if (!path.starts_with("/api/v5/")) not_canonical("must start with /api/v5/");
  if (question != std::string_view::npos) check_query(request_path.substr(question + 1));
  return path;
}

void validate_sign_request(std::string_view method, std::string_view request_path, std::string_view body) {
  if (method != "GET" && method != "POST") throw Error(Code::bad_request, "method must be GET or POST (upper case)");
  const bool printable =
      std::all_of(request_path.begin(), request_path.end(), [](char c) { return c > 0x20 && c < 0x7f; });
  if (!request_path.starts_with("/api/v5/") || request_path.size() > kMaxRequestPath || !printable ||
      request_path.find('#') != std::string_view::npos) {
    throw Error(Code::bad_request,
                "path must start with /api/v5/, be at most 4096 bytes of printable ASCII, and have no fragment");
  }
  if (method == "GET" && !body.empty()) throw Error(Code::bad_request, "a GET request has no body");
  // Else the signed string could be read with the body's first bytes as the
  // end of the path: "/api/v5/asset/w" + "ithdrawal{...}".
  if (!body.empty() && body.front() != '{' && body.front() != '[') {
    throw Error(Code::bad_request, "a POST body is empty or JSON: an object or an array, starting with { or [");
  }
}

Decision decide(const std::vector<Grant>& grants, const Peer& peer, bool admin, std::string_view method,
                std::string_view request_path, std::string_view body, bool ws, std::int64_t now_ms) {
  const std::string path = ws ? std::string(request_path) : canonical_path(request_path);
  // A limited grant is never widened by another: once a grant that names the
  // peer has limits, only grants with limits may allow its requests, so that a
  // plain grant to one of its groups does not lift its user grant's limits.
  const bool limited =
      std::any_of(grants.begin(), grants.end(), [&](const Grant& g) { return g.limits && g.names(peer); });
  std::optional<Decision> first_denial;
  bool any = false;
  for (const Grant& grant : grants) {
    if (!grant.names(peer)) continue;
    any = true;
    if (limited && !grant.limits) continue;
    Decision decision = evaluate(grant, method, path, request_path, body, ws, now_ms);
    if (decision.allowed) return decision;
    if (!first_denial) first_denial = std::move(decision);
  }
  if (!any && admin) {
    Grant unrestricted;
    unrestricted.id = static_cast<std::uint32_t>(peer.uid);
    unrestricted.name = std::to_string(peer.uid) + " (admin)";
    unrestricted.ws = true;
    return evaluate(unrestricted, method, path, request_path, body, ws, now_ms);
  }
  if (!any) return deny("no grant for uid " + std::to_string(peer.uid));
  return *first_denial;
}

bool is_granted(const std::vector<Grant>& grants, const Peer& peer) {
  return std::any_of(grants.begin(), grants.end(), [&](const Grant& g) { return g.names(peer); });
}

}  // namespace okxvault
