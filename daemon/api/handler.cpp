#include "daemon/api/handler.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "daemon/os/accounts.hpp"
#include "daemon/store/store_file.hpp"
#include "proto/messages.hpp"

namespace okxvault {
namespace http = boost::beast::http;

namespace {

constexpr std::string_view kKeysPrefix = "/v1/keys/";
// The audit rule of a change that took effect in memory but not on disk.
constexpr std::string_view kNotPersisted = "in memory only: the store could not be written";

// A body that carried secrets is wiped (cleared: it wipes itself) whatever happens next.
struct WipeOnExit {
  WipingString& body;
  ~WipeOnExit() { body.clear(); }
};
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
  if (!found) throw Error(Code::bad_request, "no such " + std::string(grant.kind == Grant::Kind::user ? "user" : "group") + ": " + info.name);
  grant.read_only = info.read_only;
  if (info.expires) grant.expires_ms = unix_ms(parse_iso8601_ms(*info.expires));
  for (const auto& text : info.allow) grant.allow.push_back(Rule::parse(text));
  for (const auto& text : info.deny) grant.deny.push_back(Rule::parse(text));
  grant.ws = info.ws;
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
  return info;
}

}  // namespace

// One request in flight: what the handlers need, in one place.
struct Handler::Call {
  Request& request;
  const Peer& peer;
  Caller caller;
  std::chrono::milliseconds hold{0};

