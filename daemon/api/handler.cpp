#include "daemon/api/handler.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "daemon/os/accounts.hpp"
#include "daemon/store/store_file.hpp"
#include "proto/messages.hpp"

namespace okxvault {
namespace http = boost::beast::http;

namespace {

// The audit rule of a change that took effect in memory but not on disk.
constexpr std::string_view kNotPersisted = "in memory only: the store could not be written";

bool printable_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// Names are resolved once, when the grant is made: the kernel reports ids.
Grant to_grant(const proto::GrantInfo& info) {
  Grant grant;
  grant.kind = info.kind == proto::GrantInfo::Kind::user ? Grant::Kind::user : Grant::Kind::group;
  bool found = false;
  if (grant.kind == Grant::Kind::user) {
    uid_t uid = 0;
    found = lookup_user(info.name, uid, grant.name);
    grant.id = uid;
  } else {
    gid_t gid = 0;
    found = lookup_group(info.name, gid, grant.name);
    grant.id = gid;
  }
  if (!found)
    throw Error(Code::bad_request,
                "no such " + std::string(grant.kind == Grant::Kind::user ? "user" : "group") + ": " + info.name);
  grant.read_only = info.read_only;
  if (info.expires) grant.expires_ms = unix_ms(parse_iso8601_ms(*info.expires));
  for (const auto& text : info.allow) grant.allow.push_back(Rule::parse(text));
  for (const auto& text : info.deny) grant.deny.push_back(Rule::parse(text));
  grant.ws = info.ws;
  grant.limits = info.limits;  // validated as the request was decoded
  return grant;
}

proto::GrantInfo to_info(const Grant& grant) {
  proto::GrantInfo info;
  info.kind = grant.kind == Grant::Kind::user ? proto::GrantInfo::Kind::user : proto::GrantInfo::Kind::group;
  info.name = grant.name;
  info.id = grant.id;
  info.read_only = grant.read_only;
  if (grant.expires_ms) info.expires = iso8601_ms(*grant.expires_ms);
  for (const Rule& rule : grant.allow) info.allow.push_back(rule.text());
  for (const Rule& rule : grant.deny) info.deny.push_back(rule.text());
  info.ws = grant.ws;
  info.limits = grant.limits;
  return info;
}

}  // namespace

// One request in flight: what the handlers need, in one place, and what its
// audit line says besides the route's action, filled in as the handler learns it.
struct Handler::Call {
  Request& request;
  const Peer& peer;
  Caller caller;
  bool admin_channel = true;  // the socket takes admin calls
  std::chrono::milliseconds hold{0};
  const Route* route = nullptr;
  std::string_view name;  // the {name} of the path
  std::string_view key, method, path;
  std::string rule;      // of a success, and of a change in effect but not persisted
  bool audited = false;  // a failure from here on is audited

