#pragma once
// libokxvault-client: talk to okx-vaultd from C++.
//
// A Client holds one keep-alive connection to the daemon's Unix socket, opened on
// first use and reopened once if the daemon closed it while idle. Calls are
// synchronous and a Client is not thread-safe: give each thread its own.
// Every call throws okxvault::Error: the daemon's stable code and message
// (key_not_found, forbidden, ...), Code::unreachable when the socket cannot be
// reached or the call times out, Code::protocol_error for a reply that is not
// the protocol. Calls that send a secret (add, update, unlock, the passphrase calls,
// rekey) first check who serves the socket: Code::untrusted_server, with
// nothing sent, unless it is root, this user, or the user that owns both the
// socket and its directory, and the directories on the way are safe from others.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "proto/messages.hpp"

namespace okxvault {

// The socket to use: explicit if given, else $OKX_VAULT_SOCKET, else the default
// /run/okx-vault/okx-vault.sock.
std::string resolve_socket_path(std::optional<std::string> explicit_path = std::nullopt);

class Client {
 public:
  explicit Client(std::string socket_path = resolve_socket_path(),
                  std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;

  proto::StatusReply status();
  // Connects, and checks who serves the socket as every call that sends a
  // secret does first (Error untrusted_server, Error unreachable), so that a
  // caller can find out before it asks a person for a secret.
  void verify_server();
  // The daemon checks its audit log: the chain, every `mac` with the audit key,
  // and the head its store recorded (admin only).
  audit_chain::Verdict verify_audit();
  // Metadata of the keys this caller may see; never secrets.
  std::vector<proto::KeyInfo> list();
  // Adds a key; the serialized request is wiped after it was sent.
  proto::KeyInfo add(const proto::AddKeyRequest& request);
  // Gives a key new credentials, keeping everything else about it; the
  // serialized request is wiped after it was sent.
  proto::KeyInfo update(std::string_view name, const proto::UpdateKeyRequest& request);
  // Revokes a key: wiped from the daemon's memory and removed from disk.
  void revoke(std::string_view name);
  // Headers for one OKX V5 REST request; sign exactly the path (with its query)
  // and body bytes you will send.
  proto::SignReply sign(std::string_view name, const proto::SignRequest& request);
  // The ready WebSocket login frame, as JSON text to send as is.
  std::string ws_login(std::string_view name, std::optional<std::string> timestamp = std::nullopt);

  // Locking and the vault's slots (admin only). Each returns the status after
  // the change. Passphrases travel in guarded memory, wiped after sending. A
  // wrong passphrase is Error(wrong_passphrase), answered after a delay that
  // grows with each consecutive failure, so these calls wait at least a minute.
  proto::StatusReply lock();
  proto::StatusReply unlock(const SecretBytes& passphrase);
  // Unlocks with the daemon's own key file (a vault with a key-file slot).
  proto::StatusReply unlock_with_key_file();
  proto::StatusReply set_passphrase(const SecretBytes& passphrase);
  proto::StatusReply change_passphrase(const SecretBytes& current, const SecretBytes& passphrase);
  proto::StatusReply remove_passphrase(const SecretBytes& current);
  proto::StatusReply rotate_key_file();
  // A new data key; give the passphrase if the vault has one.
  proto::StatusReply rekey(const SecretBytes* passphrase = nullptr);

  // A backup of the vault's keys (every key, or those named), sealed by the
  // daemon under `passphrase` (admin only). Restores a backup into this vault:
  // every key it holds, or none (admin only). Both send a passphrase, in guarded
  // memory wiped after sending, and wait at least a minute (Argon2id).
  proto::BackupReply backup(const SecretBytes& passphrase, const std::vector<std::string>& keys = {});
  proto::RestoreReply restore(const proto::RestoreRequest& request);

  // The vault's host key, base64, to seal keys to (okx-vault seal); and a key
  // sealed to it added to the vault (admin only), as add() adds one.
  std::string host_key();
  proto::KeyInfo import_key(std::string_view sealed);

  // Who may sign with a key, and what (admin only). set_grants replaces them all
  // and returns them as the daemon stored them (names resolved to ids).
  std::vector<proto::GrantInfo> grants(std::string_view name);
  std::vector<proto::GrantInfo> set_grants(std::string_view name, const std::vector<proto::GrantInfo>& grants);

  // A raw exchange, for tools and tests: any method, target and body; returns the
  // HTTP status and body without interpreting them.
  struct RawReply {
    int status = 0;
    std::string body;
  };
  RawReply request(std::string_view method, std::string_view target, std::string_view body = {});
  // The body, or the daemon's Error unless the reply has the expected status.
  static std::string expect(RawReply reply, int status);

 private:
  // With `secret`, the server and the socket's directory are checked first
  // (Error untrusted_server, and nothing is sent, if they are not to be trusted).
  RawReply exchange(std::string_view method, std::string_view target, std::string_view body,
                    std::chrono::milliseconds timeout, bool secret = false);
  struct Connection;
  // The open connection, or a new one (Error unreachable).
  Connection& connect(std::chrono::milliseconds timeout);
  // check_server() once per connection; a refused connection is closed.
  void trust(Connection& connection);
  proto::StatusReply vault_call(std::string_view method, std::string_view target, const proto::PassphraseRequest& body);

  std::string socket_path_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<Connection> connection_;
};

}  // namespace okxvault
