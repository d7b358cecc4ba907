#include "daemon/vault.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <mutex>

#include "daemon/store_file.hpp"
#include "proto/error.hpp"

namespace okxvault {
namespace json = boost::json;

struct Vault::Entry {
  store::Record record;  // as on disk; the metadata is rewritten at each save
  Signer signer;
  Credentials credentials;
  std::int64_t created_ms = 0;
  std::atomic<std::int64_t> last_used_ms{0};
  std::atomic<std::uint64_t> sign_count{0};

  Entry(store::Record stored, const SecretBytes& secret, SecretBytes passphrase, bool simulated)
      : record(std::move(stored)), signer(secret), credentials{record.api_key, std::move(passphrase), simulated} {}

  std::string metadata() const {
    return json::serialize(json::object{{"simulated", credentials.simulated},
                                        {"created_ms", created_ms},
                                        {"last_used_ms", last_used_ms.load()},
                                        {"sign_count", sign_count.load()}});
  }
};

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

std::string mask(std::string_view api_key) {
  if (api_key.size() < 12) return "****";
  return std::string(api_key.substr(0, 4)) + "…" + std::string(api_key.substr(api_key.size() - 4));
}

std::string iso(std::int64_t ms) { return iso8601_ms(Clock::time_point{std::chrono::milliseconds{ms}}); }

// Metadata is authenticated by the file MAC, so a malformed value here means a
// bug or a forged file with a valid MAC; either way the store is not trusted.
template <typename T>
T metadata_field(const json::object& meta, std::string_view key, const std::string& name) {
  const json::value* v = meta.if_contains(key);
  if (v == nullptr) return T{};
  auto result = json::try_value_to<T>(*v);
  if (!result) throw Error(Code::tampered_store, "record '" + name + "' has invalid metadata");
  return *result;
}

}  // namespace

Vault::Vault(std::filesystem::path store_path, store::DataKey data_key, std::vector<store::Slot> slots)
    : store_path_(std::move(store_path)), data_key_(std::move(data_key)), slots_(std::move(slots)) {}

Vault::~Vault() = default;  // every Entry wipes its secrets as it is destroyed

std::unique_ptr<Vault> Vault::create(std::filesystem::path store_path, const SecretBytes& master_key) {
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::symlink_status(store_path, ec))) {
    throw Error(Code::io_error, store_path.string() + ": a vault already exists here; refusing to replace it");
  }
  auto data_key = store::DataKey::generate();
  auto slot = store::wrap_with_key_file(data_key, master_key);
  std::unique_ptr<Vault> vault(new Vault(std::move(store_path), std::move(data_key), {std::move(slot)}));
  vault->save(nullptr, nullptr);
  return vault;
}

std::unique_ptr<Vault> Vault::open(std::filesystem::path store_path, const SecretBytes& master_key) {
  const std::vector<unsigned char> bytes = read_private_file(store_path);
  try {
    store::Image image = store::parse(bytes);
    store::DataKey data_key = store::unwrap_with_key_file(image, master_key);
    std::unique_ptr<Vault> vault(new Vault(store_path, std::move(data_key), std::move(image.slots)));
    for (store::Record& record : image.records) {
      store::KeyMaterial material = store::open_record(vault->data_key_, record);
      const json::value parsed = json::parse(record.metadata);
      if (!parsed.is_object()) throw Error(Code::tampered_store, "record '" + record.name + "' has invalid metadata");
      const json::object& meta = parsed.get_object();
      const bool simulated = metadata_field<bool>(meta, "simulated", record.name);
      auto entry = std::make_unique<Entry>(std::move(record), material.secret,
                                           std::move(material.passphrase), simulated);
      entry->created_ms = metadata_field<std::int64_t>(meta, "created_ms", entry->record.name);
      entry->last_used_ms = metadata_field<std::int64_t>(meta, "last_used_ms", entry->record.name);
      entry->sign_count = metadata_field<std::uint64_t>(meta, "sign_count", entry->record.name);
      const std::string name = entry->record.name;
      if (!vault->table_.emplace(name, std::move(entry)).second) {
        throw Error(Code::tampered_store, "record '" + name + "' appears twice");
      }
    }
    store::verify_mac(bytes, vault->data_key_);
    return vault;
  } catch (const Error& e) {
    throw Error(e.code(), store_path.string() + ": " + e.what());
  } catch (const boost::system::system_error&) {
    throw Error(Code::tampered_store, store_path.string() + ": a record has unreadable metadata");
  }
}

std::size_t Vault::size() const {
  std::shared_lock lock(mutex_);
  return table_.size();
}

std::vector<proto::KeyInfo> Vault::list() const {
  std::vector<proto::KeyInfo> keys;
  {
    std::shared_lock lock(mutex_);
    keys.reserve(table_.size());
    for (const auto& [name, entry] : table_) keys.push_back(info(*entry));
  }
  std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return keys;
}

proto::KeyInfo Vault::info(const Entry& entry) {
  proto::KeyInfo info{entry.record.name, mask(entry.record.api_key), entry.credentials.simulated,
                      iso(entry.created_ms), std::nullopt, entry.sign_count.load()};
  if (const auto last = entry.last_used_ms.load(); last != 0) info.last_used = iso(last);
  return info;
}

proto::KeyInfo Vault::add(const proto::AddKeyRequest& request) {
  // Validates name and fields before anything else happens.
  store::Record record = store::seal_record(data_key_, request.name, request.api_key, {}, request.secret,
                                            request.passphrase);
  auto entry = std::make_unique<Entry>(std::move(record), request.secret,
                                       SecretBytes::copy_of(request.passphrase.reveal()), request.simulated);
  entry->created_ms = now_ms();

  std::unique_lock lock(mutex_);
  if (table_.contains(request.name)) {
    throw Error(Code::key_exists, "a key named '" + request.name + "' already exists");
  }
  save(entry.get(), nullptr);
  proto::KeyInfo added = info(*entry);
  table_.emplace(request.name, std::move(entry));
  return added;
}

void Vault::remove(std::string_view name) {
  std::unique_lock lock(mutex_);
  Entry& entry = find(name);
  save(nullptr, &entry);
  table_.erase(table_.find(name));
}

Vault::Entry& Vault::find(std::string_view name) const {
  const auto it = table_.find(name);
  if (it == table_.end()) throw Error(Code::key_not_found, "no key named '" + std::string(name) + "'");
  return *it->second;
}

proto::Headers Vault::sign(std::string_view name, std::string_view timestamp, std::string_view method,
                           std::string_view request_path, std::string_view body) {
  std::shared_lock lock(mutex_);
  Entry& entry = find(name);
  entry.sign_count.fetch_add(1, std::memory_order_relaxed);
  entry.last_used_ms.store(now_ms(), std::memory_order_relaxed);
  return rest_headers(entry.signer, entry.credentials, timestamp, method, request_path, body);
}

proto::WsLoginFrame Vault::ws_login(std::string_view name, std::string_view timestamp) {
  std::shared_lock lock(mutex_);
  Entry& entry = find(name);
  entry.sign_count.fetch_add(1, std::memory_order_relaxed);
  entry.last_used_ms.store(now_ms(), std::memory_order_relaxed);
  return okxvault::ws_login(entry.signer, entry.credentials, timestamp);
}

void Vault::save(const Entry* extra, const Entry* without) const {
  store::Image image{slots_, {}};
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
  write_file_atomically(store_path_, store::serialize(image, data_key_));
}

}  // namespace okxvault
