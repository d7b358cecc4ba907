#include "daemon/store/store.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "common/error.hpp"

namespace okxvault::store {
namespace {

constexpr std::array<unsigned char, 8> kMagic{'O', 'K', 'X', 'V', 'A', 'U', 'L', 'T'};
constexpr std::size_t kHashBytes = 32;
constexpr std::size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr std::size_t kDataKeyBytes = crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
constexpr std::size_t kMaxSlots = 16;
constexpr std::size_t kMinRecordBytes = 1 + 2 + 4 + 4;  // the four lengths, every field empty
constexpr std::string_view kSlotContext = "okx-vault slot v1";
constexpr std::string_view kRecordContext = "okx-vault record v1";
constexpr std::string_view kAuditKeyContext = "okx-vault audit key v1";
constexpr std::size_t kSealedAuditKeyBytes = kNonceBytes + kAuditKeyBytes + kTagBytes;
constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "okxvault";

using Bytes = std::vector<unsigned char>;
constexpr std::size_t kAuditHashBytes = 64;

bool is_audit_hash(std::string_view hash) {
  return hash.size() == kAuditHashBytes &&
         std::all_of(hash.begin(), hash.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

class Writer {
 public:
  explicit Writer(Bytes& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) { le(v, 2); }
  void u32(std::uint32_t v) { le(v, 4); }
  void u64(std::uint64_t v) { le(v, 8); }
  void raw(std::span<const unsigned char> bytes) { out_.insert(out_.end(), bytes.begin(), bytes.end()); }
  void raw(std::string_view text) { raw(std::span(reinterpret_cast<const unsigned char*>(text.data()), text.size())); }

 private:
  void le(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<unsigned char>(v >> (8 * i)));
  }
  Bytes& out_;
};

// Bounds-checked reading of the file's structure; any overrun means corruption.
class Reader {
 public:
  explicit Reader(std::span<const unsigned char> in) : in_(in) {}
  std::uint8_t u8() { return static_cast<std::uint8_t>(le(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(le(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(le(4)); }
  std::uint64_t u64() { return le(8); }
  std::span<const unsigned char> raw(std::size_t n) {
    need(n);
    auto out = in_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  std::string_view text(std::size_t n) {
    auto bytes = raw(n);
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }
  bool at_end() const { return pos_ == in_.size(); }
  std::size_t left() const { return in_.size() - pos_; }

 private:
  void need(std::size_t n) const {
    if (in_.size() - pos_ < n)
      throw Error(Code::corrupt_store, "file is truncated or corrupt (structure overruns the file)");
  }
  std::uint64_t le(int n) {
    need(static_cast<std::size_t>(n));
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(in_[pos_ + static_cast<std::size_t>(i)]) << (8 * i);
    pos_ += static_cast<std::size_t>(n);
    return v;
  }
  std::span<const unsigned char> in_;
  std::size_t pos_ = 0;
};

std::span<const unsigned char> as_bytes(std::string_view text) {
  return {reinterpret_cast<const unsigned char*>(text.data()), text.size()};
}

SecretBytes subkey(const SecretBytes& key, std::uint64_t id) {
  SecretBytes out(kDataKeyBytes);
  crypto_kdf_derive_from_key(out.data(), out.size(), id, kKdfContext, key.data());
  return out;
}

Bytes seal(const SecretBytes& key, std::span<const unsigned char> plain, std::span<const unsigned char> ad) {
  Bytes out(kNonceBytes + plain.size() + kTagBytes);
  randombytes_buf(out.data(), kNonceBytes);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + kNonceBytes, &written, plain.data(), plain.size(), ad.data(),
                                             ad.size(), nullptr, out.data(), key.data());
  return out;
}

// Returns false when authentication fails; plain is then left zeroed.
bool open(const SecretBytes& key, std::span<const unsigned char> sealed, std::span<const unsigned char> ad,
          SecretBytes& plain) {
  if (sealed.size() < kNonceBytes + kTagBytes) return false;
  plain = SecretBytes(sealed.size() - kNonceBytes - kTagBytes);
  unsigned long long written = 0;
  return crypto_aead_xchacha20poly1305_ietf_decrypt(plain.data(), &written, nullptr, sealed.data() + kNonceBytes,
                                                    sealed.size() - kNonceBytes, ad.data(), ad.size(), sealed.data(),
                                                    key.data()) == 0;
}

Bytes slot_ad(SlotKind kind, std::span<const unsigned char> params) {
  Bytes ad;
  Writer w(ad);
  w.raw(kSlotContext);
  w.u8(static_cast<std::uint8_t>(kind));
  w.raw(params);
  return ad;
}

Bytes record_ad(std::string_view name, std::string_view api_key) {
  Bytes ad;
  Writer w(ad);
  w.raw(kRecordContext);
  w.u8(static_cast<std::uint8_t>(name.size()));
  w.raw(name);
  w.u16(static_cast<std::uint16_t>(api_key.size()));
  w.raw(api_key);
  return ad;
}

// The parameters of a passphrase slot, as stored in its P bytes.
struct PwhashParams {
  PassphraseCost cost;
  std::array<unsigned char, crypto_pwhash_SALTBYTES> salt{};

  Bytes encode() const {
    Bytes out;
    Writer w(out);
    w.u8(static_cast<std::uint8_t>(crypto_pwhash_ALG_ARGON2ID13));
    w.u64(cost.opslimit);
    w.u64(cost.memlimit);
    w.raw(salt);
    return out;
  }

  // Refuses anything this build would not have written, before any hashing.
  static PwhashParams decode(std::span<const unsigned char> bytes) {
    const auto bad = [] { return Error(Code::corrupt_store, "passphrase slot has invalid Argon2id parameters"); };
    PwhashParams params;
    try {
      Reader r(bytes);
      if (r.u8() != crypto_pwhash_ALG_ARGON2ID13) throw bad();
      params.cost = {r.u64(), r.u64()};
      const auto salt = r.raw(params.salt.size());
      std::copy(salt.begin(), salt.end(), params.salt.begin());
      if (!r.at_end()) throw bad();
    } catch (const Error&) {
      throw bad();
    }
    if (params.cost.opslimit < crypto_pwhash_OPSLIMIT_MIN || params.cost.opslimit > kMaxOpslimit ||
        params.cost.memlimit < crypto_pwhash_MEMLIMIT_MIN || params.cost.memlimit > kMaxMemlimit) {
      throw bad();
    }
    return params;
  }

  static constexpr std::uint64_t kMaxOpslimit = 64;
  static constexpr std::uint64_t kMaxMemlimit = std::uint64_t{4} << 30;
};

SecretBytes passphrase_key(const SecretBytes& passphrase, const PwhashParams& params) {
  SecretBytes key(kDataKeyBytes);
  if (crypto_pwhash(key.data(), key.size(), reinterpret_cast<const char*>(passphrase.data()), passphrase.size(),
                    params.salt.data(), params.cost.opslimit, static_cast<std::size_t>(params.cost.memlimit),
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw Error(Code::internal, "out of memory deriving the passphrase key (Argon2id needs " +
                                    std::to_string(params.cost.memlimit >> 20) + " MiB)");
  }
  return key;
}

std::array<unsigned char, kHashBytes> hash(std::span<const unsigned char> bytes, const SecretBytes* key) {
  std::array<unsigned char, kHashBytes> out;
  crypto_generichash(out.data(), out.size(), bytes.data(), bytes.size(), key ? key->data() : nullptr,
                     key ? key->size() : 0);
  return out;
}

}  // namespace

DataKey::DataKey(SecretBytes key) : key_(std::move(key)), record_key_(subkey(key_, 1)), mac_key_(subkey(key_, 2)) {}

DataKey DataKey::generate() { return DataKey(SecretBytes::random(kDataKeyBytes)); }

DataKey DataKey::from(SecretBytes key) {
  if (key.size() != kDataKeyBytes) throw Error(Code::corrupt_store, "data key has the wrong size");
  return DataKey(std::move(key));
}

void validate_name(std::string_view name) {
  auto allowed_first = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  auto allowed = [&](char c) { return allowed_first(c) || c == '.' || c == '_' || c == '-'; };
  if (name.empty() || name.size() > 64 || !allowed_first(name.front()) ||
      !std::all_of(name.begin(), name.end(), allowed)) {
    throw Error(Code::invalid_name,
                "key name must be 1 to 64 characters of a-z 0-9 . _ - starting with a letter or digit");
  }
}

void validate_field(std::string_view what, std::span<const unsigned char> value, std::size_t max) {
  if (value.empty()) throw Error(Code::bad_request, std::string(what) + " must not be empty");
  if (value.size() > max) {
    throw Error(Code::bad_request, std::string(what) + " is longer than " + std::to_string(max) + " bytes");
  }
  if (!std::all_of(value.begin(), value.end(), [](unsigned char c) { return c >= 0x21 && c <= 0x7e; })) {
    throw Error(Code::bad_request, std::string(what) + " must be printable ASCII without spaces");
  }
}

Slot wrap_with_key_file(const DataKey& data_key, const SecretBytes& master_key) {
  if (master_key.size() != kMasterKeyBytes) throw Error(Code::wrong_master_key, "master key must be 32 bytes");
  Slot slot;
  slot.kind = SlotKind::key_file;
  slot.sealed = seal(master_key, data_key.key().bytes(), slot_ad(slot.kind, slot.params));
  return slot;
}

bool has_slot(std::span<const Slot> slots, SlotKind kind) {
  return std::any_of(slots.begin(), slots.end(), [&](const Slot& slot) { return slot.kind == kind; });
}

DataKey unwrap_with_key_file(std::span<const Slot> slots, const SecretBytes& master_key) {
  if (master_key.size() == kMasterKeyBytes) {
    for (const Slot& slot : slots) {
      if (slot.kind != SlotKind::key_file) continue;
      SecretBytes key;
      if (open(master_key, slot.sealed, slot_ad(slot.kind, slot.params), key)) return DataKey::from(std::move(key));
    }
  }
  throw Error(Code::wrong_master_key, "the master key does not open this store (wrong key file?)");
}

void validate_vault_passphrase(const SecretBytes& passphrase) {
  if (passphrase.size() < kMinVaultPassphraseBytes || passphrase.size() > kMaxVaultPassphraseBytes) {
    throw Error(Code::bad_request, "a vault passphrase must be " + std::to_string(kMinVaultPassphraseBytes) + " to " +
                                       std::to_string(kMaxVaultPassphraseBytes) + " bytes long");
  }
}

Slot wrap_with_passphrase(const DataKey& data_key, const SecretBytes& passphrase, PassphraseCost cost) {
  validate_vault_passphrase(passphrase);
  PwhashParams params{cost, {}};
  randombytes_buf(params.salt.data(), params.salt.size());
  Slot slot;
  slot.kind = SlotKind::passphrase;
  slot.params = params.encode();
  PwhashParams::decode(slot.params);  // a cost this build could not read back is a bug here, not a bad file later
  slot.sealed = seal(passphrase_key(passphrase, params), data_key.key().bytes(), slot_ad(slot.kind, slot.params));
  return slot;
}

DataKey unwrap_with_passphrase(std::span<const Slot> slots, const SecretBytes& passphrase) {
  for (const Slot& slot : slots) {
    if (slot.kind != SlotKind::passphrase) continue;
    const SecretBytes key = passphrase_key(passphrase, PwhashParams::decode(slot.params));
    SecretBytes data_key;
    if (open(key, slot.sealed, slot_ad(slot.kind, slot.params), data_key)) return DataKey::from(std::move(data_key));
  }
  throw Error(Code::wrong_passphrase, "wrong passphrase");
}

PassphraseCost cost_of(const Slot& slot) { return PwhashParams::decode(slot.params).cost; }

Record seal_record(const DataKey& data_key, std::string name, std::string api_key, std::string metadata,
                   const SecretBytes& secret, const SecretBytes& passphrase) {
  validate_name(name);
  validate_field("api_key", as_bytes(api_key), kMaxApiKeyBytes);
  validate_field("secret", secret.bytes(), kMaxSecretBytes);
  validate_field("passphrase", passphrase.bytes(), kMaxPassphraseBytes);

  SecretBytes plain(2 + secret.size() + 2 + passphrase.size());
  unsigned char* p = plain.data();
  for (const SecretBytes* part : {&secret, &passphrase}) {
    p[0] = static_cast<unsigned char>(part->size());
    p[1] = static_cast<unsigned char>(part->size() >> 8);
    std::memcpy(p + 2, part->data(), part->size());
    p += 2 + part->size();
  }
  Record record{std::move(name), std::move(api_key), std::move(metadata), {}};
  record.sealed = seal(data_key.record_key(), plain.bytes(), record_ad(record.name, record.api_key));
  return record;
}

KeyMaterial open_record(const DataKey& data_key, const RecordView& record) {
  const auto tampered = [&] {
    return Error(Code::tampered_store,
                 "record '" + std::string(record.name) + "' failed authentication: it was tampered with or swapped");
  };
  KeyMaterial out;
  if (!open(data_key.record_key(), record.sealed, record_ad(record.name, record.api_key), out.plain)) throw tampered();
  Reader r(out.plain.bytes());
  try {
    out.secret = r.raw(r.u16());
    out.passphrase = r.raw(r.u16());
  } catch (const Error&) {
    throw tampered();
  }
  if (!r.at_end()) throw tampered();
  return out;
}

std::vector<unsigned char> seal_audit_key(const DataKey& data_key, const SecretBytes& audit_key) {
  if (audit_key.size() != kAuditKeyBytes) throw Error(Code::internal, "an audit key is 32 bytes");
  return seal(data_key.record_key(), audit_key.bytes(), as_bytes(kAuditKeyContext));
}

SecretBytes open_audit_key(const DataKey& data_key, std::span<const unsigned char> sealed) {
  SecretBytes key;
  if (sealed.size() != kSealedAuditKeyBytes || !open(data_key.record_key(), sealed, as_bytes(kAuditKeyContext), key)) {
    throw Error(Code::tampered_store, "the audit key failed authentication: it was tampered with or swapped");
  }
  return key;
}

std::vector<unsigned char> serialize(const Image& image, const DataKey& data_key) {
  Bytes out;
  Writer w(out);
  w.raw(kMagic);
  const bool fits = image.version == kFormatVersion || (image.version == 2 && image.audit_key.empty()) ||
                    (image.version == kOldestFormatVersion && image.generation == 0 && image.audit_line == 0 &&
                     image.audit_key.empty());
  if (!fits || !is_audit_hash(image.audit_hash) ||
      (!image.audit_key.empty() && image.audit_key.size() != kSealedAuditKeyBytes)) {
    throw Error(Code::internal, "cannot write a store of version " + std::to_string(image.version) +
                                    " with generation " + std::to_string(image.generation) +
                                    " and that audit head and key");
  }
  w.u16(image.version);
  if (image.version >= 2) {
    w.u64(image.generation);
    w.u64(image.audit_line);
    w.raw(image.audit_hash);
  }
  if (image.version >= 3) {
    w.u16(static_cast<std::uint16_t>(image.audit_key.size()));
    w.raw(image.audit_key);
  }
  w.u16(static_cast<std::uint16_t>(image.slots.size()));
  for (const Slot& slot : image.slots) {
    w.u8(static_cast<std::uint8_t>(slot.kind));
    w.u16(static_cast<std::uint16_t>(slot.params.size()));
    w.raw(slot.params);
    w.u16(static_cast<std::uint16_t>(slot.sealed.size()));
    w.raw(slot.sealed);
  }
  w.u32(static_cast<std::uint32_t>(image.records.size()));
  for (const Record& record : image.records) {
    w.u8(static_cast<std::uint8_t>(record.name.size()));
    w.raw(record.name);
    w.u16(static_cast<std::uint16_t>(record.api_key.size()));
    w.raw(record.api_key);
    w.u32(static_cast<std::uint32_t>(record.metadata.size()));
    w.raw(record.metadata);
    w.u32(static_cast<std::uint32_t>(record.sealed.size()));
    w.raw(record.sealed);
  }
  w.raw(hash(out, &data_key.mac_key()));
  w.raw(hash(out, nullptr));
  return out;
}

namespace {

// What every read checks first, in this order: magic, size, and (if asked) the
// checksum; throws on the first that fails.
void check_envelope(std::span<const unsigned char> bytes, bool checksum) {
  constexpr std::size_t kMinSize = kMagic.size() + 2 + 2 + 4 + 2 * kHashBytes;
  if (bytes.size() >= kMagic.size() && !std::equal(kMagic.begin(), kMagic.end(), bytes.begin())) {
    throw Error(Code::corrupt_store, "not an okx-vault store (bad magic header)");
  }
  if (bytes.size() < kMinSize) throw Error(Code::corrupt_store, "file is truncated (too short to be a store)");
  if (!checksum) return;
  const auto body = bytes.first(bytes.size() - kHashBytes);
  const auto sum = hash(body, nullptr);
  if (sodium_memcmp(sum.data(), bytes.data() + body.size(), kHashBytes) != 0) {
    throw Error(Code::corrupt_store, "file is corrupt or truncated (checksum mismatch)");
  }
}

// The envelope, then the version and the generation. Returns a reader placed
// after them, bounded by the hashes unless `bytes` may be the file's beginning only.
Reader checked_body(std::span<const unsigned char> bytes, bool checksum, Header& header, bool whole = true) {
  check_envelope(bytes, checksum);
  Reader r(whole ? bytes.first(bytes.size() - 2 * kHashBytes) : bytes);
  r.raw(kMagic.size());
  header.version = r.u16();
  if (header.version < kOldestFormatVersion || header.version > kFormatVersion) {
    throw Error(Code::unsupported_version, "store format version " + std::to_string(header.version) +
                                               " is not supported (this build reads versions " +
                                               std::to_string(kOldestFormatVersion) + " to " +
                                               std::to_string(kFormatVersion) + ")");
  }
  if (header.version >= 2) {
    header.generation = r.u64();
    header.audit_line = r.u64();
    header.audit_hash = r.text(kAuditHashBytes);
    if (!is_audit_hash(header.audit_hash)) throw Error(Code::corrupt_store, "file is corrupt (bad audit hash)");
  }
  if (header.version >= 3) {
    const std::uint16_t size = r.u16();
    if (size != 0 && size != kSealedAuditKeyBytes) throw Error(Code::corrupt_store, "file is corrupt (bad audit key)");
    const auto sealed = r.raw(size);
    header.audit_key.assign(sealed.begin(), sealed.end());
  }
  return r;
}

std::vector<Slot> read_slots(Reader& r) {
  std::vector<Slot> out;
  const std::uint16_t slots = r.u16();
  if (slots == 0 || slots > kMaxSlots) throw Error(Code::corrupt_store, "file is corrupt (bad slot count)");
  for (std::uint16_t i = 0; i < slots; ++i) {
    Slot slot;
    slot.kind = static_cast<SlotKind>(r.u8());
    auto params = r.raw(r.u16());
    slot.params.assign(params.begin(), params.end());
    auto sealed = r.raw(r.u16());
    slot.sealed.assign(sealed.begin(), sealed.end());
    out.push_back(std::move(slot));
  }
  return out;
}

ImageView parse_records(Reader& r, const Header& header) {
  ImageView image;
  image.version = header.version;
  image.generation = header.generation;
  image.audit_line = header.audit_line;
  image.audit_hash = header.audit_hash;
  image.audit_key = header.audit_key;
  image.slots = read_slots(r);
  const std::uint32_t records = r.u32();
  image.records.reserve(std::min<std::size_t>(records, r.left() / kMinRecordBytes));
  for (std::uint32_t i = 0; i < records; ++i) {
    RecordView record;
    record.name = r.text(r.u8());
    record.api_key = r.text(r.u16());
    record.metadata = r.text(r.u32());
    record.sealed = r.raw(r.u32());
    image.records.push_back(record);
  }
  if (!r.at_end()) throw Error(Code::corrupt_store, "file is corrupt (unexpected bytes after the records)");
  return image;
}

}  // namespace

Header parse_header_unchecked(std::span<const unsigned char> bytes) {
  Header header;
  Reader r = checked_body(bytes, false, header, false);
  header.slots = read_slots(r);
  return header;
}

Image parse(std::span<const unsigned char> bytes) {
  Header header;
  Reader r = checked_body(bytes, true, header);
  ImageView view = parse_records(r, header);
  Image image{std::move(view.slots),    {}, view.version, view.generation, view.audit_line, view.audit_hash,
              std::move(view.audit_key)};
  image.records.reserve(view.records.size());
  for (const RecordView& record : view.records) {
    image.records.push_back({std::string(record.name),
                             std::string(record.api_key),
                             std::string(record.metadata),
                             {record.sealed.begin(), record.sealed.end()}});
  }
  return image;
}

ImageView parse_unchecked(std::span<const unsigned char> bytes) {
  Header header;
  Reader r = checked_body(bytes, false, header);
  return parse_records(r, header);
}

void verify_checksum(std::span<const unsigned char> bytes) { check_envelope(bytes, true); }

void verify_mac(std::span<const unsigned char> bytes, const DataKey& data_key) {
  const auto body = bytes.first(bytes.size() - 2 * kHashBytes);
  const auto mac = hash(body, &data_key.mac_key());
  if (sodium_memcmp(mac.data(), bytes.data() + body.size(), kHashBytes) != 0) {
    throw Error(Code::tampered_store, "store failed authentication: records were added, removed, reordered or edited");
  }
}

}  // namespace okxvault::store
