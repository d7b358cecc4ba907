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

#include "daemon/audit/audit.hpp"
#include "daemon/core/passphrase_gate.hpp"
#include "daemon/api/metrics.hpp"
#include "daemon/api/response.hpp"
#include "daemon/core/peer.hpp"
#include "daemon/core/vault.hpp"
#include "common/error.hpp"

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
};


// Hands the audit log the vault's audit key, once the vault is unlocked: its
// lines are keyed from then on. A store that cannot be written to hold a new key
// leaves the lines unkeyed, with a warning, until a later unlock.
void key_audit_log(Vault& vault, Audit& audit);

class Handler {
 public:
  Handler(Vault& vault, Audit& audit, HandlerOptions options);

  // Never throws. Wipes the request body when it carried secrets. On a socket
  // that is not an admin channel (when a separate admin socket exists), nobody
  // is an admin. After a wrong passphrase, `hold` (if given) says how long the
  // server should hold the reply; without it the reply is not delayed.
  Response handle(Request& request, const Peer& peer, bool admin_channel = true,
                  std::chrono::milliseconds* hold = nullptr) const;

  // The error reply, also used by the server for requests it could not read.
  static Response error_response(const Error& error, unsigned http_version, bool keep_alive);

  // Whether a request to this target may carry a secret in its body (add,
  // unlock, the passphrase calls, rekey): the server wipes what it read of it.
  static bool carries_secret(std::string_view target);

  // Admins: root, the daemon's own uid, members of the admin group.
  bool is_admin(const Peer& peer) const;

  // For the server, once a reply is written: the audit lines due go out now,
  // off the reply's path.
  void after_reply() const { audit_.write_due(); }

  // The counters behind GET /v1/metrics; the server adds connections and latency.
  Metrics& metrics() const { return metrics_; }

 private:
  struct Call;
  Response dispatch(Call& call) const;
  Response status(Call& call) const;
  Response list(Call& call) const;
  Response add(Call& call) const;
  Response remove(Call& call, std::string_view name) const;
  Response get_grants(Call& call, std::string_view name) const;
  Response put_grants(Call& call, std::string_view name) const;
  Response sign(Call& call, std::string_view name) const;
  Response ws_login(Call& call, std::string_view name) const;
  Response lock(Call& call) const;
  // Unlock and the slot changes: admin only, the body's passphrases in guarded
  // memory and wiped, every attempt audited. A request that presents the
  // current passphrase goes through the gate.
  Response vault_change(Call& call, std::string_view action,
                        const std::function<void(const proto::PassphraseRequest&)>& change) const;
  Response metrics_report(Call& call) const;
  Response verify_audit(Call& call) const;
  void require_admin(Call& call, std::string_view action, std::string_view key) const;
  // For a revoke, grant change or lock that failed: if only its write did
  // (not_persisted), the change is in effect and is audited and logged as such.
  void not_persisted(Call& call, const Error& error, std::string_view action, std::string_view key,
                     std::string_view what = {}) const;
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
