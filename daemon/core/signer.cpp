#include "daemon/core/signer.hpp"

#include <nettle/sha2.h>
#include <sodium.h>

#include <array>
#include <cstdint>
#include <cstring>

#include "common/error.hpp"

namespace okxvault {
namespace {

// base64 (RFC 4648, padded) of the signature, which is public: table lookups,
// not libsodium's constant-time encoder, which is for secrets and costs ten
// times as much.
std::string base64(const std::array<unsigned char, SHA256_DIGEST_SIZE>& mac) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out((mac.size() + 2) / 3 * 4, '=');
  char* at = out.data();
  std::size_t i = 0;
  for (; i + 3 <= mac.size(); i += 3) {
    const std::uint32_t group = std::uint32_t{mac[i]} << 16 | std::uint32_t{mac[i + 1]} << 8 | mac[i + 2];
    *at++ = kAlphabet[group >> 18];
    *at++ = kAlphabet[(group >> 12) & 63];
    *at++ = kAlphabet[(group >> 6) & 63];
    *at++ = kAlphabet[group & 63];
  }
  static_assert(SHA256_DIGEST_SIZE % 3 == 2);  // two bytes left: three characters, then the '='
  const std::uint32_t group = std::uint32_t{mac[i]} << 16 | std::uint32_t{mac[i + 1]} << 8;
  *at++ = kAlphabet[group >> 18];
  *at++ = kAlphabet[(group >> 12) & 63];
  *at = kAlphabet[(group >> 6) & 63];
  return out;
}

constexpr std::size_t kChainingBytes = sizeof(sha256_ctx::state);
static_assert(kChainingBytes == sizeof(crypto_hash_sha256_state::state));

// A SHA-256 state that has consumed exactly one block, the padded key, and
// whose chaining values are `chaining`: the inner or the outer state of HMAC.
void resume(sha256_ctx& state, const unsigned char* chaining) {
  std::memcpy(state.state, chaining, kChainingBytes);
  state.count = 1;  // blocks
  state.index = 0;  // bytes in the buffer
}

void update(sha256_ctx& state, std::string_view part) {
  sha256_update(&state, part.size(), reinterpret_cast<const std::uint8_t*>(part.data()));
}

}  // namespace

// The key schedule is libsodium's, which wipes the padded key it builds; Nettle,
// which signs, would leave it on the stack.
Signer::Signer(std::span<const unsigned char> secret) : chaining_(2 * kChainingBytes) {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, secret.data(), secret.size());
  std::memcpy(chaining_.data(), state.ictx.state, kChainingBytes);
  std::memcpy(chaining_.data() + kChainingBytes, state.octx.state, kChainingBytes);
  sodium_memzero(&state, sizeof state);
}

// HMAC from the two keyed states with Nettle's SHA-256, which uses the CPU's SHA
// instructions where it has them (libsodium's does not). Every copy of state
// that depends on the key is on this stack and wiped before returning, with
// what Nettle's own frames left below it (it wipes nothing).
std::string Signer::sign(std::string_view timestamp, std::string_view method, std::string_view request_path,
                         std::string_view body) const {
  sha256_ctx state;
  resume(state, chaining_.data());
  update(state, timestamp);
  update(state, method);
  update(state, request_path);
  update(state, body);
  std::array<unsigned char, SHA256_DIGEST_SIZE> inner;
  sha256_digest(&state, inner.size(), inner.data());
  resume(state, chaining_.data() + kChainingBytes);
  sha256_update(&state, inner.size(), inner.data());
  std::array<unsigned char, SHA256_DIGEST_SIZE> mac;
  sha256_digest(&state, mac.size(), mac.data());
  sodium_memzero(&state, sizeof state);
  sodium_memzero(inner.data(), inner.size());
  sodium_stackzero(kWipedStackBytes);
  return base64(mac);
}

}  // namespace okxvault
