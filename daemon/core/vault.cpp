#include "daemon/core/vault.hpp"

#include <boost/json.hpp>
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <exception>
#include <iterator>
#include <limits>
#include <mutex>
#include <system_error>
#include <thread>

#include "daemon/store/store_file.hpp"
#include "common/error.hpp"
#include "common/secret_pool.hpp"

namespace okxvault {
namespace json = boost::json;

namespace {

std::int64_t now_ms() { return unix_ms(Clock::now()); }

// Below this, a second thread costs more than it saves.
constexpr std::size_t kRecordsWorthAThread = 256;
// Small enough that neither thread idles long at the end, large enough that
// taking one is rare.
constexpr std::size_t kRecordsPerChunk = 64;

std::string mask(std::string_view api_key) {
  if (api_key.size() < 12) return "****";
  return std::string(api_key.substr(0, 4)) + "…" + std::string(api_key.substr(api_key.size() - 4));
}

json::value ms_or_null(const std::optional<std::int64_t>& ms) { return ms ? json::value(*ms) : json::value(nullptr); }

json::array rules_json(const std::vector<Rule>& rules) {
  json::array out;
  for (const Rule& rule : rules) out.emplace_back(rule.text());
  return out;
}

// Reads a record's metadata. It is authenticated by the file MAC, so a malformed
// value means a bug or a forged file with a valid MAC: the store is not trusted.
class MetadataReader {
 public:
  MetadataReader(std::string_view text, std::string_view name) : name_(name), value_(parse(text)) {
    if (!value_.is_object()) fail();
  }
  const json::object& root() const { return value_.get_object(); }

  template <typename T>
  T get(const json::object& from, std::string_view key) const {
    const json::value* v = from.if_contains(key);
    if (v == nullptr || v->is_null()) return T{};
    auto result = json::try_value_to<T>(*v);
    if (!result) fail();
    return *result;
  }

  // A time in Unix milliseconds; one the clock cannot hold is refused, not wrapped.
  std::int64_t ms(const json::object& from, std::string_view key) const {
    const auto value = get<std::int64_t>(from, key);
    if (!in_clock_range(value)) fail();
    return value;
  }
  std::optional<std::int64_t> optional_ms(const json::object& from, std::string_view key) const {
    const json::value* v = from.if_contains(key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    return ms(from, key);
  }

  std::vector<Grant> grants() const {
    std::vector<Grant> out;
    const json::value* list = root().if_contains("grants");
    if (list == nullptr) return out;
    if (!list->is_array()) fail();
    for (const json::value& item : list->get_array()) {
      if (!item.is_object()) fail();
      const json::object& g = item.get_object();
      Grant grant;
      grant.kind = get<std::string>(g, "kind") == "group" ? Grant::Kind::group : Grant::Kind::user;
      grant.id = get<std::uint32_t>(g, "id");
      grant.name = get<std::string>(g, "name");
      grant.read_only = get<bool>(g, "read_only");
      grant.expires_ms = optional_ms(g, "expires_ms");
      grant.allow = rules(g, "allow");
      grant.deny = rules(g, "deny");
      grant.ws = get<bool>(g, "ws");
      // Grants written before WebSocket logins became opt-in said "ws": true by
      // default; only "ws_explicit" tells a choice from that default. A login
      // can place orders, which a grant with allow rules may not mean to permit.
      if (grant.ws && !grant.allow.empty() && !get<bool>(g, "ws_explicit")) {
        grant.ws = false;
        spdlog::warn("key '{}': the grant of {} has allow rules and was stored when WebSocket logins were on by "
                     "default; its WebSocket login is now off (grant it again with --ws to turn it on)",
                     name_, grant.who());
      }
      out.push_back(std::move(grant));
    }
    return out;
  }

 private:
  [[noreturn]] void fail() const {
    throw Error(Code::tampered_store, "record '" + std::string(name_) + "' has invalid metadata");
  }

  json::value parse(std::string_view text) {
    boost::system::error_code ec;
    json::value value = json::parse(text, ec, &resource_);
    if (ec) fail();
    return value;  // moved, keeping its storage
  }

  std::vector<Rule> rules(const json::object& from, std::string_view key) const {
    std::vector<Rule> out;
    try {
      for (const std::string& text : get<std::vector<std::string>>(from, key)) out.push_back(Rule::parse(text));
    } catch (const Error&) {
      fail();
    }
    return out;
  }

  const std::string_view name_;
  // The tree lives only while its entry is made: from a buffer on the stack, freed
  // at once, rather than a dozen heap blocks per key, each freed on its own.
  unsigned char buffer_[2048];
  json::monotonic_resource resource_{buffer_, sizeof buffer_};
  json::value value_;
};

// The space kept for a revocation's write: the store's size and a margin, for
// the metadata a write adds, and at least kMinReserve.
constexpr std::uintmax_t kReserveMargin = 64 * 1024;
constexpr std::uintmax_t kMinReserve = 1024 * 1024;

// Reading or writing the store of 10,000 keys frees megabytes of temporaries
// (the file, its records, their metadata) spread through the heap, which glibc
// keeps resident unless asked to give them back.
void release_freed_memory() { ::malloc_trim(0); }

// A failure in a file read without its checksum is reported as corruption if
// the checksum says so, as a read with it would have (store::verify_checksum).
void verify_checksum(const std::filesystem::path& path, std::span<const unsigned char> bytes) {
  try {
    store::verify_checksum(bytes);
  } catch (const Error& e) {
    throw Error(e.code(), path.string() + ": " + e.what());
  }
}

}  // namespace

struct Vault::Entry {
  // What only an unlocked vault holds.
  struct Unsealed {
    Signer signer;
    Credentials credentials;
  };

