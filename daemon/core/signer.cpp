#include "daemon/core/signer.hpp"

#include <sodium.h>

#include <array>
#include <cstring>

#include "common/error.hpp"

namespace okxvault {
namespace {

using HmacState = crypto_auth_hmacsha256_state;

std::string base64(const unsigned char* data, std::size_t size) {
  std::string out(sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), data, size, sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();  // the terminating NUL written by libsodium
  return out;
}

void update(HmacState& state, std::string_view part) {
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(part.data()), part.size());
}

constexpr std::size_t kChainingBytes = sizeof(crypto_hash_sha256_state::state);

// A state as crypto_auth_hmacsha256_init leaves it for any key, but with an empty
// buffer and the chaining values of no particular key: each one has consumed
// exactly one block, so with the key's chaining values put in, it is that key's.
const HmacState& unkeyed_state() {
  static const HmacState state = [] {
    HmacState s;
    const unsigned char any_key = 0;
    crypto_auth_hmacsha256_init(&s, &any_key, 1);
    sodium_memzero(s.ictx.buf, sizeof s.ictx.buf);
    sodium_memzero(s.octx.buf, sizeof s.octx.buf);
    return s;
  }();
  return state;
}

}  // namespace

Signer::Signer(std::span<const unsigned char> secret) : chaining_(2 * kChainingBytes) {
  HmacState state;
  crypto_auth_hmacsha256_init(&state, secret.data(), secret.size());
  std::memcpy(chaining_.data(), state.ictx.state, kChainingBytes);
  std::memcpy(chaining_.data() + kChainingBytes, state.octx.state, kChainingBytes);
  sodium_memzero(&state, sizeof state);
}

std::string Signer::sign(std::string_view timestamp, std::string_view method, std::string_view request_path,
                         std::string_view body) const {
  HmacState state = unkeyed_state();
  std::memcpy(state.ictx.state, chaining_.data(), kChainingBytes);
  std::memcpy(state.octx.state, chaining_.data() + kChainingBytes, kChainingBytes);
  update(state, timestamp);
  update(state, method);
  update(state, request_path);
  update(state, body);
  std::array<unsigned char, crypto_auth_hmacsha256_BYTES> mac;
  crypto_auth_hmacsha256_final(&state, mac.data());
  sodium_memzero(&state, sizeof state);
  return base64(mac.data(), mac.size());
}

}  // namespace okxvault