  // Text that carries no secret (metadata, status) is copied in.
  Response reply(http::status status, std::string_view text) const { return reply(status, WipingString(text)); }
  Response reply(http::status status, WipingString&& body = {}) const {
    Response response{status, request.version()};
    // Usually what the version implies already: then setting it would only search the fields.
    const bool keep_alive = request.keep_alive();
    if (response.keep_alive() != keep_alive) response.keep_alive(keep_alive);
    if (!body.empty() || status != http::status::no_content) {
      response.set(http::field::content_type, "application/json");
      response.body() = std::move(body);
    }
    response.prepare_payload();
    return response;
  }
};

struct Handler::SignInput {
  proto::SignRequest request;
  std::string timestamp;
};

struct Handler::WsLoginInput {
  std::string timestamp;
};

// The order of a path's routes is the order of its Allow header.
#define OKXV_SERVE(read, act) &Handler::serve<&Handler::read, &Handler::act>
const Handler::Route Handler::kRoutes[] = {
    {.method = http::verb::get, .pattern = "/v1/status", .serve = OKXV_SERVE(no_input, status)},
    {.method = http::verb::post,
     .pattern = "/v1/lock",
     .admin_only = true,
     .action = "lock",
     .audit_success = true,
     .serve = OKXV_SERVE(no_input, lock)},
    {.method = http::verb::post,
     .pattern = "/v1/unlock",
     .admin_only = true,
     .action = "unlock",
     .audit_success = true,
     .carries_secret = true,
     .serve = OKXV_SERVE(read_passphrases, unlock)},
    {.method = http::verb::put,
     .pattern = "/v1/slots/passphrase",
     .admin_only = true,
     .action = "set-passphrase",
     .audit_success = true,
     .carries_secret = true,
     .serve = OKXV_SERVE(read_passphrases, set_passphrase)},
    {.method = http::verb::delete_,
     .pattern = "/v1/slots/passphrase",
     .admin_only = true,
     .action = "remove-passphrase",
     .audit_success = true,
     .carries_secret = true,
     .serve = OKXV_SERVE(read_passphrases, remove_passphrase)},
    {.method = http::verb::post,
     .pattern = "/v1/slots/key-file/rotate",
     .admin_only = true,
     .action = "rotate-key-file",
     .audit_success = true,
     .carries_secret = true,
     .serve = OKXV_SERVE(read_passphrases, rotate_key_file)},
    {.method = http::verb::post,
     .pattern = "/v1/rekey",
     .admin_only = true,
     .action = "rekey",
     .audit_success = true,
     .carries_secret = true,
     .serve = OKXV_SERVE(read_passphrases, rekey)},
    {.method = http::verb::post,
     .pattern = "/v1/backup",
     .admin_only = true,
     .needs_unlocked = true,
     .action = "backup",
     .audit_success = true,
     .carries_secret = true,
     .serve = OKXV_SERVE(read_backup, backup)},
    {.method = http::verb::post,
     .pattern = "/v1/restore",
     .admin_only = true,
     .needs_unlocked = true,
     .action = "restore",
     .audit_success = true,
     .carries_secret = true,
     .serve = OKXV_SERVE(read_restore, restore)},
    {.method = http::verb::get,
     .pattern = "/v1/host-key",
     .needs_unlocked = true,
     .serve = OKXV_SERVE(no_input, host_key)},
    {.method = http::verb::post,
     .pattern = "/v1/import",
     .admin_only = true,
     .needs_unlocked = true,
     .action = "import",
     .audit_success = true,
     .carries_secret = true,
     .serve = OKXV_SERVE(read_import, add)},
    {.method = http::verb::get,
     .pattern = "/v1/metrics",
     .admin_only = true,
     .action = "metrics",
     .serve = OKXV_SERVE(no_input, metrics_report)},
    {.method = http::verb::get,
     .pattern = "/v1/audit/verify",
     .admin_only = true,
     .action = "audit-verify",
     .serve = OKXV_SERVE(no_input, verify_audit)},
    {.method = http::verb::get, .pattern = "/v1/keys", .serve = OKXV_SERVE(no_input, list)},
    {.method = http::verb::post,
     .pattern = "/v1/keys",
     .admin_only = true,
     .needs_unlocked = true,
     .action = "add",
     .audit_success = true,
     .carries_secret = true,
     .serve = OKXV_SERVE(read_add, add)},
    {.method = http::verb::delete_,
     .pattern = "/v1/keys/{name}",
     .admin_only = true,
     .needs_unlocked = true,
     .action = "revoke",
     .audit_success = true,
     .serve = OKXV_SERVE(no_input, remove)},
    {.method = http::verb::post,
     .pattern = "/v1/keys/{name}/sign",
     .needs_unlocked = true,
     .action = "sign",
     .audit_success = true,
     .serve = OKXV_SERVE(read_sign, sign)},
    {.method = http::verb::post,
     .pattern = "/v1/keys/{name}/ws-login",
     .needs_unlocked = true,
     .action = "ws-login",
     .audit_success = true,
     .serve = OKXV_SERVE(read_ws_login, ws_login)},
    {.method = http::verb::get,
     .pattern = "/v1/keys/{name}/grants",
     .admin_only = true,
     .action = "grants",
     .serve = OKXV_SERVE(no_input, get_grants)},
    {.method = http::verb::put,
     .pattern = "/v1/keys/{name}/grants",
     .admin_only = true,
     .needs_unlocked = true,
     .action = "set-grants",
     .audit_success = true,
     .serve = OKXV_SERVE(read_grants, put_grants)},
    {.method = http::verb::put,
     .pattern = "/v1/keys/{name}/credentials",
     .admin_only = true,
     .needs_unlocked = true,
     .action = "update",
     .audit_success = true,
     .carries_secret = true,
     .serve = OKXV_SERVE(read_update, update)},
};
#undef OKXV_SERVE

bool Handler::PathPattern::matches(std::string_view path, std::string_view& name) const {
  if (!has_name) return path == before;
  if (path.size() < before.size() + after.size() || !path.starts_with(before) || !path.ends_with(after)) return false;
  const std::string_view segment = path.substr(before.size(), path.size() - before.size() - after.size());
  if (segment.find('/') != std::string_view::npos) return false;
  name = segment;
  return true;
}

Handler::Handler(Vault& vault, Audit& audit, HandlerOptions options)
    : vault_(vault), audit_(audit), options_(std::move(options)) {}

Response Handler::error_response(const Error& error, unsigned http_version, bool keep_alive) {
  Response response{static_cast<http::status>(http_status(error.code())), http_version};
  response.set(http::field::content_type, "application/json");
  response.keep_alive(keep_alive);
  response.body() = proto::encode(proto::ErrorReply{error.code(), error.what(), error.rule()});
  response.prepare_payload();
  return response;
}

bool Handler::is_admin(const Peer& peer) const {
  return peer.uid == 0 || peer.uid == options_.daemon_uid ||
         (options_.admin_group && peer.in_group(*options_.admin_group));
}

bool Handler::changes_vault(const Request& request, bool admin) const {
  if (!admin || request.method() == http::verb::get) return false;
  const std::string_view target = request.target();
  const std::string_view path = target.substr(0, target.find('?'));
  return std::any_of(std::begin(kRoutes), std::end(kRoutes), [&](const Route& route) {
    std::string_view name;
    return route.admin_only && route.method == request.method() && route.pattern.matches(path, name);
  });
}

Response Handler::handle(Request& request, const Peer& peer, bool admin_channel,
                         std::chrono::milliseconds* hold) const {
  Call call{request, peer, Caller{peer, admin_channel && is_admin(peer)}, admin_channel};
  try {
    return dispatch(call);
  } catch (const Error& e) {
    if (hold != nullptr) *hold = call.hold;
    metrics_.count_error(e.code());
    return error_response(e, request.version(), request.keep_alive());
  } catch (const std::exception& e) {
    metrics_.count_error(Code::internal);
    spdlog::error("request {} {} failed: {}", request.method_string(), request.target(), e.what());
    return error_response(Error(Code::internal, "internal error"), request.version(), request.keep_alive());
  }
}

Response Handler::dispatch(Call& call) const {
  const std::string_view target = call.request.target();
  // Errors echo the target and the audit log records its key name, both as JSON:
  // bytes outside printable ASCII (which no URI has) would make them invalid UTF-8.
  if (!printable_ascii(target)) throw Error(Code::bad_request, "the request target must be printable ASCII");
  const std::string_view path = target.substr(0, target.find('?'));
  const http::verb verb = call.request.method();
  std::string allowed;
  for (const Route& route : kRoutes) {
    std::string_view name;
    if (!route.pattern.matches(path, name)) continue;
    if (route.method == verb) {
      call.route = &route;
      call.name = name;
      return route.serve(*this, call);
    }
    allowed.append(allowed.empty() ? "" : ", ").append(http::to_string(route.method));
  }
  if (allowed.empty()) throw Error(Code::not_found, "no such endpoint: " + std::string(path));
  metrics_.count_error(Code::method_not_allowed);
  Response response = error_response(
      Error(Code::method_not_allowed, "method " + std::string(call.request.method_string()) + " is not allowed here"),
      call.request.version(), call.request.keep_alive());
  response.set(http::field::allow, allowed);
  return response;
}

template <auto Read, auto Act>
Response Handler::serve(const Handler& self, Call& call) {
  const Route& route = *call.route;
  // A body that may carry a secret is gone once read, whatever happens next.
  struct ClearBody {
    Request& request;
    bool clear;
    ~ClearBody() {
      if (clear) request.body().clear();
    }
  } const clear_body{call.request, route.carries_secret};
  call.key = call.name;
  self.require_admin(call);
  call.audited = route.admin_only;
  // Declared out here, the request as read outlives a failure: its audit line quotes it.
  std::optional<decltype((self.*Read)(call))> input;
  try {
    input.emplace((self.*Read)(call));
    if (route.carries_secret) call.request.body().clear();
    self.read_done(call, *input);
    self.require_unlocked(call);
    Response response = (self.*Act)(call, *input);
    if (route.audit_success) {
      self.audit_.record(call.peer, {route.action, call.key, call.method, call.path, true, call.rule});
    }
    return response;
  } catch (const Error& e) {
    self.audit_failure(call, e);
    throw;
  }
}

void Handler::require_admin(Call& call) const {
  if (!call.route->admin_only || call.caller.admin) return;
  audit_.record(call.peer, {call.route->action, call.key, {}, {}, false, "admin only"});
  const std::string uid = "uid " + std::to_string(call.peer.uid);
  // Refused for the socket, not the caller: say where admin calls are taken.
  if (!call.admin_channel) {
    throw Error(Code::forbidden, uid + " is not an admin on this socket: admin calls go to the daemon's admin socket" +
                                     (options_.admin_socket.empty() ? "" : " " + options_.admin_socket.string()));
  }
  throw Error(Code::forbidden, uid + " is not an admin of this vault");
}

void Handler::require_unlocked(const Call& call) const {
  if (call.route->needs_unlocked && vault_.locked()) {
    throw Error(Code::vault_locked, "the vault is locked; an admin can unlock it with: okx-vault unlock");
  }
}

// A change whose write alone failed (not_persisted) is in effect: audited and
// logged as such. Any other failure is audited as refused, with the rule that
// refused it or else the error's code.
void Handler::audit_failure(Call& call, const Error& error) const {
  if (!call.audited) return;
  const std::string_view action = call.route->action;
  if (error.code() == Code::not_persisted) {
    const std::string rule = call.rule.empty() ? std::string(kNotPersisted)
                                               : std::string(call.rule).append("; ").append(kNotPersisted);
    audit_.record(call.peer, {action, call.key, call.method, call.path, true, rule});
    spdlog::error("{} {}by uid {} pid {} is in effect in memory only: {}", action,
                  call.key.empty() ? std::string() : "of key '" + std::string(call.key) + "' ", call.peer.uid,
                  call.peer.pid, error.what());
    return;
  }
  const std::string_view rule = error.rule().empty() ? code_name(error.code()) : std::string_view(error.rule());
  audit_.record(call.peer, {action, call.key, call.method, call.path, false, rule});
  if (call.route->admin_only) {
    spdlog::warn("{} refused for uid {} pid {}: {}", action, call.peer.uid, call.peer.pid, code_name(error.code()));
  }
}

void key_audit_log(Vault& vault, Audit& audit) {
  try {
    if (std::optional<SecretBytes> key = vault.audit_key()) audit.use_key(std::move(*key));
  } catch (const Error& e) {
    spdlog::warn("audit log lines stay unkeyed: {}", e.what());
  }
}

Response Handler::verify_audit(Call& call, NoInput&) const {
  const Vault::AuditAnchor anchor = vault_.audit_anchor();
  std::optional<std::string_view> head;
  if (anchor.line > 0) head = anchor.hash;
  return call.reply(http::status::ok, proto::encode(audit_.verify(head)));
}

Response Handler::status(Call& call, NoInput&) const {
  const auto uptime = std::chrono::steady_clock::now() - started_;
  // A non-admin counts only the keys it sees in GET /v1/keys: how many others exist is not its business.
  const std::size_t keys = call.caller.admin ? vault_.size() : vault_.list(call.caller).size();
  proto::StatusReply reply{std::string(proto::kVersion), vault_.locked(), keys,
                           static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(uptime).count()),
                           vault_.slots()};
  return call.reply(http::status::ok, proto::encode(reply));
}

