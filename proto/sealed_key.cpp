#include "proto/sealed_key.hpp"

#include <sodium.h>

#include <algorithm>
#include <span>
#include <vector>

#include "common/error.hpp"
#include "proto/base64.hpp"

namespace okxvault::proto {
namespace {

constexpr std::array<unsigned char, 8> kMagic{'O', 'K', 'X', 'V', 'S', 'E', 'A', 'L'};
constexpr std::size_t kHeaderBytes = kMagic.size() + 2 + std::tuple_size_v<HostKey>;
constexpr std::uint8_t kSimulated = 0x01;
// Longer than any file seal_key writes for the daemon's largest fields.
constexpr std::size_t kMaxTextBytes = 16 * 1024;

// Surrounding whitespace (a file's final newline) is not part of it.
std::optional<std::vector<unsigned char>> from_trimmed_base64(std::string_view text) {
  const auto space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  return from_base64(text);
}

void put(std::vector<unsigned char>& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<unsigned char>(value >> (8 * i)));
}

// The magic, version and host key: the file's header, and the start of what is sealed.
void header(std::vector<unsigned char>& out, const HostKey& to) {
  out.insert(out.end(), kMagic.begin(), kMagic.end());
  put(out, kSealedKeyVersion, 2);
  out.insert(out.end(), to.begin(), to.end());
}

[[noreturn]] void not_sealed() {
  throw Error(Code::bad_request,
              "not a sealed okx-vault key (one line of base64 starting OKXVSEAL, as okx-vault seal "
              "writes it)");
}

[[noreturn]] void damaged() {
  throw Error(Code::bad_request,
              "the sealed key does not open with this vault's host key: it was damaged or altered after it was sealed");
}

// The file's bytes, with its magic and version checked.
std::vector<unsigned char> read(std::string_view text) {
  if (text.size() > kMaxTextBytes) not_sealed();
  const std::optional<std::vector<unsigned char>> bytes = from_trimmed_base64(text);
  if (!bytes || bytes->size() < kMagic.size() || !std::equal(kMagic.begin(), kMagic.end(), bytes->begin())) {
    not_sealed();
  }
  if (bytes->size() < kHeaderBytes) damaged();
  const unsigned version = (*bytes)[8] | (static_cast<unsigned>((*bytes)[9]) << 8);
  if (version != kSealedKeyVersion) {
    throw Error(Code::bad_request, "sealed-key format version " + std::to_string(version) +
                                       " is not one this okx-vault reads (version " +
                                       std::to_string(kSealedKeyVersion) +
                                       "): import it with the okx-vault that sealed it, or a newer one");
  }
  return *bytes;
}

std::string short_key(const HostKey& key) { return encode_host_key(key).substr(0, 12) + "…"; }

// Reads the sealed fields in guarded memory; any overrun or leftover is damage.
class Fields {
 public:
  explicit Fields(std::span<const unsigned char> in) : in_(in) {}
  std::span<const unsigned char> take(std::size_t n) {
    if (in_.size() - pos_ < n) damaged();
    const auto out = in_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  std::size_t length(int bytes) {
    std::size_t n = 0;
    const auto raw = take(static_cast<std::size_t>(bytes));
    for (int i = 0; i < bytes; ++i) n |= static_cast<std::size_t>(raw[static_cast<std::size_t>(i)]) << (8 * i);
    return n;
  }
  std::string text(std::size_t n) {
    const auto raw = take(n);
    return {raw.begin(), raw.end()};
  }
  bool at_end() const { return pos_ == in_.size(); }

 private:
  std::span<const unsigned char> in_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string encode_host_key(const HostKey& key) { return to_base64(key); }

HostKey decode_host_key(std::string_view text) {
  const std::optional<std::vector<unsigned char>> bytes = from_trimmed_base64(text);
  HostKey key{};
  if (!bytes || bytes->size() != key.size()) {
    throw Error(Code::bad_request, "a host key is 32 bytes in base64, as okx-vault host-key prints it");
  }
  std::copy(bytes->begin(), bytes->end(), key.begin());
  return key;
}

std::string seal_key(const SealedKey& key, const HostKey& to) {
  const std::size_t expires = key.expires ? key.expires->size() : 0;
  if (key.name.size() > 0xff || key.api_key.size() > 0xffff || key.secret.size() > 0xffff ||
      key.passphrase.size() > 0xffff || expires > 0xff) {
    throw Error(Code::bad_request, "a field of the key is too long to seal");
  }
  const std::size_t plain_size = kHeaderBytes + 1 + key.name.size() + 2 + key.api_key.size() + 2 + key.secret.size() +
                                 2 + key.passphrase.size() + 1 + 1 + expires;
  SecretBytes plain(plain_size);
  std::size_t at = 0;
  const auto write = [&](std::span<const unsigned char> bytes) {
    std::copy(bytes.begin(), bytes.end(), plain.data() + at);
    at += bytes.size();
  };
  const auto length = [&](std::size_t n, int bytes) {
    for (int i = 0; i < bytes; ++i) plain.data()[at++] = static_cast<unsigned char>(n >> (8 * i));
  };
  const auto text = [](std::string_view s) {
    return std::span(reinterpret_cast<const unsigned char*>(s.data()), s.size());
  };
  std::vector<unsigned char> head;
  header(head, to);
  write(head);
  length(key.name.size(), 1);
  write(text(key.name));
  length(key.api_key.size(), 2);
  write(text(key.api_key));
  length(key.secret.size(), 2);
  write(key.secret.bytes());
  length(key.passphrase.size(), 2);
  write(key.passphrase.bytes());
  length(key.simulated ? kSimulated : 0, 1);
  length(expires, 1);
  if (key.expires) write(text(*key.expires));

  std::vector<unsigned char> out(head.size() + crypto_box_SEALBYTES + plain.size());
  std::copy(head.begin(), head.end(), out.begin());
  crypto_box_seal(out.data() + head.size(), plain.data(), plain.size(), to.data());
  return to_base64(out) + "\n";
}

HostKey sealed_to(std::string_view text) {
  const std::vector<unsigned char> bytes = read(text);
  HostKey to{};
  std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(kMagic.size() + 2), to.size(), to.begin());
  return to;
}

SealedKey open_sealed_key(std::string_view text, const HostKey& public_key, const SecretBytes& secret_key) {
  const std::vector<unsigned char> bytes = read(text);
  const HostKey to = sealed_to(text);
  if (sodium_memcmp(to.data(), public_key.data(), to.size()) != 0) {
    throw Error(Code::bad_request, "the key was sealed to another vault: to host key " + short_key(to) +
                                       ", and this vault's is " + short_key(public_key) +
                                       " (okx-vault host-key prints it); seal it again --to this one");
  }
  const std::size_t sealed = bytes.size() - kHeaderBytes;
  if (sealed < crypto_box_SEALBYTES) damaged();
  SecretBytes plain(sealed - crypto_box_SEALBYTES);
  if (crypto_box_seal_open(plain.data(), bytes.data() + kHeaderBytes, sealed, public_key.data(), secret_key.data()) !=
      0) {
    damaged();
  }
  Fields f(plain.bytes());
  // The header again, inside: the one outside cannot have been changed.
  std::vector<unsigned char> head;
  header(head, to);
  const auto inner = f.take(head.size());
  if (!std::equal(head.begin(), head.end(), inner.begin())) damaged();
  SealedKey key;
  key.name = f.text(f.length(1));
  key.api_key = f.text(f.length(2));
  key.secret = SecretBytes::copy_of(f.take(f.length(2)));
  key.passphrase = SecretBytes::copy_of(f.take(f.length(2)));
  const std::size_t flags = f.length(1);
  if ((flags & ~std::size_t{kSimulated}) != 0) damaged();
  key.simulated = (flags & kSimulated) != 0;
  if (const std::size_t expires = f.length(1); expires != 0) key.expires = f.text(expires);
  if (!f.at_end()) damaged();
  return key;
}

}  // namespace okxvault::proto
