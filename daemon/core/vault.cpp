#include "daemon/core/vault.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <system_error>

#include "common/error.hpp"
#include "daemon/store/store_file.hpp"

namespace okxvault {

namespace {

std::int64_t now_ms() { return unix_ms(Clock::now()); }

// The space kept for a revocation's write: the store's size and a margin, for
// the metadata a write adds, and at least kMinReserve.
constexpr std::uintmax_t kReserveMargin = 64 * 1024;
constexpr std::uintmax_t kMinReserve = 1024 * 1024;

// The table as the store keeps it, plus `extra`, minus `without`, and with
// `grants` for `regranted`.
store::Image image_of(const KeyTable& table, const std::vector<store::Slot>& slots,
                      const std::vector<unsigned char>& audit_key, std::span<const KeyEntry* const> extra,
                      const KeyEntry* without, const KeyEntry* regranted, const std::vector<Grant>* grants) {
  store::Image image{slots, {}};
  image.audit_key = audit_key;
  image.records.reserve(table.size() + extra.size());
  for (const auto& [name, entry] : table) {
    if (entry.get() != without) image.records.push_back(entry->stored(entry.get() == regranted ? grants : nullptr));
  }
  for (const KeyEntry* entry : extra) image.records.push_back(entry->stored());
  return image;
}

std::vector<std::string> slot_names(std::span<const store::Slot> slots) {
  std::vector<std::string> names;
  for (const store::Slot& slot : slots)
    names.emplace_back(slot.kind == store::SlotKind::key_file ? "key_file" : "passphrase");
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::vector<store::Slot> without(const std::vector<store::Slot>& slots, store::SlotKind kind) {
  std::vector<store::Slot> out;
  std::copy_if(slots.begin(), slots.end(), std::back_inserter(out),
               [&](const store::Slot& slot) { return slot.kind != kind; });
  return out;
}

Error not_persisted(const std::string& change, const std::string& cause) {
  return Error(Code::not_persisted,
               change + " in memory, but the store could not be written (" + cause +
                   "): a restart before it is written would undo it. Free space in the state directory: the daemon "
                   "writes it with the next change, usage save (every minute) or shutdown");
}

Error no_such_key(std::string_view name) {
  return Error(Code::key_not_found, "no key named '" + std::string(name) + "'");
}

Error key_exists(std::string_view name) {
  return Error(Code::key_exists, "a key named '" + std::string(name) + "' already exists");
}

Error given_twice(std::string_view name) {
  return Error(Code::bad_request, "key '" + std::string(name) + "' is given twice");
}

}  // namespace

Vault::Vault(std::filesystem::path store_path)
    : store_path_(std::move(store_path)), reserve_path_(store_path_.string() + ".reserve") {}

Vault::~Vault() = default;  // every entry wipes its secrets as it is destroyed

std::unique_ptr<Vault> Vault::create_with(std::filesystem::path store_path,
                                          const std::function<store::Slot(const store::DataKey&)>& wrap) {
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::symlink_status(store_path, ec))) {
    throw Error(Code::io_error, store_path.string() + ": a vault already exists here; refusing to replace it");
  }
  std::unique_ptr<Vault> vault(new Vault(std::move(store_path)));
  {
    const ExclusiveLock<Mutex> change(vault->writer_);
    const ExclusiveLock<SharedMutex> state(vault->mutex_);  // nobody else sees it yet
    vault->data_key_.emplace(store::DataKey::generate());
    vault->slots_.push_back(wrap(*vault->data_key_));
    vault->audit_key_ = store::seal_audit_key(*vault->data_key_, SecretBytes::random(store::kAuditKeyBytes));
    vault->adopt(vault->save({}, nullptr, Write::ordinary));
  }
  vault->touch();
  return vault;
}

std::unique_ptr<Vault> Vault::create(std::filesystem::path store_path, const SecretBytes& master_key) {
  return create_with(std::move(store_path),
                     [&](const store::DataKey& key) { return store::wrap_with_key_file(key, master_key); });
}

std::unique_ptr<Vault> Vault::create_with_passphrase(std::filesystem::path store_path, const SecretBytes& passphrase,
                                                     store::PassphraseCost cost) {
  store::validate_vault_passphrase(passphrase);
  return create_with(std::move(store_path),
                     [&](const store::DataKey& key) { return store::wrap_with_passphrase(key, passphrase, cost); });
}