Response Handler::lock(Call& call, NoInput& none) const {
  vault_.lock();
  spdlog::info("vault locked by uid {} pid {}; secrets wiped", call.peer.uid, call.peer.pid);
  return status(call, none);
}

proto::PassphraseRequest Handler::read_passphrases(Call& call) const {
  return proto::decode_passphrases(call.request.body());
}

Response Handler::slot_change(Call& call, const proto::PassphraseRequest& body,
                              const std::function<void()>& change) const {
  if (body.passphrase.empty()) {
    change();
  } else {
    gate_.run(change, call.hold);
  }
  spdlog::info("{} done by uid {} pid {}", call.route->action, call.peer.uid, call.peer.pid);
  NoInput none;
  return status(call, none);
}

Response Handler::unlock(Call& call, proto::PassphraseRequest& body) const {
  return slot_change(call, body, [&] {
    if (!body.passphrase.empty()) {
      vault_.unlock(body.passphrase);
    } else {
      const auto slots = vault_.slots();
      if (std::find(slots.begin(), slots.end(), "key_file") == slots.end()) {
        throw Error(Code::bad_request, "unlock: missing field 'passphrase'");
      }
      vault_.unlock_with_key_file(read_key_file(options_.key_file));
    }
    key_audit_log(vault_, audit_);
  });
}

