#pragma once
// The key table: for every key, its signer and credentials in guarded memory, its
// grants, and the store file they persist to. Thread-safe: signs run concurrently
// under a shared lock; changes run one at a time and return only once the store
// on disk says the same as memory (if the write fails, memory is left unchanged),
// except those that take access away: a revoke, a grant change and a lock take
// effect in memory first, even when the store cannot be written (Error
// not_persisted), and are written by the next write that succeeds. Space for
// their write is reserved beside the store (STORE.reserve), so that a full disk
// does not stop it.
//
// A change's slow work (Argon2id, re-sealing, the store write and its fsyncs)
// does not hold up signs: it runs from the state as it is, under the change's own
// mutex and the shared lock, and the exclusive lock is taken only to swap the
// result in. Reading a store (open, unlock) takes no lock that signs take until
// its result is swapped in.
//
// A vault is locked or unlocked. Locked, it holds no data key and no secret,
// only each key's metadata (names, masked api keys, grants, usage), which are
// plaintext in the file: listing works, while signing and every change answer
// Error(vault_locked), so nothing is written without the key that MACs the file.
// The keyed MAC is verified whenever the vault is unlocked.

#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/thread_annotations.hpp"
#include "daemon/core/credentials.hpp"
#include "daemon/core/key_table.hpp"
#include "daemon/core/loader.hpp"
#include "daemon/core/order_rate.hpp"
#include "daemon/core/peer.hpp"
#include "daemon/core/policy.hpp"
#include "daemon/store/store.hpp"
#include "proto/messages.hpp"
#include "proto/sealed_key.hpp"

namespace okxvault {

// Who asks: the peer as the kernel reports it, and whether it is an admin.
struct Caller {
  const Peer& peer;
  bool admin = false;
};

// What GET /v1/metrics reports of one key.
struct KeyCounts {
  std::string name;
  std::uint64_t signs = 0;
  std::uint64_t denials = 0;
};

// A key with everything the store keeps of it, credentials included: what a
// backup takes out of a vault and a restore puts into one.
struct StoredKey {
  std::string name;
  std::string api_key;
  SecretBytes secret;
  SecretBytes passphrase;
  bool simulated = false;
  std::int64_t created_ms = 0;
  std::optional<std::int64_t> expires_ms;
  std::int64_t last_used_ms = 0;
  std::uint64_t sign_count = 0;
  std::vector<Grant> grants;
};

class Vault {
 public:
  // A new, empty vault whose data key is wrapped by master_key. Refuses to
  // replace an existing file (Error io_error).
  static std::unique_ptr<Vault> create(std::filesystem::path store_path, const SecretBytes& master_key);
  // A new, empty vault that only the passphrase opens.
  static std::unique_ptr<Vault> create_with_passphrase(std::filesystem::path store_path, const SecretBytes& passphrase,
                                                       store::PassphraseCost cost);
  // Opens an existing vault, unlocked. Errors name the file: io_error,
  // insecure_permissions, corrupt_store, unsupported_version, wrong_master_key,
  // tampered_store. A second key-file slot, left by an interrupted key-file
  // rotation, is dropped: only master_key opens the vault afterwards.
  static std::unique_ptr<Vault> open(std::filesystem::path store_path, const SecretBytes& master_key);
  // Opens an existing vault locked: metadata only, no key needed.
  static std::unique_ptr<Vault> open_locked(std::filesystem::path store_path);
  // What can open the vault at store_path, as slots() says, read without the
  // records: for choosing between open() and open_locked(). Errors as open_locked().
  static std::vector<std::string> slots_of(const std::filesystem::path& store_path);
  // The store's generation (store.hpp), read like slots_of: before any key can
  // authenticate it.
  static std::uint64_t generation_of(const std::filesystem::path& store_path);

  ~Vault();
  Vault(const Vault&) = delete;
  Vault& operator=(const Vault&) = delete;

  std::size_t size() const;
  bool locked() const;
  // What can open the vault: "key_file", "passphrase".
  std::vector<std::string> slots() const;