std::unique_ptr<Vault> Vault::open(std::filesystem::path store_path, const SecretBytes& master_key) {
  std::unique_ptr<Vault> vault(new Vault(std::move(store_path)));
  const ExclusiveLock<Mutex> change(vault->writer_);
  const Unwrap unwrap = [&](std::span<const store::Slot> slots) {
    return store::unwrap_with_key_file(slots, master_key);
  };
  vault->load(&unwrap);
  std::vector<store::Slot> slots;
  {
    const SharedLock state(vault->mutex_);
    const auto key_file_slots = std::count_if(vault->slots_.begin(), vault->slots_.end(), [](const store::Slot& slot) {
      return slot.kind == store::SlotKind::key_file;
    });
    if (key_file_slots <= 1) return vault;
    std::copy_if(vault->slots_.begin(), vault->slots_.end(), std::back_inserter(slots),
                 [](const store::Slot& slot) { return slot.kind != store::SlotKind::key_file; });
    slots.push_back(store::wrap_with_key_file(*vault->data_key_, master_key));
  }
  vault->save_slots(std::move(slots));
  return vault;
}

std::unique_ptr<Vault> Vault::open_locked(std::filesystem::path store_path) {
  std::unique_ptr<Vault> vault(new Vault(std::move(store_path)));
  const ExclusiveLock<Mutex> change(vault->writer_);
  vault->load(nullptr);
  return vault;
}

void Vault::load(const Unwrap* unwrap) {
  LoadedStore loaded = load_store(store_path_, unwrap, generation_.load());
  release_freed_memory();
  // What memory said before the store was read again, and the store does not say yet.
  std::set<std::string, std::less<>> revoked;
  std::map<std::string, std::vector<Grant>, std::less<>> regranted;
  {
    const SharedLock state(mutex_);
    revoked = unsaved_revocations_;
    regranted = unsaved_grants_;
  }
  for (const std::string& name : revoked) {
    if (const auto it = loaded.table.find(name); it != loaded.table.end()) loaded.table.erase(it);
  }
  for (const auto& [name, grants] : regranted) {
    if (const auto it = loaded.table.find(name); it != loaded.table.end()) it->second->grants = grants;
  }
  const AuditAnchor anchor{loaded.audit_line, loaded.audit_hash};
  std::optional<Written> written;
  if (loaded.data_key && (!revoked.empty() || !regranted.empty())) {
    try {
      store::Image image = image_of(loaded.table, loaded.slots, loaded.audit_key, {}, nullptr, nullptr, nullptr);
      written = write_image(image, *loaded.data_key, Write::revocation, loaded.generation, anchor);
    } catch (const std::exception& e) {
      spdlog::error("{}: changes in memory only are still not written: {}", store_path_.string(), e.what());
    }
  }
  {
    // What was in memory before is swapped into `loaded`, and freed outside the lock.
    const ExclusiveLock<SharedMutex> state(mutex_);
    generation_ = loaded.generation;
    audit_anchor_ = anchor;
    slots_.swap(loaded.slots);
    audit_key_.swap(loaded.audit_key);
    table_.swap(loaded.table);
    data_key_.swap(loaded.data_key);
    if (written) adopt(*written);
    if (data_key_) touch();
  }
  std::error_code ec;
  if (const auto size = std::filesystem::file_size(store_path_, ec); !ec) keep_reserve(size);
}

void Vault::touch() {
  last_activity_.store(std::chrono::steady_clock::now().time_since_epoch().count(), std::memory_order_relaxed);
}

void Vault::require_unlocked() const {
  if (!data_key_) throw Error(Code::vault_locked, "the vault is locked; an admin can unlock it with: okx-vault unlock");
}

void Vault::require_passphrase_slot() const {
  if (!store::has_slot(slots_, store::SlotKind::passphrase)) {
    throw Error(Code::bad_request, "this vault has no passphrase; restart the daemon with its key file");
  }
}

bool Vault::locked() const {
  const SharedLock state(mutex_);
  return !data_key_;
}

std::vector<std::string> Vault::slots() const {
  const SharedLock state(mutex_);
  return slot_names(slots_);
}

std::vector<std::string> Vault::slots_of(const std::filesystem::path& store_path) {
  return slot_names(read_store_header(store_path).slots);
}

std::uint64_t Vault::generation_of(const std::filesystem::path& store_path) {
  return read_store_header(store_path).generation;
}