Response Handler::set_passphrase(Call& call, proto::PassphraseRequest& body) const {
  return slot_change(call, body, [&] {
    if (body.new_passphrase.empty()) throw Error(Code::bad_request, "passphrase: missing field 'new_passphrase'");
    vault_.set_passphrase(body.passphrase.empty() ? nullptr : &body.passphrase, body.new_passphrase,
                          options_.passphrase_cost);
  });
}

Response Handler::remove_passphrase(Call& call, proto::PassphraseRequest& body) const {
  return slot_change(call, body, [&] {
    if (body.passphrase.empty()) throw Error(Code::bad_request, "passphrase: missing field 'passphrase'");
    vault_.remove_passphrase(body.passphrase);
  });
}

Response Handler::rotate_key_file(Call& call, proto::PassphraseRequest& body) const {
  return slot_change(call, body, [&] {
    if (options_.key_file_is_credential) {
      throw Error(Code::bad_request,
                  "the master key comes from a systemd credential, which the daemon cannot replace; "
                  "see README.md, \"Rotating a credential\"");
    }
    vault_.rotate_key_file(options_.key_file);
  });
}

Response Handler::rekey(Call& call, proto::PassphraseRequest& body) const {
  return slot_change(call, body,
                     [&] { vault_.rekey(body.passphrase.empty() ? nullptr : &body.passphrase, options_.key_file); });
}