  // As on disk; the metadata is rewritten at each save. The name and api key
  // never change: the credentials view the api key (an entry is never moved).
  store::Record record;
  bool simulated = false;
  std::unique_ptr<Unsealed> unsealed;  // null while locked
  std::int64_t created_ms = 0;
  std::optional<std::int64_t> expires_ms;
  std::vector<Grant> grants;
  std::atomic<std::int64_t> last_used_ms{0};
  std::atomic<std::uint64_t> sign_count{0};
  std::atomic<std::uint64_t> denial_count{0};  // since start, for the metrics

  Entry(store::Record stored, bool demo) : record(std::move(stored)), simulated(demo) {}
  Entry(const Entry&) = delete;
  Entry& operator=(const Entry&) = delete;

  void unseal(std::span<const unsigned char> secret, std::span<const unsigned char> passphrase) {
    unsealed.reset(new Unsealed{Signer(secret), Credentials{record.api_key, SecretBytes::copy_of(passphrase), simulated}});
  }

  // Everything about the key that is not secret, as the store keeps it.
  std::string metadata() const {
    json::array grant_list;
    for (const Grant& g : grants) {
      grant_list.push_back(json::object{{"kind", g.kind == Grant::Kind::group ? "group" : "user"},
                                        {"id", g.id},
                                        {"name", g.name},
                                        {"read_only", g.read_only},
                                        {"expires_ms", ms_or_null(g.expires_ms)},
                                        {"allow", rules_json(g.allow)},
                                        {"deny", rules_json(g.deny)},
                                        {"ws", g.ws},
                                        {"ws_explicit", true}});
    }
    return json::serialize(json::object{{"simulated", simulated},
                                        {"created_ms", created_ms},
                                        {"expires_ms", ms_or_null(expires_ms)},
                                        {"last_used_ms", last_used_ms.load()},
                                        {"sign_count", sign_count.load()},
                                        {"grants", std::move(grant_list)}});
  }

  // The entry for a stored record; with the data key, unsealed. The metadata is
  // not kept as text: save() writes it from the entry.
  static std::unique_ptr<Entry> open(const store::RecordView& stored, const store::DataKey* data_key) {
    const MetadataReader meta(stored.metadata, stored.name);
    store::Record record{std::string(stored.name), std::string(stored.api_key), {}, {stored.sealed.begin(), stored.sealed.end()}};
    auto entry = std::make_unique<Entry>(std::move(record), meta.get<bool>(meta.root(), "simulated"));
    entry->load_metadata(meta);
    if (data_key != nullptr) {
      const store::KeyMaterial material = store::open_record(*data_key, stored);
      entry->unseal(material.secret, material.passphrase);
    }
    return entry;
  }