  // Text that carries no secret (metadata, status) is copied in.
  Response reply(http::status status, std::string_view text) const { return reply(status, WipingString(text)); }
  Response reply(http::status status, WipingString body = {}) const {
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

Handler::Handler(Vault& vault, Audit& audit, HandlerOptions options)
    : vault_(vault), audit_(audit), options_(options) {}

Response Handler::error_response(const Error& error, unsigned http_version, bool keep_alive) {
  Response response{static_cast<http::status>(http_status(error.code())), http_version};
  response.set(http::field::content_type, "application/json");
  response.keep_alive(keep_alive);
  response.body() = proto::encode(proto::ErrorReply{error.code(), error.what(), error.rule()});
  response.prepare_payload();
  return response;
}

bool Handler::carries_secret(std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  return path == "/v1/keys" || path == "/v1/unlock" || path == "/v1/slots/passphrase" || path == "/v1/rekey";
}

bool Handler::is_admin(const Peer& peer) const {
  return peer.uid == 0 || peer.uid == options_.daemon_uid ||
         (options_.admin_group && peer.in_group(*options_.admin_group));
}

Response Handler::handle(Request& request, const Peer& peer, bool admin_channel,
                         std::chrono::milliseconds* hold) const {
  Call call{request, peer, Caller{peer, admin_channel && is_admin(peer)}};
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

void Handler::require_admin(Call& call, std::string_view action, std::string_view key) const {
  if (call.caller.admin) return;
  audit_.record(call.peer, {action, key, {}, {}, false, "admin only"});
  throw Error(Code::forbidden, "uid " + std::to_string(call.peer.uid) + " is not an admin of this vault");
}

Response Handler::dispatch(Call& call) const {
  const std::string_view target = call.request.target();
  // Errors echo the target and the audit log records its key name, both as JSON:
  // bytes outside printable ASCII (which no URI has) would make them invalid UTF-8.
  if (!printable_ascii(target)) throw Error(Code::bad_request, "the request target must be printable ASCII");
  const std::string_view path = target.substr(0, target.find('?'));
  const http::verb verb = call.request.method();
  const auto not_allowed = [&](std::string_view allowed) {
    metrics_.count_error(Code::method_not_allowed);
    Response response = error_response(
        Error(Code::method_not_allowed, "method " + std::string(call.request.method_string()) + " is not allowed here"),
        call.request.version(), call.request.keep_alive());
    response.set(http::field::allow, allowed);
    return response;
  };

  if (path == "/v1/status") return verb == http::verb::get ? status(call) : not_allowed("GET");
  if (path == "/v1/lock") return verb == http::verb::post ? lock(call) : not_allowed("POST");
  if (path == "/v1/unlock") {
    if (verb != http::verb::post) return not_allowed("POST");
    return vault_change(call, "unlock", [&](const proto::PassphraseRequest& body) {
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
  if (path == "/v1/slots/passphrase") {
    if (verb == http::verb::put) {
      return vault_change(call, "set-passphrase", [&](const proto::PassphraseRequest& body) {
        if (body.new_passphrase.empty()) throw Error(Code::bad_request, "passphrase: missing field 'new_passphrase'");
        vault_.set_passphrase(body.passphrase.empty() ? nullptr : &body.passphrase, body.new_passphrase,
                              options_.passphrase_cost);
      });
    }
    if (verb == http::verb::delete_) {
      return vault_change(call, "remove-passphrase", [&](const proto::PassphraseRequest& body) {
        if (body.passphrase.empty()) throw Error(Code::bad_request, "passphrase: missing field 'passphrase'");
        vault_.remove_passphrase(body.passphrase);
      });
    }
    return not_allowed("PUT, DELETE");
  }
  if (path == "/v1/slots/key-file/rotate") {
    if (verb != http::verb::post) return not_allowed("POST");
    return vault_change(call, "rotate-key-file", [&](const proto::PassphraseRequest&) {
      if (options_.key_file_is_credential) {
        throw Error(Code::bad_request,
                    "the master key comes from a systemd credential, which the daemon cannot replace; "
                    "see README.md, \"Rotating a credential\"");
      }
      vault_.rotate_key_file(options_.key_file);
    });
  }
  if (path == "/v1/rekey") {
    if (verb != http::verb::post) return not_allowed("POST");
    return vault_change(call, "rekey", [&](const proto::PassphraseRequest& body) {
      vault_.rekey(body.passphrase.empty() ? nullptr : &body.passphrase, options_.key_file);
    });
  }
  if (path == "/v1/metrics") return verb == http::verb::get ? metrics_report(call) : not_allowed("GET");
  if (path == "/v1/audit/verify") return verb == http::verb::get ? verify_audit(call) : not_allowed("GET");
  if (path == "/v1/keys") {
    if (verb == http::verb::get) return list(call);
    if (verb == http::verb::post) return add(call);
    return not_allowed("GET, POST");
  }
  if (!path.starts_with(kKeysPrefix)) throw Error(Code::not_found, "no such endpoint: " + std::string(path));

  const std::string_view rest = path.substr(kKeysPrefix.size());
  const std::size_t slash = rest.find('/');
  const std::string_view name = rest.substr(0, slash);
  if (slash == std::string_view::npos) return verb == http::verb::delete_ ? remove(call, name) : not_allowed("DELETE");
  const std::string_view action = rest.substr(slash + 1);
  if (action == "sign") return verb == http::verb::post ? sign(call, name) : not_allowed("POST");
  if (action == "ws-login") return verb == http::verb::post ? ws_login(call, name) : not_allowed("POST");
  if (action == "grants") {
    if (verb == http::verb::get) return get_grants(call, name);
    if (verb == http::verb::put) return put_grants(call, name);
    return not_allowed("GET, PUT");
  }
  throw Error(Code::not_found, "no such endpoint: " + std::string(path));
}

void key_audit_log(Vault& vault, Audit& audit) {
  try {
    if (std::optional<SecretBytes> key = vault.audit_key()) audit.use_key(std::move(*key));
  } catch (const Error& e) {
    spdlog::warn("audit log lines stay unkeyed: {}", e.what());
  }
}

Response Handler::verify_audit(Call& call) const {
  require_admin(call, "audit-verify", {});
  const Vault::AuditAnchor anchor = vault_.audit_anchor();
  std::optional<std::string_view> head;
  if (anchor.line > 0) head = anchor.hash;
  return call.reply(http::status::ok, proto::encode(audit_.verify(head)));
}

Response Handler::status(Call& call) const {
  const auto uptime = std::chrono::steady_clock::now() - started_;
  // A non-admin counts only the keys it sees in GET /v1/keys: how many others exist is not its business.
  const std::size_t keys = call.caller.admin ? vault_.size() : vault_.list(call.caller).size();
  proto::StatusReply reply{std::string(proto::kVersion), vault_.locked(), keys,
                           static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(uptime).count()),
                           vault_.slots()};
  return call.reply(http::status::ok, proto::encode(reply));
}

Response Handler::lock(Call& call) const {
  require_admin(call, "lock", {});
  try {
    vault_.lock();
  } catch (const Error& e) {
    not_persisted(call, e, "lock", {});
    throw;
  }
  audit_.record(call.peer, {"lock", {}, {}, {}, true, {}});
  spdlog::info("vault locked by uid {} pid {}; secrets wiped", call.peer.uid, call.peer.pid);
  return status(call);
}

Response Handler::vault_change(Call& call, std::string_view action,
                               const std::function<void(const proto::PassphraseRequest&)>& change) const {
  const WipeOnExit wipe_body{call.request.body()};
  require_admin(call, action, {});
  try {
    const proto::PassphraseRequest body = proto::decode_passphrases(call.request.body());
    if (body.passphrase.empty()) {
      change(body);
    } else {
      gate_.run([&] { change(body); }, call.hold);
    }
  } catch (const Error& e) {
    audit_.record(call.peer, {action, {}, {}, {}, false, code_name(e.code())});
    spdlog::warn("{} refused for uid {} pid {}: {}", action, call.peer.uid, call.peer.pid, code_name(e.code()));
    throw;
  }
  audit_.record(call.peer, {action, {}, {}, {}, true, {}});
  spdlog::info("{} done by uid {} pid {}", action, call.peer.uid, call.peer.pid);
  return status(call);
}

Response Handler::metrics_report(Call& call) const {
  require_admin(call, "metrics", {});
  Response response = call.reply(http::status::ok, metrics_.render(vault_.counts(), vault_.locked()));
  response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  return response;
}

Response Handler::list(Call& call) const { return call.reply(http::status::ok, proto::encode(vault_.list(call.caller))); }

Response Handler::add(Call& call) const {
  const WipeOnExit wipe_body{call.request.body()};
  require_admin(call, "add", {});
  const proto::AddKeyRequest add = proto::decode_add_key(call.request.body());
  const proto::KeyInfo added = vault_.add(add);
  audit_.record(call.peer, {"add", add.name, {}, {}, true, add.simulated ? "demo key" : "live key"});
  spdlog::info("key '{}' added ({}) by uid {} pid {}", add.name, add.simulated ? "demo" : "live", call.peer.uid,
               call.peer.pid);
  return call.reply(http::status::created, proto::encode(added));
}

void Handler::not_persisted(Call& call, const Error& error, std::string_view action, std::string_view key,
                            std::string_view what) const {
  if (error.code() != Code::not_persisted) return;
  const std::string rule = what.empty() ? std::string(kNotPersisted) : std::string(what).append("; ").append(kNotPersisted);
  audit_.record(call.peer, {action, key, {}, {}, true, rule});
  spdlog::error("{} {}by uid {} pid {} is in effect in memory only: {}", action,
                key.empty() ? std::string() : "of key '" + std::string(key) + "' ", call.peer.uid, call.peer.pid,
                error.what());
}

Response Handler::remove(Call& call, std::string_view name) const {
  require_admin(call, "revoke", name);
  try {
    vault_.remove(name);
  } catch (const Error& e) {
    not_persisted(call, e, "revoke", name);
    throw;
  }
  audit_.record(call.peer, {"revoke", name, {}, {}, true, {}});
  spdlog::info("key '{}' revoked by uid {} pid {}", name, call.peer.uid, call.peer.pid);
  return call.reply(http::status::no_content);
}

Response Handler::get_grants(Call& call, std::string_view name) const {
  require_admin(call, "grants", name);
  std::vector<proto::GrantInfo> infos;
  for (const Grant& grant : vault_.grants(name)) infos.push_back(to_info(grant));
  return call.reply(http::status::ok, proto::encode(infos));
}

Response Handler::put_grants(Call& call, std::string_view name) const {
  require_admin(call, "set-grants", name);
  std::vector<Grant> grants;
  for (const proto::GrantInfo& info : proto::decode_grants(call.request.body())) grants.push_back(to_grant(info));
  std::string summary;
  for (const Grant& grant : grants) summary += (summary.empty() ? "" : ", ") + grant.who();
  try {
    vault_.set_grants(name, grants);
  } catch (const Error& e) {
    not_persisted(call, e, "set-grants", name, summary);
    throw;
  }
  std::vector<proto::GrantInfo> infos;
  for (const Grant& grant : grants) infos.push_back(to_info(grant));
  audit_.record(call.peer, {"set-grants", name, {}, {}, true, summary});
  spdlog::info("grants of key '{}' set to [{}] by uid {} pid {}", name, summary, call.peer.uid, call.peer.pid);
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

Response Handler::sign(Call& call, std::string_view name) const {
  const proto::SignRequest request = proto::decode_sign(call.request.body());
  validate_sign_request(request.method, request.path, request.body);
  const std::string ts = timestamp(request.timestamp, false);
  try {
    audit_.require_writable();
    Vault::Signed signed_request = vault_.sign(name, call.caller, ts, request.method, request.path, request.body);
    audit_.record(call.peer, {"sign", name, request.method, request.path, true, signed_request.rule});
    return call.reply(http::status::ok, std::move(signed_request.body));
  } catch (const Error& e) {
    audit_.record(call.peer, {"sign", name, request.method, request.path, false,
                              e.rule().empty() ? code_name(e.code()) : std::string_view(e.rule())});
    throw;
  }
}

Response Handler::ws_login(Call& call, std::string_view name) const {
  const proto::WsLoginRequest request = proto::decode_ws_login(call.request.body());
  const std::string ts = timestamp(request.timestamp, true);
  try {
    audit_.require_writable();
    Vault::Signed login = vault_.ws_login(name, call.caller, ts);
    audit_.record(call.peer, {"ws-login", name, "GET", "/users/self/verify", true, login.rule});
    return call.reply(http::status::ok, std::move(login.body));
  } catch (const Error& e) {
    audit_.record(call.peer, {"ws-login", name, "GET", "/users/self/verify", false,
                              e.rule().empty() ? code_name(e.code()) : std::string_view(e.rule())});
    throw;
  }
}

}  // namespace okxvault
