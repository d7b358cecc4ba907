#pragma once
// The store file format, version 3: pure functions from records and keys to bytes
// and back, with no I/O. Layout (all integers little endian):
//
//   "OKXVAULT"  magic, 8 bytes
//   u16         format version (3)
//   u64         generation: 1 for the first write of a vault, one more at each
//               write after (version 1 has no such field: its generation is 0)
//   u64         audit line: the audit log's lines, all written and synced, when
//               the store was written (0: none, or not known)
//   64 bytes    audit hash: that line's `hash` (or `mac`), as the log writes it
//               (hex; zeros when the line is 0)
//   u16         K (0 or 72), K bytes: the audit key, which keys the audit log's
//               chain (proto/audit_chain.hpp): nonce(24) || XChaCha20-Poly1305(32
//               random bytes) under the record key, associated data "okx-vault
//               audit key v1". K is 0 only in a store written before it had one.
//   u16         slot count S (1..16)
//   S slots:    u8 kind (1 key file, 2 passphrase), u16 P, P bytes of parameters,
//               u16 L, L bytes: nonce(24) || XChaCha20-Poly1305(data key) sealed with
//               the slot's key, associated data "okx-vault slot v1" || kind || parameters
//               Key file: no parameters; the slot key is the 32-byte key file.
//               Passphrase: P = 33: u8 algorithm (2, Argon2id v1.3), u64 opslimit,
//               u64 memlimit, 16-byte salt; the slot key is crypto_pwhash of the
//               passphrase with them. Binding the parameters into the associated
//               data means an edited cost or salt never opens the slot.
//   u32         record count R
//   R records:  u8 N, name; u16 A, api key; u32 M, metadata (JSON, not secret);
//               u32 C, C bytes: nonce(24) || XChaCha20-Poly1305(u16 len || secret ||
//               u16 len || passphrase) under the record key, associated data
//               "okx-vault record v1" || u8 N || name || u16 A || api key
//   32 bytes    BLAKE2b-256 keyed with the MAC key over everything before it
//   32 bytes    BLAKE2b-256 (unkeyed) over everything before it
//
// The audit line and hash anchor the log in the store: a log without that line
// was cut or rewritten (see main.cpp). Version 2 is the same without the audit
// key, version 1 also without the generation and the audit head; both are read,
// and written only when an image says so (serialize writes the image's version).
// A rekey seals the same audit key under the new data key, so that the whole
// log verifies with one key. The generation
// comes before the slots, so it is read with them from the file's beginning; the
// MAC covers it, so it is authenticated once the data key is there. The audit
// log records the generation of each write (Audit), so that an older store put
// back in place of the current one is seen at start (a rollback).
//
// The record key and MAC key are derived from the random data key with
// crypto_kdf (context "okxvault", ids 1 and 2). The unkeyed checksum tells
// accidental corruption from a wrong master key; the keyed MAC detects records
// removed, reordered or edited by someone who recomputed the checksum.
//
// Opening with the data key checks both, each on its own thread (Vault): a
// damaged checksum alone is refused as corruption too, since damage that spares
// every other byte is still a sign of a failing disk. A failure is named as
// corruption before any other cause when the checksum says so, as a read without
// the key does.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret.hpp"

namespace okxvault::store {

inline constexpr std::uint16_t kFormatVersion = 3;
inline constexpr std::uint16_t kOldestFormatVersion = 1;
inline constexpr std::size_t kMasterKeyBytes = 32;
inline constexpr std::size_t kAuditKeyBytes = 32;
inline constexpr std::size_t kMaxApiKeyBytes = 256;
inline constexpr std::size_t kMaxSecretBytes = 512;
inline constexpr std::size_t kMaxPassphraseBytes = 256;

enum class SlotKind : std::uint8_t { key_file = 1, passphrase = 2 };

// The Argon2id cost of a passphrase slot. The default, opslimit 3 and 64 MiB,
// keeps an attempt under a second on a small 2-core server; the daemon holds the
// 64 MiB only while it unlocks.
struct PassphraseCost {
  std::uint64_t opslimit = 0;
  std::uint64_t memlimit = 0;
};
inline constexpr PassphraseCost kDefaultPassphraseCost{3, 64u << 20};
// libsodium's minimum: for tests only, which would otherwise spend minutes hashing.
inline constexpr PassphraseCost kTestPassphraseCost{1, 8192};
inline constexpr std::size_t kMinVaultPassphraseBytes = 8;
inline constexpr std::size_t kMaxVaultPassphraseBytes = 1024;

struct Slot {
  SlotKind kind = SlotKind::key_file;
  std::vector<unsigned char> params;
  std::vector<unsigned char> sealed;  // nonce || ciphertext || tag
};

struct Record {
  std::string name;
  std::string api_key;
  std::string metadata;  // JSON object; authenticated by the file MAC
  std::vector<unsigned char> sealed;
};

struct Image {
  std::vector<Slot> slots;
  std::vector<Record> records;
  std::uint16_t version = kFormatVersion;
  std::uint64_t generation = 0;  // always 0 in version 1
  std::uint64_t audit_line = 0;  // always 0 in version 1
  std::string audit_hash = std::string(64, '0');
  std::vector<unsigned char> audit_key;  // sealed (seal_audit_key); empty: none, always in versions 1 and 2
};

// A record read in place: views into the file's bytes (or a Record), which
// must outlive it. Reading 10,000 keys this way copies only what is kept.
struct RecordView {
  RecordView() = default;
  RecordView(const Record& record)  // NOLINT(google-explicit-constructor): a record reads the same
      : name(record.name), api_key(record.api_key), metadata(record.metadata), sealed(record.sealed) {}
  std::string_view name, api_key, metadata;
  std::span<const unsigned char> sealed;
};

struct ImageView {
  std::vector<Slot> slots;
  std::vector<RecordView> records;
  std::uint16_t version = kFormatVersion;
  std::uint64_t generation = 0;
  std::uint64_t audit_line = 0;
  std::string audit_hash = std::string(64, '0');
  std::vector<unsigned char> audit_key;
};

// The random key every record is sealed under, with its derived subkeys.
// Not copyable; wiped on destruction.
class DataKey {
 public:
  static DataKey generate();
  static DataKey from(SecretBytes key);