void Vault::unlock(const SecretBytes& passphrase) {
  {
    // Unlocked already: the passphrase is still checked, so that an unlock is
    // never a success that tells nothing (and resets the count of wrong ones).
    const SharedLock state(mutex_);
    if (data_key_) {
      require_passphrase_slot();
      return check_passphrase(passphrase);
    }
  }
  const ExclusiveLock<Mutex> change(writer_);
  {
    const SharedLock state(mutex_);
    require_passphrase_slot();
    if (data_key_) return check_passphrase(passphrase);
  }
  const Unwrap unwrap = [&](std::span<const store::Slot> slots) {
    return store::unwrap_with_passphrase(slots, passphrase);
  };
  load(&unwrap);
}

void Vault::unlock_with_key_file(const SecretBytes& master_key) {
  const ExclusiveLock<Mutex> change(writer_);
  {
    const SharedLock state(mutex_);
    if (data_key_) return;
  }
  const Unwrap unwrap = [&](std::span<const store::Slot> slots) {
    return store::unwrap_with_key_file(slots, master_key);
  };
  load(&unwrap);
}

void Vault::lock() {
  const ExclusiveLock<Mutex> change(writer_);
  lock_now();
}

void Vault::lock_now() {
  // Locked in memory first: from the swap on, nothing signs. The data key stays
  // here until the usage counters are written under it.
  std::optional<store::DataKey> key;
  std::vector<std::unique_ptr<KeyEntry::Unsealed>> wiped;
  {
    const ExclusiveLock<SharedMutex> state(mutex_);
    if (!data_key_) return;
    key.swap(data_key_);
    wiped.reserve(table_.size());
    for (auto& [name, entry] : table_) wiped.push_back(std::move(entry->unsealed));
  }
  wiped.clear();  // wipes every secret
  std::string failed;
  bool still_unsaved = false;
  try {
    std::optional<Written> written;
    {
      const SharedLock state(mutex_);
      if (usage_changed_.exchange(false) || unsaved()) {
        store::Image next = image({}, nullptr);
        written = write(next, *key, Write::revocation);
      }
    }
    if (written) {
      const ExclusiveLock<SharedMutex> state(mutex_);
      adopt(*written);
    }
  } catch (const std::exception& e) {
    failed = e.what();
    const SharedLock state(mutex_);
    still_unsaved = unsaved();
  }
  key.reset();
  release_freed_memory();
  if (failed.empty()) return;
  throw Error(Code::not_persisted,
              "the vault is locked, but the store could not be written (" + failed +
                  "): usage counters since the last save are lost" +
                  (still_unsaved ? "; revocations and grant changes not yet written stay in effect in memory until the "
                                   "daemon restarts, and are written after the next unlock once there is room"
                                 : ""));
}

bool Vault::lock_if_idle(std::chrono::milliseconds idle) {
  const auto idle_now = [&] {
    const std::chrono::steady_clock::duration since(last_activity_.load(std::memory_order_relaxed));
    return std::chrono::steady_clock::now().time_since_epoch() - since >= idle;
  };
  {
    const SharedLock state(mutex_);
    if (!data_key_ || !idle_now()) return false;
  }
  const ExclusiveLock<Mutex> change(writer_);
  {
    // Asked again: a sign or another change may have come while waiting for writer_.
    const SharedLock state(mutex_);
    if (!data_key_ || !idle_now()) return false;
  }
  lock_now();
  return true;
}

void Vault::check_passphrase(const SecretBytes& passphrase) const {
  const store::DataKey key = store::unwrap_with_passphrase(slots_, passphrase);
  if (!key.key().equals(data_key_->key().bytes())) {
    throw Error(Code::tampered_store, store_path_.string() + ": the passphrase slot holds another vault's key");
  }
}

void Vault::set_passphrase(const SecretBytes* current, const SecretBytes& passphrase, store::PassphraseCost cost) {
  store::validate_vault_passphrase(passphrase);
  const ExclusiveLock<Mutex> change(writer_);
  std::vector<store::Slot> slots;
  {
    const SharedLock state(mutex_);
    require_unlocked();
    const bool has = store::has_slot(slots_, store::SlotKind::passphrase);
    if (has && current == nullptr) {
      throw Error(Code::bad_request, "this vault already has a passphrase; change it with the current one");
    }
    if (!has && current != nullptr) throw Error(Code::bad_request, "this vault has no passphrase to change; set one");
    if (current != nullptr) check_passphrase(*current);
    slots = without(slots_, store::SlotKind::passphrase);
    slots.push_back(store::wrap_with_passphrase(*data_key_, passphrase, cost));
  }
  save_slots(std::move(slots));
}