  void load_metadata(const MetadataReader& meta) {
    created_ms = meta.ms(meta.root(), "created_ms");
    expires_ms = meta.optional_ms(meta.root(), "expires_ms");
    last_used_ms = meta.ms(meta.root(), "last_used_ms");
    sign_count = meta.get<std::uint64_t>(meta.root(), "sign_count");
    grants = meta.grants();
  }
};

Vault::Vault(std::filesystem::path store_path)
    : store_path_(std::move(store_path)), reserve_path_(store_path_.string() + ".reserve") {}

Vault::~Vault() = default;  // every Entry wipes its secrets as it is destroyed

std::unique_ptr<Vault> Vault::create_with(std::filesystem::path store_path,
                                          const std::function<store::Slot(const store::DataKey&)>& wrap) {
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::symlink_status(store_path, ec))) {
    throw Error(Code::io_error, store_path.string() + ": a vault already exists here; refusing to replace it");
  }
  std::unique_ptr<Vault> vault(new Vault(std::move(store_path)));
  vault->data_key_.emplace(store::DataKey::generate());
  vault->slots_.push_back(wrap(*vault->data_key_));
  vault->audit_key_ = store::seal_audit_key(*vault->data_key_, SecretBytes::random(store::kAuditKeyBytes));
  vault->save(nullptr, nullptr);
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
  std::unique_lock lock(vault->mutex_);
  const Unwrap unwrap = [&](std::span<const store::Slot> slots) {
    return store::unwrap_with_key_file(slots, master_key);
  };
  vault->load(&unwrap);
  const auto key_file_slots = std::count_if(vault->slots_.begin(), vault->slots_.end(), [](const store::Slot& slot) {
    return slot.kind == store::SlotKind::key_file;
  });
  if (key_file_slots > 1) {
    std::vector<store::Slot> slots;
    std::copy_if(vault->slots_.begin(), vault->slots_.end(), std::back_inserter(slots),
                 [](const store::Slot& slot) { return slot.kind != store::SlotKind::key_file; });
    slots.push_back(store::wrap_with_key_file(*vault->data_key_, master_key));
    vault->save_slots(std::move(slots));
  }
  return vault;
}

std::unique_ptr<Vault> Vault::open_locked(std::filesystem::path store_path) {
  std::unique_ptr<Vault> vault(new Vault(std::move(store_path)));
  std::unique_lock lock(vault->mutex_);
  vault->load(nullptr);
  return vault;
}

void Vault::load(const Unwrap* unwrap) {
  read_store(unwrap);
  release_freed_memory();
  // What memory said before the store was read again, and the store does not say yet.
  for (const std::string& name : unsaved_revocations_) {
    if (const auto it = table_.find(name); it != table_.end()) table_.erase(it);
  }
  for (const auto& [name, grants] : unsaved_grants_) {
    if (const auto it = table_.find(name); it != table_.end()) it->second->grants = grants;
  }
  if (data_key_ && unsaved()) {
    try {
      save(nullptr, nullptr, Write::revocation);
    } catch (const std::exception& e) {
      spdlog::error("{}: changes in memory only are still not written: {}", store_path_.string(), e.what());
    }
  }
  std::error_code ec;
  if (const auto size = std::filesystem::file_size(store_path_, ec); !ec) keep_reserve(size);
}

