#include "common/hmac_sha256.hpp"

#include <nettle/sha2.h>
#include <sodium.h>

#include <cstdint>
#include <cstring>

namespace okxvault {
namespace {

constexpr std::size_t kChainingBytes = sizeof(sha256_ctx::state);
static_assert(kChainingBytes == sizeof(crypto_hash_sha256_state::state));
static_assert(std::tuple_size_v<HmacSha256::Digest> == SHA256_DIGEST_SIZE);

// A SHA-256 state that has consumed exactly one block, the padded key, and
// whose chaining values are `chaining`: the inner or the outer state of HMAC.
void resume(sha256_ctx& state, const unsigned char* chaining) {
  std::memcpy(state.state, chaining, kChainingBytes);
  state.count = 1;  // blocks
  state.index = 0;  // bytes in the buffer
}

}  // namespace

// The key schedule is libsodium's, which wipes the padded key it builds; Nettle
// would leave it on the stack.
HmacSha256::HmacSha256(std::span<const unsigned char> key) : chaining_(2 * kChainingBytes) {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, key.data(), key.size());
  std::memcpy(chaining_.data(), state.ictx.state, kChainingBytes);
  std::memcpy(chaining_.data() + kChainingBytes, state.octx.state, kChainingBytes);
  sodium_memzero(&state, sizeof state);
}

// The MAC from the two keyed states with Nettle's SHA-256 (libsodium's does not
// use the CPU's SHA instructions). Every copy of state that depends on the key is
// on this stack and wiped before returning, with what Nettle's own frames left
// below it.
HmacSha256::Digest HmacSha256::mac(std::initializer_list<std::string_view> parts) const {
  sha256_ctx state;
  resume(state, chaining_.data());
  for (const std::string_view part : parts) {
    sha256_update(&state, part.size(), reinterpret_cast<const std::uint8_t*>(part.data()));
  }
  Digest inner;
  sha256_digest(&state, inner.size(), inner.data());
  resume(state, chaining_.data() + kChainingBytes);
  sha256_update(&state, inner.size(), inner.data());
  Digest mac;
  sha256_digest(&state, mac.size(), mac.data());
  sodium_memzero(&state, sizeof state);
  sodium_memzero(inner.data(), inner.size());
  sodium_stackzero(kWipedStackBytes);
  return mac;
}

}  // namespace okxvault
