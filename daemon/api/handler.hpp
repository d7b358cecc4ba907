#pragma once
// The request handler: a plain function from one HTTP request and the peer's
// kernel-verified credentials to one response. It does no socket I/O, so it is
// tested without a socket; the server calls it from any thread (it is
// thread-safe because the Vault and the Audit are). Every failure converges on
// one error reply; every decision about a key is audited.

#include <sys/types.h>

#include <boost/beast/http.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>

#include "common/error.hpp"
#include "daemon/api/metrics.hpp"
#include "daemon/api/response.hpp"
#include "daemon/audit/audit.hpp"
#include "daemon/core/passphrase_gate.hpp"
#include "daemon/core/peer.hpp"
#include "daemon/core/vault.hpp"
#include "proto/backup.hpp"

namespace okxvault {

struct HandlerOptions {
  std::chrono::milliseconds max_skew{30'000};
  uid_t daemon_uid = 0;
  std::optional<gid_t> admin_group;  // members are admins too
  // The master key file that key-file rotation replaces and rekey reads; a
  // systemd credential is read-only, so rotation is refused for it.
  std::filesystem::path key_file;
  bool key_file_is_credential = false;
  store::PassphraseCost passphrase_cost = store::kDefaultPassphraseCost;
  // The daemon's separate admin socket, if it has one: named to a caller
  // refused an admin call on another socket. Empty: not known.
  std::filesystem::path admin_socket;
  // The Argon2id cost backups are sealed with (proto/backup.hpp).
  proto::BackupCost backup_cost = proto::kBackupCost;
};

// Hands the audit log the vault's audit key, once the vault is unlocked: its
// lines are keyed from then on. A store that cannot be written to hold a new key
// leaves the lines unkeyed, with a warning, until a later unlock.
void key_audit_log(Vault& vault, Audit& audit);

class Handler {
 public:
  Handler(Vault& vault, Audit& audit, HandlerOptions options);

  // Never throws. Wipes the request body, once read, when it may carry secrets. On a socket
  // that is not an admin channel (when a separate admin socket exists), nobody
  // is an admin. After a wrong passphrase, `hold` (if given) says how long the
  // server should hold the reply; without it the reply is not delayed.
  Response handle(Request& request, const Peer& peer, bool admin_channel = true,
                  std::chrono::milliseconds* hold = nullptr) const;

  // The error reply, also used by the server for requests it could not read.
  static Response error_response(const Error& error, unsigned http_version, bool keep_alive);

  // Admins: root, the daemon's own uid, members of the admin group.
  bool is_admin(const Peer& peer) const;

  // Whether handle() would run an admin's change to the vault: a store write
  // with fsync, Argon2id for some. The server runs these off its I/O loops.
  // `admin`: as for handle(), the channel's and the peer's together.
  bool changes_vault(const Request& request, bool admin) const;

  // For the server, once a reply is written: the audit lines due go out now,
  // off the reply's path.
  void after_reply() const { audit_.write_due(); }

  // The counters behind GET /v1/metrics; the server adds connections and latency.
  Metrics& metrics() const { return metrics_; }

 private:
  struct Call;
  // A route's path, in which `{name}` stands for one path segment (possibly
  // empty). It is split there when the table is compiled, so that a path is
  // matched by comparisons alone.
  struct PathPattern {
    std::string_view before;  // the whole path when there is no `{name}`
    std::string_view after;
    bool has_name = false;
    // NOLINTNEXTLINE(google-explicit-constructor): the table's patterns are string literals
    consteval PathPattern(const char* pattern) : before(pattern) {
      constexpr std::string_view kName = "{name}";
      const std::size_t at = before.find(kName);
      if (at == std::string_view::npos) return;
      after = before.substr(at + kName.size());
      before = before.substr(0, at);
      has_name = true;
    }
    // Whether `path` is this pattern; if so, `name` is the segment `{name}` stood for.
    bool matches(std::string_view path, std::string_view& name) const;
  };
  // What may be asked, by whom, in which state of the vault, and what the audit
  // log calls it. An admin-only route audits its refusals and every failure, a
  // route with an action audits its success too (sign and ws-login: their
  // failures once the request is read, as decisions about a key). A route that
  // needs the vault unlocked is refused before it acts; the slot changes leave that
  // check to the vault, after the passphrase gate, which counts a wrong
  // passphrase whatever the vault's state.
  struct Route {
    boost::beast::http::verb method;
    PathPattern pattern;
    bool admin_only = false;
    bool needs_unlocked = false;
    std::string_view action;      // in the audit log; empty: not audited
    bool audit_success = false;   // else only refusals and failures
    bool carries_secret = false;  // the body may: it is wiped once read
    Response (*serve)(const Handler&, Call&) = nullptr;
  };
  static const Route kRoutes[];

