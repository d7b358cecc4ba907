#pragma once
// Request and reply types of the /v1 protocol and their JSON codec, shared by the
// daemon and the clients. proto/PROTOCOL.md is the normative description; this is
// its only implementation. All functions are thread-safe.
//
// Decoders of requests (the daemon's) are strict: a missing or mistyped field,
// or a field the protocol does not know, is an Error (bad_request). Decoders of
// replies (the clients') ignore fields they do not know, as PROTOCOL.md asks, so
// that a client keeps working with a newer daemon; a missing or mistyped field
// is still an Error (bad_request). Text that is not JSON is an Error
// (invalid_json) for both.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "common/secret.hpp"
#include "proto/audit_chain.hpp"
#include "proto/limits.hpp"

namespace okxvault::proto {

inline constexpr std::string_view kVersion = OKXVAULT_VERSION;
inline constexpr std::string_view kDefaultSocket = "/run/okx-vault/okx-vault.sock";
inline constexpr std::string_view kSocketEnv = "OKX_VAULT_SOCKET";
inline constexpr std::size_t kMaxBodyBytes = 64 * 1024;
inline constexpr std::size_t kMaxHeaderBytes = 8 * 1024;

struct StatusReply {
  std::string version;
  bool locked = false;
  std::uint64_t keys = 0;
  std::uint64_t uptime_seconds = 0;
  std::vector<std::string> slots;  // what can open the vault: "key_file", "passphrase"
};

// The body of unlock, passphrase and rekey calls. An empty SecretBytes means
// the field was absent; which fields a call needs is up to the call.
struct PassphraseRequest {
  SecretBytes passphrase;      // the current vault passphrase
  SecretBytes new_passphrase;  // the one to set
};

struct KeyInfo {
  std::string name;
  std::string api_key;  // masked: "37c5…8418"
  bool simulated = false;
  std::string created;                   // ISO 8601 UTC
  std::optional<std::string> last_used;  // ISO 8601 UTC, absent if never used
  std::uint64_t sign_count = 0;
  std::optional<std::string> expires;  // ISO 8601 UTC, absent if the key never expires
  std::uint64_t grants = 0;            // number of grants on the key
};

struct AddKeyRequest {
  std::string name;
  std::string api_key;
  SecretBytes secret;
  SecretBytes passphrase;
  bool simulated = false;
  std::optional<std::string> expires;  // ISO 8601 UTC with milliseconds
};

// A key's new credentials (PUT /v1/keys/{name}/credentials). `simulated` is
// required and must be the key's own flag: an update never turns a demo key
// into a live one, or back, without the caller saying which it is.
struct UpdateKeyRequest {
  std::string api_key;
  SecretBytes secret;
  SecretBytes passphrase;
  bool simulated = false;
};

// POST /v1/backup: the passphrase the backup is sealed under (proto/backup.hpp),
// and the keys it takes (by name; none: every key).
struct BackupRequest {
  SecretBytes passphrase;
  std::vector<std::string> keys;
};

// The sealed backup (base64 on the wire) and how many keys it holds.
struct BackupReply {
  std::vector<unsigned char> backup;
  std::uint64_t keys = 0;
};

// POST /v1/restore: a sealed backup (base64 on the wire), its passphrase, and how
// to resolve names the vault has already: restore a key under another name
// (`rename`, from the backup's name to the new one), or leave it out.
struct Rename {
  std::string from;
  std::string to;
};
struct RestoreRequest {
  std::vector<unsigned char> backup;
  SecretBytes passphrase;
  std::vector<Rename> rename;
  bool skip_existing = false;
};

// The keys restored, by the names they have now; the backup's keys left out
// because the vault has their names; what a person should know (a grant whose
// user has another id on this host).
struct RestoreReply {
  std::vector<KeyInfo> restored;
  std::vector<std::string> skipped;
  std::vector<std::string> notes;
};

// GET /v1/host-key: the vault's X25519 public key, base64 (proto/sealed_key.hpp).
struct HostKeyReply {
  std::string public_key;
};

// POST /v1/import: a key sealed to this vault, the text okx-vault seal wrote.
struct ImportRequest {
  std::string sealed;
};

// Who may sign with a key, and what. On the wire one of "user" or "group" names
// the principal; replies add the resolved numeric "id".
struct GrantInfo {
  enum class Kind { user, group };
  Kind kind = Kind::user;
  std::string name;  // user or group name, or a decimal id
  std::optional<std::uint32_t> id;
  bool read_only = false;
  std::optional<std::string> expires;  // ISO 8601 UTC with milliseconds
  std::vector<std::string> allow;      // "METHOD PATH-PREFIX"
  std::vector<std::string> deny;
  bool ws = false;               // may fetch WebSocket login frames: off unless asked for
  std::optional<Limits> limits;  // trading limits; absent: none
  // Whether a decoded grant had a "limits" member at all (null counts): a
  // client that does not know trading limits leaves it out, and the daemon
  // will not let such a client drop a grant's limits. Encoders always write it.
  bool limits_stated = true;
};

struct SignRequest {
  std::string method;
  std::string path;  // request path with its query string, as it will be sent
  std::string body;  // exact bytes of the body that will be sent; "" for none
  std::optional<std::string> timestamp;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// A sign reply as a client decodes it.
struct SignReply {
  std::string timestamp;
  Headers headers;
};

struct WsLoginRequest {
  std::optional<std::string> timestamp;  // Unix epoch seconds
};

// The ready OKX login frame: {"op":"login","args":[{apiKey,passphrase,timestamp,sign}]},
// as a client decodes it.
struct WsLoginFrame {
  std::string api_key;
  std::string passphrase;
  std::string timestamp;
  std::string sign;
};

// The same two replies as the daemon writes them: views of what it holds, so
// that the passphrase goes from guarded memory into the reply body and nowhere
// else. Their encoders size the body before writing its first byte, so it is
// never reallocated (which would free a copy unwiped); the daemon wipes it
// after sending.
struct HeaderView {
  std::string_view name;
  std::string_view value;
};

struct SignReplyView {
  std::string_view timestamp;
  std::span<const HeaderView> headers;
};

struct WsLoginFrameView {
  std::string_view api_key;
  std::string_view passphrase;
  std::string_view timestamp;
  std::string_view sign;
};

struct ErrorReply {
  Code code = Code::internal;
  std::string message;
  std::string rule;  // for policy_denied and key_expired; empty otherwise
};

std::string encode(const StatusReply& reply);
std::string encode(const KeyInfo& key);
std::string encode(const std::vector<KeyInfo>& keys);
std::string encode(const SignRequest& request);
// The two replies that carry a passphrase: in text that wipes itself.
WipingString encode(const SignReplyView& reply);
std::string encode(const SignReply& reply);
std::string encode(const WsLoginRequest& request);
WipingString encode(const WsLoginFrameView& frame);
std::string encode(const ErrorReply& reply);
std::string encode(const std::vector<GrantInfo>& grants);
std::string encode(const audit_chain::Verdict& verdict);
// Requests that carry secrets are serialized into guarded memory.
SecretBytes encode(const AddKeyRequest& request);
SecretBytes encode(const UpdateKeyRequest& request);
SecretBytes encode(const PassphraseRequest& request);

// Backup and restore: the requests carry a passphrase, in guarded memory.
SecretBytes encode(const BackupRequest& request);
BackupRequest decode_backup_request(std::string_view text);
std::string encode(const BackupReply& reply);
BackupReply decode_backup_reply(std::string_view text);
SecretBytes encode(const RestoreRequest& request);
RestoreRequest decode_restore_request(std::string_view text);
std::string encode(const RestoreReply& reply);
RestoreReply decode_restore_reply(std::string_view text);

// Sealed keys: the host key a workstation seals to, and a sealed key to add.
std::string encode(const HostKeyReply& reply);
HostKeyReply decode_host_key_reply(std::string_view text);
std::string encode(const ImportRequest& request);
ImportRequest decode_import_request(std::string_view text);

StatusReply decode_status(std::string_view text);
KeyInfo decode_key_info(std::string_view text);
std::vector<KeyInfo> decode_key_list(std::string_view text);
// Parses in guarded memory and wipes every intermediate copy of the secrets.
AddKeyRequest decode_add_key(std::string_view text);
UpdateKeyRequest decode_update_key(std::string_view text);
PassphraseRequest decode_passphrases(std::string_view text);
SignRequest decode_sign(std::string_view text);
SignReply decode_sign_reply(std::string_view text);
WsLoginRequest decode_ws_login(std::string_view text);
WsLoginFrame decode_ws_login_frame(std::string_view text);
ErrorReply decode_error(std::string_view text);
// The body of PUT /v1/keys/{name}/grants, strictly.
std::vector<GrantInfo> decode_grants(std::string_view text);
// The grants a daemon replies with (GET and PUT /v1/keys/{name}/grants).
std::vector<GrantInfo> decode_grants_reply(std::string_view text);
audit_chain::Verdict decode_audit_verdict(std::string_view text);

}  // namespace okxvault::proto
