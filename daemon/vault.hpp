#pragma once
// The key table: for every key, its signer and credentials in guarded memory, its
// grants, and the store file they persist to. Thread-safe: signs run concurrently
// under a shared lock; changes take it exclusively and return only once the store
// on disk says the same as memory (if the write fails, memory is left unchanged).

#include <atomic>
#include <filesystem>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "daemon/metrics.hpp"
#include "daemon/peer.hpp"
#include "daemon/policy.hpp"
#include "daemon/signer.hpp"
#include "daemon/store.hpp"
#include "proto/messages.hpp"

namespace okxvault {

// Who asks: the peer as the kernel reports it, and whether it is an admin.
struct Caller {
  const Peer& peer;
  bool admin = false;
};

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
  // Metadata only, sorted by name, api keys masked: every key for an admin, the
  // keys granted to the peer for anyone else.
  std::vector<proto::KeyInfo> list(const Caller& caller) const;
  // Returns the new key's metadata. Errors: invalid_name, bad_request (invalid
  // field or expiry), key_exists, io_error.
  proto::KeyInfo add(const proto::AddKeyRequest& request);
  // Wipes the key from memory and removes it from disk. Errors: key_not_found, io_error.
  void remove(std::string_view name);

  // Signs and denials of every key, by name.
  std::vector<Metrics::KeyCounts> counts() const;

  std::vector<Grant> grants(std::string_view name) const;
  // Replaces the key's grants, on disk before it returns.
  void set_grants(std::string_view name, std::vector<Grant> grants);

  // Signing checks the key's expiry and its grants (policy.hpp) first; a refusal
  // is Error(key_expired or policy_denied) naming the rule. On success, `rule`
  // says what allowed it.
  struct Signed {
    proto::Headers headers;
    std::string rule;
  };
  Signed sign(std::string_view name, const Caller& caller, std::string_view timestamp, std::string_view method,
              std::string_view request_path, std::string_view body);
  struct SignedLogin {
    proto::WsLoginFrame frame;
    std::string rule;
  };
  SignedLogin ws_login(std::string_view name, const Caller& caller, std::string_view timestamp);

  // Writes last-used times and sign counts if they changed since the last write.
  void save_usage();

 private:
  struct Entry;
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const noexcept { return std::hash<std::string_view>{}(name); }
  };
  using Table = std::unordered_map<std::string, std::unique_ptr<Entry>, NameHash, std::equal_to<>>;

  Vault(std::filesystem::path store_path, store::DataKey data_key, std::vector<store::Slot> slots);
  Entry& find(std::string_view name) const;  // caller holds the lock
  // Checks expiry and policy and counts the use; caller holds the shared lock.
  std::string authorize(Entry& entry, const Caller& caller, std::string_view method, std::string_view path,
                        bool ws);
  static proto::KeyInfo info(const Entry& entry);
  // Writes the table, plus `extra` and minus `without`, to disk; caller holds the lock.
  void save(const Entry* extra, const Entry* without) const;

  const std::filesystem::path store_path_;
  const store::DataKey data_key_;
  const std::vector<store::Slot> slots_;
  mutable std::shared_mutex mutex_;
  Table table_;
  std::atomic<bool> usage_changed_{false};
};

}  // namespace okxvault
