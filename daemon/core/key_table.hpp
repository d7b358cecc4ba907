#pragma once
// The key table's entries: one key's record as the store keeps it, its metadata,
// and, while the vault is unlocked, its signer and credentials in guarded memory.
// An entry is never moved (the credentials view its api key). The usage counters
// are atomic, for signs that run concurrently; every other field is written only
// by a change to the vault, under the vault's exclusive lock (vault.hpp).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "daemon/core/credentials.hpp"
#include "daemon/core/policy.hpp"
#include "daemon/core/signer.hpp"
#include "daemon/store/store.hpp"
#include "proto/messages.hpp"

namespace okxvault {

struct KeyEntry {
  // What only an unlocked vault holds.
  struct Unsealed {
    Signer signer;
    Credentials credentials;
  };

  // As on disk; the metadata is rewritten at each save. The name and api key
  // never change: new credentials come in a new entry (with_credentials).
  store::Record record;
  bool simulated = false;
  std::unique_ptr<Unsealed> unsealed;  // null while locked
  std::int64_t created_ms = 0;
  std::optional<std::int64_t> expires_ms;
  std::vector<Grant> grants;
  std::atomic<std::int64_t> last_used_ms{0};
  std::atomic<std::uint64_t> sign_count{0};
  std::atomic<std::uint64_t> denial_count{0};  // since start, for the metrics

  KeyEntry(store::Record stored, bool demo) : record(std::move(stored)), simulated(demo) {}
  KeyEntry(const KeyEntry&) = delete;
  KeyEntry& operator=(const KeyEntry&) = delete;

  // The entry for a stored record; with the data key, unsealed. The metadata is
  // not kept as text: metadata() writes it from the entry.
  static std::unique_ptr<KeyEntry> open(const store::RecordView& stored, const store::DataKey* data_key);

  void unseal(std::span<const unsigned char> secret, std::span<const unsigned char> passphrase);
  // The same key with other credentials: `sealed` (this key's name, the new api
  // key) unsealed with them, and everything else this entry holds, usage included.
  std::unique_ptr<KeyEntry> with_credentials(store::Record sealed, std::span<const unsigned char> secret,
                                             std::span<const unsigned char> passphrase) const;
  // Takes the usage counters of `other` (the entry this one replaces), which
  // signs may have moved since with_credentials().
  void take_usage(const KeyEntry& other);
  // Everything about the key that is not secret, as the store keeps it; with
  // `other_grants`, as it would be with those grants instead.
  std::string metadata(const std::vector<Grant>* other_grants = nullptr) const;
  // The record as the store keeps it, metadata included.
  store::Record stored(const std::vector<Grant>* other_grants = nullptr) const;
  // What GET /v1/keys says of it.
  proto::KeyInfo info() const;
};

struct NameHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view name) const noexcept { return std::hash<std::string_view>{}(name); }
};
using KeyTable = std::unordered_map<std::string, std::unique_ptr<KeyEntry>, NameHash, std::equal_to<>>;

}  // namespace okxvault
