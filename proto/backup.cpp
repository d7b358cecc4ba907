#include "proto/backup.hpp"

#include <sodium.h>
#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

#include "common/error.hpp"
#include "common/timestamp.hpp"

namespace okxvault::proto {
namespace json = boost::json;

namespace {

constexpr std::array<unsigned char, 8> kMagic{'O', 'K', 'X', 'V', 'B', 'K', 'U', 'P'};
constexpr std::uint8_t kArgon2id = 2;
constexpr std::size_t kSaltBytes = crypto_pwhash_SALTBYTES;
constexpr std::size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr std::size_t kKeyBytes = crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
constexpr std::size_t kChecksumBytes = 32;
// magic, version, algorithm, opslimit, memlimit, salt, time, keys, nonce, ciphertext length
constexpr std::size_t kHeaderBytes = 8 + 2 + 1 + 8 + 8 + kSaltBytes + 8 + 4 + kNonceBytes + 4;
// Read back only up to these, so that an edited file cannot make the daemon
// hash for minutes or allocate gigabytes: libsodium's SENSITIVE, with room.
constexpr std::uint64_t kMaxOpslimit = 32;
constexpr std::uint64_t kMaxMemlimit = std::uint64_t{1} << 30;

using Bytes = std::vector<unsigned char>;

std::span<const unsigned char> as_bytes(std::string_view text) {
  return {reinterpret_cast<const unsigned char*>(text.data()), text.size()};
}

// Little-endian integers and length-prefixed fields into a buffer of fixed size.
class Writer {
 public:
  explicit Writer(std::span<unsigned char> out) : out_(out) {}
  void u8(std::uint64_t v) { le(v, 1); }
  void u16(std::uint64_t v) { le(v, 2); }
  void u32(std::uint64_t v) { le(v, 4); }
  void u64(std::uint64_t v) { le(v, 8); }
  void raw(std::span<const unsigned char> bytes) {
    std::copy(bytes.begin(), bytes.end(), out_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ += bytes.size();
  }
  std::size_t size() const { return pos_; }

 private:
  void le(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_[pos_++] = static_cast<unsigned char>(v >> (8 * i));
  }
  std::span<unsigned char> out_;
  std::size_t pos_ = 0;
};

// Bounds-checked reading; an overrun is `overrun`'s error.
class Reader {
 public:
  Reader(std::span<const unsigned char> in, std::string overrun) : in_(in), overrun_(std::move(overrun)) {}
  std::uint64_t u8() { return le(1); }
  std::uint64_t u16() { return le(2); }
  std::uint64_t u32() { return le(4); }
  std::uint64_t u64() { return le(8); }
  std::span<const unsigned char> raw(std::size_t n) {
    need(n);
    auto out = in_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  std::string text(std::size_t n) {
    const auto bytes = raw(n);
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }
  bool at_end() const { return pos_ == in_.size(); }

 private:
  void need(std::size_t n) const {
    if (in_.size() - pos_ < n) throw Error(Code::bad_request, overrun_);
  }
  std::uint64_t le(int n) {
    need(static_cast<std::size_t>(n));
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= std::uint64_t{in_[pos_ + static_cast<std::size_t>(i)]} << (8 * i);
    pos_ += static_cast<std::size_t>(n);
    return v;
  }
  std::span<const unsigned char> in_;
  std::string overrun_;
  std::size_t pos_ = 0;
};

std::array<unsigned char, kChecksumBytes> checksum(std::span<const unsigned char> bytes) {
  std::array<unsigned char, kChecksumBytes> out;
  crypto_generichash(out.data(), out.size(), bytes.data(), bytes.size(), nullptr, 0);
  return out;
}

SecretBytes backup_key(const SecretBytes& passphrase, std::span<const unsigned char> salt, BackupCost cost) {
  SecretBytes key(kKeyBytes);
  if (crypto_pwhash(key.data(), key.size(), reinterpret_cast<const char*>(passphrase.data()), passphrase.size(),
                    salt.data(), cost.opslimit, static_cast<std::size_t>(cost.memlimit),
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw Error(Code::internal, "out of memory deriving the backup key (Argon2id needs " +
                                    std::to_string(cost.memlimit >> 20) + " MiB)");
  }
  return key;
}

json::value time_or_null(const std::optional<std::string>& time) {
  return time ? json::value(*time) : json::value(nullptr);
}

std::string key_metadata(const BackupKey& key) {
  return json::serialize(json::object{{"simulated", key.simulated},
                                      {"created", key.created},
                                      {"expires", time_or_null(key.expires)},
                                      {"last_used", time_or_null(key.last_used)},
                                      {"sign_count", key.sign_count}});
}

// A field of a key that a backup of this version does not hold, or holds otherwise:
// made by a newer okx-vault, or by a bug. Nothing is guessed.
[[noreturn]] void unreadable(const std::string& name, const std::string& why) {
  throw Error(Code::bad_request, "the backup's key '" + name + "' cannot be read by this okx-vault (" + why +
                                     "): restore it with the okx-vault that made it, or a newer one");
}

// Strictly, as a request is read: a member this version does not know is refused.
void read_key_metadata(std::string_view text, BackupKey& key) {
  boost::system::error_code ec;
  const json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) unreadable(key.name, "its metadata is not a JSON object");
  const json::object& object = value.get_object();
  static constexpr std::string_view kKnown[] = {"simulated", "created", "expires", "last_used", "sign_count"};
  for (const auto& member : object) {
    if (std::find(std::begin(kKnown), std::end(kKnown), member.key()) == std::end(kKnown)) {
      unreadable(key.name, "an unknown member in its metadata");
    }
  }
  const auto time = [&](std::string_view member, bool required) -> std::optional<std::string> {
    const json::value* v = object.if_contains(member);
    if (v == nullptr || v->is_null()) {
      if (required) unreadable(key.name, "no " + std::string(member) + " time");
      return std::nullopt;
    }
    if (!v->is_string()) unreadable(key.name, std::string(member) + " is not a time");
    std::string out(v->get_string());
    try {
      parse_iso8601_ms(out);
    } catch (const Error&) {
      unreadable(key.name, std::string(member) + " is not a time");
    }
    return out;
  };
  const json::value* simulated = object.if_contains("simulated");
  if (simulated == nullptr || !simulated->is_bool()) unreadable(key.name, "no demo flag");
  key.simulated = simulated->get_bool();
  key.created = *time("created", true);
  key.expires = time("expires", false);
  key.last_used = time("last_used", false);
  const json::value* count = object.if_contains("sign_count");
  if (count == nullptr || !(count->is_uint64() || (count->is_int64() && count->get_int64() >= 0))) {
    unreadable(key.name, "no sign count");
  }
  key.sign_count = count->is_uint64() ? count->get_uint64() : static_cast<std::uint64_t>(count->get_int64());
}

void check_fits(const BackupKey& key, std::size_t metadata, std::size_t grants) {
  const auto fits = [](std::size_t size, std::uint64_t max) { return size <= max; };
  if (!fits(key.name.size(), 0xff) || !fits(key.api_key.size(), 0xffff) || !fits(key.secret.size(), 0xffff) ||
      !fits(key.passphrase.size(), 0xffff) || !fits(metadata, 0xffffffff) || !fits(grants, 0xffffffff)) {
    throw Error(Code::bad_request, "key '" + key.name.substr(0, 64) + "' has a field too long for a backup");
  }
}

// The keys as the sealed part holds them, in guarded memory.
SecretBytes encode_keys(std::span<const BackupKey> keys) {
  std::vector<std::string> metadata, grants;
  metadata.reserve(keys.size());
  grants.reserve(keys.size());
  std::size_t size = 4;
  for (const BackupKey& key : keys) {
    metadata.push_back(key_metadata(key));
    grants.push_back(encode(key.grants));
    check_fits(key, metadata.back().size(), grants.back().size());
    size += 1 + key.name.size() + 2 + key.api_key.size() + 2 + key.secret.size() + 2 + key.passphrase.size() + 4 +
            metadata.back().size() + 4 + grants.back().size();
  }
  SecretBytes plain(size);
  Writer w({plain.data(), plain.size()});
  w.u32(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const BackupKey& key = keys[i];
    w.u8(key.name.size());
    w.raw(as_bytes(key.name));
    w.u16(key.api_key.size());
    w.raw(as_bytes(key.api_key));
    w.u16(key.secret.size());
    w.raw(key.secret.bytes());
    w.u16(key.passphrase.size());
    w.raw(key.passphrase.bytes());
    w.u32(metadata[i].size());
    w.raw(as_bytes(metadata[i]));
    w.u32(grants[i].size());
    w.raw(as_bytes(grants[i]));
  }
  return plain;
}

// Authenticated, so only a bug or a newer format makes these fail.
std::vector<BackupKey> decode_keys(std::span<const unsigned char> plain, std::uint32_t expected) {
  Reader r(plain, "the backup's keys are cut short (made by a newer okx-vault?)");
  const std::uint64_t count = r.u32();
  if (count != expected) throw Error(Code::bad_request, "the backup holds another number of keys than it says");
  std::vector<BackupKey> keys;
  keys.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i) {
    BackupKey key;
    key.name = r.text(r.u8());
    key.api_key = r.text(r.u16());
    key.secret = SecretBytes::copy_of(r.raw(r.u16()));
    key.passphrase = SecretBytes::copy_of(r.raw(r.u16()));
    read_key_metadata(r.text(r.u32()), key);
    const std::string grants = r.text(r.u32());
    try {
      key.grants = decode_grants(grants);
    } catch (const Error& e) {
      unreadable(key.name, std::string("its grants: ") + e.what());
    }
    keys.push_back(std::move(key));
  }
  if (!r.at_end()) throw Error(Code::bad_request, "the backup has bytes after its keys (made by a newer okx-vault?)");
  return keys;
}

struct Envelope {
  BackupHeader header;
  std::span<const unsigned char> salt, nonce, associated, sealed;
};

Envelope read_envelope(std::span<const unsigned char> bytes) {
  if (bytes.size() < kMagic.size() || !std::equal(kMagic.begin(), kMagic.end(), bytes.begin())) {
    throw Error(Code::bad_request, "not an okx-vault backup (it does not start with OKXVBKUP)");
  }
  Envelope out;
  Reader r(bytes, "the backup is truncated (shorter than its header)");
  r.raw(kMagic.size());
  out.header.version = static_cast<std::uint16_t>(r.u16());
  if (out.header.version != kBackupVersion) {
    throw Error(Code::bad_request, "backup format version " + std::to_string(out.header.version) +
                                       " is not one this okx-vault reads (version " + std::to_string(kBackupVersion) +
                                       "): restore it with the okx-vault that made it, or a newer one");
  }
  const std::uint64_t algorithm = r.u8();
  out.header.cost.opslimit = r.u64();
  out.header.cost.memlimit = r.u64();
  out.salt = r.raw(kSaltBytes);
  out.header.created_ms = r.u64();
  out.header.keys = static_cast<std::uint32_t>(r.u32());
  out.nonce = r.raw(kNonceBytes);
  const std::uint64_t sealed = r.u32();
  out.associated = bytes.first(kHeaderBytes);
  const std::size_t rest = bytes.size() - kHeaderBytes;
  if (rest < sealed + kChecksumBytes) {
    throw Error(Code::bad_request, "the backup is truncated (" + std::to_string(bytes.size()) +
                                       " bytes, its header says " +
                                       std::to_string(kHeaderBytes + sealed + kChecksumBytes) + ")");
  }
  if (rest > sealed + kChecksumBytes) {
    throw Error(Code::bad_request, "the backup has bytes after its end: it is damaged");
  }
  out.sealed = r.raw(sealed);
  const auto sum = checksum(bytes.first(bytes.size() - kChecksumBytes));
  if (sodium_memcmp(sum.data(), bytes.data() + bytes.size() - kChecksumBytes, kChecksumBytes) != 0) {
    throw Error(Code::bad_request, "the backup is damaged (checksum mismatch)");
  }
  // Checked before any hashing, so that an edited cost cannot tie up the daemon.
  if (algorithm != kArgon2id || out.header.cost.opslimit < crypto_pwhash_OPSLIMIT_MIN ||
      out.header.cost.opslimit > kMaxOpslimit || out.header.cost.memlimit < crypto_pwhash_MEMLIMIT_MIN ||
      out.header.cost.memlimit > kMaxMemlimit || sealed < kTagBytes + 4) {
    throw Error(Code::bad_request, "the backup's key derivation parameters are out of range: it is damaged");
  }
  return out;
}

}  // namespace

void validate_backup_passphrase(const SecretBytes& passphrase) {
  if (passphrase.size() < kMinBackupPassphraseBytes || passphrase.size() > kMaxBackupPassphraseBytes) {
    throw Error(Code::bad_request, "a backup passphrase must be " + std::to_string(kMinBackupPassphraseBytes) + " to " +
                                       std::to_string(kMaxBackupPassphraseBytes) + " bytes long");
  }
}

std::vector<unsigned char> seal_backup(std::span<const BackupKey> keys, const SecretBytes& passphrase, BackupCost cost,
                                       std::uint64_t created_ms) {
  validate_backup_passphrase(passphrase);
  if (keys.size() > std::numeric_limits<std::uint32_t>::max()) throw Error(Code::bad_request, "too many keys");
  const SecretBytes plain = encode_keys(keys);
  Bytes out(kHeaderBytes + plain.size() + kTagBytes + kChecksumBytes);
  Writer w(out);
  w.raw(kMagic);
  w.u16(kBackupVersion);
  w.u8(kArgon2id);
  w.u64(cost.opslimit);
  w.u64(cost.memlimit);
  std::array<unsigned char, kSaltBytes> salt;
  randombytes_buf(salt.data(), salt.size());
  w.raw(salt);
  w.u64(created_ms);
  w.u32(keys.size());
  std::array<unsigned char, kNonceBytes> nonce;
  randombytes_buf(nonce.data(), nonce.size());
  w.raw(nonce);
  w.u32(plain.size() + kTagBytes);
  const SecretBytes key = backup_key(passphrase, salt, cost);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + kHeaderBytes, &written, plain.data(), plain.size(),
                                             out.data(), kHeaderBytes, nullptr, nonce.data(), key.data());
  const auto sum = checksum(std::span(out).first(out.size() - kChecksumBytes));
  std::copy(sum.begin(), sum.end(), out.end() - kChecksumBytes);
  return out;
}

BackupHeader read_backup_header(std::span<const unsigned char> bytes) { return read_envelope(bytes).header; }

std::vector<BackupKey> open_backup(std::span<const unsigned char> bytes, const SecretBytes& passphrase) {
  const Envelope envelope = read_envelope(bytes);
  const SecretBytes key = backup_key(passphrase, envelope.salt, envelope.header.cost);
  SecretBytes plain(envelope.sealed.size() - kTagBytes);
  unsigned long long size = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain.data(), &size, nullptr, envelope.sealed.data(),
                                                 envelope.sealed.size(), envelope.associated.data(),
                                                 envelope.associated.size(), envelope.nonce.data(), key.data()) != 0) {
    throw Error(Code::wrong_passphrase,
                "wrong backup passphrase (or the backup was altered by someone who recomputed its checksum)");
  }
  return decode_keys(plain.bytes(), envelope.header.keys);
}

}  // namespace okxvault::proto