namespace {

// "'a', 'b' and 3 more": names for a message, bounded.
std::string quoted_names(const std::vector<std::string>& names) {
  constexpr std::size_t kShown = 10;
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < kShown; ++i)
    out.append(i == 0 ? "'" : ", '").append(names[i]).append("'");
  if (names.size() > kShown) out += " and " + std::to_string(names.size() - kShown) + " more";
  return out;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out.append(out.empty() ? "" : ", ").append(name);
  return out;
}

[[noreturn]] void not_in_vault(const std::string& name) {
  throw Error(Code::key_not_found, "no key named '" + name + "'; nothing was backed up");
}

// One rename of a restore, checked against those before it: two key names, no
// key renamed twice, no two keys renamed to one name.
void add_rename(const proto::Rename& rename, std::map<std::string, std::string, std::less<>>& renames,
                std::set<std::string, std::less<>>& new_names) {
  const std::string said = "rename " + rename.from + "=" + rename.to + ": ";
  try {
    store::validate_name(rename.from);
    store::validate_name(rename.to);
  } catch (const Error& e) {
    throw Error(e.code(), said + e.what());
  }
  if (!renames.emplace(rename.from, rename.to).second) {
    throw Error(Code::bad_request, said + "key '" + rename.from + "' is renamed twice");
  }
  if (!new_names.insert(rename.to).second) {
    throw Error(Code::bad_request, said + "two keys are renamed to '" + rename.to + "'");
  }
}

// The backup holds the key a rename names, or nothing is restored.
void check_renamed(const std::vector<proto::BackupKey>& keys, const std::string& from, const std::string& to) {
  if (std::any_of(keys.begin(), keys.end(), [&](const proto::BackupKey& key) { return key.name == from; })) return;
  std::vector<std::string> held;
  held.reserve(keys.size());
  for (const proto::BackupKey& key : keys) held.push_back(key.name);
  throw Error(Code::bad_request, "rename " + from + "=" + to + ": the backup has no key named '" + from +
                                     "' (it holds " + (held.empty() ? "none" : quoted_names(held)) +
                                     "); nothing was restored");
}

[[noreturn]] void named_twice(const std::string& name) {
  throw Error(Code::bad_request, "the backup would hold two keys named '" + name +
                                     "' once renamed; nothing was restored (rename one of them to another name)");
}

[[noreturn]] void clash(const std::vector<std::string>& names) {
  const bool one = names.size() == 1;
  throw Error(Code::key_exists, "the vault already has " + std::string(one ? "a key" : "keys") + " named " +
                                    quoted_names(names) +
                                    ", which the backup holds too; nothing was restored (okx-vault restore "
                                    "--skip-existing leaves " +
                                    (one ? "it" : "them") + " out, --rename " + names.front() + "=NEW restores " +
                                    (one ? "it" : "one") + " under another name)");
}

// A grant of a backed-up key, its user or group looked up on this host as a
// grant is when it is made: it follows its name. A note says when the id differs.
Grant restored_grant(const std::string& key, const proto::GrantInfo& info, std::vector<std::string>& notes) {
  const bool user = info.kind == proto::GrantInfo::Kind::user;
  const std::string who = std::string(user ? "user '" : "group '") + info.name + "'";
  Grant grant;
  try {
    grant = to_grant(info);
  } catch (const Error& e) {
    throw Error(e.code(), "key '" + key + "', its grant of " + who + ": " + e.what() +
                              "; nothing was restored (create it on this host, then restore again)");
  }
  if (info.id && *info.id != grant.id) {
    notes.push_back("key '" + key + "': " + who + " is " + (user ? "uid " : "gid ") + std::to_string(grant.id) +
                    " here and was " + std::to_string(*info.id) +
                    " where the backup was made; the grant follows the name");
  }
  return grant;
}

