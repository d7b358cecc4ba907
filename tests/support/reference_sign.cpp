#include "tests/support/reference_sign.hpp"

#include <sodium.h>

#include <stdexcept>

namespace okxvault::test {

std::string okx_signature(std::string_view secret, std::string_view message) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialize");
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()), message.size());
  crypto_auth_hmacsha256_final(&state, mac);
  char text[sodium_base64_ENCODED_LEN(sizeof mac, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(text, sizeof text, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
  return text;
}

}  // namespace okxvault::test