void Vault::read_store(const Unwrap* unwrap) {
  const std::vector<unsigned char> bytes = read_private_file(store_path_);
  try {
    if (unwrap == nullptr) store::verify_checksum(bytes);
    store::ImageView image = store::parse_unchecked(bytes);
    std::optional<store::DataKey> data_key;
    if (unwrap != nullptr) data_key.emplace((*unwrap)(image.slots));
    // Opening a record makes and drops secrets of sizes that no kept secret may
    // share: without the batch, their slab would be mapped and unmapped per record.
    const SecretPool::Batch batch(SecretPool::global());
    // Opening a record (its key schedule, decryption and metadata) is most of a
    // start with many keys: two threads take records in chunks, in file order,
    // until none are left or one fails. Taking chunks keeps both busy to the end
    // whatever else runs on the machine. The first record missing is then the
    // first that failed, which is raised. With the data key, the whole file is
    // hashed twice first, once per thread: the MAC proves nothing was forged, and
    // the checksum still refuses damage that spares every byte the MAC covers.
    const std::size_t count = image.records.size();
    std::vector<std::unique_ptr<Entry>> entries(count);
    std::vector<std::exception_ptr> errors((count + kRecordsPerChunk - 1) / kRecordsPerChunk);
    std::atomic<std::size_t> next_chunk{0};
    std::atomic<bool> failed{false};
    const auto open_records = [&] {
      for (std::size_t chunk; !failed && (chunk = next_chunk.fetch_add(1)) < errors.size();) {
        try {
          for (std::size_t i = chunk * kRecordsPerChunk; i < std::min(count, (chunk + 1) * kRecordsPerChunk); ++i) {
            entries[i] = Entry::open(image.records[i], data_key ? &*data_key : nullptr);
          }
        } catch (...) {
          errors[chunk] = std::current_exception();
          failed = true;
        }
      }
    };
    std::exception_ptr mac_error, checksum_error;
    const auto check_mac = [&] {
      try {
        if (data_key) store::verify_mac(bytes, *data_key);
      } catch (...) {
        mac_error = std::current_exception();
      }
    };
    const auto check_checksum = [&] {
      try {
        if (data_key) store::verify_checksum(bytes);
      } catch (...) {
        checksum_error = std::current_exception();
      }
    };
    std::thread helper;
    if (count >= kRecordsWorthAThread) {
      try {
        helper = std::thread([&] {
          check_mac();
          open_records();
        });
      } catch (const std::system_error&) {  // no thread to be had: this one does it all
      }
    }
    if (!helper.joinable()) check_mac();
    check_checksum();
    open_records();
    if (helper.joinable()) helper.join();
    if (checksum_error) std::rethrow_exception(checksum_error);
    Table table;
    table.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      if (!entries[i]) std::rethrow_exception(errors[i / kRecordsPerChunk]);
      const std::string name = entries[i]->record.name;
      if (!table.emplace(name, std::move(entries[i])).second) {
        throw Error(Code::tampered_store, "record '" + name + "' appears twice");
      }
    }
    if (mac_error) std::rethrow_exception(mac_error);
    if (data_key && !image.audit_key.empty()) store::open_audit_key(*data_key, image.audit_key);
    if (image.generation < generation_) {
      throw Error(Code::rollback, "rollback: store generation " + std::to_string(image.generation) +
                                      " is older than generation " + std::to_string(generation_) +
                                      ", which this daemon read or wrote before: the store was replaced by an older copy; "
                                      "to accept that copy, restart okx-vaultd with --accept-rollback");
    }
    generation_ = image.generation;
    audit_anchor_ = {image.audit_line, image.audit_hash};
    slots_ = std::move(image.slots);
    audit_key_ = std::move(image.audit_key);
    table_ = std::move(table);
    data_key_ = std::move(data_key);
    if (data_key_) touch();
  } catch (const Error& e) {
    if (unwrap != nullptr) verify_checksum(store_path_, bytes);
    if (e.code() == Code::wrong_passphrase) throw;
    throw Error(e.code(), store_path_.string() + ": " + e.what());
  }
}

void Vault::touch() {
  last_activity_.store(std::chrono::steady_clock::now().time_since_epoch().count(), std::memory_order_relaxed);
}

void Vault::require_unlocked() const {
  if (!data_key_) throw Error(Code::vault_locked, "the vault is locked; an admin can unlock it with: okx-vault unlock");
}

bool Vault::locked() const {
  std::shared_lock lock(mutex_);
  return !data_key_;
}