proto::BackupKey backup_key(StoredKey& key) {
  proto::BackupKey out;
  out.name = key.name;
  out.api_key = key.api_key;
  out.secret = std::move(key.secret);
  out.passphrase = std::move(key.passphrase);
  out.simulated = key.simulated;
  out.created = iso8601_ms(key.created_ms);
  if (key.expires_ms) out.expires = iso8601_ms(*key.expires_ms);
  if (key.last_used_ms != 0) out.last_used = iso8601_ms(key.last_used_ms);
  out.sign_count = key.sign_count;
  for (const Grant& grant : key.grants) out.grants.push_back(to_info(grant));
  return out;
}

StoredKey stored_key(proto::BackupKey& key, std::vector<std::string>& notes) {
  StoredKey out;
  out.name = key.name;
  out.api_key = key.api_key;
  out.secret = std::move(key.secret);
  out.passphrase = std::move(key.passphrase);
  out.simulated = key.simulated;
  out.created_ms = unix_ms(parse_iso8601_ms(key.created));
  if (key.expires) out.expires_ms = unix_ms(parse_iso8601_ms(*key.expires));
  if (key.last_used) out.last_used_ms = unix_ms(parse_iso8601_ms(*key.last_used));
  out.sign_count = key.sign_count;
  for (const proto::GrantInfo& info : key.grants) out.grants.push_back(restored_grant(key.name, info, notes));
  return out;
}

}  // namespace

proto::BackupRequest Handler::read_backup(Call& call) const {
  return proto::decode_backup_request(call.request.body());
}

Response Handler::backup(Call& call, proto::BackupRequest& request) const {
  proto::validate_backup_passphrase(request.passphrase);
  std::vector<StoredKey> stored = vault_.export_keys();
  if (!request.keys.empty()) {
    const std::set<std::string, std::less<>> wanted(request.keys.begin(), request.keys.end());
    for (const std::string& name : wanted) {
      if (std::none_of(stored.begin(), stored.end(), [&](const StoredKey& key) { return key.name == name; })) {
        not_in_vault(name);
      }
    }
    std::erase_if(stored, [&](const StoredKey& key) { return !wanted.contains(key.name); });
  }
  std::vector<proto::BackupKey> keys;
  keys.reserve(stored.size());
  for (StoredKey& key : stored) keys.push_back(backup_key(key));
  stored.clear();
  // Argon2id and the sealing, with no lock of the vault held: signs go on.
  proto::BackupReply reply{proto::seal_backup(keys, request.passphrase, options_.backup_cost, unix_ms(Clock::now())),
                           keys.size()};
  keys.clear();
  if (reply.backup.size() > proto::kMaxBackupBytes) {
    throw Error(Code::payload_too_large,
                "a backup of " + std::to_string(reply.keys) + " keys takes " + std::to_string(reply.backup.size()) +
                    " bytes, more than a restore takes (" + std::to_string(proto::kMaxBackupBytes) +
                    "); nothing was backed up: back the keys up in parts (okx-vault backup FILE --key NAME ...)");
  }
  call.rule = std::to_string(reply.keys) + (reply.keys == 1 ? " key" : " keys");
  spdlog::info("backup of {} taken by uid {} pid {}", call.rule, call.peer.uid, call.peer.pid);
  return call.reply(http::status::ok, proto::encode(reply));
}

proto::RestoreRequest Handler::read_restore(Call& call) const {
  return proto::decode_restore_request(call.request.body());
}