void Vault::remove_passphrase(const SecretBytes& current) {
  const ExclusiveLock<Mutex> change(writer_);
  std::vector<store::Slot> slots;
  {
    const SharedLock state(mutex_);
    require_unlocked();
    if (!store::has_slot(slots_, store::SlotKind::passphrase)) {
      throw Error(Code::not_found, "this vault has no passphrase");
    }
    if (!store::has_slot(slots_, store::SlotKind::key_file)) {
      throw Error(Code::last_slot,
                  "the passphrase is the only way to open this vault; add a key file first (okx-vault keyfile rotate)");
    }
    check_passphrase(current);
    slots = without(slots_, store::SlotKind::passphrase);
  }
  save_slots(std::move(slots));
}

void Vault::rotate_key_file(const std::filesystem::path& key_path) {
  const ExclusiveLock<Mutex> change(writer_);
  const SecretBytes key = SecretBytes::random(store::kMasterKeyBytes);
  std::optional<store::Slot> fresh;
  std::vector<store::Slot> both;
  {
    const SharedLock state(mutex_);
    require_unlocked();
    fresh = store::wrap_with_key_file(*data_key_, key);
    both = slots_;
  }
  both.push_back(*fresh);
  save_slots(std::move(both));
  write_file_atomically(key_path, key.bytes());
  std::vector<store::Slot> only_new;
  {
    const SharedLock state(mutex_);
    only_new = without(slots_, store::SlotKind::key_file);
  }
  only_new.push_back(std::move(*fresh));
  save_slots(std::move(only_new));
}

void Vault::rekey(const SecretBytes* passphrase, const std::filesystem::path& key_path) {
  const ExclusiveLock<Mutex> change(writer_);
  std::optional<store::DataKey> next;
  store::Image resealed;
  Written written;
  {
    // Every record re-sealed and the slots re-wrapped from the table as it is;
    // signs go on meanwhile with the old key's secrets, which are the same.
    const SharedLock state(mutex_);
    require_unlocked();
    // A passphrase this vault cannot check would make a success of any guess.
    if (passphrase != nullptr && !store::has_slot(slots_, store::SlotKind::passphrase)) {
      throw Error(Code::bad_request, "this vault has no passphrase; rekey it without one");
    }
    next.emplace(store::DataKey::generate());
    std::vector<store::Slot> slots;
    for (const store::Slot& slot : slots_) {
      if (slot.kind == store::SlotKind::passphrase) {
        if (passphrase == nullptr) {
          throw Error(Code::bad_request, "this vault has a passphrase: give it, so the new data key is wrapped for it");
        }
        check_passphrase(*passphrase);
        slots.push_back(store::wrap_with_passphrase(*next, *passphrase, store::cost_of(slot)));
      } else if (!store::has_slot(slots, store::SlotKind::key_file)) {
        const SecretBytes master_key = read_key_file(key_path);
        if (!store::unwrap_with_key_file(slots_, master_key).key().equals(data_key_->key().bytes())) {
          throw Error(Code::tampered_store, store_path_.string() + ": the key-file slot holds another vault's key");
        }
        slots.push_back(store::wrap_with_key_file(*next, master_key));
      }
    }
    resealed = image({}, nullptr);
    resealed.slots = std::move(slots);
    for (store::Record& record : resealed.records) {
      const store::KeyMaterial material = store::open_record(*data_key_, record);
      record = store::seal_record(*next, std::move(record.name), std::move(record.api_key), std::move(record.metadata),
                                  SecretBytes::copy_of(material.secret), SecretBytes::copy_of(material.passphrase));
    }
    if (!audit_key_.empty()) {
      resealed.audit_key = store::seal_audit_key(*next, store::open_audit_key(*data_key_, audit_key_));
    }
    written = write(resealed, *next, Write::ordinary);
  }
  {
    const ExclusiveLock<SharedMutex> state(mutex_);
    adopt(written);
    for (store::Record& record : resealed.records) table_.at(record.name)->record.sealed = std::move(record.sealed);
    slots_ = std::move(resealed.slots);
    audit_key_ = std::move(resealed.audit_key);
    data_key_.swap(next);
  }
  next.reset();  // the old data key
  release_freed_memory();
}

std::size_t Vault::size() const {
  const SharedLock state(mutex_);
  return table_.size();
}

std::vector<proto::KeyInfo> Vault::list(const Caller& caller) const {
  std::vector<proto::KeyInfo> keys;
  {
    const SharedLock state(mutex_);
    for (const auto& [name, entry] : table_) {
      if (caller.admin || is_granted(entry->grants, caller.peer)) keys.push_back(entry->info());
    }
  }
  std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return keys;
}