  // The generation of the store as last read or written: each write makes it one
  // more. Read while locked, it is not authenticated yet; unlocking checks it
  // (the MAC covers it) and refuses a store older than it: Error(rollback), a
  // store replaced by an older copy while the vault was locked.
  std::uint64_t generation() const { return generation_.load(); }
  // The audit log's head as the store last read or written recorded it (line 0:
  // none), and where each write from now on gets it: the source must return a
  // head that is written and synced (Audit::head).
  struct AuditAnchor {
    std::uint64_t line = 0;
    std::string hash;
  };
  AuditAnchor audit_anchor() const;
  void set_audit_head(std::function<AuditAnchor()> source);
  // Writes the store again as it is (a new generation and audit head); nothing
  // while locked.
  void rewrite();
  // rewrite(), only if the audit log's head moved since the store last recorded
  // it: at shutdown, so that a tail cut off the log while the daemon was stopped
  // is seen at the next start.
  void anchor_audit_head();
  // The key that chains the audit log (store.hpp): random, sealed in the store
  // under the data key, and kept by a rekey. A store that has none (written by
  // an older version) gets one here, written to disk before it is returned.
  // nullopt while locked. Errors: those of a write (the store keeps no key then).
  std::optional<SecretBytes> audit_key();

  // Re-reads the store and opens it with the passphrase. Errors: wrong_passphrase,
  // and those of open(). On an unlocked vault it only checks the passphrase
  // (wrong_passphrase, or bad_request without a passphrase slot).
  void unlock(const SecretBytes& passphrase);
  // The same with the key file, for a vault that was locked while it has a
  // key-file slot. Errors: wrong_master_key, and those of open().
  void unlock_with_key_file(const SecretBytes& master_key);
  // Wipes the data key and every secret, then writes pending usage counters.
  // Always locks; a failed write is Error(not_persisted) afterwards.
  void lock();
  // Locks if nothing was signed for `idle` (nor since the unlock); true if it did.
  bool lock_if_idle(std::chrono::milliseconds idle);

  // Slot changes, each one atomic rewrite of the store (vault_locked when locked).
  // Sets the passphrase, or with `current` changes it. Errors: bad_request (set
  // when one exists, change when none does, invalid passphrase), wrong_passphrase.
  void set_passphrase(const SecretBytes* current, const SecretBytes& passphrase, store::PassphraseCost cost);
  // Errors: not_found (no passphrase slot), last_slot, wrong_passphrase.
  void remove_passphrase(const SecretBytes& current);
  // Replaces the key file at key_path with a new random key, in three steps that
  // each leave a store the old or the new key file opens: both slots, then the
  // new key file, then only the new slot.
  void rotate_key_file(const std::filesystem::path& key_path);
  // A new data key: every record re-sealed and every slot re-wrapped, in one
  // write. It needs what opens each slot (the passphrase, the key file at
  // key_path) and checks it does before writing, so no slot is left unopenable;
  // a passphrase given to a vault without one is bad_request.
  void rekey(const SecretBytes* passphrase, const std::filesystem::path& key_path);