Response Handler::restore(Call& call, proto::RestoreRequest& request) const {
  // The renames are checked before the passphrase: a typo costs no Argon2id.
  std::map<std::string, std::string, std::less<>> renames;
  std::set<std::string, std::less<>> new_names;
  for (const proto::Rename& rename : request.rename) add_rename(rename, renames, new_names);
  std::vector<proto::BackupKey> keys = proto::open_backup(request.backup, request.passphrase);
  for (const auto& rename : renames) check_renamed(keys, rename.first, rename.second);
  std::set<std::string, std::less<>> names;
  for (proto::BackupKey& key : keys) {
    if (const auto it = renames.find(key.name); it != renames.end()) key.name = it->second;
    if (!names.insert(key.name).second) named_twice(key.name);
  }
  // A name the vault has is refused as a whole, or its key left out: a restore
  // never replaces a key.
  std::set<std::string, std::less<>> existing;
  for (const proto::KeyInfo& key : vault_.list(call.caller)) existing.insert(key.name);
  proto::RestoreReply reply;
  for (const proto::BackupKey& key : keys) {
    if (existing.contains(key.name)) reply.skipped.push_back(key.name);
  }
  if (!reply.skipped.empty() && !request.skip_existing) clash(reply.skipped);
  std::vector<StoredKey> stored;
  for (proto::BackupKey& key : keys) {
    if (!existing.contains(key.name)) stored.push_back(stored_key(key, reply.notes));
  }
  keys.clear();
  reply.restored = vault_.add(std::move(stored));
  std::vector<std::string> restored;
  restored.reserve(reply.restored.size());
  for (const proto::KeyInfo& key : reply.restored) restored.push_back(key.name);
  call.rule = std::to_string(restored.size()) + (restored.size() == 1 ? " key" : " keys");
  if (!restored.empty()) call.rule += ": " + joined(restored);
  if (!reply.skipped.empty()) call.rule += "; skipped: " + joined(reply.skipped);
  spdlog::info("restore of {} by uid {} pid {}", call.rule, call.peer.uid, call.peer.pid);
  for (const std::string& note : reply.notes) spdlog::warn("restore: {}", note);
  return call.reply(http::status::ok, proto::encode(reply));
}

namespace {

// The vault's host key, or why there is none.
Vault::HostKeyPair host_key_of(const Vault& vault) {
  std::optional<Vault::HostKeyPair> pair = vault.host_key();
  if (pair) return std::move(*pair);
  if (vault.locked())
    throw Error(Code::vault_locked, "the vault is locked; an admin can unlock it with: okx-vault unlock");
  throw Error(Code::io_error,
              "the vault has no host key yet: its store, from before audit keys, could not be written since the "
              "vault was unlocked; free space in the state directory and unlock it again");
}

}  // namespace

Response Handler::host_key(Call& call, NoInput&) const {
  return call.reply(http::status::ok,
                    proto::encode(proto::HostKeyReply{proto::encode_host_key(host_key_of(vault_).public_key)}));
}

proto::AddKeyRequest Handler::read_import(Call& call) const {
  const proto::ImportRequest request = proto::decode_import_request(call.request.body());
  const Vault::HostKeyPair host = host_key_of(vault_);
  return proto::open_sealed_key(request.sealed, host.public_key, host.secret_key);
}

Response Handler::metrics_report(Call& call, NoInput&) const {
  Response response =
      call.reply(http::status::ok, metrics_.render(vault_.counts(), vault_.locked(), vault_.limit_refusals()));
  response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  return response;
}

Response Handler::list(Call& call, NoInput&) const {
  return call.reply(http::status::ok, proto::encode(vault_.list(call.caller)));
}

proto::AddKeyRequest Handler::read_add(Call& call) const { return proto::decode_add_key(call.request.body()); }

void Handler::read_done(Call& call, const proto::AddKeyRequest& add) const { call.key = add.name; }

Response Handler::add(Call& call, proto::AddKeyRequest& add) const {
  const proto::KeyInfo added = vault_.add(add);
  call.rule = add.simulated ? "demo key" : "live key";
  spdlog::info("key '{}' added ({}) by uid {} pid {}", add.name, add.simulated ? "demo" : "live", call.peer.uid,
               call.peer.pid);
  return call.reply(http::status::created, proto::encode(added));
}

proto::UpdateKeyRequest Handler::read_update(Call& call) const { return proto::decode_update_key(call.request.body()); }

Response Handler::update(Call& call, proto::UpdateKeyRequest& update) const {
  const proto::KeyInfo updated = vault_.update(call.name, update);
  call.rule = std::string(updated.simulated ? "demo key" : "live key") + ", api key " + updated.api_key;
  spdlog::info("key '{}' updated to api key {} by uid {} pid {}", call.name, updated.api_key, call.peer.uid,
               call.peer.pid);
  return call.reply(http::status::ok, proto::encode(updated));
}

Response Handler::remove(Call& call, NoInput&) const {
  vault_.remove(call.name);
  spdlog::info("key '{}' revoked by uid {} pid {}", call.name, call.peer.uid, call.peer.pid);
  return call.reply(http::status::no_content);
}

