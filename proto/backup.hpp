#pragma once
// The backup file (okx-vault backup, POST /v1/backup and /v1/restore): a vault's
// keys, credentials and grants, sealed under a backup passphrase. The daemon
// makes and opens it; the CLI only checks its envelope before asking for the
// passphrase. PROTOCOL.md's "Backup file" is the normative description. Pure
// functions, safe from any thread. Layout, version 1 (integers little endian):
//
//   "OKXVBKUP"  magic, 8 bytes
//   u16         format version (1)
//   u8          key derivation: 2, Argon2id v1.3 (crypto_pwhash)
//   u64         opslimit
//   u64         memlimit, bytes
//   16 bytes    salt
//   u64         when the backup was made, Unix milliseconds
//   u32         the number of keys it holds
//   24 bytes    nonce
//   u32         C, then C bytes: XChaCha20-Poly1305 of the keys under
//               crypto_pwhash(passphrase, salt, opslimit, memlimit), the header
//               (every byte before the ciphertext) as associated data
//   32 bytes    BLAKE2b-256 (unkeyed) of everything before it
//
// The keys, once opened: u32 count, then for each key u8 N, name; u16 A, api
// key; u16 S, secret; u16 P, passphrase; u32 M, the key's metadata as JSON
// ({"simulated", "created", "expires", "last_used", "sign_count"}); u32 G, its
// grants as JSON, in the form of GET /v1/keys/{name}/grants.
//
// Binding the header as associated data means an edited cost, salt, time or
// count never opens; the unkeyed checksum tells a damaged or cut file from a
// wrong passphrase, which authentication alone cannot.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret.hpp"
#include "proto/messages.hpp"

namespace okxvault::proto {

inline constexpr std::uint16_t kBackupVersion = 1;

// The Argon2id cost a backup is sealed with. A backup travels off the host, where
// nothing limits the guesses at its passphrase but this cost: libsodium's
// MODERATE (opslimit 3, 256 MiB), above the vault passphrase's default.
struct BackupCost {
  std::uint64_t opslimit = 0;
  std::uint64_t memlimit = 0;
};
inline constexpr BackupCost kBackupCost{3, std::uint64_t{256} << 20};
// libsodium's minimum: for tests only (the daemon's hidden --passphrase-cost test).
inline constexpr BackupCost kTestBackupCost{1, 8192};

inline constexpr std::size_t kMinBackupPassphraseBytes = 8;
inline constexpr std::size_t kMaxBackupPassphraseBytes = 1024;

// The largest backup a restore takes: in base64, with the passphrase and a
// dozen renames, a restore request fits the daemon's body limit (kMaxBodyBytes).
inline constexpr std::size_t kMaxBackupBytes = 43'008;

// One key as a backup holds it: everything the store keeps of it.
struct BackupKey {
  std::string name;
  std::string api_key;
  SecretBytes secret;
  SecretBytes passphrase;
  bool simulated = false;
  std::string created;  // ISO 8601 UTC with milliseconds, as every time below
  std::optional<std::string> expires;
  std::optional<std::string> last_used;
  std::uint64_t sign_count = 0;
  std::vector<GrantInfo> grants;  // with their ids on the host of the backup
};

// What the envelope says without the passphrase.
struct BackupHeader {
  std::uint16_t version = kBackupVersion;
  BackupCost cost;
  std::uint64_t created_ms = 0;
  std::uint32_t keys = 0;
};

// A backup passphrase: 8 to 1024 bytes; Error(bad_request) otherwise, without the value.
void validate_backup_passphrase(const SecretBytes& passphrase);

// Seals the keys (Argon2id, then XChaCha20-Poly1305). Error(bad_request) for a
// passphrase validate_backup_passphrase refuses, or a key a restore could not
// read back (a name, api key, secret or passphrase too long for its field).
std::vector<unsigned char> seal_backup(std::span<const BackupKey> keys, const SecretBytes& passphrase, BackupCost cost,
                                       std::uint64_t created_ms);

// Checks the envelope: magic, version, size, checksum and Argon2id parameters,
// in this order, each an Error(bad_request) that says which (a version this
// build does not read names itself as such).
BackupHeader read_backup_header(std::span<const unsigned char> bytes);

// read_backup_header, then opens it: Error(wrong_passphrase) when it does not
// open, which is a wrong passphrase unless someone who could recompute the
// checksum altered the file. Keys this build cannot read (a field it does not
// know) are Error(bad_request).
std::vector<BackupKey> open_backup(std::span<const unsigned char> bytes, const SecretBytes& passphrase);

}  // namespace okxvault::proto