namespace {

std::vector<std::string> slot_names(std::span<const store::Slot> slots) {
  std::vector<std::string> names;
  for (const store::Slot& slot : slots) names.emplace_back(slot.kind == store::SlotKind::key_file ? "key_file" : "passphrase");
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

}  // namespace

std::vector<std::string> Vault::slots() const {
  std::shared_lock lock(mutex_);
  return slot_names(slots_);
}

namespace {

store::Header header_of(const std::filesystem::path& store_path) {
  // The slots come first and are small: reading the beginning of the file spares
  // a start a read of all of it, which the vault then reads again anyway.
  constexpr std::size_t kSlotsReadFirst = 16 * 1024;
  for (std::size_t limit = kSlotsReadFirst;; limit = std::numeric_limits<std::size_t>::max()) {
    const std::vector<unsigned char> bytes = read_private_file(store_path, limit);
    try {
      return store::parse_header_unchecked(bytes);
    } catch (const Error& e) {
      if (bytes.size() == limit) continue;  // the slots may go on past what was read
      verify_checksum(store_path, bytes);
      throw Error(e.code(), store_path.string() + ": " + e.what());
    }
  }
}

}  // namespace

std::vector<std::string> Vault::slots_of(const std::filesystem::path& store_path) {
  return slot_names(header_of(store_path).slots);
}

std::uint64_t Vault::generation_of(const std::filesystem::path& store_path) {
  return header_of(store_path).generation;
}


void Vault::unlock(const SecretBytes& passphrase) {
  const auto require_slot = [&] {
    if (!store::has_slot(slots_, store::SlotKind::passphrase)) {
      throw Error(Code::bad_request, "this vault has no passphrase; restart the daemon with its key file");
    }
  };
  {
    // Unlocked already: the passphrase is still checked, so that an unlock is
    // never a success that tells nothing (and resets the count of wrong ones).
    std::shared_lock lock(mutex_);
    if (data_key_) {
      require_slot();
      return check_passphrase(passphrase);
    }
  }
  std::unique_lock lock(mutex_);
  if (data_key_) {
    require_slot();
    return check_passphrase(passphrase);
  }
  require_slot();
  const Unwrap unwrap = [&](std::span<const store::Slot> slots) {
    return store::unwrap_with_passphrase(slots, passphrase);
  };
  load(&unwrap);
}

void Vault::unlock_with_key_file(const SecretBytes& master_key) {
  std::unique_lock lock(mutex_);
  if (data_key_) return;
  const Unwrap unwrap = [&](std::span<const store::Slot> slots) {
    return store::unwrap_with_key_file(slots, master_key);
  };
  load(&unwrap);
}

void Vault::lock() {
  std::unique_lock lock(mutex_);
  if (!data_key_) return;
  std::string failed;
  try {
    if (usage_changed_.exchange(false) || unsaved()) save(nullptr, nullptr, Write::revocation);
  } catch (const std::exception& e) {
    failed = e.what();
  }
  for (auto& [name, entry] : table_) entry->unsealed.reset();
  data_key_.reset();
  if (failed.empty()) return;
  throw Error(Code::not_persisted,
              "the vault is locked, but the store could not be written (" + failed +
                  "): usage counters since the last save are lost" +
                  (unsaved() ? "; revocations and grant changes not yet written stay in effect in memory until the "
                               "daemon restarts, and are written after the next unlock once there is room"
                             : ""));
}

bool Vault::lock_if_idle(std::chrono::milliseconds idle) {
  {
    std::shared_lock lock(mutex_);
    const std::chrono::steady_clock::duration since(last_activity_.load(std::memory_order_relaxed));
    if (!data_key_ || std::chrono::steady_clock::now().time_since_epoch() - since < idle) return false;
  }
  lock();
  return true;
}

void Vault::check_passphrase(const SecretBytes& passphrase) const {
  const store::DataKey key = store::unwrap_with_passphrase(slots_, passphrase);
  if (!key.key().equals(data_key_->key().bytes())) {
    throw Error(Code::tampered_store, store_path_.string() + ": the passphrase slot holds another vault's key");
  }
}

namespace {

std::vector<store::Slot> without(const std::vector<store::Slot>& slots, store::SlotKind kind) {
  std::vector<store::Slot> out;
  std::copy_if(slots.begin(), slots.end(), std::back_inserter(out),
               [&](const store::Slot& slot) { return slot.kind != kind; });
  return out;
}

}  // namespace

void Vault::set_passphrase(const SecretBytes* current, const SecretBytes& passphrase, store::PassphraseCost cost) {
  store::validate_vault_passphrase(passphrase);
  std::unique_lock lock(mutex_);
  require_unlocked();
  const bool has = store::has_slot(slots_, store::SlotKind::passphrase);
  if (has && current == nullptr) {
    throw Error(Code::bad_request, "this vault already has a passphrase; change it with the current one");
  }
  if (!has && current != nullptr) throw Error(Code::bad_request, "this vault has no passphrase to change; set one");
  if (current != nullptr) check_passphrase(*current);
  std::vector<store::Slot> slots = without(slots_, store::SlotKind::passphrase);
  slots.push_back(store::wrap_with_passphrase(*data_key_, passphrase, cost));
  save_slots(std::move(slots));
}

void Vault::remove_passphrase(const SecretBytes& current) {
  std::unique_lock lock(mutex_);
  require_unlocked();
  if (!store::has_slot(slots_, store::SlotKind::passphrase)) throw Error(Code::not_found, "this vault has no passphrase");
  if (!store::has_slot(slots_, store::SlotKind::key_file)) {
    throw Error(Code::last_slot,
                "the passphrase is the only way to open this vault; add a key file first (okx-vault keyfile rotate)");
  }
  check_passphrase(current);
  save_slots(without(slots_, store::SlotKind::passphrase));
}

void Vault::rotate_key_file(const std::filesystem::path& key_path) {
  std::unique_lock lock(mutex_);
  require_unlocked();
  const SecretBytes key = SecretBytes::random(store::kMasterKeyBytes);
  store::Slot fresh = store::wrap_with_key_file(*data_key_, key);
  std::vector<store::Slot> both = slots_;
  both.push_back(fresh);
  save_slots(std::move(both));
  write_file_atomically(key_path, key.bytes());
  std::vector<store::Slot> only_new = without(slots_, store::SlotKind::key_file);
  only_new.push_back(std::move(fresh));
  save_slots(std::move(only_new));
}

void Vault::rekey(const SecretBytes* passphrase, const std::filesystem::path& key_path) {
  std::unique_lock lock(mutex_);
  require_unlocked();
  // A passphrase this vault cannot check would make a success of any guess.
  if (passphrase != nullptr && !store::has_slot(slots_, store::SlotKind::passphrase)) {
    throw Error(Code::bad_request, "this vault has no passphrase; rekey it without one");
  }
  store::DataKey next = store::DataKey::generate();
  std::vector<store::Slot> slots;
  for (const store::Slot& slot : slots_) {
    if (slot.kind == store::SlotKind::passphrase) {
      if (passphrase == nullptr) {
        throw Error(Code::bad_request, "this vault has a passphrase: give it, so the new data key is wrapped for it");
      }
      check_passphrase(*passphrase);
      slots.push_back(store::wrap_with_passphrase(next, *passphrase, store::cost_of(slot)));
    } else if (!store::has_slot(slots, store::SlotKind::key_file)) {
      const SecretBytes master_key = read_key_file(key_path);
      if (!store::unwrap_with_key_file(slots_, master_key).key().equals(data_key_->key().bytes())) {
        throw Error(Code::tampered_store, store_path_.string() + ": the key-file slot holds another vault's key");
      }
      slots.push_back(store::wrap_with_key_file(next, master_key));
    }
  }
  store::Image resealed = image(nullptr, nullptr);
  resealed.slots = slots;
  for (store::Record& record : resealed.records) {
    const store::KeyMaterial material = store::open_record(*data_key_, record);
    record = store::seal_record(next, std::move(record.name), std::move(record.api_key), std::move(record.metadata),
                                SecretBytes::copy_of(material.secret), SecretBytes::copy_of(material.passphrase));
  }
  if (!audit_key_.empty()) resealed.audit_key = store::seal_audit_key(next, store::open_audit_key(*data_key_, audit_key_));
  write(resealed, next, Write::ordinary);
  for (store::Record& record : resealed.records) table_.at(record.name)->record.sealed = std::move(record.sealed);
  slots_ = std::move(slots);
  audit_key_ = std::move(resealed.audit_key);
  data_key_ = std::move(next);
}

std::size_t Vault::size() const {
  std::shared_lock lock(mutex_);
  return table_.size();
}

proto::KeyInfo Vault::info(const Entry& entry) {
  proto::KeyInfo info{entry.record.name, mask(entry.record.api_key), entry.simulated,
                      iso8601_ms(entry.created_ms),  std::nullopt, entry.sign_count.load(),
                      std::nullopt,           entry.grants.size()};
  if (const auto last = entry.last_used_ms.load(); last != 0) info.last_used = iso8601_ms(last);
  if (entry.expires_ms) info.expires = iso8601_ms(*entry.expires_ms);
  return info;
}

std::vector<proto::KeyInfo> Vault::list(const Caller& caller) const {
  std::vector<proto::KeyInfo> keys;
  {
    std::shared_lock lock(mutex_);
    for (const auto& [name, entry] : table_) {
      if (caller.admin || is_granted(entry->grants, caller.peer)) keys.push_back(info(*entry));
    }
  }
  std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return keys;
}

proto::KeyInfo Vault::add(const proto::AddKeyRequest& request) {
  // Validates name and fields before anything else happens.
  std::unique_lock lock(mutex_);
  require_unlocked();
  store::Record record = store::seal_record(*data_key_, request.name, request.api_key, {}, request.secret,
                                            request.passphrase);
  auto entry = std::make_unique<Entry>(std::move(record), request.simulated);
  entry->unseal(request.secret.bytes(), request.passphrase.bytes());
  entry->created_ms = now_ms();
  if (request.expires) {
    entry->expires_ms = unix_ms(parse_iso8601_ms(*request.expires));
  }

  if (table_.contains(request.name)) {
    throw Error(Code::key_exists, "a key named '" + request.name + "' already exists");
  }
  save(entry.get(), nullptr);
  proto::KeyInfo added = info(*entry);
  table_.emplace(request.name, std::move(entry));
  return added;
}

namespace {

Error not_persisted(const std::string& change, const std::string& cause) {
  return Error(Code::not_persisted,
               change + " in memory, but the store could not be written (" + cause +
                   "): a restart before it is written would undo it. Free space in the state directory: the daemon "
                   "writes it with the next change, usage save (every minute) or shutdown");
}

}  // namespace

void Vault::remove(std::string_view name) {
  std::unique_lock lock(mutex_);
  require_unlocked();
  Entry& entry = find(name);
  std::string failed;
  try {
    save(nullptr, &entry, Write::revocation);
  } catch (const std::exception& e) {
    failed = e.what();
  }
  table_.erase(table_.find(name));  // wipes its secrets: from now on it signs nothing
  if (failed.empty()) return;
  if (const auto it = unsaved_grants_.find(name); it != unsaved_grants_.end()) unsaved_grants_.erase(it);
  unsaved_revocations_.emplace(name);
  throw not_persisted("key '" + std::string(name) + "' is revoked", failed);
}

std::vector<KeyCounts> Vault::counts() const {
  std::vector<KeyCounts> counts;
  {
    std::shared_lock lock(mutex_);
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
  std::shared_lock lock(mutex_);
  return find(name).grants;
}

void Vault::set_grants(std::string_view name, std::vector<Grant> grants) {
  std::unique_lock lock(mutex_);
  require_unlocked();
  Entry& entry = find(name);
  // Only a change that takes access away may outlive a failed write: one that
  // gives access is not in force until the store says so.
  const bool only_removes = std::all_of(grants.begin(), grants.end(), [&](const Grant& grant) {
    return std::find(entry.grants.begin(), entry.grants.end(), grant) != entry.grants.end();
  });
  std::swap(entry.grants, grants);
  try {
    save(nullptr, nullptr, only_removes ? Write::revocation : Write::ordinary);
  } catch (const std::exception& e) {
    if (!only_removes) {
      std::swap(entry.grants, grants);
      throw;
    }
    unsaved_grants_.insert_or_assign(std::string(name), entry.grants);
    throw not_persisted("the grants of key '" + std::string(name) + "' are changed", e.what());
  }
}

namespace {

Error no_such_key(std::string_view name) { return Error(Code::key_not_found, "no key named '" + std::string(name) + "'"); }

}  // namespace

Vault::Entry& Vault::find(std::string_view name) const {
  const auto it = table_.find(name);
  if (it == table_.end()) throw no_such_key(name);
  return *it->second;
}

Vault::Entry& Vault::find_usable(std::string_view name, const Caller& caller) const {
  Entry& entry = find(name);
  if (!caller.admin && !is_granted(entry.grants, caller.peer)) {
    entry.denial_count.fetch_add(1, std::memory_order_relaxed);  // the admin still sees the attempt
    throw no_such_key(name);
  }
  return entry;
}

std::string Vault::authorize(Entry& entry, const Caller& caller, std::string_view method, std::string_view path,
                             bool ws) {
  const std::int64_t now = now_ms();
  Decision decision;
  try {
    if (entry.expires_ms && now >= *entry.expires_ms) {
      throw Error(Code::key_expired,
                  "key '" + entry.record.name + "' expired at " + iso8601_ms(*entry.expires_ms), "key expired");
    }
    decision = decide(entry.grants, caller.peer, caller.admin, method, path, ws, now);
    if (!decision.allowed) throw Error(Code::policy_denied, "request refused by rule: " + decision.rule, decision.rule);
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

Vault::Signed Vault::sign(std::string_view name, const Caller& caller, std::string_view timestamp,
                          std::string_view method, std::string_view request_path, std::string_view body) {
  std::shared_lock lock(mutex_);
  require_unlocked();
  Entry& entry = find_usable(name, caller);
  std::string rule = authorize(entry, caller, method, request_path, false);
  return {sign_reply(entry.unsealed->signer, entry.unsealed->credentials, timestamp, method, request_path, body),
          std::move(rule)};
}

Vault::Signed Vault::ws_login(std::string_view name, const Caller& caller, std::string_view timestamp) {
  std::shared_lock lock(mutex_);
  require_unlocked();
  Entry& entry = find_usable(name, caller);
  std::string rule = authorize(entry, caller, "GET", "/users/self/verify", true);
  return {ws_login_reply(entry.unsealed->signer, entry.unsealed->credentials, timestamp), std::move(rule)};
}

void Vault::save_usage() {
  std::unique_lock lock(mutex_);
  if (!data_key_ || (!usage_changed_.exchange(false) && !unsaved())) return;
  try {
    save(nullptr, nullptr, unsaved() ? Write::revocation : Write::ordinary);
  } catch (...) {
    usage_changed_ = true;  // try again next time
    throw;
  }
}

store::Image Vault::image(const Entry* extra, const Entry* without) const {
  store::Image image{slots_, {}};
  image.audit_key = audit_key_;
  image.records.reserve(table_.size() + 1);
  const auto add_record = [&](const Entry& entry) {
    store::Record record = entry.record;
    record.metadata = entry.metadata();
    image.records.push_back(std::move(record));
  };
  for (const auto& [name, entry] : table_) {
    if (entry.get() != without) add_record(*entry);
  }
  if (extra != nullptr) add_record(*extra);
  return image;
}

void Vault::save(const Entry* extra, const Entry* without, Write kind) {
  store::Image next = image(extra, without);
  write(next, *data_key_, kind);
  release_freed_memory();
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
  unsaved_revocations_.clear();  // every write holds the whole table
  unsaved_grants_.clear();
  keep_reserve(bytes.size());
}

void Vault::keep_reserve(std::uintmax_t store_bytes) const {
  const std::uintmax_t bytes = std::max(kMinReserve, store_bytes + kReserveMargin);
  if (!okxvault::keep_reserve(reserve_path_, bytes)) {
    spdlog::warn("{}: cannot reserve {} bytes: on a full disk, a revoke or grant change could then take effect "
                 "in memory only", reserve_path_.string(), bytes);
  }
}

void Vault::save_slots(std::vector<store::Slot> slots) {
  store::Image next = image(nullptr, nullptr);
  next.slots = std::move(slots);
  write(next, *data_key_, Write::ordinary);
  slots_ = std::move(next.slots);
}

void Vault::write(store::Image& image, const store::DataKey& key, Write kind) {
  image.version = store::kFormatVersion;
  image.generation = generation_.load() + 1;
  const AuditAnchor anchor = audit_head_ ? audit_head_() : audit_anchor_;
  image.audit_line = anchor.line;
  image.audit_hash = anchor.hash.empty() ? std::string(64, '0') : anchor.hash;
  write_store(store::serialize(image, key), kind);
  generation_ = image.generation;
  audit_anchor_ = {image.audit_line, image.audit_hash};
}

Vault::AuditAnchor Vault::audit_anchor() const {
  std::shared_lock lock(mutex_);
  return audit_anchor_;
}

void Vault::rewrite() {
  std::unique_lock lock(mutex_);
  if (data_key_) save(nullptr, nullptr);
}

void Vault::anchor_audit_head() {
  std::unique_lock lock(mutex_);
  if (!data_key_ || !audit_head_) return;
  const AuditAnchor head = audit_head_();
  if (head.line != audit_anchor_.line || head.hash != audit_anchor_.hash) save(nullptr, nullptr);
}

std::optional<SecretBytes> Vault::audit_key() {
  std::unique_lock lock(mutex_);
  if (!data_key_) return std::nullopt;
  if (audit_key_.empty()) {
    SecretBytes key = SecretBytes::random(store::kAuditKeyBytes);
    audit_key_ = store::seal_audit_key(*data_key_, key);
    try {
      save(nullptr, nullptr);
    } catch (...) {
      audit_key_.clear();
      throw;
    }
    return key;
  }
  return store::open_audit_key(*data_key_, audit_key_);
}

void Vault::set_audit_head(std::function<AuditAnchor()> source) {
  std::unique_lock lock(mutex_);
  audit_head_ = std::move(source);
}

}  // namespace okxvault