proto::KeyInfo Vault::add(const proto::AddKeyRequest& request) {
  std::vector<StoredKey> keys(1);
  StoredKey& key = keys.front();
  key.name = request.name;
  key.api_key = request.api_key;
  key.secret = SecretBytes::copy_of(request.secret.bytes());
  key.passphrase = SecretBytes::copy_of(request.passphrase.bytes());
  key.simulated = request.simulated;
  key.created_ms = now_ms();
  if (request.expires) {
    // A bad name or field is named before a bad expiry, as add() checks one key.
    store::validate_name(key.name);
    store::validate_field("api_key",
                          std::span(reinterpret_cast<const unsigned char*>(key.api_key.data()), key.api_key.size()),
                          store::kMaxApiKeyBytes);
    store::validate_field("secret", key.secret.bytes(), store::kMaxSecretBytes);
    store::validate_field("passphrase", key.passphrase.bytes(), store::kMaxPassphraseBytes);
    key.expires_ms = unix_ms(parse_iso8601_ms(*request.expires));
  }
  return add(std::move(keys)).front();
}

std::vector<proto::KeyInfo> Vault::add(std::vector<StoredKey> keys) {
  const ExclusiveLock<Mutex> change(writer_);
  std::vector<std::unique_ptr<KeyEntry>> entries;
  Written written;
  {
    const SharedLock state(mutex_);
    require_unlocked();
    std::set<std::string_view> names;
    for (const StoredKey& key : keys) {
      // Validates name and fields before anything else happens.
      store::Record record = store::seal_record(*data_key_, key.name, key.api_key, {}, key.secret, key.passphrase);
      auto entry = std::make_unique<KeyEntry>(std::move(record), key.simulated);
      entry->unseal(key.secret.bytes(), key.passphrase.bytes());
      entry->created_ms = key.created_ms;
      entry->expires_ms = key.expires_ms;
      entry->last_used_ms = key.last_used_ms;
      entry->sign_count = key.sign_count;
      entry->grants = key.grants;
      if (table_.contains(key.name)) throw key_exists(key.name);
      if (!names.insert(key.name).second) throw given_twice(key.name);
      entries.push_back(std::move(entry));
    }
    if (!entries.empty()) {
      std::vector<const KeyEntry*> added;
      added.reserve(entries.size());
      for (const auto& entry : entries) added.push_back(entry.get());
      written = save(added, nullptr, Write::ordinary);
    }
  }
  std::vector<proto::KeyInfo> added;
  added.reserve(entries.size());
  for (const auto& entry : entries) added.push_back(entry->info());
  keys.clear();  // the credentials as given, wiped
  if (!entries.empty()) {
    const ExclusiveLock<SharedMutex> state(mutex_);
    adopt(written);
    for (auto& entry : entries) {
      std::string name = entry->record.name;
      table_.emplace(std::move(name), std::move(entry));
    }
  }
  release_freed_memory();
  return added;
}

std::optional<Vault::HostKeyPair> Vault::host_key() const {
  SecretBytes audit;
  {
    const SharedLock state(mutex_);
    if (!data_key_ || audit_key_.empty()) return std::nullopt;
    audit = store::open_audit_key(*data_key_, audit_key_);
  }
  static_assert(crypto_kdf_KEYBYTES == store::kAuditKeyBytes);
  SecretBytes seed(crypto_box_SEEDBYTES);
  crypto_kdf_derive_from_key(seed.data(), seed.size(), 1, "okxvhost", audit.data());
  HostKeyPair pair{{}, SecretBytes(crypto_box_SECRETKEYBYTES)};
  crypto_box_seed_keypair(pair.public_key.data(), pair.secret_key.data(), seed.data());
  return pair;
}

std::vector<StoredKey> Vault::export_keys() const {
  std::vector<StoredKey> keys;
  {
    const SharedLock state(mutex_);
    require_unlocked();
    keys.reserve(table_.size());
    for (const auto& [name, entry] : table_) {
      const store::KeyMaterial material = store::open_record(*data_key_, entry->record);
      keys.push_back({entry->record.name, entry->record.api_key, SecretBytes::copy_of(material.secret),
                      SecretBytes::copy_of(material.passphrase), entry->simulated, entry->created_ms, entry->expires_ms,
                      entry->last_used_ms.load(), entry->sign_count.load(), entry->grants});
    }
  }
  std::sort(keys.begin(), keys.end(), [](const StoredKey& a, const StoredKey& b) { return a.name < b.name; });
  return keys;
}

