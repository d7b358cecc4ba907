#pragma once
// The OKX V5 signature computed the plain way, with libsodium directly and never
// with okx-vault's Signer, so that tests compare the daemon against a second,
// independent implementation.

#include <string>
#include <string_view>

namespace okxvault::test {

// base64(HMAC-SHA256(secret, message)), the secret used as its ASCII bytes.
std::string okx_signature(std::string_view secret, std::string_view message);

}  // namespace okxvault::test
