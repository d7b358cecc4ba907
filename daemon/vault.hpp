#pragma once
// The key table: for every key, its signer and credentials in guarded memory,
// and the store file they persist to. Thread-safe: signs run concurrently under a
// shared lock; add and remove take it exclusively and return only once the store
// on disk says the same as memory (if the write fails, memory is left unchanged).

#include <atomic>
#include <filesystem>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "daemon/signer.hpp"
#include "daemon/store.hpp"
#include "proto/messages.hpp"

namespace okxvault {

class Vault {
 public:
  // A new, empty vault whose data key is wrapped by master_key. Refuses to
  // replace an existing file (Error io_error).
  static std::unique_ptr<Vault> create(std::filesystem::path store_path, const SecretBytes& master_key);
  // Opens an existing vault. Errors name the file: io_error, insecure_permissions,
  // corrupt_store, unsupported_version, wrong_master_key, tampered_store.
  static std::unique_ptr<Vault> open(std::filesystem::path store_path, const SecretBytes& master_key);

  ~Vault();
  Vault(const Vault&) = delete;
  Vault& operator=(const Vault&) = delete;

  std::size_t size() const;
  // Metadata only, sorted by name; api keys masked.
  std::vector<proto::KeyInfo> list() const;
  // Returns the new key's metadata. Errors: invalid_name, bad_request (invalid
  // field), key_exists, io_error.
  proto::KeyInfo add(const proto::AddKeyRequest& request);
  // Wipes the key from memory and removes it from disk. Errors: key_not_found, io_error.
  void remove(std::string_view name);

  // The OK-ACCESS-* headers for one request; counts the use. Error key_not_found.
  proto::Headers sign(std::string_view name, std::string_view timestamp, std::string_view method,
                      std::string_view request_path, std::string_view body);
  proto::WsLoginFrame ws_login(std::string_view name, std::string_view timestamp);

 private:
  struct Entry;
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const noexcept { return std::hash<std::string_view>{}(name); }
  };
  using Table = std::unordered_map<std::string, std::unique_ptr<Entry>, NameHash, std::equal_to<>>;

  Vault(std::filesystem::path store_path, store::DataKey data_key, std::vector<store::Slot> slots);
  Entry& find(std::string_view name) const;  // caller holds the lock
  static proto::KeyInfo info(const Entry& entry);
  // Writes the table, plus `extra` and minus `without`, to disk.
  void save(const Entry* extra, const Entry* without) const;

  const std::filesystem::path store_path_;
  const store::DataKey data_key_;
  const std::vector<store::Slot> slots_;
  mutable std::shared_mutex mutex_;
  Table table_;
};

}  // namespace okxvault