  const SecretBytes& key() const { return key_; }
  const SecretBytes& record_key() const { return record_key_; }
  const SecretBytes& mac_key() const { return mac_key_; }

 private:
  explicit DataKey(SecretBytes key);
  SecretBytes key_, record_key_, mac_key_;
};

// An opened record: the secret and passphrase are views into `plain`, the one
// guarded buffer both were decrypted into (they stay valid when it is moved).
struct KeyMaterial {
  SecretBytes plain;
  std::span<const unsigned char> secret;
  std::span<const unsigned char> passphrase;
};

// Input validation at the store boundary; throw Error(invalid_name / bad_request).
void validate_name(std::string_view name);
void validate_field(std::string_view what, std::span<const unsigned char> value, std::size_t max);

bool has_slot(std::span<const Slot> slots, SlotKind kind);

Slot wrap_with_key_file(const DataKey& data_key, const SecretBytes& master_key);
// Opens the first key-file slot with master_key; Error(wrong_master_key) if none opens.
DataKey unwrap_with_key_file(std::span<const Slot> slots, const SecretBytes& master_key);

// A vault passphrase: 8 to 1024 bytes; Error(bad_request) otherwise, without the value.
void validate_vault_passphrase(const SecretBytes& passphrase);
Slot wrap_with_passphrase(const DataKey& data_key, const SecretBytes& passphrase, PassphraseCost cost);
// Opens the passphrase slot; Error(wrong_passphrase) if it does not open, and
// Error(corrupt_store) if its parameters are out of range (refused before hashing,
// so an edited file cannot make the daemon allocate gigabytes).
DataKey unwrap_with_passphrase(std::span<const Slot> slots, const SecretBytes& passphrase);
// The cost a passphrase slot was made with (kept when it is re-wrapped).
PassphraseCost cost_of(const Slot& slot);

Record seal_record(const DataKey& data_key, std::string name, std::string api_key, std::string metadata,
                   const SecretBytes& secret, const SecretBytes& passphrase);
// Error(tampered_store) if the record was altered or moved to another name or api key.
KeyMaterial open_record(const DataKey& data_key, const RecordView& record);

// The audit key sealed for the store, and opened from it: Error(tampered_store)
// if it does not open with this data key.
std::vector<unsigned char> seal_audit_key(const DataKey& data_key, const SecretBytes& audit_key);
SecretBytes open_audit_key(const DataKey& data_key, std::span<const unsigned char> sealed);

// Writes the image's version: a generation or audit line in version 1, an audit
// key before version 3, or an audit hash that is not 64 lowercase hex digits, is
// Error(internal).
std::vector<unsigned char> serialize(const Image& image, const DataKey& data_key);
// Checks magic, size, checksum, version and structure, in this order;
// Error(corrupt_store / unsupported_version).
Image parse(std::span<const unsigned char> bytes);
// The same checks but the checksum, with the records read in place, for a file
// whose checksum and MAC are verified alongside (verify_checksum, verify_mac).
// When anything after it fails, verify_checksum tells whether the file is corrupt.
ImageView parse_unchecked(std::span<const unsigned char> bytes);
// The version, generation and slots, checked as parse_unchecked does up to them:
// enough to tell how the store can be opened, and how recent it is, without
// reading every record. `bytes` may be the file's beginning only:
// Error(corrupt_store) if the slots do not fit in it. Nothing here is
// authenticated: the generation is checked again once the MAC is (Vault).
struct Header {
  std::uint16_t version = kFormatVersion;
  std::uint64_t generation = 0;
  std::uint64_t audit_line = 0;
  std::string audit_hash = std::string(64, '0');
  std::vector<unsigned char> audit_key;
  std::vector<Slot> slots;
};
Header parse_header_unchecked(std::span<const unsigned char> bytes);
// Checks the keyed MAC of a parsed file; Error(tampered_store).
void verify_mac(std::span<const unsigned char> bytes, const DataKey& data_key);
// The checks parse() starts with: magic, size, checksum; Error(corrupt_store).
// After any failure reading a file whose checksum was not checked, this names
// the cause parse() would have named.
void verify_checksum(std::span<const unsigned char> bytes);

}  // namespace okxvault::store