proto::KeyInfo Vault::update(std::string_view name, const proto::UpdateKeyRequest& request) {
  const ExclusiveLock<Mutex> change(writer_);
  std::unique_ptr<KeyEntry> entry;
  Written written;
  {
    const SharedLock state(mutex_);
    require_unlocked();
    const KeyEntry& current = find(name);
    // Which exchange a bot trades on is not something a new secret may change unnoticed.
    if (request.simulated != current.simulated) {
      throw Error(Code::bad_request, "key '" + current.record.name + "' is a " + (current.simulated ? "demo" : "live") +
                                         " key and an update keeps it one; to change that, revoke it and add it again");
    }
    // Validates the fields before anything else happens.
    store::Record record =
        store::seal_record(*data_key_, current.record.name, request.api_key, {}, request.secret, request.passphrase);
    entry = current.with_credentials(std::move(record), request.secret.bytes(), request.passphrase.bytes());
    const KeyEntry* updated = entry.get();
    written = save({&updated, 1}, &current, Write::ordinary);
  }
  proto::KeyInfo updated;
  {
    const ExclusiveLock<SharedMutex> state(mutex_);
    adopt(written);
    std::unique_ptr<KeyEntry>& slot = table_.find(name)->second;
    entry->take_usage(*slot);  // the signs made while the store was written
    slot.swap(entry);
    updated = slot->info();
  }
  entry.reset();  // the old credentials, wiped
  release_freed_memory();
  return updated;
}

void Vault::remove(std::string_view name) {
  const ExclusiveLock<Mutex> change(writer_);
  std::unique_ptr<KeyEntry> gone;
  {
    const ExclusiveLock<SharedMutex> state(mutex_);
    require_unlocked();
    const auto it = table_.find(name);
    if (it == table_.end()) throw no_such_key(name);
    gone = std::move(it->second);
    table_.erase(it);
  }
  gone.reset();  // wipes its secrets: from now on it signs nothing
  try {
    save_and_adopt(Write::revocation);
  } catch (const std::exception& e) {
    {
      const ExclusiveLock<SharedMutex> state(mutex_);
      if (const auto it = unsaved_grants_.find(name); it != unsaved_grants_.end()) unsaved_grants_.erase(it);
      unsaved_revocations_.emplace(name);
    }
    throw not_persisted("key '" + std::string(name) + "' is revoked", e.what());
  }
}

