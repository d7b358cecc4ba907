#include "daemon/core/key_table.hpp"

#include "common/timestamp.hpp"
#include "daemon/core/metadata_codec.hpp"

namespace okxvault {
namespace {

std::string mask(std::string_view api_key) {
  if (api_key.size() < 12) return "****";
  return std::string(api_key.substr(0, 4)) + "…" + std::string(api_key.substr(api_key.size() - 4));
}

}  // namespace

std::unique_ptr<KeyEntry> KeyEntry::open(const store::RecordView& stored, const store::DataKey* data_key) {
  KeyMetadata meta = decode_metadata(stored.metadata, stored.name);
  store::Record record{
      std::string(stored.name), std::string(stored.api_key), {}, {stored.sealed.begin(), stored.sealed.end()}};
  auto entry = std::make_unique<KeyEntry>(std::move(record), meta.simulated);
  entry->created_ms = meta.created_ms;
  entry->expires_ms = meta.expires_ms;
  entry->last_used_ms = meta.last_used_ms;
  entry->sign_count = meta.sign_count;
  entry->grants = std::move(meta.grants);
  if (data_key != nullptr) {
    const store::KeyMaterial material = store::open_record(*data_key, stored);
    entry->unseal(material.secret, material.passphrase);
  }
  return entry;
}

void KeyEntry::unseal(std::span<const unsigned char> secret, std::span<const unsigned char> passphrase) {
  unsealed = std::make_unique<Unsealed>(
      Unsealed{Signer(secret), Credentials{record.api_key, SecretBytes::copy_of(passphrase), simulated}});
}

std::unique_ptr<KeyEntry> KeyEntry::with_credentials(store::Record sealed, std::span<const unsigned char> secret,
                                                     std::span<const unsigned char> passphrase) const {
  auto entry = std::make_unique<KeyEntry>(std::move(sealed), simulated);
  entry->created_ms = created_ms;
  entry->expires_ms = expires_ms;
  entry->grants = grants;
  entry->take_usage(*this);
  entry->unseal(secret, passphrase);
  return entry;
}

void KeyEntry::take_usage(const KeyEntry& other) {
  last_used_ms = other.last_used_ms.load();
  sign_count = other.sign_count.load();
  denial_count = other.denial_count.load();
}

std::string KeyEntry::metadata(const std::vector<Grant>* other_grants) const {
  return encode_metadata({simulated, created_ms, expires_ms, last_used_ms.load(), sign_count.load(),
                          other_grants != nullptr ? *other_grants : grants});
}

store::Record KeyEntry::stored(const std::vector<Grant>* other_grants) const {
  store::Record out = record;
  out.metadata = metadata(other_grants);
  return out;
}

proto::KeyInfo KeyEntry::info() const {
  proto::KeyInfo info{record.name,  mask(record.api_key), simulated,    iso8601_ms(created_ms),
                      std::nullopt, sign_count.load(),    std::nullopt, grants.size()};
  if (const auto last = last_used_ms.load(); last != 0) info.last_used = iso8601_ms(last);
  if (expires_ms) info.expires = iso8601_ms(*expires_ms);
  return info;
}

}  // namespace okxvault