Response Handler::get_grants(Call& call, NoInput&) const {
  std::vector<proto::GrantInfo> infos;
  for (const Grant& grant : vault_.grants(call.name)) infos.push_back(to_info(grant));
  return call.reply(http::status::ok, proto::encode(infos));
}

Handler::GrantsChange Handler::read_grants(Call& call) const {
  GrantsChange change;
  for (const proto::GrantInfo& info : proto::decode_grants(call.request.body())) {
    change.grants.push_back(to_grant(info));
    change.limits_stated.push_back(info.limits_stated);
  }
  for (const Grant& grant : change.grants) call.rule += (call.rule.empty() ? "" : ", ") + grant.who();
  return change;
}

Response Handler::put_grants(Call& call, GrantsChange& change) const {
  // A client that does not know trading limits sends a grant without them: it
  // must not drop the limits the grant has now (null removes them). Changes run
  // one at a time, so the grants read here are the ones replaced; a locked vault
  // is refused by set_grants.
  const bool unstated = std::find(change.limits_stated.begin(), change.limits_stated.end(), false) !=
                        change.limits_stated.end();
  if (unstated && !vault_.locked()) {
    const std::vector<Grant> current = vault_.grants(call.name);
    for (std::size_t i = 0; i < change.grants.size(); ++i) {
      const Grant& given = change.grants[i];
      const auto limited = std::find_if(current.begin(), current.end(), [&](const Grant& g) {
        return g.kind == given.kind && g.id == given.id && g.limits;
      });
      if (!change.limits_stated[i] && limited != current.end()) {
        throw Error(Code::bad_request, "the grant of " + limited->who() +
                                           " has trading limits, and this request does not say them (a client that "
                                           "does not know them would drop them): send its \"limits\", or null to "
                                           "remove them");
      }
    }
  }
  vault_.set_grants(call.name, change.grants);
  std::vector<proto::GrantInfo> infos;
  infos.reserve(change.grants.size());
  for (const Grant& grant : change.grants) infos.push_back(to_info(grant));
  spdlog::info("grants of key '{}' set to [{}] by uid {} pid {}", call.name, call.rule, call.peer.uid, call.peer.pid);
  return call.reply(http::status::ok, proto::encode(infos));
}

std::string Handler::timestamp(const std::optional<std::string>& requested, bool epoch) const {
  const Clock::time_point now = Clock::now();
  if (!requested) return epoch ? epoch_seconds(now) : iso8601_ms(now);
  const Clock::time_point asked = epoch ? parse_epoch_seconds(*requested) : parse_iso8601_ms(*requested);
  const auto skew = std::chrono::abs(std::chrono::duration_cast<std::chrono::milliseconds>(asked - now));
  if (skew > options_.max_skew) {
    throw Error(Code::timestamp_skew, "timestamp is " + std::to_string(skew.count()) +
                                          " ms away from the daemon's clock (limit " +
                                          std::to_string(options_.max_skew.count()) + " ms)");
  }
  return *requested;
}

Handler::SignInput Handler::read_sign(Call& call) const {
  SignInput input{proto::decode_sign(call.request.body()), {}};
  validate_sign_request(input.request.method, input.request.path, input.request.body);
  input.timestamp = timestamp(input.request.timestamp, false);
  return input;
}

// Read, a sign or ws-login is a decision about a key: audited from here on, and
// refused while the audit log cannot be written.
void Handler::read_done(Call& call, const SignInput& input) const {
  call.method = input.request.method;
  call.path = input.request.path;
  call.audited = true;
  audit_.require_writable();
}

Response Handler::sign(Call& call, SignInput& input) const {
  Vault::Signed signed_request = vault_.sign(call.name, call.caller, input.timestamp, input.request.method,
                                             input.request.path, input.request.body);
  call.rule = std::move(signed_request.rule);
  return call.reply(http::status::ok, std::move(signed_request.body));
}

Handler::WsLoginInput Handler::read_ws_login(Call& call) const {
  return {timestamp(proto::decode_ws_login(call.request.body()).timestamp, true)};
}

void Handler::read_done(Call& call, const WsLoginInput&) const {
  call.method = "GET";
  call.path = "/users/self/verify";
  call.audited = true;
  audit_.require_writable();
}

Response Handler::ws_login(Call& call, WsLoginInput& input) const {
  Vault::Signed login = vault_.ws_login(call.name, call.caller, input.timestamp);
  call.rule = std::move(login.rule);
  return call.reply(http::status::ok, std::move(login.body));
}

}  // namespace okxvault