  // Metadata only, sorted by name, api keys masked: every key for an admin, the
  // keys granted to the peer for anyone else.
  std::vector<proto::KeyInfo> list(const Caller& caller) const;
  // Returns the new key's metadata. Errors: invalid_name, bad_request (invalid
  // field or expiry), key_exists, io_error.
  proto::KeyInfo add(const proto::AddKeyRequest& request);
  // Adds every key, or none: validated as add() validates one, then one write.
  // Errors as add()'s; a name given twice is bad_request. The store is not
  // written when `keys` is empty.
  std::vector<proto::KeyInfo> add(std::vector<StoredKey> keys);
  // The vault's X25519 key pair, to which keys are sealed for it (okx-vault
  // seal, POST /v1/import): derived from the audit key (crypto_kdf, context
  // "okxvhost", then crypto_box_seed_keypair), so it is made with the vault, kept
  // sealed in the store, and the same after a rekey. nullopt while locked, or
  // while the vault has no audit key (a store older than them that could not be
  // written yet).
  struct HostKeyPair {
    proto::HostKey public_key{};
    SecretBytes secret_key;
  };
  std::optional<HostKeyPair> host_key() const;
  // Every key, sorted by name, with its credentials (opened from the store's
  // sealed records) and all the store keeps of it; under the shared lock only,
  // so signs go on. Errors: vault_locked.
  std::vector<StoredKey> export_keys() const;
  // Gives the key a new api key, secret and passphrase at once, keeping its name,
  // grants, expiry, demo flag and usage; on disk before it returns, and until then
  // signs go on with the old credentials, which are wiped afterwards. The request's
  // `simulated` must be the key's flag. Errors: key_not_found, bad_request
  // (invalid field, or another demo flag), io_error (nothing changed).
  proto::KeyInfo update(std::string_view name, const proto::UpdateKeyRequest& request);
  // Wipes the key from memory and removes it from disk. Errors: key_not_found;
  // not_persisted when the store could not be written: the key is gone from
  // memory all the same, and from disk with the next write that succeeds.
  void remove(std::string_view name);

  // Signs and denials of every key, by name.
  std::vector<KeyCounts> counts() const;
  // Requests refused by the trading limits since start, by LimitRule.
  std::array<std::uint64_t, kLimitRules> limit_refusals() const;

  std::vector<Grant> grants(std::string_view name) const;
  // Replaces the key's grants, on disk before it returns. Errors: key_not_found;
  // for a change that only removes grants, not_persisted as for remove(): the
  // remaining grants apply in memory all the same; any other change that cannot
  // be written is io_error and changes nothing.
  void set_grants(std::string_view name, std::vector<Grant> grants);

  // Signing checks the key's expiry and its grants (policy.hpp) first; a refusal
  // is Error(key_expired or policy_denied) naming the rule. To a non-admin that
  // no grant names, the key does not exist: key_not_found. On success, `body`
  // is the reply (credentials.hpp), which carries the passphrase and wipes
  // itself. `rule` says what allowed it.
  struct Signed {
    WipingString body;
    std::string rule;
  };
  Signed sign(std::string_view name, const Caller& caller, std::string_view timestamp, std::string_view method,
              std::string_view request_path, std::string_view body);
  Signed ws_login(std::string_view name, const Caller& caller, std::string_view timestamp);

  // Writes last-used times and sign counts if they changed since the last write,
  // and changes that are in memory only (not_persisted).
  void save_usage();

 private:
  // How a write may use the reserved space: only for changes that take access away.
  enum class Write { ordinary, revocation };
  // What a successful write changed of the store's header, adopted with the change.
  struct Written {
    std::uint64_t generation = 0;
    AuditAnchor anchor;
  };