std::vector<KeyCounts> Vault::counts() const {
  std::vector<KeyCounts> counts;
  {
    const SharedLock state(mutex_);
    counts.reserve(table_.size());
    for (const auto& [name, entry] : table_) {
      counts.push_back({name, entry->sign_count.load(std::memory_order_relaxed),
                        entry->denial_count.load(std::memory_order_relaxed)});
    }
  }
  std::sort(counts.begin(), counts.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return counts;
}

std::vector<Grant> Vault::grants(std::string_view name) const {
  const SharedLock state(mutex_);
  return find(name).grants;
}

void Vault::set_grants(std::string_view name, std::vector<Grant> grants) {
  const ExclusiveLock<Mutex> change(writer_);
  bool only_removes = false;
  Written written;
  {
    const SharedLock state(mutex_);
    require_unlocked();
    KeyEntry& entry = find(name);
    // Only a change that takes access away may outlive a failed write: one that
    // gives access is not in force until the store says so.
    only_removes = std::all_of(grants.begin(), grants.end(), [&](const Grant& grant) {
      return std::find(entry.grants.begin(), entry.grants.end(), grant) != entry.grants.end();
    });
    if (!only_removes) {
      store::Image next = image({}, nullptr, &entry, &grants);
      written = write(next, *data_key_, Write::ordinary);
    }
  }
  if (!only_removes) {
    const ExclusiveLock<SharedMutex> state(mutex_);
    adopt(written);
    find(name).grants = std::move(grants);
    return;
  }
  // Taking access away: in force in memory first, then written.
  {
    const ExclusiveLock<SharedMutex> state(mutex_);
    find(name).grants = grants;
  }
  try {
    save_and_adopt(Write::revocation);
  } catch (const std::exception& e) {
    {
      const ExclusiveLock<SharedMutex> state(mutex_);
      unsaved_grants_.insert_or_assign(std::string(name), std::move(grants));
    }
    throw not_persisted("the grants of key '" + std::string(name) + "' are changed", e.what());
  }
}

KeyEntry& Vault::find(std::string_view name) const {
  const auto it = table_.find(name);
  if (it == table_.end()) throw no_such_key(name);
  return *it->second;
}

KeyEntry& Vault::find_usable(std::string_view name, const Caller& caller) const {
  KeyEntry& entry = find(name);
  if (!caller.admin && !is_granted(entry.grants, caller.peer)) {
    entry.denial_count.fetch_add(1, std::memory_order_relaxed);  // the admin still sees the attempt
    throw no_such_key(name);
  }
  return entry;
}

std::string Vault::authorize(KeyEntry& entry, const Caller& caller, std::string_view method, std::string_view path,
                             std::string_view body, bool ws) {
  const std::int64_t now = now_ms();
  Decision decision;
  try {
    if (entry.expires_ms && now >= *entry.expires_ms) {
      throw Error(Code::key_expired, "key '" + entry.record.name + "' expired at " + iso8601_ms(*entry.expires_ms),
                  "key expired");
    }
    decision = decide(entry.grants, caller.peer, caller.admin, method, path, body, ws, now);
    if (!decision.allowed) {
      if (decision.limit) count_limit_refusal(*decision.limit);
      throw Error(Code::policy_denied, "request refused by rule: " + decision.rule, decision.rule);
    }
    if (decision.orders_per_minute != 0 && !order_rate_.admit(entry.record.name + "\n" + decision.counted_for,
                                                              decision.orders_per_minute, decision.orders, now)) {
      count_limit_refusal(LimitRule::rate);
      std::string rule =
          decision.counted_for + ": more than " + std::to_string(decision.orders_per_minute) + " orders per minute";
      throw Error(Code::rate_limited, "request refused by rule: " + rule, rule);
    }
  } catch (const Error&) {
    entry.denial_count.fetch_add(1, std::memory_order_relaxed);
    throw;
  }
  entry.sign_count.fetch_add(1, std::memory_order_relaxed);
  entry.last_used_ms.store(now, std::memory_order_relaxed);
  usage_changed_.store(true, std::memory_order_relaxed);
  touch();
  return std::move(decision.rule);
}

void Vault::count_limit_refusal(LimitRule rule) {
  limit_refusals_[static_cast<std::size_t>(rule)].fetch_add(1, std::memory_order_relaxed);
}

std::array<std::uint64_t, kLimitRules> Vault::limit_refusals() const {
  std::array<std::uint64_t, kLimitRules> counts{};
  for (std::size_t i = 0; i < kLimitRules; ++i) counts[i] = limit_refusals_[i].load(std::memory_order_relaxed);
  return counts;
}

Vault::Signed Vault::sign(std::string_view name, const Caller& caller, std::string_view timestamp,
                          std::string_view method, std::string_view request_path, std::string_view body) {
  const SharedLock state(mutex_);
  require_unlocked();
  KeyEntry& entry = find_usable(name, caller);
  std::string rule = authorize(entry, caller, method, request_path, body, false);
  return {sign_reply(entry.unsealed->signer, entry.unsealed->credentials, timestamp, method, request_path, body),
          std::move(rule)};
}

Vault::Signed Vault::ws_login(std::string_view name, const Caller& caller, std::string_view timestamp) {
  const SharedLock state(mutex_);
  require_unlocked();
  KeyEntry& entry = find_usable(name, caller);
  std::string rule = authorize(entry, caller, "GET", "/users/self/verify", {}, true);
  return {ws_login_reply(entry.unsealed->signer, entry.unsealed->credentials, timestamp), std::move(rule)};
}

void Vault::save_usage() {
  const ExclusiveLock<Mutex> change(writer_);
  Written written;
  {
    const SharedLock state(mutex_);
    // Cleared before the snapshot: a sign from now on is saved next time.
    if (!data_key_ || (!usage_changed_.exchange(false) && !unsaved())) return;
    try {
      written = save({}, nullptr, unsaved() ? Write::revocation : Write::ordinary);
    } catch (...) {
      usage_changed_ = true;  // try again next time
      throw;
    }
  }
  const ExclusiveLock<SharedMutex> state(mutex_);
  adopt(written);
}

store::Image Vault::image(std::span<const KeyEntry* const> extra, const KeyEntry* without, const KeyEntry* regranted,
                          const std::vector<Grant>* grants) const {
  return image_of(table_, slots_, audit_key_, extra, without, regranted, grants);
}

Vault::Written Vault::save(std::span<const KeyEntry* const> extra, const KeyEntry* without, Write kind) {
  store::Image next = image(extra, without);
  Written written = write(next, *data_key_, kind);
  next = {};
  release_freed_memory();
  return written;
}

void Vault::save_and_adopt(Write kind) {
  Written written;
  {
    const SharedLock state(mutex_);
    if (!data_key_) return;
    written = save({}, nullptr, kind);
  }
  const ExclusiveLock<SharedMutex> state(mutex_);
  adopt(written);
}

void Vault::write_store(std::span<const unsigned char> bytes, Write kind) {
  try {
    write_file_atomically(store_path_, bytes);
  } catch (const Error& e) {
    if (kind != Write::revocation) throw;
    // The disk may be full: the reserve's blocks take the store without free space.
    try {
      write_file_into_reserve(store_path_, reserve_path_, bytes);
    } catch (const Error& reserved) {
      throw Error(Code::io_error, std::string(e.what()) + "; " + reserved.what());
    }
    spdlog::warn("{}; written into the space reserved for it", e.what());
  }
  keep_reserve(bytes.size());
}

void Vault::keep_reserve(std::uintmax_t store_bytes) const {
  const std::uintmax_t bytes = std::max(kMinReserve, store_bytes + kReserveMargin);
  if (!okxvault::keep_reserve(reserve_path_, bytes)) {
    spdlog::warn(
        "{}: cannot reserve {} bytes: on a full disk, a revoke or grant change could then take effect "
        "in memory only",
        reserve_path_.string(), bytes);
  }
}

void Vault::adopt(const Written& written) {
  generation_ = written.generation;
  audit_anchor_ = written.anchor;
  unsaved_revocations_.clear();  // every write holds the whole table
  unsaved_grants_.clear();
}

void Vault::save_slots(std::vector<store::Slot> slots) {
  Written written;
  {
    const SharedLock state(mutex_);
    store::Image next = image({}, nullptr);
    next.slots = std::move(slots);
    written = write(next, *data_key_, Write::ordinary);
    slots = std::move(next.slots);
  }
  const ExclusiveLock<SharedMutex> state(mutex_);
  adopt(written);
  slots_ = std::move(slots);
}

Vault::Written Vault::write(store::Image& image, const store::DataKey& key, Write kind) {
  return write_image(image, key, kind, generation_.load(), audit_anchor_);
}

Vault::Written Vault::write_image(store::Image& image, const store::DataKey& key, Write kind, std::uint64_t generation,
                                  const AuditAnchor& anchor) {
  image.version = store::kFormatVersion;
  image.generation = generation + 1;
  const AuditAnchor head = audit_head_ ? audit_head_() : anchor;
  image.audit_line = head.line;
  image.audit_hash = head.hash.empty() ? std::string(64, '0') : head.hash;
  write_store(store::serialize(image, key), kind);
  return {image.generation, {image.audit_line, image.audit_hash}};
}

Vault::AuditAnchor Vault::audit_anchor() const {
  const SharedLock state(mutex_);
  return audit_anchor_;
}

void Vault::rewrite() {
  const ExclusiveLock<Mutex> change(writer_);
  save_and_adopt(Write::ordinary);
}

void Vault::anchor_audit_head() {
  const ExclusiveLock<Mutex> change(writer_);
  if (!audit_head_) return;
  const AuditAnchor head = audit_head_();
  {
    const SharedLock state(mutex_);
    if (!data_key_ || (head.line == audit_anchor_.line && head.hash == audit_anchor_.hash)) return;
  }
  save_and_adopt(Write::ordinary);
}

std::optional<SecretBytes> Vault::audit_key() {
  const ExclusiveLock<Mutex> change(writer_);
  SecretBytes key;
  std::vector<unsigned char> sealed;
  Written written;
  {
    const SharedLock state(mutex_);
    if (!data_key_) return std::nullopt;
    if (!audit_key_.empty()) return store::open_audit_key(*data_key_, audit_key_);
    key = SecretBytes::random(store::kAuditKeyBytes);
    sealed = store::seal_audit_key(*data_key_, key);
    store::Image next = image({}, nullptr);
    next.audit_key = sealed;
    written = write(next, *data_key_, Write::ordinary);
  }
  release_freed_memory();  // as after every write: a vault's first start writes its store here
  const ExclusiveLock<SharedMutex> state(mutex_);
  adopt(written);
  audit_key_ = std::move(sealed);
  return key;
}

void Vault::set_audit_head(std::function<AuditAnchor()> source) {
  const ExclusiveLock<Mutex> change(writer_);
  audit_head_ = std::move(source);
}

}  // namespace okxvault