  struct SignInput;
  struct WsLoginInput;
  struct NoInput {};
  // The one dispatch point: the route of the method and path (404, or 405 with
  // Allow), then serve().
  Response dispatch(Call& call) const;
  // The life of one routed request, the same for every route: the admin check,
  // Read (decode and validate the body), the lock check, Act, and exactly one
  // audit line for an audited route, whether it succeeds or fails.
  template <auto Read, auto Act>
  static Response serve(const Handler& self, Call& call);
  void require_admin(Call& call) const;
  void require_unlocked(const Call& call) const;
  void audit_failure(Call& call, const Error& error) const;

  NoInput no_input(Call&) const { return {}; }
  // After Read, before the lock check: what the request as read adds to its audit line.
  template <typename Input>
  void read_done(Call&, const Input&) const {}
  void read_done(Call& call, const proto::AddKeyRequest& add) const;
  void read_done(Call& call, const SignInput& input) const;
  void read_done(Call& call, const WsLoginInput& input) const;
  Response status(Call& call, NoInput&) const;
  Response list(Call& call, NoInput&) const;
  proto::AddKeyRequest read_add(Call& call) const;
  Response add(Call& call, proto::AddKeyRequest& add) const;
  proto::UpdateKeyRequest read_update(Call& call) const;
  Response update(Call& call, proto::UpdateKeyRequest& update) const;
  Response remove(Call& call, NoInput&) const;
  Response get_grants(Call& call, NoInput&) const;
  // A PUT's grants, and for each whether it said "limits" (GrantInfo::limits_stated).
  struct GrantsChange {
    std::vector<Grant> grants;
    std::vector<bool> limits_stated;
  };
  GrantsChange read_grants(Call& call) const;
  Response put_grants(Call& call, GrantsChange& change) const;
  SignInput read_sign(Call& call) const;
  Response sign(Call& call, SignInput& input) const;
  WsLoginInput read_ws_login(Call& call) const;
  Response ws_login(Call& call, WsLoginInput& input) const;
  Response lock(Call& call, NoInput&) const;
  // Unlock and the slot changes: the body's passphrases in guarded memory. A
  // request that presents the current passphrase goes through the gate.
  proto::PassphraseRequest read_passphrases(Call& call) const;
  Response unlock(Call& call, proto::PassphraseRequest& body) const;
  Response set_passphrase(Call& call, proto::PassphraseRequest& body) const;
  Response remove_passphrase(Call& call, proto::PassphraseRequest& body) const;
  Response rotate_key_file(Call& call, proto::PassphraseRequest& body) const;
  Response rekey(Call& call, proto::PassphraseRequest& body) const;
  Response slot_change(Call& call, const proto::PassphraseRequest& body, const std::function<void()>& change) const;
  // Backup and restore: the sealed file's Argon2id runs outside the vault's locks.
  proto::BackupRequest read_backup(Call& call) const;
  Response backup(Call& call, proto::BackupRequest& request) const;
  proto::RestoreRequest read_restore(Call& call) const;
  Response restore(Call& call, proto::RestoreRequest& request) const;
  // Keys sealed to the vault: its public key, and a sealed key opened into an
  // add's request, which add() then serves as it serves an add.
  Response host_key(Call& call, NoInput&) const;
  proto::AddKeyRequest read_import(Call& call) const;
  Response metrics_report(Call& call, NoInput&) const;
  Response verify_audit(Call& call, NoInput&) const;
  // The timestamp to sign with: the client's if within max_skew of now, else now.
  std::string timestamp(const std::optional<std::string>& requested, bool epoch_seconds) const;

  Vault& vault_;
  Audit& audit_;
  HandlerOptions options_;
  mutable PassphraseGate gate_;
  mutable Metrics metrics_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace okxvault