  explicit Vault(std::filesystem::path store_path);
  static std::unique_ptr<Vault> create_with(std::filesystem::path store_path,
                                            const std::function<store::Slot(const store::DataKey&)>& wrap);
  // Reads the store into memory: metadata always; with `unwrap`, also the data
  // key and every secret, after checking the MAC. Changes in memory only are
  // applied again to what is read. Reads and decrypts without mutex_; swaps in.
  void load(const Unwrap* unwrap) REQUIRES(writer_) EXCLUDES(mutex_);
  void lock_now() REQUIRES(writer_) EXCLUDES(mutex_);
  void require_unlocked() const REQUIRES_SHARED(mutex_);
  void require_passphrase_slot() const REQUIRES_SHARED(mutex_);
  // Checks that the passphrase opens the passphrase slot (Argon2id).
  void check_passphrase(const SecretBytes& passphrase) const REQUIRES_SHARED(mutex_);
  KeyEntry& find(std::string_view name) const REQUIRES_SHARED(mutex_);
  // find(), but a key no grant lets a non-admin use is key_not_found to it, in
  // the very words of a key that does not exist.
  KeyEntry& find_usable(std::string_view name, const Caller& caller) const REQUIRES_SHARED(mutex_);
  // Checks expiry and policy and counts the use.
  std::string authorize(KeyEntry& entry, const Caller& caller, std::string_view method, std::string_view path,
                        std::string_view body, bool ws) REQUIRES_SHARED(mutex_);
  // The table as the store keeps it, plus `extra`, minus `without`, and with
  // `grants` for `regranted`.
  store::Image image(std::span<const KeyEntry* const> extra, const KeyEntry* without,
                     const KeyEntry* regranted = nullptr, const std::vector<Grant>* grants = nullptr) const
      REQUIRES_SHARED(mutex_);
  // Writes the table, plus `extra` and minus `without`, to disk; adopt() the result.
  Written save(std::span<const KeyEntry* const> extra, const KeyEntry* without, Write kind) REQUIRES(writer_)
      REQUIRES_SHARED(mutex_);
  // save() of the table as it is, and adopt().
  void save_and_adopt(Write kind) REQUIRES(writer_) EXCLUDES(mutex_);
  // Writes the image as the store's next generation, anchoring the audit log's
  // head in it.
  Written write(store::Image& image, const store::DataKey& key, Write kind) REQUIRES(writer_) REQUIRES_SHARED(mutex_);
  Written write_image(store::Image& image, const store::DataKey& key, Write kind, std::uint64_t generation,
                      const AuditAnchor& anchor) REQUIRES(writer_);
  // Writes the store's bytes, for a revocation into the reserved space if need
  // be, then keeps the reserve at the store's size and a margin.
  void write_store(std::span<const unsigned char> bytes, Write kind);
  void keep_reserve(std::uintmax_t store_bytes) const;
  // Takes in what a write did to the store; once written, nothing is in memory only.
  void adopt(const Written& written) REQUIRES(mutex_);
  bool unsaved() const REQUIRES_SHARED(mutex_) { return !unsaved_revocations_.empty() || !unsaved_grants_.empty(); }
  // Writes the table with other slots, then adopts them.
  void save_slots(std::vector<store::Slot> slots) REQUIRES(writer_) EXCLUDES(mutex_);
  void touch();
  void count_limit_refusal(LimitRule rule);

  const std::filesystem::path store_path_;
  const std::filesystem::path reserve_path_;
  // Lock order: writer_, then mutex_. A change holds writer_ for its whole length,
  // so that no other change comes between its reading the state and its swap;
  // signs never take it. mutex_ guards what signs read: held shared by signs and
  // by a change while it works, exclusively only while a change swaps its result in.
  mutable Mutex writer_ ACQUIRED_BEFORE(mutex_);
  mutable SharedMutex mutex_;
  std::optional<store::DataKey> data_key_ GUARDED_BY(mutex_);  // empty while locked
  std::vector<store::Slot> slots_ GUARDED_BY(mutex_);
  std::vector<unsigned char> audit_key_ GUARDED_BY(mutex_);  // sealed under the data key; empty: none yet
  KeyTable table_ GUARDED_BY(mutex_);
  // Changes in effect in memory that the store does not hold yet, by key name:
  // applied again when the store is read (unlock), cleared by a successful save.
  std::set<std::string, std::less<>> unsaved_revocations_ GUARDED_BY(mutex_);
  std::map<std::string, std::vector<Grant>, std::less<>> unsaved_grants_ GUARDED_BY(mutex_);
  std::atomic<bool> usage_changed_{false};
  std::atomic<std::uint64_t> generation_{0};  // written with mutex_ held exclusively
  AuditAnchor audit_anchor_ GUARDED_BY(mutex_);
  std::function<AuditAnchor()> audit_head_ GUARDED_BY(writer_);
  std::atomic<std::int64_t> last_activity_{0};  // steady clock, nanoseconds
  OrderRate order_rate_;
  std::array<std::atomic<std::uint64_t>, kLimitRules> limit_refusals_{};
};

}  // namespace okxvault
